// Samplers: which dataset indices a DataLoader visits, in which order, as
// torch.utils.data's Sequential, Random, SubsetRandom, Batch and Distributed samplers.
import { FlareError } from "../errors.js";
import { defaultGenerator, type Generator } from "../tensor/index.js";
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

export interface RandomSamplerOptions {
  /** Draw with replacement (default false). */
  replacement?: boolean;
  /** How many indices per pass (default the dataset's length). */
  numSamples?: number;
  /** flare's seeded generator (default torch.defaultGenerator, seeded by torch.manualSeed). */
  generator?: Generator;
}

/** A random order (a new one on each pass), or draws with replacement. */
export class RandomSampler implements Sampler<number> {
  readonly replacement: boolean;
  generator: Generator | undefined;
  private readonly source: { length: number } | number;
  private readonly fixedNumSamples: number | undefined;
  constructor(dataSource: { length: number } | number, options: RandomSamplerOptions = {}) {
    sizeOf(dataSource, "RandomSampler()");
    this.source = dataSource;
    this.replacement = options.replacement ?? false;
    this.generator = options.generator;
    if (options.numSamples !== undefined) positiveInt(options.numSamples, "RandomSampler(): numSamples");
    this.fixedNumSamples = options.numSamples;
  }
  get numSamples(): number { return this.fixedNumSamples ?? sizeOf(this.source, "RandomSampler"); }
  get length(): number { return this.numSamples; }
  *[Symbol.iterator](): Iterator<number> {
    const n = sizeOf(this.source, "RandomSampler");
    const g = this.generator ?? defaultGenerator;
    const count = this.numSamples;
    if (n === 0) return;
    if (this.replacement) {
      for (let k = 0; k < count; k++) yield g.randint(0, n);
      return;
    }
    // Whole permutations, then the head of one more (as PyTorch does for numSamples > n).
    for (let done = 0; done < count; ) {
      const perm = g.permutation(n);
      for (let k = 0; k < perm.length && done < count; k++, done++) yield perm[k];
    }
  }
}

/** The given indices in a random order (a new one on each pass). */
export class SubsetRandomSampler implements Sampler<number> {
  readonly indices: number[];
  constructor(indices: Iterable<number>, readonly options: { generator?: Generator } = {}) { this.indices = Array.from(indices); }
  get length(): number { return this.indices.length; }
  *[Symbol.iterator](): Iterator<number> {
    for (const k of (this.options.generator ?? defaultGenerator).permutation(this.indices.length)) yield this.indices[k];
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
    sizeOf(dataset, "DistributedSampler()");
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
