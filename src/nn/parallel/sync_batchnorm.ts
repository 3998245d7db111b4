// nn.SyncBatchNorm: batch norm whose training statistics are those of the
// whole global batch (every rank's rows). Forward allreduces each rank's
// per-channel sum, sum of squares and count; backward allreduces the gradient
// of those sums (a hook on them), which is what PyTorch's SyncBatchNorm
// backward does with sum_dy and sum_dy_xmu. Outside training, or alone, it is
// BatchNorm. Collectives are blocking and issued in the same order on every
// rank (forward and backward run the same graph everywhere).
import { FlareError } from "../../errors.js";
import { checkOptions, optionNames } from "../../options.js";
import { Tensor, cat, noGrad, tensor as makeTensor } from "../../tensor/index.js";
import { Module } from "../module.js";
import { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from "../layers/normalization.js";
import { getDefaultGroup, isInitialized, nativeDist, waitSync, type ProcessGroup } from "../../distributed/process_group.js";

export interface SyncBatchNormOptions extends BatchNormOptions { processGroup?: ProcessGroup }
const OPTIONS = optionNames<SyncBatchNormOptions>({ eps: 1, momentum: 1, affine: 1, trackRunningStats: 1, device: 1, dtype: 1, processGroup: 1 });

function allReduceSum(t: Tensor, group: ProcessGroup, what: string): void {
  waitSync(nativeDist(what).distAllReduce(group.live(what), [t.handle], "sum"), what);
}

export class SyncBatchNorm extends BatchNorm2d {
  readonly processGroup: ProcessGroup | undefined;

  constructor(numFeatures: number, options: SyncBatchNormOptions = {}) {
    // Checked here, so that a misspelt key (or eps by position, which this class does not take) is an error naming SyncBatchNorm.
    const { processGroup, ...rest } = checkOptions(options, OPTIONS, "new nn.SyncBatchNorm()");
    super(numFeatures, rest);
    this.processGroup = processGroup;
  }

  protected override checkInputDim(input: Tensor): void {
    if (input.dim() < 2) throw new FlareError(`SyncBatchNorm: expected at least 2D input (got ${input.dim()}D input)`, "E_SHAPE");
  }

  private group(): ProcessGroup | null {
    if (this.processGroup) return this.processGroup;
    return isInitialized() ? getDefaultGroup("SyncBatchNorm") : null;
  }

  override forward(input: Tensor): Tensor {
    const group = this.group();
    if (!this.training || !group || group.worldSize === 1) return super.forward(input);
    if (!(input instanceof Tensor)) throw new FlareError("SyncBatchNorm.forward(): input must be a Tensor", "E_ARGUMENT");
    this.checkInputDim(input);
    const c = input.shape[1];
    if (c !== this.numFeatures) throw new FlareError(`SyncBatchNorm.forward(): input has ${c} channels, expected ${this.numFeatures}`, "E_SHAPE");
    const dims = [0, ...Array.from({ length: input.dim() - 2 }, (_, i) => i + 2)];
    const count = input.numel() / c;
    // Local sums, differentiable; their global values enter the graph as
    // local + (global - local) so that the gradient flows to the local sums,
    // where the hook sums it over the ranks.
    const local = cat([input.sum(dims), input.mul(input).sum(dims)]);
    const global = noGrad(() => {
      const g = cat([local.detach(), makeTensor([count], { dtype: local.dtype })]);
      allReduceSum(g, group, "SyncBatchNorm forward");
      return g;
    });
    if (local.requiresGrad) {
      local.registerHook((grad) => {
        const g = grad.clone();
        allReduceSum(g, group, "SyncBatchNorm backward");
        return g;
      });
    }
    const total = global.select(0, 2 * c).item();
    const sums = local.add(global.narrow(0, 0, 2 * c).sub(local.detach()));
    const mean = sums.narrow(0, 0, c).div(total);
    const variance = sums.narrow(0, c, c).div(total).sub(mean.mul(mean));
    const shape = [1, c, ...Array(input.dim() - 2).fill(1)];
    let out = input.sub(mean.view(shape)).div(variance.add(this.eps).sqrt().view(shape));
    if (this.weight && this.bias) out = out.mul(this.weight.view(shape)).add(this.bias.view(shape));
    if (this.trackRunningStats && this.running_mean && this.running_var && this.num_batches_tracked) {
      noGrad(() => {
        this.num_batches_tracked!.add_(1);
        const factor = this.momentum === null ? 1 / Number(this.num_batches_tracked!.item()) : this.momentum;
        const unbiased = variance.detach().mul(total / Math.max(1, total - 1));
        this.running_mean!.mul_(1 - factor).add_(mean.detach().mul(factor));
        this.running_var!.mul_(1 - factor).add_(unbiased.mul(factor));
      });
    }
    return out;
  }

  /** Replaces every BatchNorm1d / BatchNorm2d in `module` (or `module` itself) by a SyncBatchNorm with its parameters and statistics. */
  static convertSyncBatchnorm(module: Module, processGroup?: ProcessGroup): Module {
    if (!(module instanceof Module)) throw new FlareError(`SyncBatchNorm.convertSyncBatchnorm(): module must be an nn.Module, got ${String(module)}`, "E_TYPE");
    if ((module instanceof BatchNorm1d || module instanceof BatchNorm2d) && !(module instanceof SyncBatchNorm)) {
      const bn = module;
      const sync = new SyncBatchNorm(bn.numFeatures, { eps: bn.eps, momentum: bn.momentum, affine: bn.affine, trackRunningStats: bn.trackRunningStats, ...(processGroup ? { processGroup } : {}) });
      noGrad(() => {
        for (const [name, t] of bn.namedParameters({ recurse: false })) (sync as unknown as Record<string, Tensor>)[name].copy_(t);
        for (const [name, t] of bn.namedBuffers({ recurse: false })) (sync as unknown as Record<string, Tensor>)[name].copy_(t);
      });
      sync.train(bn.training);
      return sync;
    }
    for (const [name, child] of module.namedChildren()) {
      const converted = SyncBatchNorm.convertSyncBatchnorm(child, processGroup);
      if (converted !== child) {
        module.addModule(name, converted);
        child.dispose();
      }
    }
    return module;
  }
}
