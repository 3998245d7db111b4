// d2l 14.12's Gram matrix: the channel-by-channel inner products of a feature
// map, normalised by its size, so maps of any resolution compare.
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/index.js";

/**
 * gram(X) = X·Xᵀ / (c·h·w), X the (1, c, h, w) map reshaped to c × hw (the
 * book's gram, which assumes one image: a batch of n is taken as one map of n·h·w).
 */
export function gram(x: Tensor): Tensor {
  if (!(x instanceof Tensor)) throw new FlareError(`gram(): x must be a Tensor, got ${String(x)}`, "E_TYPE");
  if (x.ndim !== 4) throw new FlareError(`gram(): x must be a (1, C, H, W) feature map, got shape [${x.shape.join(", ")}]`, "E_SHAPE");
  const c = x.shape[1], n = x.numel() / c;
  const f = x.reshape([c, n]);
  return f.matmul(f.t()).div(c * n);
}
