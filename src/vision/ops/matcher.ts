// torchvision.models.detection._utils.Matcher: assigns each prediction (an
// anchor, a proposal) the ground-truth element it overlaps most, or marks it
// as below the low threshold (-1) or between the thresholds (-2).
import { FlareError } from "../../errors.js";
import * as torch from "../../tensor/index.js";
import type { Tensor } from "../../tensor/index.js";
import { checkNumber, checkOptions, checkTensor, describe } from "./_checks.js";

export interface MatcherOptions {
  /**
   * Also match each prediction that is the best for some ground truth (ties
   * included) to its own best ground truth, even below the thresholds
   * (torchvision's allow_low_quality_matches; default false).
   */
  allowLowQualityMatches?: boolean;
}

export class Matcher {
  static readonly BELOW_LOW_THRESHOLD = -1;
  static readonly BETWEEN_THRESHOLDS = -2;
  readonly BELOW_LOW_THRESHOLD = -1;
  readonly BETWEEN_THRESHOLDS = -2;
  readonly highThreshold: number;
  readonly lowThreshold: number;
  readonly allowLowQualityMatches: boolean;

  /** Quality ≥ highThreshold is a match; [lowThreshold, highThreshold) is BETWEEN_THRESHOLDS; below is BELOW_LOW_THRESHOLD. */
  constructor(highThreshold: number, lowThreshold: number, options?: MatcherOptions) {
    checkNumber(highThreshold, "Matcher: highThreshold");
    checkNumber(lowThreshold, "Matcher: lowThreshold");
    if (lowThreshold > highThreshold) throw new FlareError(`Matcher: lowThreshold (${lowThreshold}) must be <= highThreshold (${highThreshold})`, "E_ARGUMENT");
    checkOptions(options, ["allowLowQualityMatches"], "Matcher");
    const allow = options?.allowLowQualityMatches ?? false;
    if (typeof allow !== "boolean") throw new FlareError(`Matcher: allowLowQualityMatches must be a boolean, got ${describe(allow)}`, "E_ARGUMENT");
    this.highThreshold = highThreshold;
    this.lowThreshold = lowThreshold;
    this.allowLowQualityMatches = allow;
  }

  /**
   * matchQualityMatrix [M ground truths, N predictions] (e.g. boxIou(gt,
   * anchors)) → int64 [N]: the matched ground truth in [0, M − 1], or -1 / -2.
   */
  forward(matchQualityMatrix: Tensor): Tensor {
    checkTensor(matchQualityMatrix, "Matcher: matchQualityMatrix");
    if (matchQualityMatrix.ndim !== 2) throw new FlareError(`Matcher: matchQualityMatrix must be [M ground truths, N predictions], got [${matchQualityMatrix.shape.join(", ")}]`, "E_SHAPE");
    if (matchQualityMatrix.numel() === 0)
      throw new FlareError(matchQualityMatrix.shape[0] === 0
        ? "Matcher: no ground-truth boxes available for one of the images (matchQualityMatrix has 0 rows)"
        : "Matcher: no proposal boxes available for one of the images (matchQualityMatrix has 0 columns)", "E_SHAPE");
    return torch.tidy(() => {
      const { values, indices: allMatches } = matchQualityMatrix.max(0);
      const below = values.lt(this.lowThreshold);
      const between = values.ge(this.lowThreshold).logicalAnd(values.lt(this.highThreshold));
      let matches = allMatches.maskedFill(below, this.BELOW_LOW_THRESHOLD).maskedFill(between, this.BETWEEN_THRESHOLDS);
      if (this.allowLowQualityMatches) {
        // Predictions that are some ground truth's best (ties included) keep their best match.
        const best = matchQualityMatrix.amax(1, { keepdim: true });
        const update = matchQualityMatrix.eq(best).any(0);
        matches = torch.where(update, allMatches, matches);
      }
      return matches;
    });
  }
}
