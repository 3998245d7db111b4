// Per-sample randomness on batches: with perSample, each image of an NCHW
// batch draws its own parameters and the batch is transformed by batched
// tensor ops; the result must equal replaying each image's parameters on
// that image alone.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import * as T from "../src/vision/transforms/index.js";
import { assertClose } from "./helpers.js";

const N = 6;
function batch(dtype: "uint8" | "float32"): torch.Tensor {
  torch.manualSeed(12);
  const x = torch.randint(0, 256, [N, 3, 19, 24], { dtype: "uint8" });
  return dtype === "uint8" ? x : x.to("float32").div(255);
}

/**
 * Runs t with perSample on a batch and checks image i of the result against
 * t.replay(params[i], image i). atol: allowed difference (uint8 steps or float).
 */
function checkPerSample(t: T.RandomTransform<unknown> | T.Transform, dtype: "uint8" | "float32", atol = 0, minDistinct = 2) {
  torch.tidy(() => {
    const x = batch(dtype);
    const out = t.forward(x);
    const params = t.lastParams as { perSample?: unknown[] } & Record<string, unknown>;
    const per = perImage(params);
    assert.equal(per.length, N, "one parameter set per image");
    assert.ok(new Set(per.map((p) => JSON.stringify(p))).size >= minDistinct, `parameters differ between images: ${JSON.stringify(per).slice(0, 200)}`);
    for (let i = 0; i < N; i++) {
      const single = replayOne(t, params, i, x.index(i));
      assertClose(out.index(i).to("float64"), single.to("float64"), { atol, rtol: 0, what: `${t.constructor.name} image ${i} (${JSON.stringify(per[i]).slice(0, 120)})` });
    }
  });
}

/** The per-image parameters, whatever the container. */
function perImage(params: Record<string, unknown>): unknown[] {
  if (Array.isArray(params.perSample)) return params.perSample;
  for (const key of ["applied", "choice", "order", "lam"]) if (Array.isArray(params[key])) return (params[key] as unknown[]).map((v, i) => [v, i]);
  throw new Error(`no per-sample parameters in ${JSON.stringify(params).slice(0, 100)}`);
}

/** Replays image i's parameters on image i alone. */
function replayOne(t: T.Transform, params: Record<string, unknown>, i: number, img: torch.Tensor): torch.Tensor {
  if (Array.isArray(params.perSample)) return t.replay(params.perSample[i], img);
  throw new Error("containers are checked separately");
}

describe("per-sample transforms equal the same parameters image by image", () => {
  const cases: [string, () => T.RandomTransform<unknown>, number, number][] = [
    // name, make, atol uint8, atol float
    ["RandomHorizontalFlip", () => new T.RandomHorizontalFlip({ perSample: true }), 0, 0],
    ["RandomVerticalFlip", () => new T.RandomVerticalFlip({ perSample: true }), 0, 0],
    ["RandomCrop", () => new T.RandomCrop([15, 17], { padding: [2, 3], fill: 5, perSample: true }), 0, 0],
    ["RandomCrop reflect", () => new T.RandomCrop(16, { padding: 2, paddingMode: "reflect", perSample: true }), 0, 0],
    ["RandomResizedCrop nearest", () => new T.RandomResizedCrop([11, 13], { interpolation: "nearest", perSample: true }), 0, 0],
    ["RandomResizedCrop bilinear", () => new T.RandomResizedCrop([11, 13], { perSample: true }), 1, 1e-5],
    ["RandomResizedCrop bilinear up", () => new T.RandomResizedCrop([30, 35], { perSample: true }), 1, 1e-5],
    ["RandomRotation", () => new T.RandomRotation(45, { perSample: true }), 0, 1e-5],
    ["RandomRotation bilinear fill", () => new T.RandomRotation(45, { interpolation: "bilinear", fill: [10, 20, 30], perSample: true }), 1, 1e-5],
    ["RandomAffine", () => new T.RandomAffine(20, { translate: [0.2, 0.2], scale: [0.8, 1.2], shear: [-10, 10, -5, 5], interpolation: "bilinear", perSample: true }), 1, 1e-5],
    ["RandomPerspective", () => new T.RandomPerspective({ p: 0.7, perSample: true }), 1, 1e-5],
    ["ColorJitter", () => new T.ColorJitter(0.4, 0.4, 0.4, 0.1, { perSample: true }), 0, 1e-6],
    ["RandomGrayscale", () => new T.RandomGrayscale({ p: 0.5, perSample: true }), 0, 0],
    ["GaussianBlur", () => new T.GaussianBlur([5, 3], { perSample: true }), 0, 1e-6],
    ["RandomErasing value", () => new T.RandomErasing({ p: 0.8, value: [0.1, 0.5, 0.9], perSample: true }), 0, 0],
    ["RandomErasing random", () => new T.RandomErasing({ p: 0.8, value: "random", perSample: true }), 0, 0],
    ["RandomInvert", () => new T.RandomInvert({ perSample: true }), 0, 0],
    ["RandomPosterize", () => new T.RandomPosterize(2, { perSample: true }), 0, 0],
    ["RandomSolarize", () => new T.RandomSolarize(0.5, { perSample: true }), 0, 0],
    ["RandomAdjustSharpness", () => new T.RandomAdjustSharpness(3, { perSample: true }), 0, 1e-6],
    ["RandomAutocontrast", () => new T.RandomAutocontrast({ perSample: true }), 0, 1e-6],
    ["RandomEqualize", () => new T.RandomEqualize({ perSample: true }), 0, 1e-6],
    ["AutoAugment", () => new T.AutoAugment({ perSample: true }), 0, 1e-5],
    ["RandAugment", () => new T.RandAugment({ numOps: 3, perSample: true }), 0, 1e-5],
    ["TrivialAugmentWide", () => new T.TrivialAugmentWide({ perSample: true }), 0, 1e-5],
  ];
  for (const [name, make, atolU8, atolF] of cases) {
    test(`${name} (uint8)`, () => {
      const t = make();
      if (name === "RandomSolarize") return; // its threshold 0.5 is for float images
      checkPerSample(t, "uint8", atolU8);
    });
    test(`${name} (float32)`, () => {
      const t = make();
      if (name === "RandomPosterize" || name === "RandomEqualize") return; // uint8 only
      checkPerSample(t, "float32", atolF);
    });
  }
});

describe("containers with perSample", () => {
  function images(x: torch.Tensor, indices: number[]) { return x.indexSelect(0, torch.tensor(indices, { dtype: "int64" })); }

  test("RandomApply runs its transforms on the chosen images only", () => torch.tidy(() => {
    const x = batch("uint8");
    const t = new T.RandomApply([new T.RandomInvert({ p: 1 })], { p: 0.5, perSample: true, generator: new torch.Generator(3) });
    const out = t.forward(x);
    const { applied } = t.lastParams as { applied: boolean[] };
    assert.ok(applied.some(Boolean) && !applied.every(Boolean), JSON.stringify(applied));
    for (let i = 0; i < N; i++) assertClose(out.index(i).to("float32"), (applied[i] ? x.index(i).neg().add(255) : x.index(i)).to("float32"), { atol: 0 });
    assertClose(t.replay(t.lastParams, x).to("float32"), out.to("float32"), { atol: 0 });
  }));

  test("RandomChoice groups the images by their choice", () => torch.tidy(() => {
    const x = batch("uint8");
    const t = new T.RandomChoice([new T.RandomInvert({ p: 1 }), new T.RandomHorizontalFlip({ p: 1 }), new T.RandomEqualize({ p: 1 })], { perSample: true, generator: new torch.Generator(5) });
    const out = t.forward(x);
    const { choice } = t.lastParams as { choice: number[] };
    assert.ok(new Set(choice).size >= 2, JSON.stringify(choice));
    for (let i = 0; i < N; i++) {
      const single = t.transforms[choice[i]].forward(x.index(i));
      assertClose(out.index(i).to("float32"), single.to("float32"), { atol: 0 });
    }
  }));

  test("RandomOrder applies each image's own order", () => torch.tidy(() => {
    const x = batch("uint8");
    const a = new T.RandomPosterize(3, { p: 1 }), b = new T.RandomHorizontalFlip({ p: 1 }), c = new T.RandomSolarize(100, { p: 1 });
    const t = new T.RandomOrder([a, b, c], { perSample: true, generator: new torch.Generator(2) });
    const out = t.forward(x);
    const { order } = t.lastParams as { order: number[][] };
    assert.ok(new Set(order.map((o) => o.join())).size >= 2);
    for (let i = 0; i < N; i++) {
      let y = x.index(i);
      for (const k of order[i]) y = [a, b, c][k].forward(y);
      assertClose(out.index(i).to("float32"), y.to("float32"), { atol: 0 });
    }
  }));

  test("Compose({ perSample: true }) sets every random child; a classification pipeline runs batched", () => torch.tidy(() => {
    const x = batch("uint8");
    const pipe = new T.Compose([
      new T.RandomResizedCrop(16), new T.RandomHorizontalFlip(), new T.ColorJitter(0.4, 0.4, 0.4, 0.1),
      new T.ToDtype("float32", { scale: true }), new T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ], { perSample: true });
    const out = pipe.forward(x);
    assert.deepEqual(out.shape, [N, 3, 16, 16]);
    const params = pipe.lastParams as { perSample: unknown[] }[];
    for (let i = 0; i < N; i++) {
      const single = new T.Compose([
        new T.RandomResizedCrop(16), new T.RandomHorizontalFlip(), new T.ColorJitter(0.4, 0.4, 0.4, 0.1),
        new T.ToDtype("float32", { scale: true }), new T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
      ]).replay(params.map((p) => (p && Array.isArray(p.perSample) ? p.perSample[i] : p)), x.index(i));
      assertClose(out.index(i), single, { atol: 1 / 255 / 0.224 + 1e-5, what: `image ${i}` });
    }
  }));

  test("per-sample flips and crops move each image's boxes by its own parameters", () => torch.tidy(() => {
    const x = batch("uint8");
    const targets = Array.from({ length: N }, (_, i) => ({
      boxes: T.boundingBoxes([[2, 3, 10, 12], [i, i, i + 5, i + 4]], { canvasSize: [19, 24] }),
      labels: torch.tensor([1, 2], { dtype: "int64" }),
    }));
    const t = new T.Compose([new T.RandomHorizontalFlip(), new T.RandomCrop(16)], { perSample: true });
    const [, outTargets] = t.forward(x, targets);
    const params = t.lastParams as { perSample: unknown[] }[];
    for (let i = 0; i < N; i++) {
      const [, single] = new T.Compose([new T.RandomHorizontalFlip(), new T.RandomCrop(16)]).replay(params.map((p) => p.perSample[i]), x.index(i), targets[i]);
      assertClose(outTargets[i].boxes!.data, single.boxes!.data, { atol: 0, what: `boxes of image ${i}` });
      assert.deepEqual(outTargets[i].labels!.tolist(), single.labels!.tolist());
    }
    void images;
  }));

  test("perSample on a single image draws one parameter set", () => torch.tidy(() => {
    const t = new T.RandomHorizontalFlip({ perSample: true });
    t.forward(batch("uint8").index(0));
    assert.ok(!("perSample" in (t.lastParams as object)));
  }));
});

test("the CPU block size does not change per-sample results", () => torch.tidy(() => {
  const x = batch("uint8");
  const pipe = () => new T.Compose([new T.RandomCrop(16, { padding: 2 }), new T.RandomHorizontalFlip(), new T.ColorJitter(0.4, 0.4, 0.4, 0.1), new T.RandomErasing({ value: "random" })], { perSample: true });
  const targets = Array.from({ length: N }, () => ({ boxes: T.boundingBoxes([[2, 3, 10, 12]], { canvasSize: [19, 24] }) }));
  try {
    T.setBatchChunkSize(Infinity);
    const whole = pipe();
    const [a, ta] = whole.forward(x, targets);
    T.setBatchChunkSize(3 * 19 * 24 * 2 + 5); // blocks of two images
    const [b, tb] = pipe().replay(whole.lastParams, x, targets);
    assertClose(b.to("float32"), a.to("float32"), { atol: 0 });
    for (let i = 0; i < N; i++) assertClose(tb[i].boxes!.data, ta[i].boxes!.data, { atol: 0 });
  } finally {
    T.setBatchChunkSize(1 << 18);
  }
}));

test("deterministic transforms inside a per-sample Compose apply to the whole batch", () => torch.tidy(() => {
  const x = batch("uint8");
  const pipe = new T.Compose([new T.Resize(20), new T.CenterCrop(18), new T.Pad(1), new T.RandomHorizontalFlip(), new T.ToDtype("float32", { scale: true })], { perSample: true });
  const out = pipe.forward(x);
  assert.deepEqual(out.shape, [N, 3, 20, 20]);
  const flips = (pipe.lastParams as unknown[])[3] as { perSample: { flip: boolean }[] };
  assert.equal(flips.perSample.length, N);
}));
