// Indexing: a slicing helper in Python's notation, gathers and scatters,
// masks, sorting and counting.
import { FlareError } from "../../errors.js";
import { native, op, type Handle } from "../native.js";
import { aten } from "../aten.js";
import { Tensor, wrap, wrapList, handleOf } from "../tensor.js";
import type { ValuesIndices } from "./reduce.js";

/**
 * One index of x.index(...): a number selects (and drops the dimension), a
 * string is a Python slice ("1:5", ":", "::2", "-3:") or "..." (Ellipsis),
 * null inserts a new dimension (None), and a tensor indexes by integers or a
 * boolean mask (advanced indexing).
 */
export type IndexSpec = number | string | null | Tensor;

interface Slice { start: number | null; end: number | null; step: number }

function parseSlice(spec: string): Slice | number | "..." {
  const text = spec.trim();
  if (text === "...") return "...";
  const parts = text.split(":");
  const toInt = (s: string) => {
    if (s.trim() === "") return null;
    const n = Number(s);
    if (!Number.isInteger(n)) throw new FlareError(`index(): '${spec}' is not a slice such as "1:5", ":" or "::2"`, "E_INDEX");
    return n;
  };
  if (parts.length === 1) { const n = toInt(parts[0]); if (n === null) throw new FlareError("index(): empty index string", "E_INDEX"); return n; }
  if (parts.length > 3) throw new FlareError(`index(): '${spec}' is not a slice such as "1:5", ":" or "::2"`, "E_INDEX");
  const step = parts.length === 3 ? toInt(parts[2]) ?? 1 : 1;
  if (step <= 0) throw new FlareError(`index(): slice step must be positive, got ${step} in '${spec}'`, "E_INDEX");
  return { start: toInt(parts[0]), end: toInt(parts[1]), step };
}

const { select: selectOp, slice: sliceOp, unsqueeze: unsqueezeOp, zeros: zerosOp } = aten;
const aliasOp = op("aten::alias");
// x[idx] = 2: the number becomes a 0-dim tensor of x's dtype inside the one native call.
const indexOp = op("aten::index", "Tensor"), indexPutIn = op("aten::index_put_"), indexPutNumberIn = op("aten::index_put_", "", "values");
const copyIn = op("aten::copy_"), fillIn = op("aten::fill_", "Scalar");

const isEllipsis = (spec: IndexSpec) => typeof spec === "string" && spec.trim() === "...";

/**
 * Applies the basic (view) part of an index, handle by handle with no Tensor
 * wrappers in between, and returns the view's handle (x's own when no view op
 * was needed). A full slice (":") makes no op, as in PyTorch. Whether the handle
 * is a new one (`basicOwned`), the advanced index handles by dimension
 * (`basicAdvanced`, null when there are none; a dimension without one is a hole,
 * which the native call reads as None) and the index tensors made here
 * (`basicTemps`, freed by the caller after the op) are left in module variables:
 * detection code calls this thousands of times a batch, and a result object, a
 * closure and an array per call made the young generation fill (a scavenge every
 * ~2,000 ops). No user code runs between setting and reading them.
 *
 * Tensor indices follow torch/csrc/autograd/python_variable_indexing.cpp: a
 * boolean or uint8 mask covers as many dimensions as it has (for "..."), an
 * integer one covers one; a 0-dim integer tensor selects as a number does (a
 * view, the dimension dropped); a 0-dim boolean (or uint8) adds a dimension of
 * size 1 that it keeps (true) or empties (false).
 */
let basicOwned = false;
let basicAdvanced: (Handle | null)[] | null = null;
let basicTemps: Handle[] | null = null;
// native.indexKind(h) is dim * 4 + kind: 0 integer, 1 mask (bool or uint8), 2 other.
const INTEGER = 0, MASK = 1;
const specKinds: number[] = [];  // each tensor spec's indexKind, read once per call
function basicIndex(x: Tensor, specs: IndexSpec[]): Handle {
  let consumed = 0, ellipses = 0;
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i];
    if (spec instanceof Tensor) {
      const kind = specKinds[i] = native.indexKind(spec.handle);
      consumed += kind % 4 === MASK ? kind >> 2 : 1;
    } else if (isEllipsis(spec)) ellipses++;
    else if (spec !== null) consumed++;
  }
  const rank = x.dim();
  if (consumed > rank) throw new FlareError(`index(): too many indices (${consumed}) for a tensor of ${rank} dimensions`, "E_INDEX");
  if (ellipses > 1) throw new FlareError("index(): an index can only have a single ellipsis ('...')", "E_INDEX");
  let handle = x.handle, owned = false;
  let advanced: (Handle | null)[] | null = null, temps: Handle[] | null = null;
  let dim = 0;
  try {
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i];
      let next: Handle;
      const kind = spec instanceof Tensor ? specKinds[i] : -1;
      if (kind === MASK) {  // 0-dim
        // boolToIndexingTensor: index 0 of the new dimension, or none of it. Made
        // first, so that `temps` frees it if the unsqueeze fails.
        const keep = zerosOp(native.item((spec as Tensor).handle) ? [1] : [0], "int64", null, x.device) as Handle;
        (temps ??= []).push(keep);
        (advanced ??= [])[dim] = keep;
        next = unsqueezeOp(handle, dim) as Handle;
        dim++;
      } else if (kind === INTEGER) {  // 0-dim
        next = selectOp(handle, dim, native.item((spec as Tensor).handle)) as Handle;
      } else if (spec instanceof Tensor) {
        (advanced ??= [])[dim] = spec.handle;
        dim++;
        continue;
      } else if (spec === ":") {
        dim++;
        continue;
      } else if (spec === null) {
        next = unsqueezeOp(handle, dim) as Handle;
        dim++;
      } else {
        const parsed = typeof spec === "number" ? spec : typeof spec === "string" ? parseSlice(spec) : undefined;
        if (parsed === undefined) throw new FlareError(`index(): an index must be a number, a slice string, null or a Tensor, got ${typeof spec}`, "E_INDEX");
        if (parsed === "...") { dim += rank - consumed; continue; }
        if (typeof parsed === "number") {
          if (!Number.isInteger(parsed)) throw new FlareError(`index(): ${parsed} is not an integer index`, "E_INDEX");
          next = selectOp(handle, dim, parsed) as Handle;
        } else {
          dim++;
          if (parsed.start === null && parsed.end === null && parsed.step === 1) continue;
          next = sliceOp(handle, dim - 1, parsed.start, parsed.end, parsed.step) as Handle;
        }
      }
      if (owned) native.dispose(handle);
      handle = next;
      owned = true;
    }
  } catch (error) {
    if (owned) native.dispose(handle);
    if (temps) for (const temp of temps) native.dispose(temp);
    throw error;
  }
  basicOwned = owned;
  basicAdvanced = advanced;
  basicTemps = temps;
  return handle;
}

function release(handle: Handle, owned: boolean, temps: Handle[] | null): void {
  if (owned) native.dispose(handle);
  if (temps) for (const temp of temps) native.dispose(temp);
}

declare module "../tensor.js" {
  interface Tensor {
    /** x.index(":", 0, "1:5:2", null) is PyTorch's x[:, 0, 1:5:2, None]. */
    index(...specs: IndexSpec[]): Tensor;
    /** x.indexPut_([":", 0], value) is PyTorch's x[:, 0] = value. */
    indexPut_(specs: IndexSpec[], value: Tensor | number | boolean): this;
    indexSelect(dim: number, index: Tensor): Tensor;
    gather(dim: number, index: Tensor): Tensor;
    scatter(dim: number, index: Tensor, src: Tensor | number): Tensor;
    scatter_(dim: number, index: Tensor, src: Tensor | number): this;
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    scatterAdd_(dim: number, index: Tensor, src: Tensor): this;
    indexAdd_(dim: number, index: Tensor, source: Tensor): this;
    maskedFill(mask: Tensor, value: number | Tensor): Tensor;
    maskedSelect(mask: Tensor): Tensor;
    nonzero(): Tensor;
    topk(k: number, dim?: number, options?: { largest?: boolean; sorted?: boolean }): ValuesIndices;
    sort(dim?: number, options?: { descending?: boolean; stable?: boolean }): ValuesIndices;
    argsort(dim?: number, options?: { descending?: boolean }): Tensor;
    unique(options?: { sorted?: boolean; returnInverse?: boolean; returnCounts?: boolean; dim?: number }): Tensor | Tensor[];
    bincount(options?: { weights?: Tensor; minlength?: number }): Tensor;
  }
}

Tensor.prototype.index = function (...specs) {
  // x[idx] and x[mask] with a tensor of one or more dimensions, the commonest
  // advanced index, skip the walk over specs.
  if (specs.length === 1 && specs[0] instanceof Tensor && native.indexKind(specs[0].handle) >= 4) return wrap(indexOp(this.handle, [specs[0].handle]));
  const handle = basicIndex(this, specs), owned = basicOwned, advanced = basicAdvanced, temps = basicTemps;
  // Always a new tensor, as PyTorch's x[...] (an alias when nothing else was done).
  if (advanced === null) return wrap(owned ? handle : aliasOp(handle));
  try {
    return wrap(indexOp(handle, advanced));
  } finally {
    release(handle, owned, temps);
  }
};
Tensor.prototype.indexPut_ = function (specs, value) {
  const handle = basicIndex(this, specs), owned = basicOwned, advanced = basicAdvanced, temps = basicTemps;
  try {
    if (advanced === null) {
      if (value instanceof Tensor) copyIn(handle, value.handle, false); else fillIn(handle, value);
    } else if (value instanceof Tensor) {
      indexPutIn(handle, advanced, value.handle, false);
    } else {
      indexPutNumberIn(handle, advanced, value, false);
    }
  } finally {
    release(handle, owned, temps);
  }
  return this;
};

const indexSelectOp = op("aten::index_select"), gatherOp = op("aten::gather");
Tensor.prototype.indexSelect = function (dim, index) { return wrap(indexSelectOp(this.handle, dim, handleOf(index, "indexSelect(): index"))); };
Tensor.prototype.gather = function (dim, index) { return wrap(gatherOp(this.handle, dim, handleOf(index, "gather(): index"), false)); };
const scatterSrc = op("aten::scatter", "src"), scatterValue = op("aten::scatter", "value");
const scatterSrcIn = op("aten::scatter_", "src"), scatterValueIn = op("aten::scatter_", "value");
Tensor.prototype.scatter = function (dim, index, src) {
  return wrap(src instanceof Tensor ? scatterSrc(this.handle, dim, index.handle, src.handle) : scatterValue(this.handle, dim, index.handle, src));
};
Tensor.prototype.scatter_ = function (dim, index, src) {
  if (src instanceof Tensor) scatterSrcIn(this.handle, dim, index.handle, src.handle); else scatterValueIn(this.handle, dim, index.handle, src);
  return this;
};
const scatterAddOp = op("aten::scatter_add"), scatterAddIn = op("aten::scatter_add_"), indexAddIn = op("aten::index_add_");
Tensor.prototype.scatterAdd = function (dim, index, src) { return wrap(scatterAddOp(this.handle, dim, index.handle, src.handle)); };
Tensor.prototype.scatterAdd_ = function (dim, index, src) { scatterAddIn(this.handle, dim, index.handle, src.handle); return this; };
Tensor.prototype.indexAdd_ = function (dim, index, source) { indexAddIn(this.handle, dim, index.handle, source.handle, 1); return this; };
const maskedFillScalar = op("aten::masked_fill", "Scalar"), maskedFillTensor = op("aten::masked_fill", "Tensor");
Tensor.prototype.maskedFill = function (mask, value) {
  return wrap(value instanceof Tensor ? maskedFillTensor(this.handle, mask.handle, value.handle) : maskedFillScalar(this.handle, mask.handle, value));
};
const maskedSelectOp = op("aten::masked_select"), nonzeroOp = op("aten::nonzero");
Tensor.prototype.maskedSelect = function (mask) { return wrap(maskedSelectOp(this.handle, handleOf(mask, "maskedSelect(): mask"))); };
Tensor.prototype.nonzero = function () { return wrap(nonzeroOp(this.handle)); };

function valuesIndices(result: unknown): ValuesIndices {
  const [values, indices] = wrapList(result);
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}
const topkOp = op("aten::topk"), sortOp = op("aten::sort", "stable"), argsortOp = op("aten::argsort");
Tensor.prototype.topk = function (k, dim = -1, options = {}) {
  return valuesIndices(topkOp(this.handle, k, dim, options.largest ?? true, options.sorted ?? true));
};
Tensor.prototype.sort = function (dim = -1, options = {}) {
  return valuesIndices(sortOp(this.handle, options.stable ?? false, dim, options.descending ?? false));
};
Tensor.prototype.argsort = function (dim = -1, options = {}) { return wrap(argsortOp(this.handle, dim, options.descending ?? false)); };
const uniqueOp = op("aten::_unique2"), uniqueDim = op("aten::unique_dim");
Tensor.prototype.unique = function (options = {}) {
  const raw = (options.dim === undefined
    ? uniqueOp(this.handle, options.sorted ?? true, options.returnInverse ?? false, options.returnCounts ?? false)
    : uniqueDim(this.handle, options.dim, options.sorted ?? true, options.returnInverse ?? false, options.returnCounts ?? false)) as unknown[];
  const [values, inverse, counts] = raw.map((h) => wrap(h));
  if (!options.returnInverse && !options.returnCounts) { inverse.dispose(); counts.dispose(); return values; }
  const out = [values];
  if (options.returnInverse) out.push(inverse); else inverse.dispose();
  if (options.returnCounts) out.push(counts); else counts.dispose();
  return out;
};
const bincountOp = op("aten::bincount");
Tensor.prototype.bincount = function (options = {}) { return wrap(bincountOp(this.handle, options.weights?.handle ?? null, options.minlength ?? 0)); };

const whereSelf = op("aten::where", "self"), whereScalarOther = op("aten::where", "ScalarOther");
const whereScalarSelf = op("aten::where", "ScalarSelf"), whereScalar = op("aten::where", "Scalar");
/** where(condition, x, y): x where condition holds, else y; x and y may be numbers. */
export function where(condition: Tensor, x: Tensor | number, y: Tensor | number): Tensor {
  const c = handleOf(condition, "where(): condition");
  if (x instanceof Tensor) return wrap(y instanceof Tensor ? whereSelf(c, x.handle, y.handle) : whereScalarOther(c, x.handle, y));
  return wrap(y instanceof Tensor ? whereScalarSelf(c, x, y.handle) : whereScalar(c, x, y));
}
