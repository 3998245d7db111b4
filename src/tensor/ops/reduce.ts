// Reductions with PyTorch's dim/keepdim: x.sum(), x.sum(1), x.sum([0, 2], { keepdim: true }),
// and PyTorch's positions: x.sum(1, true), x.max(1, true), x.std(0, false, true).
import { positionalOptions } from "../../options.js";
import { op } from "../native.js";
import { Tensor, wrap } from "../tensor.js";

type Dims = number | number[];
export interface ReduceOptions { keepdim?: boolean; dtype?: string }
export interface KeepDim { keepdim?: boolean }
export interface VarianceOptions { keepdim?: boolean; /** 1 (Bessel's correction, PyTorch's default) or 0. */ correction?: number; unbiased?: boolean }

/** A (values, indices) pair that destructures like PyTorch's named tuple. */
export type ValuesIndices = [Tensor, Tensor] & { values: Tensor; indices: Tensor };

function valuesIndices(result: unknown): ValuesIndices {
  const [values, indices] = (result as unknown[]).map(wrap);
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}

declare module "../tensor.js" {
  interface Tensor {
    sum(options: ReduceOptions): Tensor;
    sum(dim?: Dims | null, keepdim?: boolean | ReduceOptions, options?: ReduceOptions): Tensor;
    mean(options: ReduceOptions): Tensor;
    mean(dim?: Dims | null, keepdim?: boolean | ReduceOptions, options?: ReduceOptions): Tensor;
    nansum(dim?: Dims | null, keepdim?: boolean | ReduceOptions, options?: ReduceOptions): Tensor;
    prod(dim?: number | null, keepdim?: boolean | ReduceOptions, options?: ReduceOptions): Tensor;
    amax(dim?: Dims, keepdim?: boolean | KeepDim): Tensor;
    amin(dim?: Dims, keepdim?: boolean | KeepDim): Tensor;
    /** max() of all elements; max(dim) → [values, indices]; max(other) element-wise. */
    max(): Tensor;
    max(dim: number, keepdim?: boolean | KeepDim): ValuesIndices;
    max(other: Tensor): Tensor;
    min(): Tensor;
    min(dim: number, keepdim?: boolean | KeepDim): ValuesIndices;
    min(other: Tensor): Tensor;
    argmax(dim?: number | null, keepdim?: boolean | KeepDim): Tensor;
    argmin(dim?: number | null, keepdim?: boolean | KeepDim): Tensor;
    /** std(dim, unbiased, keepdim) by position, as PyTorch's, or std(dim, { correction, keepdim }). */
    std(dim?: Dims | null, unbiased?: boolean | VarianceOptions, keepdim?: boolean | VarianceOptions, options?: VarianceOptions): Tensor;
    var(dim?: Dims | null, unbiased?: boolean | VarianceOptions, keepdim?: boolean | VarianceOptions, options?: VarianceOptions): Tensor;
    /** The p-norm (2 by default) over all elements or over `dim`. */
    norm(p?: number, dim?: Dims | null, keepdim?: boolean | KeepDim): Tensor;
    all(dim?: number, keepdim?: boolean | KeepDim): Tensor;
    any(dim?: number, keepdim?: boolean | KeepDim): Tensor;
    cumsum(dim: number, options?: { dtype?: string }): Tensor;
    cumprod(dim: number, options?: { dtype?: string }): Tensor;
    logsumexp(dim: Dims, keepdim?: boolean | KeepDim): Tensor;
  }
}

const asList = (dim: Dims) => (typeof dim === "number" ? [dim] : dim);

const KEEPDIM = ["keepdim"], KEEPDIM_DTYPE = ["keepdim", "dtype"];
/** The options after dim: PyTorch's positions (keepdim, ...) and/or one options object, checked. */
function after<T extends object>(rest: unknown[], positional: readonly string[], allowed: readonly string[], what: string): T {
  if (rest.length === 0 || (rest.length === 1 && rest[0] === undefined)) return {} as T;  // the common case, no work
  return positionalOptions<T>(rest, positional, allowed, what);
}
/** x.sum({ dtype }) with no dim: the object is the options. */
function splitDim(dim: unknown, rest: unknown[]): [unknown, unknown[]] {
  return dim !== null && typeof dim === "object" && !Array.isArray(dim) ? [null, [dim, ...rest]] : [dim ?? null, rest];
}

const sumAll = op("aten::sum"), sumDim = op("aten::sum", "dim_IntList");
Tensor.prototype.sum = function (d?: unknown, ...r: unknown[]) {
  if (d === undefined && r.length === 0) return wrap(sumAll(this.handle, null));  // x.sum(): no options to read
  const [dim, rest] = splitDim(d, r);
  const o = after<ReduceOptions>(rest, KEEPDIM, KEEPDIM_DTYPE, "sum()");
  return wrap(dim === null ? sumAll(this.handle, o.dtype ?? null) : sumDim(this.handle, asList(dim as Dims), o.keepdim ?? false, o.dtype ?? null));
};
const meanAll = op("aten::mean"), meanDim = op("aten::mean", "dim");
Tensor.prototype.mean = function (d?: unknown, ...r: unknown[]) {
  if (d === undefined && r.length === 0) return wrap(meanAll(this.handle, null));
  const [dim, rest] = splitDim(d, r);
  const o = after<ReduceOptions>(rest, KEEPDIM, KEEPDIM_DTYPE, "mean()");
  return wrap(dim === null ? meanAll(this.handle, o.dtype ?? null) : meanDim(this.handle, asList(dim as Dims), o.keepdim ?? false, o.dtype ?? null));
};
const nansumOp = op("aten::nansum");
Tensor.prototype.nansum = function (d?: unknown, ...r: unknown[]) {
  const [dim, rest] = splitDim(d, r);
  const o = after<ReduceOptions>(rest, KEEPDIM, KEEPDIM_DTYPE, "nansum()");
  return wrap(nansumOp(this.handle, dim === null ? null : asList(dim as Dims), o.keepdim ?? false, o.dtype ?? null));
};
const prodAll = op("aten::prod"), prodDim = op("aten::prod", "dim_int");
Tensor.prototype.prod = function (d?: unknown, ...r: unknown[]) {
  const [dim, rest] = splitDim(d, r);
  const o = after<ReduceOptions>(rest, KEEPDIM, KEEPDIM_DTYPE, "prod()");
  return wrap(dim === null ? prodAll(this.handle, o.dtype ?? null) : prodDim(this.handle, dim, o.keepdim ?? false, o.dtype ?? null));
};
const amaxOp = op("aten::amax"), aminOp = op("aten::amin");
Tensor.prototype.amax = function (dim = [], ...r: unknown[]) { return wrap(amaxOp(this.handle, asList(dim), after<KeepDim>(r, KEEPDIM, KEEPDIM, "amax()").keepdim ?? false)); };
Tensor.prototype.amin = function (dim = [], ...r: unknown[]) { return wrap(aminOp(this.handle, asList(dim), after<KeepDim>(r, KEEPDIM, KEEPDIM, "amin()").keepdim ?? false)); };

for (const name of ["max", "min"] as const) {
  const all = op(`aten::${name}`), byDim = op(`aten::${name}`, "dim"), other = op(`aten::${name}`, "other");
  (Tensor.prototype as unknown as Record<string, unknown>)[name] = function (this: Tensor, dim?: number | Tensor, ...r: unknown[]) {
    if (dim === undefined) return wrap(all(this.handle));
    if (dim instanceof Tensor) return wrap(other(this.handle, dim.handle));
    return valuesIndices(byDim(this.handle, dim, after<KeepDim>(r, KEEPDIM, KEEPDIM, `${name}()`).keepdim ?? false));
  };
}
const argmaxOp = op("aten::argmax"), argminOp = op("aten::argmin");
Tensor.prototype.argmax = function (dim = null, ...r: unknown[]) { return wrap(argmaxOp(this.handle, dim, after<KeepDim>(r, KEEPDIM, KEEPDIM, "argmax()").keepdim ?? false)); };
Tensor.prototype.argmin = function (dim = null, ...r: unknown[]) { return wrap(argminOp(this.handle, dim, after<KeepDim>(r, KEEPDIM, KEEPDIM, "argmin()").keepdim ?? false)); };

const varOp = op("aten::var", "correction"), stdOp = op("aten::std", "correction");
function correctionOf(options: VarianceOptions): number {
  return options.correction ?? (options.unbiased === false ? 0 : 1);
}
const VARIANCE_POSITIONS = ["unbiased", "keepdim"], VARIANCE_OPTIONS = ["unbiased", "keepdim", "correction"];
Tensor.prototype.var = function (d?: unknown, ...r: unknown[]) {
  const [dim, rest] = splitDim(d, r);
  const o = after<VarianceOptions>(rest, VARIANCE_POSITIONS, VARIANCE_OPTIONS, "var()");
  return wrap(varOp(this.handle, dim === null ? null : asList(dim as Dims), correctionOf(o), o.keepdim ?? false));
};
Tensor.prototype.std = function (d?: unknown, ...r: unknown[]) {
  const [dim, rest] = splitDim(d, r);
  const o = after<VarianceOptions>(rest, VARIANCE_POSITIONS, VARIANCE_OPTIONS, "std()");
  return wrap(stdOp(this.handle, dim === null ? null : asList(dim as Dims), correctionOf(o), o.keepdim ?? false));
};
const normOp = op("aten::norm", "ScalarOpt_dim");
const normAll = op("aten::norm", "Scalar");
Tensor.prototype.norm = function (p = 2, dim = null, ...r: unknown[]) {
  const o = after<KeepDim>(r, KEEPDIM, KEEPDIM, "norm()");
  return wrap(dim === null ? normAll(this.handle, p) : normOp(this.handle, p, asList(dim), o.keepdim ?? false));
};
for (const name of ["all", "any"] as const) {
  const whole = op(`aten::${name}`), byDim = op(`aten::${name}`, "dim");
  Tensor.prototype[name] = function (dim?: number, ...r: unknown[]) {
    return wrap(dim === undefined ? whole(this.handle) : byDim(this.handle, dim, after<KeepDim>(r, KEEPDIM, KEEPDIM, `${name}()`).keepdim ?? false));
  };
}
const cumsumOp = op("aten::cumsum"), cumprodOp = op("aten::cumprod");
Tensor.prototype.cumsum = function (dim, options) { return wrap(cumsumOp(this.handle, dim, after<{ dtype?: string }>([options], [], ["dtype"], "cumsum()").dtype ?? null)); };
Tensor.prototype.cumprod = function (dim, options) { return wrap(cumprodOp(this.handle, dim, after<{ dtype?: string }>([options], [], ["dtype"], "cumprod()").dtype ?? null)); };
const logsumexpOp = op("aten::logsumexp");
Tensor.prototype.logsumexp = function (dim, ...r: unknown[]) { return wrap(logsumexpOp(this.handle, asList(dim), after<KeepDim>(r, KEEPDIM, KEEPDIM, "logsumexp()").keepdim ?? false)); };
