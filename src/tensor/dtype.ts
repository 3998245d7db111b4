// dtype names (PyTorch's, as strings) and the TypedArrays that hold their values.
import { FlareError } from "../errors.js";

export type DType = "float32" | "float64" | "float16" | "bfloat16" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";
export type Device = "cpu" | `cuda` | `cuda:${number}`;

export const DTYPES: readonly DType[] = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"];

export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64" || dtype === "float16" || dtype === "bfloat16";
}

export function checkDtype(dtype: unknown, what = "dtype"): DType {
  if (typeof dtype !== "string" || !DTYPES.includes(dtype as DType))
    throw new FlareError(`${what} must be one of ${DTYPES.join(", ")}; got ${String(dtype)}`, "E_DTYPE");
  return dtype as DType;
}

/** The TypedArray that data() returns for a dtype (float16/bfloat16 read as float32). */
export function viewOf(buffer: ArrayBuffer, dtype: DType): TypedArray {
  switch (dtype) {
    case "float32": case "float16": case "bfloat16": return new Float32Array(buffer);
    case "float64": return new Float64Array(buffer);
    case "int64": return new BigInt64Array(buffer);
    case "int32": return new Int32Array(buffer);
    case "int16": return new Int16Array(buffer);
    case "int8": return new Int8Array(buffer);
    case "uint8": case "bool": return new Uint8Array(buffer);
  }
}

/** The dtype a TypedArray holds, for fromTypedArray without an explicit dtype. */
export function dtypeOfArray(array: ArrayBufferView): DType {
  if (array instanceof Float32Array) return "float32";
  if (array instanceof Float64Array) return "float64";
  if (array instanceof BigInt64Array) return "int64";
  if (array instanceof Int32Array) return "int32";
  if (array instanceof Int16Array) return "int16";
  if (array instanceof Int8Array) return "int8";
  if (array instanceof Uint8Array || array instanceof Uint8ClampedArray) return "uint8";
  throw new FlareError(`cannot make a tensor from a ${array.constructor.name}`, "E_DTYPE");
}

/** A TypedArray of `dtype` filled from plain numbers (for torch.tensor([...])). */
export function arrayOf(values: ArrayLike<number | boolean>, dtype: DType): ArrayBufferView {
  const n = values.length;
  switch (dtype) {
    case "float32": case "float16": case "bfloat16": return Float32Array.from(values as ArrayLike<number>, Number);
    case "float64": return Float64Array.from(values as ArrayLike<number>, Number);
    case "int64": { const out = new BigInt64Array(n); for (let i = 0; i < n; i++) out[i] = BigInt(Math.trunc(Number(values[i]))); return out; }
    case "int32": return Int32Array.from(values as ArrayLike<number>, Number);
    case "int16": return Int16Array.from(values as ArrayLike<number>, Number);
    case "int8": return Int8Array.from(values as ArrayLike<number>, Number);
    case "uint8": return Uint8Array.from(values as ArrayLike<number>, Number);
    case "bool": return Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
  }
}
