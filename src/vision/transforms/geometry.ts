// Geometric transforms on tensor images [..., C, H, W] (uint8 or float):
// flips, crops, resize, pad, and the grid-sampled rotate / affine /
// perspective, following torchvision 0.14's functional_tensor op for op.
// The *Batch functions take one parameter set per image of an NCHW batch and
// run as batched tensor ops (gathers, batched grids) — the per-sample path.
import { FlareError } from "../../errors.js";
import { Tensor, wrap } from "../../tensor/tensor.js";
import { stack, cat } from "../../tensor/ops/shape.js";
import { where } from "../../tensor/ops/indexing.js";
import { linspace, ones, onesLike, arange } from "../../tensor/creation.js";
import { isFloating, type DType } from "../../tensor/dtype.js";
import { meshgrid } from "../../tensor/functional.js";
import { gridSample } from "../../nn/functional.js";
import {
  aten, checkImage, dims, castSqueezeIn, intArg, numArg, sizeArg, interpolationArg, floats, longs, rsub, pyRound, describe,
  type Interpolation, type Fill,
} from "./_utils.js";
import { checkOptions } from "../../options.js";
import { native } from "../../tensor/native.js";

// ---- flips and crops --------------------------------------------------------------------

export function hflip(img: Tensor): Tensor { return checkImage(img, "hflip(): img", 2).flip(-1); }
export function vflip(img: Tensor): Tensor { return checkImage(img, "vflip(): img", 2).flip(-2); }

/** The region [top, top + height) × [left, left + width); parts outside the image are zero. */
export function crop(img: Tensor, top: number, left: number, height: number, width: number): Tensor {
  checkImage(img, "crop(): img", 2);
  intArg(top, "crop(): top"); intArg(left, "crop(): left");
  intArg(height, "crop(): height", 0); intArg(width, "crop(): width", 0);
  const [, h, w] = dims(img);
  const right = left + width, bottom = top + height;
  if (left < 0 || top < 0 || right > w || bottom > h) {
    const y0 = Math.min(Math.max(top, 0), h), y1 = Math.min(Math.max(bottom, y0), h);
    const x0 = Math.min(Math.max(left, 0), w), x1 = Math.min(Math.max(right, x0), w);
    const inner = img.index("...", `${y0}:${y1}`, `${x0}:${x1}`);
    const padTop = y0 - top, padLeft = x0 - left;
    return pad(inner, [padLeft, padTop, width - (x1 - x0) - padLeft, height - (y1 - y0) - padTop], { fill: 0 });
  }
  return img.index("...", `${top}:${bottom}`, `${left}:${right}`);
}

/** The central [h, w] region (zero-padded when the image is smaller). */
export function centerCrop(img: Tensor, outputSize: number | number[]): Tensor {
  checkImage(img, "centerCrop(): img", 2);
  const [ch, cw] = sizeArg(outputSize, "centerCrop(): outputSize", 0);
  let [, h, w] = dims(img);
  if (cw > w || ch > h) {
    const padding = [
      cw > w ? Math.floor((cw - w) / 2) : 0, ch > h ? Math.floor((ch - h) / 2) : 0,
      cw > w ? Math.floor((cw - w + 1) / 2) : 0, ch > h ? Math.floor((ch - h + 1) / 2) : 0,
    ];
    img = pad(img, padding, { fill: 0 });
    [, h, w] = dims(img);
    if (cw === w && ch === h) return img;
  }
  return crop(img, pyRound((h - ch) / 2), pyRound((w - cw) / 2), ch, cw);
}

/** Where a crop of `size` at the centre of an [h, w] image starts, as centerCrop computes it (no padding case). */
export function centerCropOffsets(h: number, w: number, ch: number, cw: number): [number, number] {
  return [pyRound((h - ch) / 2), pyRound((w - cw) / 2)];
}

// ---- resize -----------------------------------------------------------------------------

const RESIZE_OPTIONS = ["interpolation", "maxSize", "antialias"];
export interface ResizeOptions {
  /** "bilinear" (default), "nearest" or "bicubic". */
  interpolation?: Interpolation;
  /** With a single size: the longer edge is at most this. */
  maxSize?: number | null;
  /** Antialiasing when downsizing (bilinear and bicubic); torchvision 0.14's tensor default is false. */
  antialias?: boolean | null;
}

/** The [h, w] that resize() makes: a single size sets the shorter edge, keeping the aspect ratio. */
export function resizedOutputSize(imageSize: [number, number], size: number | number[], maxSize: number | null = null, what = "resize()"): [number, number] {
  const [h, w] = imageSize;
  const list = typeof size === "number" ? [size] : size;
  if (!Array.isArray(list) || (list.length !== 1 && list.length !== 2))
    throw new FlareError(`${what}: size must be an integer or [height, width], got ${describe(size)}`, "E_ARGUMENT");
  list.forEach((s, i) => intArg(s, `${what}: size${list.length > 1 ? `[${i}]` : ""}`, 1));
  if (list.length === 2) {
    if (maxSize !== null && maxSize !== undefined) throw new FlareError(`${what}: maxSize is only allowed when size is a single number (the shorter edge)`, "E_ARGUMENT");
    return [list[0], list[1]];
  }
  const [short, long] = w <= h ? [w, h] : [h, w];
  const requested = list[0];
  let newShort = requested, newLong = Math.trunc((requested * long) / short);
  if (maxSize !== null && maxSize !== undefined) {
    intArg(maxSize, `${what}: maxSize`, 1);
    if (maxSize <= requested) throw new FlareError(`${what}: maxSize = ${maxSize} must be strictly greater than the requested size for the smaller edge (${requested})`, "E_ARGUMENT");
    if (newLong > maxSize) { newShort = Math.trunc((maxSize * newShort) / newLong); newLong = maxSize; }
  }
  return w <= h ? [newLong, newShort] : [newShort, newLong];
}

/** Interpolates an [N, C, H, W] float tensor to [oh, ow] (align_corners false). */
export function interpolate(x: Tensor, size: [number, number], mode: Interpolation, antialias: boolean): Tensor {
  if (mode === "nearest") return wrap(aten.upsampleNearest2d(x.handle, size, null));
  const f = mode === "bilinear" ? (antialias ? aten.upsampleBilinear2dAA : aten.upsampleBilinear2d) : (antialias ? aten.upsampleBicubic2dAA : aten.upsampleBicubic2d);
  return wrap(f(x.handle, size, false, null));
}

export function resize(img: Tensor, size: number | number[], options: ResizeOptions = {}): Tensor {
  checkOptions(options, RESIZE_OPTIONS, "resize()");
  checkImage(img, "resize(): img", 2);
  const mode = interpolationArg(options.interpolation ?? "bilinear", "resize(): interpolation");
  const antialias = options.antialias ?? false;
  if (antialias && mode === "nearest") throw new FlareError('resize(): antialias is supported for "bilinear" and "bicubic" interpolation only', "E_ARGUMENT");
  const [, h, w] = dims(img);
  const out = resizedOutputSize([h, w], size, options.maxSize ?? null);
  if (out[0] === h && out[1] === w) return img;
  const { x, restore } = castSqueezeIn(img, ["float32", "float64"]);
  let y = interpolate(x, out, mode, antialias);
  if (mode === "bicubic" && img.dtype === "uint8") y = y.clamp(0, 255);
  return restore(y);
}

export function resizedCrop(img: Tensor, top: number, left: number, height: number, width: number, size: number | number[], options: ResizeOptions = {}): Tensor {
  const fused = fusedCropSize(img, [{ top, left, height, width }], size, options);
  if (fused) return new Tensor(native.resizedCropUint8(img.handle, [top, left, height, width], fused[0], fused[1]));
  return resize(crop(img, top, left, height, width), size, options);
}

/**
 * The output size when a uint8 CPU crop-and-resize can run as one native call
 * (bilinear, no antialias, regions inside the image, a real resize), else null.
 * The native call upsamples with ATen's own kernel, so the values are the op
 * chain's (the transforms' parity fixtures check resized_crop).
 */
function fusedCropSize(img: Tensor, boxes: Box[], size: number | number[], options: ResizeOptions): [number, number] | null {
  if (!(img instanceof Tensor) || img.dtype !== "uint8" || img.device !== "cpu" || (img.ndim !== 3 && img.ndim !== 4)) return null;
  if (options === null || typeof options !== "object") return null;
  const { interpolation = "bilinear", antialias = false, maxSize = null } = options;
  if (interpolation !== "bilinear" || antialias || maxSize !== null || Object.keys(options).some((k) => !RESIZE_OPTIONS.includes(k))) return null;
  const [h, w] = img.shape.slice(-2);
  for (const b of boxes) {
    if (![b.top, b.left, b.height, b.width].every(Number.isInteger)) return null;
    if (b.top < 0 || b.left < 0 || b.height < 1 || b.width < 1 || b.top + b.height > h || b.left + b.width > w) return null;
  }
  if (!Array.isArray(size) && !(typeof size === "number")) return null;
  const list = typeof size === "number" ? [size] : size;
  if (list.length !== 2 && list.length !== 1) return null;
  if (!list.every((v) => Number.isInteger(v) && v >= 1)) return null;
  if (list.length === 1 && boxes.length !== 1) return null;
  const out = resizedOutputSize([boxes[0].height, boxes[0].width], size);
  // An unchanged size is no resize: the op chain returns the crop itself.
  if (boxes.some((b) => b.height === out[0] && b.width === out[1])) return null;
  return out;
}

// ---- pad --------------------------------------------------------------------------------

export type PaddingMode = "constant" | "edge" | "reflect" | "symmetric";

/** int, [all], [left/right, top/bottom] or [left, top, right, bottom] → [left, top, right, bottom]. */
export function paddingArg(padding: unknown, what: string): [number, number, number, number] {
  if (typeof padding === "number") { intArg(padding, what); return [padding, padding, padding, padding]; }
  if (!Array.isArray(padding) || ![1, 2, 4].includes(padding.length))
    throw new FlareError(`${what} must be an integer or an array of 1, 2 or 4 integers, got ${Array.isArray(padding) ? `${padding.length} values` : describe(padding)}`, "E_ARGUMENT");
  const p = padding.map((v, i) => intArg(v, `${what}[${i}]`));
  if (p.length === 1) return [p[0], p[0], p[0], p[0]];
  if (p.length === 2) return [p[0], p[1], p[0], p[1]];
  return [p[0], p[1], p[2], p[3]];
}

/** Pads the last two dimensions; padding as torchvision (int, [lr, tb] or [l, t, r, b]). */
export function pad(img: Tensor, padding: number | number[], options: { fill?: number; paddingMode?: PaddingMode } = {}): Tensor {
  checkOptions(options, ["fill", "paddingMode"], "pad()");
  checkImage(img, "pad(): img", 2);
  const [l, t, r, b] = paddingArg(padding, "pad(): padding");
  const mode = options.paddingMode ?? "constant";
  if (!["constant", "edge", "reflect", "symmetric"].includes(mode))
    throw new FlareError(`pad(): paddingMode must be "constant", "edge", "reflect" or "symmetric", got ${describe(mode)}`, "E_ARGUMENT");
  const fill = options.fill ?? 0;
  if (typeof fill !== "number") throw new FlareError(`pad(): fill must be a number for tensor images, got ${describe(fill)}`, "E_ARGUMENT");
  if (mode === "symmetric") return padSymmetric(img, [l, t, r, b]);
  const p = [l, r, t, b];
  if (mode !== "constant") {
    const [, h, w] = dims(img);
    if (mode === "reflect" && (Math.max(l, r) >= w || Math.max(t, b) >= h))
      throw new FlareError(`pad(): reflect padding [${[l, t, r, b].join(", ")}] must be smaller than the image's size [${h}, ${w}]`, "E_ARGUMENT");
    const { x, restore } = castSqueezeIn(img, ["float32", "float64"]);
    return restore(wrap(aten.pad(x.handle, p, mode === "edge" ? "replicate" : "reflect", null)));
  }
  return wrap(aten.pad(img.handle, p, "constant", fill));
}

function padSymmetric(img: Tensor, [l, t, r, b]: number[]): Tensor {
  if (l < 0 || t < 0 || r < 0 || b < 0) {
    const [, h, w] = dims(img);
    img = img.index("...", `${Math.max(-t, 0)}:${h - Math.max(-b, 0)}`, `${Math.max(-l, 0)}:${w - Math.max(-r, 0)}`);
    [l, t, r, b] = [l, t, r, b].map((v) => Math.max(v, 0));
  }
  const [, h, w] = dims(img);
  const axis = (n: number, before: number, after: number) => {
    const idx: number[] = [];
    for (let i = before - 1; i >= 0; i--) idx.push(i % (2 * n) < n ? i % n : n - 1 - (i % n));
    for (let i = 0; i < n; i++) idx.push(i);
    for (let i = 0; i < after; i++) idx.push(n - 1 - (i % n));
    return longs(idx, [idx.length], img.device);
  };
  return img.indexSelect(-2, axis(h, t, b)).indexSelect(-1, axis(w, l, r));
}

// ---- affine, rotate, perspective ---------------------------------------------------------

/**
 * torchvision's _get_inverse_affine_matrix: the 2×3 matrix (row-major) of the
 * rotation `angle` (degrees), translation, scale and shear (degrees) about
 * `center`; the inverse (output → input) unless inverted is false.
 */
export function affineMatrix(center: [number, number], angle: number, translate: [number, number], scale: number, shear: [number, number], inverted = true): number[] {
  const rot = (angle * Math.PI) / 180, sx = (shear[0] * Math.PI) / 180, sy = (shear[1] * Math.PI) / 180;
  const [cx, cy] = center, [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  let m: number[];
  if (inverted) {
    m = [d, -b, 0.0, -c, a, 0.0].map((v) => v / scale);
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
    m[2] += cx; m[5] += cy;
  } else {
    m = [a, b, 0.0, c, d, 0.0].map((v) => v * scale);
    m[2] += m[0] * -cx + m[1] * -cy;
    m[5] += m[3] * -cx + m[4] * -cy;
    m[2] += cx + tx; m[5] += cy + ty;
  }
  return m;
}

/** The sampling grid [N, oh, ow, 2] of N inverse affine matrices (centred pixel coordinates), torchvision's _gen_affine_grid. */
export function affineGrid(matrices: number[][], w: number, h: number, ow: number, oh: number, dtype: DType = "float32", device = "cpu"): Tensor {
  const n = matrices.length;
  const theta = floats(matrices.flat(), [n, 2, 3], dtype, device);
  const [y, x] = meshgrid([linspace(-oh * 0.5 + 0.5, oh * 0.5 + 0.5 - 1, oh, { device }).to(dtype),
    linspace(-ow * 0.5 + 0.5, ow * 0.5 + 0.5 - 1, ow, { device }).to(dtype)], { indexing: "ij" });
  const base = stack([x, y, onesLike(x)], -1).view(1, oh * ow, 3).expand(n, oh * ow, 3);
  const rescaled = theta.transpose(1, 2).div(floats([0.5 * w, 0.5 * h], [2], dtype, device));
  return base.bmm(rescaled).view(n, oh, ow, 2);
}

/** The perspective sampling grid [N, oh, ow, 2] of N coefficient octuples, torchvision's _perspective_grid. */
export function perspectiveGrid(coeffs: number[][], ow: number, oh: number, dtype: DType = "float32", device = "cpu"): Tensor {
  const n = coeffs.length;
  const theta1 = floats(coeffs.flatMap((c) => [c[0], c[1], c[2], c[3], c[4], c[5]]), [n, 2, 3], dtype, device);
  const theta2 = floats(coeffs.flatMap((c) => [c[6], c[7], 1.0, c[6], c[7], 1.0]), [n, 2, 3], dtype, device);
  const [y, x] = meshgrid([linspace(0.5, oh * 1.0 + 0.5 - 1.0, oh, { device }).to(dtype),
    linspace(0.5, ow * 1.0 + 0.5 - 1.0, ow, { device }).to(dtype)], { indexing: "ij" });
  const base = stack([x, y, onesLike(x)], -1).view(1, oh * ow, 3).expand(n, oh * ow, 3);
  const g1 = base.bmm(theta1.transpose(1, 2).div(floats([0.5 * ow, 0.5 * oh], [2], dtype, device)));
  const g2 = base.bmm(theta2.transpose(1, 2));
  return g1.div(g2).sub(1.0).view(n, oh, ow, 2);
}

function fillList(fill: Fill, channels: number, what: string): number[] | null {
  if (fill === null || fill === undefined) return null;
  const list = typeof fill === "number" ? [fill] : fill;
  if (!Array.isArray(list) || list.some((v) => typeof v !== "number"))
    throw new FlareError(`${what} must be a number or one number per channel, got ${describe(fill)}`, "E_ARGUMENT");
  if (list.length > 1 && list.length !== channels)
    throw new FlareError(`${what} has ${list.length} values but the image has ${channels} channels`, "E_ARGUMENT");
  return list;
}

/**
 * Samples `img` at `grid` (one grid, or one per image of the batch) as
 * torchvision's _apply_grid_transform: zero padding, then `fill` outside.
 */
export function applyGrid(img: Tensor, grid: Tensor, mode: Interpolation, fill: Fill, what = "applyGrid()"): Tensor {
  const channels = dims(img)[0];
  const fills = fillList(fill, channels, `${what}: fill`);
  const { x: x0, restore } = castSqueezeIn(img, [grid.dtype]);
  let x = x0;
  const n = x.shape[0];
  if (grid.shape[0] !== n) {
    if (grid.shape[0] !== 1) throw new FlareError(`${what}: ${grid.shape[0]} grids for a batch of ${n} images`, "E_SHAPE");
    grid = grid.expand(n, grid.shape[1], grid.shape[2], grid.shape[3]);
  }
  if (fills) x = cat([x, ones([n, 1, x.shape[2], x.shape[3]], { dtype: x.dtype, device: x.device })], 1);
  let y = gridSample(x, grid, { mode, paddingMode: "zeros", alignCorners: false });
  if (fills) {
    const c = y.shape[1] - 1;
    const mask = y.index(":", `${c}:`).expandAs(y.index(":", `:${c}`));
    y = y.index(":", `:${c}`);
    const fillImg = floats(fills, [1, fills.length, 1, 1], y.dtype, y.device).expandAs(y);
    y = mode === "nearest" ? where(mask.lt(0.5), fillImg, y) : y.mul(mask).add(rsub(mask, 1.0).mul(fillImg));
  }
  return restore(y);
}

function gridMode(value: unknown, what: string, fallback: Interpolation): Interpolation {
  return interpolationArg(value ?? fallback, what, ["nearest", "bilinear"]);
}

function pairArg(value: unknown, what: string): [number, number] {
  if (Array.isArray(value) && value.length === 2) return [numArg(value[0], `${what}[0]`), numArg(value[1], `${what}[1]`)];
  throw new FlareError(`${what} must be a pair [x, y], got ${describe(value)}`, "E_ARGUMENT");
}

export interface GridOptions { interpolation?: Interpolation; fill?: Fill }
const GRID_OPTIONS = ["interpolation", "fill"];

/** The size [w, h] that holds the whole image after `matrix` (rotate's expand), torchvision's _compute_affine_output_size. */
export function affineOutputSize(matrix: number[], w: number, h: number): [number, number] {
  const pts = floats([-0.5 * w, -0.5 * h, 1.0, -0.5 * w, 0.5 * h, 1.0, 0.5 * w, 0.5 * h, 1.0, 0.5 * w, -0.5 * h, 1.0], [4, 3]);
  const theta = floats(matrix, [2, 3]);
  const pts2 = pts.matmul(theta.T);
  const shift = floats([w * 0.5, h * 0.5]);
  const minVals = pts2.amin(0).add(shift), maxVals = pts2.amax(0).add(shift);
  const tol = 1e-4;
  const cmax = maxVals.div(tol).trunc().mul(tol).ceil();
  const cmin = minVals.div(tol).trunc().mul(tol).floor();
  const size = Array.from(cmax.sub(cmin).dataSync() as Float32Array);
  return [Math.trunc(size[0]), Math.trunc(size[1])];
}

/** Rotates by `angle` degrees counter-clockwise about the centre (or `center`, in pixels). */
export function rotate(img: Tensor, angle: number, options: GridOptions & { expand?: boolean; center?: [number, number] | null } = {}): Tensor {
  checkOptions(options, [...GRID_OPTIONS, "expand", "center"], "rotate()");
  checkImage(img, "rotate(): img", 2);
  numArg(angle, "rotate(): angle");
  const mode = gridMode(options.interpolation, "rotate(): interpolation", "nearest");
  const [, h, w] = dims(img);
  const matrix = rotateMatrix(angle, w, h, options.center ?? null);
  const [ow, oh] = options.expand ? affineOutputSize(matrix, w, h) : [w, h];
  const dtype: DType = img.dtype === "float64" ? "float64" : img.dtype === "uint8" ? "float32" : img.dtype;
  return applyGrid(img, affineGrid([matrix], w, h, ow, oh, dtype, img.device), mode, options.fill ?? null, "rotate()");
}

/** The inverse matrix rotate() samples with (centred pixel coordinates). */
export function rotateMatrix(angle: number, w: number, h: number, center: [number, number] | null = null): number[] {
  const c: [number, number] = center ? [center[0] - w * 0.5, center[1] - h * 0.5] : [0, 0];
  return affineMatrix(c, -angle, [0, 0], 1.0, [0, 0]);
}

/** Normalises affine()'s shear argument: a number (x shear) or [x, y]. */
export function shearArg(shear: unknown, what: string): [number, number] {
  if (typeof shear === "number") return [numArg(shear, what), 0];
  if (Array.isArray(shear) && shear.length === 1) return [numArg(shear[0], what), numArg(shear[0], what)];
  return pairArg(shear, what);
}

/** The inverse matrix affine() samples with (centred pixel coordinates). */
export function affineImageMatrix(angle: number, translate: [number, number], scale: number, shear: [number, number], w: number, h: number, center: [number, number] | null = null): number[] {
  const c: [number, number] = center ? [center[0] - w * 0.5, center[1] - h * 0.5] : [0, 0];
  return affineMatrix(c, angle, translate, scale, shear);
}

/** Rotation (degrees, clockwise), translation (pixels), scale and shear (degrees) about the centre, keeping the size. */
export function affine(img: Tensor, angle: number, translate: number[], scale: number, shear: number | number[], options: GridOptions & { center?: [number, number] | null } = {}): Tensor {
  checkOptions(options, [...GRID_OPTIONS, "center"], "affine()");
  checkImage(img, "affine(): img", 2);
  numArg(angle, "affine(): angle");
  const t = pairArg(translate, "affine(): translate");
  if (!(numArg(scale, "affine(): scale") > 0)) throw new FlareError(`affine(): scale must be positive, got ${scale}`, "E_ARGUMENT");
  const s = shearArg(shear, "affine(): shear");
  const mode = gridMode(options.interpolation, "affine(): interpolation", "nearest");
  const [, h, w] = dims(img);
  const matrix = affineImageMatrix(angle, t, scale, s, w, h, options.center ?? null);
  const dtype: DType = img.dtype === "float64" ? "float64" : img.dtype === "uint8" ? "float32" : img.dtype;
  return applyGrid(img, affineGrid([matrix], w, h, w, h, dtype, img.device), mode, options.fill ?? null, "affine()");
}

export type Point = [number, number];

function pointsArg(value: unknown, what: string): Point[] {
  if (!Array.isArray(value) || value.length !== 4) throw new FlareError(`${what} must be 4 points [[x, y], ...] (top-left, top-right, bottom-right, bottom-left), got ${describe(value)}`, "E_ARGUMENT");
  return value.map((p, i) => pairArg(p, `${what}[${i}]`));
}

/** The coefficients (a..h) mapping endpoints to startpoints, by least squares as torchvision (float32, gels). */
export function perspectiveCoeffs(startpoints: Point[], endpoints: Point[]): number[] {
  const s = pointsArg(startpoints, "perspective(): startpoints"), e = pointsArg(endpoints, "perspective(): endpoints");
  const a: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [p1, p2] = [e[i], s[i]];
    a.push(p1[0], p1[1], 1, 0, 0, 0, -p2[0] * p1[0], -p2[0] * p1[1]);
    a.push(0, 0, 0, p1[0], p1[1], 1, -p2[1] * p1[0], -p2[1] * p1[1]);
  }
  const A = floats(a, [8, 8]), B = floats(s.flat(), [8, 1]);
  const [solution, ...rest] = (aten.lstsq(A.handle, B.handle, null, "gels") as unknown[]).map((h) => wrap(h));
  rest.forEach((t) => t.dispose());
  return Array.from(solution.dataSync() as Float32Array);
}

/** Maps the four `startpoints` to `endpoints` (a projective warp), keeping the size. */
export function perspective(img: Tensor, startpoints: Point[], endpoints: Point[], options: GridOptions = {}): Tensor {
  checkOptions(options, GRID_OPTIONS, "perspective()");
  checkImage(img, "perspective(): img", 2);
  const coeffs = perspectiveCoeffs(startpoints, endpoints);
  const mode = gridMode(options.interpolation, "perspective(): interpolation", "bilinear");
  const [, h, w] = dims(img);
  const dtype: DType = img.dtype === "float64" ? "float64" : img.dtype === "uint8" ? "float32" : img.dtype;
  return applyGrid(img, perspectiveGrid([coeffs], w, h, dtype, img.device), mode, options.fill ?? null, "perspective()");
}

// ---- batched per-sample forms -----------------------------------------------------------------

function gridDtype(img: Tensor): DType { return img.dtype === "float64" ? "float64" : img.dtype === "uint8" ? "float32" : img.dtype; }

/** affine/rotate with one inverse matrix (centred coordinates) per image of an [N, C, H, W] batch. */
export function affineBatch(img: Tensor, matrices: number[][], options: GridOptions & { outSize?: [number, number] } = {}): Tensor {
  checkOptions(options, [...GRID_OPTIONS, "outSize"], "affineBatch()");
  const [, h, w] = dims(img);
  const [oh, ow] = options.outSize ?? [h, w];
  const mode = gridMode(options.interpolation, "affineBatch(): interpolation", "nearest");
  return applyGrid(img, affineGrid(matrices, w, h, ow, oh, gridDtype(img), img.device), mode, options.fill ?? null, "affineBatch()");
}

/** perspective with one coefficient octuple per image of an [N, C, H, W] batch. */
export function perspectiveBatch(img: Tensor, coeffs: number[][], options: GridOptions = {}): Tensor {
  checkOptions(options, GRID_OPTIONS, "perspectiveBatch()");
  const [, h, w] = dims(img);
  const mode = gridMode(options.interpolation, "perspectiveBatch(): interpolation", "bilinear");
  return applyGrid(img, perspectiveGrid(coeffs, w, h, gridDtype(img), img.device), mode, options.fill ?? null, "perspectiveBatch()");
}

export interface Box { top: number; left: number; height: number; width: number }

/**
 * Crops a different region of each image of an [N, C, H, W] batch and
 * resizes all to [oh, ow], with the index arithmetic of ATen's
 * upsample_nearest2d / upsample_bilinear2d (align_corners false), as gathers.
 * Regions must lie inside the image. Equals resizedCrop image by image.
 */
export function resizedCropBatch(img: Tensor, boxes: Box[], size: [number, number], interpolation: Interpolation = "bilinear"): Tensor {
  if (img.ndim !== 4) throw new FlareError(`resizedCropBatch(): img must be a batch [N, C, H, W], got shape [${img.shape.join(", ")}]`, "E_SHAPE");
  const [n, , h, w] = img.shape;
  if (boxes.length !== n) throw new FlareError(`resizedCropBatch(): ${boxes.length} boxes for a batch of ${n} images`, "E_SHAPE");
  for (const b of boxes)
    if (b.top < 0 || b.left < 0 || b.height < 1 || b.width < 1 || b.top + b.height > h || b.left + b.width > w)
      throw new FlareError(`resizedCropBatch(): the region ${JSON.stringify(b)} is not inside the ${h}×${w} image`, "E_ARGUMENT");
  const [oh, ow] = size;
  if (interpolation === "bicubic") throw new FlareError('resizedCropBatch(): per-sample "bicubic" is not supported; use "bilinear" or "nearest"', "E_NOT_IMPLEMENTED");
  // uint8 on the CPU: each image's region through ATen's resize in one native call — exact, and cheaper
  // than the gathers below at every size measured (bench/pipeline.js, README).
  if (interpolation === "bilinear" && fusedCropSize(img, boxes, size, {}))
    return new Tensor(native.resizedCropUint8(img.handle, boxes.flatMap((b) => [b.top, b.left, b.height, b.width]), oh, ow));
  const axis = (len: number, out: number, start: (b: Box) => number, extent: (b: Box) => number) => {
    const i0: number[] = [], i1: number[] = [], l0: number[] = [], l1: number[] = [];
    for (const b of boxes) {
      const inSize = extent(b), off = start(b);
      if (interpolation === "nearest") {
        const scale = Math.fround(inSize / out);
        for (let j = 0; j < out; j++) {
          const src = inSize === out ? j : out === 2 * inSize ? j >> 1 : Math.min(Math.floor(Math.fround(Math.fround(j) * scale)), inSize - 1);
          i0.push(off + src);
        }
        continue;
      }
      const scale = Math.fround(inSize / out);
      for (let j = 0; j < out; j++) {
        if (inSize === out) { i0.push(off + j); i1.push(off + j); l0.push(1); l1.push(0); continue; }
        let src = Math.fround(Math.fround(scale * Math.fround(j + 0.5)) - 0.5);
        if (src < 0) src = 0;
        const k = Math.trunc(src);
        const k1 = k < inSize - 1 ? k + 1 : k;
        const lam1 = Math.min(Math.max(Math.fround(src - k), 0), 1);
        i0.push(off + k); i1.push(off + k1); l1.push(lam1); l0.push(Math.fround(1 - lam1));
      }
    }
    void len;
    return { i0, i1, l0, l1 };
  };
  const ys = axis(h, oh, (b) => b.top, (b) => b.height), xs = axis(w, ow, (b) => b.left, (b) => b.width);
  const dev = img.device, c = img.shape[1];
  // One gather per tap on the flattened image, straight into [N, C, oh * ow] (uint8 stays uint8 until the blend).
  const flat = img.reshape([n, c, h * w]);
  const tap = (rows: number[], cols: number[]) => {
    const offsets = longs(rows, [n, oh, 1], dev).mul(w).add(longs(cols, [n, 1, ow], dev)).view(n, 1, oh * ow);
    return flat.gather(2, offsets.expand(n, c, oh * ow)).view(n, c, oh, ow);
  };
  if (interpolation === "nearest") return tap(ys.i0, xs.i0);
  const dt: DType = img.dtype === "float64" ? "float64" : "float32";
  const f = (t: Tensor) => (t.dtype === dt ? t : t.to(dt));
  const wx = floats(xs.l1, [n, 1, 1, ow], dt, dev), wy = floats(ys.l1, [n, 1, oh, 1], dt, dev);
  // As ATen: each row blends its two columns, then the two rows blend (as lerps: within an ulp of ATen's w0·a + w1·b).
  const top = f(tap(ys.i0, xs.i0)).lerp(f(tap(ys.i0, xs.i1)), wx);
  const bottom = f(tap(ys.i1, xs.i0)).lerp(f(tap(ys.i1, xs.i1)), wx);
  const out = top.lerp(bottom, wy);
  if (isFloating(img.dtype)) return out.to(img.dtype);
  return out.round().to(img.dtype);
}

/** A same-size crop at a different place in each image of an [N, C, H, W] batch, as gathers (exact). */
export function cropBatch(img: Tensor, tops: number[], lefts: number[], height: number, width: number): Tensor {
  if (img.ndim !== 4) throw new FlareError(`cropBatch(): img must be a batch [N, C, H, W], got shape [${img.shape.join(", ")}]`, "E_SHAPE");
  const [n, c, h, w] = img.shape;
  if (tops.length !== n || lefts.length !== n) throw new FlareError(`cropBatch(): need ${n} offsets, got ${tops.length} and ${lefts.length}`, "E_SHAPE");
  for (let i = 0; i < n; i++)
    if (tops[i] < 0 || lefts[i] < 0 || tops[i] + height > h || lefts[i] + width > w)
      throw new FlareError(`cropBatch(): the crop at (${tops[i]}, ${lefts[i]}) of size ${height}×${width} is not inside the ${h}×${w} image`, "E_ARGUMENT");
  const dev = img.device;
  const rows = longs(tops, [n, 1, 1], dev).add(arange(0, height, { device: dev }).view(1, height, 1));
  const cols = longs(lefts, [n, 1, 1], dev).add(arange(0, width, { device: dev }).view(1, 1, width));
  const offsets = rows.mul(w).add(cols).view(n, 1, height * width).expand(n, c, height * width);
  return img.reshape([n, c, h * w]).gather(2, offsets).view(n, c, height, width);
}
