// torch.nn.init: in-place initialisers, run without recording gradients. They
// draw from libtorch's generator with the same calls as PyTorch, so after the
// same manualSeed they give the same values.
import { FlareError } from "../errors.js";
import { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../tensor/autograd.js";
import { tensorArg, numberArg, oneOf } from "./utils.js";

export type Nonlinearity =
  | "linear" | "conv1d" | "conv2d" | "conv3d" | "conv_transpose1d" | "conv_transpose2d" | "conv_transpose3d"
  | "sigmoid" | "tanh" | "relu" | "leaky_relu" | "selu";
export type FanMode = "fan_in" | "fan_out";

const LINEAR_FNS = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"];

/** The recommended gain for a nonlinearity (PyTorch's calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number | null): number {
  if (LINEAR_FNS.includes(nonlinearity) || nonlinearity === "sigmoid") return 1;
  if (nonlinearity === "tanh") return 5.0 / 3;
  if (nonlinearity === "relu") return Math.sqrt(2.0);
  if (nonlinearity === "leaky_relu") {
    const slope = param ?? 0.01;
    if (typeof slope !== "number" || Number.isNaN(slope)) throw new FlareError(`calculateGain(): negative slope ${String(slope)} is not a valid number`, "E_ARGUMENT");
    return Math.sqrt(2.0 / (1 + slope ** 2));
  }
  if (nonlinearity === "selu") return 3.0 / 4;
  throw new FlareError(`calculateGain(): unsupported nonlinearity "${String(nonlinearity)}"`, "E_ARGUMENT");
}

/** [fanIn, fanOut] of a weight: size(1) and size(0) times the receptive field. */
export function calculateFanInAndFanOut(tensor: Tensor): [number, number] {
  tensorArg(tensor, "calculateFanInAndFanOut(): tensor");
  const shape = tensor.shape;
  if (shape.length < 2) throw new FlareError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions", "E_SHAPE");
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i];
  return [shape[1] * receptive, shape[0] * receptive];
}

function fanOf(tensor: Tensor, mode: FanMode): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  return oneOf(mode, ["fan_in", "fan_out"] as const, "mode") === "fan_in" ? fanIn : fanOut;
}

function inPlace(tensor: Tensor, what: string, fn: () => void): Tensor {
  tensorArg(tensor, `${what}: tensor`);
  noGrad(fn);
  return tensor;
}

/** Fills with U(a, b): uniform_(t, -0.1, 0.1) or uniform_(t, { a, b }). */
export function uniform_(tensor: Tensor, a: number | { a?: number; b?: number } = 0, b = 1): Tensor {
  const o = typeof a === "object" ? { a: a.a ?? 0, b: a.b ?? 1 } : { a, b };
  return inPlace(tensor, "uniform_()", () => tensor.uniform_(numberArg(o.a, "uniform_(): a"), numberArg(o.b, "uniform_(): b")));
}

/** Fills with N(mean, std²): normal_(t, 0, 0.01) or normal_(t, { mean, std }). */
export function normal_(tensor: Tensor, mean: number | { mean?: number; std?: number } = 0, std = 1): Tensor {
  const o = typeof mean === "object" ? { mean: mean.mean ?? 0, std: mean.std ?? 1 } : { mean, std };
  return inPlace(tensor, "normal_()", () => tensor.normal_(numberArg(o.mean, "normal_(): mean"), numberArg(o.std, "normal_(): std")));
}

export function constant_(tensor: Tensor, value: number): Tensor {
  return inPlace(tensor, "constant_()", () => tensor.fill_(numberArg(value, "constant_(): value")));
}
export function zeros_(tensor: Tensor): Tensor { return inPlace(tensor, "zeros_()", () => tensor.zero_()); }
export function ones_(tensor: Tensor): Tensor { return inPlace(tensor, "ones_()", () => tensor.fill_(1)); }

function gainOf(gain: number | { gain?: number }): number {
  return numberArg(typeof gain === "object" ? gain.gain ?? 1 : gain, "gain");
}

/** Glorot uniform: U(-a, a) with a = gain·√(6 / (fanIn + fanOut)). */
export function xavierUniform_(tensor: Tensor, gain: number | { gain?: number } = 1): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const std = gainOf(gain) * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return inPlace(tensor, "xavierUniform_()", () => tensor.uniform_(-a, a));
}

/** Glorot normal: N(0, std²) with std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal_(tensor: Tensor, gain: number | { gain?: number } = 1): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const std = gainOf(gain) * Math.sqrt(2.0 / (fanIn + fanOut));
  return inPlace(tensor, "xavierNormal_()", () => tensor.normal_(0, std));
}

export interface KaimingOptions { a?: number; mode?: FanMode; nonlinearity?: Nonlinearity }

/** He uniform: U(-bound, bound) with bound = gain·√(3 / fan). */
export function kaimingUniform_(tensor: Tensor, options: KaimingOptions = {}): Tensor {
  tensorArg(tensor, "kaimingUniform_(): tensor");
  if (tensor.numel() === 0) return tensor;
  const { a = 0, mode = "fan_in", nonlinearity = "leaky_relu" } = options;
  const fan = fanOf(tensor, mode);
  const std = calculateGain(nonlinearity, a) / Math.sqrt(fan);
  const bound = Math.sqrt(3.0) * std;
  return inPlace(tensor, "kaimingUniform_()", () => tensor.uniform_(-bound, bound));
}

/** He normal: N(0, std²) with std = gain / √fan. */
export function kaimingNormal_(tensor: Tensor, options: KaimingOptions = {}): Tensor {
  tensorArg(tensor, "kaimingNormal_(): tensor");
  if (tensor.numel() === 0) return tensor;
  const { a = 0, mode = "fan_in", nonlinearity = "leaky_relu" } = options;
  const fan = fanOf(tensor, mode);
  const std = calculateGain(nonlinearity, a) / Math.sqrt(fan);
  return inPlace(tensor, "kaimingNormal_()", () => tensor.normal_(0, std));
}
export { bilinearKernel } from "./bilinear.js";
