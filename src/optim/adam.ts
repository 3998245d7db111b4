// Adam (torch.optim.Adam, the single-tensor formulas of PyTorch 1.13), and the
// update it shares with AdamW.
import { keep, zerosLike, type Tensor } from "../tensor/index.js";
import { FlareError } from "../errors.js";
import { pytorchOptions, type PyArgs } from "../options.js";
import { Optimizer, checkBoolean, checkNumber, type ParamGroup, type Params } from "./optimizer.js";

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

export const ADAM_OPTIONS = ["lr", "betas", "eps", "weightDecay", "amsgrad", "maximize"] as const;

export interface AdamParamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

/**
 * What Adam and AdamW share. State per parameter: `step` (a number), `exp_avg`,
 * `exp_avg_sq`, and `max_exp_avg_sq` with amsgrad.
 */
export abstract class AdamBase extends Optimizer<AdamParamGroup> {
  /** AdamW decays the weights directly (p *= 1 − lr·weightDecay); Adam adds weightDecay·p to the gradient. */
  protected abstract readonly decoupledWeightDecay: boolean;

  constructor(params: Params<AdamOptions>, options: AdamOptions, weightDecayDefault: number) {
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = weightDecayDefault, amsgrad = false, maximize = false } = options;
    super(params, { lr, betas, eps, weightDecay, amsgrad, maximize });
  }

  protected override checkGroup(group: AdamParamGroup): void {
    super.checkGroup(group);
    checkNumber(group.eps, "eps", { min: 0 });
    if (!Array.isArray(group.betas) || group.betas.length !== 2) {
      throw new FlareError(`Invalid betas value: expected two numbers in [0, 1), got ${JSON.stringify(group.betas)}`, "E_ARGUMENT");
    }
    checkNumber(group.betas[0], "beta parameter at index 0", { min: 0, max: 1 });
    checkNumber(group.betas[1], "beta parameter at index 1", { min: 0, max: 1 });
    checkNumber(group.weightDecay, "weightDecay", { min: 0 });
    checkBoolean(group.amsgrad, "amsgrad");
    checkBoolean(group.maximize, "maximize");
  }

  protected updateGroup(group: AdamParamGroup): void {
    const { lr, eps, weightDecay, amsgrad, maximize } = group;
    const [beta1, beta2] = group.betas;
    for (const param of group.params) {
      const g = param.grad;
      if (g === null) continue;
      let grad: Tensor = maximize ? g.neg() : g;
      const state = this.stateOf(param);
      if (state.step === undefined) {
        state.step = 0;
        state.exp_avg = keep(zerosLike(param));
        state.exp_avg_sq = keep(zerosLike(param));
      }
      if (amsgrad && state.max_exp_avg_sq === undefined) state.max_exp_avg_sq = keep(zerosLike(param));
      const expAvg = state.exp_avg as Tensor, expAvgSq = state.exp_avg_sq as Tensor;
      const step = (state.step as number) + 1;
      state.step = step;

      if (weightDecay !== 0) {
        if (this.decoupledWeightDecay) param.mul_(1 - lr * weightDecay);
        else grad = grad.add(param, { alpha: weightDecay });
      }
      expAvg.mul_(beta1).add_(grad, { alpha: 1 - beta1 });
      expAvgSq.mul_(beta2).addcmul_(grad, grad, { value: 1 - beta2 });

      const biasCorrection1 = 1 - beta1 ** step;
      const biasCorrection2 = 1 - beta2 ** step;
      const stepSize = lr / biasCorrection1;
      const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
      let second = expAvgSq;
      if (amsgrad) {
        const maxSq = state.max_exp_avg_sq as Tensor;
        maxSq.copy_(maxSq.maximum(expAvgSq));
        second = maxSq;
      }
      const denom = second.sqrt().div(biasCorrection2Sqrt).add_(eps);
      param.addcdiv_(expAvg, denom, { value: -stepSize });
    }
  }
}

/**
 * Adam: m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g², p −= lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps),
 * with g += weightDecay·p (L2, coupled) and amsgrad's running max of v.
 */
export class Adam extends AdamBase {
  protected readonly decoupledWeightDecay = false;
  constructor(params: Params<AdamOptions>, ...args: PyArgs<"optim.Adam", AdamOptions>) {
    super(params, pytorchOptions<AdamOptions>("optim.Adam", args, ADAM_OPTIONS), 0);
  }
}
