// torch.<op>(x, ...) forms of the Tensor methods, for code ported from PyTorch
// that writes torch.exp(x) rather than x.exp().
import { FlareError } from "../errors.js";
import { aten } from "./aten.js";
import { op } from "./native.js";
import { Tensor, handleOf, wrap, wrapList, describe } from "./tensor.js";
import type { KeepDim, ValuesIndices } from "./ops/reduce.js";
import type { AllcloseOptions } from "./ops/compare.js";

type Method<K extends keyof Tensor> = Tensor[K] extends (...args: infer A) => infer R ? (x: Tensor, ...args: A) => R : never;

function functional<K extends keyof Tensor>(name: K): Method<K> {
  return ((x: Tensor, ...args: unknown[]) => (x[name] as (...a: unknown[]) => unknown).apply(x, args)) as Method<K>;
}

export const neg = functional("neg"), abs = functional("abs"), sign = functional("sign");
export const exp = functional("exp"), log = functional("log"), log1p = functional("log1p"), sqrt = functional("sqrt");
export const rsqrt = functional("rsqrt"), floor = functional("floor"), ceil = functional("ceil"), round = functional("round");
export const clamp = functional("clamp"), sin = functional("sin"), cos = functional("cos"), sigmoid = functional("sigmoid");
export const tanh = functional("tanh"), relu = functional("relu"), softmax = functional("softmax"), logSoftmax = functional("logSoftmax");
export const maximum = functional("maximum"), minimum = functional("minimum"), isnan = functional("isnan");
export const eq = functional("eq"), ne = functional("ne"), lt = functional("lt"), le = functional("le"), gt = functional("gt"), ge = functional("ge");
export const logicalAnd = functional("logicalAnd"), logicalOr = functional("logicalOr"), logicalNot = functional("logicalNot");
export const sum = functional("sum"), mean = functional("mean"), prod = functional("prod"), std = functional("std"), variance = functional("var");
export const amax = functional("amax"), amin = functional("amin"), argmax = functional("argmax"), argmin = functional("argmin");
export const norm = functional("norm"), all = functional("all"), any = functional("any"), cumsum = functional("cumsum"), logsumexp = functional("logsumexp");
export const matmul = functional("matmul"), mm = functional("mm"), bmm = functional("bmm"), dot = functional("dot"), outer = functional("outer");
export const reshape = functional("reshape"), permute = functional("permute"), transpose = functional("transpose"), flatten = functional("flatten");
export const squeeze = functional("squeeze"), unsqueeze = functional("unsqueeze"), flip = functional("flip"), roll = functional("roll");
export const split = functional("split"), chunk = functional("chunk"), unbind = functional("unbind"), narrow = functional("narrow");
export const indexSelect = functional("indexSelect"), gather = functional("gather"), scatter = functional("scatter"), scatterAdd = functional("scatterAdd");
export const maskedSelect = functional("maskedSelect"), nonzero = functional("nonzero"), topk = functional("topk"), sort = functional("sort");
export const argsort = functional("argsort"), unique = functional("unique"), bincount = functional("bincount");
export const clone = functional("clone"), detach = functional("detach"), tril = functional("tril"), triu = functional("triu");

// ---- a number first: torch.pow(2, x), torch.sub(1, x), as PyTorch accepts ----
// ScalarType codes that aten::result_type returns (c10's enum order).
const SCALAR_TYPES: Record<number, string> = {
  0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16", 6: "float32", 7: "float64", 11: "bool", 15: "bfloat16",
};
const resultTypeOp = op("aten::result_type", "Scalar_Tensor"), scalarTensorOp = op("aten::scalar_tensor");
const powScalar = op("aten::pow", "Scalar"), remainderScalar = op("aten::remainder", "Scalar_Tensor"), rsubScalar = aten.rsubScalar;

/**
 * A number as the 0-d tensor of the dtype PyTorch's type promotion gives it
 * with `x` (a Python number's own rule: an int does not widen an integer
 * tensor, a float makes an integer tensor float32), so `number op x` matches
 * PyTorch's dtype and values.
 */
function scalarLike(value: number | boolean, x: Tensor, what: string): Tensor {
  if (typeof value !== "number" && typeof value !== "boolean") throw new FlareError(`${what}: input must be a Tensor or a number, got ${describe(value)}`, "E_TYPE");
  const dtype = SCALAR_TYPES[resultTypeOp(value, x.handle) as number] ?? "float32";
  return wrap(scalarTensorOp(value, dtype, null, "cpu"));
}

type Num = number | boolean;
type Other = Tensor | Num;

function needTensor(x: unknown, y: unknown, what: string): void {
  if (!(x instanceof Tensor) && !(y instanceof Tensor)) throw new FlareError(`${what}: at least one of input and other must be a Tensor, got ${describe(x)} and ${describe(y)}`, "E_TYPE");
}

export function add(input: Tensor | Num, other: Other, options?: { alpha?: number }): Tensor {
  needTensor(input, other, "add()");
  if (input instanceof Tensor) return input.add(other, options);
  const s = scalarLike(input, other as Tensor, "add()");
  try { return s.add(other, options); } finally { s.dispose(); }
}
export function sub(input: Tensor | Num, other: Other, options?: { alpha?: number }): Tensor {
  needTensor(input, other, "sub()");
  if (input instanceof Tensor) return input.sub(other, options);
  return wrap(rsubScalar((other as Tensor).handle, input, options?.alpha ?? 1));
}
export function mul(input: Tensor | Num, other: Other): Tensor {
  needTensor(input, other, "mul()");
  return input instanceof Tensor ? input.mul(other) : (other as Tensor).mul(input);
}
export function div(input: Tensor | Num, other: Other, options?: { roundingMode?: "trunc" | "floor" }): Tensor {
  needTensor(input, other, "div()");
  if (input instanceof Tensor) return input.div(other, options);
  const s = scalarLike(input, other as Tensor, "div()");
  try { return s.div(other, options); } finally { s.dispose(); }
}
export function pow(input: Tensor | Num, exponent: Other): Tensor {
  needTensor(input, exponent, "pow()");
  return input instanceof Tensor ? input.pow(exponent) : wrap(powScalar(input, (exponent as Tensor).handle));
}
export function remainder(input: Tensor | Num, other: Other): Tensor {
  needTensor(input, other, "remainder()");
  return input instanceof Tensor ? input.remainder(other) : wrap(remainderScalar(input, (other as Tensor).handle));
}

// ---- torch.max / torch.min as functions, torch.equal, allclose, mv, numel ----
interface MinMax {
  (input: Tensor): Tensor;
  (input: Tensor, dim: number, keepdim?: boolean | KeepDim): ValuesIndices;
  (input: Tensor, other: Tensor): Tensor;
}
/** torch.max / torch.min: min(x) the extreme element; min(x, dim[, keepdim]) → { values, indices }; min(x, other) element-wise. */
function reduceExtreme(name: "max" | "min"): MinMax {
  return ((input: Tensor, dim?: number | Tensor, keepdim?: boolean | KeepDim) => {
    handleOf(input, `${name}(): input`);
    const f = input[name] as (dim?: number | Tensor, keepdim?: boolean | KeepDim) => Tensor | ValuesIndices;
    if (dim === undefined || dim instanceof Tensor) return f.call(input, dim);
    if (typeof dim !== "number") throw new FlareError(`${name}(): the second argument must be a dim (a number) or a Tensor, got ${describe(dim)}`, "E_TYPE");
    return f.call(input, dim, keepdim);
  }) as MinMax;
}
/** torch.max(x): the largest element; max(x, dim) → { values, indices }; max(x, other): element-wise. */
export const max = reduceExtreme("max");
/** torch.min(x), min(x, dim) → { values, indices }, min(x, other). */
export const min = reduceExtreme("min");

export function equal(input: Tensor, other: Tensor): boolean { handleOf(input, "equal(): input"); return input.equal(other); }
export function allclose(input: Tensor, other: Tensor, options?: AllcloseOptions): boolean {
  handleOf(input, "allclose(): input");
  return input.allclose(other, options);
}
export function mv(input: Tensor, vec: Tensor): Tensor { handleOf(input, "mv(): input"); return input.mv(vec); }
/** The number of elements, as torch.numel. */
export function numel(input: Tensor): number { handleOf(input, "numel(): input"); return input.numel(); }
export function repeatInterleave(input: Tensor, repeats: number | Tensor, dim?: number | null): Tensor {
  handleOf(input, "repeatInterleave(): input");
  return input.repeatInterleave(repeats, dim);
}

const meshgridOp = aten.meshgrid;

/**
 * torch.meshgrid(tensors, { indexing }): coordinate grids from 0-D or 1-D
 * tensors. indexing "ij" (the default, as PyTorch's) gives shape [n0, n1, ...];
 * "xy" swaps the first two dimensions (NumPy's convention).
 */
export function meshgrid(tensors: Tensor[], options: { indexing?: "ij" | "xy" } = {}): Tensor[] {
  for (const key of Object.keys(options))
    if (key !== "indexing") throw new FlareError(`meshgrid(): unknown option '${key}' (options: indexing)`, "E_ARGUMENT");
  if (!Array.isArray(tensors) || tensors.length === 0) throw new FlareError("meshgrid(): tensors must be a non-empty array of Tensors", "E_ARGUMENT");
  const handles = tensors.map((t, i) => handleOf(t, `meshgrid(): tensors[${i}]`));
  tensors.forEach((t, i) => {
    if (t.dim() > 1) throw new FlareError(`meshgrid(): tensors[${i}] must be 0-D or 1-D, got shape [${t.shape.join(", ")}]`, "E_SHAPE");
  });
  const indexing = options.indexing ?? "ij";
  if (indexing !== "ij" && indexing !== "xy") throw new FlareError(`meshgrid(): indexing must be "ij" or "xy", got ${String(indexing)}`, "E_ARGUMENT");
  return wrapList(meshgridOp(handles, indexing));
}
