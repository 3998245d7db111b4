// Fuzz cases for the native boundary (issue 10): the raw addon's functions with
// wrong arities and types, ATen ops given wrong dtypes, dims out of range, empty
// tensors and indices out of range, complex tensors, allocations too big to
// satisfy, and tensors used from the thread that released them. Pure and
// seeded like cases.ts; tests/fuzz/native_runner.ts interprets them.
import type { Case, Rng } from "./cases.js";

/**
 * The addon's functions a caller of the raw native object can reach. Left out:
 * setErrorClass / setHookDispatcher (given a function they replace flare's own:
 * a legitimate, if unwise, call) and newGroup (it opens a TCP rendezvous).
 */
export const NATIVE_FUNCTIONS = [
  "fromBuffer", "toBuffer", "item", "shape", "strides", "dtype", "device", "numel", "dim", "isDisposed", "dispose",
  "sameTensor", "setData", "setOwner", "guard", "requiresGrad", "setRequiresGrad", "isLeaf", "gradFn", "grad", "setGrad",
  "retainGrad", "backward", "autogradGrad", "setGradEnabled", "isGradEnabled", "manualSeed", "getRngState", "setRngState",
  "setNumThreads", "getNumThreads", "setNumInteropThreads", "getNumInteropThreads", "maxNumThreads", "cudaDeviceCount",
  "memory", "buildInfo", "op", "call", "schema", "adjustHue", "hwcToChw", "releasedHooks", "registerHook", "removeHook",
  "registerPostAccumulateGradHook", "removePostAccumulateGradHook", "shareHandle", "exampleCube", "roiAlign", "roiPool",
  "nms", "batchedNms", "boxIou", "setErrorClass", "setHookDispatcher",
] as const;

/** Argument tokens (the runner turns each into a value: "live" is a live tensor handle, "disposed" a freed one...). */
export const ARGS = [
  "undefined", "null", "0", "-1", "1.5", "NaN", "Infinity", "1e300", "2^53", "2^31", "true", "str", "emptyStr", "dtypeStr",
  "obj", "arr", "arrNums", "arrNeg", "arrLive", "arrMixed", "live", "live", "liveInt", "liveBool", "liveEmpty", "disposed",
  "u8", "u8big", "f32", "bigint", "symbol", "external",
] as const;

/** ATen ops (name, overload) given fuzzed arguments through native.call. */
export const OPS: readonly [string, string][] = [
  ["aten::add", "Tensor"], ["aten::sum", "dim_IntList"], ["aten::softmax", "int"], ["aten::index_select", ""], ["aten::gather", ""],
  ["aten::scatter", "src"], ["aten::index_put_", ""], ["aten::index", "Tensor"], ["aten::view", ""], ["aten::reshape", ""],
  ["aten::zeros", ""], ["aten::empty", "memory_format"], ["aten::full", ""], ["aten::arange", "start_step"], ["aten::matmul", ""],
  ["aten::conv2d", ""], ["aten::max_pool2d", ""], ["aten::topk", ""], ["aten::kthvalue", ""], ["aten::embedding", ""],
  ["aten::cat", ""], ["aten::stack", ""], ["aten::narrow", ""], ["aten::select", "int"], ["aten::slice", "Tensor"],
  ["aten::transpose", "int"], ["aten::permute", ""], ["aten::expand", ""], ["aten::repeat", ""], ["aten::unfold", ""],
  ["aten::as_strided", ""], ["aten::bincount", ""], ["aten::multinomial", ""], ["aten::randperm", ""], ["aten::one_hot", ""],
  ["aten::nll_loss", ""], ["aten::cross_entropy_loss", ""], ["aten::set_", "source_Tensor"], ["aten::resize_", ""],
  ["aten::view_as_complex", ""], ["aten::fft_fft", ""], ["aten::upsample_bilinear2d", ""], ["aten::grid_sampler", ""],
  // ops that write or read through computed offsets: bounds must be checked before memory is touched
  ["aten::as_strided", ""], ["aten::set_", "source_Tensor_storage_offset"], ["aten::put_", ""], ["aten::index_fill", "int_Scalar"],
  ["aten::index_copy", ""], ["aten::max_unpool2d", ""], ["aten::_embedding_bag", ""], ["aten::histc", ""], ["aten::diag_embed", ""],
];

/** Public-API misuse the runner knows by name. */
export const MISUSE = {
  dtype: ["matmul-int-float", "conv2d-uint8", "softmax-int", "sqrt-bool", "gather-float-index", "index-float", "nms-int", "roiAlign-int",
    "mean-int", "cat-mixed", "embedding-float-index", "crossEntropy-float-target", "bincount-float", "scatter-float-index"],
  dims: ["sum-9", "softmax-neg9", "transpose-7", "unsqueeze-9", "flip-5", "narrow-past", "select-past", "permute-dup", "cat-dim-9",
    "squeeze-9", "topk-dim-9", "argmax-9", "cumsum-9", "unbind-9", "chunk-0", "split-0", "view-bad", "expand-bad", "repeat-short", "roll-dim-9"],
  empty: ["max-empty", "min-empty", "argmax-empty", "amax-empty", "topk-empty", "kthvalue-empty", "median-empty", "mode-empty", "std-empty",
    "prod-empty", "logsumexp-empty", "softmax-empty", "nms-empty", "item-empty", "unique-empty", "sort-empty", "max-dim-empty", "mean-empty"],
  index: ["index-past", "index-neg-past", "indexSelect-past", "gather-past", "scatter-past", "scatterAdd-past", "indexPut-past",
    "indexPut-mask-shape", "embedding-past", "take-past", "indexAdd-past", "maskedFill-shape", "bincount-neg", "oneHot-past", "nllLoss-past"],
  complex: ["data", "toString", "item", "toArray", "abs", "viewAsReal", "add", "sum", "save", "fft-data"],
  oom: ["zeros-1e12", "empty-2^40", "ones-huge-2d", "randn-huge", "full-huge", "zeros-overflow", "arange-huge", "expand-contiguous",
    "fromTypedArray-huge", "repeat-huge", "matmul-huge-out"],
  transfer: ["add", "setData", "dispose", "shape", "data", "item", "backward", "keep-after-adopt", "readopt", "release-twice", "clone-in-worker"],
};

export type NativeKind = "raw-call" | "op-call" | keyof typeof MISUSE;

export function nativeCase(rng: Rng): Omit<Case, "target" | "index"> {
  const kind = rng.pick<NativeKind>(["raw-call", "raw-call", "raw-call", "op-call", "op-call", "dtype", "dims", "empty", "index", "complex", "oom", "transfer"]);
  if (kind === "raw-call") {
    const fn = rng.pick(NATIVE_FUNCTIONS);
    const args = Array.from({ length: rng.int(0, 6) }, () => rng.pick(ARGS));
    return { kind, label: `native.${fn}(${args.join(", ")})`, input: { fn, args } };
  }
  if (kind === "op-call") {
    const [name, overload] = rng.pick(OPS);
    const args = Array.from({ length: rng.int(0, 7) }, () => rng.pick(ARGS));
    return { kind, label: `${name}.${overload}(${args.join(", ")})`, input: { name, overload, args } };
  }
  const what = rng.pick(MISUSE[kind]);
  // Not isolated: a failed allocation touches no memory, and a crash still names its case (the harness reruns the rest).
  return { kind, label: `${kind}: ${what}`, input: { what } };
}
