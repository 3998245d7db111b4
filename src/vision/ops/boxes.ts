// torchvision.ops' box utilities: formats and conversion, areas, clipping,
// small-box removal, boxes from masks. Boxes are [N, 4] (x1, y1, x2, y2)
// unless said otherwise. Each function runs torchvision 0.14's op sequence, so
// results (and gradients) are the same to the last bit.
import { FlareError } from "../../errors.js";
import * as torch from "../../tensor/index.js";
import { Tensor } from "../../tensor/index.js";
import { checkBoxes, checkNumber, checkTensor, describe } from "./_checks.js";

export type BoxFormat = "xyxy" | "xywh" | "cxcywh";
export const BOX_FORMATS: readonly BoxFormat[] = ["xyxy", "xywh", "cxcywh"];

export function checkFormat(value: unknown, what: string): BoxFormat {
  if (typeof value !== "string" || !BOX_FORMATS.includes(value as BoxFormat))
    throw new FlareError(`${what} must be "xyxy", "xywh" or "cxcywh", got ${describe(value)}`, "E_ARGUMENT");
  return value as BoxFormat;
}

/** torchvision's _upcast: float16/bfloat16 to float32, small integers to int32 (no overflow in products). */
export function upcast(t: Tensor): Tensor {
  const d = t.dtype;
  if (d === "float16" || d === "bfloat16") return t.to("float32");
  if (d === "uint8" || d === "int8" || d === "int16") return t.to("int32");
  return t;
}

function toXyxy(boxes: Tensor, format: BoxFormat): Tensor {
  const [a, b, c, d] = boxes.unbind(-1);
  if (format === "xywh") return torch.stack([a, b, a.add(c), b.add(d)], -1);
  // cxcywh
  const hw = c.mul(0.5), hh = d.mul(0.5);
  return torch.stack([a.sub(hw), b.sub(hh), a.add(hw), b.add(hh)], -1);
}

function fromXyxy(boxes: Tensor, format: BoxFormat): Tensor {
  const [x1, y1, x2, y2] = boxes.unbind(-1);
  if (format === "xywh") return torch.stack([x1, y1, x2.sub(x1), y2.sub(y1)], -1);
  // cxcywh
  return torch.stack([x1.add(x2).div(2), y1.add(y2).div(2), x2.sub(x1), y2.sub(y1)], -1);
}

/**
 * Converts boxes [..., 4] between "xyxy" (corners), "xywh" (corner and size)
 * and "cxcywh" (centre and size), as torchvision.ops.box_convert (a copy when
 * the formats are equal).
 */
export function boxConvert(boxes: Tensor, inFmt: BoxFormat, outFmt: BoxFormat): Tensor {
  checkBoxes(boxes, "boxConvert(): boxes", true);
  checkFormat(inFmt, "boxConvert(): inFmt");
  checkFormat(outFmt, "boxConvert(): outFmt");
  if (inFmt === outFmt) return boxes.clone();
  return torch.tidy(() => {
    if (inFmt === "xyxy") return fromXyxy(boxes, outFmt);
    const xyxy = toXyxy(boxes, inFmt);
    return outFmt === "xyxy" ? xyxy : fromXyxy(xyxy, outFmt);
  });
}

/** (x2 − x1) · (y2 − y1) for each box [N, 4] → [N]. */
export function boxArea(boxes: Tensor): Tensor {
  checkBoxes(boxes, "boxArea(): boxes");
  return torch.tidy(() => areaOf(upcast(boxes)));
}

/** boxArea without the checks, on [..., 4]: the IoU family's inner step. */
export function areaOf(boxes: Tensor): Tensor {
  const [x1, y1, x2, y2] = boxes.unbind(-1);
  return x2.sub(x1).mul(y2.sub(y1));
}

/** The area of xyxy boxes [..., 4] with negative widths and heights counted as 0 (what is left of a box after clipping). */
export function clampedArea(boxes: Tensor): Tensor {
  const [x1, y1, x2, y2] = boxes.unbind(-1);
  return x2.sub(x1).clamp(0).mul(y2.sub(y1).clamp(0));
}

/** Clamps boxes [..., 4] (xyxy) into an image of [height, width] (torchvision.ops.clip_boxes_to_image). */
export function clipBoxesToImage(boxes: Tensor, size: [number, number]): Tensor {
  checkBoxes(boxes, "clipBoxesToImage(): boxes", true);
  if (!Array.isArray(size) || size.length !== 2 || size.some((v) => typeof v !== "number" || !(v >= 0)))
    throw new FlareError(`clipBoxesToImage(): size must be [height, width] with non-negative numbers, got ${describe(size)}`, "E_ARGUMENT");
  const [height, width] = size;
  return torch.tidy(() => {
    const [x1, y1, x2, y2] = boxes.unbind(-1);
    return torch.stack([x1.clamp(0, width), y1.clamp(0, height), x2.clamp(0, width), y2.clamp(0, height)], -1);
  });
}

/** The indices (int64) of the boxes whose width and height are both ≥ minSize (torchvision.ops.remove_small_boxes). */
export function removeSmallBoxes(boxes: Tensor, minSize: number): Tensor {
  checkBoxes(boxes, "removeSmallBoxes(): boxes");
  checkNumber(minSize, "removeSmallBoxes(): minSize");
  return torch.tidy(() => {
    const [x1, y1, x2, y2] = boxes.unbind(-1);
    const keep = x2.sub(x1).ge(minSize).logicalAnd(y2.sub(y1).ge(minSize));
    return keep.nonzero().select(1, 0);
  });
}

/**
 * The tight box [N, 4] (float32, xyxy, with x2 and y2 the last covered pixel
 * as torchvision.ops.masks_to_boxes) around each non-zero mask of [N, H, W].
 * An all-zero mask has no box: a FlareError names it.
 */
export function masksToBoxes(masks: Tensor): Tensor {
  checkTensor(masks, "masksToBoxes(): masks");
  if (masks.ndim !== 3) throw new FlareError(`masksToBoxes(): masks must have shape [N, H, W], got [${masks.shape.join(", ")}]`, "E_SHAPE");
  const [n, h, w] = masks.shape;
  if (masks.numel() === 0) return torch.zeros([0, 4], { device: masks.device });
  return torch.tidy(() => {
    const on = masks.ne(0);
    const cols = on.any(1), rows = on.any(2);   // [N, W], [N, H]
    const empty = (cols.any(1).logicalNot().nonzero().select(1, 0).tolist() as number[]);
    if (empty.length > 0) throw new FlareError(`masksToBoxes(): mask ${empty[0]} of ${n} is empty (no non-zero pixel), so it has no box`, "E_ARGUMENT");
    const xs = torch.arange(w, { device: masks.device }), ys = torch.arange(h, { device: masks.device });
    const x1 = torch.where(cols, xs, w).amin(1), x2 = torch.where(cols, xs, -1).amax(1);
    const y1 = torch.where(rows, ys, h).amin(1), y2 = torch.where(rows, ys, -1).amax(1);
    return torch.stack([x1, y1, x2, y2], 1).to("float32");
  });
}
