// torch.nn.functional: one function per layer and the losses, each a checked
// call of the ATen operator PyTorch's own functional calls. The optional
// arguments come by PyTorch's positions (src/pytorch_signatures.ts) and/or in
// one options object: F.conv2d(x, w, b, 2, 1) = F.conv2d(x, w, b, { stride: 2, padding: 1 }).
import { FlareError } from "../errors.js";
import { aten } from "../tensor/aten.js";
import { Tensor, wrap, wrapList } from "../tensor/tensor.js";
import type { DType } from "../tensor/dtype.js";
import { functionalOptions, noMoreArguments, type PyArgs, type PyArgsAfterFirst } from "../options.js";
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
export function linear(input: Tensor, weight: Tensor, ...args: PyArgs<"F.linear", { bias?: Tensor | null }>): Tensor {
  const bias = args.length === 1 && (args[0] === null || args[0] instanceof Tensor) ? args[0]  // the layer's call, no work
    : functionalOptions<{ bias?: Tensor | null }>("F.linear", args, ["bias"], "linear()").bias;
  return wrap(aten.linear(tensorArg(input, "linear(): input"), tensorArg(weight, "linear(): weight"), optionalTensorArg(bias, "linear(): bias")));
}

export type Padding2d = Pair | "same" | "valid";
export interface Conv2dOptions { stride?: Pair; padding?: Padding2d; dilation?: Pair; groups?: number }

/** 2-D convolution over NCHW (or unbatched CHW) input; padding may be "same" or "valid". */
export function conv2d(input: Tensor, weight: Tensor, ...args: PyArgs<"F.conv2d", Conv2dOptions & { bias?: Tensor | null }>): Tensor {
  const options = functionalOptions<Conv2dOptions & { bias?: Tensor | null }>("F.conv2d", args, ["bias", "stride", "padding", "dilation", "groups"], "conv2d()");
  const x = tensorArg(input, "conv2d(): input"), w = tensorArg(weight, "conv2d(): weight"), b = optionalTensorArg(options.bias, "conv2d(): bias");
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
export function convTranspose2d(input: Tensor, weight: Tensor, ...args: PyArgs<"F.convTranspose2d", ConvTranspose2dOptions & { bias?: Tensor | null }>): Tensor {
  const what = "convTranspose2d()";
  const options = functionalOptions<ConvTranspose2dOptions & { bias?: Tensor | null }>("F.convTranspose2d", args, ["bias", "stride", "padding", "outputPadding", "groups", "dilation"], what);
  return wrap(aten.convTranspose2d(tensorArg(input, `${what}: input`), tensorArg(weight, `${what}: weight`), optionalTensorArg(options.bias, `${what}: bias`),
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
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, ...args: PyArgs<"F.batchNorm", BatchNormOptions>): Tensor {
  const what = "batchNorm()";
  const options = functionalOptions<BatchNormOptions>("F.batchNorm", args, ["weight", "bias", "training", "momentum", "eps"], what);
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
export interface NormOptions { weight?: Tensor | null; bias?: Tensor | null; eps?: number }

export function layerNorm(input: Tensor, normalizedShape: number | number[], ...args: PyArgs<"F.layerNorm", NormOptions>): Tensor {
  const what = "layerNorm()";
  const options = functionalOptions<NormOptions>("F.layerNorm", args, ["weight", "bias", "eps"], what);
  return wrap(aten.layerNorm(tensorArg(input, `${what}: input`), shapeArg(normalizedShape, `${what}: normalizedShape`),
    optionalTensorArg(options.weight, `${what}: weight`), optionalTensorArg(options.bias, `${what}: bias`), numberArg(options.eps ?? 1e-5, `${what}: eps`), true));
}

/** Group normalisation: channels split into numGroups groups, each normalised. */
export function groupNorm(input: Tensor, numGroups: number, ...args: PyArgs<"F.groupNorm", NormOptions>): Tensor {
  const what = "groupNorm()";
  const options = functionalOptions<NormOptions>("F.groupNorm", args, ["weight", "bias", "eps"], what);
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

function dropoutArgs(name: "F.dropout" | "F.dropout2d", args: readonly unknown[], what: string) {
  const options = functionalOptions<DropoutOptions>(name, args, ["p", "training", "inplace"], what);
  return { p: probabilityArg(options.p ?? 0.5, what), training: options.training ?? true, inplace: options.inplace ?? false };
}

/** Zeroes elements with probability p and scales the rest by 1/(1-p); identity unless training. */
export function dropout(input: Tensor, ...args: PyArgs<"F.dropout", DropoutOptions>): Tensor {
  const { p: prob, training, inplace } = dropoutArgs("F.dropout", args, "dropout()");
  const x = tensorArg(input, "dropout(): input");
  if (inplace) { aten.dropoutIn(x, prob, training); return input; }
  return wrap(aten.dropout(x, prob, training));
}

/** Zeroes whole channels (N, C, H, W → per (n, c)) with probability p. */
export function dropout2d(input: Tensor, ...args: PyArgs<"F.dropout2d", DropoutOptions>): Tensor {
  const { p: prob, training, inplace } = dropoutArgs("F.dropout2d", args, "dropout2d()");
  const x = tensorArg(input, "dropout2d(): input");
  if (inplace) { aten.featureDropoutIn(x, prob, training); return input; }
  return wrap(aten.featureDropout(x, prob, training));
}

// ---- activations ----------------------------------------------------------------------

export function relu(input: Tensor, ...args: PyArgs<"F.relu", { inplace?: boolean }>): Tensor {
  const options = functionalOptions<{ inplace?: boolean }>("F.relu", args, ["inplace"], "relu()");
  const x = tensorArg(input, "relu(): input");
  if (options.inplace) { aten.reluIn(x); return input; }
  return wrap(aten.relu(x));
}

export function leakyRelu(input: Tensor, ...args: PyArgs<"F.leakyRelu", { negativeSlope?: number; inplace?: boolean }>): Tensor {
  const options = functionalOptions<{ negativeSlope?: number; inplace?: boolean }>("F.leakyRelu", args, ["negativeSlope", "inplace"], "leakyRelu()");
  const x = tensorArg(input, "leakyRelu(): input");
  const slope = numberArg(options.negativeSlope ?? 0.01, "leakyRelu(): negativeSlope");
  if (options.inplace) { aten.leakyReluIn(x, slope); return input; }
  return wrap(aten.leakyRelu(x, slope));
}

export function gelu(input: Tensor, ...args: PyArgs<"F.gelu", { approximate?: "none" | "tanh" }>): Tensor {
  const options = functionalOptions<{ approximate?: "none" | "tanh" }>("F.gelu", args, ["approximate"], "gelu()");
  return wrap(aten.gelu(tensorArg(input, "gelu(): input"), oneOf(options.approximate ?? "none", ["none", "tanh"] as const, "gelu(): approximate")));
}

export function silu(input: Tensor, ...args: PyArgs<"F.silu", { inplace?: boolean }>): Tensor {
  const options = functionalOptions<{ inplace?: boolean }>("F.silu", args, ["inplace"], "silu()");
  const x = tensorArg(input, "silu(): input");
  if (options.inplace) { aten.siluIn(x); return input; }
  return wrap(aten.silu(x));
}

export function sigmoid(input: Tensor, ...rest: never[]): Tensor {
  if (rest.length) noMoreArguments(rest, "sigmoid()");
  return wrap(aten.sigmoid(tensorArg(input, "sigmoid(): input")));
}
export function tanh(input: Tensor, ...rest: never[]): Tensor {
  if (rest.length) noMoreArguments(rest, "tanh()");
  return wrap(aten.tanh(tensorArg(input, "tanh(): input")));
}

/** PyTorch's implicit softmax dim (deprecated there): 0 for 0-, 1- and 3-D input, else 1. */
export function implicitSoftmaxDim(ndim: number): number { return ndim === 0 || ndim === 1 || ndim === 3 ? 0 : 1; }

export function softmax(input: Tensor, dim: number, ...args: PyArgsAfterFirst<"F.softmax", { dtype?: DType }>): Tensor {
  const options = functionalOptions<{ dtype?: DType }>("F.softmax", args, ["dtype"], "softmax()", 1);
  return wrap(aten.softmax(tensorArg(input, "softmax(): input"), intArg(dim, "softmax(): dim"), options.dtype ?? null));
}

export function logSoftmax(input: Tensor, dim: number, ...args: PyArgsAfterFirst<"F.logSoftmax", { dtype?: DType }>): Tensor {
  const options = functionalOptions<{ dtype?: DType }>("F.logSoftmax", args, ["dtype"], "logSoftmax()", 1);
  return wrap(aten.logSoftmax(tensorArg(input, "logSoftmax(): input"), intArg(dim, "logSoftmax(): dim"), options.dtype ?? null));
}

// ---- pooling ---------------------------------------------------------------------------

export interface MaxPool2dOptions { stride?: Pair | null; padding?: Pair; dilation?: Pair; ceilMode?: boolean; returnIndices?: boolean }

/** 2-D max pooling; stride defaults to the kernel size. With returnIndices, [output, indices]. */
export function maxPool2d(input: Tensor, kernelSize: Pair, options: MaxPool2dOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool2d(input: Tensor, kernelSize: Pair, options?: MaxPool2dOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(input: Tensor, kernelSize: Pair, ...args: PyArgs<"F.maxPool2d", MaxPool2dOptions>): Tensor | [Tensor, Tensor];
export function maxPool2d(input: Tensor, kernelSize: Pair, ...args: PyArgs<"F.maxPool2d", MaxPool2dOptions>): Tensor | [Tensor, Tensor] {
  const what = "maxPool2d()";
  const options = functionalOptions<MaxPool2dOptions>("F.maxPool2d", args, ["stride", "padding", "dilation", "ceilMode", "returnIndices"], what);
  const call = [tensorArg(input, `${what}: input`), pairArg(kernelSize, `${what}: kernelSize`, 1),
    options.stride == null ? [] : pairArg(options.stride, `${what}: stride`, 1), pairArg(options.padding ?? 0, `${what}: padding`, 0),
    pairArg(options.dilation ?? 1, `${what}: dilation`, 1), options.ceilMode ?? false];
  if (options.returnIndices) return wrapList(aten.maxPool2dIndices(...call)) as [Tensor, Tensor];
  return wrap(aten.maxPool2d(...call));
}

export interface AvgPool2dOptions { stride?: Pair | null; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number | null }

/** 2-D average pooling; stride defaults to the kernel size. */
export function avgPool2d(input: Tensor, kernelSize: Pair, ...args: PyArgs<"F.avgPool2d", AvgPool2dOptions>): Tensor {
  const what = "avgPool2d()";
  const options = functionalOptions<AvgPool2dOptions>("F.avgPool2d", args, ["stride", "padding", "ceilMode", "countIncludePad", "divisorOverride"], what);
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
export function adaptiveAvgPool2d(input: Tensor, outputSize: AdaptiveSize, ...rest: never[]): Tensor {
  if (rest.length) noMoreArguments(rest, "adaptiveAvgPool2d()");
  const x = tensorArg(input, "adaptiveAvgPool2d(): input");
  return wrap(aten.adaptiveAvgPool2d(x, adaptiveSize(input, outputSize, "adaptiveAvgPool2d()")));
}

export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, options: { returnIndices: true }): [Tensor, Tensor];
export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, options?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, ...args: PyArgs<"F.adaptiveMaxPool2d", { returnIndices?: boolean }>): Tensor | [Tensor, Tensor];
export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, ...args: PyArgs<"F.adaptiveMaxPool2d", { returnIndices?: boolean }>): Tensor | [Tensor, Tensor] {
  const options = functionalOptions<{ returnIndices?: boolean }>("F.adaptiveMaxPool2d", args, ["returnIndices"], "adaptiveMaxPool2d()");
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
export function interpolate(input: Tensor, ...args: PyArgs<"F.interpolate", InterpolateOptions>): Tensor {
  const options = functionalOptions<InterpolateOptions>("F.interpolate", args, ["size", "scaleFactor", "mode", "alignCorners", "recomputeScaleFactor"], "interpolate()");
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
export function pad(input: Tensor, padding: number[], ...args: PyArgs<"F.pad", { mode?: PadMode; value?: number | null }>): Tensor {
  const what = "pad()";
  const options = functionalOptions<{ mode?: PadMode; value?: number | null }>("F.pad", args, ["mode", "value"], what);
  const x = tensorArg(input, `${what}: input`);
  if (!Array.isArray(padding) || padding.length % 2 !== 0)
    throw new FlareError(`${what}: padding must be an array of even length ([left, right, top, bottom, ...]), got ${String(padding)}`, "E_ARGUMENT");
  padding.forEach((p, i) => intArg(p, `${what}: padding[${i}]`));
  const m = oneOf(options.mode ?? "constant", ["constant", "reflect", "replicate", "circular"] as const, `${what}: mode`);
  if (m !== "constant" && options.value != null && options.value !== 0)
    throw new FlareError(`${what}: padding mode "${m}" doesn't take a value argument`, "E_ARGUMENT");
  return wrap(aten.pad(x, padding, m, m === "constant" ? (options.value ?? null) : null));
}

/** One-hot int64 encoding; numClasses -1 infers it as max + 1. */
export function oneHot(tensor: Tensor, ...args: PyArgs<"F.oneHot", { numClasses?: number }>): Tensor {
  const numClasses = functionalOptions<{ numClasses?: number }>("F.oneHot", args, ["numClasses"], "oneHot()").numClasses ?? -1;
  return wrap(aten.oneHot(tensorArg(tensor, "oneHot(): tensor"), intArg(numClasses, "oneHot(): numClasses", -1)));
}

// ---- losses -------------------------------------------------------------------------------

export interface CrossEntropyOptions { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction; labelSmoothing?: number }

/**
 * Cross entropy of logits `input` (N, C, ...) against class indices (N, ...)
 * int64, or class probabilities with input's shape.
 */
export function crossEntropy(input: Tensor, target: Tensor, ...args: PyArgs<"F.crossEntropy", CrossEntropyOptions>): Tensor {
  const what = "crossEntropy()";
  const options = functionalOptions<CrossEntropyOptions>("F.crossEntropy", args, ["weight", "ignoreIndex", "reduction", "labelSmoothing"], what);
  const smoothing = numberArg(options.labelSmoothing ?? 0, `${what}: labelSmoothing`);
  if (smoothing < 0 || smoothing > 1) throw new FlareError(`${what}: labelSmoothing must be between 0.0 and 1.0, got ${smoothing}`, "E_ARGUMENT");
  return wrap(aten.crossEntropy(tensorArg(input, `${what}: input`), tensorArg(target, `${what}: target`), optionalTensorArg(options.weight, `${what}: weight`),
    reductionOf(options.reduction, what), intArg(options.ignoreIndex ?? -100, `${what}: ignoreIndex`), smoothing));
}

/** Negative log-likelihood of log-probabilities `input` (N, C, ...) at int64 class targets (N, ...). */
export interface NllLossOptions { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction }

export function nllLoss(input: Tensor, target: Tensor, ...args: PyArgs<"F.nllLoss", NllLossOptions>): Tensor {
  const what = "nllLoss()";
  const options = functionalOptions<NllLossOptions>("F.nllLoss", args, ["weight", "ignoreIndex", "reduction"], what);
  return wrap(aten.nllLoss(tensorArg(input, `${what}: input`), tensorArg(target, `${what}: target`), optionalTensorArg(options.weight, `${what}: weight`),
    reductionOf(options.reduction, what), intArg(options.ignoreIndex ?? -100, `${what}: ignoreIndex`)));
}

function sameShape(input: Tensor, target: Tensor, what: string): void {
  const a = input.shape, b = target.shape;
  if (a.length !== b.length || a.some((s, i) => s !== b[i]))
    throw new FlareError(`${what}: target size [${b.join(", ")}] must be the same as input size [${a.join(", ")}]`, "E_SHAPE");
}

/** Binary cross entropy of probabilities `input` against targets in [0, 1] of the same shape. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, ...args: PyArgs<"F.binaryCrossEntropy", { weight?: Tensor | null; reduction?: Reduction }>): Tensor {
  const what = "binaryCrossEntropy()";
  const options = functionalOptions<{ weight?: Tensor | null; reduction?: Reduction }>("F.binaryCrossEntropy", args, ["weight", "reduction"], what);
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
export interface BceWithLogitsOptions { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction }

export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, ...args: PyArgs<"F.binaryCrossEntropyWithLogits", BceWithLogitsOptions>): Tensor {
  const what = "binaryCrossEntropyWithLogits()";
  const options = functionalOptions<BceWithLogitsOptions>("F.binaryCrossEntropyWithLogits", args, ["weight", "posWeight", "reduction"], what);
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
export function mseLoss(input: Tensor, target: Tensor, ...args: PyArgs<"F.mseLoss", { reduction?: Reduction }>): Tensor {
  const options = functionalOptions<{ reduction?: Reduction }>("F.mseLoss", args, ["reduction"], "mseLoss()");
  return pointwiseLoss(aten.mseLoss, "mseLoss()", input, target, options.reduction);
}

/** Mean absolute error. */
export function l1Loss(input: Tensor, target: Tensor, ...args: PyArgs<"F.l1Loss", { reduction?: Reduction }>): Tensor {
  const options = functionalOptions<{ reduction?: Reduction }>("F.l1Loss", args, ["reduction"], "l1Loss()");
  return pointwiseLoss(aten.l1Loss, "l1Loss()", input, target, options.reduction);
}

/** Squared error below beta (halved, over beta), absolute error above it. */
export function smoothL1Loss(input: Tensor, target: Tensor, ...args: PyArgs<"F.smoothL1Loss", { reduction?: Reduction; beta?: number }>): Tensor {
  const options = functionalOptions<{ reduction?: Reduction; beta?: number }>("F.smoothL1Loss", args, ["reduction", "beta"], "smoothL1Loss()");
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
export function gridSample(input: Tensor, grid: Tensor, ...args: PyArgs<"F.gridSample", GridSampleOptions>): Tensor {
  const what = "gridSample()";
  const options = functionalOptions<GridSampleOptions>("F.gridSample", args, ["mode", "paddingMode", "alignCorners"], what);
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
export function affineGrid(theta: Tensor, size: number[], ...args: PyArgs<"F.affineGrid", { alignCorners?: boolean }>): Tensor {
  const what = "affineGrid()";
  const options = functionalOptions<{ alignCorners?: boolean }>("F.affineGrid", args, ["alignCorners"], what);
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
