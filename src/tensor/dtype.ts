// dtype names (PyTorch's, as strings) and the TypedArrays that hold their values.
import { FlareError } from "../errors.js";

export type DType = "float32" | "float64" | "float16" | "bfloat16" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";
export type Device = "cpu" | `cuda` | `cuda:${number}`;

export const DTYPES: readonly DType[] = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"];

// PyTorch's dtype constants (torch.float32, torch.long, ...). flare's dtypes are
// strings, so each constant is its canonical name and works wherever a dtype does.
export const float32 = "float32", float = "float32", float64 = "float64", double = "float64";
export const float16 = "float16", half = "float16", bfloat16 = "bfloat16";
export const int64 = "int64", long = "int64", int32 = "int32", int = "int32", int16 = "int16", short = "int16";
export const int8 = "int8", uint8 = "uint8", bool = "bool";

export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64" || dtype === "float16" || dtype === "bfloat16";
}

/**
 * The dtype named by `dtype`, canonical: a flare dtype, or one of PyTorch's
 * other names for it ("float", "double", "half", "long", "int", "short", as the
 * constants torch.float, torch.long, ...). Anything else is an E_DTYPE FlareError.
 */
export function checkDtype(dtype: unknown, what = "dtype"): DType {
  if (typeof dtype === "string") {
    if (DTYPES.includes(dtype as DType)) return dtype as DType;
    if (Object.hasOwn(ALIASES, dtype)) return ALIASES[dtype];
  }
  const name = typeof dtype === "string" ? dtype.replace(/^torch\./, "") : undefined;
  const hint = name !== undefined && Object.hasOwn(SUGGEST, name) ? SUGGEST[name] : undefined;
  throw new FlareError(`${what} must be one of ${DTYPES.join(", ")} (or PyTorch's float, double, half, long, int, short): unknown dtype ${typeof dtype === "string" ? `'${dtype}'` : String(dtype)}${hint ? ` (did you mean "${hint}"?)` : ""}`, "E_DTYPE");
}

const ALIASES: Record<string, DType> = { float: "float32", double: "float64", half: "float16", long: "int64", int: "int32", short: "int16" };
// Names PyTorch code may write that are not dtype names here.
const SUGGEST: Record<string, DType> = { ...ALIASES, ...Object.fromEntries(DTYPES.map((d) => [d, d])), char: "int8", byte: "uint8" };

/** The inclusive range of each integer dtype, for values from JavaScript numbers. */
const INT_RANGES: Partial<Record<DType, [number, number]>> = {
  int64: [-(2 ** 63), 2 ** 63 - 1], int32: [-(2 ** 31), 2 ** 31 - 1], int16: [-32768, 32767], int8: [-128, 127], uint8: [0, 255],
};

/**
 * Checks that a JavaScript number fits an integer dtype, as PyTorch does
 * ("value cannot be converted to type int64 without overflow"): NaN, ±Infinity
 * and out-of-range values are a FlareError naming `where`, never a silent wrap.
 * Fractions are truncated toward zero, as PyTorch's.
 */
export function checkIntegerValue(value: number, dtype: DType, where: string): void {
  const range = INT_RANGES[dtype];
  if (!range) return;
  const v = Math.trunc(value);
  // 2 ** 63 - 1 rounds to 2 ** 63 as a double, so the int64 bound is exclusive.
  if (!(v >= range[0] && (dtype === "int64" ? v < 2 ** 63 : v <= range[1])))
    throw new FlareError(`${where}: ${String(value)} cannot be converted to ${dtype} without overflow (${dtype} holds integers from ${range[0]} to ${dtype === "int64" ? "2^63-1" : range[1]})`, "E_DTYPE");
}

/** The TypedArray that dataSync() returns for a dtype (float16/bfloat16 read as float32). */
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

/**
 * A TypedArray of `dtype` filled from plain numbers (for torch.tensor([...])).
 * Values that an integer dtype cannot hold are a FlareError naming `what`.
 */
export function arrayOf(values: ArrayLike<number | boolean>, dtype: DType, what = "tensor()"): ArrayBufferView {
  const n = values.length;
  if (INT_RANGES[dtype]) for (let i = 0; i < n; i++) checkIntegerValue(Number(values[i]), dtype, `${what}: element ${i}`);
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
