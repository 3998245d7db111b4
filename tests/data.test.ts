// flare's data layer on the main thread: datasets, samplers, collation, DataLoader.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import {
  BatchSampler, ConcatDataset, DataLoader, DistributedSampler, RandomSampler, SequentialSampler, Subset,
  SubsetRandomSampler, TensorDataset, defaultCollate, detectionCollate, normalizeCollate, randomSplit, torchRandperm, type Dataset,
} from "../src/data/index.js";
import { normalize, toDtype } from "../src/vision/transforms/functional.js";
import { assertFlareError, settledTensors } from "./helpers.js";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A dataset of numbers with a sync or async get. */
function numbers(n: number, options: { async?: boolean; failAt?: number[] } = {}): Dataset<number> {
  return {
    length: n,
    get(i: number) {
      if (options.failAt?.includes(i)) {
        if (options.async) return Promise.reject(new Error(`cannot read sample ${i}`));
        throw new Error(`cannot read sample ${i}`);
      }
      return options.async ? Promise.resolve(i) : i;
    },
  };
}

async function collect<B>(loader: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const b of loader) out.push(b);
  return out;
}

test("Subset, ConcatDataset and TensorDataset index like PyTorch's", async () => {
  const base = numbers(10);
  const sub = new Subset(base, [3, 1, 4]);
  assert.equal(sub.length, 3);
  assert.deepEqual([0, 1, 2, -1].map((i) => sub.get(i)), [3, 1, 4, 4]);
  assertFlareError(() => sub.get(3), /index 3 is out of range/, "E_INDEX");
  assertFlareError(() => new Subset(base, [10]), /index 10 is out of range/, "E_INDEX");

  const cat = new ConcatDataset([numbers(2), numbers(0), numbers(3), numbers(1, { async: true })]);
  assert.equal(cat.length, 6);
  assert.deepEqual(cat.cumulativeSizes, [2, 2, 5, 6]);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => cat.get(i)), [0, 1, 0, 1, 2]);
  assert.equal(await cat.get(5), 0, "async gets pass through");
  assert.equal(cat.get(-2), 2);
  assertFlareError(() => cat.get(6), /out of range/, "E_INDEX");
  assertFlareError(() => new ConcatDataset([]), /at least one dataset/);

  const before = settledTensors();
  const x = torch.tidy(() => torch.arange(12).reshape([4, 3])), y = torch.tensor([10, 11, 12, 13]);
  const ds = new TensorDataset(x, y);
  assert.equal(ds.length, 4);
  const [xi, yi] = ds.get(2);
  assert.deepEqual(xi.tolist(), [6, 7, 8]);
  assert.equal(yi.item(), 12);
  torch.dispose([xi, yi]);
  torch.tidy(() => assertFlareError(() => new TensorDataset(x, torch.zeros([3])), /tensor 0 has 4 rows, tensor 1 has 3/, "E_SHAPE"));
  torch.dispose([x, y]);
  assert.equal(torch.memory().numTensors, before);
});

test("randomSplit: lengths or fractions, disjoint, reproducible with a generator", () => {
  const ds = numbers(10);
  const [a, b] = randomSplit(ds, [7, 3], { generator: new torch.Generator(1) });
  assert.equal(a.length, 7);
  assert.equal(b.length, 3);
  assert.deepEqual([...a.indices, ...b.indices].sort((p, q) => p - q), range(10));
  const [a2] = randomSplit(ds, [7, 3], { generator: new torch.Generator(1) });
  assert.deepEqual(a2.indices, a.indices, "same seed, same split");
  // Fractions: floor(10 * 0.33) = 3 each, remainder 1 goes to the first split.
  assert.deepEqual(randomSplit(ds, [0.34, 0.33, 0.33]).map((s) => s.length), [4, 3, 3]);
  assert.deepEqual(randomSplit(numbers(5), [0.5, 0.5]).map((s) => s.length), [3, 2]);
  assertFlareError(() => randomSplit(ds, [5, 4]), /sum to 9, the dataset has 10/);
  assertFlareError(() => randomSplit(ds, [0.5, 0.4]), /fractions must sum to 1/);
});

test("Sequential, Random, SubsetRandom and Batch samplers", () => {
  assert.deepEqual([...new SequentialSampler(numbers(4))], [0, 1, 2, 3]);
  const r = new RandomSampler(numbers(20), { generator: new torch.Generator(3) });
  const first = [...r], second = [...r];
  assert.deepEqual([...first].sort((p, q) => p - q), range(20));
  assert.notDeepEqual(first, second, "a new order on each pass");
  assert.deepEqual([...new RandomSampler(numbers(20), { generator: new torch.Generator(3) })], first, "same seed, same order");
  const more = [...new RandomSampler(numbers(4), { numSamples: 10, generator: new torch.Generator(0) })];
  assert.equal(more.length, 10);
  assert.deepEqual(more.slice(0, 4).sort(), [0, 1, 2, 3], "whole permutations first");
  assert.deepEqual(more.slice(4, 8).sort(), [0, 1, 2, 3]);
  const withReplacement = [...new RandomSampler(numbers(3), { replacement: true, numSamples: 50, generator: new torch.Generator(0) })];
  assert.equal(withReplacement.length, 50);
  assert.ok(withReplacement.every((i) => i >= 0 && i < 3) && new Set(withReplacement).size === 3);
  assert.deepEqual([...new SubsetRandomSampler([5, 6, 7], { generator: new torch.Generator(0) })].sort(), [5, 6, 7]);

  const seq = new SequentialSampler(10);
  assert.deepEqual([...new BatchSampler(seq, 4)], [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.equal(new BatchSampler(seq, 4).length, 3);
  assert.deepEqual([...new BatchSampler(seq, 4, true)], [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.equal(new BatchSampler(seq, 4, true).length, 2);
  assertFlareError(() => new BatchSampler(seq, 0), /batchSize must be a positive integer/);
});

test("our mt19937 randperm is libtorch's: it matches torch.manualSeed + torch.randperm", () => {
  for (const [n, seed] of [[1, 0], [2, 1], [17, 7], [1000, 123456789], [300, 2 ** 32 + 5]]) {
    torch.manualSeed(seed);
    const t = torch.randperm(n);
    assert.deepEqual(torchRandperm(n, seed), (t.tolist() as number[]), `n=${n} seed=${seed}`);
    t.dispose();
  }
  // And PyTorch 1.13's torch.randperm(20, generator=torch.Generator().manual_seed(7)).
  assert.deepEqual(torchRandperm(20, 7), [15, 17, 9, 12, 7, 1, 19, 3, 4, 11, 18, 8, 2, 14, 16, 0, 10, 13, 6, 5]);
});

// From /usr/bin/python3 (PyTorch 1.13): for each case, [list(DistributedSampler(range(n),
// num_replicas, rank=r, shuffle, seed, drop_last) after set_epoch(epoch)) for r in range(num_replicas)].
const PYTORCH_PARTITIONS = [
  { n: 10, numReplicas: 3, shuffle: true, seed: 0, dropLast: false, epoch: 0, parts: [[4, 5, 0, 2], [1, 3, 8, 4], [7, 9, 6, 1]] },
  { n: 10, numReplicas: 3, shuffle: true, seed: 0, dropLast: false, epoch: 1, parts: [[5, 2, 9, 4], [6, 0, 3, 5], [1, 8, 7, 6]] },
  { n: 10, numReplicas: 3, shuffle: true, seed: 0, dropLast: true, epoch: 0, parts: [[4, 5, 0], [1, 3, 8], [7, 9, 6]] },
  { n: 10, numReplicas: 3, shuffle: false, seed: 0, dropLast: false, epoch: 0, parts: [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]] },
  { n: 10, numReplicas: 3, shuffle: false, seed: 0, dropLast: true, epoch: 0, parts: [[0, 3, 6], [1, 4, 7], [2, 5, 8]] },
  { n: 7, numReplicas: 4, shuffle: true, seed: 42, dropLast: false, epoch: 3, parts: [[5, 4], [3, 6], [1, 0], [2, 5]] },
  { n: 2, numReplicas: 4, shuffle: true, seed: 5, dropLast: false, epoch: 0, parts: [[1], [0], [1], [0]] },
  { n: 100, numReplicas: 8, shuffle: true, seed: 1234, dropLast: true, epoch: 7, parts: [
    [53, 49, 47, 58, 72, 6, 81, 87, 56, 68, 2, 26], [43, 13, 17, 88, 29, 42, 14, 62, 94, 73, 63, 71],
    [55, 57, 8, 15, 28, 50, 52, 99, 89, 31, 51, 82], [16, 60, 79, 1, 34, 95, 18, 74, 0, 77, 40, 98],
    [35, 12, 69, 54, 36, 65, 7, 30, 85, 83, 75, 46], [80, 24, 76, 19, 22, 5, 97, 96, 41, 70, 25, 44],
    [20, 11, 48, 39, 93, 4, 90, 45, 23, 33, 59, 21], [61, 3, 64, 38, 67, 27, 32, 10, 92, 78, 91, 86]] },
];

test("DistributedSampler gives PyTorch's partition for each seed, epoch and dropLast", () => {
  for (const c of PYTORCH_PARTITIONS) {
    const parts = range(c.numReplicas).map((rank) => {
      const s = new DistributedSampler(numbers(c.n), { numReplicas: c.numReplicas, rank, shuffle: c.shuffle, seed: c.seed, dropLast: c.dropLast });
      s.setEpoch(c.epoch);
      assert.equal(s.length, c.parts[rank].length);
      return [...s];
    });
    assert.deepEqual(parts, c.parts, JSON.stringify({ ...c, parts: undefined }));
  }
  // Without dropLast every index is visited (some twice); with it, none twice.
  const s = (rank: number, dropLast: boolean) => new DistributedSampler(23, { numReplicas: 4, rank, dropLast, seed: 9 });
  const all = range(4).flatMap((r) => [...s(r, false)]);
  assert.equal(new Set(all).size, 23);
  assert.equal(all.length, 24);
  const dropped = range(4).flatMap((r) => [...s(r, true)]);
  assert.equal(dropped.length, 20);
  assert.equal(new Set(dropped).size, 20);
  // The same epoch twice gives the same order; setEpoch changes it; global RNG untouched.
  const d = s(1, false);
  torch.manualSeed(5);
  const a = torch.rand([1]).item();
  torch.manualSeed(5);
  const first = [...d];
  assert.deepEqual([...d], first);
  assert.equal(torch.rand([1]).item(), a, "iterating did not draw from libtorch's generator");
  d.setEpoch(1);
  assert.notDeepEqual([...d], first);
  assertFlareError(() => new DistributedSampler(10, { numReplicas: 2, rank: 2 }), /invalid rank 2/);
  const saved = { w: process.env.WORLD_SIZE, r: process.env.RANK };
  process.env.WORLD_SIZE = "3"; process.env.RANK = "2";
  try {
    const e = new DistributedSampler(10);
    assert.equal(e.numReplicas, 3);
    assert.equal(e.rank, 2);
  } finally {
    if (saved.w === undefined) delete process.env.WORLD_SIZE; else process.env.WORLD_SIZE = saved.w;
    if (saved.r === undefined) delete process.env.RANK; else process.env.RANK = saved.r;
  }
});

test("defaultCollate stacks tensors, makes tensors of numbers and recurses like PyTorch's", () => {
  const before = settledTensors();
  const samples = [0, 1, 2].map((i) => ({
    image: torch.full([2, 2], i), label: i, weight: i + 0.5, flag: i % 2 === 0, name: `n${i}`,
    pair: [torch.tensor([i]), i * 10], meta: { id: i },
  }));
  const batch = torch.tidy(() => defaultCollate<{
    image: torch.Tensor; label: torch.Tensor; weight: torch.Tensor; flag: torch.Tensor; name: string[];
    pair: [torch.Tensor, torch.Tensor]; meta: { id: torch.Tensor };
  }>(samples));
  assert.deepEqual(batch.image.shape, [3, 2, 2]);
  assert.deepEqual(torch.tidy(() => batch.image.index(":", 0, 0).tolist()), [0, 1, 2]);
  assert.equal(batch.label.dtype, "int64");
  assert.deepEqual(batch.label.tolist(), [0, 1, 2]);
  assert.equal(batch.weight.dtype, "float32");
  assert.deepEqual(batch.weight.tolist(), [0.5, 1.5, 2.5]);
  assert.equal(batch.flag.dtype, "bool");
  assert.deepEqual(batch.name, ["n0", "n1", "n2"]);
  assert.deepEqual(batch.pair[0].shape, [3, 1]);
  assert.deepEqual(batch.pair[1].tolist(), [0, 10, 20]);
  assert.deepEqual(batch.meta.id.tolist(), [0, 1, 2]);
  const typed = defaultCollate<torch.Tensor>([new Float32Array([1, 2]), new Float32Array([3, 4])]);
  assert.deepEqual(typed.tolist(), [[1, 2], [3, 4]]);
  torch.dispose([samples, batch, typed]);
  assert.equal(torch.memory().numTensors, before);

  const a = torch.zeros([2]), b = torch.zeros([3]);
  assertFlareError(() => defaultCollate([a, b]), /equal shapes.*sample 0 is \[2\], sample 1 is \[3\]/, "E_SHAPE");
  assertFlareError(() => defaultCollate([[a, 1], [a]]), /equal size/, "E_SHAPE");
  assertFlareError(() => defaultCollate([{ x: 1 }, { y: 1 }]), /sample 1 has no key 'x'/, "E_TYPE");
  assertFlareError(() => defaultCollate([a, 1]), /sample 1 is number, sample 0 is Tensor\[2\]/, "E_TYPE");
  assertFlareError(() => defaultCollate([null]), /found null/, "E_TYPE");
  torch.dispose([a, b]);
});

test("detectionCollate pads boxes to maxObjects with class -1 (d2l's banana batches)", () => {
  const before = settledTensors();
  const img = () => torch.zeros([3, 4, 4]);
  const samples = [
    [img(), torch.tensor([[0, 0.1, 0.1, 0.5, 0.5]])],
    [img(), torch.tensor([[1, 0.2, 0.2, 0.6, 0.6], [0, 0, 0, 1, 1]])],
    [img(), torch.zeros([0, 5])],
  ];
  const [images, labels] = torch.tidy(() => detectionCollate({ maxObjects: 3 })(samples) as [torch.Tensor, torch.Tensor]);
  assert.deepEqual(images.shape, [3, 3, 4, 4]);
  assert.deepEqual(labels.shape, [3, 3, 5]);
  const rows = (...spec: (number | string)[]) => torch.tidy(() => labels.index(...spec).tolist());
  assert.deepEqual(rows(0), [[0, 0.1, 0.1, 0.5, 0.5].map(Math.fround), [-1, -1, -1, -1, -1], [-1, -1, -1, -1, -1]]);
  assert.deepEqual(rows(1, ":", 0), [1, 0, -1]);
  assert.deepEqual(rows(2, ":", 0), [-1, -1, -1]);
  // Without maxObjects: the largest count in the batch.
  const tight = torch.tidy(() => (detectionCollate()(samples) as [torch.Tensor, torch.Tensor])[1]);
  assert.deepEqual(tight.shape, [3, 2, 5]);
  assertFlareError(() => detectionCollate({ maxObjects: 1 })(samples), /sample 1 has 2 objects, more than maxObjects = 1/, "E_SHAPE");

  // torchvision-style targets {boxes, labels}.
  const tv = [
    [img(), { boxes: torch.tensor([[1, 1, 2, 2]]), labels: torch.tensor([3], { dtype: "int64" }) }],
    [img(), { boxes: torch.tensor([[0, 0, 1, 1], [1, 1, 3, 3]]), labels: torch.tensor([1, 2], { dtype: "int64" }) }],
  ];
  const out = torch.tidy(() => detectionCollate({ maxObjects: 4 })(tv) as { images: torch.Tensor; boxes: torch.Tensor; labels: torch.Tensor; counts: torch.Tensor });
  assert.deepEqual(out.boxes.shape, [2, 4, 4]);
  assert.deepEqual(out.labels.tolist(), [[3, -1, -1, -1], [1, 2, -1, -1]]);
  assert.deepEqual(out.counts.tolist(), [1, 2]);
  assert.deepEqual(torch.tidy(() => out.boxes.index(0, 1).tolist()), [-1, -1, -1, -1]);
  torch.tidy(() => assertFlareError(() => detectionCollate()([[img(), torch.zeros([2, 4])]]), /K×5 tensor/, "E_SHAPE"));
  torch.dispose([samples, tv, images, labels, tight, out]);
  assert.equal(torch.memory().numTensors, before);
});

test("normalizeCollate: uint8 images -> the float batch of ToDtype(scale) + Normalize + stack, labels as defaultCollate", () => {
  torch.tidy(() => {
    const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
    const images = [0, 1, 2].map((k) => torch.arange(0, 3 * 9 * 10).reshape([3, 9, 10]).add(k * 17).remainder(256).to("uint8"));
    const collate = normalizeCollate({ mean, std });
    const [batch, labels, names] = collate(images.map((x, k) => [x, k, `n${k}`])) as [torch.Tensor, torch.Tensor, string[]];
    const expected = torch.stack(images.map((x) => normalize(toDtype(x, "float32", { scale: true }), mean, std)));
    assert.deepEqual(batch.shape, [3, 3, 9, 10]);
    assert.equal(batch.dtype, "float32");
    assert.ok(batch.eq(expected).all().item(), "bit for bit the op-by-op values");
    assert.deepEqual(labels.tolist(), [0, 1, 2]);
    assert.deepEqual(names, ["n0", "n1", "n2"]);
    const bare = normalizeCollate({ mean: [0.5], std: [0.25] })(images) as torch.Tensor;
    assert.ok(bare.eq(torch.stack(images.map((x) => normalize(toDtype(x, "float32", { scale: true }), [0.5], [0.25])))).all().item());
    assertFlareError(() => collate([[images[0].to("float32"), 0]]), /the image of sample 0 must be a uint8 C×H×W tensor on the CPU, got float32/, "E_TYPE");
    assertFlareError(() => collate([[images[0], 0], [images[1].index(":", "1:"), 1]]), /images must have equal shapes to be stacked: sample 0 is Tensor\[3,9,10\], sample 1 is Tensor\[3,8,10\]/, "E_SHAPE");
    assertFlareError(() => collate([[images[0], 0], [images[1]]]), /each sample should have 2 elements as sample 0, sample 1 has 1/, "E_SHAPE");
    assertFlareError(() => normalizeCollate({ mean: [0.5, 0.5], std: [1, 1] })([images[0]]), /mean has 2 values but the image of sample 0 has 3 channels/, "E_SHAPE");
    assertFlareError(() => normalizeCollate({ mean, std: [1, 0, 1] }), /std must not contain zeros/);
    assertFlareError(() => normalizeCollate({ mean, std, scale: true } as never), /unknown option "scale"/);
    assertFlareError(() => normalizeCollate({ mean: "0.5", std } as never), /mean must be a non-empty array of finite numbers/);
  });
});

test("DataLoader: batches, length, dropLast, unbatched, custom sampler and collate", async () => {
  const before = settledTensors();
  const [x, y] = torch.tidy(() => [torch.arange(10).float(), torch.arange(10).mul(2)]);
  const ds = new TensorDataset(x, y);
  const loader = new DataLoader(ds, { batchSize: 4 });
  assert.equal(loader.length, 3);
  const batches = await collect(loader);
  assert.deepEqual(batches.map((b) => (b as torch.Tensor[])[0].tolist()), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.deepEqual((batches[2] as torch.Tensor[])[1].tolist(), [16, 18]);
  torch.dispose(batches);

  const dropped = new DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(dropped.length, 2);
  const d = await collect(dropped);
  assert.equal(d.length, 2);
  torch.dispose(d);

  const single = await collect(new DataLoader(numbers(3), { batchSize: null }));
  assert.deepEqual(single, [0, 1, 2], "batchSize null: samples as they are");
  const sampled = await collect(new DataLoader(numbers(6, { async: true }), { batchSize: 2, sampler: [5, 3, 1], collateFn: (s: number[]) => s }));
  assert.deepEqual(sampled, [[5, 3], [1]], "async gets, a plain array as sampler, a custom collate");
  const bs = await collect(new DataLoader(numbers(6), { batchSampler: [[0], [4, 5]], collateFn: (s: number[]) => s.join("+") }));
  assert.deepEqual(bs, ["0", "4+5"]);
  assertFlareError(() => new DataLoader(ds, { batchSampler: [[0]], batchSize: 2 }), /mutually exclusive/);
  assertFlareError(() => new DataLoader(ds, { sampler: [0], shuffle: true }), /mutually exclusive with shuffle/);
  assertFlareError(() => new DataLoader(ds, { numWorkers: 2 }), /needs workerModule/);
  assertFlareError(() => new DataLoader(ds, { batchSize: 0 }), /batchSize must be a positive integer/);
  torch.dispose([x, y]);
  assert.equal(torch.memory().numTensors, before, "samples were freed after collation; batches by the caller");
});

test("DataLoader shuffle: reproducible with a seed, a new order each epoch", async () => {
  const order = async (loader: DataLoader<number, unknown>) => (await collect(loader)).flatMap((b) => { const v = (b as torch.Tensor).tolist() as number[]; (b as torch.Tensor).dispose(); return v; });
  torch.manualSeed(11);
  const a1 = await order(new DataLoader(numbers(12), { batchSize: 5, shuffle: true }));
  torch.manualSeed(11);
  const loader = new DataLoader(numbers(12), { batchSize: 5, shuffle: true });
  const b1 = await order(loader), b2 = await order(loader);
  assert.deepEqual(b1, a1, "torch.manualSeed makes shuffling reproducible");
  assert.notDeepEqual(b2, b1, "a new order on the next pass");
  assert.deepEqual([...b1].sort((p, q) => p - q), range(12));
  const g = await order(new DataLoader(numbers(12), { batchSize: 5, shuffle: true, generator: new torch.Generator(4) }));
  const g2 = await order(new DataLoader(numbers(12), { batchSize: 5, shuffle: true, generator: new torch.Generator(4) }));
  assert.deepEqual(g, g2, "an explicit generator");
});

test("DataLoader errors: a failing sample names its index; skip mode counts and reports", async () => {
  const failing = numbers(10, { failAt: [6] });
  await assert.rejects(collect(new DataLoader(failing, { batchSize: 4 })), (e: Error & { index?: number }) => {
    assert.equal(e.name, "FlareError");
    assert.match(e.message, /dataset index 6: cannot read sample 6/);
    assert.equal(e.index, 6);
    return true;
  });
  const skips: number[] = [];
  const loader = new DataLoader(numbers(10, { failAt: [1, 6, 7], async: true }), { batchSize: 3, onError: "skip", onSkip: (s) => skips.push(s.index) });
  const batches = await collect(loader);
  assert.deepEqual(batches.map((b) => (b as torch.Tensor).tolist()), [[0, 2], [3, 4, 5], [8], [9]]);
  torch.dispose(batches);
  assert.equal(loader.skipped, 3);
  assert.deepEqual(skips, [1, 6, 7]);
  assert.match(loader.skips[0].message, /cannot read sample 1/);
  // A batch whose samples all fail is left out.
  const allBad = new DataLoader(numbers(4, { failAt: [2, 3] }), { batchSize: 2, onError: "skip" });
  assert.equal((await collect(allBad)).length, 1);
  // A collate error names the batch's indices.
  await assert.rejects(collect(new DataLoader(numbers(4), { batchSize: 2, collateFn: () => { throw new Error("boom"); } })),
    /collating the batch of dataset indices \[0, 1\]: boom/);
});
