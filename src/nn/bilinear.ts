// d2l's bilinear_kernel (14.11): the weight that makes a transposed convolution
// upsample each channel by bilinear interpolation, FCN's initial upsampling.
import { FlareError } from "../errors.js";
import { fromTypedArray } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import { intArg } from "./utils.js";

/** The k×k bilinear filter, computed in float32 step by step as the book's tensor code does. */
function filter(k: number): Float32Array {
  const f32 = Math.fround;
  const factor = Math.floor((k + 1) / 2);
  const center = k % 2 === 1 ? factor - 1 : factor - 0.5;
  const line = new Float32Array(k);
  for (let a = 0; a < k; a++) line[a] = f32(1 - f32(Math.abs(f32(a - center)) / factor));
  const out = new Float32Array(k * k);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) out[a * k + b] = f32(line[a] * line[b]);
  return out;
}

/**
 * The book's bilinear_kernel(in_channels, out_channels, kernel_size): zeros of
 * [inChannels, outChannels, k, k] with the bilinear filter at [i, i] (channel i
 * upsampled on its own). As the book's advanced indexing, the channel counts
 * must be equal, or one of them 1 (then it pairs with every channel of the other).
 */
export function bilinearKernel(inChannels: number, outChannels: number, kernelSize: number): Tensor {
  const what = "bilinearKernel()";
  const cin = intArg(inChannels, `${what}: inChannels`, 1), cout = intArg(outChannels, `${what}: outChannels`, 1);
  const k = intArg(kernelSize, `${what}: kernelSize`, 1);
  if (cin !== cout && cin !== 1 && cout !== 1)
    throw new FlareError(`${what}: inChannels (${cin}) and outChannels (${cout}) must be equal (each channel upsampled on its own), or one of them 1`, "E_ARGUMENT");
  const filt = filter(k), plane = k * k;
  const weight = new Float32Array(cin * cout * plane);
  for (let i = 0; i < Math.max(cin, cout); i++) {
    const [a, b] = [cin === 1 ? 0 : i, cout === 1 ? 0 : i];
    weight.set(filt, (a * cout + b) * plane);
  }
  return fromTypedArray(weight, [cin, cout, k, k]);
}
