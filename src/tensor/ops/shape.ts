// Shape ops: views and copies that rearrange elements, and joining/splitting.
import { FlareError } from "../../errors.js";
import { op } from "../native.js";
import { aten } from "../aten.js";
import { Tensor, wrap, wrapList, handleOf } from "../tensor.js";

type Sizes = number[];
/** Accepts x.reshape([2, 3]) and x.reshape(2, 3). */
function sizesOf(args: (number | Sizes)[]): Sizes {
  return args.length === 1 && Array.isArray(args[0]) ? args[0] : (args as number[]);
}

declare module "../tensor.js" {
  interface Tensor {
    reshape(...shape: (number | Sizes)[]): Tensor;
    view(...shape: (number | Sizes)[]): Tensor;
    viewAs(other: Tensor): Tensor;
    reshapeAs(other: Tensor): Tensor;
    permute(...dims: (number | Sizes)[]): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
    /** The 2-D transpose. */
    t(): Tensor;
    /** Reverses all dimensions (x.T in PyTorch). */
    get T(): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    unflatten(dim: number, sizes: Sizes): Tensor;
    squeeze(dim?: number): Tensor;
    unsqueeze(dim: number): Tensor;
    expand(...shape: (number | Sizes)[]): Tensor;
    expandAs(other: Tensor): Tensor;
    repeat(...repeats: (number | Sizes)[]): Tensor;
    /** Each element repeated `repeats` times (a number, or a tensor of one count per element along dim). */
    repeatInterleave(repeats: number | Tensor, dim?: number | null): Tensor;
    flip(dims: number | Sizes): Tensor;
    roll(shifts: number | Sizes, dims?: number | Sizes): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    select(dim: number, index: number): Tensor;
    /** slice(dim, start, end, step): a view like x[start:end:step] along dim. */
    slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor;
    split(sizeOrSections: number | Sizes, dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
    unbind(dim?: number): Tensor[];
    tril(diagonal?: number): Tensor;
    /** Reinterprets the bytes as another dtype of the same size (PyTorch's x.view(dtype)). */
    viewDtype(dtype: string): Tensor;
    triu(diagonal?: number): Tensor;
  }
}

const reshapeOp = op("aten::reshape"), viewOp = op("aten::view");
Tensor.prototype.reshape = function (...shape) { return wrap(reshapeOp(this.handle, sizesOf(shape))); };
Tensor.prototype.view = function (...shape) { return wrap(viewOp(this.handle, sizesOf(shape))); };
const viewDtypeOp = op("aten::view", "dtype");
Tensor.prototype.viewDtype = function (dtype) { return wrap(viewDtypeOp(this.handle, dtype)); };
Tensor.prototype.viewAs = function (other) { return wrap(viewOp(this.handle, other.shape)); };
Tensor.prototype.reshapeAs = function (other) { return wrap(reshapeOp(this.handle, other.shape)); };
const permuteOp = op("aten::permute"), transposeOp = op("aten::transpose", "int"), tOp = op("aten::t");
Tensor.prototype.permute = function (...dims) { return wrap(permuteOp(this.handle, sizesOf(dims))); };
Tensor.prototype.transpose = function (dim0, dim1) { return wrap(transposeOp(this.handle, dim0, dim1)); };
Tensor.prototype.t = function () { return wrap(tOp(this.handle)); };
Object.defineProperty(Tensor.prototype, "T", {
  get(this: Tensor) { const n = this.dim(); return wrap(permuteOp(this.handle, [...Array(n).keys()].reverse())); },
});
const flattenOp = op("aten::flatten", "using_ints"), unflattenOp = op("aten::unflatten", "int");
Tensor.prototype.flatten = function (startDim = 0, endDim = -1) { return wrap(flattenOp(this.handle, startDim, endDim)); };
Tensor.prototype.unflatten = function (dim, sizes) { return wrap(unflattenOp(this.handle, dim, sizes)); };
const squeezeAll = op("aten::squeeze"), squeezeDim = op("aten::squeeze", "dim"), unsqueezeOp = aten.unsqueeze;
Tensor.prototype.squeeze = function (dim) { return wrap(dim === undefined ? squeezeAll(this.handle) : squeezeDim(this.handle, dim)); };
Tensor.prototype.unsqueeze = function (dim) { return wrap(unsqueezeOp(this.handle, dim)); };
const expandOp = aten.expand, repeatOp = op("aten::repeat"), repeatInterleaveOp = op("aten::repeat_interleave", "self_int");
const repeatInterleaveTensor = op("aten::repeat_interleave", "self_Tensor");
Tensor.prototype.expand = function (...shape) { return wrap(expandOp(this.handle, sizesOf(shape), false)); };
Tensor.prototype.expandAs = function (other) { return wrap(expandOp(this.handle, other.shape, false)); };
Tensor.prototype.repeat = function (...repeats) { return wrap(repeatOp(this.handle, sizesOf(repeats))); };
Tensor.prototype.repeatInterleave = function (repeats, dim) {
  return wrap(repeats instanceof Tensor ? repeatInterleaveTensor(this.handle, repeats.handle, dim ?? null, null) : repeatInterleaveOp(this.handle, repeats, dim ?? null, null));
};
const flipOp = op("aten::flip"), rollOp = op("aten::roll");
Tensor.prototype.flip = function (dims) { return wrap(flipOp(this.handle, typeof dims === "number" ? [dims] : dims)); };
Tensor.prototype.roll = function (shifts, dims = []) {
  return wrap(rollOp(this.handle, typeof shifts === "number" ? [shifts] : shifts, typeof dims === "number" ? [dims] : dims));
};
const narrowOp = op("aten::narrow"), selectOp = aten.select, sliceOp = aten.slice;
Tensor.prototype.narrow = function (dim, start, length) { return wrap(narrowOp(this.handle, dim, start, length)); };
Tensor.prototype.select = function (dim, index) { return wrap(selectOp(this.handle, dim, index)); };
Tensor.prototype.slice = function (dim, start = null, end = null, step = 1) {
  if (step <= 0) throw new FlareError(`slice(): step must be positive, got ${step}`, "E_ARGUMENT");
  return wrap(sliceOp(this.handle, dim, start, end, step));
};
const splitOp = op("aten::split", "Tensor"), splitSizes = op("aten::split_with_sizes"), chunkOp = op("aten::chunk"), unbindOp = op("aten::unbind", "int");
Tensor.prototype.split = function (sizeOrSections, dim = 0) {
  return wrapList(typeof sizeOrSections === "number" ? splitOp(this.handle, sizeOrSections, dim) : splitSizes(this.handle, sizeOrSections, dim));
};
Tensor.prototype.chunk = function (chunks, dim = 0) { return wrapList(chunkOp(this.handle, chunks, dim)); };
Tensor.prototype.unbind = function (dim = 0) { return wrapList(unbindOp(this.handle, dim)); };
const trilOp = op("aten::tril"), triuOp = op("aten::triu");
Tensor.prototype.tril = function (diagonal = 0) { return wrap(trilOp(this.handle, diagonal)); };
Tensor.prototype.triu = function (diagonal = 0) { return wrap(triuOp(this.handle, diagonal)); };

const catOp = op("aten::cat"), stackOp = op("aten::stack");
function handles(tensors: Tensor[], what: string) {
  if (!Array.isArray(tensors)) throw new FlareError(`${what}() needs an array of tensors`, "E_ARGUMENT");
  return tensors.map((t, i) => handleOf(t, `${what}(): tensors[${i}]`));
}
/** Joins tensors along an existing dimension. */
export function cat(tensors: Tensor[], dim = 0): Tensor { return wrap(catOp(handles(tensors, "cat"), dim)); }
export const concat = cat;
/** Joins tensors along a new dimension. */
export function stack(tensors: Tensor[], dim = 0): Tensor { return wrap(stackOp(handles(tensors, "stack"), dim)); }
