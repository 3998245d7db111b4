// Seeds that follow PyTorch: after torch.manualSeed(s), flare's layer init, DataLoader
// shuffle, transform parameters and per-worker seeds are PyTorch 1.13's / torchvision
// 0.14's, so the book's LeNet on Fashion-MNIST trains through the same losses
// (fixture: scripts/fixtures/lenet_seeded.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import * as torch from "../src/index.js";
import { nn, optim, F } from "../src/index.js";
import { DataLoader, RandomSampler, getWorkerInfo } from "../src/data/index.js";
import { transforms as T } from "../src/vision/index.js";
import { FASHION_MNIST_ROOT } from "../src/vision/datasets/fashion_mnist.js";
import { randomSeed, rand1, randint1, uniform1, randpermList } from "../src/tensor/generator.js";
import { fixtureGetter, loadFixture } from "./helpers.js";
import { FashionMnist } from "./workers/seeds_fashion.js";
import { RangeDataset } from "./workers/data_range.js";

const SEED = 2024, STEPS = 100, BATCH = 64;
const hasData = existsSync(`${FASHION_MNIST_ROOT}/train-images-idx3-ubyte.gz`) || existsSync(`${FASHION_MNIST_ROOT}/train-images-idx3-ubyte`);
const FASHION = { skip: hasData ? false : `no Fashion-MNIST in ${FASHION_MNIST_ROOT} (Debian dataset-fashion-mnist)` };
const WORKER_MODULE = new URL("./workers/seeds_fashion.js", import.meta.url);
const RANGE_MODULE = new URL("./workers/data_range.js", import.meta.url);

function lenet(): nn.Sequential {
  const net = new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.Sigmoid(),
    new nn.AvgPool2d(2, 2),
    new nn.Conv2d(6, 16, 5), new nn.Sigmoid(),
    new nn.AvgPool2d(2, 2),
    new nn.Flatten(),
    new nn.Linear(16 * 5 * 5, 120), new nn.Sigmoid(),
    new nn.Linear(120, 84), new nn.Sigmoid(),
    new nn.Linear(84, 10));
  net.apply((m) => { if (m instanceof nn.Linear || m instanceof nn.Conv2d) nn.init.xavierUniform_(m.weight); });
  return net;
}

const values = (t: torch.Tensor) => t.tolist() as number[];

test("LeNet on Fashion-MNIST, seeded, shuffled and augmented: PyTorch's losses for 100 steps", FASHION, async (t) => {
  const get = fixtureGetter(loadFixture("lenet_seeded"));
  const threads = torch.getNumThreads();
  torch.setNumThreads(1);   // as the fixture: one thread, so every reduction sums in the same order
  try {
    torch.manualSeed(SEED);
    const net = lenet();
    const opt = new optim.SGD(net.parameters(), { lr: 0.9 });
    const loader = new DataLoader(new FashionMnist(60000), BATCH, true);   // PyTorch's positions: batchSize, shuffle
    const losses: number[] = [], sums: number[] = [], labels: number[][] = [];
    for await (const [x, y] of loader as AsyncIterable<[torch.Tensor, torch.Tensor]>) {
      if (losses.length === STEPS) { x.dispose(); y.dispose(); break; }
      torch.tidy(() => {
        const loss = F.crossEntropy(net.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        losses.push(loss.item() as number);
        sums.push(x.to("float64").sum().item() as number);
        labels.push(values(y));
      });
      x.dispose(); y.dispose();
    }
    // The shuffle first, then the augmentations, then the losses: the first that differs says what broke.
    assert.deepEqual(labels, get("labels").tolist(), "the same batches (RandomSampler's permutation)");
    const expectedSums = values(get("image_sums"));
    sums.forEach((s, i) => assert.ok(Math.abs(s - expectedSums[i]) <= 1e-9 * Math.abs(expectedSums[i]), `step ${i}: augmented images sum to ${s}, PyTorch's to ${expectedSums[i]}`));
    const expected = values(get("losses"));
    let worst = 0;
    losses.forEach((l, i) => { worst = Math.max(worst, Math.abs(l - expected[i])); });
    // Same libtorch, same inputs, one thread: the losses agree to float32 rounding (measured: 0).
    t.diagnostic(`largest loss difference over ${STEPS} steps: ${worst}`);
    assert.ok(worst <= 1e-5, `largest loss difference over ${STEPS} steps: ${worst}`);
  } finally {
    torch.setNumThreads(threads);
  }
});

test("with numWorkers 2: PyTorch's batch order and per-worker augmentations (base seed + worker id)", FASHION, async () => {
  const get = fixtureGetter(loadFixture("lenet_seeded"));
  torch.manualSeed(SEED);
  const loader = new DataLoader(new FashionMnist(2048), { batchSize: BATCH, shuffle: true, numWorkers: 2, workerModule: WORKER_MODULE, workerArgs: { n: 2048 } });
  const sums: number[] = [], labels: number[][] = [];
  for await (const [x, y] of loader as AsyncIterable<[torch.Tensor, torch.Tensor]>) {
    if (sums.length < 8) {
      sums.push(x.to("float64").sum().item() as number);
      labels.push(values(y));
    }
    x.dispose(); y.dispose();
    if (sums.length === 8) break;
  }
  assert.deepEqual(labels, get("workers_labels").tolist());
  const expected = values(get("workers_image_sums"));
  sums.forEach((s, i) => assert.ok(Math.abs(s - expected[i]) <= 1e-9 * Math.abs(expected[i]), `batch ${i} (worker ${i % 2}): ${s} vs PyTorch's ${expected[i]}`));
});

for (const persistent of [false, true]) {
  test(`two epochs with numWorkers 2${persistent ? " and persistentWorkers (seeded once)" : " (a base seed per epoch)"}: PyTorch's batches`, FASHION, async () => {
    const get = fixtureGetter(loadFixture("lenet_seeded"));
    const key = persistent ? "persistent" : "epochs";
    torch.manualSeed(SEED);
    const loader = new DataLoader(new FashionMnist(256), { batchSize: BATCH, shuffle: true, numWorkers: 2, persistentWorkers: persistent, workerModule: WORKER_MODULE, workerArgs: { n: 256 } });
    const sums: number[] = [], labels: number[][] = [];
    try {
      for (let epoch = 0; epoch < 2; epoch++) {
        for await (const [x, y] of loader as AsyncIterable<[torch.Tensor, torch.Tensor]>) {
          sums.push(x.to("float64").sum().item() as number);
          labels.push(values(y));
          x.dispose(); y.dispose();
        }
      }
    } finally {
      await loader.close();
    }
    assert.deepEqual(labels, get(`${key}_labels`).tolist());
    const expected = values(get(`${key}_image_sums`));
    assert.equal(sums.length, expected.length);
    sums.forEach((s, i) => assert.ok(Math.abs(s - expected[i]) <= 1e-9 * Math.abs(expected[i]), `batch ${i}: ${s} vs PyTorch's ${expected[i]}`));
  });
}

test("getWorkerInfo().seed is PyTorch's base seed + worker id; a TorchGenerator given to the DataLoader gives PyTorch's batches", async () => {
  torch.manualSeed(5);
  const base = 4095051218741643470n;   // torch.manual_seed(5); torch.empty((), dtype=torch.int64).random_()
  const args = { n: 6, tagWorker: true, tagSeed: true };
  const loader = new DataLoader(new RangeDataset(args), { batchSize: 2, numWorkers: 2, workerModule: RANGE_MODULE, workerArgs: args });
  const seen = new Map<number, string>();
  for await (const batch of loader as AsyncIterable<[torch.Tensor, torch.Tensor, torch.Tensor, string[]]>) {
    const ids = batch[2].tolist() as number[];
    ids.forEach((id, k) => seen.set(id, batch[3][k]));
    torch.dispose([batch[0], batch[1], batch[2]]);
  }
  assert.deepEqual([...seen.entries()].sort(), [[0, String(base)], [1, String(base + 1n)]]);
  // g = torch.Generator(); g.manual_seed(11); DataLoader(range(10), batch_size=3, shuffle=True, generator=g), two passes
  const g = new torch.TorchGenerator(11);
  const ds = { length: 10, get: (i: number) => i };
  const pass = async () => { const out: number[][] = []; for await (const b of new DataLoader(ds, 3, true, { generator: g }) as AsyncIterable<torch.Tensor>) { out.push(b.tolist() as number[]); b.dispose(); } return out; };
  assert.deepEqual(await pass(), [[0, 9, 3], [6, 1, 5], [7, 4, 8], [2]]);
  assert.deepEqual(await pass(), [[8, 5, 4], [7, 1, 3], [6, 9, 2], [0]]);
});

// Values printed by PyTorch 1.13 (python3 -c "import torch; torch.manual_seed(0); ...").
test("the draws are PyTorch's: rand(1), randint, uniform_, randperm and a generator's seed after manualSeed(0)", () => {
  torch.manualSeed(0);
  assert.equal(rand1(), Math.fround(0.49625658988952637));
  torch.manualSeed(0);
  assert.deepEqual(randpermList(10), [4, 1, 7, 5, 3, 9, 0, 8, 6, 2]);
  torch.manualSeed(0);
  assert.equal(randint1(0, 100), 44);
  torch.manualSeed(0);
  assert.equal(uniform1(2, 3), 2.4962565898895264);
  torch.manualSeed(0);
  assert.equal(randomSeed(), 900450186894289455n);
  const g = new torch.TorchGenerator(7);
  assert.equal(g.initialSeed(), 7n);
  assert.deepEqual(randpermList(5, g), [0, 1, 3, 2, 4]);
});

test("RandomSampler: PyTorch's order after manualSeed, with and without replacement", () => {
  torch.manualSeed(1);
  assert.deepEqual([...new RandomSampler(10)], [6, 7, 4, 1, 3, 9, 0, 2, 8, 5]);
  torch.manualSeed(1);
  assert.deepEqual([...new RandomSampler(10, { replacement: true, numSamples: 5 })], [6, 2, 0, 4, 1]);
  torch.manualSeed(1);
  assert.deepEqual([...new RandomSampler(4, { numSamples: 6 })], [2, 1, 0, 3, 0, 1]);
});

test("ColorJitter draws as torchvision 0.14 (randperm(4), then the factors): same seed, same parameters", () => {
  torch.manualSeed(3);
  const img = torch.rand([3, 4, 5]);
  const jitter = new T.ColorJitter(0.4, 0.4, 0.4, 0.1);
  jitter.forward(img).dispose();
  const p = jitter.lastParams as { order: number[]; brightness: number; contrast: number; saturation: number; hue: number };
  // torch.manual_seed(3); torch.rand(3, 4, 5); T.ColorJitter.get_params([0.6, 1.4], [0.6, 1.4], [0.6, 1.4], [-0.1, 0.1])
  assert.deepEqual(p.order, [0, 3, 2, 1]);
  assert.deepEqual([p.brightness, p.contrast, p.saturation, p.hue], [0.822705090045929, 0.7004241943359375, 0.668700098991394, 0.00244467263109982]);
  img.dispose();
});

test("geometric, blur, erasing and container transforms draw as torchvision 0.14 (get_params in sequence after one seed)", () => {
  torch.manualSeed(9);
  const img = torch.zeros([3, 10, 12]);
  const params = (t: { forward(x: torch.Tensor): torch.Tensor; lastParams: unknown }) => {
    const out = t.forward(img);
    if (out !== img) out.dispose();   // a transform that does not fire returns its input
    return t.lastParams as Record<string, unknown>;
  };
  const flip = new T.RandomHorizontalFlip();
  const flips = Array.from({ length: 6 }, () => params(flip).flip);
  const crop = params(new T.RandomCrop([4, 5]));
  const rotation = params(new T.RandomRotation(30));
  const affine = params(new T.RandomAffine([-10, 10], { translate: [0.1, 0.2], scale: [0.8, 1.2], shear: [-5, 5, -3, 3] }));
  const blur = params(new T.GaussianBlur(3, { sigma: [0.1, 2.0] }));
  const perspective = params(new T.RandomPerspective({ distortionScale: 0.5, p: 1 }));
  const erase = params(new T.RandomErasing({ p: 1, scale: [0.02, 0.33], ratio: [0.3, 3.3] }));
  const apply = params(new T.RandomApply([new T.RandomInvert(1)], { p: 0.3 }));
  const rrc = params(new T.RandomResizedCrop(8));
  img.dispose();
  // torchvision 0.14, after torch.manual_seed(9); img = torch.zeros(3, 10, 12):
  //   [bool(torch.rand(1) < 0.5) for _ in range(6)]; T.RandomCrop.get_params(img, (4, 5));
  //   T.RandomRotation.get_params([-30.0, 30.0]); T.RandomAffine.get_params((-10.0, 10.0), (0.1, 0.2), (0.8, 1.2), (-5.0, 5.0, -3.0, 3.0), [12, 10]);
  //   T.GaussianBlur.get_params(0.1, 2.0); torch.rand(1); T.RandomPerspective.get_params(12, 10, 0.5);
  //   torch.rand(1); T.RandomErasing.get_params(img, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=[0]);
  //   not (0.3 < torch.rand(1)); T.RandomResizedCrop.get_params(img, [0.08, 1.0], [3/4, 4/3])
  assert.deepEqual(flips, [false, true, true, false, false, false]);
  assert.deepEqual([crop.top, crop.left], [3, 6]);
  assert.equal(rotation.angle, -7.1736249923706055);
  assert.deepEqual(affine, { angle: -1.791304349899292, translate: [1, 0], scale: 0.8552382588386536, shear: [-2.931342124938965, 0.08340239524841309] });
  assert.equal(blur.sigma, 1.0214993953704834);
  assert.deepEqual(perspective.endpoints, [[1, 2], [9, 1], [8, 7], [0, 8]]);
  assert.deepEqual([erase.i, erase.j, erase.h, erase.w], [0, 5, 8, 4]);
  assert.equal(apply.applied, false);
  assert.deepEqual([rrc.top, rrc.left, rrc.height, rrc.width], [0, 1, 8, 10]);
});

test("AutoAugment, RandAugment and TrivialAugmentWide choose torchvision 0.14's ops and magnitudes after one seed", () => {
  // torch.manual_seed(12); img = torch.zeros(3, 16, 16, dtype=torch.uint8); each of T.AutoAugment(),
  // T.RandAugment(), T.TrivialAugmentWide() applied 4 times, recording torchvision's _apply_op(op_name, magnitude).
  const expected: Record<string, [string, number][][]> = {
    aa: [[["Invert", 0], ["Equalize", 0]], [["Equalize", 0]], [["Equalize", 0], ["Equalize", 0]], []],
    ra: [[["Brightness", -0.26999998092651367], ["ShearY", 0.09000000357627869]], [["Equalize", 0], ["ShearY", -0.09000000357627869]],
      [["Color", 0.26999998092651367], ["Brightness", -0.26999998092651367]], [["Sharpness", 0.26999998092651367], ["Sharpness", -0.26999998092651367]]],
    ta: [[["TranslateY", 11.733333587646484]], [["Posterize", 5]], [["Identity", 0]], [["Identity", 0]]],
  };
  torch.manualSeed(12);
  const img = torch.zeros([3, 16, 16], { dtype: "uint8" });
  for (const [key, t] of [["aa", new T.AutoAugment()], ["ra", new T.RandAugment()], ["ta", new T.TrivialAugmentWide()]] as const) {
    const seen: [string, number][][] = [];
    for (let k = 0; k < 4; k++) {
      const out = t.forward(img);
      if (out !== img) out.dispose();
      seen.push((t.lastParams as { ops: { name: string; magnitude: number }[] }).ops.map((o) => [o.name, o.magnitude]));
    }
    assert.deepEqual(seen, expected[key], key);
  }
  img.dispose();
});

test("DataLoader options: PyTorch's positions, unknown names refused, bounds on workers and shuffle size", () => {
  const ds = { length: 10, get: (i: number) => i };
  assert.equal(new DataLoader(ds, 4).batchSize, 4);
  assert.throws(() => new DataLoader(ds, { batch_size: 4 } as never), /unknown option "batch_size" \(did you mean "batchSize"\?\)/);
  assert.throws(() => new DataLoader(ds, { numWorkers: 257, workerModule: "x.js" }), /numWorkers = 257 is above flare's bound of 256/);
  assert.throws(() => new DataLoader({ length: 1e9, get: (i: number) => i }, { shuffle: true }), /cannot shuffle 1000000000 samples.*2\^27/);
  const Untyped = DataLoader as unknown as new (...args: unknown[]) => unknown;
  assert.throws(() => new Untyped(ds, 4, true, null, null, 0, null, true), /pinMemory.*not supported/);
  assert.throws(() => new DataLoader(ds, { shuffle: "yes" as never }), /shuffle must be a boolean/);
  assert.throws(() => new DataLoader(ds, { sampler: 5 as never }), /sampler must be an iterable with a length/);
  assert.throws(() => new DataLoader(ds, { prefetchFactor: 1e9 }), /prefetchFactor must be an integer in \[1, 1024\]/);
  assert.throws(() => new RandomSampler(10, { generator: {} as never }), /generator must be a torch.TorchGenerator or a torch.Generator/);
  // With replacement a huge dataset is fine: nothing of its size is built.
  const big = new RandomSampler(1e9, { replacement: true, numSamples: 3 });
  assert.equal([...big].length, 3);
  assert.equal(getWorkerInfo(), null);
});
