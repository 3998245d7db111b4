// Argument checks shared by the layers and functional: clear FlareErrors that
// name the argument, before anything reaches libtorch.
import { FlareError } from "../errors.js";
import { Tensor, describe } from "../tensor/tensor.js";
import type { Handle } from "../tensor/native.js";

export type Pair = number | [number, number];

/** The handle of a required tensor argument. */
export function tensorArg(value: unknown, what: string): Handle {
  if (value instanceof Tensor) return value.handle;
  throw new FlareError(`${what} must be a Tensor, got ${describe(value)}`, "E_ARGUMENT");
}

/** The handle of an optional tensor argument (undefined/null → null). */
export function optionalTensorArg(value: unknown, what: string): Handle | null {
  if (value === undefined || value === null) return null;
  return tensorArg(value, what);
}

export function intArg(value: unknown, what: string, min = -Infinity): number {
  if (typeof value !== "number" || !Number.isInteger(value))
    throw new FlareError(`${what} must be an integer, got ${describe(value)}`, "E_ARGUMENT");
  if (value < min) throw new FlareError(`${what} must be ${min === 1 ? "positive" : `at least ${min}`}, got ${value}`, "E_ARGUMENT");
  return value;
}

export function numberArg(value: unknown, what: string): number {
  if (typeof value !== "number" || Number.isNaN(value)) throw new FlareError(`${what} must be a number, got ${describe(value)}`, "E_ARGUMENT");
  return value;
}

export function boolArg(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw new FlareError(`${what} must be true or false, got ${describe(value)}`, "E_ARGUMENT");
  return value;
}

/** An int or a list of `n` ints, as a list of `n` ints (PyTorch's _pair / _ntuple). */
export function tupleArg(value: unknown, n: number, what: string, min = -Infinity): number[] {
  if (typeof value === "number") return Array(n).fill(intArg(value, what, min));
  if (Array.isArray(value)) {
    if (value.length !== n) throw new FlareError(`${what} must be an integer or ${n} integers, got [${value.join(", ")}]`, "E_ARGUMENT");
    return value.map((v, i) => intArg(v, `${what}[${i}]`, min));
  }
  throw new FlareError(`${what} must be an integer or an array of ${n} integers, got ${describe(value)}`, "E_ARGUMENT");
}

export function pairArg(value: unknown, what: string, min = -Infinity): [number, number] {
  return tupleArg(value, 2, what, min) as [number, number];
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== "string" || !allowed.includes(value as T))
    throw new FlareError(`${what} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${typeof value === "string" ? `"${value}"` : describe(value)}`, "E_ARGUMENT");
  return value as T;
}

export function probabilityArg(p: unknown, what: string): number {
  if (typeof p !== "number" || !(p >= 0 && p <= 1))
    throw new FlareError(`${what}: dropout probability has to be between 0 and 1, but got ${describe(p)}`, "E_ARGUMENT");
  return p;
}

/** Python's repr of a value, for module reprs: (3, 3), True, None, 0.1. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "string") return `'${value}'`;
  if (Array.isArray(value)) return value.length === 1 ? `(${pyRepr(value[0])},)` : `(${value.map(pyRepr).join(", ")})`;
  if (typeof value === "number") return Number.isInteger(value) && !Object.is(value, -0) ? String(value) : String(value);
  return String(value);
}

/** Python's float repr: 1e-05, 0.1, 1.0, 1e+16. */
export function pyFloat(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = value.toExponential().split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  const s = String(value);
  return s.includes(".") ? s : `${s}.0`;
}
