// d2l 14.12's three losses and their weighted sum: content (MSE of feature
// maps), style (MSE of Gram matrices) and total variation (the image's
// neighbour differences, which keep the noise down).
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/index.js";
import { gram, type GramOptions } from "./gram.js";

/** mean((Ŷ − Y)²); the target is a constant. */
export function contentLoss(yHat: Tensor, y: Tensor): Tensor {
  return yHat.sub(y.detach()).square().mean();
}

/** mean((gram(Ŷ) − gramY)²) over the c × c entries; `method` is gram()'s. */
export function styleLoss(yHat: Tensor, gramY: Tensor, options: GramOptions = {}): Tensor {
  return gram(yHat, options).sub(gramY.detach()).square().mean();
}

/** 0.5·(mean|X[:, :, 1:, :] − X[:, :, :−1, :]| + mean|X[:, :, :, 1:] − X[:, :, :, :−1]|). */
export function tvLoss(yHat: Tensor): Tensor {
  if (yHat.ndim !== 4 || yHat.shape[2] < 2 || yHat.shape[3] < 2)
    throw new FlareError(`tvLoss(): expected an (N, C, H, W) image with H, W ≥ 2, got shape [${yHat.shape.join(", ")}]`, "E_SHAPE");
  const down = yHat.index(":", ":", "1:", ":").sub(yHat.index(":", ":", ":-1", ":")).abs().mean();
  const right = yHat.index(":", ":", ":", "1:").sub(yHat.index(":", ":", ":", ":-1")).abs().mean();
  return down.add(right).mul(0.5);
}

export interface LossWeights { content: number; style: number; tv: number }

/** The book's weights: content 1, style 1e4, total variation 10. */
export const BOOK_WEIGHTS: Readonly<LossWeights> = Object.freeze({ content: 1, style: 1e4, tv: 10 });

export interface StyleLosses {
  /** Weighted content loss per content layer. */
  content: Tensor[];
  /** Weighted style loss per style layer. */
  style: Tensor[];
  /** Weighted total-variation loss. */
  tv: Tensor;
  /** Σ style + Σ content + tv: what is minimised. */
  total: Tensor;
}

/** The book's compute_loss: each loss times its weight, and their sum; `method` is gram()'s. */
export function computeLoss(x: Tensor, contentsYHat: Tensor[], stylesYHat: Tensor[], contentsY: Tensor[], stylesYGram: Tensor[],
  weights: LossWeights = BOOK_WEIGHTS, options: GramOptions = {}): StyleLosses {
  if (contentsYHat.length !== contentsY.length || stylesYHat.length !== stylesYGram.length)
    throw new FlareError(`computeLoss(): ${contentsYHat.length} content maps for ${contentsY.length} targets, ${stylesYHat.length} style maps for ${stylesYGram.length} Grams`, "E_ARGUMENT");
  const content = contentsYHat.map((yHat, i) => contentLoss(yHat, contentsY[i]).mul(weights.content));
  const style = stylesYHat.map((yHat, i) => styleLoss(yHat, stylesYGram[i], options).mul(weights.style));
  const tv = tvLoss(x).mul(weights.tv);
  // Summed in the book's order (sum(styles_l + contents_l + [tv_l])), so float results match.
  const [first, ...rest] = [...style, ...content, tv];
  let total = first;
  for (const l of rest) total = total.add(l);
  return { content, style, tv, total };
}
