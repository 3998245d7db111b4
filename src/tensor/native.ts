// Loads the C++ addon (native/) and gives it a type. Everything above this file
// talks to libtorch through `native` and `op()`.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FlareError } from "../errors.js";

/** A tensor handle made by the addon: a number naming a slot in its handle table. */
export type Handle = number & { readonly __handle: unique symbol };
export type GroupHandle = { readonly __group: unique symbol };

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
  cudaDeviceCount(): number;
  memory(): { numTensors: number; numStorages: number; numBytes: number };
  buildInfo(): { torchVersion: string; cxx11Abi: boolean; parallel: string; cuda: boolean; gloo: boolean };
  setErrorClass(ctor: typeof FlareError): void;
  op(name: string, overload?: string): number;
  call(index: number, ...args: unknown[]): unknown;
  schema(index: number): string;
  adjustHue(img: Handle, shifts: number | number[]): Handle;
  hwcToChw(data: Uint8Array, height: number, width: number, channels: number): Handle;
  nms(boxes: Handle, scores: Handle, iouThreshold: number, name?: string): Handle;
  batchedNms(boxes: Handle, scores: Handle, idxs: Handle, iouThreshold: number): Handle;
  boxIou(boxes1: Handle, boxes2: Handle): Handle | null;
  newGroup?(host: string, port: number, rank: number, worldSize: number, timeoutMs: number): GroupHandle;
  allReduce?(group: GroupHandle, tensors: Handle[], op: string): void;
  broadcast?(group: GroupHandle, tensors: Handle[], root: number): void;
  barrier?(group: GroupHandle): void;
  destroyGroup?(group: GroupHandle): void;
}

function load(): Native {
  const require = createRequire(import.meta.url);
  const candidates = [
    process.env.FLARE_ADDON,
    fileURLToPath(new URL("../../../build/Release/flare.node", import.meta.url)),
    fileURLToPath(new URL("../../build/Release/flare.node", import.meta.url)),
  ].filter((p): p is string => !!p && existsSync(p));
  if (candidates.length === 0) {
    throw new FlareError("flare's native addon is not built: run `npm run setup` (it installs libtorch-dev and builds native/)", "E_IO");
  }
  const addon = require(candidates[0]) as Native;
  addon.setErrorClass(FlareError);
  return addon;
}

export const native: Native = load();

/** Looks an ATen operator up once; the returned function calls it. */
export function op(name: string, overload = ""): (...args: unknown[]) => unknown {
  // A bound native function: no JS frame or argument array between caller and addon.
  return native.call.bind(null, native.op(name, overload)) as (...args: unknown[]) => unknown;
}
