// The tensor layer: Tensor with all its ops, creation, autograd, memory, seeding.
import "./ops/pointwise.js";
import "./ops/reduce.js";
import "./ops/shape.js";
import "./ops/indexing.js";
import "./ops/linalg.js";
import "./ops/compare.js";
import "./hints.js";
import { guardTensorPrototype } from "./tensor.js";
guardTensorPrototype();  // after ops/ added their methods

export { Tensor, isTensor, adopt, type Shape, type NestedArray } from "./tensor.js";
export { native } from "./native.js";
export * from "./dtype.js";
export * from "./creation.js";
export { cat, concat, stack } from "./ops/shape.js";
export { where, type IndexSpec } from "./ops/indexing.js";
export { einsum } from "./ops/linalg.js";
export type { ValuesIndices, ReduceOptions, VarianceOptions } from "./ops/reduce.js";
export { tidy, keep, dispose } from "./scope.js";
export { noGrad, enableGrad, noGradGuard, setGradEnabled, isGradEnabled } from "./autograd.js";
export * as autograd from "./autograd.js";
export { manualSeed, Generator, defaultGenerator, getRngState, setRngState } from "./random.js";
export { TorchGenerator } from "./generator.js";
export * from "./functional.js";

import { native } from "./native.js";
import { FlareError } from "../errors.js";

/** Live tensors and the bytes of their storages (views share one storage). */
export function memory(): { numTensors: number; numStorages: number; numBytes: number } {
  return native.memory();
}
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new FlareError(`setNumThreads(): n must be a positive integer, got ${String(n)}`, "E_ARGUMENT");
  native.setNumThreads(n);
}
export function getNumThreads(): number { return native.getNumThreads(); }
/** What flare was built against: libtorch version, ABI, threading, CUDA, Gloo. */
export function buildInfo() { return native.buildInfo(); }

export const cuda = {
  isAvailable: (): boolean => native.cudaDeviceCount() > 0,
  deviceCount: (): number => native.cudaDeviceCount(),
};
