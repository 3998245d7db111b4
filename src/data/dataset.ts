// Datasets: anything with a length and get(i) (sync or async), and the
// combinators of torch.utils.data (Subset, ConcatDataset, randomSplit, TensorDataset).
import { FlareError } from "../errors.js";
import { Tensor, Generator } from "../tensor/index.js";
import { checkGenerator, randpermList, type AnyGenerator } from "../tensor/generator.js";
import { checkOptions } from "../options.js";

/**
 * A map-style dataset: `length` samples, `get(i)` returns sample i (or a Promise of it).
 * The tensors a `get` returns belong to the caller: the DataLoader frees them once
 * they are collated into a batch, so a dataset that caches tensors returns views or
 * clones of them (TensorDataset returns views).
 */
export interface Dataset<T = unknown> {
  readonly length: number;
  get(index: number): T | Promise<T>;
}

/** The sample type of a dataset. */
export type SampleOf<D> = D extends Dataset<infer T> ? T : never;

export function isDataset(value: unknown): value is Dataset {
  return typeof value === "object" && value !== null && typeof (value as Dataset).get === "function" &&
    typeof (value as Dataset).length === "number";
}

export function checkDataset(value: unknown, what: string): asserts value is Dataset {
  if (!isDataset(value)) throw new FlareError(`${what} must be a dataset (an object with a numeric length and a get(i) method)`, "E_ARGUMENT");
  const n = (value as Dataset).length;
  if (!Number.isInteger(n) || n < 0) throw new FlareError(`${what}: length must be a non-negative integer, got ${n}`, "E_ARGUMENT");
}

/** Checks i against a length, allowing negative indices from the end as Python does. */
export function checkIndex(index: number, length: number, what: string): number {
  if (!Number.isInteger(index)) throw new FlareError(`${what}: index ${index} is not an integer`, "E_INDEX");
  const i = index < 0 ? index + length : index;
  if (i < 0 || i >= length) throw new FlareError(`${what}: index ${index} is out of range for a dataset of ${length} samples`, "E_INDEX");
  return i;
}

/** The samples of `dataset` at `indices`, in that order. */
export class Subset<T> implements Dataset<T> {
  readonly indices: number[];
  constructor(readonly dataset: Dataset<T>, indices: Iterable<number>) {
    checkDataset(dataset, "Subset(): dataset");
    this.indices = Array.from(indices);
    for (const i of this.indices) checkIndex(i, dataset.length, "Subset()");
  }
  get length(): number { return this.indices.length; }
  get(index: number): T | Promise<T> {
    return this.dataset.get(this.indices[checkIndex(index, this.indices.length, "Subset.get()")]);
  }
}

/** Several datasets one after another. */
export class ConcatDataset<T> implements Dataset<T> {
  readonly datasets: Dataset<T>[];
  /** cumulativeSizes[k]: the number of samples in datasets 0..k. */
  readonly cumulativeSizes: number[];
  constructor(datasets: Iterable<Dataset<T>>) {
    this.datasets = Array.from(datasets);
    if (this.datasets.length === 0) throw new FlareError("ConcatDataset(): needs at least one dataset", "E_ARGUMENT");
    let total = 0;
    this.cumulativeSizes = this.datasets.map((d, k) => { checkDataset(d, `ConcatDataset(): dataset ${k}`); return (total += d.length); });
  }
  get length(): number { return this.cumulativeSizes[this.cumulativeSizes.length - 1]; }
  get(index: number): T | Promise<T> {
    const i = checkIndex(index, this.length, "ConcatDataset.get()");
    // Binary search for the first cumulative size above i (bisect_right).
    let lo = 0, hi = this.cumulativeSizes.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.cumulativeSizes[mid] > i) hi = mid; else lo = mid + 1; }
    return this.datasets[lo].get(i - (lo === 0 ? 0 : this.cumulativeSizes[lo - 1]));
  }
}

/** Tensors that share their first dimension; sample i is [t0[i], t1[i], ...] (views). */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: Tensor[];
  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new FlareError("TensorDataset(): needs at least one tensor", "E_ARGUMENT");
    tensors.forEach((t, k) => {
      if (!(t instanceof Tensor)) throw new FlareError(`TensorDataset(): argument ${k} is not a Tensor`, "E_ARGUMENT");
      if (t.ndim === 0) throw new FlareError(`TensorDataset(): tensor ${k} is 0-dimensional`, "E_SHAPE");
    });
    const n = tensors[0].shape[0];
    tensors.forEach((t, k) => {
      if (t.shape[0] !== n) throw new FlareError(`TensorDataset(): size mismatch between tensors: tensor 0 has ${n} rows, tensor ${k} has ${t.shape[0]}`, "E_SHAPE");
    });
    this.tensors = tensors;
  }
  get length(): number { return this.tensors[0].shape[0]; }
  get(index: number): Tensor[] {
    const i = checkIndex(index, this.length, "TensorDataset.get()");
    return this.tensors.map((t) => t.index(i));
  }
}

/**
 * Splits a dataset into non-overlapping random subsets, as torch.utils.data.random_split:
 * `lengths` are counts that sum to the dataset's length, or fractions that sum to 1
 * (floor of each, the remainder given one by one to the first subsets).
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: number[], options: { generator?: AnyGenerator } = {}): Subset<T>[] {
  checkDataset(dataset, "randomSplit(): dataset");
  options = checkOptions(options, ["generator"], "randomSplit()");
  const n = dataset.length;
  let counts = lengths.slice();
  if (counts.some((x) => !(Number.isFinite(x) && x >= 0))) throw new FlareError(`randomSplit(): lengths must be non-negative numbers, got [${lengths.join(", ")}]`, "E_ARGUMENT");
  const sum = counts.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) <= 1e-9 && sum !== n) {
    counts = counts.map((f) => Math.floor(n * f));
    let remainder = n - counts.reduce((a, b) => a + b, 0);
    for (let k = 0; remainder > 0; k = (k + 1) % counts.length, remainder--) counts[k] += 1;
  } else if (counts.some((x) => !Number.isInteger(x))) {
    throw new FlareError(`randomSplit(): fractions must sum to 1, got ${sum}`, "E_ARGUMENT");
  }
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== n) throw new FlareError(`randomSplit(): the lengths sum to ${total}, the dataset has ${n} samples`, "E_ARGUMENT");
  // PyTorch's randperm(n, generator=default_generator), unless flare's JavaScript generator is given.
  const g = checkGenerator(options.generator, "randomSplit()");
  const perm = g instanceof Generator ? g.permutation(n) : randpermList(n, g);
  let offset = 0;
  return counts.map((c) => new Subset(dataset, perm.slice(offset, (offset += c))));
}
