// The matrix view of a convolution (d2l 14.10.4, kernel2matrix): a 2-D
// convolution of an H×W input is y = W·vec(x) with a sparse
// [outH·outW, H·W] matrix W; the transposed convolution multiplies by Wᵀ.
import { FlareError } from "../errors.js";
import { fromTypedArray } from "../tensor/creation.js";
import { Tensor, describe } from "../tensor/tensor.js";
import { tidy } from "../tensor/scope.js";
import { pairArg } from "./utils.js";
import { checkOptions, optionNames } from "../options.js";

export interface ConvMatrixOptions { stride?: number | [number, number]; padding?: number | [number, number] }
const CONV_MATRIX_OPTIONS = optionNames<ConvMatrixOptions>({ stride: 1, padding: 1 });

/**
 * convMatrix(kernel, [H, W]): the [outH·outW, H·W] matrix of the convolution
 * (cross-correlation, as conv2d) of an H×W input with a 2-D kernel, so that
 * conv2d(x, k) = (W @ x.reshape(-1)).reshape(outH, outW) and convTranspose2d(y, k)
 * = (Wᵀ @ y.reshape(-1)).reshape(H, W). Zero padding drops the taps that fall
 * outside the input. The matrix has the kernel's dtype.
 */
export function convMatrix(kernel: Tensor, inputShape: [number, number], options: ConvMatrixOptions = {}): Tensor {
  const what = "convMatrix()";
  if (!(kernel instanceof Tensor)) throw new FlareError(`${what}: kernel must be a Tensor, got ${describe(kernel)}`, "E_ARGUMENT");
  if (kernel.dim() !== 2) throw new FlareError(`${what}: kernel must be 2-D [kH, kW], got shape [${kernel.shape.join(", ")}]`, "E_SHAPE");
  if (!kernel.dtype.startsWith("float")) throw new FlareError(`${what}: kernel must be a floating tensor, got ${kernel.dtype}`, "E_DTYPE");
  if (!Array.isArray(inputShape) || inputShape.length !== 2 || !inputShape.every((v) => Number.isInteger(v) && v > 0))
    throw new FlareError(`${what}: inputShape must be [H, W] with positive integers, got ${JSON.stringify(inputShape)}`, "E_ARGUMENT");
  const o = checkOptions(options, CONV_MATRIX_OPTIONS, what);
  const [sh, sw] = pairArg(o.stride ?? 1, `${what}: stride`, 1);
  const [ph, pw] = pairArg(o.padding ?? 0, `${what}: padding`, 0);
  const [H, W] = inputShape;
  const [kh, kw] = kernel.shape;
  const outH = Math.floor((H + 2 * ph - kh) / sh) + 1, outW = Math.floor((W + 2 * pw - kw) / sw) + 1;
  if (outH < 1 || outW < 1) throw new FlareError(`${what}: the ${kh}×${kw} kernel is larger than the padded ${H}×${W} input`, "E_SHAPE");
  const values = tidy(() => kernel.to({ dtype: "float64", device: "cpu" }).contiguous().dataSync() as Float64Array);
  const m = new Float64Array(outH * outW * H * W);
  for (let i = 0; i < outH; i++) for (let j = 0; j < outW; j++) {
    const row = (i * outW + j) * H * W;
    for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
      const y = i * sh - ph + a, x = j * sw - pw + b;
      if (y >= 0 && y < H && x >= 0 && x < W) m[row + y * W + x] = values[a * kw + b];
    }
  }
  return tidy(() => fromTypedArray(m, [outH * outW, H * W]).to({ dtype: kernel.dtype, device: kernel.device }));
}
