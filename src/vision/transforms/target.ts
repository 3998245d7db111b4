// Targets that travel with an image: bounding boxes (xyxy, xywh, cxcywh with
// the canvas size), instance (NHW) or semantic (HW) masks, labels and any
// other per-box fields. A geometric op is described once (GeoOp) and applied
// to the image, to its masks (nearest, fill 0) and to its boxes (corners
// mapped, then clipped to the canvas; boxes that leave it entirely are
// dropped together with their labels, masks and other per-box fields).
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { stack, cat } from "../../tensor/ops/shape.js";
import { zeros } from "../../tensor/creation.js";
import { tensor as makeTensor } from "../../tensor/creation.js";
import { isFloating } from "../../tensor/dtype.js";
import * as G from "./geometry.js";
import { floats, longs, describe, type Interpolation } from "./_utils.js";
// The box math itself lives in vision/ops (one home, torchvision.ops' semantics).
import { boxConvert, checkFormat, clipBoxesToImage, clampedArea, type BoxFormat } from "../ops/boxes.js";

export type { BoxFormat };

/** Boxes [N, 4] with their format and the [height, width] of the image they live on. */
export class BoundingBoxes {
  data: Tensor;
  format: BoxFormat;
  canvasSize: [number, number];
  /**
   * Per box, the fraction of its area still inside the canvas after the
   * geometric transforms so far (1 when untouched); what
   * SanitizeBoundingBoxes' minVisibility compares with. null until a
   * transform clips.
   */
  visibility: Tensor | null;
  constructor(data: Tensor, format: BoxFormat, canvasSize: [number, number], visibility: Tensor | null = null) {
    this.data = data; this.format = format; this.canvasSize = canvasSize; this.visibility = visibility;
  }
  get length(): number { return this.data.shape[0]; }
  /** The boxes as xyxy. */
  xyxy(): Tensor { return convertBoxFormat(this.data, this.format, "xyxy"); }
}

/** Makes BoundingBoxes from a tensor or nested arrays [[x1, y1, x2, y2], ...]. */
export function boundingBoxes(data: Tensor | number[][], options: { format?: BoxFormat; canvasSize: [number, number] }): BoundingBoxes {
  const what = "boundingBoxes()";
  const t = data instanceof Tensor ? data : Array.isArray(data) && data.length === 0 ? zeros([0, 4]) : makeTensor(data);
  const format = checkFormat(options?.format ?? "xyxy", `${what}: format`);
  const canvas = canvasArg(options?.canvasSize, `${what}: canvasSize`);
  checkBoxTensor(t, `${what}: data`);
  return new BoundingBoxes(t, format, canvas);
}

function canvasArg(value: unknown, what: string): [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || value.some((v) => typeof v !== "number" || !Number.isInteger(v) || v < 0))
    throw new FlareError(`${what} must be [height, width], got ${describe(value)}`, "E_ARGUMENT");
  return [value[0], value[1]];
}

function checkBoxTensor(t: unknown, what: string): Tensor {
  if (!(t instanceof Tensor)) throw new FlareError(`${what} must be a Tensor [N, 4], got ${describe(t)}`, "E_ARGUMENT");
  if (t.ndim !== 2 || t.shape[1] !== 4) throw new FlareError(`${what} must have shape [N, 4], got [${t.shape.join(", ")}]`, "E_SHAPE");
  if (t.dtype === "bool") throw new FlareError(`${what} must be numeric, got bool`, "E_DTYPE");
  return t;
}

/**
 * Converts boxes [..., 4] between "xyxy", "xywh" and "cxcywh": ops.boxConvert,
 * except that equal formats give the same tensor back (no copy).
 */
export function convertBoxFormat(boxes: Tensor, inFormat: BoxFormat, outFormat: BoxFormat): Tensor {
  checkFormat(inFormat, "convertBoxFormat(): inFormat"); checkFormat(outFormat, "convertBoxFormat(): outFormat");
  return inFormat === outFormat ? boxes : boxConvert(boxes, inFormat, outFormat);
}

/** What a target may hold; any other Tensor (or array) with one entry per box travels as a per-box field. */
export interface Target {
  boxes?: BoundingBoxes;
  labels?: Tensor;
  /** Semantic [H, W] or instance [N, H, W] masks. */
  masks?: Tensor;
  [key: string]: unknown;
}

/**
 * A geometric op on an image of a known size, described once for the image,
 * its masks and its boxes. Affine matrices are torchvision's inverse
 * matrices in coordinates centred on the image (what the grid sampler uses).
 */
export type GeoOp =
  | { kind: "identity" }
  | { kind: "hflip" }
  | { kind: "vflip" }
  | { kind: "crop"; top: number; left: number; height: number; width: number }
  | { kind: "resize"; size: [number, number] }
  | { kind: "resizedCrop"; top: number; left: number; height: number; width: number; size: [number, number] }
  | { kind: "pad"; padding: [number, number, number, number]; fill?: number; paddingMode?: G.PaddingMode }
  | { kind: "affine"; matrix: number[]; outSize?: [number, number] }
  | { kind: "perspective"; startpoints: G.Point[]; endpoints: G.Point[] };

export interface ImageOptions { interpolation?: Interpolation; fill?: number | number[] | null; antialias?: boolean }

/** Applies a GeoOp to an image [..., C, H, W]. */
export function applyGeoToImage(img: Tensor, op: GeoOp, options: ImageOptions = {}): Tensor {
  const interpolation = options.interpolation ?? "bilinear";
  switch (op.kind) {
    case "identity": return img;
    case "hflip": return G.hflip(img);
    case "vflip": return G.vflip(img);
    case "crop": return G.crop(img, op.top, op.left, op.height, op.width);
    case "resize": return G.resize(img, op.size, { interpolation, antialias: options.antialias ?? false });
    case "resizedCrop": return G.resizedCrop(img, op.top, op.left, op.height, op.width, op.size, { interpolation, antialias: options.antialias ?? false });
    case "pad": return G.pad(img, op.padding, { fill: op.fill ?? 0, paddingMode: op.paddingMode ?? "constant" });
    case "affine": {
      const shape = img.shape;
      const [h, w] = [shape[shape.length - 2], shape[shape.length - 1]];
      const [oh, ow] = op.outSize ?? [h, w];
      const gridDtype = img.dtype === "float64" ? "float64" : "float32";
      const mode = interpolation === "bicubic" ? "bilinear" : interpolation;
      return G.applyGrid(img, G.affineGrid([op.matrix], w, h, ow, oh, gridDtype, img.device), mode, options.fill ?? null);
    }
    case "perspective":
      return G.perspective(img, op.startpoints, op.endpoints, { interpolation: interpolation === "bicubic" ? "bilinear" : interpolation, fill: options.fill ?? null });
  }
}

/** The image size after a GeoOp on an [h, w] image. */
export function geoOutputSize(op: GeoOp, [h, w]: [number, number]): [number, number] {
  switch (op.kind) {
    case "crop": return [op.height, op.width];
    case "resize": case "resizedCrop": return op.size;
    case "pad": return [h + op.padding[1] + op.padding[3], w + op.padding[0] + op.padding[2]];
    case "affine": return op.outSize ?? [h, w];
    default: return [h, w];
  }
}

function invert2x3(m: number[]): number[] {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new FlareError("the affine matrix is singular (scale 0?)", "E_ARGUMENT");
  const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** Maps points [..., 2] (continuous pixel coordinates) forward through a GeoOp. */
function mapPoints(points: Tensor, op: GeoOp, [h, w]: [number, number]): Tensor {
  const [x, y] = points.unbind(-1);
  switch (op.kind) {
    case "affine": {
      const [oh, ow] = op.outSize ?? [h, w];
      const f = invert2x3(op.matrix);
      const xc = x.sub(w / 2), yc = y.sub(h / 2);
      return stack([xc.mul(f[0]).add(yc.mul(f[1])).add(f[2] + ow / 2), xc.mul(f[3]).add(yc.mul(f[4])).add(f[5] + oh / 2)], -1);
    }
    case "perspective": {
      // The coefficients from startpoints to endpoints (the image uses the reverse).
      const c = G.perspectiveCoeffs(op.endpoints, op.startpoints);
      const den = x.mul(c[6]).add(y.mul(c[7])).add(1);
      return stack([x.mul(c[0]).add(y.mul(c[1])).add(c[2]).div(den), x.mul(c[3]).add(y.mul(c[4])).add(c[5]).div(den)], -1);
    }
    default: throw new FlareError(`mapPoints: ${op.kind} is not a point map`, "E_INTERNAL");
  }
}

/** xyxy boxes (float) through a GeoOp, unclipped, and the new canvas size. */
export function transformXyxy(xyxy: Tensor, op: GeoOp, size: [number, number]): Tensor {
  const [h, w] = size;
  const [x1, y1, x2, y2] = xyxy.unbind(-1);
  switch (op.kind) {
    case "identity": return xyxy;
    case "hflip": return stack([x2.neg().add(w), y1, x1.neg().add(w), y2], -1);
    case "vflip": return stack([x1, y2.neg().add(h), x2, y1.neg().add(h)], -1);
    case "crop": return xyxy.sub(floats([op.left, op.top, op.left, op.top], [1, 4], xyxy.dtype, xyxy.device));
    case "resize": {
      const [oh, ow] = op.size;
      return xyxy.mul(floats([ow / w, oh / h, ow / w, oh / h], [1, 4], xyxy.dtype, xyxy.device));
    }
    case "resizedCrop": {
      const cropped = transformXyxy(xyxy, { kind: "crop", top: op.top, left: op.left, height: op.height, width: op.width }, size);
      return transformXyxy(cropped, { kind: "resize", size: op.size }, [op.height, op.width]);
    }
    case "pad": return xyxy.add(floats([op.padding[0], op.padding[1], op.padding[0], op.padding[1]], [1, 4], xyxy.dtype, xyxy.device));
    case "affine": case "perspective": {
      const corners = stack([stack([x1, y1], -1), stack([x2, y1], -1), stack([x1, y2], -1), stack([x2, y2], -1)], 1); // [N, 4, 2]
      const mapped = mapPoints(corners, op, size);
      const lo = mapped.amin(1), hi = mapped.amax(1);
      return cat([lo, hi], -1);
    }
  }
}

/** The number of boxes in a target (null when it has none). */
function boxCount(target: Target): number | null { return target.boxes ? target.boxes.data.shape[0] : null; }

/** The keys of a target's per-box fields (everything with one entry per box but the boxes). */
export function perBoxKeys(target: Target): string[] {
  const n = boxCount(target);
  if (n === null) return [];
  return Object.keys(target).filter((k) => {
    if (k === "boxes") return false;
    const v = target[k];
    if (k === "masks") return v instanceof Tensor && v.ndim === 3 && v.shape[0] === n;
    if (v instanceof Tensor) return v.ndim >= 1 && v.shape[0] === n;
    return Array.isArray(v) && v.length === n;
  });
}

/** Keeps the boxes (and per-box fields) where keep is true. */
export function filterTarget(target: Target, keep: Tensor): Target {
  const n = boxCount(target);
  if (n === null) return target;
  const flags = Array.from(keep.dataSync() as Uint8Array, Boolean);
  if (flags.every(Boolean)) return target;
  const idx = longs(flags.flatMap((f, i) => (f ? [i] : [])), undefined, keep.device);
  const out: Target = { ...target };
  const boxes = target.boxes!;
  out.boxes = new BoundingBoxes(boxes.data.indexSelect(0, idx), boxes.format, boxes.canvasSize, boxes.visibility ? boxes.visibility.indexSelect(0, idx) : null);
  for (const k of perBoxKeys(target)) {
    const v = target[k];
    out[k] = v instanceof Tensor ? v.indexSelect(0, idx.to(v.device)) : (v as unknown[]).filter((_, i) => flags[i]);
  }
  return out;
}

/**
 * Validates a target against its image [C, H, W] and normalises it: boxes
 * become BoundingBoxes (a plain [N, 4] tensor is xyxy on the image's canvas).
 */
export function checkTarget(target: unknown, imageSize: [number, number], what = "target"): Target {
  if (target === null || typeof target !== "object" || Array.isArray(target) || target instanceof Tensor)
    throw new FlareError(`${what} must be an object such as { boxes, labels, masks }, got ${describe(target)}`, "E_ARGUMENT");
  const t = { ...(target as Target) };
  const [h, w] = imageSize;
  if (t.boxes !== undefined) {
    let b = t.boxes as unknown;
    if (b instanceof Tensor) b = new BoundingBoxes(checkBoxTensor(b, `${what}.boxes`), "xyxy", [h, w]);
    else if (b && typeof b === "object" && !(b instanceof BoundingBoxes)) {
      const o = b as { data?: unknown; format?: unknown; canvasSize?: unknown };
      b = new BoundingBoxes(checkBoxTensor(o.data, `${what}.boxes.data`), checkFormat(o.format ?? "xyxy", `${what}.boxes.format`),
        o.canvasSize === undefined ? [h, w] : canvasArg(o.canvasSize, `${what}.boxes.canvasSize`));
    } else if (!(b instanceof BoundingBoxes)) throw new FlareError(`${what}.boxes must be BoundingBoxes or a Tensor [N, 4], got ${describe(b)}`, "E_ARGUMENT");
    const bb = b as BoundingBoxes;
    checkBoxTensor(bb.data, `${what}.boxes`);
    if (bb.canvasSize[0] !== h || bb.canvasSize[1] !== w)
      throw new FlareError(`${what}.boxes: canvasSize [${bb.canvasSize.join(", ")}] differs from the image's size [${h}, ${w}]`, "E_SHAPE");
    t.boxes = bb;
  }
  if (t.masks !== undefined) {
    const m = t.masks as unknown;
    if (!(m instanceof Tensor)) throw new FlareError(`${what}.masks must be a Tensor [H, W] or [N, H, W], got ${describe(m)}`, "E_ARGUMENT");
    if (m.ndim !== 2 && m.ndim !== 3) throw new FlareError(`${what}.masks must be [H, W] (semantic) or [N, H, W] (instance), got shape [${m.shape.join(", ")}]`, "E_SHAPE");
    const [mh, mw] = m.shape.slice(-2);
    if (mh !== h || mw !== w) throw new FlareError(`${what}.masks: size [${mh}, ${mw}] differs from the image's size [${h}, ${w}]`, "E_SHAPE");
    if (m.ndim === 3 && t.boxes && m.shape[0] !== t.boxes.length)
      throw new FlareError(`${what}.masks has ${m.shape[0]} instance masks but there are ${t.boxes.length} boxes`, "E_SHAPE");
  }
  if (t.labels !== undefined) {
    if (!(t.labels instanceof Tensor) && !Array.isArray(t.labels)) throw new FlareError(`${what}.labels must be a Tensor, got ${describe(t.labels)}`, "E_ARGUMENT");
    const n = t.labels instanceof Tensor ? t.labels.shape[0] : (t.labels as unknown[]).length;
    if (t.boxes && n !== t.boxes.length) throw new FlareError(`${what}.labels has ${n} entries but there are ${t.boxes.length} boxes`, "E_SHAPE");
  }
  return t;
}

/** Applies a GeoOp to masks [H, W] or [N, H, W] (nearest, fill 0), any dtype. */
export function applyGeoToMasks(masks: Tensor, op: GeoOp, size: [number, number]): Tensor {
  const dtype = masks.dtype;
  const semantic = masks.ndim === 2;
  const m = semantic ? masks.unsqueeze(0) : masks;
  const [oh, ow] = geoOutputSize(op, size);
  if (m.shape[0] === 0) return zeros([0, oh, ow], { dtype, device: masks.device });
  const asImage = m.unsqueeze(1).to("float32");
  const fillOp: GeoOp = op.kind === "pad" ? { ...op, fill: 0 } : op;
  let out = applyGeoToImage(asImage, fillOp, { interpolation: "nearest", fill: op.kind === "affine" || op.kind === "perspective" ? 0 : null }).squeeze(1);
  out = dtype === "bool" ? out.ne(0) : out.to(dtype);
  return semantic ? out.squeeze(0) : out;
}

/** Moves a target through a GeoOp of its [h, w] image: boxes clipped and dropped when outside, masks resampled. */
export function applyGeoToTarget(target: Target, op: GeoOp, size: [number, number]): Target {
  if (op.kind === "identity") return target;
  const out: Target = { ...target };
  const outSize = geoOutputSize(op, size);
  if (target.masks) out.masks = applyGeoToMasks(target.masks, op, size);
  const boxes = target.boxes;
  if (!boxes) return out;
  const dtype = boxes.data.dtype;
  const work = isFloating(dtype) ? boxes.data : boxes.data.to("float32");
  const moved = transformXyxy(convertBoxFormat(work, boxes.format, "xyxy"), op, size);
  const clipped = clipBoxesToImage(moved, outSize);
  const before = clampedArea(moved), after = clampedArea(clipped);
  const ratio = after.div(before.clamp(1e-12)).clamp(0, 1);
  const visibility = boxes.visibility ? boxes.visibility.mul(ratio) : ratio;
  let data = convertBoxFormat(clipped, "xyxy", boxes.format);
  if (!isFloating(dtype)) data = data.round().to(dtype);
  out.boxes = new BoundingBoxes(data, boxes.format, outSize, visibility);
  return filterTarget(out, after.gt(0));
}

export interface SanitizeOptions {
  /** Minimum width and height (in pixels) of a kept box; default 1. */
  minSize?: number;
  /** Minimum area (in pixels²) of a kept box; default 1. */
  minArea?: number;
  /** Minimum fraction of the box's area still inside the image after the geometric transforms; default 0. */
  minVisibility?: number;
}

/** Drops degenerate, small or mostly-outside boxes with their labels and per-box fields. */
export function sanitizeTarget(target: Target, options: SanitizeOptions = {}): Target {
  const boxes = target.boxes;
  if (!boxes) return target;
  const minSize = options.minSize ?? 1, minArea = options.minArea ?? 1, minVisibility = options.minVisibility ?? 0;
  const xyxy = boxes.xyxy().to("float32");
  const [x1, y1, x2, y2] = xyxy.unbind(-1);
  const ws = x2.sub(x1), hs = y2.sub(y1);
  const [h, w] = boxes.canvasSize;
  let keep = ws.ge(minSize).logicalAnd(hs.ge(minSize)).logicalAnd(ws.mul(hs).ge(minArea));
  keep = keep.logicalAnd(x1.lt(w)).logicalAnd(y1.lt(h)).logicalAnd(x2.gt(0)).logicalAnd(y2.gt(0));
  if (minVisibility > 0 && boxes.visibility) keep = keep.logicalAnd(boxes.visibility.ge(minVisibility));
  return filterTarget(target, keep);
}
