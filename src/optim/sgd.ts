// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay
// (torch.optim.SGD, the single-tensor formulas of PyTorch 1.13).
import { FlareError } from "../errors.js";
import { keep, type Tensor } from "../tensor/index.js";
import { pytorchOptions, type PyArgs } from "../options.js";
import { Optimizer, checkBoolean, checkNumber, required, type ParamGroup, type Params } from "./optimizer.js";

export interface SGDOptions {
  /** Learning rate; required unless every parameter group gives its own. */
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

export interface SGDParamGroup extends ParamGroup {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/**
 * SGD: d = g + weightDecay·p; with momentum, buf = momentum·buf + (1 − dampening)·d
 * (buf = d on the first step) and d = buf, or d + momentum·buf with Nesterov; p −= lr·d.
 * State per parameter: `momentum_buffer` (only when momentum ≠ 0).
 */
export class SGD extends Optimizer<SGDParamGroup> {
  /** new SGD(params, { lr: 0.1, momentum: 0.9 }) or, in PyTorch's order, new SGD(params, 0.1, 0.9). */
  constructor(params: Params<SGDOptions>, ...args: PyArgs<"optim.SGD", SGDOptions>) {
    const options = pytorchOptions<SGDOptions>("optim.SGD", args, ["lr", "momentum", "dampening", "weightDecay", "nesterov", "maximize"]);
    const { lr = required, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, maximize = false } = options;
    super(params, { lr, momentum, dampening, weightDecay, nesterov, maximize });
  }

  protected override checkGroup(group: SGDParamGroup): void {
    super.checkGroup(group);
    checkNumber(group.momentum, "momentum", { min: 0 });
    checkNumber(group.dampening, "dampening");
    checkNumber(group.weightDecay, "weightDecay", { min: 0 });
    checkBoolean(group.nesterov, "nesterov");
    checkBoolean(group.maximize, "maximize");
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new FlareError("Nesterov momentum requires a momentum and zero dampening", "E_ARGUMENT");
    }
  }

  protected updateGroup(group: SGDParamGroup): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    for (const param of group.params) {
      const grad = param.grad;
      if (grad === null) continue;
      let d: Tensor = maximize ? grad.neg() : grad;
      if (weightDecay !== 0) d = d.add(param, { alpha: weightDecay });
      if (momentum !== 0) {
        const state = this.stateOf(param);
        let buf = state.momentum_buffer as Tensor | undefined;
        if (buf === undefined) {
          buf = keep(d.clone());
          state.momentum_buffer = buf;
        } else {
          buf.mul_(momentum).add_(d, { alpha: 1 - dampening });
        }
        d = nesterov ? d.add(buf, { alpha: momentum }) : buf;
      }
      param.add_(d, { alpha: -lr });
    }
  }
}
