// torchvision.ops' box functions: areas, pairwise IoU, format conversion and
// non-maximum suppression. Boxes are N×4 (x1, y1, x2, y2) unless said otherwise.
import { FlareError } from "../../errors.js";
import * as torch from "../../tensor/index.js";
import type { Tensor } from "../../tensor/index.js";

function checkBoxes(boxes: Tensor, what: string): void {
  if (!(boxes instanceof torch.Tensor)) throw new FlareError(`${what} must be a Tensor of shape [N, 4]`, "E_ARGUMENT");
  const shape = boxes.shape;
  if (shape.length !== 2 || shape[1] !== 4) throw new FlareError(`${what} must have shape [N, 4], got [${shape.join(", ")}]`, "E_SHAPE");
}

/** (x2 − x1) · (y2 − y1) for each box. */
export function boxArea(boxes: Tensor): Tensor {
  checkBoxes(boxes, "boxArea(): boxes");
  return torch.tidy(() => boxes.select(1, 2).sub(boxes.select(1, 0)).mul(boxes.select(1, 3).sub(boxes.select(1, 1))));
}

/** The N×M matrix of intersection over union between two sets of boxes. */
export function boxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  checkBoxes(boxes1, "boxIou(): boxes1");
  checkBoxes(boxes2, "boxIou(): boxes2");
  return torch.tidy(() => {
    const area1 = boxArea(boxes1), area2 = boxArea(boxes2);
    const lt = boxes1.index(":", null, ":2").maximum(boxes2.index(":", ":2"));   // N×M×2
    const rb = boxes1.index(":", null, "2:").minimum(boxes2.index(":", "2:"));
    const wh = rb.sub(lt).clamp(0);
    const inter = wh.select(2, 0).mul(wh.select(2, 1));
    const union = area1.index(":", null).add(area2).sub(inter);
    return inter.div(union);
  });
}

export type BoxFormat = "xyxy" | "xywh" | "cxcywh";

/** Converts boxes between (x1, y1, x2, y2), (x, y, w, h) and (cx, cy, w, h). */
export function boxConvert(boxes: Tensor, inFormat: BoxFormat, outFormat: BoxFormat): Tensor {
  checkBoxes(boxes, "boxConvert(): boxes");
  for (const [name, f] of [["inFormat", inFormat], ["outFormat", outFormat]] as const)
    if (!["xyxy", "xywh", "cxcywh"].includes(f)) throw new FlareError(`boxConvert(): ${name} must be xyxy, xywh or cxcywh, got ${String(f)}`, "E_ARGUMENT");
  if (inFormat === outFormat) return boxes.clone();
  return torch.tidy(() => {
    const [a, b, c, d] = boxes.unbind(1);
    const xyxy = inFormat === "xyxy" ? [a, b, c, d]
      : inFormat === "xywh" ? [a, b, a.add(c), b.add(d)]
      : [a.sub(c.div(2)), b.sub(d.div(2)), a.add(c.div(2)), b.add(d.div(2))];
    const [x1, y1, x2, y2] = xyxy;
    const out = outFormat === "xyxy" ? xyxy
      : outFormat === "xywh" ? [x1, y1, x2.sub(x1), y2.sub(y1)]
      : [x1.add(x2).div(2), y1.add(y2).div(2), x2.sub(x1), y2.sub(y1)];
    return torch.stack(out, 1);
  });
}

/**
 * Greedy non-maximum suppression (torchvision.ops.nms): the indices (int64, by
 * decreasing score) of the boxes kept, dropping every box whose IoU with a
 * higher-scoring kept box exceeds iouThreshold.
 */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor {
  checkBoxes(boxes, "nms(): boxes");
  if (scores.dim() !== 1 || scores.shape[0] !== boxes.shape[0])
    throw new FlareError(`nms(): scores must have shape [${boxes.shape[0]}], got [${scores.shape.join(", ")}]`, "E_SHAPE");
  if (typeof iouThreshold !== "number" || Number.isNaN(iouThreshold)) throw new FlareError("nms(): iouThreshold must be a number", "E_ARGUMENT");
  return torch.tidy(() => {
    const order = scores.argsort(0, { descending: true });
    const sorted = boxes.indexSelect(0, order);
    const overlaps = (boxIou(sorted, sorted).gt(iouThreshold).data() as Uint8Array);
    const orderList = order.tolist() as number[];
    const n = orderList.length;
    const removed = new Uint8Array(n);
    const keep: number[] = [];
    for (let i = 0; i < n; i++) {
      if (removed[i]) continue;
      keep.push(orderList[i]);
      for (let j = i + 1; j < n; j++) if (overlaps[i * n + j]) removed[j] = 1;
    }
    return torch.tensor(keep, { dtype: "int64" });
  });
}

/** NMS within each category: boxes of different idxs never suppress each other. */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  checkBoxes(boxes, "batchedNms(): boxes");
  if (boxes.shape[0] === 0) return torch.zeros([0], { dtype: "int64" });
  return torch.tidy(() => {
    // torchvision's trick: offset each category's boxes so categories never overlap.
    const offsets = idxs.to(boxes.dtype).mul(boxes.max().add(1));
    return nms(boxes.add(offsets.index(":", null)), scores, iouThreshold);
  });
}
