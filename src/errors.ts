/**
 * The one error family flare throws. `code` says what kind of problem it is;
 * the message names the tensor, argument or file and what is wrong.
 *
 * E_TYPE vs E_ARGUMENT: E_TYPE when a value is of the wrong kind (a string
 * where a number goes, an object that is not a Tensor / Module / Optimizer /
 * plain options object); E_ARGUMENT when it is of the right kind but not
 * allowed (out of range, not one of the choices, an unknown option name, a
 * conflict between arguments). Shapes, dtypes and devices of tensors have their
 * own codes (E_SHAPE, E_DTYPE, E_DEVICE). src/validate.ts builds these errors
 * (`invalidParameterError(name, expected, actual, code)`).
 */
export type FlareErrorCode =
  | "E_ARGUMENT" | "E_SHAPE" | "E_DTYPE" | "E_DEVICE" | "E_DISPOSED" | "E_INDEX" | "E_TYPE"
  | "E_TORCH" | "E_NOT_IMPLEMENTED" | "E_OUT_OF_MEMORY" | "E_LINALG" | "E_FORMAT" | "E_IO"
  | "E_STATE" | "E_INTERNAL";

export class FlareError extends Error {
  readonly code: FlareErrorCode;
  constructor(message: string, code: FlareErrorCode = "E_ARGUMENT") {
    super(message);
    this.name = "FlareError";
    this.code = code;
  }
}

/** Throws a FlareError with `message` unless `condition` holds. */
export function check(condition: unknown, message: string | (() => string), code: FlareErrorCode = "E_ARGUMENT"): asserts condition {
  if (!condition) throw new FlareError(typeof message === "string" ? message : message(), code);
}
