// The main thread's side of DataLoader workers: starts the threads, hands out
// index lists round-robin, adopts the batches that come back and keeps them in
// order, and shuts the threads down so that no tensor is left in flight.
import { Worker } from "node:worker_threads";
import { FlareError, type FlareErrorCode } from "../errors.js";
import { adopt } from "../tensor/index.js";
import type { CollateSpec } from "./collate.js";
import type { FromWorker, OnError, Skip, ToWorker, WorkerSetup } from "./protocol.js";
import { packedHandles, tensorsIn, unpack } from "./transfer.js";

export interface PoolOptions {
  numWorkers: number;
  module: string;
  args: unknown;
  collate: CollateSpec | "module" | "auto";
  onError: OnError;
  /** How long close() waits for a busy worker before terminating it (ms). */
  closeTimeoutMs?: number;
}

/** One batch's outcome, in the main thread's hands. */
export type Outcome =
  | { ok: true; data: unknown; empty: boolean; skipped: Skip[]; worker: number }
  | { ok: false; error: FlareError; skipped: Skip[] };

const WORKER_URL = new URL("./worker.js", import.meta.url);

const CODES = new Set<string>(["E_ARGUMENT", "E_SHAPE", "E_DTYPE", "E_DEVICE", "E_DISPOSED", "E_INDEX", "E_TYPE", "E_TORCH",
  "E_NOT_IMPLEMENTED", "E_OUT_OF_MEMORY", "E_LINALG", "E_FORMAT", "E_IO", "E_STATE", "E_INTERNAL"]);

/** The FlareError code of an error from a dataset: its own if it is a FlareError's, else E_IO (datasets mostly read files). */
export function codeOf(code: unknown): FlareErrorCode {
  return typeof code === "string" && CODES.has(code) ? code as FlareErrorCode : "E_IO";
}

/** The error a pending take() gets when close() is called. */
function closedError(): FlareError {
  return Object.assign(new FlareError("DataLoader: the workers were closed", "E_STATE"), { poolClosed: true });
}
export function isClosedError(error: unknown): boolean {
  return (error as { poolClosed?: boolean })?.poolClosed === true;
}

function freePacked(data: unknown): void {
  for (const h of packedHandles(data)) { try { adopt(h).dispose(); } catch { /* gone */ } }
}

export class WorkerPool {
  readonly numWorkers: number;
  private readonly workers: Worker[] = [];
  private readonly exited: Promise<void>[] = [];
  private epoch = -1;
  private active = false;
  private readonly results = new Map<number, Outcome>();
  private waiter: { seq: number; resolve: (o: Outcome) => void; reject: (e: Error) => void } | null = null;
  private failure: FlareError | null = null;
  private closing: Promise<void> | null = null;
  private readonly closeTimeoutMs: number;
  /** A take() timed out: close() terminates at once instead of waiting for the stuck worker. */
  private timedOut = false;

  constructor(private readonly options: PoolOptions) {
    this.numWorkers = options.numWorkers;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    for (let id = 0; id < options.numWorkers; id++) {
      const setup: WorkerSetup = { workerId: id, numWorkers: options.numWorkers, module: options.module, args: options.args,
        collate: options.collate, onError: options.onError };
      let worker: Worker;
      try {
        worker = new Worker(WORKER_URL, { workerData: setup });
      } catch (error) {
        void this.close();
        throw new FlareError(`DataLoader: could not start worker ${id}: ${(error as Error).message} (workerArgs must be structured-cloneable data)`, "E_ARGUMENT");
      }
      worker.on("message", (m: FromWorker) => this.onMessage(id, m));
      worker.on("error", (error) => this.fail(new FlareError(`DataLoader worker ${id} failed: ${error.message}`, codeOf((error as { code?: string }).code))));
      this.exited.push(new Promise<void>((resolve) => worker.once("exit", (code) => {
        if (!this.closing) this.fail(new FlareError(`DataLoader worker ${id} exited unexpectedly (exit code ${code})`, "E_STATE"));
        resolve();
      })));
      worker.unref();
      this.workers.push(worker);
    }
  }

  get isClosed(): boolean { return this.closing !== null; }
  /** A worker failed to start, crashed or exited: the pool is unusable. */
  get failed(): boolean { return this.failure !== null; }

  private post(id: number, message: ToWorker): void { this.workers[id].postMessage(message); }

  private onMessage(id: number, m: FromWorker): void {
    switch (m.type) {
      case "ready": return;
      case "batch": {
        if (!this.active || m.epoch !== this.epoch) { freePacked(m.data); return; }
        this.settle(m.seq, { ok: true, data: m.empty ? null : unpack(m.data), empty: m.empty, skipped: m.skipped, worker: id });
        return;
      }
      case "error": {
        if (!this.active || m.epoch !== this.epoch) return;
        const where = m.index === null ? `collating the batch of dataset indices [${m.indices.join(", ")}]` : `dataset index ${m.index}`;
        const error = new FlareError(`DataLoader worker ${id}, ${where}: ${m.message}`, codeOf(m.code));
        Object.assign(error, { index: m.index, indices: m.indices, workerId: id, originalName: m.name, originalStack: m.stack });
        this.settle(m.seq, { ok: false, error, skipped: m.skipped });
        return;
      }
      case "fatal":
        this.fail(new FlareError(`DataLoader worker ${id} could not build its dataset from ${this.options.module}: ${m.message}`, codeOf(m.code)));
        return;
      case "closed":
        void this.workers[id].terminate();
        return;
    }
  }

  private settle(seq: number, outcome: Outcome): void {
    if (this.waiter && this.waiter.seq === seq) {
      const { resolve } = this.waiter;
      this.waiter = null;
      this.setRef(false);
      resolve(outcome);
    } else {
      this.results.set(seq, outcome);
    }
  }

  private fail(error: FlareError): void {
    if (this.failure) return;
    this.failure = error;
    if (this.waiter) {
      const { reject } = this.waiter;
      this.waiter = null;
      this.setRef(false);
      reject(error);
    }
  }

  private setRef(on: boolean): void {
    for (const w of this.workers) { if (on) w.ref(); else w.unref(); }
  }

  /** Whether the workers have been seeded (a persistent pool is seeded once, as PyTorch's). */
  seeded = false;

  /** Starts an epoch: worker k reseeds with baseSeed + k (null: they keep their generators). Results of earlier epochs are dropped. */
  beginEpoch(baseSeed: bigint | null): void {
    if (this.failure) throw this.failure;
    if (this.closing) throw closedError();
    this.discardResults();
    this.epoch++;
    this.active = true;
    if (baseSeed !== null) this.seeded = true;
    for (let id = 0; id < this.numWorkers; id++) this.post(id, { type: "epoch", epoch: this.epoch, seed: baseSeed === null ? null : baseSeed + BigInt(id) });
  }

  /** Sends batch number `seq` of this epoch to worker seq mod numWorkers. */
  send(seq: number, indices: number[]): void {
    this.post(seq % this.numWorkers, { type: "task", epoch: this.epoch, seq, indices });
  }

  /** The outcome of batch `seq` of this epoch (waits for it). */
  take(seq: number, timeoutMs = 0): Promise<Outcome> {
    const ready = this.results.get(seq);
    if (ready) { this.results.delete(seq); return Promise.resolve(ready); }
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(closedError());
    return new Promise<Outcome>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = <A>(f: (a: A) => void) => (a: A) => { if (timer) clearTimeout(timer); f(a); };
      this.waiter = { seq, resolve: done(resolve), reject: done(reject) };
      this.setRef(true);
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          if (this.waiter?.seq !== seq) return;
          this.waiter = null;
          this.setRef(false);
          this.timedOut = true;
          reject(new FlareError(`DataLoader timed out after ${timeoutMs} ms waiting for batch ${seq} from worker ${seq % this.numWorkers}`, "E_STATE"));
        }, timeoutMs);
      }
    });
  }

  /** Ends the epoch early or normally: queued tasks are dropped, unconsumed batches freed. */
  endEpoch(): void {
    if (!this.active) return;
    this.active = false;
    if (!this.closing) for (let id = 0; id < this.numWorkers; id++) this.post(id, { type: "cancel", epoch: this.epoch });
    this.discardResults();
  }

  private discardResults(): void {
    for (const outcome of this.results.values()) if (outcome.ok) for (const t of tensorsIn(outcome.data)) t.dispose();
    this.results.clear();
  }

  /**
   * Shuts every worker down: each finishes its current batch, says "closed" (so no
   * handle is left in flight), and is terminated; one that does not answer within
   * closeTimeoutMs is terminated anyway. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.active = false;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(closedError());
    this.setRef(true);
    for (const w of this.workers) { try { w.postMessage({ type: "close" } satisfies ToWorker); } catch { /* already gone */ } }
    const timer = setTimeout(() => { for (const w of this.workers) void w.terminate(); }, this.timedOut ? 0 : this.closeTimeoutMs);
    this.closing = Promise.all(this.exited).then(() => {
      clearTimeout(timer);
      this.discardResults();
    });
    return this.closing;
  }
}
