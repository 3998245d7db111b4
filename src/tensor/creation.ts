// Making tensors: from nested arrays or TypedArrays, constant fills, ranges,
// random draws (from libtorch's generator, seeded by manualSeed).
import { FlareError } from "../errors.js";
import { native, type Handle } from "./native.js";
import { aten } from "./aten.js";
import { Tensor } from "./tensor.js";
import { arrayOf, checkDtype, dtypeOfArray, type DType } from "./dtype.js";

export interface TensorOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
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

function flatten(data: unknown, shape: number[], depth: number, out: (number | boolean)[]): void {
  if (Array.isArray(data)) {
    if (depth === shape.length) shape.push(data.length);
    else if (shape[depth] !== data.length)
      throw new FlareError(`tensor(): ragged nested array: expected ${shape[depth]} elements at depth ${depth}, got ${data.length}`, "E_SHAPE");
    for (const d of data) flatten(d, shape, depth + 1, out);
  } else if (typeof data === "number" || typeof data === "boolean") {
    if (depth !== shape.length) throw new FlareError("tensor(): ragged nested array: a number where an array was expected", "E_SHAPE");
    out.push(data);
  } else {
    throw new FlareError(`tensor(): elements must be numbers or booleans, got ${typeof data}`, "E_ARGUMENT");
  }
}

/**
 * torch.tensor: from a number, a boolean or nested arrays. The dtype is float32
 * for numbers (int64 when every number is an integer and `dtype` is "int64"),
 * bool for booleans, unless `dtype` says otherwise.
 */
export function tensor(data: unknown, options: TensorOptions = {}): Tensor {
  if (data instanceof Tensor) return data.clone().detach();
  if (ArrayBuffer.isView(data)) return fromTypedArray(data, [(data as unknown as ArrayLike<number>).length], options);
  const shape: number[] = [];
  const flat: (number | boolean)[] = [];
  flatten(data, shape, 0, flat);
  const inferred: DType = flat.length > 0 && flat.every((v) => typeof v === "boolean") ? "bool" : "float32";
  const dtype = options.dtype ? checkDtype(options.dtype) : inferred;
  return fromTypedArray(arrayOf(flat, dtype === "float16" || dtype === "bfloat16" ? "float32" : dtype), shape, { ...options, dtype });
}

/** A tensor that copies a TypedArray's values, with the given shape. */
export function fromTypedArray(data: ArrayBufferView, shape: number[], options: TensorOptions = {}): Tensor {
  checkShape(shape);
  const own = dtypeOfArray(data);
  const wanted = options.dtype ? checkDtype(options.dtype) : own;
  const bool = wanted === "bool" && own === "uint8";
  const stored = bool ? "bool" : own;
  let handle = native.fromBuffer(data, shape, stored);
  if (stored !== wanted || (options.device && options.device !== "cpu")) {
    const converted = toDevice(handle, wanted, null, options.device ?? "cpu", null, false, false, null) as Handle;
    native.dispose(handle);
    handle = converted;
  }
  return finish(handle, options);
}

type Fill = (shape: number[], options?: TensorOptions) => Tensor;

function filled(fn: (...args: unknown[]) => unknown, name: string): Fill {
  return (shape, options = {}) => finish(fn(checkShape(shape, `${name}(): shape`), options.dtype ?? "float32", null, options.device ?? "cpu") as Handle, options);
}

export const zeros: Fill = filled(zerosOp, "zeros");
export const ones: Fill = filled(onesOp, "ones");
export const empty: Fill = filled(emptyOp, "empty");
export const rand: Fill = filled(randOp, "rand");
export const randn: Fill = filled(randnOp, "randn");

export function full(shape: number[], value: number | boolean, options: TensorOptions = {}): Tensor {
  const dtype = options.dtype ?? (typeof value === "boolean" ? "bool" : "float32");
  return finish(fullOp(checkShape(shape), value, dtype, null, options.device ?? "cpu") as Handle, options);
}

/** arange(end), arange(start, end) or arange(start, end, step); int64 when all are integers, as in PyTorch. */
export function arange(start: number, end?: number | TensorOptions, step?: number | TensorOptions, options: TensorOptions = {}): Tensor {
  if (typeof end === "object") { options = end; end = undefined; step = undefined; }
  if (typeof step === "object") { options = step; step = undefined; }
  if (end === undefined) { end = start; start = 0; }
  step ??= 1;
  if (step === 0) throw new FlareError("arange(): step must be nonzero", "E_ARGUMENT");
  const integral = [start, end, step].every(Number.isInteger);
  const dtype = options.dtype ?? (integral ? "int64" : "float32");
  return finish(arangeOp(start, end, step, dtype, null, options.device ?? "cpu") as Handle, options);
}

export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  return finish(linspaceOp(start, end, steps, options.dtype ?? "float32", null, options.device ?? "cpu") as Handle, options);
}

export function eye(n: number, m: number = n, options: TensorOptions = {}): Tensor {
  return finish(eyeOp(n, m, options.dtype ?? "float32", null, options.device ?? "cpu") as Handle, options);
}

/** Integers drawn uniformly from [low, high): randint(high, shape) or randint(low, high, shape). */
export function randint(low: number, high: number | number[], shape?: number[] | TensorOptions, options: TensorOptions = {}): Tensor {
  if (Array.isArray(high)) { options = (shape as TensorOptions) ?? {}; shape = high; high = low; low = 0; }
  return finish(randintOp(low, high, checkShape(shape), options.dtype ?? "int64", null, options.device ?? "cpu") as Handle, options);
}

export function randperm(n: number, options: TensorOptions = {}): Tensor {
  return finish(randpermOp(n, options.dtype ?? "int64", null, options.device ?? "cpu") as Handle, options);
}

function like(fill: Fill) {
  return (t: Tensor, options: TensorOptions = {}) => fill(t.shape, { dtype: t.dtype, device: t.device, ...options });
}
export const zerosLike = like(zeros);
export const onesLike = like(ones);
export const emptyLike = like(empty);
export const randLike = like(rand);
export const randnLike = like(randn);
export function fullLike(t: Tensor, value: number | boolean, options: TensorOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, device: t.device, ...options });
}
export function randintLike(t: Tensor, low: number, high?: number, options: TensorOptions = {}): Tensor {
  if (high === undefined) { high = low; low = 0; }
  return randint(low, high, t.shape, { dtype: t.dtype, device: t.device, ...options });
}
