// Hooks and worker threads: each JS environment runs its own hooks; a hook is
// never called on another thread (it would touch another environment's JS).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import * as torch from "../src/index.js";
import { assertFlareError } from "./helpers.js";

test("a worker's hooks run in the worker; its hooked tensor cannot run them on the main thread", async () => {
  const worker = new Worker(new URL("./workers/hook_worker.js", import.meta.url));
  const exited = new Promise<number>((resolve) => worker.on("exit", resolve));
  const message = await new Promise<{ seen: number[][]; grad: number[]; handle: number }>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  assert.deepEqual(message.seen, [[2, 2, 2]]);
  assert.deepEqual(message.grad, [6, 6, 6]);
  const x = torch.adopt(message.handle);
  assertFlareError(() => torch.tidy(() => x.mul(2).sum().backward()),
    /^a JS autograd hook can only run on the JS thread that registered it \(CUDA backward runs on libtorch's device threads\)$/);
  worker.postMessage("done");
  assert.equal(await exited, 0);
  x.dispose();
});
