// torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
import { FlareError } from "../errors.js";
import { Tensor } from "../tensor/tensor.js";
import { stack } from "../tensor/ops/shape.js";
import { noGrad } from "../tensor/autograd.js";
import { tidy } from "../tensor/scope.js";
import { checkOptions } from "../options.js";

function withGrads(parameters: Iterable<Tensor> | Tensor): Tensor[] {
  const list = parameters instanceof Tensor ? [parameters] : [...parameters];
  return list.map((p) => p.grad).filter((g): g is Tensor => g !== null);
}

/**
 * Scales the gradients in place so that their joint norm is at most maxNorm;
 * returns the total norm before clipping (a plain number).
 */
export function clipGradNorm_(parameters: Iterable<Tensor> | Tensor, maxNorm: number,
  options: { normType?: number; errorIfNonfinite?: boolean } = {}): number {
  checkOptions(options, ["normType", "errorIfNonfinite"], "clipGradNorm_()");
  const normType = options.normType ?? 2;
  if (!(maxNorm > 0)) throw new FlareError(`clipGradNorm_(): maxNorm must be positive, got ${maxNorm}`, "E_ARGUMENT");
  const grads = withGrads(parameters);
  if (grads.length === 0) return 0;
  return tidy(() => noGrad(() => {
    const norms = stack(grads.map((g) => (normType === Infinity ? g.abs().max() : g.norm(normType))));
    const total = normType === Infinity ? norms.max() : norms.norm(normType);
    const value = total.item();
    if (options.errorIfNonfinite && !Number.isFinite(value))
      throw new FlareError(`clipGradNorm_(): the total norm of order ${normType} of the gradients is ${value}`, "E_STATE");
    const coefficient = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
    for (const g of grads) g.mul_(coefficient);
    return value;
  }));
}

/** Clamps every gradient element to [-clipValue, clipValue], in place. */
export function clipGradValue_(parameters: Iterable<Tensor> | Tensor, clipValue: number): void {
  for (const g of withGrads(parameters)) g.clamp_(-clipValue, clipValue);
}
