// AdamW: Adam with decoupled weight decay (torch.optim.AdamW, PyTorch 1.13).
import { AdamBase, type AdamOptions } from "./adam.js";
import type { Params } from "./optimizer.js";

/** AdamW: p *= 1 − lr·weightDecay, then Adam's update without L2 in the gradient. weightDecay defaults to 1e-2. */
export class AdamW extends AdamBase {
  protected readonly decoupledWeightDecay = true;
  constructor(params: Params<AdamOptions>, options: AdamOptions = {}) {
    super(params, options, 1e-2);
  }
}
