// Dropout and Dropout2d: active in training mode only.
import { Tensor } from "../../tensor/tensor.js";
import { Module } from "../module.js";
import * as F from "../functional.js";
import { boolArg, probabilityArg, pyFloat } from "../utils.js";
import { pytorchOptions, type PyArgs } from "../../options.js";

export interface DropoutOptions { p?: number; inplace?: boolean }

abstract class DropoutBase extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(name: "nn.Dropout" | "nn.Dropout2d", args: unknown[]) {
    super();
    const o = pytorchOptions<DropoutOptions>(name, args, ["p", "inplace"]);
    this.p = probabilityArg(o.p ?? 0.5, `${this.constructor.name}()`);
    this.inplace = boolArg(o.inplace ?? false, `${this.constructor.name}(): inplace`);
  }
  override extraRepr(): string { return `p=${pyFloat(this.p)}, inplace=${this.inplace ? "True" : "False"}`; }
}

/** Zeroes each element with probability p in training, scaling the rest by 1/(1-p). new Dropout(0.5). */
export class Dropout extends DropoutBase {
  constructor(...args: PyArgs<"nn.Dropout", DropoutOptions>) { super("nn.Dropout", args); }
  override forward(input: Tensor): Tensor { return F.dropout(input, this.p, { training: this.training, inplace: this.inplace }); }
}

/** Zeroes whole channels with probability p in training. */
export class Dropout2d extends DropoutBase {
  constructor(...args: PyArgs<"nn.Dropout2d", DropoutOptions>) { super("nn.Dropout2d", args); }
  override forward(input: Tensor): Tensor { return F.dropout2d(input, this.p, { training: this.training, inplace: this.inplace }); }
}
