// d2l 14.12's Gram matrix: the channel-by-channel inner products of a feature
// map, normalised by its size, so maps of any resolution compare.
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";
import * as F from "../../nn/functional.js";
import { Tensor } from "../../tensor/index.js";

/**
 * How X·Xᵀ is computed. "matmul": the book's (bit for bit PyTorch's, which
 * tests/style.parity.test.ts relies on). "conv": the same sums as a
 * convolution (the c rows as a batch of 1-channel 1 × hw images, each
 * correlated with the c rows as filters), i.e. through oneDNN rather than
 * matmul's BLAS, which on Debian's libtorch is the reference BLAS: 32 × 135,000
 * times its transpose, forward + backward, takes 0.30 s by matmul and 0.07 s
 * this way on one thread, and matmul was 80% of a step of the default
 * (random-filter) style transfer at 300 × 450 (bench/stylize_profile.ts). The
 * results differ only in float rounding (summation order).
 */
export type GramMethod = "matmul" | "conv";

export interface GramOptions {
  /** "matmul" (the book's; default) or "conv" (faster on a reference BLAS). */
  method?: GramMethod;
}

/**
 * gram(X) = X·Xᵀ / (c·h·w), X the (1, c, h, w) map reshaped to c × hw (the
 * book's gram, which assumes one image: a batch of n is taken as one map of n·h·w).
 */
export function gram(x: Tensor, options: GramOptions = {}): Tensor {
  if (!(x instanceof Tensor)) throw new FlareError(`gram(): x must be a Tensor, got ${String(x)}`, "E_TYPE");
  if (x.ndim !== 4) throw new FlareError(`gram(): x must be a (1, C, H, W) feature map, got shape [${x.shape.join(", ")}]`, "E_SHAPE");
  const method = checkOptions(options, ["method"], "gram()").method ?? "matmul";
  if (method !== "matmul" && method !== "conv") throw new FlareError(`gram(): method must be "matmul" or "conv", got ${JSON.stringify(method)}`, "E_ARGUMENT");
  const c = x.shape[1], n = x.numel() / c;
  if (method === "conv") {
    const f = x.reshape([c, 1, 1, n]);
    return F.conv2d(f, f).reshape([c, c]).div(c * n);
  }
  const f = x.reshape([c, n]);
  return f.matmul(f.t()).div(c * n);
}
