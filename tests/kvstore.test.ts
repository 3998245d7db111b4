// distributed.KVStore (d2l's parameter-server key-value store): push sums, pull returns
// the aggregate; locally, and across two processes over Gloo on loopback.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { KVStore } from "../src/distributed/kvstore.js";
import { assertFlareError } from "./helpers.js";
import { freePort, runRank } from "./distributed_helpers.js";

test("a local store: push sums a list, pull returns the aggregate (new tensor or into out)", () => {
  const before = torch.memory().numTensors;
  const kv = new KVStore();
  assert.equal(kv.type, "local");
  torch.tidy(() => {
    kv.init(3, torch.ones([2, 3]));
    assert.deepEqual(kv.pull(3).tolist(), [[1, 1, 1], [1, 1, 1]]);
    // d2l: push the gradients of every device, the store holds their sum.
    kv.push(3, [torch.ones([2, 3]), torch.ones([2, 3]).mul(2), torch.ones([2, 3]).mul(3)]);
    assert.deepEqual(kv.pull(3).tolist(), [[6, 6, 6], [6, 6, 6]]);
    kv.push(3, torch.full([2, 3], 4));
    const outs = [torch.zeros([2, 3]), torch.zeros([2, 3])];
    const first = kv.pull(3, outs);
    assert.equal(first, outs[0]);
    for (const o of outs) assert.deepEqual(o.tolist(), [[4, 4, 4], [4, 4, 4]]);
    // An updater makes it a parameter server: stored -= lr * aggregate.
    kv.init("w", torch.tensor([1, 1]));
    kv.setUpdater((_key, grad, stored) => { stored.sub_(grad.mul(0.1)); });
    kv.push("w", [torch.tensor([1, 2]), torch.tensor([1, 2])]);
    const w = kv.pull("w").tolist() as number[];
    assert.ok(Math.abs(w[0] - 0.8) < 1e-6 && Math.abs(w[1] - 0.6) < 1e-6, `w = ${w}`);
    assert.deepEqual(kv.keys(), [3, "w"]);
  });
  kv.dispose();
  assert.equal(torch.memory().numTensors, before, "the store frees what it kept");
});

test("the store keeps copies: changing the pushed or init tensors later does not change it", () => {
  const kv = new KVStore();
  torch.tidy(() => {
    const v = torch.zeros([2]);
    kv.init("k", v);
    v.add_(5);
    assert.deepEqual(kv.pull("k").tolist(), [0, 0]);
    const g = torch.ones([2]);
    kv.push("k", g);
    g.add_(1);
    assert.deepEqual(kv.pull("k").tolist(), [1, 1]);
  });
  kv.dispose();
});

test("bad KVStore use is a FlareError naming the key", () => {
  const kv = new KVStore();
  torch.tidy(() => {
    kv.init("a", torch.zeros([2]));
    assertFlareError(() => kv.push("b", torch.zeros([2])), /key "b" was not init\(\)-ed/);
    assertFlareError(() => kv.pull(9), /key 9 was not init\(\)-ed/);
    assertFlareError(() => kv.init("a", torch.zeros([2])), /key "a" is already initialised/);
    assertFlareError(() => kv.push("a", torch.zeros([3])), /value 0 for key "a" has shape \[3\], the stored one \[2\]/);
    assertFlareError(() => kv.push("a", []), /empty list/);
    assertFlareError(() => kv.pull("a", torch.zeros([1])), /out 0 for key "a" has shape \[1\]/);
    assertFlareError(() => kv.init(1.5, torch.zeros([1])), /key must be a string or an integer/);
    assertFlareError(() => new KVStore({ group: {} as never }), /group must be a process group/);
    assertFlareError(() => new KVStore({ grup: 1 } as never), /grup/);
  });
  kv.dispose();
  assertFlareError(() => kv.pull("a"), /disposed/);
});

const worker = fileURLToPath(new URL("./workers/kvstore_worker.js", import.meta.url));

async function rank(r: number, port: number): Promise<{ type: string; w: number[]; seven: number[] }> {
  const result = await runRank(r, 2, port, [], { command: [process.execPath, worker], deadline: 20_000 });
  if (result.code !== 0 || !result.json) throw new Error(`rank ${r} exited ${result.code ?? result.signal}: ${result.stderr}`);
  return result.json as { type: string; w: number[]; seven: number[] };
}

test("a store over the process group: push sums over the list and over both ranks", { timeout: 30_000 }, async () => {
  const port = await freePort();
  const results = await Promise.all([rank(0, port), rank(1, port)]);
  for (const r of results) {
    assert.equal(r.type, "dist_sync");
    // rank 0 pushes [1,2,3] + 1, rank 1 pushes [2,4,6] + 1.
    assert.deepEqual(r.w, [5, 8, 11]);
    // The updater runs on every rank with the same aggregate 1 + 2 = 3: 1 - 0.5 * 3.
    assert.deepEqual(r.seven, [-0.5, -0.5]);
  }
});
