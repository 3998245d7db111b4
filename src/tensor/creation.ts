// Making tensors: from nested arrays or TypedArrays, constant fills, ranges,
// random draws (from libtorch's generator, seeded by manualSeed).
//
// Numbers and dtypes, one rule (README, "Numbers and dtypes"): a whole JS number
// stands for a Python int, any other number for a Python float, a boolean for a
// bool, and each function infers PyTorch's dtype from that: arange(4) and
// full([2], 7) are int64, arange(0, 1, 0.25) and full([2], 0.5) float32. Two
// choices on top: torch.tensor(numbers) is float32 (its input is data, and whole
// -number data must not turn a tensor into int64 by accident), and
// requiresGrad: true with no dtype picks float32 where PyTorch would infer an
// integer dtype and then refuse ("only floating point tensors can require gradients").
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import { numberArg } from "../validate.js";
import { native, op, type Handle } from "./native.js";
import { aten } from "./aten.js";
import { Tensor, describe } from "./tensor.js";
import { arrayOf, checkDtype, checkIntegerValue, dtypeOfArray, isFloating, type DType } from "./dtype.js";

export interface TensorOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

const TENSOR_OPTIONS = ["dtype", "device", "requiresGrad"] as const;

/** The options of a creation function, checked: unknown names, the dtype, the device's kind. */
function creationOptions(options: TensorOptions | undefined, what: string): TensorOptions {
  let o = checkOptions(options, TENSOR_OPTIONS, what);
  if (o.dtype !== undefined) o = { ...o, dtype: checkDtype(o.dtype, `${what}: dtype`) };
  if (o.device !== undefined && typeof o.device !== "string") throw new FlareError(`${what}: device must be a string such as "cpu" or "cuda:0", got ${describe(o.device)}`, "E_TYPE");
  if (o.requiresGrad !== undefined && typeof o.requiresGrad !== "boolean") throw new FlareError(`${what}: requiresGrad must be true or false, got ${describe(o.requiresGrad)}`, "E_TYPE");
  if (o.requiresGrad && o.dtype !== undefined && !isFloating(o.dtype))
    throw new FlareError(`${what}: only floating-point tensors can require gradients, got dtype ${o.dtype}; use { dtype: "float32" }`, "E_DTYPE");
  return o;
}

/** The dtype PyTorch infers from scalar arguments (whole numbers as Python ints), float32 when requiresGrad asks for one. */
function inferred(values: readonly (number | boolean)[], options: TensorOptions): DType {
  if (options.dtype) return options.dtype;
  if (values.every((v) => typeof v === "boolean")) return options.requiresGrad ? "float32" : "bool";
  return values.every((v) => typeof v !== "number" || Number.isInteger(v)) && !options.requiresGrad ? "int64" : "float32";
}

const {
  zeros: zerosOp, ones: onesOp, full: fullOp, empty: emptyOp, arange: arangeOp, linspace: linspaceOp, eye: eyeOp,
  rand: randOp, randn: randnOp, randint: randintOp, randperm: randpermOp, toDtypeLayout: toDevice,
} = aten;

function finish(handle: Handle, options: TensorOptions): Tensor {
  const t = new Tensor(handle);
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

function checkShape(shape: unknown, what = "shape"): number[] {
  if (!Array.isArray(shape)) throw new FlareError(`${what} must be an array of sizes such as [2, 3], got ${String(shape)}`, "E_ARGUMENT");
  shape.forEach((s, i) => {
    if (typeof s !== "number" || !Number.isInteger(s) || s < 0)
      throw new FlareError(`${what}[${i}] must be a non-negative integer, got ${String(s)}`, "E_ARGUMENT");
  });
  return shape as number[];
}

/** The deepest nesting tensor() takes; libtorch allows at most 64 dimensions too. */
export const MAX_DIMS = 64;

function flatten(data: unknown, shape: number[], depth: number, out: (number | boolean)[], path: Set<unknown>): void {
  if (Array.isArray(data)) {
    if (path.has(data)) throw new FlareError(`tensor(): the nested array contains itself (a cycle at depth ${depth})`, "E_ARGUMENT");
    if (depth >= MAX_DIMS) throw new FlareError(`tensor(): the array is nested more than ${MAX_DIMS} deep; a tensor has at most ${MAX_DIMS} dimensions`, "E_SHAPE");
    if (depth === shape.length) shape.push(data.length);
    else if (shape[depth] !== data.length)
      throw new FlareError(`tensor(): ragged nested array: expected ${shape[depth]} elements at depth ${depth}, got ${data.length}`, "E_SHAPE");
    path.add(data);
    for (const d of data) flatten(d, shape, depth + 1, out, path);
    path.delete(data);
  } else if (typeof data === "number" || typeof data === "boolean") {
    if (depth !== shape.length) throw new FlareError("tensor(): ragged nested array: a number where an array was expected", "E_SHAPE");
    out.push(data);
  } else {
    throw new FlareError(`tensor(): elements must be numbers or booleans, got ${typeof data}`, "E_ARGUMENT");
  }
}

/**
 * torch.tensor: from a number, a boolean or nested arrays. The dtype is float32
 * for numbers (whole numbers too: pass { dtype: "int64" } for indices and
 * labels), bool for booleans, unless `dtype` says otherwise. Values an integer
 * dtype cannot hold (NaN, Infinity, 1e300) are a FlareError.
 */
export function tensor(data: unknown, options?: TensorOptions): Tensor {
  const o = creationOptions(options, "tensor()");
  if (data instanceof Tensor) {
    let copy = data.detach().clone();
    if (o.dtype || o.device) { const moved = copy.to({ dtype: o.dtype, device: o.device }); if (moved !== copy) copy.dispose(); copy = moved; }
    if (o.requiresGrad) copy.requiresGrad_(true);
    return copy;
  }
  if (ArrayBuffer.isView(data)) return fromTypedArray(data, [(data as unknown as ArrayLike<number>).length], o);
  const shape: number[] = [];
  const flat: (number | boolean)[] = [];
  flatten(data, shape, 0, flat, new Set());
  const dtype: DType = o.dtype ?? (flat.length > 0 && flat.every((v) => typeof v === "boolean") && !o.requiresGrad ? "bool" : "float32");
  return fromTypedArray(arrayOf(flat, dtype === "float16" || dtype === "bfloat16" ? "float32" : dtype), shape, { ...o, dtype });
}

/** A tensor that copies a TypedArray's values, with the given shape. */
export function fromTypedArray(data: ArrayBufferView, shape: number[], options?: TensorOptions): Tensor {
  const o = creationOptions(options, "fromTypedArray()");
  checkShape(shape);
  const own = dtypeOfArray(data);
  const wanted = o.dtype ?? own;
  const bool = wanted === "bool" && own === "uint8";
  const stored = bool ? "bool" : own;
  let handle = native.fromBuffer(data, shape, stored);
  if (stored !== wanted || (o.device && o.device !== "cpu")) {
    const converted = toDevice(handle, wanted, null, o.device ?? "cpu", null, false, false, null) as Handle;
    native.dispose(handle);
    handle = converted;
  }
  return finish(handle, o);
}

type Fill = (shape: number[], options?: TensorOptions) => Tensor;

function filled(fn: (...args: unknown[]) => unknown, name: string, floating = false): Fill {
  return (shape, options) => {
    const o = creationOptions(options, `${name}()`);
    if (floating && o.dtype && !isFloating(o.dtype)) throw new FlareError(`${name}(): dtype must be a floating-point dtype, got ${o.dtype}`, "E_DTYPE");
    return finish(fn(checkShape(shape, `${name}(): shape`), o.dtype ?? "float32", null, o.device ?? "cpu") as Handle, o);
  };
}

export const zeros: Fill = filled(zerosOp, "zeros");
export const ones: Fill = filled(onesOp, "ones");
export const empty: Fill = filled(emptyOp, "empty");
export const rand: Fill = filled(randOp, "rand", true);
export const randn: Fill = filled(randnOp, "randn", true);

/**
 * full(shape, value): PyTorch's dtype from the value: a whole number is int64,
 * any other number float32, a boolean bool (full([2], 7) is int64, as
 * torch.full([2], 7); write full([2], 7, { dtype: "float32" }) for floats).
 */
export function full(shape: number[], value: number | boolean, options?: TensorOptions): Tensor {
  const o = creationOptions(options, "full()");
  if (typeof value !== "number" && typeof value !== "boolean") throw new FlareError(`full(): value must be a number or a boolean, got ${describe(value)}`, "E_TYPE");
  const dtype = inferred([value], o);
  if (typeof value === "number") checkIntegerValue(value, dtype, "full(): value");
  return finish(fullOp(checkShape(shape, "full(): shape"), value, dtype, null, o.device ?? "cpu") as Handle, o);
}

/**
 * arange(end), arange(start, end) or arange(start, end, step): int64 when all
 * are whole numbers, as PyTorch's with ints (so the book's arange(4.0) is
 * arange(4, { dtype: "float32" }) here), float32 otherwise.
 */
export function arange(start: number, end?: number | TensorOptions, step?: number | TensorOptions, options?: TensorOptions): Tensor {
  if (typeof end === "object" && end !== null) { options = end; end = undefined; step = undefined; }
  if (typeof step === "object" && step !== null) { options = step; step = undefined; }
  const o = creationOptions(options, "arange()");
  if (end === undefined) { end = start; start = 0; }
  step ??= 1;
  numberArg(start, "arange(): start"); numberArg(end, "arange(): end"); numberArg(step, "arange(): step");
  if (step === 0) throw new FlareError("arange(): step must be nonzero", "E_ARGUMENT");
  if (![start, end, step].every(Number.isFinite)) throw new FlareError(`arange(): start, end and step must be finite, got ${start}, ${end}, ${step}`, "E_ARGUMENT");
  return finish(arangeOp(start, end, step, inferred([start, end, step], o), null, o.device ?? "cpu") as Handle, o);
}

/** linspace(start, end, steps): float32 (PyTorch's default dtype) whatever the numbers, unless dtype says otherwise. */
export function linspace(start: number, end: number, steps: number, options?: TensorOptions): Tensor {
  const o = creationOptions(options, "linspace()");
  return finish(linspaceOp(start, end, steps, o.dtype ?? "float32", null, o.device ?? "cpu") as Handle, o);
}

export function eye(n: number, m?: number | TensorOptions, options?: TensorOptions): Tensor {
  if (typeof m === "object" && m !== null) { options = m; m = undefined; }
  const o = creationOptions(options, "eye()");
  return finish(eyeOp(n, m ?? n, o.dtype ?? "float32", null, o.device ?? "cpu") as Handle, o);
}

/** Integers drawn uniformly from [low, high): randint(high, shape) or randint(low, high, shape). */
export function randint(low: number, high: number | number[], shape?: number[] | TensorOptions, options?: TensorOptions): Tensor {
  if (Array.isArray(high)) { options = shape as TensorOptions | undefined; shape = high; high = low; low = 0; }
  const o = creationOptions(options, "randint()");
  return finish(randintOp(low, high, checkShape(shape, "randint(): shape"), o.dtype ?? "int64", null, o.device ?? "cpu") as Handle, o);
}

export function randperm(n: number, options?: TensorOptions): Tensor {
  const o = creationOptions(options, "randperm()");
  return finish(randpermOp(n, o.dtype ?? "int64", null, o.device ?? "cpu") as Handle, o);
}

const normalOps = {
  tt: op("aten::normal", "Tensor_Tensor"), tf: op("aten::normal", "Tensor_float"), ft: op("aten::normal", "float_Tensor"),
  ff: op("aten::normal", "float_float"),
};

/**
 * torch.normal: normal(mean, std, size) with numbers draws a tensor of `size`
 * (float32); with a tensor mean and/or std, one draw per element (broadcast).
 */
export function normal(mean: number | Tensor, std: number | Tensor = 1, size?: number[] | TensorOptions, options?: TensorOptions): Tensor {
  if (size !== undefined && !Array.isArray(size)) { options = size; size = undefined; }
  const o = creationOptions(options, "normal()");
  if (mean instanceof Tensor || std instanceof Tensor) {
    if (size !== undefined) throw new FlareError("normal(): size is taken only when mean and std are numbers (with a tensor, the shape is its shape)", "E_ARGUMENT");
    if (o.dtype || o.device) throw new FlareError("normal(): dtype and device are taken only when mean and std are numbers (the result follows the tensor)", "E_ARGUMENT");
    if (!(mean instanceof Tensor)) numberArg(mean, "normal(): mean");
    if (!(std instanceof Tensor)) numberArg(std, "normal(): std");
    const h = mean instanceof Tensor
      ? (std instanceof Tensor ? normalOps.tt(mean.handle, std.handle, null) : normalOps.tf(mean.handle, std, null))
      : normalOps.ft(mean, (std as Tensor).handle, null);
    return finish(h as Handle, o);
  }
  numberArg(mean, "normal(): mean"); numberArg(std, "normal(): std");
  if (size === undefined) throw new FlareError("normal(): with numbers for mean and std, pass the size: normal(0, 1, [2, 3])", "E_ARGUMENT");
  if (o.dtype && !isFloating(o.dtype)) throw new FlareError(`normal(): dtype must be a floating-point dtype, got ${o.dtype}`, "E_DTYPE");
  return finish(normalOps.ff(mean, std, checkShape(size, "normal(): size"), null, o.dtype ?? "float32", null, o.device ?? "cpu") as Handle, o);
}

function like(fill: Fill, name: string) {
  return (t: Tensor, options?: TensorOptions) => {
    const o = creationOptions(options, `${name}()`);
    return fill(t.shape, { dtype: t.dtype, device: t.device, ...o });
  };
}
export const zerosLike = like(zeros, "zerosLike");
export const onesLike = like(ones, "onesLike");
export const emptyLike = like(empty, "emptyLike");
export const randLike = like(rand, "randLike");
export const randnLike = like(randn, "randnLike");
export function fullLike(t: Tensor, value: number | boolean, options?: TensorOptions): Tensor {
  const o = creationOptions(options, "fullLike()");
  return full(t.shape, value, { dtype: t.dtype, device: t.device, ...o });
}
export function randintLike(t: Tensor, low: number, high?: number | TensorOptions, options?: TensorOptions): Tensor {
  if (typeof high === "object" && high !== null) { options = high; high = undefined; }
  const o = creationOptions(options, "randintLike()");
  if (high === undefined) { high = low; low = 0; }
  return randint(low, high, t.shape, { dtype: t.dtype, device: t.device, ...o });
}
