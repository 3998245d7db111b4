// Conv2d and ConvTranspose2d, with PyTorch's parameters, initialisation and
// padding modes.
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import * as F from "../functional.js";
import * as init from "../init.js";
import { intArg, boolArg, pairArg, oneOf, pyRepr, type Pair } from "../utils.js";
import { emptyParameter, type FactoryOptions } from "./common.js";
import { pytorchOptions, type PyArgs } from "../../options.js";

export type PaddingMode = "zeros" | "reflect" | "replicate" | "circular";

abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | "same" | "valid";
  readonly dilation: [number, number];
  readonly transposed: boolean;
  readonly outputPadding: [number, number];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  /** The padding for F.pad when paddingMode isn't "zeros": [left, right, top, bottom]. */
  protected readonly reversedPaddingRepeatedTwice: number[];
  weight: Parameter;
  bias: Parameter | null;

  protected constructor(name: string, inChannels: number, outChannels: number, kernelSize: Pair, transposed: boolean, options: {
    stride?: Pair; padding?: Pair | "same" | "valid"; dilation?: Pair; outputPadding?: Pair; groups?: number; bias?: boolean; paddingMode?: PaddingMode;
  } & FactoryOptions) {
    super();
    const what = `${name}()`;
    this.inChannels = intArg(inChannels, `${what}: inChannels`, 1);
    this.outChannels = intArg(outChannels, `${what}: outChannels`, 1);
    this.kernelSize = pairArg(kernelSize, `${what}: kernelSize`, 1);
    this.stride = pairArg(options.stride ?? 1, `${what}: stride`, 1);
    const padding = options.padding ?? 0;
    this.padding = typeof padding === "string" && !transposed
      ? oneOf(padding, ["same", "valid"] as const, `${what}: padding`) : pairArg(padding, `${what}: padding`, 0);
    this.dilation = pairArg(options.dilation ?? 1, `${what}: dilation`, 1);
    this.transposed = transposed;
    this.outputPadding = pairArg(options.outputPadding ?? 0, `${what}: outputPadding`, 0);
    this.groups = intArg(options.groups ?? 1, `${what}: groups`, 1);
    this.paddingMode = oneOf(options.paddingMode ?? "zeros", ["zeros", "reflect", "replicate", "circular"] as const, `${what}: paddingMode`);
    if (this.inChannels % this.groups !== 0) throw new FlareError(`${what}: inChannels (${inChannels}) must be divisible by groups (${this.groups})`, "E_ARGUMENT");
    if (this.outChannels % this.groups !== 0) throw new FlareError(`${what}: outChannels (${outChannels}) must be divisible by groups (${this.groups})`, "E_ARGUMENT");
    if (this.padding === "same" && this.stride.some((s) => s !== 1))
      throw new FlareError(`${what}: padding="same" is not supported for strided convolutions`, "E_ARGUMENT");
    if (transposed && this.paddingMode !== "zeros")
      throw new FlareError(`${what}: only "zeros" paddingMode is supported for ${name}`, "E_ARGUMENT");
    if (this.padding === "same") {
      const r = [0, 0, 0, 0];
      for (let d = 0; d < 2; d++) {
        const total = this.dilation[d] * (this.kernelSize[d] - 1);
        const left = Math.floor(total / 2);
        const i = 1 - d;  // reversed: width first
        r[2 * i] = left;
        r[2 * i + 1] = total - left;
      }
      this.reversedPaddingRepeatedTwice = r;
    } else if (this.padding === "valid") {
      this.reversedPaddingRepeatedTwice = [0, 0, 0, 0];
    } else {
      const [ph, pw] = this.padding;
      this.reversedPaddingRepeatedTwice = [pw, pw, ph, ph];
    }
    const [kh, kw] = this.kernelSize;
    this.weight = transposed
      ? emptyParameter([this.inChannels, this.outChannels / this.groups, kh, kw], options)
      : emptyParameter([this.outChannels, this.inChannels / this.groups, kh, kw], options);
    this.bias = boolArg(options.bias ?? true, `${what}: bias`) ? emptyParameter([this.outChannels], options) : null;
    this.resetParameters();
  }

  /** PyTorch's initialisation: kaiming_uniform(a=√5) weight, bias U(±1/√fanIn). */
  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = init.calculateFanInAndFanOut(this.weight);
      if (fanIn !== 0) {
        const bound = 1 / Math.sqrt(fanIn);
        init.uniform_(this.bias, -bound, bound);
      }
    }
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}`;
    if (typeof this.padding === "string") s += `, padding=${this.padding}`;
    else if (this.padding.some((p) => p !== 0)) s += `, padding=${pyRepr(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${pyRepr(this.dilation)}`;
    if (this.outputPadding.some((p) => p !== 0)) s += `, output_padding=${pyRepr(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ", bias=False";
    if (this.paddingMode !== "zeros") s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

export interface Conv2dOptions extends FactoryOptions {
  stride?: Pair;
  /** A number, [h, w], "same" (output size = input size, stride 1 only) or "valid" (no padding). */
  padding?: Pair | "same" | "valid";
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
}

/** 2-D convolution over NCHW input; weight [out, in / groups, kH, kW]. */
export class Conv2d extends ConvNd {
  /** new Conv2d(1, 6, 5, { padding: 2 }) or, in PyTorch's order, new Conv2d(1, 6, 5, 1, 2). */
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, ...args: PyArgs<"nn.Conv2d", Conv2dOptions>) {
    super("Conv2d", inChannels, outChannels, kernelSize, false,
      pytorchOptions<Conv2dOptions>("nn.Conv2d", args, ["stride", "padding", "dilation", "groups", "bias", "paddingMode", "device", "dtype"]));
  }

  override forward(input: Tensor): Tensor {
    const options = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode !== "zeros") {
      const padded = F.pad(input, this.reversedPaddingRepeatedTwice, this.paddingMode);
      try { return F.conv2d(padded, this.weight, this.bias, { ...options, padding: 0 }); } finally { padded.dispose(); }
    }
    return F.conv2d(input, this.weight, this.bias, { ...options, padding: this.padding });
  }
}

export interface ConvTranspose2dOptions extends FactoryOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  groups?: number;
  bias?: boolean;
  dilation?: Pair;
  paddingMode?: "zeros";
}

/** 2-D transposed convolution; weight [in, out / groups, kH, kW]. */
export class ConvTranspose2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, ...args: PyArgs<"nn.ConvTranspose2d", ConvTranspose2dOptions>) {
    super("ConvTranspose2d", inChannels, outChannels, kernelSize, true,
      pytorchOptions<ConvTranspose2dOptions>("nn.ConvTranspose2d", args, ["stride", "padding", "outputPadding", "groups", "bias", "dilation", "paddingMode", "device", "dtype"]));
  }

  /** outputSize ([H, W] or [N, C, H, W]) picks the output padding that gives that size. */
  override forward(input: Tensor, outputSize?: number[] | null): Tensor {
    const outputPadding = this.outputPaddingFor(input, outputSize ?? null);
    return F.convTranspose2d(input, this.weight, this.bias, {
      stride: this.stride, padding: this.padding as [number, number], outputPadding, groups: this.groups, dilation: this.dilation,
    });
  }

  private outputPaddingFor(input: Tensor, outputSize: number[] | null): [number, number] {
    if (outputSize === null) return this.outputPadding;
    const what = "ConvTranspose2d.forward()";
    if (!(input instanceof Tensor)) throw new FlareError(`${what}: input must be a Tensor`, "E_ARGUMENT");
    const hasBatch = input.dim() === 4;
    const nonSpatial = hasBatch ? 2 : 1;
    let size = outputSize;
    if (size.length === nonSpatial + 2) size = size.slice(nonSpatial);
    if (size.length !== 2)
      throw new FlareError(`${what}: for ${input.dim()}D input, outputSize must have 2 or ${nonSpatial + 2} elements (got ${outputSize.length})`, "E_ARGUMENT");
    const shape = input.shape;
    const padding = this.padding as [number, number];
    const min: number[] = [], max: number[] = [];
    for (let d = 0; d < 2; d++) {
      min.push((shape[d + nonSpatial] - 1) * this.stride[d] - 2 * padding[d] + this.dilation[d] * (this.kernelSize[d] - 1) + 1);
      max.push(min[d] + this.stride[d] - 1);
    }
    for (let d = 0; d < 2; d++) {
      if (size[d] < min[d] || size[d] > max[d])
        throw new FlareError(`${what}: requested an output size of [${size.join(", ")}], but valid sizes range from [${min.join(", ")}] to [${max.join(", ")}] (for an input of [${shape.slice(nonSpatial).join(", ")}])`, "E_SHAPE");
    }
    return [size[0] - min[0], size[1] - min[1]];
  }
}
