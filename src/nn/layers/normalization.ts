// BatchNorm1d/2d, LayerNorm and GroupNorm.
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { ones, zeros, tensor as makeTensor } from "../../tensor/creation.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import * as F from "../functional.js";
import * as init from "../init.js";
import { intArg, boolArg, numberArg, pyRepr, pyFloat } from "../utils.js";
import { emptyParameter, keptTensor, type FactoryOptions } from "./common.js";
import { pytorchOptions, type PyArgs } from "../../options.js";

const BATCH_NORM_OPTIONS = ["eps", "momentum", "affine", "trackRunningStats", "device", "dtype"] as const;
export interface LayerNormOptions extends FactoryOptions { eps?: number; elementwiseAffine?: boolean }
export interface GroupNormOptions extends FactoryOptions { eps?: number; affine?: boolean }

export interface BatchNormOptions extends FactoryOptions {
  eps?: number;
  /** The running-average factor; null for a cumulative moving average. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation. State-dict keys are PyTorch's: weight, bias,
 * running_mean, running_var, num_batches_tracked (also reachable as
 * runningMean, runningVar, numBatchesTracked).
 */
abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;

  constructor(numFeatures: number, options: BatchNormOptions) {
    super();
    const what = `${this.constructor.name}()`;
    this.numFeatures = intArg(numFeatures, `${what}: numFeatures`, 1);
    this.eps = numberArg(options.eps ?? 1e-5, `${what}: eps`);
    this.momentum = options.momentum === null ? null : numberArg(options.momentum ?? 0.1, `${what}: momentum`);
    this.affine = boolArg(options.affine ?? true, `${what}: affine`);
    this.trackRunningStats = boolArg(options.trackRunningStats ?? true, `${what}: trackRunningStats`);
    const factory = { dtype: options.dtype ?? "float32" as const, device: options.device ?? "cpu" };
    this.weight = this.affine ? emptyParameter([numFeatures], options) : null;
    this.bias = this.affine ? emptyParameter([numFeatures], options) : null;
    if (this.trackRunningStats) {
      this.registerBuffer("running_mean", keptTensor(() => zeros([numFeatures], factory)));
      this.registerBuffer("running_var", keptTensor(() => ones([numFeatures], factory)));
      this.registerBuffer("num_batches_tracked", keptTensor(() => makeTensor(0, { dtype: "int64", device: factory.device })));
    } else {
      this.registerBuffer("running_mean", null);
      this.registerBuffer("running_var", null);
      this.registerBuffer("num_batches_tracked", null);
    }
    this.resetParameters();
  }

  get runningMean(): Tensor | null { return this.running_mean; }
  set runningMean(value: Tensor | null) { this.running_mean = value; }
  get runningVar(): Tensor | null { return this.running_var; }
  set runningVar(value: Tensor | null) { this.running_var = value; }
  get numBatchesTracked(): Tensor | null { return this.num_batches_tracked; }
  set numBatchesTracked(value: Tensor | null) { this.num_batches_tracked = value; }

  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    this.running_mean!.zero_();
    this.running_var!.fill_(1);
    this.num_batches_tracked!.zero_();
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (this.affine) { init.ones_(this.weight!); init.zeros_(this.bias!); }
  }

  protected abstract checkInputDim(input: Tensor): void;

  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new FlareError(`${this.constructor.name}.forward(): input must be a Tensor`, "E_ARGUMENT");
    this.checkInputDim(input);
    let factor = this.momentum ?? 0.0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked) {
      this.num_batches_tracked.add_(1);
      factor = this.momentum === null ? 1.0 / Number(this.num_batches_tracked.item()) : this.momentum;
    }
    const bnTraining = this.training ? true : this.running_mean === null && this.running_var === null;
    const useStats = !this.training || this.trackRunningStats;
    return F.batchNorm(input, useStats ? this.running_mean : null, useStats ? this.running_var : null, {
      weight: this.weight, bias: this.bias, training: bnTraining, momentum: factor, eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum === null ? "None" : pyFloat(this.momentum)}, affine=${pyRepr(this.affine)}, track_running_stats=${pyRepr(this.trackRunningStats)}`;
  }
}

/** Batch norm over (N, C) or (N, C, L) input. */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, ...args: PyArgs<"nn.BatchNorm1d", BatchNormOptions>) {
    super(numFeatures, pytorchOptions<BatchNormOptions>("nn.BatchNorm1d", args, BATCH_NORM_OPTIONS));
  }
  protected checkInputDim(input: Tensor): void {
    const d = input.dim();
    if (d !== 2 && d !== 3) throw new FlareError(`BatchNorm1d: expected 2D or 3D input (got ${d}D input)`, "E_SHAPE");
  }
}

/** Batch norm over (N, C, H, W) input. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, ...args: PyArgs<"nn.BatchNorm2d", BatchNormOptions>) {
    super(numFeatures, pytorchOptions<BatchNormOptions>("nn.BatchNorm2d", args, BATCH_NORM_OPTIONS));
  }
  protected checkInputDim(input: Tensor): void {
    const d = input.dim();
    if (d !== 4) throw new FlareError(`BatchNorm2d: expected 4D input (got ${d}D input)`, "E_SHAPE");
  }
}

/** Layer normalisation over the trailing normalizedShape dimensions. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | number[], ...args: PyArgs<"nn.LayerNorm", LayerNormOptions>) {
    super();
    const options = pytorchOptions<LayerNormOptions>("nn.LayerNorm", args, ["eps", "elementwiseAffine", "device", "dtype"]);
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(shape)) throw new FlareError(`LayerNorm(): normalizedShape must be an integer or an array of integers, got ${String(normalizedShape)}`, "E_ARGUMENT");
    this.normalizedShape = shape.map((s, i) => intArg(s, `LayerNorm(): normalizedShape[${i}]`, 1));
    this.eps = numberArg(options.eps ?? 1e-5, "LayerNorm(): eps");
    this.elementwiseAffine = boolArg(options.elementwiseAffine ?? true, "LayerNorm(): elementwiseAffine");
    this.weight = this.elementwiseAffine ? emptyParameter(this.normalizedShape, options) : null;
    this.bias = this.elementwiseAffine ? emptyParameter(this.normalizedShape, options) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }

  override forward(input: Tensor): Tensor {
    return F.layerNorm(input, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${pyRepr(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyRepr(this.elementwiseAffine)}`;
  }
}

/** Group normalisation: numChannels split into numGroups groups. */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, ...args: PyArgs<"nn.GroupNorm", GroupNormOptions>) {
    super();
    const options = pytorchOptions<GroupNormOptions>("nn.GroupNorm", args, ["eps", "affine", "device", "dtype"]);
    this.numGroups = intArg(numGroups, "GroupNorm(): numGroups", 1);
    this.numChannels = intArg(numChannels, "GroupNorm(): numChannels", 1);
    if (numChannels % numGroups !== 0)
      throw new FlareError(`GroupNorm(): numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`, "E_ARGUMENT");
    this.eps = numberArg(options.eps ?? 1e-5, "GroupNorm(): eps");
    this.affine = boolArg(options.affine ?? true, "GroupNorm(): affine");
    this.weight = this.affine ? emptyParameter([numChannels], options) : null;
    this.bias = this.affine ? emptyParameter([numChannels], options) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }

  override forward(input: Tensor): Tensor {
    return F.groupNorm(input, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyRepr(this.affine)}`;
  }
}

/**
 * torchvision.ops.FrozenBatchNorm2d: batch norm whose statistics and affine
 * parameters are fixed (the detection models' norm layer, where batches are too
 * small for batch statistics). All four are buffers with PyTorch's keys (weight,
 * bias, running_mean, running_var), so nothing trains and the optimiser never
 * sees them; loading drops a checkpoint's `num_batches_tracked`, so BatchNorm2d
 * weights load as they are. forward is torchvision's formula, op for op.
 */
export class FrozenBatchNorm2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  declare weight: Tensor;
  declare bias: Tensor;
  declare running_mean: Tensor;
  declare running_var: Tensor;

  constructor(numFeatures: number, ...args: PyArgs<"nn.FrozenBatchNorm2d", { eps?: number }>) {
    super();
    const options = pytorchOptions<{ eps?: number }>("nn.FrozenBatchNorm2d", args, ["eps"]);
    this.numFeatures = intArg(numFeatures, "FrozenBatchNorm2d(): numFeatures", 1);
    this.eps = numberArg(options.eps ?? 1e-5, "FrozenBatchNorm2d(): eps");
    this.registerBuffer("weight", keptTensor(() => ones([numFeatures])));
    this.registerBuffer("bias", keptTensor(() => zeros([numFeatures])));
    this.registerBuffer("running_mean", keptTensor(() => zeros([numFeatures])));
    this.registerBuffer("running_var", keptTensor(() => ones([numFeatures])));
  }

  get runningMean(): Tensor { return this.running_mean; }
  get runningVar(): Tensor { return this.running_var; }

  protected override loadStateDictPreHook(stateDict: Map<string, unknown>, prefix: string): void {
    stateDict.delete(`${prefix}num_batches_tracked`);
  }

  override forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor)) throw new FlareError("FrozenBatchNorm2d.forward(): input must be a Tensor", "E_ARGUMENT");
    if (x.dim() !== 4) throw new FlareError(`FrozenBatchNorm2d: expected 4D input (got ${x.dim()}D input)`, "E_SHAPE");
    if (x.shape[1] !== this.numFeatures)
      throw new FlareError(`FrozenBatchNorm2d: input has ${x.shape[1]} channels, expected ${this.numFeatures}`, "E_SHAPE");
    const w = this.weight.reshape([1, -1, 1, 1]);
    const b = this.bias.reshape([1, -1, 1, 1]);
    const rv = this.running_var.reshape([1, -1, 1, 1]);
    const rm = this.running_mean.reshape([1, -1, 1, 1]);
    const scale = w.mul(rv.add(this.eps).rsqrt());
    const bias = b.sub(rm.mul(scale));
    return x.mul(scale).add(bias);
  }

  // torchvision's __repr__: FrozenBatchNorm2d(64, eps=1e-05)
  override extraRepr(): string { return `${this.numFeatures}, eps=${pyFloat(this.eps)}`; }
}
