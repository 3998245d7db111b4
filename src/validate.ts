// One validation module: how flare describes a bad value and the error it
// throws for it (sharp's invalidParameterError as the model), and the checks of
// plain arguments (integers, numbers, booleans, choices, pairs, probabilities)
// shared by nn, optim and the transforms. Bottom layer: imports only errors.ts.
//
// Codes (the rule, also in src/errors.ts): E_TYPE when the value is of the wrong
// kind (a string where a number goes, an object that is not a Tensor / Module /
// Optimizer); E_ARGUMENT when it is of the right kind but not allowed (out of
// range, not one of the choices, an unknown option).
import { FlareError, type FlareErrorCode } from "./errors.js";

/** A short description of a value for messages: "null", "an array", "Tensor", "string none", "number 3". */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return (value as object).constructor?.name ?? "an object";
  return `${typeof value} ${String(value)}`;
}

/**
 * The error for a bad argument: `${name} must be ${expected}, got ${describe(actual)}`.
 * `name` says where (`"Conv2d(): stride"`), `expected` what would do (`"a positive integer"`).
 */
export function invalidParameterError(name: string, expected: string, actual: unknown, code: FlareErrorCode = "E_ARGUMENT"): FlareError {
  return new FlareError(`${name} must be ${expected}, got ${describe(actual)}`, code);
}

export function intArg(value: unknown, what: string, min = -Infinity): number {
  if (typeof value !== "number") throw invalidParameterError(what, "an integer", value, "E_TYPE");
  if (!Number.isInteger(value)) throw invalidParameterError(what, "an integer", value);
  if (value < min) throw new FlareError(`${what} must be ${min === 1 ? "positive" : `at least ${min}`}, got ${value}`, "E_ARGUMENT");
  return value;
}

export function numberArg(value: unknown, what: string): number {
  if (typeof value !== "number") throw invalidParameterError(what, "a number", value, "E_TYPE");
  if (Number.isNaN(value)) throw invalidParameterError(what, "a number", value);
  return value;
}

export function boolArg(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw invalidParameterError(what, "true or false", value, "E_TYPE");
  return value;
}

/** An int or a list of `n` ints, as a list of `n` ints (PyTorch's _pair / _ntuple). */
export function tupleArg(value: unknown, n: number, what: string, min = -Infinity): number[] {
  if (typeof value === "number") return Array(n).fill(intArg(value, what, min));
  if (Array.isArray(value)) {
    if (value.length !== n) throw new FlareError(`${what} must be an integer or ${n} integers, got [${value.join(", ")}]`, "E_ARGUMENT");
    return value.map((v, i) => intArg(v, `${what}[${i}]`, min));
  }
  throw invalidParameterError(what, `an integer or an array of ${n} integers`, value, "E_TYPE");
}

export function pairArg(value: unknown, what: string, min = -Infinity): [number, number] {
  return tupleArg(value, 2, what, min) as [number, number];
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== "string" || !allowed.includes(value as T))
    // A non-string is of the wrong kind; a string not in the list is the wrong value.
    throw new FlareError(`${what} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${typeof value === "string" ? `"${value}"` : describe(value)}`, typeof value === "string" ? "E_ARGUMENT" : "E_TYPE");
  return value as T;
}

/** A number in [0, 1]. */
export function probabilityArg(p: unknown, what: string): number {
  if (typeof p !== "number") throw invalidParameterError(what, "a probability between 0 and 1", p, "E_TYPE");
  if (!(p >= 0 && p <= 1)) throw invalidParameterError(what, "a probability between 0 and 1", p);
  return p;
}

/**
 * Makes assigning over a method of `proto` (`t.add = f`, `net.eval = false`)
 * throw an E_ARGUMENT FlareError with `message(instance, name)`, instead of
 * silently shadowing it for that instance: each method becomes a getter/setter
 * pair on the prototype. Names in `assignable` (and non-configurable ones) stay as they are.
 */
export function guardMethods(proto: object, message: (self: object, name: string) => string, assignable: readonly string[] = []): void {
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === "constructor" || assignable.includes(name)) continue;
    const desc = Object.getOwnPropertyDescriptor(proto, name)!;
    if (!desc.configurable || typeof desc.value !== "function") continue;
    const fn = desc.value as unknown;
    Object.defineProperty(proto, name, {
      configurable: true, enumerable: false,
      get() { return fn; },
      set(this: object) { throw new FlareError(message(this, name), "E_ARGUMENT"); },
    });
  }
}
