// The entry point of a DataLoader worker thread: builds the dataset from the
// user's module, then turns index lists into collated batches, one at a time,
// and posts them with their tensors as released handles. See protocol.ts.
import { parentPort, workerData } from "node:worker_threads";
import { defaultGenerator, tidy } from "../tensor/index.js";
import { TorchGenerator, setThreadGenerator } from "../tensor/generator.js";
import { FlareError } from "../errors.js";
import { collateFromSpec, defaultCollate, type CollateFn } from "./collate.js";
import { isDataset, type Dataset } from "./dataset.js";
import { disposeExcept, pack, reclaim } from "./transfer.js";
import { setWorkerInfo } from "./worker_info.js";
import type { FromWorker, Skip, ToWorker, WorkerSetup } from "./protocol.js";

const setup = workerData as WorkerSetup;
const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);

let dataset: Dataset;
let collate: CollateFn;
let workerInit: ((info: unknown) => unknown) | undefined;
let seed = 0n;
const queue: Extract<ToWorker, { type: "task" | "epoch" }>[] = [];
let closing = false;
let busy = false;
let closedSent = false;
let initialised = false;

function sendClosed(): void {
  if (!closedSent) { closedSent = true; post({ type: "closed" }); }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function start(): Promise<void> {
  const mod = await import(setup.module) as Record<string, unknown>;
  const factory = mod.createDataset ?? mod.default;
  const info = { id: setup.workerId, numWorkers: setup.numWorkers, seed, dataset: undefined as unknown, args: setup.args };
  setWorkerInfo(info);
  const made = typeof factory === "function" ? await (factory as (args: unknown, info: unknown) => unknown)(setup.args, info) : factory;
  if (!isDataset(made))
    throw new FlareError(`${setup.module} must export createDataset(args) (or a default export) that returns a dataset (length and get(i)); it gave ${made === undefined ? "undefined" : typeof made}`, "E_ARGUMENT");
  dataset = made;
  info.dataset = made;
  const own = mod.collateFn as CollateFn | undefined;
  if (setup.collate === "module") {
    if (typeof own !== "function")
      throw new FlareError(`the DataLoader has a custom collateFn, which cannot be sent to a worker thread: export it as \`collateFn\` from ${setup.module}`, "E_ARGUMENT");
    collate = own;
  } else if (setup.collate === "auto") {
    collate = typeof own === "function" ? own : defaultCollate;
  } else {
    collate = collateFromSpec(setup.collate);
  }
  if (typeof mod.workerInit === "function") workerInit = mod.workerInit as (info: unknown) => unknown;
}

function reseed(epochSeed: bigint | null): void {
  if (epochSeed === null) return;  // a persistent worker keeps its generators, as PyTorch's
  seed = epochSeed;
  // As PyTorch's _worker_loop: torch.manual_seed(base_seed + worker_id), on this thread's own generator.
  setThreadGenerator(new TorchGenerator(seed));
  defaultGenerator.manualSeed(Number(BigInt.asUintN(32, seed)));
  const info = { id: setup.workerId, numWorkers: setup.numWorkers, seed, dataset, args: setup.args };
  setWorkerInfo(info);
  // Like PyTorch's worker_init_fn: once, after the worker's first seeding.
  if (!initialised) { initialised = true; workerInit?.(info); }
}

async function runTask(task: Extract<ToWorker, { type: "task" }>): Promise<void> {
  const samples: unknown[] = [];
  const skipped: Skip[] = [];
  for (const index of task.indices) {
    try {
      samples.push(await dataset.get(index));
    } catch (error) {
      if (setup.onError === "skip") { skipped.push({ index, message: messageOf(error) }); continue; }
      disposeExcept(samples, null);
      post({ type: "error", epoch: task.epoch, seq: task.seq, index, indices: task.indices, message: messageOf(error),
        name: (error as Error)?.name ?? "Error", code: (error as { code?: string })?.code, stack: (error as Error)?.stack, skipped });
      return;
    }
  }
  if (samples.length === 0) {
    post({ type: "batch", epoch: task.epoch, seq: task.seq, data: null, empty: true, skipped });
    return;
  }
  let batch: unknown;
  try {
    batch = tidy(() => collate(samples));
  } catch (error) {
    disposeExcept(samples, null);
    post({ type: "error", epoch: task.epoch, seq: task.seq, index: null, indices: task.indices, message: messageOf(error),
      name: (error as Error)?.name ?? "Error", code: (error as { code?: string })?.code, stack: (error as Error)?.stack, skipped });
    return;
  }
  disposeExcept(samples, batch);
  const { packed, handles } = pack(batch);
  try {
    post({ type: "batch", epoch: task.epoch, seq: task.seq, data: packed, empty: false, skipped });
  } catch (error) {
    reclaim(handles);
    post({ type: "error", epoch: task.epoch, seq: task.seq, index: null, indices: task.indices,
      message: `the batch cannot be sent to the main thread: ${messageOf(error)}`, name: "FlareError", code: "E_TYPE", skipped });
  }
}

/** Handles queued work in order, yielding to the event loop between tasks so "close" and "cancel" get through. */
async function pump(): Promise<void> {
  if (busy) return;
  busy = true;
  try {
    while (queue.length > 0 && !closing) {
      const next = queue.shift()!;
      if (next.type === "epoch") {
        try { reseed(next.seed); } catch (error) {
          post({ type: "fatal", message: `workerInit failed: ${messageOf(error)}`, code: (error as { code?: string })?.code });
          closing = true;
          queue.length = 0;
          break;
        }
      }
      else await runTask(next);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    busy = false;
  }
  if (closing) sendClosed();
}

let ready = false;
port.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "epoch":
    case "task":
      if (closing) break;
      queue.push(message);
      if (ready) void pump();
      break;
    case "cancel":
      for (let k = queue.length - 1; k >= 0; k--) if (queue[k].epoch <= message.epoch) queue.splice(k, 1);
      break;
    case "close":
      closing = true;
      queue.length = 0;
      if (!busy) sendClosed();
      break;
  }
});

start().then(() => {
  ready = true;
  post({ type: "ready" });
  void pump();
}, (error: unknown) => {
  post({ type: "fatal", message: messageOf(error), code: (error as { code?: string })?.code });
});
