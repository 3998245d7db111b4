// Activation layers: thin wrappers over functional.
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { Module } from "../module.js";
import * as F from "../functional.js";
import { boolArg, intArg, numberArg, oneOf, pyFloat } from "../utils.js";

export class ReLU extends Module {
  readonly inplace: boolean;
  constructor(options: { inplace?: boolean } = {}) { super(); this.inplace = boolArg(options.inplace ?? false, "ReLU(): inplace"); }
  override forward(input: Tensor): Tensor { return F.relu(input, { inplace: this.inplace }); }
  override extraRepr(): string { return this.inplace ? "inplace=True" : ""; }
}

/** max(0, x) + negativeSlope · min(0, x). new LeakyReLU(0.2) or new LeakyReLU({ negativeSlope: 0.2 }). */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;
  constructor(negativeSlope: number | { negativeSlope?: number; inplace?: boolean } = 0.01, options: { inplace?: boolean } = {}) {
    super();
    const o = typeof negativeSlope === "object" ? { ...negativeSlope, ...options } : { ...options, negativeSlope };
    this.negativeSlope = numberArg(o.negativeSlope ?? 0.01, "LeakyReLU(): negativeSlope");
    this.inplace = boolArg(o.inplace ?? false, "LeakyReLU(): inplace");
  }
  override forward(input: Tensor): Tensor { return F.leakyRelu(input, this.negativeSlope, { inplace: this.inplace }); }
  override extraRepr(): string { return `negative_slope=${pyFloat(this.negativeSlope)}${this.inplace ? ", inplace=True" : ""}`; }
}

/** GELU, exact ("none") or with the tanh approximation. */
export class GELU extends Module {
  readonly approximate: "none" | "tanh";
  constructor(options: { approximate?: "none" | "tanh" } = {}) {
    super();
    this.approximate = oneOf(options.approximate ?? "none", ["none", "tanh"] as const, "GELU(): approximate");
  }
  override forward(input: Tensor): Tensor { return F.gelu(input, { approximate: this.approximate }); }
  override extraRepr(): string { return `approximate='${this.approximate}'`; }
}

/** x · sigmoid(x). */
export class SiLU extends Module {
  readonly inplace: boolean;
  constructor(options: { inplace?: boolean } = {}) { super(); this.inplace = boolArg(options.inplace ?? false, "SiLU(): inplace"); }
  override forward(input: Tensor): Tensor { return F.silu(input, { inplace: this.inplace }); }
  override extraRepr(): string { return this.inplace ? "inplace=True" : ""; }
}

export class Sigmoid extends Module {
  override forward(input: Tensor): Tensor { return F.sigmoid(input); }
}

export class Tanh extends Module {
  override forward(input: Tensor): Tensor { return F.tanh(input); }
}

function softmaxDim(dim: number | null | { dim?: number | null }, what: string): number | null {
  const d = typeof dim === "object" && dim !== null ? dim.dim ?? null : dim;
  return d === null ? null : intArg(d, `${what}: dim`);
}

/** Softmax along dim: new Softmax(1). Without a dim, PyTorch's legacy implicit choice. */
export class Softmax extends Module {
  readonly dim: number | null;
  constructor(dim: number | null | { dim?: number | null } = null) { super(); this.dim = softmaxDim(dim, "Softmax()"); }
  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new FlareError("Softmax.forward(): input must be a Tensor", "E_ARGUMENT");
    return F.softmax(input, this.dim ?? F.implicitSoftmaxDim(input.dim()));
  }
  override extraRepr(): string { return `dim=${this.dim ?? "None"}`; }
}

/** log(softmax(x)) along dim, computed stably. */
export class LogSoftmax extends Module {
  readonly dim: number | null;
  constructor(dim: number | null | { dim?: number | null } = null) { super(); this.dim = softmaxDim(dim, "LogSoftmax()"); }
  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new FlareError("LogSoftmax.forward(): input must be a Tensor", "E_ARGUMENT");
    return F.logSoftmax(input, this.dim ?? F.implicitSoftmaxDim(input.dim()));
  }
  override extraRepr(): string { return `dim=${this.dim ?? "None"}`; }
}
