// Reductions with PyTorch's dim/keepdim: x.sum(), x.sum(1), x.sum([0, 2], { keepdim: true }).
import { op } from "../native.js";
import { Tensor, wrap } from "../tensor.js";

type Dims = number | number[];
export interface ReduceOptions { keepdim?: boolean; dtype?: string }
export interface VarianceOptions { keepdim?: boolean; /** 1 (Bessel's correction, PyTorch's default) or 0. */ correction?: number; unbiased?: boolean }

/** A (values, indices) pair that destructures like PyTorch's named tuple. */
export type ValuesIndices = [Tensor, Tensor] & { values: Tensor; indices: Tensor };

function valuesIndices(result: unknown): ValuesIndices {
  const [values, indices] = (result as unknown[]).map(wrap);
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}

declare module "../tensor.js" {
  interface Tensor {
    sum(dim?: Dims | null, options?: ReduceOptions): Tensor;
    mean(dim?: Dims | null, options?: ReduceOptions): Tensor;
    nansum(dim?: Dims | null, options?: ReduceOptions): Tensor;
    prod(dim?: number, options?: ReduceOptions): Tensor;
    amax(dim?: Dims, options?: { keepdim?: boolean }): Tensor;
    amin(dim?: Dims, options?: { keepdim?: boolean }): Tensor;
    /** max() of all elements; max(dim) → [values, indices]; max(other) element-wise. */
    max(): Tensor;
    max(dim: number, options?: { keepdim?: boolean }): ValuesIndices;
    max(other: Tensor): Tensor;
    min(): Tensor;
    min(dim: number, options?: { keepdim?: boolean }): ValuesIndices;
    min(other: Tensor): Tensor;
    argmax(dim?: number | null, options?: { keepdim?: boolean }): Tensor;
    argmin(dim?: number | null, options?: { keepdim?: boolean }): Tensor;
    std(dim?: Dims | null, options?: VarianceOptions): Tensor;
    var(dim?: Dims | null, options?: VarianceOptions): Tensor;
    /** The p-norm (2 by default) over all elements or over `dim`. */
    norm(p?: number, dim?: Dims | null, options?: { keepdim?: boolean }): Tensor;
    all(dim?: number, options?: { keepdim?: boolean }): Tensor;
    any(dim?: number, options?: { keepdim?: boolean }): Tensor;
    cumsum(dim: number, options?: { dtype?: string }): Tensor;
    cumprod(dim: number, options?: { dtype?: string }): Tensor;
    logsumexp(dim: Dims, options?: { keepdim?: boolean }): Tensor;
  }
}

const asList = (dim: Dims) => (typeof dim === "number" ? [dim] : dim);

const sumAll = op("aten::sum"), sumDim = op("aten::sum", "dim_IntList");
Tensor.prototype.sum = function (dim = null, options = {}) {
  return wrap(dim === null ? sumAll(this.handle, options.dtype ?? null) : sumDim(this.handle, asList(dim), options.keepdim ?? false, options.dtype ?? null));
};
const meanAll = op("aten::mean"), meanDim = op("aten::mean", "dim");
Tensor.prototype.mean = function (dim = null, options = {}) {
  return wrap(dim === null ? meanAll(this.handle, options.dtype ?? null) : meanDim(this.handle, asList(dim), options.keepdim ?? false, options.dtype ?? null));
};
const nansumOp = op("aten::nansum");
Tensor.prototype.nansum = function (dim = null, options = {}) {
  return wrap(nansumOp(this.handle, dim === null ? null : asList(dim), options.keepdim ?? false, options.dtype ?? null));
};
const prodAll = op("aten::prod"), prodDim = op("aten::prod", "dim_int");
Tensor.prototype.prod = function (dim, options = {}) {
  return wrap(dim === undefined ? prodAll(this.handle, options.dtype ?? null) : prodDim(this.handle, dim, options.keepdim ?? false, options.dtype ?? null));
};
const amaxOp = op("aten::amax"), aminOp = op("aten::amin");
Tensor.prototype.amax = function (dim = [], options = {}) { return wrap(amaxOp(this.handle, asList(dim), options.keepdim ?? false)); };
Tensor.prototype.amin = function (dim = [], options = {}) { return wrap(aminOp(this.handle, asList(dim), options.keepdim ?? false)); };

for (const name of ["max", "min"] as const) {
  const all = op(`aten::${name}`), byDim = op(`aten::${name}`, "dim"), other = op(`aten::${name}`, "other");
  (Tensor.prototype as unknown as Record<string, unknown>)[name] = function (this: Tensor, dim?: number | Tensor, options: { keepdim?: boolean } = {}) {
    if (dim === undefined) return wrap(all(this.handle));
    if (dim instanceof Tensor) return wrap(other(this.handle, dim.handle));
    return valuesIndices(byDim(this.handle, dim, options.keepdim ?? false));
  };
}
const argmaxOp = op("aten::argmax"), argminOp = op("aten::argmin");
Tensor.prototype.argmax = function (dim = null, options = {}) { return wrap(argmaxOp(this.handle, dim, options.keepdim ?? false)); };
Tensor.prototype.argmin = function (dim = null, options = {}) { return wrap(argminOp(this.handle, dim, options.keepdim ?? false)); };

const varOp = op("aten::var", "correction"), stdOp = op("aten::std", "correction");
function correctionOf(options: VarianceOptions): number {
  return options.correction ?? (options.unbiased === false ? 0 : 1);
}
Tensor.prototype.var = function (dim = null, options = {}) {
  return wrap(varOp(this.handle, dim === null ? null : asList(dim), correctionOf(options), options.keepdim ?? false));
};
Tensor.prototype.std = function (dim = null, options = {}) {
  return wrap(stdOp(this.handle, dim === null ? null : asList(dim), correctionOf(options), options.keepdim ?? false));
};
const normOp = op("aten::norm", "ScalarOpt_dim");
const normAll = op("aten::norm", "Scalar");
Tensor.prototype.norm = function (p = 2, dim = null, options = {}) {
  return wrap(dim === null ? normAll(this.handle, p) : normOp(this.handle, p, asList(dim), options.keepdim ?? false));
};
for (const name of ["all", "any"] as const) {
  const whole = op(`aten::${name}`), byDim = op(`aten::${name}`, "dim");
  Tensor.prototype[name] = function (dim?: number, options: { keepdim?: boolean } = {}) {
    return wrap(dim === undefined ? whole(this.handle) : byDim(this.handle, dim, options.keepdim ?? false));
  };
}
const cumsumOp = op("aten::cumsum"), cumprodOp = op("aten::cumprod");
Tensor.prototype.cumsum = function (dim, options = {}) { return wrap(cumsumOp(this.handle, dim, options.dtype ?? null)); };
Tensor.prototype.cumprod = function (dim, options = {}) { return wrap(cumprodOp(this.handle, dim, options.dtype ?? null)); };
const logsumexpOp = op("aten::logsumexp");
Tensor.prototype.logsumexp = function (dim, options = {}) { return wrap(logsumexpOp(this.handle, asList(dim), options.keepdim ?? false)); };
