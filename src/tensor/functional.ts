// torch.<op>(x, ...) forms of the Tensor methods, for code ported from PyTorch
// that writes torch.exp(x) rather than x.exp().
import { FlareError } from "../errors.js";
import { aten } from "./aten.js";
import { Tensor, handleOf, wrapList } from "./tensor.js";

type Method<K extends keyof Tensor> = Tensor[K] extends (...args: infer A) => infer R ? (x: Tensor, ...args: A) => R : never;

function functional<K extends keyof Tensor>(name: K): Method<K> {
  return ((x: Tensor, ...args: unknown[]) => (x[name] as (...a: unknown[]) => unknown).apply(x, args)) as Method<K>;
}

export const add = functional("add"), sub = functional("sub"), mul = functional("mul"), div = functional("div");
export const pow = functional("pow"), neg = functional("neg"), abs = functional("abs"), sign = functional("sign");
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
