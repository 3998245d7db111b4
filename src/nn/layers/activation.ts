// Activation layers: thin wrappers over functional.
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { Module } from "../module.js";
import * as F from "../functional.js";
import { boolArg, intArg, numberArg, oneOf, pyFloat } from "../utils.js";
import { pytorchOptions, type PyArgs } from "../../options.js";

export interface InplaceOptions { inplace?: boolean }
export interface LeakyReLUOptions { negativeSlope?: number; inplace?: boolean }
export interface GELUOptions { approximate?: "none" | "tanh" }
export interface SoftmaxOptions { dim?: number | null }

export class ReLU extends Module {
  readonly inplace: boolean;
  /** new ReLU(), new ReLU(true) (PyTorch's inplace by position) or new ReLU({ inplace: true }). */
  constructor(...args: PyArgs<"nn.ReLU", InplaceOptions>) {
    super();
    const o = pytorchOptions<InplaceOptions>("nn.ReLU", args, ["inplace"]);
    this.inplace = boolArg(o.inplace ?? false, "ReLU(): inplace");
  }
  override forward(input: Tensor): Tensor { return F.relu(input, { inplace: this.inplace }); }
  override extraRepr(): string { return this.inplace ? "inplace=True" : ""; }
}

/** max(0, x) + negativeSlope · min(0, x). new LeakyReLU(0.2) or new LeakyReLU({ negativeSlope: 0.2 }). */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;
  constructor(...args: PyArgs<"nn.LeakyReLU", LeakyReLUOptions>) {
    super();
    const o = pytorchOptions<LeakyReLUOptions>("nn.LeakyReLU", args, ["negativeSlope", "inplace"]);
    this.negativeSlope = numberArg(o.negativeSlope ?? 0.01, "LeakyReLU(): negativeSlope");
    this.inplace = boolArg(o.inplace ?? false, "LeakyReLU(): inplace");
  }
  override forward(input: Tensor): Tensor { return F.leakyRelu(input, this.negativeSlope, { inplace: this.inplace }); }
  override extraRepr(): string { return `negative_slope=${pyFloat(this.negativeSlope)}${this.inplace ? ", inplace=True" : ""}`; }
}

/** GELU, exact ("none") or with the tanh approximation. */
export class GELU extends Module {
  readonly approximate: "none" | "tanh";
  constructor(...args: PyArgs<"nn.GELU", GELUOptions>) {
    super();
    const options = pytorchOptions<GELUOptions>("nn.GELU", args, ["approximate"]);
    this.approximate = oneOf(options.approximate ?? "none", ["none", "tanh"] as const, "GELU(): approximate");
  }
  override forward(input: Tensor): Tensor { return F.gelu(input, { approximate: this.approximate }); }
  override extraRepr(): string { return `approximate='${this.approximate}'`; }
}

/** x · sigmoid(x). */
export class SiLU extends Module {
  readonly inplace: boolean;
  constructor(...args: PyArgs<"nn.SiLU", InplaceOptions>) {
    super();
    const o = pytorchOptions<InplaceOptions>("nn.SiLU", args, ["inplace"]);
    this.inplace = boolArg(o.inplace ?? false, "SiLU(): inplace");
  }
  override forward(input: Tensor): Tensor { return F.silu(input, { inplace: this.inplace }); }
  override extraRepr(): string { return this.inplace ? "inplace=True" : ""; }
}

export class Sigmoid extends Module {
  constructor(...args: PyArgs<"nn.Sigmoid", Record<never, never>>) { super(); pytorchOptions("nn.Sigmoid", args, []); }
  override forward(input: Tensor): Tensor { return F.sigmoid(input); }
}

export class Tanh extends Module {
  constructor(...args: PyArgs<"nn.Tanh", Record<never, never>>) { super(); pytorchOptions("nn.Tanh", args, []); }
  override forward(input: Tensor): Tensor { return F.tanh(input); }
}

function softmaxDim(name: "nn.Softmax" | "nn.LogSoftmax", args: unknown[]): number | null {
  const d = pytorchOptions<SoftmaxOptions>(name, args, ["dim"]).dim ?? null;
  return d === null ? null : intArg(d, `${name.slice(3)}(): dim`);
}

/** Softmax along dim: new Softmax(1). Without a dim, PyTorch's legacy implicit choice. */
export class Softmax extends Module {
  readonly dim: number | null;
  constructor(...args: PyArgs<"nn.Softmax", SoftmaxOptions>) { super(); this.dim = softmaxDim("nn.Softmax", args); }
  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new FlareError("Softmax.forward(): input must be a Tensor", "E_ARGUMENT");
    return F.softmax(input, this.dim ?? F.implicitSoftmaxDim(input.dim()));
  }
  override extraRepr(): string { return `dim=${this.dim ?? "None"}`; }
}

/** log(softmax(x)) along dim, computed stably. */
export class LogSoftmax extends Module {
  readonly dim: number | null;
  constructor(...args: PyArgs<"nn.LogSoftmax", SoftmaxOptions>) { super(); this.dim = softmaxDim("nn.LogSoftmax", args); }
  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new FlareError("LogSoftmax.forward(): input must be a Tensor", "E_ARGUMENT");
    return F.logSoftmax(input, this.dim ?? F.implicitSoftmaxDim(input.dim()));
  }
  override extraRepr(): string { return `dim=${this.dim ?? "None"}`; }
}
