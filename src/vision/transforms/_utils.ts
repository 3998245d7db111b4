// Shared checks and helpers of the transforms: image arguments, dtypes,
// batching of leading dimensions, per-image factors and ATen ops that the
// tensor layer does not wrap.
import { FlareError } from "../../errors.js";
import { aten } from "../../tensor/aten.js";
import { Tensor, wrap } from "../../tensor/tensor.js";
import { isFloating, type DType } from "../../tensor/dtype.js";
import { fromTypedArray } from "../../tensor/creation.js";
import { describe, invalidParameterError } from "../../validate.js";

export { aten };

export type Interpolation = "nearest" | "bilinear" | "bicubic";
export type Fill = number | number[] | null;

/** Checks that `img` is a Tensor image [..., C, H, W] (or [..., H, W] when minDims is 2) of a supported dtype. */
export function checkImage(img: unknown, what: string, minDims = 3): Tensor {
  if (!(img instanceof Tensor)) throw new FlareError(`${what} must be a Tensor image [..., C, H, W], got ${describe(img)}`, "E_ARGUMENT");
  if (img.isDisposed) throw new FlareError(`${what} was disposed`, "E_DISPOSED");
  if (img.ndim < minDims)
    throw new FlareError(`${what} must have at least ${minDims} dimensions ([..., ${minDims === 2 ? "" : "C, "}H, W]), got shape [${img.shape.join(", ")}]`, "E_SHAPE");
  const dtype = img.dtype;
  if (dtype !== "uint8" && !isFloating(dtype))
    throw new FlareError(`${what} must be a uint8 or floating-point image, got ${dtype}`, "E_DTYPE");
  return img;
}

// The shared checks (src/validate.ts), re-exported for the transforms that import them from here.
export { describe };

/** [channels, height, width] of an image (channels 1 for a 2-D image). */
export function dims(img: Tensor): [number, number, number] {
  const s = img.shape;
  return [s.length === 2 ? 1 : s[s.length - 3], s[s.length - 2], s[s.length - 1]];
}

export function checkChannels(img: Tensor, permitted: number[], what: string): number {
  const c = dims(img)[0];
  if (!permitted.includes(c))
    throw new FlareError(`${what} must have ${permitted.join(" or ")} channels, got ${c} (shape [${img.shape.join(", ")}])`, "E_SHAPE");
  return c;
}

export function isFloat(t: Tensor): boolean { return isFloating(t.dtype); }
export function bound(t: Tensor): number { return isFloat(t) ? 1 : 255; }

export function maxValue(dtype: DType): number {
  switch (dtype) {
    case "uint8": return 255;
    case "int8": return 127;
    case "int16": return 32767;
    case "int32": return 2147483647;
    case "int64": return 9223372036854775807;
    default: return 1;
  }
}

/** The working float dtype for an image: its own when floating, else float32. */
export function workDtype(img: Tensor): DType { return isFloat(img) ? img.dtype : "float32"; }

/**
 * Flattens the leading dimensions of [..., C, H, W] into N and casts to one of
 * `dtypes` (the first when the image has none of them), as torchvision's
 * _cast_squeeze_in. `restore` undoes both (rounding before an integer cast).
 */
export function castSqueezeIn(img: Tensor, dtypes: DType[]): { x: Tensor; restore: (y: Tensor) => Tensor } {
  const shape = img.shape;
  const lead = shape.slice(0, -3);
  const x4 = img.ndim === 4 ? img : img.ndim === 3 ? img.unsqueeze(0) : img.ndim === 2 ? img.unsqueeze(0).unsqueeze(0) : img.reshape([-1, ...shape.slice(-3)]);
  const out = img.dtype;
  const needCast = !dtypes.includes(out);
  const x = needCast ? x4.to(dtypes[0]) : x4;
  const restore = (y: Tensor): Tensor => {
    const ys = y.shape;
    let r = img.ndim === 4 ? y : img.ndim === 3 ? y.squeeze(0) : img.ndim === 2 ? y.squeeze(0).squeeze(0) : y.reshape([...lead, ...ys.slice(-3)]);
    if (needCast) {
      if (!isFloating(out)) r = r.round();
      r = r.to(out);
    }
    return r;
  };
  return { x, restore };
}

/** Number of images in a batch: the product of the leading dimensions (1 for [C, H, W]). */
export function batchSize(img: Tensor): number {
  return img.shape.slice(0, -3).reduce((a, b) => a * b, 1);
}

/**
 * A per-image value: a number (the same for every image) or one number per
 * image of a batch (an array or a 1-D tensor of length N = img.shape[0]).
 */
export type PerImage = number | number[] | Tensor;

/** Normalises a PerImage argument to a number or an array of N numbers, checking each value. */
export function perImageArg(value: unknown, img: Tensor, what: string, check?: (v: number) => string | null): number | number[] {
  let values: number | number[];
  if (typeof value === "number") values = value;
  else if (Array.isArray(value)) values = value.map((v, i) => {
    if (typeof v !== "number") throw new FlareError(`${what}[${i}] must be a number, got ${describe(v)}`, "E_ARGUMENT");
    return v;
  });
  else if (value instanceof Tensor) {
    if (value.ndim !== 1) throw new FlareError(`${what} must be a number or a 1-D tensor of per-image values, got shape [${value.shape.join(", ")}]`, "E_SHAPE");
    values = Array.from(value.dataSync() as ArrayLike<number | bigint>, Number);
  } else throw new FlareError(`${what} must be a number or one number per image, got ${describe(value)}`, "E_ARGUMENT");
  const list = typeof values === "number" ? [values] : values;
  for (const v of list) {
    if (!Number.isFinite(v)) throw new FlareError(`${what} must be finite, got ${v}`, "E_ARGUMENT");
    const problem = check?.(v);
    if (problem) throw new FlareError(`${what} ${problem}, got ${v}`, "E_ARGUMENT");
  }
  if (Array.isArray(values)) {
    if (img.ndim < 4) throw new FlareError(`${what}: per-image values need a batch [N, C, H, W], got an image of shape [${img.shape.join(", ")}]`, "E_SHAPE");
    if (values.length !== img.shape[0])
      throw new FlareError(`${what} has ${values.length} values but the batch has ${img.shape[0]} images`, "E_SHAPE");
  }
  return values;
}

/** Per-image values as a tensor [N, 1, 1, ...] broadcasting against `img` (dims trailing ones). */
export function perImageTensor(values: number[], like: Tensor, dtype: DType, ndim = like.ndim): Tensor {
  const data = dtype === "float64" ? Float64Array.from(values) : Float32Array.from(values);
  const t = fromTypedArray(data, [values.length, ...Array(ndim - 1).fill(1)]);
  return t.dtype === dtype && like.device === "cpu" ? t : t.to({ dtype, device: like.device });
}

/** An integer of at least min ("non-negative" / "positive" in the transforms' words). */
export function intArg(value: unknown, what: string, min = -Infinity): number {
  if (typeof value !== "number") throw invalidParameterError(what, "an integer", value, "E_TYPE");
  if (!Number.isInteger(value)) throw invalidParameterError(what, "an integer", value);
  if (value < min) throw new FlareError(`${what} must be ${min === 0 ? "non-negative" : min === 1 ? "positive" : `>= ${min}`}, got ${value}`, "E_ARGUMENT");
  return value;
}

export function numArg(value: unknown, what: string): number {
  if (typeof value !== "number") throw invalidParameterError(what, "a finite number", value, "E_TYPE");
  if (!Number.isFinite(value)) throw invalidParameterError(what, "a finite number", value);
  return value;
}

/** An int or [h, w] (or [s]) size → [h, w]. */
export function sizeArg(value: unknown, what: string, min = 1): [number, number] {
  if (typeof value === "number") { intArg(value, what, min); return [value, value]; }
  if (Array.isArray(value) && (value.length === 1 || value.length === 2)) {
    const s = value.map((v, i) => intArg(v, `${what}[${i}]`, min));
    return s.length === 1 ? [s[0], s[0]] : [s[0], s[1]];
  }
  throw new FlareError(`${what} must be an integer or [height, width], got ${Array.isArray(value) ? `[${value.join(", ")}]` : describe(value)}`, "E_ARGUMENT");
}

export function interpolationArg(value: unknown, what: string, allowed: readonly Interpolation[] = ["nearest", "bilinear", "bicubic"]): Interpolation {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value))
    throw new FlareError(`${what} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${typeof value === "string" ? `"${value}"` : describe(value)}`, "E_ARGUMENT");
  return value as Interpolation;
}

/** A [min, max] range from a number v (→ [center - v, center + v] clamped at lower) or a pair. */
export function rangeArg(value: unknown, what: string, center: number, lower = -Infinity, upper = Infinity): [number, number] | null {
  if (value === null || value === undefined) return null;
  let r: [number, number];
  if (typeof value === "number") {
    if (value < 0) throw new FlareError(`${what} must be non-negative when a single number, got ${value}`, "E_ARGUMENT");
    r = [Math.max(center - value, lower), center + value];
  } else if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number")) {
    r = [value[0], value[1]];
  } else throw new FlareError(`${what} must be a number or [min, max], got ${describe(value)}`, "E_ARGUMENT");
  if (!(r[0] <= r[1]) || r[0] < lower || r[1] > upper)
    throw new FlareError(`${what} must be a range [min, max] within [${lower}, ${upper}], got [${r.join(", ")}]`, "E_ARGUMENT");
  if (r[0] === center && r[1] === center) return null;
  return r;
}

/** Python's round() (half to even), which torchvision uses for sizes and offsets. */
export function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A tensor of float values (float32 unless given). */
export function floats(values: number[], shape: number[] = [values.length], dtype: DType = "float32", device = "cpu"): Tensor {
  const t = fromTypedArray(dtype === "float64" ? Float64Array.from(values) : Float32Array.from(values), shape);
  return t.dtype === dtype && device === "cpu" ? t : t.to({ dtype, device });
}

export function longs(values: number[], shape: number[] = [values.length], device = "cpu"): Tensor {
  const t = fromTypedArray(BigInt64Array.from(values, (v) => BigInt(v)), shape);
  return device === "cpu" ? t : t.to(device);
}

export function rsub(x: Tensor, scalar: number): Tensor { return wrap(aten.rsubScalar(x.handle, scalar, 1)); }

/** x with rows `index` along dim 0 replaced by `source` (out of place). */
export function indexCopy(x: Tensor, index: Tensor, source: Tensor): Tensor {
  return wrap(aten.indexCopy(x.handle, 0, index.handle, source.handle));
}
