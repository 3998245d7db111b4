// torchvision.models.detection._utils.BalancedPositiveNegativeSampler: per
// image, a batch of positives (label >= 1) and negatives (label 0) with at most
// positiveFraction positives; -1 (ignored) is never drawn. The draws are
// torch.randperm on libtorch's generator, one for the positives then one for
// the negatives of each image, as torchvision's: after the same manualSeed the
// same anchors and proposals are sampled.
import { FlareError } from "../../errors.js";
import * as torch from "../../tensor/index.js";
import type { Tensor } from "../../tensor/index.js";
import { checkTensor, describe } from "./_checks.js";

export class BalancedPositiveNegativeSampler {
  readonly batchSizePerImage: number;
  readonly positiveFraction: number;

  /** batchSizePerImage elements per image, a positiveFraction of them positive at most. */
  constructor(batchSizePerImage: number, positiveFraction: number) {
    if (!Number.isInteger(batchSizePerImage) || batchSizePerImage < 1)
      throw new FlareError(`BalancedPositiveNegativeSampler: batchSizePerImage must be a positive integer, got ${describe(batchSizePerImage)}`, "E_ARGUMENT");
    if (typeof positiveFraction !== "number" || !(positiveFraction >= 0 && positiveFraction <= 1))
      throw new FlareError(`BalancedPositiveNegativeSampler: positiveFraction must be a number in [0, 1], got ${describe(positiveFraction)}`, "E_ARGUMENT");
    this.batchSizePerImage = batchSizePerImage;
    this.positiveFraction = positiveFraction;
  }

  /**
   * matchedIdxs: per image, labels [Ni] (-1 ignore, 0 negative, >= 1 positive).
   * Returns per image two uint8 masks [Ni]: the sampled positives and negatives.
   */
  forward(matchedIdxs: Tensor[]): [Tensor[], Tensor[]] {
    if (!Array.isArray(matchedIdxs)) throw new FlareError(`BalancedPositiveNegativeSampler: matchedIdxs must be an array of one label tensor per image, got ${describe(matchedIdxs)}`, "E_ARGUMENT");
    const pos: Tensor[] = [], neg: Tensor[] = [];
    for (const [i, labels] of matchedIdxs.entries()) {
      checkTensor(labels, `BalancedPositiveNegativeSampler: matchedIdxs[${i}]`);
      if (labels.ndim !== 1) throw new FlareError(`BalancedPositiveNegativeSampler: matchedIdxs[${i}] must be 1-D, got [${labels.shape.join(", ")}]`, "E_SHAPE");
      const [p, n] = torch.tidy(() => {
        const positive = labels.ge(1).nonzero().select(1, 0);
        const negative = labels.eq(0).nonzero().select(1, 0);
        const numPos = Math.min(positive.numel(), Math.floor(this.batchSizePerImage * this.positiveFraction));
        const numNeg = Math.min(negative.numel(), this.batchSizePerImage - numPos);
        const perm1 = torch.randperm(positive.numel(), { device: labels.device }).narrow(0, 0, numPos);
        const perm2 = torch.randperm(negative.numel(), { device: labels.device }).narrow(0, 0, numNeg);
        const posMask = torch.zeros(labels.shape, { dtype: "uint8", device: labels.device });
        const negMask = torch.zeros(labels.shape, { dtype: "uint8", device: labels.device });
        posMask.indexPut_([positive.index(perm1)], 1);
        negMask.indexPut_([negative.index(perm2)], 1);
        return [posMask, negMask];
      });
      pos.push(p);
      neg.push(n);
    }
    return [pos, neg];
  }
}
