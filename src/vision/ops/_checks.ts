// Argument checks shared by the box ops: each names the function and the
// argument, and says what was expected and what came.
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/index.js";

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (value instanceof Tensor) return `a Tensor of shape [${value.shape.join(", ")}]`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return (value as object).constructor?.name ?? "an object";
  return `${typeof value} ${String(value)}`;
}

/** A numeric (not bool) tensor of shape [N, 4]; `batched` also accepts [..., 4]. */
export function checkBoxes(boxes: unknown, what: string, batched = false): Tensor {
  const shape = batched ? "[..., 4]" : "[N, 4]";
  if (!(boxes instanceof Tensor)) throw new FlareError(`${what} must be a Tensor of shape ${shape}, got ${describe(boxes)}`, "E_ARGUMENT");
  const s = boxes.shape;
  if ((batched ? s.length < 1 : s.length !== 2) || s[s.length - 1] !== 4)
    throw new FlareError(`${what} must have shape ${shape}, got [${s.join(", ")}]`, "E_SHAPE");
  if (boxes.dtype === "bool") throw new FlareError(`${what} must be numeric, got bool`, "E_DTYPE");
  return boxes;
}

export function checkTensor(value: unknown, what: string): Tensor {
  if (!(value instanceof Tensor)) throw new FlareError(`${what} must be a Tensor, got ${describe(value)}`, "E_ARGUMENT");
  return value;
}

export function checkNumber(value: unknown, what: string): number {
  if (typeof value !== "number" || Number.isNaN(value)) throw new FlareError(`${what} must be a number, got ${describe(value)}`, "E_ARGUMENT");
  return value;
}

/** Throws on any key of `options` that is not in `known`: unknown options are never ignored. */
export function checkOptions(options: unknown, known: readonly string[], what: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options))
    throw new FlareError(`${what}: options must be an object, got ${describe(options)}`, "E_ARGUMENT");
  for (const key of Object.keys(options))
    if (!known.includes(key)) throw new FlareError(`${what}: unknown option '${key}' (known: ${known.join(", ")})`, "E_ARGUMENT");
}

export type Reduction = "none" | "mean" | "sum";

export function checkReduction(value: unknown, what: string): Reduction {
  if (value === undefined) return "none";
  if (value !== "none" && value !== "mean" && value !== "sum")
    throw new FlareError(`${what}: reduction must be "none", "mean" or "sum", got ${describe(value)}`, "E_ARGUMENT");
  return value;
}
