// Loads the C++ addon (native/) and gives it a type. Everything above this file
// talks to libtorch through `native` and `op()`.
import { createRequire } from "node:module";
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { FlareError } from "../errors.js";
import { HintedFlareError } from "./hints.js";

/** A tensor handle made by the addon: a number naming a slot in its handle table. */
export type Handle = number & { readonly __handle: unique symbol };

export interface Native {
  fromBuffer(data: ArrayBufferView, shape: number[], dtype: string): Handle;
  toBuffer(h: Handle): ArrayBuffer;
  item(h: Handle): number | boolean;
  shape(h: Handle): number[];
  strides(h: Handle): number[];
  dtype(h: Handle): string;
  device(h: Handle): string;
  numel(h: Handle): number;
  dim(h: Handle): number;
  isDisposed(h: Handle): boolean;
  dispose(h: Handle): boolean;
  sameTensor(a: Handle, b: Handle): boolean;
  setData(h: Handle, source: Handle): void;
  setOwner(h: Handle, adopt: boolean): boolean;
  guard(wrapper: object, h: Handle): boolean;
  requiresGrad(h: Handle): boolean;
  setRequiresGrad(h: Handle, value: boolean): void;
  isLeaf(h: Handle): boolean;
  gradFn(h: Handle): string | null;
  grad(h: Handle, cached?: Handle): Handle | null | true;
  setGrad(h: Handle, grad: Handle | null): void;
  retainGrad(h: Handle): void;
  backward(outputs: Handle[], grads: (Handle | null)[] | null, retainGraph: boolean | undefined, createGraph: boolean, inputs: Handle[] | null): void;
  autogradGrad(outputs: Handle[], inputs: Handle[], gradOutputs: (Handle | null)[] | null, retainGraph: boolean | undefined, createGraph: boolean, allowUnused: boolean): (Handle | null)[];
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;
  manualSeed(seed: number): void;
  getRngState(): Handle;
  setRngState(state: Handle): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setNumInteropThreads(n: number): void;
  getNumInteropThreads(): number;
  maxNumThreads(): number;
  cudaDeviceCount(): number;
  cpuCacheStats(): import("./index.js").CpuMemoryStats;
  cpuEmptyCache(): void;
  cpuSetCacheLimit(bytes: number): void;
  memory(): { numTensors: number; numStorages: number; numBytes: number };
  buildInfo(): { torchVersion: string; cxx11Abi: boolean; parallel: string; cuda: boolean; gloo: boolean };
  setErrorClass(ctor: typeof FlareError): void;
  /** dim * 4 + kind of an index tensor: kind 0 integer, 1 bool or uint8 (a mask), 2 other. */
  indexKind(handle: Handle): number;
  op(name: string, overload?: string, numberTensorArg?: string): number;
  call(index: number, ...args: unknown[]): unknown;
  schema(index: number): string;
  /** Whether a binary op passes a number as a tensor of its dtype (default true); false: libtorch's own Scalar path. For tests. */
  setScalarAsTensor(enabled: boolean): boolean;
  adjustHue(img: Handle, shifts: number | number[]): Handle;
  hwcToChw(data: Uint8Array, height: number, width: number, channels: number): Handle;
  /** A plain JPEG (8-bit grey / YCbCr / RGB, no EXIF turn, no ICC profile) as uint8 C×H×W; undefined for anything else. channels 0: the file's own. */
  decodeJpeg(bytes: Uint8Array, channels: 0 | 1 | 3): Handle | undefined;
  colorJitterUint8(img: Handle, orders: number[], factors: number[]): Handle;
  normalizeUint8(images: Handle[], mean: number[], std: number[]): Handle;
  resizedCropUint8(img: Handle, boxes: number[], outHeight: number, outWidth: number): Handle;
  setHookDispatcher(dispatch: (id: number, grad?: Handle) => number): void;
  releasedHooks(): number[];
  registerHook(h: Handle, id: number): number;
  removeHook(h: Handle, position: number): void;
  registerPostAccumulateGradHook(h: Handle, id: number): object;
  removePostAccumulateGradHook(keeper: object): void;
  shareHandle(h: Handle): number;
  exampleCube(x: Handle): Handle;
  roiAlign(input: Handle, rois: Handle, spatialScale: number, pooledHeight: number, pooledWidth: number, samplingRatio: number, aligned: boolean): Handle;
  roiPool(input: Handle, rois: Handle, spatialScale: number, pooledHeight: number, pooledWidth: number): Handle;
  nms(boxes: Handle, scores: Handle, iouThreshold: number, name?: string): Handle;
  batchedNms(boxes: Handle, scores: Handle, idxs: Handle, iouThreshold: number): Handle;
  boxIou(boxes1: Handle, boxes2: Handle): Handle | null;
}

/**
 * Where the addon may be, first found first: FLARE_ADDON; a local build (a clone, or
 * `flare setup` having built from source); then the prebuilt addons shipped in the npm
 * package (prebuilds/<platform>-<arch>-libtorch-<version>/flare.node, made by `npm pack`).
 * A prebuilt loads only where its libtorch is installed, so each is tried in turn.
 */
export function addonCandidates(): string[] {
  const root = fileURLToPath(new URL("../../..", import.meta.url));
  const prebuilds = path.join(root, "prebuilds");
  const shipped = existsSync(prebuilds)
    ? readdirSync(prebuilds).filter((d) => d.startsWith(`${process.platform}-${process.arch}-`)).sort().reverse()
      .map((d) => path.join(prebuilds, d, "flare.node"))
    : [];
  return [
    process.env.FLARE_ADDON,
    path.join(root, "build/Release/flare.node"),
    fileURLToPath(new URL("../../build/Release/flare.node", import.meta.url)),
    ...shipped,
  ].filter((p, i, all): p is string => !!p && all.indexOf(p) === i && existsSync(p));
}

const SETUP_HINT = "Run `npx flare setup` (`npm run setup` in a clone): it installs what is missing (Debian's " +
  "libtorch-dev) and builds the addon; for another libtorch, `FLARE_LIBTORCH=/path/to/libtorch npx flare setup`.";

/** The file the addon was loaded from. */
export let addonPath = "";

/**
 * The CPU memory cache's settings are read by the addon as it loads (native/cpu_cache.cc), so a
 * value it would not understand is refused here first rather than read as the default.
 */
function checkCacheEnvironment(env: NodeJS.ProcessEnv): void {
  const flag = env.FLARE_CPU_CACHE, limit = env.FLARE_CPU_CACHE_LIMIT_MB;
  if (flag !== undefined && flag !== "0" && flag !== "1")
    throw new FlareError(`FLARE_CPU_CACHE must be 0 (libtorch's own allocator) or 1 (the cache, the default), got ${JSON.stringify(flag)}`, "E_ARGUMENT");
  if (limit !== undefined && !(/^\d+$/.test(limit) && Number(limit) <= 2 ** 32))
    throw new FlareError(`FLARE_CPU_CACHE_LIMIT_MB must be a whole number of MiB (0 … 2^32), got ${JSON.stringify(limit)}`, "E_ARGUMENT");
}

function load(): Native {
  checkCacheEnvironment(process.env);
  const require = createRequire(import.meta.url);
  const candidates = addonCandidates();
  if (candidates.length === 0) {
    throw new FlareError(`flare's native addon is not built, and no prebuilt addon ships for ${process.platform}-${process.arch}. ${SETUP_HINT}`, "E_IO");
  }
  const failures: string[] = [];
  for (const candidate of candidates) {
    let addon: Native;
    try {
      addon = require(candidate) as Native;
    } catch (error) {
      // Typically a libtorch the addon was built against is not installed here (dlopen's message says which).
      failures.push(`${candidate}: ${String((error as Error).message).split("\n")[0]}`);
      continue;
    }
    addon.setErrorClass(HintedFlareError);
    addonPath = candidate;
    return addon;
  }
  throw new FlareError(`flare's native addon does not load on this machine:\n  ${failures.join("\n  ")}\n${SETUP_HINT}`, "E_IO");
}

export const native: Native = load();

/**
 * Looks an ATen operator up once; the returned function calls it.
 * `numberTensorArg` names a Tensor argument that this function takes as a number
 * (only: a handle is a number too): the native call makes it a 0-dim tensor of the
 * first argument's dtype and device (Python's `x[idx] = 2`), saving the separate
 * calls that would make and free it.
 */
export function op(name: string, overload = "", numberTensorArg?: string): (...args: unknown[]) => unknown {
  // A bound native function: no JS frame or argument array between caller and addon.
  return native.call.bind(null, native.op(name, overload, numberTensorArg)) as (...args: unknown[]) => unknown;
}
