// Flatten and Upsample.
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { Module } from "../module.js";
import * as F from "../functional.js";
import { intArg, pyRepr, pyFloat } from "../utils.js";
import { pytorchOptions, type PyArgs } from "../../options.js";

export interface FlattenOptions { startDim?: number; endDim?: number }

/** Flattens dimensions startDim..endDim into one: new Flatten() keeps the batch dimension. */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(...args: PyArgs<"nn.Flatten", FlattenOptions>) {
    super();
    const o = pytorchOptions<FlattenOptions>("nn.Flatten", args, ["startDim", "endDim"]);
    this.startDim = intArg(o.startDim ?? 1, "Flatten(): startDim");
    this.endDim = intArg(o.endDim ?? -1, "Flatten(): endDim");
  }
  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new FlareError("Flatten.forward(): input must be a Tensor", "E_ARGUMENT");
    return input.flatten(this.startDim, this.endDim);
  }
  override extraRepr(): string { return `start_dim=${this.startDim}, end_dim=${this.endDim}`; }
}

export interface UpsampleOptions {
  size?: number | number[] | null;
  scaleFactor?: number | number[] | null;
  mode?: F.InterpolateMode;
  alignCorners?: boolean | null;
  recomputeScaleFactor?: boolean | null;
}

/** Resizes by interpolate(): new Upsample({ scaleFactor: 2, mode: "bilinear" }). */
export class Upsample extends Module {
  readonly size: number | number[] | null;
  readonly scaleFactor: number | number[] | null;
  readonly mode: F.InterpolateMode;
  readonly alignCorners: boolean | null;
  readonly recomputeScaleFactor: boolean | null;
  constructor(...args: PyArgs<"nn.Upsample", UpsampleOptions>) {
    super();
    const options = pytorchOptions<UpsampleOptions>("nn.Upsample", args, ["size", "scaleFactor", "mode", "alignCorners", "recomputeScaleFactor"]);
    this.size = options.size ?? null;
    this.scaleFactor = options.scaleFactor ?? null;
    this.mode = options.mode ?? "nearest";
    this.alignCorners = options.alignCorners ?? null;
    this.recomputeScaleFactor = options.recomputeScaleFactor ?? null;
    if (this.size !== null && this.scaleFactor !== null) throw new FlareError("Upsample(): only one of size or scaleFactor should be defined", "E_ARGUMENT");
    if (this.size === null && this.scaleFactor === null) throw new FlareError("Upsample(): either size or scaleFactor should be defined", "E_ARGUMENT");
  }
  override forward(input: Tensor): Tensor {
    return F.interpolate(input, {
      size: this.size, scaleFactor: this.scaleFactor, mode: this.mode, alignCorners: this.alignCorners, recomputeScaleFactor: this.recomputeScaleFactor,
    });
  }
  override extraRepr(): string {
    const info = this.scaleFactor !== null
      ? `scale_factor=${typeof this.scaleFactor === "number" ? pyFloat(this.scaleFactor) : pyRepr(this.scaleFactor)}`
      : `size=${pyRepr(this.size)}`;
    return `${info}, mode=${this.mode}`;
  }
}
