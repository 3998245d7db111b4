// drawBoundingBoxes and drawSegmentationMasks, as torchvision.utils: boxes are
// drawn with tensor ops on a copy of the image (PIL's rectangle geometry: the
// outline lies inside the box, corners inclusive), labels with the built-in font.
import { FlareError } from "../../errors.js";
import { cat, fromTypedArray, isTensor, noGrad, tensor, tidy, where, type Tensor } from "../../tensor/index.js";
import { colorsFor, type Color, type RGB } from "./colors.js";
import { renderText } from "./font.js";
import { checkOptions, optionNames } from "../../options.js";

export interface DrawBoundingBoxesOptions {
  /** One label per box, drawn inside its top-left corner. */
  labels?: (string | null | undefined)[];
  /** One colour for all boxes or one per box; by default torchvision's palette. */
  colors?: Color | Color[];
  /** Fill the boxes with their colour at alpha 100/255 (default false). */
  fill?: boolean;
  /** Outline width in pixels (default 1). */
  width?: number;
  /** Label height in pixels, roughly (default 10: the 5×7 font at scale 1; 20: scale 2). */
  fontSize?: number;
}

function checkImage(image: Tensor, what: string, channels: number[]): void {
  if (!isTensor(image)) throw new FlareError(`${what}: the image must be a Tensor, got ${typeof image}`, "E_TYPE");
  if (image.dtype !== "uint8") throw new FlareError(`${what}: the image must be uint8 (0..255), got ${image.dtype}; convert with image.mul(255).clamp(0, 255).to("uint8")`, "E_DTYPE");
  if (image.dim() !== 3) throw new FlareError(`${what}: pass one image of shape C×H×W, not shape [${image.shape.join(", ")}]`, "E_SHAPE");
  if (!channels.includes(image.size(0)))
    throw new FlareError(`${what}: the image must have ${channels.join(" or ")} channels, got ${image.size(0)} (shape [${image.shape.join(", ")}])`, "E_SHAPE");
}

function colorTensor(rgb: RGB, device: string): Tensor {
  return tensor(rgb, { dtype: "uint8", device }).view(3, 1, 1);
}

/** Rows [y0, y1) and columns [x0, x1) of `out`, clipped to the image; null when empty. */
function region(out: Tensor, x0: number, y0: number, x1: number, y1: number): Tensor | null {
  const [, h, w] = out.shape;
  const a = Math.max(0, y0), b = Math.min(h, y1), c = Math.max(0, x0), d = Math.min(w, x1);
  if (a >= b || c >= d) return null;
  return out.index(":", `${a}:${b}`, `${c}:${d}`);
}

/** PIL's blend of an RGBA ink over RGB: round((in·(255 − α) + ink·α) / 255) in integers. */
function blendInto(view: Tensor, rgb: RGB, alpha: number): void {
  const v = view.to("int32").mul(255 - alpha).add(colorTensor(rgb, view.device).to("int32").mul(alpha)).add(128);
  view.copy_(v.add(v.div(256, { roundingMode: "floor" })).div(256, { roundingMode: "floor" }));
}

/**
 * Draws boxes (N×4, x1 y1 x2 y2 in pixels, truncated to integers) on a uint8
 * image with 1 or 3 channels; returns a new uint8 3×H×W image.
 */
export function drawBoundingBoxes(image: Tensor, boxes: Tensor | number[][], options: DrawBoundingBoxesOptions = {}): Tensor {
  const what = "drawBoundingBoxes()";
  checkOptions(options, optionNames<DrawBoundingBoxesOptions>({ labels: 1, colors: 1, fill: 1, width: 1, fontSize: 1 }), what);
  checkImage(image, what, [1, 3]);
  const list = (isTensor(boxes) ? boxesList(boxes, what) : boxes) as number[][];
  if (!Array.isArray(list) || !list.every((b) => Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === "number" && Number.isFinite(v))))
    throw new FlareError(`${what}: boxes must be N×4 (x1, y1, x2, y2) with finite numbers`, "E_SHAPE");
  list.forEach((b, i) => {
    if (b[0] > b[2] || b[1] > b[3])
      throw new FlareError(`${what}: box ${i} [${b.join(", ")}] has x2 < x1 or y2 < y1; boxes must be (xmin, ymin, xmax, ymax) (convert with ops.boxConvert)`, "E_ARGUMENT");
  });
  const { labels, fill = false, width = 1, fontSize = 10 } = options;
  if (!Number.isInteger(width) || width < 0) throw new FlareError(`${what}: width must be a non-negative integer, got ${width}`, "E_ARGUMENT");
  if (!(typeof fontSize === "number" && fontSize > 0)) throw new FlareError(`${what}: fontSize must be a positive number, got ${fontSize}`, "E_ARGUMENT");
  if (labels !== undefined && (!Array.isArray(labels) || labels.length !== list.length))
    throw new FlareError(`${what}: ${list.length} boxes but ${Array.isArray(labels) ? labels.length : "no list of"} labels; give one label per box`, "E_ARGUMENT");
  const colors = colorsFor(list.length, options.colors, `${what}: colors`);
  const scale = Math.max(1, Math.round(fontSize / 10));

  return noGrad(() => tidy(() => {
    const out = image.size(0) === 1 ? cat([image, image, image], 0) : image.clone();
    list.forEach((box, i) => {
      const [x0, y0, x1, y1] = box.map(Math.trunc);
      const color = colors[i];
      if (fill) {
        const inside = region(out, x0, y0, x1 + 1, y1 + 1);
        if (inside) blendInto(inside, color, 100);
      }
      if (width > 0) {
        const ink = colorTensor(color, out.device);
        // PIL: rows y0..y0+w-1 and y1-w+1..y1 across the box, columns inside them.
        for (const strip of [
          region(out, x0, y0, x1 + 1, y0 + width), region(out, x0, y1 - width + 1, x1 + 1, y1 + 1),
          region(out, x0, y0 + width, x0 + width, y1 - width + 1), region(out, x1 - width + 1, y0 + width, x1 + 1, y1 - width + 1),
        ]) if (strip) strip.copy_(ink.expandAs(strip));
      }
      const label = labels?.[i];
      if (label) drawText(out, String(label), x0 + width + 1, y0 + width + 1, color, scale);
    });
    return out;
  }));
}

function boxesList(boxes: Tensor, what: string): number[][] {
  if (boxes.dim() !== 2 || boxes.size(1) !== 4) throw new FlareError(`${what}: boxes must have shape N×4, got [${boxes.shape.join(", ")}]`, "E_SHAPE");
  return tidy(() => boxes.detach().to("float64").tolist() as number[][]);
}

/** Draws `text` in `rgb` with its top-left corner at (x, y), clipped to the image. */
export function drawText(out: Tensor, text: string, x: number, y: number, rgb: RGB, scale = 1): void {
  const { mask, width, height } = renderText(text, scale);
  if (width === 0 || height === 0) return;
  tidy(() => {
    const [, h, w] = out.shape;
    const a = Math.max(0, y), b = Math.min(h, y + height), c = Math.max(0, x), d = Math.min(w, x + width);
    if (a >= b || c >= d) return;
    const ink = fromTypedArray(mask, [height, width], { dtype: "bool", device: out.device }).index(`${a - y}:${b - y}`, `${c - x}:${d - x}`);
    const view = out.index(":", `${a}:${b}`, `${c}:${d}`);
    view.copy_(where(ink.unsqueeze(0), colorTensor(rgb, out.device), view));
  });
}

export interface DrawSegmentationMasksOptions {
  /** Opacity of the masks: 0 transparent, 1 opaque (default 0.8). */
  alpha?: number;
  /** One colour for all masks or one per mask; by default torchvision's palette. */
  colors?: Color | Color[];
}

/**
 * Blends boolean masks (N×H×W or H×W) over a uint8 3×H×W image, as torchvision:
 * each mask paints its colour (later masks over earlier ones), then
 * out = image·(1 − alpha) + painted·alpha, truncated to uint8.
 */
export function drawSegmentationMasks(image: Tensor, masks: Tensor, options: DrawSegmentationMasksOptions = {}): Tensor {
  const what = "drawSegmentationMasks()";
  checkOptions(options, optionNames<DrawSegmentationMasksOptions>({ alpha: 1, colors: 1 }), what);
  checkImage(image, what, [3]);
  if (!isTensor(masks)) throw new FlareError(`${what}: masks must be a bool Tensor, got ${typeof masks}`, "E_TYPE");
  if (masks.dtype !== "bool") throw new FlareError(`${what}: masks must be bool, got ${masks.dtype}; use masks.bool() or labels.eq(k)`, "E_DTYPE");
  if (masks.dim() !== 2 && masks.dim() !== 3) throw new FlareError(`${what}: masks must be H×W or N×H×W, got [${masks.shape.join(", ")}]`, "E_SHAPE");
  const [h, w] = masks.shape.slice(-2);
  if (h !== image.size(1) || w !== image.size(2))
    throw new FlareError(`${what}: masks are ${h}×${w} but the image is ${image.size(1)}×${image.size(2)}`, "E_SHAPE");
  const alpha = options.alpha ?? 0.8;
  if (!(typeof alpha === "number" && alpha >= 0 && alpha <= 1)) throw new FlareError(`${what}: alpha must be in [0, 1], got ${alpha}`, "E_ARGUMENT");
  const count = masks.dim() === 2 ? 1 : masks.size(0);
  const colors = colorsFor(count, options.colors, `${what}: colors`);
  if (count === 0) return image.clone();
  return noGrad(() => tidy(() => {
    const all = masks.dim() === 2 ? masks.unsqueeze(0) : masks;
    let painted = image;
    for (let i = 0; i < count; i++) painted = where(all.select(0, i).unsqueeze(0), colorTensor(colors[i], image.device), painted);
    return image.mul(1 - alpha).add(painted.mul(alpha)).to("uint8");
  }));
}
