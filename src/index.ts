// flare: the public entry point (`import * as torch from "flare"`).
export * from "./tensor/index.js";
export { FlareError, type FlareErrorCode } from "./errors.js";
export * as nn from "./nn/index.js";
export * as F from "./nn/functional.js";
export * as optim from "./optim/index.js";
export * as io from "./io/index.js";
export * as data from "./data/index.js";
export { save, load } from "./io/index.js";
export * as engine from "./engine/index.js";
export * as distributed from "./distributed/index.js";
export { serveRuns, type ServeOptions, type RunsServer } from "./serve/index.js";
