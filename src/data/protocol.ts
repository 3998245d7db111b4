// The messages between a DataLoader (main thread) and its worker threads.
//
// main -> worker                          worker -> main
//   epoch  {epoch, seed}  reseed (null: keep)           ready                  dataset built
//   task   {epoch, seq, indices}            batch {epoch, seq, data, skipped}
//   cancel {epoch}  drop queued tasks       error {epoch, seq, index, ...}
//   close           finish, then "closed"   fatal {message}        could not start
//                                           closed                 nothing more will come
//
// A worker handles its messages in order, one task at a time. Batches carry their
// tensors as released handles (see transfer.ts); the main thread adopts every
// handle it receives, so nothing leaks even for batches nobody consumes: after
// "closed" no handle is in flight (a port delivers messages in order).
import type { CollateSpec } from "./collate.js";

export type OnError = "raise" | "skip";

/** workerData of a DataLoader worker thread. */
export interface WorkerSetup {
  workerId: number;
  numWorkers: number;
  /** file: URL of the ES module that builds the dataset. */
  module: string;
  args: unknown;
  /** A built-in collate to rebuild, "module" for the module's collateFn export, "auto" for it or the default. */
  collate: CollateSpec | "module" | "auto";
  onError: OnError;
}

export interface Skip { index: number; message: string }

export type ToWorker =
  | { type: "epoch"; epoch: number; seed: bigint | null }
  | { type: "task"; epoch: number; seq: number; indices: number[] }
  | { type: "cancel"; epoch: number }
  | { type: "close" };

export type FromWorker =
  | { type: "ready" }
  | { type: "batch"; epoch: number; seq: number; data: unknown; empty: boolean; skipped: Skip[] }
  | { type: "error"; epoch: number; seq: number; index: number | null; indices: number[]; message: string; name: string; code?: string; stack?: string; skipped: Skip[] }
  | { type: "fatal"; message: string; code?: string }
  | { type: "closed" };
