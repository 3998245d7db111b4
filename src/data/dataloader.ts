// DataLoader: batches from a dataset, in sampler order, on the main thread or
// decoded and augmented by worker_threads with prefetch (see pool.ts, worker.ts).
//
// Workers. Functions and closures cannot be sent to a thread, so each worker builds
// the dataset itself from `workerModule`, an ES module that exports
//   createDataset(args, info)   (or a default export: that function, or a dataset object)
//     -> the dataset (or a Promise of it); args = the loader's workerArgs
//   collateFn(samples)          optional: the collate for a custom DataLoader collateFn
//   workerInit(info)            optional: runs once per worker after its first seeding
// The main thread keeps the sampler: it sends each worker index lists (round-robin,
// prefetchFactor batches ahead per worker); a worker loads the samples one by one,
// collates them and posts the batch, its tensors moving as handles (no copy). Batches
// come out in sampler order.
//
// Seeds, as PyTorch 1.13: each pass (each iterator) draws a base seed,
// torch.empty((), int64).random_(generator), before the sampler's first draw;
// worker k seeds its own TorchGenerator (the default generator of its draws:
// transforms, RandomSampler, randomSplit) and flare's JavaScript generator with
// base + k, and getWorkerInfo().seed is base + k. libtorch's process-wide
// generator (torch.randn in a worker) is shared by the threads and not reseeded.
// With persistentWorkers the base seed is drawn and the workers seeded once, as
// PyTorch keeps one iterator.
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { FlareError } from "../errors.js";
import { Generator as JsGenerator, tidy } from "../tensor/index.js";
import { checkGenerator, randomSeed } from "../tensor/generator.js";
import { optionNames, pytorchOptions, type PyArgs } from "../options.js";
import { collateSpecOf, defaultCollate, unbatched, type CollateFn, type CollateSpec } from "./collate.js";
import { checkDataset, type Dataset } from "./dataset.js";
import { WorkerPool, codeOf, isClosedError, type Outcome } from "./pool.js";
import type { OnError, Skip } from "./protocol.js";
import { BatchSampler, RandomSampler, SequentialSampler, type Sampler, type SamplerGenerator } from "./sampler.js";
import { disposeExcept } from "./transfer.js";

export interface DataLoaderOptions<T, B> {
  /** Samples per batch (default 1); null yields single samples without collation. */
  batchSize?: number | null;
  /** Reshuffle the indices on every pass (default false). */
  shuffle?: boolean;
  /** Which indices to visit (excludes shuffle). */
  sampler?: Sampler<number> | (Iterable<number> & { length: number });
  /** Which index lists make the batches (excludes batchSize, shuffle, sampler, dropLast). */
  batchSampler?: Sampler<number[]> | (Iterable<number[]> & { length: number });
  /** Drop the last, smaller batch (default false). */
  dropLast?: boolean;
  /** Samples -> batch (default defaultCollate). With workers, a custom one must also be exported as `collateFn` by workerModule. */
  collateFn?: CollateFn<T, B>;
  /** Worker threads that load and collate batches (default 0: the main thread does it while you wait). */
  numWorkers?: number;
  /** Batches each worker works ahead (default 2). */
  prefetchFactor?: number;
  /** Path or URL of an ES module whose createDataset(args, info) (or default export) builds the dataset in a worker. */
  workerModule?: string | URL;
  /** Data passed to createDataset in each worker (structured-cloneable). */
  workerArgs?: unknown;
  /** Keep the workers between passes (default false); call close() when done. */
  persistentWorkers?: boolean;
  /** The generator of the shuffle and of the workers' base seed: a torch.TorchGenerator (PyTorch's draws; default libtorch's default generator), or flare's JavaScript torch.Generator (flare's own stream). */
  generator?: SamplerGenerator;
  /** "raise" (default): a failing sample stops the pass with a FlareError naming its index; "skip": it is left out and counted. */
  onError?: OnError;
  /** Called for each skipped sample (onError "skip"). */
  onSkip?: (skip: Skip) => void;
  /** Milliseconds to wait for a batch from the workers before a FlareError (default 0: forever). */
  timeout?: number;
}

function moduleUrl(spec: string | URL): string {
  if (spec instanceof URL) return spec.href;
  if (/^(file|data|node):/.test(spec)) return spec;
  return pathToFileURL(path.resolve(spec)).href;
}

const SKIP_LOG = 1000;

/** Most worker threads a DataLoader starts (each holds its own dataset and a few MB of runtime). */
export const MAX_NUM_WORKERS = 256;
/** Most batches each worker works ahead. */
export const MAX_PREFETCH_FACTOR = 1024;

const DATALOADER_OPTIONS = optionNames<DataLoaderOptions<unknown, unknown>>({
  batchSize: 1, shuffle: 1, sampler: 1, batchSampler: 1, dropLast: 1, collateFn: 1, numWorkers: 1, prefetchFactor: 1,
  workerModule: 1, workerArgs: 1, persistentWorkers: 1, generator: 1, onError: 1, onSkip: 1, timeout: 1,
});

function bool(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") throw new FlareError(`DataLoader(): ${name} must be a boolean, got ${typeof value}`, "E_TYPE");
  return value;
}

/**
 * Iterates a dataset in batches: `for await (const [x, y] of loader) { ... }`.
 * Each batch belongs to the caller (dispose it, or let a tidy() inside the loop
 * body free what it makes from it).
 */
// B defaults to any so that `for await (const [x, y] of loader)` reads as in PyTorch;
// name it (DataLoader<Sample, [Tensor, Tensor]>) or pass a typed collateFn for checking.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class DataLoader<T = unknown, B = any> implements AsyncIterable<B> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number | null;
  readonly dropLast: boolean;
  readonly sampler: Sampler<number> | (Iterable<number> & { length: number });
  readonly batchSampler: (Iterable<number[]> & { length: number }) | null;
  readonly collateFn: CollateFn<T, B>;
  readonly numWorkers: number;
  readonly prefetchFactor: number;
  readonly persistentWorkers: boolean;
  readonly onError: OnError;
  readonly timeout: number;
  generator: SamplerGenerator | undefined;
  /** Samples left out because they failed (onError "skip"), over the loader's life. */
  skipped = 0;
  /** The latest skips (up to 1000): the index and the error message. */
  readonly skips: Skip[] = [];
  private readonly workerModule: string | undefined;
  private readonly workerArgs: unknown;
  private readonly onSkip: ((skip: Skip) => void) | undefined;
  private readonly collateGiven: boolean;
  /** The kept pool of persistentWorkers. */
  private pool: WorkerPool | null = null;
  private poolInUse = false;
  /** Every pool a pass is using now. */
  private readonly pools = new Set<WorkerPool>();

  /** PyTorch's signature: `new DataLoader(ds, 64, true)` or `new DataLoader(ds, { batchSize: 64, shuffle: true })`. */
  constructor(dataset: Dataset<T>, ...args: PyArgs<"DataLoader", DataLoaderOptions<T, B>>) {
    checkDataset(dataset, "DataLoader(): dataset");
    const options = pytorchOptions<DataLoaderOptions<T, B>>("DataLoader", args, DATALOADER_OPTIONS as (keyof DataLoaderOptions<T, B> & string)[], "new DataLoader()");
    this.dataset = dataset;
    const shuffle = bool(options.shuffle ?? false, "shuffle"), dropLast = bool(options.dropLast ?? false, "dropLast");
    const generator = checkGenerator(options.generator, "DataLoader()");
    for (const key of ["sampler", "batchSampler"] as const) {
      const v = options[key] as { length?: unknown; [Symbol.iterator]?: unknown } | null | undefined;
      if (v !== undefined && v !== null && (typeof v !== "object" || typeof v[Symbol.iterator] !== "function" || typeof v.length !== "number"))
        throw new FlareError(`DataLoader(): ${key} must be an iterable with a length (a Sampler), got ${v === null ? "null" : typeof v}`, "E_TYPE");
    }
    let batchSize = options.batchSize === undefined ? 1 : options.batchSize;
    if (options.batchSampler) {
      if ((options.batchSize !== undefined && options.batchSize !== 1) || shuffle || options.sampler || dropLast)
        throw new FlareError("DataLoader(): batchSampler option is mutually exclusive with batchSize, shuffle, sampler, and dropLast", "E_ARGUMENT");
      batchSize = null;
    }
    if (batchSize !== null && (!Number.isInteger(batchSize) || batchSize <= 0))
      throw new FlareError(`DataLoader(): batchSize must be a positive integer or null, got ${batchSize}`, "E_ARGUMENT");
    if (options.sampler && shuffle) throw new FlareError("DataLoader(): sampler option is mutually exclusive with shuffle", "E_ARGUMENT");
    this.generator = generator;
    this.sampler = options.sampler ?? (shuffle ? new RandomSampler(dataset, { generator }) : new SequentialSampler(dataset));
    this.batchSize = options.batchSampler ? null : batchSize;
    this.dropLast = dropLast;
    this.batchSampler = options.batchSampler ?? (batchSize === null ? null : new BatchSampler(this.sampler, batchSize, dropLast));
    const unbatchedMode = this.batchSampler === null;
    this.collateGiven = options.collateFn !== undefined;
    this.collateFn = options.collateFn ?? (unbatchedMode ? unbatched : defaultCollate) as CollateFn<T, B>;
    if (typeof this.collateFn !== "function") throw new FlareError("DataLoader(): collateFn must be a function", "E_ARGUMENT");

    this.numWorkers = options.numWorkers ?? 0;
    if (!Number.isInteger(this.numWorkers) || this.numWorkers < 0)
      throw new FlareError(`DataLoader(): numWorkers must be a non-negative integer, got ${options.numWorkers}`, "E_ARGUMENT");
    if (this.numWorkers > MAX_NUM_WORKERS)
      throw new FlareError(`DataLoader(): numWorkers = ${this.numWorkers} is above flare's bound of ${MAX_NUM_WORKERS} worker threads`, "E_ARGUMENT");
    this.prefetchFactor = options.prefetchFactor ?? 2;
    if (!Number.isInteger(this.prefetchFactor) || this.prefetchFactor <= 0 || this.prefetchFactor > MAX_PREFETCH_FACTOR)
      throw new FlareError(`DataLoader(): prefetchFactor must be an integer in [1, ${MAX_PREFETCH_FACTOR}], got ${options.prefetchFactor}`, "E_ARGUMENT");
    this.persistentWorkers = bool(options.persistentWorkers ?? false, "persistentWorkers");
    if (this.persistentWorkers && this.numWorkers === 0)
      throw new FlareError("DataLoader(): persistentWorkers needs numWorkers > 0", "E_ARGUMENT");
    this.onError = options.onError ?? "raise";
    if (this.onError !== "raise" && this.onError !== "skip")
      throw new FlareError(`DataLoader(): onError must be "raise" or "skip", got ${JSON.stringify(options.onError)}`, "E_ARGUMENT");
    this.onSkip = options.onSkip;
    if (this.onSkip !== undefined && typeof this.onSkip !== "function") throw new FlareError("DataLoader(): onSkip must be a function", "E_TYPE");
    this.timeout = options.timeout ?? 0;
    if (typeof this.timeout !== "number" || !(this.timeout >= 0) || this.timeout > 2 ** 31 - 1)
      throw new FlareError(`DataLoader(): timeout must be a number of milliseconds in [0, 2^31), got ${String(options.timeout)}`, "E_ARGUMENT");
    if (this.numWorkers > 0) {
      if (options.workerModule === undefined)
        throw new FlareError("DataLoader(): numWorkers > 0 needs workerModule, the path or URL of an ES module whose createDataset(args) builds the dataset in each worker (functions cannot be sent to threads)", "E_ARGUMENT");
      this.workerModule = moduleUrl(options.workerModule);
    }
    this.workerArgs = options.workerArgs;
  }

  /** The number of batches per pass (samples, with batchSize null). */
  get length(): number {
    return this.batchSampler ? this.batchSampler.length : this.sampler.length;
  }

  /** One pass over the data. A `break` out of `for await` shuts its workers down. */
  [Symbol.asyncIterator](): AsyncIterator<B> {
    // PyTorch draws the base seed when the iterator is made, before the sampler's first draw.
    const reuse = this.persistentWorkers && this.pool !== null && !this.pool.isClosed;
    const baseSeed = reuse ? null : this.drawBaseSeed();
    return this.numWorkers > 0 ? this.iterateWorkers(baseSeed) : this.iterateMain();
  }

  /**
   * Shuts all workers down (the kept ones of persistentWorkers too); a pass that
   * is running ends as if its data had run out.
   */
  async close(): Promise<void> {
    const pools = Array.from(this.pools);
    if (this.pool) pools.push(this.pool);
    this.pool = null;
    await Promise.all(pools.map((p) => p.close()));
  }

  /** The index lists of one pass. */
  private *indexBatches(): Generator<number[]> {
    if (this.batchSampler) { yield* this.batchSampler; return; }
    for (const i of this.sampler) yield [i];
  }

  /** PyTorch draws a base seed from the loader's generator at each pass, with or without workers. */
  private drawBaseSeed(): bigint {
    const g = this.generator;
    if (g instanceof JsGenerator) return BigInt(Math.floor(g.random() * 4294967296));
    return randomSeed(g);
  }

  private recordSkips(skips: Skip[]): void {
    for (const s of skips) {
      this.skipped++;
      this.skips.push(s);
      if (this.skips.length > SKIP_LOG) this.skips.shift();
      this.onSkip?.(s);
    }
  }

  private async *iterateMain(): AsyncGenerator<B> {
    for (const indices of this.indexBatches()) {
      const samples: T[] = [];
      const skips: Skip[] = [];
      for (const index of indices) {
        try {
          samples.push(await this.dataset.get(index));
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (this.onError === "skip") { skips.push({ index, message }); continue; }
          disposeExcept(samples, null);
          throw Object.assign(new FlareError(`DataLoader, dataset index ${index}: ${message}`, codeOf((error as { code?: string })?.code)),
            { index, indices, cause: error });
        }
      }
      this.recordSkips(skips);
      if (samples.length === 0) continue;
      let batch: B;
      try {
        batch = tidy(() => this.collateFn(samples));
      } catch (error) {
        disposeExcept(samples, null);
        const message = error instanceof Error ? error.message : String(error);
        throw Object.assign(new FlareError(`DataLoader, collating the batch of dataset indices [${indices.join(", ")}]: ${message}`,
          codeOf((error as { code?: string })?.code)), { index: null, indices, cause: error });
      }
      disposeExcept(samples, batch);
      yield batch;
    }
  }

  private collateForWorkers(): CollateSpec | "module" | "auto" {
    // No collateFn given: the module's own collateFn if it exports one, else the default.
    if (!this.collateGiven && this.batchSampler !== null) return "auto";
    return collateSpecOf(this.collateFn) ?? "module";
  }

  private async *iterateWorkers(baseSeed: bigint | null): AsyncGenerator<B> {
    let pool: WorkerPool;
    if (this.persistentWorkers && this.pool && !this.pool.isClosed) {
      if (this.poolInUse) throw new FlareError("DataLoader: with persistentWorkers, one pass runs at a time: finish (or break) the previous loop first", "E_STATE");
      pool = this.pool;
    } else {
      pool = new WorkerPool({ numWorkers: this.numWorkers, module: this.workerModule!, args: this.workerArgs,
        collate: this.collateForWorkers(), onError: this.onError });
      if (this.persistentWorkers) this.pool = pool;
    }
    const persistent = pool === this.pool;
    if (persistent) this.poolInUse = true;
    this.pools.add(pool);
    const batches = this.indexBatches();
    let sent = 0;
    const sendNext = (): boolean => {
      const r = batches.next();
      if (r.done) return false;
      pool.send(sent++, r.value);
      return true;
    };
    try {
      pool.beginEpoch(baseSeed ?? (pool === this.pool && pool.seeded ? null : this.drawBaseSeed()));
      for (let k = 0; k < this.numWorkers * this.prefetchFactor && sendNext(); k++);
      for (let next = 0; next < sent; next++) {
        let outcome: Outcome;
        try {
          outcome = await pool.take(next, this.timeout);
        } catch (error) {
          if (isClosedError(error)) return;  // close() was called: the pass ends
          throw error;
        }
        sendNext();
        this.recordSkips(outcome.skipped);
        if (!outcome.ok) throw outcome.error;
        if (outcome.empty) continue;
        yield outcome.data as B;
      }
    } finally {
      this.pools.delete(pool);
      if (persistent) this.poolInUse = false;
      if (persistent && this.pool === pool && !pool.isClosed && !pool.failed) {
        pool.endEpoch();
      } else {
        if (this.pool === pool) this.pool = null;
        await pool.close();
      }
    }
  }
}
