// torch.nn.init: in-place initialisers, run without recording gradients. They
// draw from libtorch's generator with the same calls as PyTorch, so after the
// same manualSeed they give the same values.
import { FlareError } from "../errors.js";
import { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../tensor/autograd.js";
import { tensorArg, numberArg, oneOf } from "./utils.js";
import { pytorchOptions, type PyArgs } from "../options.js";

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
export function uniform_(tensor: Tensor, ...args: PyArgs<"init.uniform_", { a?: number; b?: number }>): Tensor {
  const o = pytorchOptions<{ a?: number; b?: number }>("init.uniform_", args, ["a", "b"], "init.uniform_()");
  return inPlace(tensor, "uniform_()", () => tensor.uniform_(numberArg(o.a ?? 0, "uniform_(): a"), numberArg(o.b ?? 1, "uniform_(): b")));
}

/** Fills with N(mean, std²): normal_(t, 0, 0.01) or normal_(t, { mean, std }). */
export function normal_(tensor: Tensor, ...args: PyArgs<"init.normal_", { mean?: number; std?: number }>): Tensor {
  const o = pytorchOptions<{ mean?: number; std?: number }>("init.normal_", args, ["mean", "std"], "init.normal_()");
  return inPlace(tensor, "normal_()", () => tensor.normal_(numberArg(o.mean ?? 0, "normal_(): mean"), numberArg(o.std ?? 1, "normal_(): std")));
}

export function constant_(tensor: Tensor, value: number): Tensor {
  return inPlace(tensor, "constant_()", () => tensor.fill_(numberArg(value, "constant_(): value")));
}
export function zeros_(tensor: Tensor): Tensor { return inPlace(tensor, "zeros_()", () => tensor.zero_()); }
export function ones_(tensor: Tensor): Tensor { return inPlace(tensor, "ones_()", () => tensor.fill_(1)); }

function gainOf(name: "init.xavierUniform_" | "init.xavierNormal_", args: unknown[]): number {
  return numberArg(pytorchOptions<{ gain?: number }>(name, args, ["gain"], `${name}()`).gain ?? 1, `${name}(): gain`);
}

/** Glorot uniform: U(-a, a) with a = gain·√(6 / (fanIn + fanOut)). */
export function xavierUniform_(tensor: Tensor, ...args: PyArgs<"init.xavierUniform_", { gain?: number }>): Tensor {
  const gain = gainOf("init.xavierUniform_", args);
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return inPlace(tensor, "xavierUniform_()", () => tensor.uniform_(-a, a));
}

/** Glorot normal: N(0, std²) with std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal_(tensor: Tensor, ...args: PyArgs<"init.xavierNormal_", { gain?: number }>): Tensor {
  const gain = gainOf("init.xavierNormal_", args);
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  return inPlace(tensor, "xavierNormal_()", () => tensor.normal_(0, std));
}

export interface KaimingOptions { a?: number; mode?: FanMode; nonlinearity?: Nonlinearity }
const KAIMING_OPTIONS = ["a", "mode", "nonlinearity"] as const;

/** He uniform: U(-bound, bound) with bound = gain·√(3 / fan). */
export function kaimingUniform_(tensor: Tensor, ...args: PyArgs<"init.kaimingUniform_", KaimingOptions>): Tensor {
  const { a = 0, mode = "fan_in", nonlinearity = "leaky_relu" } = pytorchOptions<KaimingOptions>("init.kaimingUniform_", args, KAIMING_OPTIONS, "init.kaimingUniform_()");
  tensorArg(tensor, "kaimingUniform_(): tensor");
  if (tensor.numel() === 0) return tensor;
  const fan = fanOf(tensor, mode);
  const std = calculateGain(nonlinearity, a) / Math.sqrt(fan);
  const bound = Math.sqrt(3.0) * std;
  return inPlace(tensor, "kaimingUniform_()", () => tensor.uniform_(-bound, bound));
}

/** He normal: N(0, std²) with std = gain / √fan. */
export function kaimingNormal_(tensor: Tensor, ...args: PyArgs<"init.kaimingNormal_", KaimingOptions>): Tensor {
  const { a = 0, mode = "fan_in", nonlinearity = "leaky_relu" } = pytorchOptions<KaimingOptions>("init.kaimingNormal_", args, KAIMING_OPTIONS, "init.kaimingNormal_()");
  tensorArg(tensor, "kaimingNormal_(): tensor");
  if (tensor.numel() === 0) return tensor;
  const fan = fanOf(tensor, mode);
  const std = calculateGain(nonlinearity, a) / Math.sqrt(fan);
  return inPlace(tensor, "kaimingNormal_()", () => tensor.normal_(0, std));
}
export { bilinearKernel } from "./bilinear.js";
