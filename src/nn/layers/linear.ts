// Linear and Identity.
import { Tensor } from "../../tensor/tensor.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import * as F from "../functional.js";
import * as init from "../init.js";
import { intArg, boolArg, pyRepr } from "../utils.js";
import { emptyParameter, type FactoryOptions } from "./common.js";
import { pytorchOptions, type PyArgs } from "../../options.js";

export interface LinearOptions extends FactoryOptions { bias?: boolean }

/** y = x Wᵀ + b, with weight [outFeatures, inFeatures]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, ...args: PyArgs<"nn.Linear", LinearOptions>) {
    super();
    const options = pytorchOptions<LinearOptions>("nn.Linear", args, ["bias", "device", "dtype"]);
    this.inFeatures = intArg(inFeatures, "Linear(): inFeatures", 0);
    this.outFeatures = intArg(outFeatures, "Linear(): outFeatures", 0);
    this.weight = emptyParameter([outFeatures, inFeatures], options);
    this.bias = boolArg(options.bias ?? true, "Linear(): bias") ? emptyParameter([outFeatures], options) : null;
    this.resetParameters();
  }

  /** PyTorch's initialisation: kaiming_uniform(a=√5) weight, bias U(±1/√fanIn). */
  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = init.calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform_(this.bias, -bound, bound);
    }
  }

  override forward(input: Tensor): Tensor { return F.linear(input, this.weight, this.bias); }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyRepr(this.bias !== null)}`;
  }
}

/** Returns its input. */
export class Identity extends Module {
  // PyTorch's Identity takes and ignores any arguments (to swap in for another layer); flare keeps the swap
  // but not the silence: arguments are refused, since flare's rule is that nothing is ignored.
  constructor(...args: PyArgs<"nn.Identity", Record<never, never>>) { super(); pytorchOptions("nn.Identity", args, []); }
  override forward(input: Tensor): Tensor { return input; }
}
