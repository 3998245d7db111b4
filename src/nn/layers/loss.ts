// Loss modules: the functional losses with their options fixed at construction.
// Class weights are buffers named as in PyTorch (weight, pos_weight).
import { Tensor } from "../../tensor/tensor.js";
import { Module } from "../module.js";
import * as F from "../functional.js";
import { oneOf } from "../utils.js";
import { FlareError } from "../../errors.js";
import { describe } from "../../validate.js";
import { pytorchOptions, type PyArgs } from "../../options.js";

export interface WeightedLossOptions { weight?: Tensor | null; reduction?: F.Reduction }
export interface NLLLossOptions extends WeightedLossOptions { ignoreIndex?: number }
export interface BCEWithLogitsLossOptions extends WeightedLossOptions { posWeight?: Tensor | null }
export interface ReductionOptions { reduction?: F.Reduction }
export interface SmoothL1LossOptions extends ReductionOptions { beta?: number }

/** A class-weight tensor or null: a string here is usually a reduction passed where PyTorch has weight. */
function weightArg(value: unknown, what: string): Tensor | null {
  if (value === undefined || value === null || value instanceof Tensor) return value ?? null;
  throw new FlareError(`${what} must be a Tensor or null, got ${describe(value)}${typeof value === "string" ? ` (PyTorch's first optional argument is weight; pass the reduction as { reduction: "${value}" })` : ""}`, "E_TYPE");
}

const REDUCTIONS = ["none", "mean", "sum"] as const;

abstract class Loss extends Module {
  readonly reduction: F.Reduction;
  constructor(reduction: F.Reduction | undefined) {
    super();
    this.reduction = oneOf(reduction ?? "mean", REDUCTIONS, `${this.constructor.name}(): reduction`);
  }
  abstract override forward(input: Tensor, target: Tensor): Tensor;
}

export class CrossEntropyLoss extends Loss {
  declare weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  /** new CrossEntropyLoss({ reduction: "none" }), or PyTorch's order: new CrossEntropyLoss(null, null, -100, null, "none"). */
  constructor(...args: PyArgs<"nn.CrossEntropyLoss", F.CrossEntropyOptions>) {
    const options = pytorchOptions<F.CrossEntropyOptions>("nn.CrossEntropyLoss", args, ["weight", "ignoreIndex", "reduction", "labelSmoothing"]);
    super(options.reduction);
    this.registerBuffer("weight", weightArg(options.weight, "CrossEntropyLoss(): weight"));
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = options.labelSmoothing ?? 0;
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction, labelSmoothing: this.labelSmoothing });
  }
}

export class NLLLoss extends Loss {
  declare weight: Tensor | null;
  readonly ignoreIndex: number;
  constructor(...args: PyArgs<"nn.NLLLoss", NLLLossOptions>) {
    const options = pytorchOptions<NLLLossOptions>("nn.NLLLoss", args, ["weight", "ignoreIndex", "reduction"]);
    super(options.reduction);
    this.registerBuffer("weight", weightArg(options.weight, "NLLLoss(): weight"));
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

export class BCELoss extends Loss {
  declare weight: Tensor | null;
  constructor(...args: PyArgs<"nn.BCELoss", WeightedLossOptions>) {
    const options = pytorchOptions<WeightedLossOptions>("nn.BCELoss", args, ["weight", "reduction"]);
    super(options.reduction);
    this.registerBuffer("weight", weightArg(options.weight, "BCELoss(): weight"));
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

export class BCEWithLogitsLoss extends Loss {
  declare weight: Tensor | null;
  declare pos_weight: Tensor | null;
  constructor(...args: PyArgs<"nn.BCEWithLogitsLoss", BCEWithLogitsLossOptions>) {
    const options = pytorchOptions<BCEWithLogitsLossOptions>("nn.BCEWithLogitsLoss", args, ["weight", "reduction", "posWeight"]);
    super(options.reduction);
    this.registerBuffer("weight", weightArg(options.weight, "BCEWithLogitsLoss(): weight"));
    this.registerBuffer("pos_weight", weightArg(options.posWeight, "BCEWithLogitsLoss(): posWeight"));
  }
  get posWeight(): Tensor | null { return this.pos_weight; }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, { weight: this.weight, posWeight: this.pos_weight, reduction: this.reduction });
  }
}

export class MSELoss extends Loss {
  constructor(...args: PyArgs<"nn.MSELoss", ReductionOptions>) { super(pytorchOptions<ReductionOptions>("nn.MSELoss", args, ["reduction"]).reduction); }
  override forward(input: Tensor, target: Tensor): Tensor { return F.mseLoss(input, target, { reduction: this.reduction }); }
}

export class L1Loss extends Loss {
  constructor(...args: PyArgs<"nn.L1Loss", ReductionOptions>) { super(pytorchOptions<ReductionOptions>("nn.L1Loss", args, ["reduction"]).reduction); }
  override forward(input: Tensor, target: Tensor): Tensor { return F.l1Loss(input, target, { reduction: this.reduction }); }
}

export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor(...args: PyArgs<"nn.SmoothL1Loss", SmoothL1LossOptions>) {
    const options = pytorchOptions<SmoothL1LossOptions>("nn.SmoothL1Loss", args, ["reduction", "beta"]);
    super(options.reduction);
    this.beta = options.beta ?? 1;
  }
  override forward(input: Tensor, target: Tensor): Tensor { return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta }); }
}
