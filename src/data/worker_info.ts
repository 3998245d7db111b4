// What a DataLoader worker thread knows about itself (torch.utils.data.get_worker_info).

export interface WorkerInfo {
  /** This worker's number, 0 .. numWorkers-1. */
  readonly id: number;
  readonly numWorkers: number;
  /** The seed of this worker's generators: the loader's base seed + id, as PyTorch's (a bigint: base seeds take 63 bits). */
  readonly seed: bigint;
  /** The dataset this worker built. */
  readonly dataset: unknown;
  /** The workerArgs given to the DataLoader. */
  readonly args: unknown;
}

let current: WorkerInfo | null = null;

/** Inside a DataLoader worker thread: its id, count, seed and dataset; null elsewhere. */
export function getWorkerInfo(): WorkerInfo | null { return current; }

/** Internal: set by the worker entry point. */
export function setWorkerInfo(info: WorkerInfo | null): void { current = info; }
