// Pooling layers.
import { Tensor } from "../../tensor/tensor.js";
import { Module } from "../module.js";
import * as F from "../functional.js";
import { boolArg, pairArg, pyRepr, type Pair } from "../utils.js";
import { pytorchOptions, type PyArgs } from "../../options.js";

export interface MaxPool2dOptions<R extends boolean = boolean> { stride?: Pair | null; padding?: Pair; dilation?: Pair; returnIndices?: R; ceilMode?: boolean }
export interface AvgPool2dOptions { stride?: Pair | null; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number | null }

function reprSize(value: Pair | null): string { return Array.isArray(value) ? pyRepr(value) : pyRepr(value); }

/** 2-D max pooling; stride defaults to kernelSize. With returnIndices, forward gives [output, indices]. */
export class MaxPool2d<R extends boolean = false> extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly returnIndices: R;
  readonly ceilMode: boolean;
  /** new MaxPool2d(3, { stride: 2 }) or, in PyTorch's order, new MaxPool2d(3, 2). */
  constructor(kernelSize: Pair, ...args: PyArgs<"nn.MaxPool2d", MaxPool2dOptions<R>>) {
    super();
    const options = pytorchOptions<MaxPool2dOptions<R>>("nn.MaxPool2d", args, ["stride", "padding", "dilation", "returnIndices", "ceilMode"]);
    pairArg(kernelSize, "MaxPool2d(): kernelSize", 1);
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    pairArg(this.stride, "MaxPool2d(): stride", 1);
    this.padding = options.padding ?? 0;
    pairArg(this.padding, "MaxPool2d(): padding", 0);
    this.dilation = options.dilation ?? 1;
    pairArg(this.dilation, "MaxPool2d(): dilation", 1);
    this.returnIndices = boolArg(options.returnIndices ?? false, "MaxPool2d(): returnIndices") as R;
    this.ceilMode = boolArg(options.ceilMode ?? false, "MaxPool2d(): ceilMode");
  }
  override forward(input: Tensor): R extends true ? [Tensor, Tensor] : Tensor {
    const options = { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode };
    return (this.returnIndices ? F.maxPool2d(input, this.kernelSize, { ...options, returnIndices: true }) : F.maxPool2d(input, this.kernelSize, options)) as R extends true ? [Tensor, Tensor] : Tensor;
  }
  override extraRepr(): string {
    return `kernel_size=${reprSize(this.kernelSize)}, stride=${reprSize(this.stride)}, padding=${reprSize(this.padding)}, dilation=${reprSize(this.dilation)}, ceil_mode=${pyRepr(this.ceilMode)}`;
  }
}

/** 2-D average pooling; stride defaults to kernelSize. */
export class AvgPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;
  constructor(kernelSize: Pair, ...args: PyArgs<"nn.AvgPool2d", AvgPool2dOptions>) {
    super();
    const options = pytorchOptions<AvgPool2dOptions>("nn.AvgPool2d", args, ["stride", "padding", "ceilMode", "countIncludePad", "divisorOverride"]);
    pairArg(kernelSize, "AvgPool2d(): kernelSize", 1);
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    pairArg(this.stride, "AvgPool2d(): stride", 1);
    this.padding = options.padding ?? 0;
    pairArg(this.padding, "AvgPool2d(): padding", 0);
    this.ceilMode = boolArg(options.ceilMode ?? false, "AvgPool2d(): ceilMode");
    this.countIncludePad = boolArg(options.countIncludePad ?? true, "AvgPool2d(): countIncludePad");
    this.divisorOverride = options.divisorOverride ?? null;
  }
  override forward(input: Tensor): Tensor {
    return F.avgPool2d(input, this.kernelSize, {
      stride: this.stride, padding: this.padding, ceilMode: this.ceilMode, countIncludePad: this.countIncludePad, divisorOverride: this.divisorOverride,
    });
  }
  override extraRepr(): string { return `kernel_size=${reprSize(this.kernelSize)}, stride=${reprSize(this.stride)}, padding=${reprSize(this.padding)}`; }
}

/** Average pooling to a fixed output size (null keeps that input dimension). */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: F.AdaptiveSize;
  constructor(outputSize: F.AdaptiveSize, ...args: PyArgs<"nn.AdaptiveAvgPool2d", Record<never, never>>) {
    super();
    pytorchOptions("nn.AdaptiveAvgPool2d", args, []);
    this.outputSize = outputSize;
  }
  override forward(input: Tensor): Tensor { return F.adaptiveAvgPool2d(input, this.outputSize); }
  override extraRepr(): string { return `output_size=${pyRepr(this.outputSize)}`; }
}

/** Max pooling to a fixed output size. With returnIndices, forward gives [output, indices]. */
export class AdaptiveMaxPool2d<R extends boolean = false> extends Module {
  readonly outputSize: F.AdaptiveSize;
  readonly returnIndices: R;
  constructor(outputSize: F.AdaptiveSize, ...args: PyArgs<"nn.AdaptiveMaxPool2d", { returnIndices?: R }>) {
    super();
    const options = pytorchOptions<{ returnIndices?: R }>("nn.AdaptiveMaxPool2d", args, ["returnIndices"]);
    this.outputSize = outputSize;
    this.returnIndices = boolArg(options.returnIndices ?? false, "AdaptiveMaxPool2d(): returnIndices") as R;
  }
  override forward(input: Tensor): R extends true ? [Tensor, Tensor] : Tensor {
    return (this.returnIndices ? F.adaptiveMaxPool2d(input, this.outputSize, { returnIndices: true }) : F.adaptiveMaxPool2d(input, this.outputSize)) as R extends true ? [Tensor, Tensor] : Tensor;
  }
  override extraRepr(): string { return `output_size=${pyRepr(this.outputSize)}`; }
}
