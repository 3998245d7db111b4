// Samplers: which dataset indices a DataLoader visits, in which order, as
// torch.utils.data's Sequential, Random, SubsetRandom, Batch and Distributed samplers.
import { FlareError } from "../errors.js";
import { Generator, native, type Tensor } from "../tensor/index.js";
import { TorchGenerator, MAX_RANDPERM, checkGenerator, randomSeed, randintN, randperm, type AnyGenerator } from "../tensor/generator.js";
import { checkOptions, optionNames } from "../options.js";
import { torchRandperm } from "./torch_random.js";

/** An iterable of dataset indices (or of index batches) with a known length. */
export interface Sampler<T = number> extends Iterable<T> {
  readonly length: number;
}

function sizeOf(source: { length: number } | number, what: string): number {
  const n = typeof source === "number" ? source : source?.length;
  if (!Number.isInteger(n) || (n as number) < 0) throw new FlareError(`${what}: needs a dataset (or a size) with a non-negative integer length, got ${n}`, "E_ARGUMENT");
  return n as number;
}

function positiveInt(value: number, what: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new FlareError(`${what} must be a positive integer, got ${value}`, "E_ARGUMENT");
  return value;
}

/** 0, 1, ..., n-1. */
export class SequentialSampler implements Sampler<number> {
  private readonly source: { length: number } | number;
  constructor(dataSource: { length: number } | number) { sizeOf(dataSource, "SequentialSampler()"); this.source = dataSource; }
  get length(): number { return sizeOf(this.source, "SequentialSampler"); }
  *[Symbol.iterator](): Iterator<number> { for (let i = 0, n = this.length; i < n; i++) yield i; }
}

/**
 * Where a sampler's randomness comes from: a torch.TorchGenerator (PyTorch's
 * stream, the default: a TorchGenerator seeded from the default generator, as
 * PyTorch's RandomSampler does), or flare's fast JavaScript torch.Generator
 * (flare's own stream, not PyTorch's).
 */
export type SamplerGenerator = AnyGenerator;

/** Largest dataset RandomSampler shuffles without replacement (its permutation is a native int64 tensor: 1 GiB at the bound). */
export const MAX_SHUFFLE = MAX_RANDPERM;

function checkShuffleSize(n: number, what: string): void {
  if (n > MAX_SHUFFLE)
    throw new FlareError(`${what}: cannot shuffle ${n} samples without replacement: flare's bound is ${MAX_SHUFFLE} (2^27; the permutation is an int64 tensor). Use replacement: true, or a sampler of your own`, "E_ARGUMENT");
}

/** The values of an int64 tensor [n], read in blocks (a large permutation never becomes one JavaScript array). */
function* int64Values(t: Tensor, start = 0, end = t.shape[0]): IterableIterator<number> {
  const BLOCK = 65536;
  for (let s = start; s < end; s += BLOCK) {
    const block = t.narrow(0, s, Math.min(BLOCK, end - s));
    let values: BigInt64Array;
    try { values = new BigInt64Array(native.toBuffer(block.handle)); } finally { block.dispose(); }
    for (const v of values) yield Number(v);
  }
}

export interface RandomSamplerOptions {
  /** Draw with replacement (default false). */
  replacement?: boolean;
  /** How many indices per pass (default the dataset's length). */
  numSamples?: number;
  /** Default: a TorchGenerator seeded from the default generator at each pass, as PyTorch. */
  generator?: SamplerGenerator;
}
const RANDOM_SAMPLER_OPTIONS = optionNames<RandomSamplerOptions>({ replacement: 1, numSamples: 1, generator: 1 });

/** A random order (a new one on each pass), or draws with replacement; PyTorch's indices for PyTorch's seed. */
export class RandomSampler implements Sampler<number> {
  readonly replacement: boolean;
  generator: SamplerGenerator | undefined;
  private readonly source: { length: number } | number;
  private readonly fixedNumSamples: number | undefined;
  constructor(dataSource: { length: number } | number, options: RandomSamplerOptions = {}) {
    const n = sizeOf(dataSource, "RandomSampler()");
    options = checkOptions(options, RANDOM_SAMPLER_OPTIONS, "new RandomSampler()");
    this.source = dataSource;
    this.replacement = options.replacement ?? false;
    if (typeof this.replacement !== "boolean") throw new FlareError(`RandomSampler(): replacement must be a boolean, got ${typeof options.replacement}`, "E_TYPE");
    this.generator = checkGenerator(options.generator, "RandomSampler()");
    if (options.numSamples !== undefined) positiveInt(options.numSamples, "RandomSampler(): numSamples");
    this.fixedNumSamples = options.numSamples;
    if (!this.replacement && !(this.generator instanceof Generator)) checkShuffleSize(n, "RandomSampler()");
  }
  get numSamples(): number { return this.fixedNumSamples ?? sizeOf(this.source, "RandomSampler"); }
  get length(): number { return this.numSamples; }
  *[Symbol.iterator](): Iterator<number> {
    const n = sizeOf(this.source, "RandomSampler");
    const count = this.numSamples;
    const given = this.generator;
    if (given instanceof Generator) { yield* jsSamples(given, n, count, this.replacement); return; }
    if (!this.replacement) checkShuffleSize(n, "RandomSampler");
    // PyTorch 1.13's RandomSampler.__iter__, draw for draw.
    const g = given ?? new TorchGenerator(randomSeed());
    if (this.replacement) {
      for (let k = 0; k < Math.floor(count / 32); k++) yield* randintN(n, 32, g);
      yield* randintN(n, count % 32, g);
      return;
    }
    for (let k = 0; k < Math.floor(count / n); k++) {
      const perm = randperm(n, g);
      try { yield* int64Values(perm); } finally { perm.dispose(); }
    }
    const perm = randperm(n, g);
    try { yield* int64Values(perm, 0, count % n); } finally { perm.dispose(); }
  }
}

/** flare's own stream (a JavaScript generator): a whole permutation per pass, or draws with replacement. */
function* jsSamples(g: Generator, n: number, count: number, replacement: boolean): IterableIterator<number> {
  if (n === 0) return;
  if (replacement) {
    for (let k = 0; k < count; k++) yield g.randint(0, n);
    return;
  }
  if (n > 1e7) throw new FlareError(`RandomSampler: a JavaScript generator shuffles at most 10^7 samples, got ${n}; use a torch.TorchGenerator (native, up to ${MAX_SHUFFLE})`, "E_ARGUMENT");
  for (let done = 0; done < count; ) {
    const perm = g.permutation(n);
    for (let k = 0; k < perm.length && done < count; k++, done++) yield perm[k];
  }
}

/** The given indices in a random order (a new one on each pass), as torch.randperm(len, generator). */
export class SubsetRandomSampler implements Sampler<number> {
  readonly indices: number[];
  readonly generator: SamplerGenerator | undefined;
  constructor(indices: Iterable<number>, options: { generator?: SamplerGenerator } = {}) {
    options = checkOptions(options, ["generator"], "new SubsetRandomSampler()");
    this.indices = Array.from(indices);
    this.generator = checkGenerator(options.generator, "SubsetRandomSampler()");
    if (!(this.generator instanceof Generator)) checkShuffleSize(this.indices.length, "SubsetRandomSampler()");
  }
  get length(): number { return this.indices.length; }
  *[Symbol.iterator](): Iterator<number> {
    const g = this.generator;
    if (g instanceof Generator) { for (const k of g.permutation(this.indices.length)) yield this.indices[k]; return; }
    const perm = randperm(this.indices.length, g);
    try { for (const k of int64Values(perm)) yield this.indices[k]; } finally { perm.dispose(); }
  }
}

/** Groups another sampler's indices into lists of batchSize (the last one shorter unless dropLast). */
export class BatchSampler implements Sampler<number[]> {
  constructor(readonly sampler: Sampler<number> | Iterable<number> & { length: number }, readonly batchSize: number, readonly dropLast = false) {
    positiveInt(batchSize, "BatchSampler(): batchSize");
    if (typeof dropLast !== "boolean") throw new FlareError(`BatchSampler(): dropLast must be a boolean, got ${typeof dropLast}`, "E_ARGUMENT");
  }
  get length(): number {
    const n = this.sampler.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }
  *[Symbol.iterator](): Iterator<number[]> {
    let batch: number[] = [];
    for (const i of this.sampler) {
      batch.push(i);
      if (batch.length === this.batchSize) { yield batch; batch = []; }
    }
    if (batch.length > 0 && !this.dropLast) yield batch;
  }
}

export interface DistributedSamplerOptions {
  /** The number of processes (default WORLD_SIZE from the environment, as torchrun sets it). */
  numReplicas?: number;
  /** This process's rank (default RANK from the environment). */
  rank?: number;
  /** Shuffle with a permutation seeded by seed + epoch (default true). */
  shuffle?: boolean;
  /** The seed all ranks share (default 0). */
  seed?: number;
  /** Drop the tail so every rank gets the same count, instead of repeating the head (default false). */
  dropLast?: boolean;
}

const DISTRIBUTED_SAMPLER_OPTIONS = optionNames<DistributedSamplerOptions>({ numReplicas: 1, rank: 1, shuffle: 1, seed: 1, dropLast: 1 });

function fromEnv(name: string, what: string): number {
  const raw = process.env[name];
  if (raw === undefined) throw new FlareError(`DistributedSampler(): pass ${what} or set ${name} (torchrun and flare's launcher set it)`, "E_ARGUMENT");
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new FlareError(`DistributedSampler(): ${name}=${raw} is not a non-negative integer`, "E_ARGUMENT");
  return n;
}

/**
 * Each of numReplicas processes visits its own share of the dataset, exactly as
 * torch.utils.data.DistributedSampler: the same seed and epoch give the same
 * partition as PyTorch (torch.randperm under a generator seeded with seed + epoch,
 * reproduced bit for bit), padded by repeating the head (or cut with dropLast), and
 * rank r takes every numReplicas-th index from r. Call setEpoch(e) before each epoch.
 */
export class DistributedSampler implements Sampler<number> {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  epoch = 0;
  private readonly source: { length: number } | number;
  constructor(dataset: { length: number } | number, options: DistributedSamplerOptions = {}) {
    const n = sizeOf(dataset, "DistributedSampler()");
    options = checkOptions(options, DISTRIBUTED_SAMPLER_OPTIONS, "new DistributedSampler()");
    checkShuffleSize(n, "DistributedSampler()");
    this.source = dataset;
    this.numReplicas = options.numReplicas ?? fromEnv("WORLD_SIZE", "numReplicas");
    this.rank = options.rank ?? fromEnv("RANK", "rank");
    positiveInt(this.numReplicas, "DistributedSampler(): numReplicas");
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.numReplicas)
      throw new FlareError(`DistributedSampler(): invalid rank ${this.rank}, rank should be in the interval [0, ${this.numReplicas - 1}]`, "E_ARGUMENT");
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    if (!Number.isInteger(this.seed)) throw new FlareError(`DistributedSampler(): seed must be an integer, got ${this.seed}`, "E_ARGUMENT");
    this.dropLast = options.dropLast ?? false;
  }
  private get datasetLength(): number { return sizeOf(this.source, "DistributedSampler"); }
  /** The number of indices this rank visits per epoch. */
  get numSamples(): number {
    const n = this.datasetLength;
    return this.dropLast && n % this.numReplicas !== 0
      ? Math.ceil((n - this.numReplicas) / this.numReplicas)
      : Math.ceil(n / this.numReplicas);
  }
  get totalSize(): number { return this.numSamples * this.numReplicas; }
  get length(): number { return this.numSamples; }
  /** Sets the epoch that seeds the next shuffle (every rank must use the same). */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new FlareError(`DistributedSampler.setEpoch(): epoch must be a non-negative integer, got ${epoch}`, "E_ARGUMENT");
    this.epoch = epoch;
  }
  /** This rank's indices for the current epoch. */
  indices(): number[] {
    const n = this.datasetLength;
    checkShuffleSize(n, "DistributedSampler");
    let indices = this.shuffle ? torchRandperm(n, BigInt(this.seed) + BigInt(this.epoch)) : Array.from({ length: n }, (_, i) => i);
    const total = this.totalSize;
    if (!this.dropLast) {
      const padding = total - indices.length;
      if (padding > 0 && indices.length > 0) {
        const extra: number[] = [];
        while (extra.length < padding) extra.push(...indices.slice(0, padding - extra.length));
        indices = indices.concat(extra);
      }
    } else {
      indices = indices.slice(0, total);
    }
    const mine: number[] = [];
    for (let k = this.rank; k < total; k += this.numReplicas) mine.push(indices[k]);
    return mine;
  }
  *[Symbol.iterator](): Iterator<number> { yield* this.indices(); }
}
