// DataLoader with worker_threads: same batches as the main thread, order, seeds,
// errors with their dataset index, skip mode, clean shutdown and no leaked tensors.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { DataLoader, detectionCollate, normalizeCollate, type DataLoaderOptions } from "../src/data/index.js";
import { RangeDataset, type RangeArgs } from "./workers/data_range.js";
import { settledTensors } from "./helpers.js";

const RANGE = new URL("./workers/data_range.js", import.meta.url);
const COLLATE = new URL("./workers/data_collate.js", import.meta.url);
const BAD = new URL("./workers/data_bad_module.js", import.meta.url);
const DEFAULT_EXPORT = new URL("./workers/data_default_export.js", import.meta.url);
const T = { timeout: 30_000 };

type Batch = [torch.Tensor, torch.Tensor, ...torch.Tensor[]];

function loader(args: RangeArgs, options: DataLoaderOptions<unknown, unknown> = {}): DataLoader<unknown, Batch> {
  return new DataLoader(new RangeDataset(args), { workerModule: RANGE, workerArgs: args, ...options }) as DataLoader<unknown, Batch>;
}

/** Each batch as plain arrays (then freed). */
async function values(l: AsyncIterable<Batch>): Promise<number[][][]> {
  const out: number[][][] = [];
  for await (const b of l) {
    out.push(b.map((t) => { const v = torch.tidy(() => t.flatten().tolist()) as number[]; return v; }));
    torch.dispose(b);
  }
  return out;
}

test("2 workers give the same batches, in sampler order, as the main thread", T, async () => {
  const before = settledTensors();
  const args: RangeArgs = { n: 23, async: true, jitter: true };
  for (const shuffle of [false, true]) {
    const options = { batchSize: 3, shuffle, generator: new torch.Generator(5) };
    const main = await values(loader(args, options));
    const workers = await values(loader(args, { ...options, generator: new torch.Generator(5), numWorkers: 2 }));
    assert.equal(main.length, 8);
    assert.deepEqual(workers, main, `shuffle ${shuffle}`);
    const labels = main.flatMap((b) => b[1]);
    assert.deepEqual([...labels].sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
    if (!shuffle) assert.deepEqual(labels, Array.from({ length: 23 }, (_, i) => i));
  }
  // Batches go round-robin: batch k comes from worker k mod 3.
  const tagged = await values(loader({ n: 20, tagWorker: true }, { batchSize: 2, numWorkers: 3, dropLast: true, prefetchFactor: 1 }));
  assert.deepEqual(tagged.map((b) => b[2][0]), Array.from({ length: 10 }, (_, k) => k % 3));
  assert.equal(torch.memory().numTensors, before, "every batch was adopted and freed; the workers' tensors died with them");
});

test("each worker seeds flare's generator with the loader's base seed + its id, reproducibly", T, async () => {
  const run = () => values(loader({ n: 8, random: true }, { batchSize: 2, numWorkers: 2, generator: new torch.Generator(77) }));
  const a = await run(), b = await run();
  assert.deepEqual(a, b, "same loader seed, same augmentation draws");
  const baseSeed = Math.floor(new torch.Generator(77).random() * 4294967296);
  const expected = [0, 1].map((w) => { const g = new torch.Generator(baseSeed + w); return [g.random(), g.random(), g.random(), g.random()]; });
  // Worker 0 makes batches 0 and 2, worker 1 batches 1 and 3; each draws once per sample.
  assert.deepEqual(a.map((batch) => batch[2]), [expected[0].slice(0, 2), expected[1].slice(0, 2), expected[0].slice(2, 4), expected[1].slice(2, 4)].map((v) => v.map(Math.fround)));
});

test("an error at dataset index k in a worker reaches the main thread as a FlareError naming k", T, async () => {
  const before = settledTensors();
  for (const async of [false, true]) {
    const l = loader({ n: 30, failAt: [13], async }, { batchSize: 4, numWorkers: 2 });
    await assert.rejects(values(l), (e: Error & { index?: number; code?: string; workerId?: number }) => {
      assert.equal(e.name, "FlareError");
      assert.match(e.message, /dataset index 13: bad sample 13/);
      assert.equal(e.index, 13);
      assert.equal(e.workerId, 1, "batch 3 (indices 12-15) went to worker 1");
      return true;
    });
  }
  assert.equal(torch.memory().numTensors, before, "batches already made were freed at shutdown");
});

test("onError 'skip' in workers leaves failing samples out and counts them", T, async () => {
  const skipped: number[] = [];
  const l = loader({ n: 12, failAt: [0, 5, 6, 7, 8, 11] }, { batchSize: 3, numWorkers: 2, onError: "skip", onSkip: (s) => skipped.push(s.index) });
  const batches = await values(l);
  assert.deepEqual(batches.map((b) => b[1]), [[1, 2], [3, 4], [9, 10]], "a batch whose samples all failed is left out");
  assert.equal(l.skipped, 6);
  assert.deepEqual(skipped, [0, 5, 6, 7, 8, 11]);
  assert.match(l.skips[1].message, /bad sample 5/);
});

test("break out of the loop shuts the workers down without a hang or a leak", T, async () => {
  const before = settledTensors();
  // A whole epoch would take each worker 10 s; break must not wait for it.
  const l = loader({ n: 4000, delayMs: 5 }, { batchSize: 2, numWorkers: 2, prefetchFactor: 4 });
  const started = Date.now();
  let seen = 0;
  for await (const b of l) {
    torch.dispose(b);
    if (++seen === 3) break;
  }
  assert.ok(Date.now() - started < 5_000, "break did not wait for the whole epoch");
  assert.equal(torch.memory().numTensors, before, "prefetched batches were freed");
  // The loader can run again afterwards.
  const again = await values(loader({ n: 4 }, { batchSize: 2, numWorkers: 2 }));
  assert.deepEqual(again.map((b) => b[1]), [[0, 1], [2, 3]]);
});

test("persistent workers serve several epochs (one after a break) until close()", T, async () => {
  const before = settledTensors();
  const l = loader({ n: 10, async: true, jitter: true }, { batchSize: 4, numWorkers: 2, persistentWorkers: true, shuffle: true });
  const one = await values(l);
  for await (const b of l) { torch.dispose(b); break; }
  const three = await values(l);
  for (const epoch of [one, three]) assert.deepEqual(epoch.flatMap((b) => b[1]).sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => i));
  assert.notDeepEqual(one.flatMap((b) => b[1]), three.flatMap((b) => b[1]), "reshuffled");
  await l.close();
  assert.equal(torch.memory().numTensors, before);
});

test("detectionCollate runs in the workers with its options (maxObjects)", T, async () => {
  const before = settledTensors();
  const args: RangeArgs = { n: 7, detection: true };
  const options = { batchSize: 3, collateFn: detectionCollate({ maxObjects: 4 }) };
  const main = await values(loader(args, options));
  const workers = await values(loader(args, { ...options, numWorkers: 2 }));
  assert.deepEqual(workers, main);
  assert.equal(main[0][1].length, 3 * 4 * 5, "labels are N × maxObjects × 5");
  assert.deepEqual(main[0][1].slice(0, 5), [-1, -1, -1, -1, -1], "image 0 has no objects: all padding");
  assert.equal(torch.memory().numTensors, before);
});

test("normalizeCollate runs in the workers with its mean and std", T, async () => {
  const before = settledTensors();
  const args: RangeArgs = { n: 7, uint8: true };
  const options = { batchSize: 3, collateFn: normalizeCollate({ mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3] }) };
  const main = await values(loader(args, options));
  const workers = await values(loader(args, { ...options, numWorkers: 2 }));
  assert.deepEqual(workers, main);
  assert.ok(Math.abs(main[0][0][0] - (0 / 255 - 0.4) / 0.2) < 1e-6, "image 0, first value normalized");
  assert.deepEqual(main[0][1], [0, 1, 2]);
  assert.equal(torch.memory().numTensors, before);
});

test("custom collate from the worker module, default-export datasets and workerInit", T, async () => {
  const args: RangeArgs = { n: 5 };
  const { collateFn } = await import(COLLATE.href) as { collateFn: (s: unknown[]) => unknown };
  const l = new DataLoader(new RangeDataset(args), { batchSize: 2, numWorkers: 2, workerModule: COLLATE, workerArgs: args, collateFn });
  const out: { sum: torch.Tensor; labels: number[] }[] = [];
  for await (const b of l) out.push(b as { sum: torch.Tensor; labels: number[] });
  assert.deepEqual(out.map((b) => b.labels), [[0, 1], [2, 3], [4]]);
  assert.deepEqual(torch.tidy(() => out.map((b) => b.sum.index(0, 0).item())), [1, 5, 4]);
  torch.dispose(out);
  // A custom collate the module does not export cannot be sent to a thread.
  const custom = new DataLoader(new RangeDataset(args), { numWorkers: 1, workerModule: RANGE, workerArgs: args, collateFn: (s) => s });
  await assert.rejects(values(custom as unknown as DataLoader<unknown, Batch>), /custom collateFn, which cannot be sent to a worker thread: export it as `collateFn`/);

  const mod = (await import(DEFAULT_EXPORT.href)).default;
  const d = new DataLoader(mod, { batchSize: 3, numWorkers: 2, workerModule: DEFAULT_EXPORT.href });
  const batches: { x: torch.Tensor; initSeed: torch.Tensor; name: string[] }[] = [];
  for await (const b of d) batches.push(b as never);
  assert.deepEqual(batches.map((b) => b.name), [["s0", "s1", "s2"], ["s3", "s4", "s5"]]);
  assert.deepEqual(batches[1].x.tolist(), [[3, 4], [4, 5], [5, 6]]);
  assert.ok(batches.every((b) => (b.initSeed.tolist() as number[]).every((s) => s >= 0)), "workerInit ran before the samples");
  torch.dispose(batches);
});

test("a module that cannot build its dataset, or a worker that exits, is a FlareError, not a hang", T, async () => {
  const bad = new DataLoader(new RangeDataset({ n: 4 }), { numWorkers: 2, workerModule: BAD });
  await assert.rejects(values(bad as DataLoader<unknown, Batch>), (e: Error) => {
    assert.equal(e.name, "FlareError");
    assert.match(e.message, /could not build its dataset from .*data_bad_module\.js: no such data folder: \/nowhere/);
    return true;
  });
  await assert.rejects(values(loader({ n: 10, exitAt: 5 }, { batchSize: 2, numWorkers: 2 })), /DataLoader worker 0 exited unexpectedly \(exit code 3\)/);
  const started = Date.now();
  await assert.rejects(values(loader({ n: 4, async: true, delayMs: 2_000 }, { batchSize: 2, numWorkers: 1, timeout: 100 })),
    /timed out after 100 ms waiting for batch 0 from worker 0/);
  assert.ok(Date.now() - started < 1_500, "a worker that timed out is terminated, not waited for");
});

test("close() during a pass ends it", T, async () => {
  const before = settledTensors();
  const l = loader({ n: 100, delayMs: 10 }, { batchSize: 1, numWorkers: 2 });
  let seen = 0;
  for await (const b of l) {
    torch.dispose(b);
    if (++seen === 2) void l.close();
  }
  assert.ok(seen < 100);
  assert.equal(torch.memory().numTensors, before);
});
