// Normalize, erase, Gaussian blur and dtype conversion on tensor images,
// as torchvision 0.14's functional_tensor.
import { FlareError } from "../../errors.js";
import { Tensor, wrap } from "../../tensor/tensor.js";
import { linspace, fromTypedArray } from "../../tensor/creation.js";
import { where } from "../../tensor/ops/indexing.js";
import { isFloating, checkDtype, type DType } from "../../tensor/dtype.js";
import { aten, checkImage, dims, castSqueezeIn, intArg, floats, describe, workDtype, perImageArg } from "./_utils.js";
import { convertImageDtype } from "./color.js";
import { arange } from "../../tensor/creation.js";
import { stack } from "../../tensor/ops/shape.js";
import { checkOptions } from "../../options.js";

/** (x - mean) / std per channel, on float images. */
export function normalize(tensor: Tensor, mean: number[], std: number[], options: { inplace?: boolean } = {}): Tensor {
  checkOptions(options, ["inplace"], "normalize()");
  checkImage(tensor, "normalize(): tensor");
  if (!isFloating(tensor.dtype)) throw new FlareError(`normalize(): tensor must be a float image, got ${tensor.dtype} (convert with toDtype(img, "float32", { scale: true }))`, "E_DTYPE");
  const c = dims(tensor)[0];
  const m = listArg(mean, "normalize(): mean"), s = listArg(std, "normalize(): std");
  for (const [name, l] of [["mean", m], ["std", s]] as const)
    if (l.length !== 1 && l.length !== c) throw new FlareError(`normalize(): ${name} has ${l.length} values but the image has ${c} channels`, "E_SHAPE");
  const mt = floats(m, [m.length, 1, 1], tensor.dtype, tensor.device), st = floats(s, [s.length, 1, 1], tensor.dtype, tensor.device);
  if (st.eq(0).any().item()) throw new FlareError(`normalize(): std evaluated to zero after conversion to ${tensor.dtype}, leading to division by zero`, "E_ARGUMENT");
  const x = options.inplace ? tensor : tensor.clone();
  return x.sub_(mt).div_(st);
}

function listArg(value: unknown, what: string): number[] {
  if (typeof value === "number") return [value];
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== "number" || !Number.isFinite(v)))
    throw new FlareError(`${what} must be a number or an array of numbers, got ${describe(value)}`, "E_ARGUMENT");
  return value;
}

/** Sets img[..., i:i+h, j:j+w] = v (a tensor that broadcasts, or a number). */
export function erase(img: Tensor, i: number, j: number, h: number, w: number, v: Tensor | number, options: { inplace?: boolean } = {}): Tensor {
  checkOptions(options, ["inplace"], "erase()");
  checkImage(img, "erase(): img", 2);
  intArg(i, "erase(): i", 0); intArg(j, "erase(): j", 0); intArg(h, "erase(): h", 0); intArg(w, "erase(): w", 0);
  const x = options.inplace ? img : img.clone();
  x.indexPut_(["...", `${i}:${i + h}`, `${j}:${j + w}`], v);
  return x;
}

/**
 * Erases a different rectangle in each image of an [N, C, H, W] batch: boxes
 * are [i, j, h, w] per image; values a tensor broadcasting to the batch
 * (e.g. noise [N, C, H, W] or [1, C, 1, 1]).
 */
export function eraseBatch(img: Tensor, boxes: number[][], values: Tensor): Tensor {
  if (img.ndim !== 4) throw new FlareError(`eraseBatch(): img must be a batch [N, C, H, W], got shape [${img.shape.join(", ")}]`, "E_SHAPE");
  const [n, , H, W] = img.shape;
  if (boxes.length !== n) throw new FlareError(`eraseBatch(): ${boxes.length} boxes for ${n} images`, "E_SHAPE");
  const col = (k: number) => floats(boxes.map((b) => b[k]), [n, 1, 1, 1], "float32", img.device);
  const [i, j, h, w] = [0, 1, 2, 3].map(col);
  const rows = arange(0, H, { device: img.device }).view(1, 1, H, 1), cols = arange(0, W, { device: img.device }).view(1, 1, 1, W);
  const mask = rows.ge(i).logicalAnd(rows.lt(i.add(h))).logicalAnd(cols.ge(j)).logicalAnd(cols.lt(j.add(w)));
  return where(mask, values.to(img.dtype), img);
}

function gaussianKernel1d(kernelSize: number, sigma: Tensor | number): Tensor {
  const half = (kernelSize - 1) * 0.5;
  const x = linspace(-half, half, kernelSize);
  const pdf = (typeof sigma === "number" ? x.div(sigma) : x.div(sigma)).pow(2).mul(-0.5).exp();
  return pdf.div(pdf.sum(-1, { keepdim: true }));
}

export function kernelSizeArg(kernelSize: unknown, what: string): [number, number] {
  const k = typeof kernelSize === "number" ? [kernelSize, kernelSize] : kernelSize;
  if (!Array.isArray(k) || k.length !== 2) throw new FlareError(`${what} must be an odd integer or [kx, ky], got ${describe(kernelSize)}`, "E_ARGUMENT");
  for (const v of k) if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v % 2 === 0)
    throw new FlareError(`${what} must hold odd positive integers, got [${k.join(", ")}]`, "E_ARGUMENT");
  return [k[0], k[1]];
}

export function sigmaArg(sigma: unknown, kernel: [number, number], what: string): [number, number] {
  if (sigma === null || sigma === undefined) return [kernel[0] * 0.15 + 0.35, kernel[1] * 0.15 + 0.35];
  const s = typeof sigma === "number" ? [sigma, sigma] : Array.isArray(sigma) && sigma.length === 1 ? [sigma[0], sigma[0]] : sigma;
  if (!Array.isArray(s) || s.length !== 2 || s.some((v) => typeof v !== "number")) throw new FlareError(`${what} must be a number or [sx, sy], got ${describe(sigma)}`, "E_ARGUMENT");
  for (const v of s) if (!(v > 0)) throw new FlareError(`${what} must be positive, got [${s.join(", ")}]`, "E_ARGUMENT");
  return [s[0], s[1]];
}

/** Gaussian blur with a [kx, ky] kernel (odd) and [sx, sy] standard deviations; reflect padding. */
export function gaussianBlur(img: Tensor, kernelSize: number | number[], sigma: number | number[] | null = null): Tensor {
  checkImage(img, "gaussianBlur(): img");
  const k = kernelSizeArg(kernelSize, "gaussianBlur(): kernelSize");
  const s = sigmaArg(sigma, k, "gaussianBlur(): sigma");
  const dtype = workDtype(img);
  const kx = gaussianKernel1d(k[0], s[0]).to(dtype), ky = gaussianKernel1d(k[1], s[1]).to(dtype);
  const kernel = ky.unsqueeze(1).mm(kx.unsqueeze(0));
  return convolve(img, [kernel], k, "gaussianBlur()");
}

/** Gaussian blur with one sigma per image of an [N, C, H, W] batch (one grouped convolution). */
export function gaussianBlurBatch(img: Tensor, kernelSize: number | number[], sigmas: number[] | Tensor): Tensor {
  checkImage(img, "gaussianBlurBatch(): img", 4);
  const k = kernelSizeArg(kernelSize, "gaussianBlurBatch(): kernelSize");
  const s = perImageArg(sigmas, img, "gaussianBlurBatch(): sigmas", (v) => (v > 0 ? null : "must be positive"));
  const list = typeof s === "number" ? Array(img.shape[0]).fill(s) : s;
  const dtype = workDtype(img);
  const st = floats(list, [list.length, 1]);
  const kx = gaussianKernel1d(k[0], st).to(dtype), ky = gaussianKernel1d(k[1], st).to(dtype);
  const kernels = ky.unsqueeze(2).bmm(kx.unsqueeze(1)); // [N, ky, kx]
  return convolve(img, kernels.unbind(0), k, "gaussianBlurBatch()");
}

/** Depthwise convolution of each image with its kernel (one kernel: all images), reflect-padded. */
function convolve(img: Tensor, kernels: Tensor[], k: [number, number], what: string): Tensor {
  const [c, H, W] = dims(img);
  if (Math.floor(k[0] / 2) >= W || Math.floor(k[1] / 2) >= H)
    throw new FlareError(`${what}: kernel size [${k.join(", ")}] is too large for a ${H}×${W} image (reflect padding)`, "E_ARGUMENT");
  const { x, restore } = castSqueezeIn(img, [kernels[0].dtype]);
  const padding = [Math.floor(k[0] / 2), Math.floor(k[0] / 2), Math.floor(k[1] / 2), Math.floor(k[1] / 2)];
  let xp = wrap(aten.pad(x.handle, padding, "reflect", null));
  let weight: Tensor, groups: number;
  if (kernels.length === 1) { weight = kernels[0].expand(c, 1, k[1], k[0]); groups = c; }
  else {
    const n = x.shape[0];
    weight = stack(kernels).view(n, 1, 1, k[1], k[0]).expand(n, c, 1, k[1], k[0]).reshape([n * c, 1, k[1], k[0]]);
    xp = xp.reshape([1, n * c, xp.shape[2], xp.shape[3]]);
    groups = n * c;
  }
  let y = wrap(aten.conv2d(xp.handle, weight.handle, null, [1, 1], [0, 0], [1, 1], groups));
  if (kernels.length > 1) y = y.reshape([x.shape[0], c, y.shape[2], y.shape[3]]);
  return restore(y);
}

/**
 * Converts an image to `dtype`; with scale (the default) values are rescaled
 * between the integer range and [0, 1], as torchvision's ToDtype(scale=True).
 */
export function toDtype(img: Tensor, dtype: DType, options: { scale?: boolean } = {}): Tensor {
  checkOptions(options, ["scale"], "toDtype()");
  if (!(img instanceof Tensor)) throw new FlareError(`toDtype(): img must be a Tensor, got ${describe(img)}`, "E_ARGUMENT");
  checkDtype(dtype, "toDtype(): dtype");
  return options.scale ?? true ? convertImageDtype(img, dtype) : img.to(dtype);
}

export { convertImageDtype };

/**
 * Reproducible standard-normal noise [N, ...shape] from one 32-bit seed per
 * image, computed with tensor ops (a murmur3 finaliser over the element index,
 * then Box-Muller), so a random erase replays exactly and batches need no loop.
 */
export function seededNormal(seeds: number[], shape: number[], dtype: DType = "float32", device = "cpu"): Tensor {
  const n = seeds.length, m = shape.reduce((a, b) => a * b, 1);
  const idx = arange(0, m, { device }).view(1, m);
  const s = longsOf(seeds.map((v) => v >>> 0), [n, 1], device);
  const mask = 0xffffffff;
  const fmix = (x: Tensor) => {
    x = x.bitwiseXor(x.div(65536, { roundingMode: "floor" }));
    x = x.mul(0x85ebca6b).bitwiseAnd(mask);
    x = x.bitwiseXor(x.div(8192, { roundingMode: "floor" }));
    x = x.mul(0xc2b2ae35).bitwiseAnd(mask);
    return x.bitwiseXor(x.div(65536, { roundingMode: "floor" }));
  };
  const stream = (k: number) => fmix(idx.mul(2).add(k).mul(0x9e3779b1).add(s.mul(0x27d4eb2f)).bitwiseAnd(mask)).to("float64").add(0.5).div(4294967296);
  const u1 = stream(0), u2 = stream(1);
  const z = u1.log().mul(-2).sqrt().mul(u2.mul(2 * Math.PI).cos());
  return z.to(dtype).view([n, ...shape]);
}

function longsOf(values: number[], shape: number[], device: string): Tensor {
  const t = fromTypedArray(BigInt64Array.from(values, (v) => BigInt(v)), shape);
  return device === "cpu" ? t : t.to(device);
}
