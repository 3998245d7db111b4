// A worker thread for tests/threads.test.ts: makes tensors and hands them over by handle.
import { parentPort, workerData } from "node:worker_threads";
import * as torch from "../../src/index.js";

const { count, size, keepOwn = 0 } = workerData as { count: number; size: number; keepOwn?: number };
// Tensors the worker keeps and never frees: its shutdown must free them.
const own = Array.from({ length: keepOwn }, () => torch.keep(torch.ones([size])));
void own;
for (let i = 0; i < count; i++) {
  const t = torch.tidy(() => torch.arange(size).float().mul(i));
  parentPort!.postMessage({ i, handle: t.release() });
}
parentPort!.postMessage({ done: true });
