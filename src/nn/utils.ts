// Argument checks shared by the layers and functional: clear FlareErrors that
// name the argument, before anything reaches libtorch.
import { FlareError } from "../errors.js";
import { Tensor } from "../tensor/tensor.js";
import { describe, invalidParameterError } from "../validate.js";
import type { Handle } from "../tensor/native.js";

export type Pair = number | [number, number];

/** The handle of a required tensor argument. */
export function tensorArg(value: unknown, what: string): Handle {
  if (value instanceof Tensor) return value.handle;
  throw invalidParameterError(what, "a Tensor", value, "E_TYPE");
}

/** The handle of an optional tensor argument (undefined/null → null). */
export function optionalTensorArg(value: unknown, what: string): Handle | null {
  if (value === undefined || value === null) return null;
  return tensorArg(value, what);
}

// The generic checks live in src/validate.ts (one validation module); re-exported
// here so the layers and functional keep importing them from one place.
export { intArg, numberArg, boolArg, tupleArg, pairArg, oneOf } from "../validate.js";

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
