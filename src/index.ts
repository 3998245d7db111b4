// flare: the public entry point (`import * as torch from "flare"`).
export * from "./tensor/index.js";
export { FlareError, type FlareErrorCode } from "./errors.js";
