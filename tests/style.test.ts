// Neural style transfer's parts and API: the Gram matrix and losses by their
// formulas, the random-filter extractor (seeded, no weights), styleTransfer on
// tiny images (the Gram distance falls, the image keeps its size, the style mix),
// bad input as FlareErrors, and no tensor left behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { style, models } from "../src/vision/index.js";
import { assertClose } from "./helpers.js";

/** A tiny uint8 image: a colour gradient (content) or stripes of one colour (style). */
function gradient(h: number, w: number): torch.Tensor {
  return torch.tidy(() => {
    const y = torch.arange(h).reshape([1, h, 1]).div(h).expand([1, h, w]), x = torch.arange(w).reshape([1, 1, w]).div(w).expand([1, h, w]);
    return torch.cat([y, x, y.add(x).div(2)], 0).mul(255).to("uint8");
  });
}
function stripes(h: number, w: number, rgb: [number, number, number]): torch.Tensor {
  return torch.tidy(() => {
    const on = torch.arange(w).remainder(4).lt(2).to("float32").reshape([1, 1, w]).expand([1, h, w]);
    return torch.cat(rgb.map((c) => on.mul(c)), 0).to("uint8");
  });
}

test("gram = X·Xᵀ / (c·h·w); tvLoss = 0.5·(mean vertical + mean horizontal |differences|); contentLoss is an MSE", () => {
  torch.tidy(() => {
    const x = torch.tensor([1, 2, 3, 4, 5, 6, 7, 8], { dtype: "float32" }).reshape([1, 2, 2, 2]);
    // rows [1,2,3,4] and [5,6,7,8]: 30, 70, 174 over 2·4 = 8.
    assertClose(style.gram(x), torch.tensor([[30 / 8, 70 / 8], [70 / 8, 174 / 8]]));
    // vertical differences are all 2, horizontal all 1.
    assert.equal(style.tvLoss(x).item(), 0.5 * (2 + 1));
    assert.equal(style.contentLoss(x, x.add(2)).item(), 4);
    assert.equal(style.styleLoss(x, style.gram(x)).item(), 0);
  });
  assert.throws(() => style.gram(torch.zeros([2, 3])), /gram\(\): x must be a \(1, C, H, W\) feature map/);
});

test("the random-filter extractor: no weights, the same maps for the same seed, other maps for another seed", () => {
  const a = new style.RandomStyleFeatures({ seed: 1 }), b = new style.RandomStyleFeatures({ seed: 1 }), c = new style.RandomStyleFeatures({ seed: 2 });
  torch.tidy(() => {
    const x = style.preprocess(gradient(40, 60), [40, 60]);
    const fa = a.extract(x), fb = b.extract(x), fc = c.extract(x);
    assert.equal(fa.contents.length, 1);
    assert.equal(fa.styles.length, 8, "5 levels: the first layer at each, the second at levels 2..4");
    assert.deepEqual(fa.styles[0].shape, [1, 32, 40, 60]);
    assertClose(fa.styles[3], fb.styles[3], { rtol: 0, atol: 0 });
    assert.ok(fa.styles[3].sub(fc.styles[3]).abs().max().item() > 1e-3);
  });
  for (const f of [a, b, c]) f.dispose();
  assert.throws(() => new style.RandomStyleFeatures({ levels: 0 }), /levels must be an integer ≥ 1/);
  assert.throws(() => new style.RandomStyleFeatures({ seeds: 1 } as never), /unknown option "seeds"/);
});

test("styleTransfer with the default extractor: the Gram distance falls ≥ 10×, the image keeps the size, history per step", async () => {
  const content = gradient(24, 36), red = stripes(24, 36, [230, 40, 30]);
  const before = torch.memory().numTensors;
  const result = await style.styleTransfer({ content, style: red, size: [24, 36], steps: 60, lrDecaySteps: 20 });
  assert.deepEqual(result.image.shape, [3, 24, 36]);
  assert.equal(result.image.dtype, "uint8");
  assert.equal(result.history.length, 60);
  assert.equal(result.history[0].lr, 0.3);
  assert.ok(Math.abs(result.history[59].lr - 0.3 * 0.8 ** 2) < 1e-12, "StepLR(20, 0.8) stepped once per step");
  assert.match(result.features, /random multi-scale filters/);
  const { start, end } = result.gramDistance;
  assert.ok(end < start / 10, `Gram distance ${start} -> ${end}`);
  // The result took on the style's red: its mean red channel rose above green and blue.
  const [r, g, b] = torch.tidy(() => result.image.to("float32").mean([1, 2]).tolist() as number[]);
  assert.ok(r > g + 20 && r > b + 20, `mean colour ${r}, ${g}, ${b}`);
  result.image.dispose();
  assert.equal(torch.memory().numTensors, before, "no tensor outlives the call (the caller's images stay)");
  assert.equal(content.isDisposed || red.isDisposed, false);
  torch.dispose([content, red]);
});

test("style mix: two style images with shares; the target Gram is their weighted mean", async () => {
  const content = gradient(16, 16), red = stripes(16, 16, [230, 30, 30]), blue = stripes(16, 16, [30, 30, 230]);
  const run = (styleMix: number[]) => style.styleTransfer({ content, style: [red, blue], styleMix, size: 16, steps: 40 });
  const redish = await run([0.9, 0.1]), blueish = await run([0.1, 0.9]);
  const mean = (t: torch.Tensor) => torch.tidy(() => t.to("float32").mean([1, 2]).tolist() as number[]);
  const [r1, , b1] = mean(redish.image), [r2, , b2] = mean(blueish.image);
  assert.ok(r1 - b1 > r2 - b2 + 20, `0.9 red: (${r1}, ${b1}); 0.9 blue: (${r2}, ${b2})`);
  torch.dispose([redish.image, blueish.image, content, red, blue]);
});

test("bad input is a FlareError: unreadable image, size zero, another network's weights, a style mix that does not match", async () => {
  const img = gradient(8, 8);
  const dir = mkdtempSync(path.join(tmpdir(), "flare-style-"));
  const garbage = path.join(dir, "not-an-image.png");
  writeFileSync(garbage, "hello");
  const rejects = (options: Record<string, unknown>, pattern: RegExp) =>
    assert.rejects(style.styleTransfer({ content: img, style: img, steps: 1, size: 8, ...options } as style.StyleTransferOptions),
      (e: Error) => { assert.equal(e.name, "FlareError"); assert.match(e.message, pattern); return true; });
  await rejects({ content: path.join(dir, "missing.jpg") }, /the content image .*missing\.jpg could not be read: no such file/);
  await rejects({ style: garbage }, /the style image .*not-an-image\.png could not be read/);
  await rejects({ size: [0, 10] }, /size must be \[height, width\] of positive integers/);
  await rejects({ size: 0 }, /size must be/);
  await rejects({ style: [img, img], styleMix: [1] }, /styleMix has 1 shares for 2 style image\(s\)/);
  await rejects({ styleMix: [-1] }, /styleMix must be non-negative/);
  await rejects({ steps: -1 }, /steps must be an integer ≥ 0/);
  await rejects({ contentWeigth: 1 }, /unknown option "contentWeigth"/);
  await rejects({ content: torch.zeros([2, 8, 8]) }, /the content image must be a 3 × H × W image/);
  // Another network's weights: ResNet-18's, VGG-16's (no conv at features.16), VGG-19-BN's, a file that is not safetensors.
  const weights = path.join(dir, "w.safetensors");
  const resnet = models.resnet18();
  torch.save(resnet.stateDict(), weights);
  resnet.dispose();
  await rejects({ weights }, /is not VGG-19's weights: it has no features\.0\.weight \(its keys begin conv1\.weight/);
  const narrow = (cfg: models.VggConfig, batchNorm: boolean) => models.makeLayers(cfg.map((v) => (v === "M" ? v : v / 16)), { batchNorm });
  for (const [cfg, bn, pattern] of [[models.cfgs.D, false, /features\.16\.weight is missing \(VGG-16 has no conv there\)/], [models.cfgs.E, true, /is not VGG-19.s weights: features\.2\.weight is missing/]] as const) {
    const f = narrow(cfg, bn);
    torch.save(f.stateDict({ prefix: "features." }), weights);
    f.dispose();
    await rejects({ weights }, pattern);
  }
  writeFileSync(weights, "not safetensors");
  await rejects({ weights }, /vgg19StyleFeatures\(\): could not load .*w\.safetensors/);
  img.dispose();
});

test("schedules: the book's with weights or a given extractor; the random filters' coarse to fine (¾ of the steps at half size, lr decay every tenth)", () => {
  assert.deepEqual(style.defaultSchedule(true), { steps: 500, coarseSteps: 0, lrDecaySteps: 50 });
  assert.deepEqual(style.defaultSchedule(true, 120), { steps: 120, coarseSteps: 0, lrDecaySteps: 50 });
  assert.deepEqual(style.defaultSchedule(false), { steps: 200, coarseSteps: 150, lrDecaySteps: 20 });
  assert.deepEqual(style.defaultSchedule(false, 40), { steps: 40, coarseSteps: 30, lrDecaySteps: 4 });
});

test("coarse to fine: steps numbered through both phases, the lr schedule continues, images at full size, the start distance is the content image's", async () => {
  const content = gradient(32, 48), red = stripes(32, 48, [230, 40, 30]);
  const before = torch.memory().numTensors;
  const shapes: number[][] = [];
  const run = (coarseSteps: number) => style.styleTransfer({
    content, style: red, size: [32, 48], steps: 8, coarseSteps, lrDecaySteps: 2,
    onStep: (info) => { const img = info.image(); shapes.push([info.step, info.steps, ...img.shape]); img.dispose(); },
  });
  const mixed = await run(6);
  assert.equal(mixed.coarseSteps, 6);
  assert.deepEqual(mixed.history.map((h) => h.step), [1, 2, 3, 4, 5, 6, 7, 8]);
  [1, 1, 2, 2, 3, 3, 4, 4].forEach((k, i) => assert.ok(Math.abs(mixed.history[i].lr - 0.3 * 0.8 ** (k - 1)) < 1e-12, `step ${i + 1}: lr ${mixed.history[i].lr}`));
  assert.deepEqual(shapes, [1, 2, 3, 4, 5, 6, 7, 8].map((k) => [k, 8, 3, 32, 48]), "intermediate images at the result's size in both phases");
  assert.deepEqual(mixed.image.shape, [3, 32, 48]);
  const full = await run(0);
  assert.equal(full.coarseSteps, 0);
  // The half-size steps see other targets (their first loss differs); the start is the full-size content image's in both.
  assert.notEqual(mixed.history[0].gramDistance, full.history[0].gramDistance);
  assert.ok(Math.abs(mixed.gramDistance.start - full.gramDistance.start) <= 1e-6 * full.gramDistance.start, `${mixed.gramDistance.start} vs ${full.gramDistance.start}`);
  assert.ok(mixed.gramDistance.end < mixed.gramDistance.start / 2, `Gram distance ${mixed.gramDistance.start} -> ${mixed.gramDistance.end}`);
  torch.dispose([mixed.image, full.image]);
  assert.equal(torch.memory().numTensors, before, "no tensor outlives the call");
  // Too small to halve: no coarse phase.
  const tiny = await style.styleTransfer({ content, style: red, size: [12, 12], steps: 4, coarseSteps: 3 });
  assert.equal(tiny.coarseSteps, 0);
  tiny.image.dispose();
  await assert.rejects(style.styleTransfer({ content, style: red, size: 16, steps: 4, coarseSteps: 5 }), /coarseSteps must be an integer from 0 to steps \(4\)/);
  torch.dispose([content, red]);
});
