// DistributedDataParallel and torch.distributed's collectives, with two ranks
// as child processes on loopback: 2 processes × batch B end with the
// parameters of 1 process × batch 2B (also with noSync accumulation and
// SyncBatchNorm), and a resumed DDP run equals an uninterrupted one.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { optim, F } from "../src/index.js";
import { makeModel, makeData, flatParams } from "./workers/ddp_common.js";
import { runRanks, describeRuns, freePort } from "./distributed_helpers.js";
import * as dist from "../src/distributed/index.js";
import { DistributedDataParallel, SyncBatchNorm } from "../src/nn/parallel/index.js";
import { assertFlareError } from "./helpers.js";
import { shardBatch } from "../src/engine/shard.js";

/** One process, the whole batch of 2B, the same K steps (and micro-batches). */
function reference(batch: number, steps: number, accumulate: number, batchNorm: boolean): number[] {
  torch.setNumThreads(1);
  const model = makeModel(batchNorm, 0);
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const global = batch * 2;
  const { x, y } = makeData(global * accumulate * steps);
  let offset = 0;
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    for (let m = 0; m < accumulate; m++) {
      torch.tidy(() => F.crossEntropy(model.forward(x.narrow(0, offset, global)), y.narrow(0, offset, global)).div(accumulate).backward());
      offset += global;
    }
    opt.step();
  }
  return flatParams(model);
}

test("shardBatch splits every tensor of a batch as torch.tensor_split (the first ranks take the extra rows)", () => {
  const x = torch.arange(7), y = torch.arange(14).reshape([7, 2]);
  const rowsOf = (rank: number, world: number) => {
    const part = shardBatch({ x, parts: [y], k: 3 }, rank, world) as { x: torch.Tensor; parts: torch.Tensor[]; k: number };
    assert.equal(part.k, 3);
    assert.deepEqual(part.parts[0].select(1, 0).div(2).tolist(), part.x.tolist(), "every tensor gets the same rows");
    return part.x.tolist();
  };
  assert.deepEqual([0, 1].map((r) => rowsOf(r, 2)), [[0, 1, 2, 3], [4, 5, 6]]);
  assert.deepEqual([0, 1, 2].map((r) => rowsOf(r, 3)), [[0, 1, 2], [3, 4], [5, 6]]);
  assertFlareError(() => shardBatch([x, torch.zeros([6])], 0, 2), /different first sizes \(7, 6\)/);
  assertFlareError(() => shardBatch([torch.zeros([1])], 0, 2), /a batch of 1 rows can't be split over 2 processes/);
});

function maxDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length, "as many parameter values");
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

test("2 ranks × batch B end with the parameters of 1 process × batch 2B (several buckets)", async () => {
  const results = await runRanks("steps", { batch: 4, steps: 4, bucketCapMb: 0.001 });
  for (const r of results) assert.equal(r.code, 0, describeRuns(results));
  const want = reference(4, 4, 1, false);
  const [a, b] = results.map((r) => r.json!.params as number[]);
  assert.equal(maxDiff(a, b), 0, "the replicas are identical");
  assert.ok(maxDiff(a, want) < 1e-5, `DDP vs single process: max |diff| ${maxDiff(a, want)}`);
  assert.ok((results[0].json!.buckets as number) > 1, "a small bucketCapMb makes several buckets");
  const stats = results[0].json!.stats as { iterations: number; commMs: number };
  assert.equal(stats.iterations, 4, "four synced backward passes");
});

test("noSync accumulation: 2 ranks × 2 micro-batches of B equal 1 process × 2 micro-batches of 2B", async () => {
  const results = await runRanks("steps", { batch: 4, steps: 3, accumulate: 2 });
  for (const r of results) assert.equal(r.code, 0, describeRuns(results));
  const want = reference(4, 3, 2, false);
  const got = results[0].json!.params as number[];
  assert.ok(maxDiff(got, want) < 1e-5, `max |diff| ${maxDiff(got, want)}`);
  assert.equal((results[0].json!.stats as { iterations: number }).iterations, 3, "only the last micro-batch of each step communicates");
});

test("SyncBatchNorm: 2 ranks × B with batch norm equal 1 process × 2B", async () => {
  const results = await runRanks("steps", { batch: 4, steps: 3, syncBn: true });
  for (const r of results) assert.equal(r.code, 0, describeRuns(results));
  const want = reference(4, 3, 1, true);
  const got = results[0].json!.params as number[];
  assert.ok(maxDiff(got, want) < 1e-5, `max |diff| ${maxDiff(got, want)}`);
});

test("collectives: avg, product, min, allGather, reduceScatter, broadcast, newGroup, and async work while a peer is late", async () => {
  const results = await runRanks("collectives", {});
  for (const r of results) assert.equal(r.code, 0, describeRuns(results));
  for (const r of results) {
    const j = r.json!;
    assert.deepEqual(j.avg, [1.5, 3, 4.5]);
    assert.deepEqual(j.prod, [2, 8, 18]);
    assert.deepEqual(j.min, [1, 2, 3]);
    assert.deepEqual(j.gathered, [[1, 2, 3], [2, 4, 6]]);
    assert.deepEqual(j.scattered, r.rank === 0 ? [3, 6] : [9, 12], "rank r gets the sum of everyone's input r");
    assert.deepEqual(j.broadcast, [7, 8]);
    assert.deepEqual(j.viaGroup, [21]);
    assert.deepEqual(j.late, [3]);
  }
  assert.deepEqual(results[1].json!.solo, [5], "a group of one");
  assert.match(String(results[0].json!.solo), /not a member of the group of ranks \[1\]/);
  assert.equal(results[0].json!.soloRank, -1);
  assert.ok((results[0].json!.ticks as number) >= 5, `timers fired while rank 0 awaited the late allreduce (${results[0].json!.ticks} ticks)`);
});

test("a resumed DDP run (stopped after epoch 1) equals an uninterrupted one; only rank 0 writes the run folder", async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "flare-ddp-"));
  try {
    const whole = await runRanks("trainer", { epochs: 3, runDir: path.join(base, "whole") });
    for (const r of whole) assert.equal(r.code, 0, describeRuns(whole));
    const first = await runRanks("trainer", { epochs: 3, stopAfter: 0, runDir: path.join(base, "split") });
    for (const r of first) assert.equal(r.code, 0, describeRuns(first));
    const rest = await runRanks("trainer", { epochs: 3, resume: true, runDir: path.join(base, "split") });
    for (const r of rest) assert.equal(r.code, 0, describeRuns(rest));
    const a = whole[0].json!.params as number[], b = rest[0].json!.params as number[];
    assert.ok(maxDiff(a, b) < 1e-6, `resumed vs uninterrupted: max |diff| ${maxDiff(a, b)}`);
    assert.equal(maxDiff(rest[0].json!.params as number[], rest[1].json!.params as number[]), 0, "replicas identical");
    assert.equal(rest[1].json!.rankSeen, 1);
    const rows = fs.readFileSync(path.join(base, "split", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).epoch);
    assert.deepEqual(rows, [0, 1, 2], "one metrics row per epoch: rank 1 wrote nothing");
    const leftovers = fs.readdirSync(path.join(base, "split"), { recursive: true }).map(String).filter((f) => /\.tmp|partial/.test(f));
    assert.deepEqual(leftovers, [], "no half-written files");
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test("the Trainer with a DataLoader over a DistributedSampler: no second split, a new partition each epoch", async () => {
  const results = await runRanks("sampler", {});
  for (const r of results) assert.equal(r.code, 0, describeRuns(results));
  const [a, b] = results.map((r) => r.json!.seen as number[][]);
  for (const epoch of [0, 1]) {
    assert.equal(a[epoch].length, 8, "each rank sees its 8 of the 16 samples, in batches of 4");
    assert.deepEqual([...a[epoch], ...b[epoch]].sort((p, q) => p - q), Array.from({ length: 16 }, (_, i) => i), "the ranks' shares partition the data");
  }
  assert.notDeepEqual(a[0], a[1], "setEpoch reshuffled the second epoch");
  assert.deepEqual(results[0].json!.params, results[1].json!.params, "replicas identical");
});

test("bad distributed arguments are FlareErrors", () => {
  assertFlareError(() => dist.initProcessGroup({ backend: "nccl", rank: 0, worldSize: 1 }), /nccl.*CUDA/);
  assertFlareError(() => dist.initProcessGroup({ initMethod: "udp://x:1", rank: 0, worldSize: 1 } as never), /initMethod must be "env:\/\/" or "tcp:\/\/host:port"/);
  assertFlareError(() => dist.initProcessGroup({ bogus: 1 } as never), /bogus/);
  assertFlareError(() => dist.getRank(), /not initialized/);
  assertFlareError(() => dist.allReduce(torch.ones([2])), /not initialized/);
  assertFlareError(() => new DistributedDataParallel(makeModel(false, 0)), /not initialized/);
  // SyncBatchNorm names itself and its processGroup option, and does not drop eps given by position.
  assertFlareError(() => new SyncBatchNorm(2, { procesGroup: null } as never), /new nn\.SyncBatchNorm\(\): unknown option "procesGroup" \(did you mean "processGroup"\?\)/);
  assertFlareError(() => new SyncBatchNorm(2, 1e-3 as never), /new nn\.SyncBatchNorm\(\): options must be a plain object, got number/);
});

test("one rank alone: tcp:// init, collectives, DDP with findUnusedParameters, then destroy and init again", async () => {
  const port = await freePort();
  dist.initProcessGroup({ initMethod: `tcp://127.0.0.1:${port}`, rank: 0, worldSize: 1, timeout: 5000 });
  try {
    assert.equal(dist.isInitialized(), true);
    assert.equal(dist.getWorldSize(), 1);
    const t = torch.tensor([1, 2]);
    dist.allReduce(t, { op: "avg" });
    assert.deepEqual(t.tolist(), [1, 2]);
    assertFlareError(() => dist.allReduce(t, { op: "mean" as never }), /op must be one of sum, avg, product, min, max/);
    assertFlareError(() => dist.initProcessGroup({ rank: 0, worldSize: 1 }), /already initialized/);
    class Partly extends torch.nn.Module {
      a = new torch.nn.Linear(2, 2);
      b = new torch.nn.Linear(2, 2);
      override forward(x: torch.Tensor): torch.Tensor { return this.a.forward(x); }
    }
    const model = new Partly();
    const ddp = new DistributedDataParallel(model, { findUnusedParameters: true });
    torch.tidy(() => { ddp.forward(torch.ones([3, 2])).sum().backward(); });
    assert.deepEqual(model.b.weight.grad?.tolist(), [[0, 0], [0, 0]], "an unused parameter's gradient is zero");
    assert.deepEqual(model.a.bias!.grad?.tolist(), [3, 3]);
    assert.equal(ddp.stats().iterations, 1);
    ddp.dispose();
    model.zeroGrad();
    const strict = new DistributedDataParallel(model);
    assertFlareError(() => torch.tidy(() => { strict.forward(torch.ones([3, 2])).sum().backward(); }), /b\.weight.*findUnusedParameters/s);
    strict.dispose();
  } finally {
    dist.destroyProcessGroup();
  }
  assert.equal(dist.isInitialized(), false);
});
