// AdamW: Adam with decoupled weight decay (torch.optim.AdamW, PyTorch 1.13).
import { AdamBase, ADAM_OPTIONS, type AdamOptions } from "./adam.js";
import { pytorchOptions, type PyArgs } from "../options.js";
import type { Params } from "./optimizer.js";

/** AdamW: p *= 1 − lr·weightDecay, then Adam's update without L2 in the gradient. weightDecay defaults to 1e-2. */
export class AdamW extends AdamBase {
  protected readonly decoupledWeightDecay = true;
  constructor(params: Params<AdamOptions>, ...args: PyArgs<"optim.AdamW", AdamOptions>) {
    super(params, pytorchOptions<AdamOptions>("optim.AdamW", args, ADAM_OPTIONS), 1e-2);
  }
}
