// The addon is shared by worker threads: a tensor made in a worker moves to the
// main thread as its handle (no copy), and both threads run ops at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import * as torch from "../src/index.js";
import { assertFlareError, settledTensors } from "./helpers.js";

test("tensors made in two worker threads are adopted on the main thread", async () => {
  const before = settledTensors();
  const url = new URL("./workers/tensor_worker.js", import.meta.url);
  const received: torch.Tensor[] = [];
  const runWorker = () => new Promise<void>((resolve, reject) => {
    const worker = new Worker(url, { workerData: { count: 50, size: 1000 } });
    worker.on("message", (message: { i?: number; handle?: number; done?: boolean }) => {
      if (message.done) return;
      const t = torch.adopt(message.handle!);
      assert.equal(torch.tidy(() => t.index(1).item()), message.i!);
      received.push(t);
      // The main thread computes while the workers keep allocating.
      torch.tidy(() => t.add(1).sum().item());
    });
    worker.on("error", reject);
    worker.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}`))));
  });
  await Promise.all([runWorker(), runWorker()]);
  assert.equal(received.length, 100);
  assert.equal(torch.memory().numTensors, before + 100, "the adopted tensors are the only new live ones");
  torch.dispose(received);
  assert.equal(torch.memory().numTensors, before);
  assertFlareError(() => torch.adopt(received[0].handle), /is not a live tensor handle/, "E_DISPOSED");
});

test("tensors a worker still owns when it exits are freed", async () => {
  const before = settledTensors();
  const url = new URL("./workers/tensor_worker.js", import.meta.url);
  // The messages (handles released to us) are ignored on purpose except the count:
  // released tensors nobody adopts stay alive, so adopt and free them.
  const handles: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const worker = new Worker(url, { workerData: { count: 5, size: 10, keepOwn: 7 } });
    worker.on("message", (m: { handle?: number }) => { if (m.handle !== undefined) handles.push(m.handle); });
    worker.on("error", reject);
    worker.on("exit", () => resolve());
  });
  for (const h of handles) torch.adopt(h).dispose();
  assert.equal(torch.memory().numTensors, before, "the 7 tensors the worker kept for itself were freed at its exit");
});
