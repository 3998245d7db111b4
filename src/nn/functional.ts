// torch.nn.functional: one function per layer and the losses, each a checked
// call of the ATen operator PyTorch's own functional calls.
import { FlareError } from "../errors.js";
import { aten } from "../tensor/aten.js";
import { Tensor, wrap, wrapList } from "../tensor/tensor.js";
import type { DType } from "../tensor/dtype.js";
import { checkOptions } from "../options.js";
import {
  tensorArg, optionalTensorArg, intArg, numberArg, tupleArg, pairArg, oneOf, probabilityArg, type Pair,
} from "./utils.js";

// Interpolation ops by (mode, spatial dims): [op, takes alignCorners].
const UPSAMPLE: Record<string, [(...args: unknown[]) => unknown, boolean]> = {
  "nearest/1": [aten.upsampleNearest1d, false],
  "nearest/2": [aten.upsampleNearest2d, false],
  "nearest/3": [aten.upsampleNearest3d, false],
  "nearest-exact/1": [aten.upsampleNearestExact1d, false],
  "nearest-exact/2": [aten.upsampleNearestExact2d, false],
  "nearest-exact/3": [aten.upsampleNearestExact3d, false],
  "linear/1": [aten.upsampleLinear1d, true],
  "bilinear/2": [aten.upsampleBilinear2d, true],
  "bicubic/2": [aten.upsampleBicubic2d, true],
  "trilinear/3": [aten.upsampleTrilinear3d, true],
};

export type Reduction = "none" | "mean" | "sum";
const REDUCTIONS = ["none", "mean", "sum"] as const;
function reductionOf(value: unknown, what: string): number {
  return REDUCTIONS.indexOf(oneOf(value ?? "mean", REDUCTIONS, `${what}: reduction`));
}

// ---- linear and convolution ---------------------------------------------------

/** y = x Wᵀ + b. */
export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return wrap(aten.linear(tensorArg(input, "linear(): input"), tensorArg(weight, "linear(): weight"), optionalTensorArg(bias, "linear(): bias")));
}

export type Padding2d = Pair | "same" | "valid";
export interface Conv2dOptions { stride?: Pair; padding?: Padding2d; dilation?: Pair; groups?: number }

/** 2-D convolution over NCHW (or unbatched CHW) input; padding may be "same" or "valid". */
export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  options = checkOptions(options, ["stride", "padding", "dilation", "groups"], "conv2d()");
  const x = tensorArg(input, "conv2d(): input"), w = tensorArg(weight, "conv2d(): weight"), b = optionalTensorArg(bias, "conv2d(): bias");
  const stride = pairArg(options.stride ?? 1, "conv2d(): stride", 1);
  const dilation = pairArg(options.dilation ?? 1, "conv2d(): dilation", 1);
  const groups = intArg(options.groups ?? 1, "conv2d(): groups", 1);
  const padding = options.padding ?? 0;
  if (typeof padding === "string") {
    oneOf(padding, ["same", "valid"] as const, "conv2d(): padding");
    if (padding === "same" && stride.some((s) => s !== 1)) throw new FlareError("conv2d(): padding=\"same\" is not supported for strided convolutions", "E_ARGUMENT");
    return wrap(aten.conv2dPadding(x, w, b, stride, padding, dilation, groups));
  }
  return wrap(aten.conv2d(x, w, b, stride, pairArg(padding, "conv2d(): padding", 0), dilation, groups));
}

export interface ConvTranspose2dOptions { stride?: Pair; padding?: Pair; outputPadding?: Pair; groups?: number; dilation?: Pair }

/** 2-D transposed convolution ("deconvolution"); weight is [in, out / groups, kH, kW]. */
export function convTranspose2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, options: ConvTranspose2dOptions = {}): Tensor {
  options = checkOptions(options, ["stride", "padding", "outputPadding", "groups", "dilation"], "convTranspose2d()");
  const what = "convTranspose2d()";
  return wrap(aten.convTranspose2d(tensorArg(input, `${what}: input`), tensorArg(weight, `${what}: weight`), optionalTensorArg(bias, `${what}: bias`),
    pairArg(options.stride ?? 1, `${what}: stride`, 1), pairArg(options.padding ?? 0, `${what}: padding`, 0),
    pairArg(options.outputPadding ?? 0, `${what}: outputPadding`, 0), intArg(options.groups ?? 1, `${what}: groups`, 1),
    pairArg(options.dilation ?? 1, `${what}: dilation`, 1)));
}

// ---- normalisation ---------------------------------------------------------------

function verifyBatchSize(size: number[], what: string): void {
  let n = size[0];
  for (let i = 2; i < size.length; i++) n *= size[i];
  if (n === 1) throw new FlareError(`${what}: expected more than 1 value per channel when training, got input size [${size.join(", ")}]`, "E_SHAPE");
}

export interface BatchNormOptions { weight?: Tensor | null; bias?: Tensor | null; training?: boolean; momentum?: number; eps?: number }

/** Batch normalisation; in training it updates runningMean/runningVar in place (when given). */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options: BatchNormOptions = {}): Tensor {
  options = checkOptions(options, ["weight", "bias", "training", "momentum", "eps"], "batchNorm()");
  const what = "batchNorm()";
  const x = tensorArg(input, `${what}: input`);
  const training = options.training ?? false;
  if (training) verifyBatchSize(input.shape, what);
  if (!training && (runningMean == null || runningVar == null))
    throw new FlareError(`${what}: runningMean and runningVar are required when training is false`, "E_ARGUMENT");
  return wrap(aten.batchNorm(x, optionalTensorArg(options.weight, `${what}: weight`), optionalTensorArg(options.bias, `${what}: bias`),
    optionalTensorArg(runningMean, `${what}: runningMean`), optionalTensorArg(runningVar, `${what}: runningVar`),
    training, numberArg(options.momentum ?? 0.1, `${what}: momentum`), numberArg(options.eps ?? 1e-5, `${what}: eps`), true));
}

function shapeArg(value: unknown, what: string): number[] {
  if (typeof value === "number") return [intArg(value, what, 1)];
  if (Array.isArray(value)) return value.map((v, i) => intArg(v, `${what}[${i}]`, 1));
  throw new FlareError(`${what} must be an integer or an array of integers, got ${String(value)}`, "E_ARGUMENT");
}

/** Layer normalisation over the trailing `normalizedShape` dimensions. */
export function layerNorm(input: Tensor, normalizedShape: number | number[], options: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  options = checkOptions(options, ["weight", "bias", "eps"], "layerNorm()");
  const what = "layerNorm()";
  return wrap(aten.layerNorm(tensorArg(input, `${what}: input`), shapeArg(normalizedShape, `${what}: normalizedShape`),
    optionalTensorArg(options.weight, `${what}: weight`), optionalTensorArg(options.bias, `${what}: bias`), numberArg(options.eps ?? 1e-5, `${what}: eps`), true));
}

/** Group normalisation: channels split into numGroups groups, each normalised. */
export function groupNorm(input: Tensor, numGroups: number, options: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  options = checkOptions(options, ["weight", "bias", "eps"], "groupNorm()");
  const what = "groupNorm()";
  const x = tensorArg(input, `${what}: input`);
  intArg(numGroups, `${what}: numGroups`, 1);
  const shape = input.shape;
  if (shape.length < 2) throw new FlareError(`${what}: expected at least 2 dimensions for input tensor but received ${shape.length}`, "E_SHAPE");
  verifyBatchSize([Math.floor((shape[0] * shape[1]) / numGroups), numGroups, ...shape.slice(2)], what);
  return wrap(aten.groupNorm(x, numGroups, optionalTensorArg(options.weight, `${what}: weight`), optionalTensorArg(options.bias, `${what}: bias`),
    numberArg(options.eps ?? 1e-5, `${what}: eps`), true));
}

// ---- dropout -----------------------------------------------------------------------

export interface DropoutOptions { p?: number; training?: boolean; inplace?: boolean }

function dropoutArgs(p: number | DropoutOptions | undefined, options: DropoutOptions, what: string) {
  if (typeof p === "object" && p !== null) checkOptions(p, ["p", "training", "inplace"], what);
  const merged = typeof p === "object" && p !== null ? { ...p, ...options } : { ...options, p: p ?? options.p };
  return { p: probabilityArg(merged.p ?? 0.5, what), training: merged.training ?? true, inplace: merged.inplace ?? false };
}

/** Zeroes elements with probability p and scales the rest by 1/(1-p); identity unless training. */
export function dropout(input: Tensor, p?: number | DropoutOptions, options: DropoutOptions = {}): Tensor {
  options = checkOptions(options, ["p", "training", "inplace"], "dropout()");
  const { p: prob, training, inplace } = dropoutArgs(p, options, "dropout()");
  const x = tensorArg(input, "dropout(): input");
  if (inplace) { aten.dropoutIn(x, prob, training); return input; }
  return wrap(aten.dropout(x, prob, training));
}

/** Zeroes whole channels (N, C, H, W → per (n, c)) with probability p. */
export function dropout2d(input: Tensor, p?: number | DropoutOptions, options: DropoutOptions = {}): Tensor {
  options = checkOptions(options, ["p", "training", "inplace"], "dropout2d()");
  const { p: prob, training, inplace } = dropoutArgs(p, options, "dropout2d()");
  const x = tensorArg(input, "dropout2d(): input");
  if (inplace) { aten.featureDropoutIn(x, prob, training); return input; }
  return wrap(aten.featureDropout(x, prob, training));
}

// ---- activations ----------------------------------------------------------------------

export function relu(input: Tensor, options: { inplace?: boolean } = {}): Tensor {
  options = checkOptions(options, ["inplace"], "relu()");
  const x = tensorArg(input, "relu(): input");
  if (options.inplace) { aten.reluIn(x); return input; }
  return wrap(aten.relu(x));
}

export function leakyRelu(input: Tensor, negativeSlope: number | { negativeSlope?: number; inplace?: boolean } = 0.01, options: { inplace?: boolean } = {}): Tensor {
  options = checkOptions(options, ["inplace"], "leakyRelu()");
  const merged = typeof negativeSlope === "object" && negativeSlope !== null
    ? { ...checkOptions(negativeSlope, ["negativeSlope", "inplace"], "leakyRelu()"), ...options } : { ...options, negativeSlope };
  const x = tensorArg(input, "leakyRelu(): input");
  const slope = numberArg(merged.negativeSlope ?? 0.01, "leakyRelu(): negativeSlope");
  if (merged.inplace) { aten.leakyReluIn(x, slope); return input; }
  return wrap(aten.leakyRelu(x, slope));
}

export function gelu(input: Tensor, options: { approximate?: "none" | "tanh" } = {}): Tensor {
  options = checkOptions(options, ["approximate"], "gelu()");
  return wrap(aten.gelu(tensorArg(input, "gelu(): input"), oneOf(options.approximate ?? "none", ["none", "tanh"] as const, "gelu(): approximate")));
}

export function silu(input: Tensor, options: { inplace?: boolean } = {}): Tensor {
  options = checkOptions(options, ["inplace"], "silu()");
  const x = tensorArg(input, "silu(): input");
  if (options.inplace) { aten.siluIn(x); return input; }
  return wrap(aten.silu(x));
}

export function sigmoid(input: Tensor): Tensor { return wrap(aten.sigmoid(tensorArg(input, "sigmoid(): input"))); }
export function tanh(input: Tensor): Tensor { return wrap(aten.tanh(tensorArg(input, "tanh(): input"))); }

/** PyTorch's implicit softmax dim (deprecated there): 0 for 0-, 1- and 3-D input, else 1. */
export function implicitSoftmaxDim(ndim: number): number { return ndim === 0 || ndim === 1 || ndim === 3 ? 0 : 1; }

export function softmax(input: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  options = checkOptions(options, ["dtype"], "softmax()");
  return wrap(aten.softmax(tensorArg(input, "softmax(): input"), intArg(dim, "softmax(): dim"), options.dtype ?? null));
}

export function logSoftmax(input: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  options = checkOptions(options, ["dtype"], "logSoftmax()");
  return wrap(aten.logSoftmax(tensorArg(input, "logSoftmax(): input"), intArg(dim, "logSoftmax(): dim"), options.dtype ?? null));
}

// ---- pooling ---------------------------------------------------------------------------

export interface MaxPool2dOptions { stride?: Pair | null; padding?: Pair; dilation?: Pair; ceilMode?: boolean; returnIndices?: boolean }

/** 2-D max pooling; stride defaults to the kernel size. With returnIndices, [output, indices]. */
export function maxPool2d(input: Tensor, kernelSize: Pair, options: MaxPool2dOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool2d(input: Tensor, kernelSize: Pair, options?: MaxPool2dOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(input: Tensor, kernelSize: Pair, options: MaxPool2dOptions = {}): Tensor | [Tensor, Tensor] {
  options = checkOptions(options, ["stride", "padding", "dilation", "ceilMode", "returnIndices"], "maxPool2d()");
  const what = "maxPool2d()";
  const args = [tensorArg(input, `${what}: input`), pairArg(kernelSize, `${what}: kernelSize`, 1),
    options.stride == null ? [] : pairArg(options.stride, `${what}: stride`, 1), pairArg(options.padding ?? 0, `${what}: padding`, 0),
    pairArg(options.dilation ?? 1, `${what}: dilation`, 1), options.ceilMode ?? false];
  if (options.returnIndices) return wrapList(aten.maxPool2dIndices(...args)) as [Tensor, Tensor];
  return wrap(aten.maxPool2d(...args));
}

export interface AvgPool2dOptions { stride?: Pair | null; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number | null }

/** 2-D average pooling; stride defaults to the kernel size. */
export function avgPool2d(input: Tensor, kernelSize: Pair, options: AvgPool2dOptions = {}): Tensor {
  options = checkOptions(options, ["stride", "padding", "ceilMode", "countIncludePad", "divisorOverride"], "avgPool2d()");
  const what = "avgPool2d()";
  return wrap(aten.avgPool2d(tensorArg(input, `${what}: input`), pairArg(kernelSize, `${what}: kernelSize`, 1),
    options.stride == null ? [] : pairArg(options.stride, `${what}: stride`, 1), pairArg(options.padding ?? 0, `${what}: padding`, 0),
    options.ceilMode ?? false, options.countIncludePad ?? true,
    options.divisorOverride == null ? null : intArg(options.divisorOverride, `${what}: divisorOverride`, 1)));
}

export type AdaptiveSize = number | null | [number | null, number | null];

function adaptiveSize(input: Tensor, outputSize: AdaptiveSize, what: string): [number, number] {
  const shape = input.shape;
  const pair = Array.isArray(outputSize) ? outputSize : [outputSize, outputSize];
  if (pair.length !== 2) throw new FlareError(`${what}: outputSize must be an integer or 2 integers, got [${pair.join(", ")}]`, "E_ARGUMENT");
  return pair.map((s, i) => (s === null ? shape[shape.length - 2 + i] : intArg(s, `${what}: outputSize`, 0))) as [number, number];
}

/** Averages over adaptive windows to a fixed output size (null keeps that input size). */
export function adaptiveAvgPool2d(input: Tensor, outputSize: AdaptiveSize): Tensor {
  const x = tensorArg(input, "adaptiveAvgPool2d(): input");
  return wrap(aten.adaptiveAvgPool2d(x, adaptiveSize(input, outputSize, "adaptiveAvgPool2d()")));
}

export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, options: { returnIndices: true }): [Tensor, Tensor];
export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, options?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, options: { returnIndices?: boolean } = {}): Tensor | [Tensor, Tensor] {
  options = checkOptions(options, ["returnIndices"], "adaptiveMaxPool2d()");
  const x = tensorArg(input, "adaptiveMaxPool2d(): input");
  const [values, indices] = wrapList(aten.adaptiveMaxPool2d(x, adaptiveSize(input, outputSize, "adaptiveMaxPool2d()")));
  if (options.returnIndices) return [values, indices];
  indices.dispose();
  return values;
}

// ---- resampling and padding ---------------------------------------------------------------

export type InterpolateMode = "nearest" | "nearest-exact" | "linear" | "bilinear" | "bicubic" | "trilinear" | "area";
export interface InterpolateOptions {
  size?: number | number[] | null;
  scaleFactor?: number | number[] | null;
  mode?: InterpolateMode;
  alignCorners?: boolean | null;
  recomputeScaleFactor?: boolean | null;
}

/** Resizes N, C, spatial... input to `size` or by `scaleFactor` (PyTorch's F.interpolate). */
export function interpolate(input: Tensor, options: InterpolateOptions = {}): Tensor {
  options = checkOptions(options, ["size", "scaleFactor", "mode", "alignCorners", "recomputeScaleFactor"], "interpolate()");
  const what = "interpolate()";
  const x = tensorArg(input, `${what}: input`);
  const mode = oneOf(options.mode ?? "nearest", ["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"] as const, `${what}: mode`);
  let alignCorners = options.alignCorners ?? null;
  if (mode === "nearest" || mode === "nearest-exact" || mode === "area") {
    if (alignCorners !== null) throw new FlareError(`${what}: alignCorners can only be set with the interpolating modes linear, bilinear, bicubic and trilinear`, "E_ARGUMENT");
  } else alignCorners ??= false;
  const dims = input.dim() - 2;
  if (dims < 1 || dims > 3) throw new FlareError(`${what}: only 3D, 4D and 5D input tensors are supported (got ${input.dim()}D)`, "E_SHAPE");
  const { size = null, scaleFactor = null } = options;
  let outputSize: number[] | null = null, scales: number[] | null = null;
  if (size !== null && scaleFactor !== null) throw new FlareError(`${what}: only one of size or scaleFactor should be defined`, "E_ARGUMENT");
  if (size !== null) {
    outputSize = tupleArg(size, dims, `${what}: size`, 0);
  } else if (scaleFactor !== null) {
    if (Array.isArray(scaleFactor)) {
      if (scaleFactor.length !== dims) throw new FlareError(`${what}: scaleFactor must have ${dims} values for input with ${dims} spatial dimensions, got [${scaleFactor.join(", ")}]`, "E_ARGUMENT");
      scales = scaleFactor.map((s, i) => numberArg(s, `${what}: scaleFactor[${i}]`));
    } else scales = Array(dims).fill(numberArg(scaleFactor, `${what}: scaleFactor`));
  } else throw new FlareError(`${what}: either size or scaleFactor should be defined`, "E_ARGUMENT");
  if (options.recomputeScaleFactor && size !== null) throw new FlareError(`${what}: recomputeScaleFactor is not meaningful with an explicit size`, "E_ARGUMENT");
  if ((options.recomputeScaleFactor || mode === "area") && scales) {
    const shape = input.shape;
    outputSize = scales.map((s, i) => Math.floor(shape[i + 2] * s));
    scales = null;
  }
  if (mode === "area") {
    if (dims !== 2) throw new FlareError(`${what}: mode "area" is supported for 4D input only here, got ${input.dim()}D`, "E_NOT_IMPLEMENTED");
    return wrap(aten.adaptiveAvgPool2d(x, outputSize));
  }
  const entry = UPSAMPLE[`${mode}/${dims}`];
  if (!entry) {
    const needs: Record<string, number> = { linear: 3, bilinear: 4, bicubic: 4, trilinear: 5 };
    throw new FlareError(`${what}: got ${input.dim()}D input, but ${mode} mode needs ${needs[mode]}D input`, "E_SHAPE");
  }
  const [fn, takesAlign] = entry;
  return wrap(takesAlign ? fn(x, outputSize, alignCorners, scales) : fn(x, outputSize, scales));
}

export type PadMode = "constant" | "reflect" | "replicate" | "circular";

/**
 * Pads the last dimensions: pad = [left, right, top, bottom, ...] (last
 * dimension first), as F.pad. pad(x, [1, 1], "reflect") and
 * pad(x, [1, 1], { mode, value }) both work.
 */
export function pad(input: Tensor, padding: number[], mode: PadMode | { mode?: PadMode; value?: number } = "constant", value?: number): Tensor {
  const what = "pad()";
  const options = typeof mode === "object" && mode !== null ? checkOptions(mode, ["mode", "value"], what) : { mode, value };
  const x = tensorArg(input, `${what}: input`);
  if (!Array.isArray(padding) || padding.length % 2 !== 0)
    throw new FlareError(`${what}: padding must be an array of even length ([left, right, top, bottom, ...]), got ${String(padding)}`, "E_ARGUMENT");
  padding.forEach((p, i) => intArg(p, `${what}: padding[${i}]`));
  const m = oneOf(options.mode ?? "constant", ["constant", "reflect", "replicate", "circular"] as const, `${what}: mode`);
  if (m !== "constant" && options.value !== undefined && options.value !== 0)
    throw new FlareError(`${what}: padding mode "${m}" doesn't take a value argument`, "E_ARGUMENT");
  return wrap(aten.pad(x, padding, m, m === "constant" ? (options.value ?? null) : null));
}

/** One-hot int64 encoding; numClasses -1 infers it as max + 1. */
export function oneHot(tensor: Tensor, numClasses = -1): Tensor {
  return wrap(aten.oneHot(tensorArg(tensor, "oneHot(): tensor"), intArg(numClasses, "oneHot(): numClasses", -1)));
}

// ---- losses -------------------------------------------------------------------------------

export interface CrossEntropyOptions { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction; labelSmoothing?: number }

/**
 * Cross entropy of logits `input` (N, C, ...) against class indices (N, ...)
 * int64, or class probabilities with input's shape.
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  options = checkOptions(options, ["weight", "ignoreIndex", "reduction", "labelSmoothing"], "crossEntropy()");
  const what = "crossEntropy()";
  const smoothing = numberArg(options.labelSmoothing ?? 0, `${what}: labelSmoothing`);
  if (smoothing < 0 || smoothing > 1) throw new FlareError(`${what}: labelSmoothing must be between 0.0 and 1.0, got ${smoothing}`, "E_ARGUMENT");
  return wrap(aten.crossEntropy(tensorArg(input, `${what}: input`), tensorArg(target, `${what}: target`), optionalTensorArg(options.weight, `${what}: weight`),
    reductionOf(options.reduction, what), intArg(options.ignoreIndex ?? -100, `${what}: ignoreIndex`), smoothing));
}

/** Negative log-likelihood of log-probabilities `input` (N, C, ...) at int64 class targets (N, ...). */
export function nllLoss(input: Tensor, target: Tensor, options: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction } = {}): Tensor {
  options = checkOptions(options, ["weight", "ignoreIndex", "reduction"], "nllLoss()");
  const what = "nllLoss()";
  return wrap(aten.nllLoss(tensorArg(input, `${what}: input`), tensorArg(target, `${what}: target`), optionalTensorArg(options.weight, `${what}: weight`),
    reductionOf(options.reduction, what), intArg(options.ignoreIndex ?? -100, `${what}: ignoreIndex`)));
}

function sameShape(input: Tensor, target: Tensor, what: string): void {
  const a = input.shape, b = target.shape;
  if (a.length !== b.length || a.some((s, i) => s !== b[i]))
    throw new FlareError(`${what}: target size [${b.join(", ")}] must be the same as input size [${a.join(", ")}]`, "E_SHAPE");
}

/** Binary cross entropy of probabilities `input` against targets in [0, 1] of the same shape. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: { weight?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  options = checkOptions(options, ["weight", "reduction"], "binaryCrossEntropy()");
  const what = "binaryCrossEntropy()";
  const x = tensorArg(input, `${what}: input`), y = tensorArg(target, `${what}: target`);
  sameShape(input, target, what);
  const reduction = reductionOf(options.reduction, what);
  let weight = optionalTensorArg(options.weight, `${what}: weight`);
  let expanded: Tensor | null = null;
  if (weight !== null) { expanded = wrap(aten.expand(weight, target.shape, false)); weight = expanded.handle; }
  try {
    return wrap(aten.bce(x, y, weight, reduction));
  } finally {
    expanded?.dispose();
  }
}

/** Sigmoid + binary cross entropy in one numerically stable op; posWeight weighs positives per class. */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  options = checkOptions(options, ["weight", "posWeight", "reduction"], "binaryCrossEntropyWithLogits()");
  const what = "binaryCrossEntropyWithLogits()";
  const x = tensorArg(input, `${what}: input`), y = tensorArg(target, `${what}: target`);
  sameShape(input, target, what);
  return wrap(aten.bceWithLogits(x, y, optionalTensorArg(options.weight, `${what}: weight`), optionalTensorArg(options.posWeight, `${what}: posWeight`),
    reductionOf(options.reduction, what)));
}

function pointwiseLoss(fn: (...args: unknown[]) => unknown, what: string, input: Tensor, target: Tensor, reduction: unknown, ...extra: unknown[]): Tensor {
  const x = tensorArg(input, `${what}: input`), y = tensorArg(target, `${what}: target`);
  const r = reductionOf(reduction, what);
  const [a, b] = wrapList(aten.broadcastTensors([x, y]));
  try {
    return wrap(fn(a.handle, b.handle, r, ...extra));
  } finally {
    a.dispose(); b.dispose();
  }
}

/** Mean squared error (input and target broadcast, as PyTorch). */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  options = checkOptions(options, ["reduction"], "mseLoss()");
  return pointwiseLoss(aten.mseLoss, "mseLoss()", input, target, options.reduction);
}

/** Mean absolute error. */
export function l1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  options = checkOptions(options, ["reduction"], "l1Loss()");
  return pointwiseLoss(aten.l1Loss, "l1Loss()", input, target, options.reduction);
}

/** Squared error below beta (halved, over beta), absolute error above it. */
export function smoothL1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction; beta?: number } = {}): Tensor {
  options = checkOptions(options, ["reduction", "beta"], "smoothL1Loss()");
  const beta = numberArg(options.beta ?? 1, "smoothL1Loss(): beta");
  if (beta < 0) throw new FlareError(`smoothL1Loss(): beta must be non-negative, got ${beta}`, "E_ARGUMENT");
  return pointwiseLoss(aten.smoothL1Loss, "smoothL1Loss()", input, target, options.reduction, beta);
}

// ---- sampling grids -------------------------------------------------------------

export interface GridSampleOptions {
  mode?: "bilinear" | "nearest" | "bicubic";
  paddingMode?: "zeros" | "border" | "reflection";
  alignCorners?: boolean;
}

/**
 * Samples `input` [N, C, H, W] (or [N, C, D, H, W]) at `grid` [N, H', W', 2]
 * (or [N, D', H', W', 3]) of normalised (x, y[, z]) in [-1, 1]: PyTorch's
 * F.grid_sample (mode "bilinear", paddingMode "zeros", alignCorners false).
 */
export function gridSample(input: Tensor, grid: Tensor, options: GridSampleOptions = {}): Tensor {
  const what = "gridSample()";
  options = checkOptions(options, ["mode", "paddingMode", "alignCorners"], what);
  const x = tensorArg(input, `${what}: input`), g = tensorArg(grid, `${what}: grid`);
  const mode = oneOf(options.mode ?? "bilinear", ["bilinear", "nearest", "bicubic"] as const, `${what}: mode`);
  const padding = oneOf(options.paddingMode ?? "zeros", ["zeros", "border", "reflection"] as const, `${what}: paddingMode`);
  const alignCorners = options.alignCorners ?? false;
  if (typeof alignCorners !== "boolean") throw new FlareError(`${what}: alignCorners must be true or false, got ${String(alignCorners)}`, "E_ARGUMENT");
  const dims = input.dim();
  if (dims !== 4 && dims !== 5) throw new FlareError(`${what}: input must be 4-D [N, C, H, W] or 5-D [N, C, D, H, W], got shape [${input.shape.join(", ")}]`, "E_SHAPE");
  const gridShape = grid.shape;
  if (gridShape.length !== dims || gridShape[dims - 1] !== dims - 2 || gridShape[0] !== input.shape[0])
    throw new FlareError(`${what}: grid must be [${input.shape[0]}, ${dims === 4 ? "H', W', 2" : "D', H', W', 3"}] for input of shape [${input.shape.join(", ")}], got [${gridShape.join(", ")}]`, "E_SHAPE");
  if (input.dtype !== grid.dtype) throw new FlareError(`${what}: grid (${grid.dtype}) must have input's dtype (${input.dtype})`, "E_DTYPE");
  if (mode === "bicubic" && dims !== 4) throw new FlareError(`${what}: mode "bicubic" needs 4-D input`, "E_SHAPE");
  const modeId = mode === "bilinear" ? 0 : mode === "nearest" ? 1 : 2;
  const paddingId = padding === "zeros" ? 0 : padding === "border" ? 1 : 2;
  return wrap(aten.gridSampler(x, g, modeId, paddingId, alignCorners));
}

/**
 * The sampling grid of affine matrices `theta` ([N, 2, 3] for a 2-D `size`
 * [N, C, H, W], [N, 3, 4] for a 3-D one), in gridSample's normalised
 * coordinates: PyTorch's F.affine_grid (alignCorners false).
 */
export function affineGrid(theta: Tensor, size: number[], options: { alignCorners?: boolean } = {}): Tensor {
  const what = "affineGrid()";
  options = checkOptions(options, ["alignCorners"], what);
  const t = tensorArg(theta, `${what}: theta`);
  if (!Array.isArray(size) || (size.length !== 4 && size.length !== 5))
    throw new FlareError(`${what}: size must be [N, C, H, W] or [N, C, D, H, W], got ${Array.isArray(size) ? `[${size.join(", ")}]` : String(size)}`, "E_ARGUMENT");
  const sizes = size.map((s, i) => intArg(s, `${what}: size[${i}]`, 1));
  const alignCorners = options.alignCorners ?? false;
  if (typeof alignCorners !== "boolean") throw new FlareError(`${what}: alignCorners must be true or false, got ${String(alignCorners)}`, "E_ARGUMENT");
  if (theta.dtype !== "float32" && theta.dtype !== "float64" && theta.dtype !== "float16" && theta.dtype !== "bfloat16")
    throw new FlareError(`${what}: theta must be floating point, got ${theta.dtype}`, "E_DTYPE");
  const [rows, cols] = sizes.length === 4 ? [2, 3] : [3, 4];
  const shape = theta.shape;
  if (shape.length !== 3 || shape[0] !== sizes[0] || shape[1] !== rows || shape[2] !== cols)
    throw new FlareError(`${what}: theta must be [${sizes[0]}, ${rows}, ${cols}] for size [${sizes.join(", ")}], got [${shape.join(", ")}]`, "E_SHAPE");
  return wrap(aten.affineGridGenerator(t, sizes, alignCorners));
}
export { convMatrix, type ConvMatrixOptions } from "./conv_matrix.js";
