// The tensor layer: Tensor with all its ops, creation, autograd, memory, seeding.
import "./ops/pointwise.js";
import "./ops/reduce.js";
import "./ops/shape.js";
import "./ops/indexing.js";
import "./ops/linalg.js";
import "./ops/compare.js";
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
import { blasInUse } from "./blas.js";
import { FlareError } from "../errors.js";

/** Live tensors and the bytes of their storages (views share one storage). */
export function memory(): { numTensors: number; numStorages: number; numBytes: number } {
  return native.memory();
}
/**
 * The most threads setNumThreads / setNumInteropThreads accept: 4 × the hardware
 * threads, at most 256 (2,048 threads made every op take tens of seconds).
 */
export function maxNumThreads(): number { return native.maxNumThreads(); }
function checkThreads(n: unknown, what: string): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw new FlareError(`${what}: n must be a positive integer, got ${typeof n === "number" ? String(n) : typeof n}`, "E_ARGUMENT");
  const limit = native.maxNumThreads();
  if (n > limit) throw new FlareError(`${what}: ${n} threads is above the limit of ${limit} (4 × the hardware threads, at most 256)`, "E_ARGUMENT");
  return n;
}
/** torch.set_num_threads: the intra-op thread count (1 … maxNumThreads()). */
export function setNumThreads(n: number): void { native.setNumThreads(checkThreads(n, "setNumThreads()")); }
export function getNumThreads(): number { return native.getNumThreads(); }
/** torch.set_num_interop_threads: once, before any inter-op parallel work (libtorch's rule; later calls are an E_STATE FlareError). */
export function setNumInteropThreads(n: number): void { native.setNumInteropThreads(checkThreads(n, "setNumInteropThreads()")); }
export function getNumInteropThreads(): number { return native.getNumInteropThreads(); }
/** What flare was built against: libtorch version, ABI, threading, CUDA, Gloo, and the BLAS its matrix products run on. */
export function buildInfo() { return { ...native.buildInfo(), blas: blasInUse() }; }

/** What the CPU memory cache (native/cpu_cache.cc) holds: freed blocks kept for reuse. */
export interface CpuMemoryStats {
  /** false when FLARE_CPU_CACHE=0 chose libtorch's own allocator (the other fields are then absent). */
  enabled: boolean;
  /** Bytes of freed blocks the cache keeps; liveBytes: bytes of cached-size blocks tensors use now. */
  cachedBytes?: number; liveBytes?: number; limitBytes?: number;
  /** Large allocations served from the cache, from the system, and blocks freed to stay under the limit. */
  hits?: number; misses?: number; evictions?: number;
  /**
   * Bytes of freed small blocks (4 KiB and under) this thread keeps, by 64-byte class, for its
   * next small tensors (at most 16 MiB a thread; emptyCache() and the thread's exit free them).
   */
  smallCachedBytes?: number;
}

/**
 * The CPU side of torch.cuda's memory calls. Large CPU blocks (256 KiB and up) are
 * kept when freed and handed out again, as PyTorch's CUDA allocator does, because a
 * training step asks for the same sizes every time and fresh pages cost a page
 * fault each (README: "CPU memory cache"). FLARE_CPU_CACHE=0 turns it off;
 * FLARE_CPU_CACHE_LIMIT_MB sets the limit (default a quarter of physical memory).
 */
export const cpu = {
  memoryStats: (): CpuMemoryStats => native.cpuCacheStats(),
  /** Returns every cached large block, and this thread's small ones, to the system (torch.cuda.empty_cache()). */
  emptyCache: (): void => { native.cpuEmptyCache(); },
  /** The most bytes of freed blocks the cache keeps; 0 keeps none. Lowering it frees the excess now. */
  setCacheLimit: (bytes: number): void => {
    if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < 0)
      throw new FlareError(`cpu.setCacheLimit(): bytes must be a non-negative integer, got ${typeof bytes === "number" ? String(bytes) : typeof bytes}`, "E_ARGUMENT");
    native.cpuSetCacheLimit(bytes);
  },
};

export const cuda = {
  isAvailable: (): boolean => native.cudaDeviceCount() > 0,
  deviceCount: (): number => native.cudaDeviceCount(),
};
