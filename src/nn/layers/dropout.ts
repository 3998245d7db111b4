// Dropout and Dropout2d: active in training mode only.
import { Tensor } from "../../tensor/tensor.js";
import { Module } from "../module.js";
import * as F from "../functional.js";
import { boolArg, probabilityArg, pyFloat } from "../utils.js";

type DropoutArgs = number | { p?: number; inplace?: boolean };

abstract class DropoutBase extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(p: DropoutArgs = 0.5, options: { inplace?: boolean } = {}) {
    super();
    const o = typeof p === "object" ? { ...p, ...options } : { ...options, p };
    this.p = probabilityArg(o.p ?? 0.5, `${this.constructor.name}()`);
    this.inplace = boolArg(o.inplace ?? false, `${this.constructor.name}(): inplace`);
  }
  override extraRepr(): string { return `p=${pyFloat(this.p)}, inplace=${this.inplace ? "True" : "False"}`; }
}

/** Zeroes each element with probability p in training, scaling the rest by 1/(1-p). new Dropout(0.5). */
export class Dropout extends DropoutBase {
  override forward(input: Tensor): Tensor { return F.dropout(input, this.p, { training: this.training, inplace: this.inplace }); }
}

/** Zeroes whole channels with probability p in training. */
export class Dropout2d extends DropoutBase {
  override forward(input: Tensor): Tensor { return F.dropout2d(input, this.p, { training: this.training, inplace: this.inplace }); }
}
