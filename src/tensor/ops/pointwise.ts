// Element-wise ops with PyTorch's broadcasting: arithmetic with tensors or
// numbers, comparison and logic, math functions, and their in-place forms.
import { op } from "../native.js";
import { aten } from "../aten.js";
import { Tensor, wrap } from "../tensor.js";

type Other = Tensor | number | boolean;
type Unary = () => Tensor;

/** One method that picks the Tensor or the Scalar overload by the argument. */
function binary(name: string, tensorOverload = "Tensor", scalarOverload = "Scalar") {
  const withTensor = op(`aten::${name}`, tensorOverload);
  const withScalar = op(`aten::${name}`, scalarOverload);
  return function (this: Tensor, other: Other, extra?: unknown): Tensor {
    return wrap(other instanceof Tensor ? withTensor(this.handle, other.handle, extra) : withScalar(this.handle, other, extra));
  };
}

function binaryInPlace(name: string, tensorOverload = "Tensor", scalarOverload = "Scalar") {
  const withTensor = op(`aten::${name}_`, tensorOverload);
  const withScalar = op(`aten::${name}_`, scalarOverload);
  return function <T extends Tensor>(this: T, other: Other, extra?: unknown): T {
    if (other instanceof Tensor) withTensor(this.handle, other.handle, extra); else withScalar(this.handle, other, extra);
    return this;
  };
}

// Operators other files call too (relu, sigmoid, tanh, ...) come from the one table.
function shared(key: string): ((...args: unknown[]) => unknown) | undefined {
  return Object.hasOwn(aten, key) ? (aten as Record<string, (...args: unknown[]) => unknown>)[key] : undefined;
}

function unary(name: string): Unary {
  const f = shared(name) ?? op(`aten::${name}`);
  return function (this: Tensor) { return wrap(f(this.handle)); };
}

function unaryInPlace(name: string) {
  const f = shared(`${name}In`) ?? op(`aten::${name}_`);
  return function <T extends Tensor>(this: T): T { f(this.handle); return this; };
}

const UNARY = [
  "neg", "abs", "sign", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal",
  "square", "floor", "ceil", "trunc", "frac", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
  "sigmoid", "tanh", "relu", "erf", "erfinv", "isnan", "isinf", "isfinite", "logicalNot", "bitwiseNot",
] as const;
const UNARY_IN_PLACE = [
  "neg", "abs", "exp", "log", "sqrt", "rsqrt", "reciprocal", "floor", "ceil", "trunc", "sigmoid", "tanh", "relu",
  "sin", "cos", "zero", "logicalNot", "round", "sign", "square",
] as const;
type UnaryName = (typeof UNARY)[number];
type UnaryInPlaceName = `${(typeof UNARY_IN_PLACE)[number]}_`;

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());

declare module "../tensor.js" {
  interface Tensor extends Record<UnaryName, Unary>, Record<UnaryInPlaceName, () => Tensor> {
    add(other: Other, options?: { alpha?: number }): Tensor;
    sub(other: Other, options?: { alpha?: number }): Tensor;
    mul(other: Other): Tensor;
    /** roundingMode: undefined (true division), "trunc" or "floor". */
    div(other: Other, options?: { roundingMode?: "trunc" | "floor" }): Tensor;
    pow(exponent: Other): Tensor;
    remainder(other: Other): Tensor;
    fmod(other: Other): Tensor;
    atan2(other: Tensor): Tensor;
    maximum(other: Tensor): Tensor;
    minimum(other: Tensor): Tensor;
    eq(other: Other): Tensor; ne(other: Other): Tensor; lt(other: Other): Tensor;
    le(other: Other): Tensor; gt(other: Other): Tensor; ge(other: Other): Tensor;
    logicalAnd(other: Tensor): Tensor; logicalOr(other: Tensor): Tensor; logicalXor(other: Tensor): Tensor;
    bitwiseAnd(other: Other): Tensor; bitwiseOr(other: Other): Tensor; bitwiseXor(other: Other): Tensor;
    clamp(min?: number | null, max?: number | null): Tensor;
    clip(min?: number | null, max?: number | null): Tensor;
    round(options?: { decimals?: number }): Tensor;
    softmax(dim: number, options?: { dtype?: string }): Tensor;
    logSoftmax(dim: number, options?: { dtype?: string }): Tensor;
    lerp(end: Tensor, weight: number | Tensor): Tensor;
    addcmul(tensor1: Tensor, tensor2: Tensor, options?: { value?: number }): Tensor;
    addcdiv(tensor1: Tensor, tensor2: Tensor, options?: { value?: number }): Tensor;
    nanToNum(options?: { nan?: number; posinf?: number; neginf?: number }): Tensor;
    add_(other: Other, options?: { alpha?: number }): this;
    sub_(other: Other, options?: { alpha?: number }): this;
    mul_(other: Other): this;
    div_(other: Other): this;
    pow_(exponent: Other): this;
    clamp_(min?: number | null, max?: number | null): this;
    fill_(value: number | boolean | Tensor): this;
    copy_(source: Tensor): this;
    lerp_(end: Tensor, weight: number | Tensor): this;
    addcmul_(tensor1: Tensor, tensor2: Tensor, options?: { value?: number }): this;
    addcdiv_(tensor1: Tensor, tensor2: Tensor, options?: { value?: number }): this;
    maskedFill_(mask: Tensor, value: number | Tensor): this;
    uniform_(from?: number, to?: number): this;
    normal_(mean?: number, std?: number): this;
    bernoulli_(p?: number): this;
  }
}

const proto = Tensor.prototype as unknown as Record<string, unknown>;
for (const name of UNARY) proto[name] = unary(snake(name));
for (const name of UNARY_IN_PLACE) proto[`${name}_`] = unaryInPlace(snake(name));

const add = binary("add"), sub = binary("sub"), addIn = binaryInPlace("add"), subIn = binaryInPlace("sub");
Tensor.prototype.add = function (other, options = {}) { return add.call(this, other, options.alpha ?? 1); };
Tensor.prototype.sub = function (other, options = {}) { return sub.call(this, other, options.alpha ?? 1); };
Tensor.prototype.add_ = function (other, options = {}) { return addIn.call(this, other, options.alpha ?? 1); };
Tensor.prototype.sub_ = function (other, options = {}) { return subIn.call(this, other, options.alpha ?? 1); };
Tensor.prototype.mul = binary("mul");
Tensor.prototype.mul_ = binaryInPlace("mul");
const divMode = binary("div", "Tensor_mode", "Scalar_mode"), div = binary("div");
Tensor.prototype.div = function (other, options = {}) {
  return options.roundingMode ? divMode.call(this, other, options.roundingMode) : div.call(this, other);
};
Tensor.prototype.div_ = binaryInPlace("div");
Tensor.prototype.pow = binary("pow", "Tensor_Tensor", "Tensor_Scalar");
Tensor.prototype.pow_ = binaryInPlace("pow", "Tensor", "Scalar");
Tensor.prototype.remainder = binary("remainder");
Tensor.prototype.fmod = binary("fmod");
for (const name of ["eq", "ne", "lt", "le", "gt", "ge", "bitwiseAnd", "bitwiseOr", "bitwiseXor"] as const)
  Tensor.prototype[name] = binary(snake(name));
for (const name of ["atan2", "maximum", "minimum", "logicalAnd", "logicalOr", "logicalXor"] as const) {
  const f = op(`aten::${snake(name)}`);
  Tensor.prototype[name] = function (other: Tensor) { return wrap(f(this.handle, other.handle)); };
}

const clampOp = op("aten::clamp"), clampIn = op("aten::clamp_");
Tensor.prototype.clamp = function (min = null, max = null) { return wrap(clampOp(this.handle, min, max)); };
Tensor.prototype.clip = Tensor.prototype.clamp;
Tensor.prototype.clamp_ = function (min = null, max = null) { clampIn(this.handle, min, max); return this; };
const roundOp = op("aten::round"), roundDecimals = op("aten::round", "decimals");
Tensor.prototype.round = function (options = {}) {
  return wrap(options.decimals ? roundDecimals(this.handle, options.decimals) : roundOp(this.handle));
};
const { softmax: softmaxOp, logSoftmax: logSoftmaxOp } = aten;
Tensor.prototype.softmax = function (dim, options = {}) { return wrap(softmaxOp(this.handle, dim, options.dtype ?? null)); };
Tensor.prototype.logSoftmax = function (dim, options = {}) { return wrap(logSoftmaxOp(this.handle, dim, options.dtype ?? null)); };
const lerpScalar = op("aten::lerp", "Scalar"), lerpTensor = op("aten::lerp", "Tensor");
const lerpScalarIn = op("aten::lerp_", "Scalar"), lerpTensorIn = op("aten::lerp_", "Tensor");
Tensor.prototype.lerp = function (end, weight) {
  return wrap(weight instanceof Tensor ? lerpTensor(this.handle, end.handle, weight.handle) : lerpScalar(this.handle, end.handle, weight));
};
Tensor.prototype.lerp_ = function (end, weight) {
  if (weight instanceof Tensor) lerpTensorIn(this.handle, end.handle, weight.handle); else lerpScalarIn(this.handle, end.handle, weight);
  return this;
};
for (const name of ["addcmul", "addcdiv"] as const) {
  const f = op(`aten::${name}`), fIn = op(`aten::${name}_`);
  Tensor.prototype[name] = function (t1: Tensor, t2: Tensor, options: { value?: number } = {}) {
    return wrap(f(this.handle, t1.handle, t2.handle, options.value ?? 1));
  };
  (Tensor.prototype as unknown as Record<string, unknown>)[`${name}_`] = function (this: Tensor, t1: Tensor, t2: Tensor, options: { value?: number } = {}) {
    fIn(this.handle, t1.handle, t2.handle, options.value ?? 1); return this;
  };
}
const nanToNum = op("aten::nan_to_num");
Tensor.prototype.nanToNum = function (options = {}) { return wrap(nanToNum(this.handle, options.nan ?? 0, options.posinf ?? null, options.neginf ?? null)); };

const fillScalar = op("aten::fill_", "Scalar"), fillTensor = op("aten::fill_", "Tensor");
Tensor.prototype.fill_ = function (value) { if (value instanceof Tensor) fillTensor(this.handle, value.handle); else fillScalar(this.handle, value); return this; };
const copyIn = op("aten::copy_");
Tensor.prototype.copy_ = function (source) { copyIn(this.handle, source.handle, false); return this; };
const maskedFillScalar = op("aten::masked_fill_", "Scalar"), maskedFillTensor = op("aten::masked_fill_", "Tensor");
Tensor.prototype.maskedFill_ = function (mask, value) {
  if (value instanceof Tensor) maskedFillTensor(this.handle, mask.handle, value.handle); else maskedFillScalar(this.handle, mask.handle, value);
  return this;
};
const uniformIn = op("aten::uniform_"), normalIn = op("aten::normal_"), bernoulliIn = op("aten::bernoulli_", "float");
Tensor.prototype.uniform_ = function (from = 0, to = 1) { uniformIn(this.handle, from, to, null); return this; };
Tensor.prototype.normal_ = function (mean = 0, std = 1) { normalIn(this.handle, mean, std, null); return this; };
Tensor.prototype.bernoulli_ = function (p = 0.5) { bernoulliIn(this.handle, p, null); return this; };

