// TinySSD as the book builds it (d2l 14.7): its printed shapes and parameter
// count; parity with the book's PyTorch TinySSD on seeded weights (its state dict
// loads as it is; outputs, BN statistics, the loss, the two measures and
// gradients to 1e-5; fixtures from scripts/fixtures/tiny_ssd.py); and a few SGD
// steps with the book's recipe on generated bananas lower the loss.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { optim } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { ops, models, datasets } from "../src/vision/index.js";
import { makeBananas } from "../src/vision/datasets/generators/bananas.js";
import { assertClose, assertFlareError, fixtureGetter, loadFixture } from "./helpers.js";

const { TinySSD, tinySsd, calcLoss, clsEval, bboxEval, concatPreds, clsPredictor, downSampleBlk, baseNet } = models.detection;

const FX = loadFixture("tiny_ssd");
const fx = fixtureGetter(FX);

test("the book's shapes: blocks, concatenated predictions, TinySSD on 256×256 images", () => torch.tidy(() => {
  torch.noGrad(() => {
    const y1 = clsPredictor(8, 5, 10).forward(torch.zeros([2, 8, 20, 20])) as Tensor;
    const y2 = clsPredictor(16, 3, 10).forward(torch.zeros([2, 16, 10, 10])) as Tensor;
    assert.deepEqual([y1.shape, y2.shape], [[2, 55, 20, 20], [2, 33, 10, 10]]);
    assert.deepEqual(concatPreds([y1, y2]).shape, [2, 25300]);
    assert.deepEqual((downSampleBlk(3, 10).forward(torch.zeros([2, 3, 20, 20])) as Tensor).shape, [2, 10, 10, 10]);
    assert.deepEqual((baseNet().forward(torch.zeros([2, 3, 256, 256])) as Tensor).shape, [2, 64, 32, 32]);
    const net = tinySsd({ numClasses: 1 });
    // The book prints [1, 5444, 4], [32, 5444, 2], [32, 21776] for a batch of 32;
    // 2 images keep the test fast (the batch dimension only passes through).
    const [anchors, cls, bbox] = net.forward(torch.zeros([2, 3, 256, 256]));
    assert.deepEqual(anchors.shape, [1, 5444, 4]);
    assert.deepEqual(cls.shape, [2, 5444, 2]);
    assert.deepEqual(bbox.shape, [2, 21776]);
    let count = 0;
    for (const p of net.parameters()) count += p.numel();
    assert.equal(count, 1010376);
  });
}));

test("a PyTorch TinySSD state dict loads: same keys, in the same order, and shapes", () => torch.tidy(() => {
  const state = loadFixture("tiny_ssd_state_dict");
  const net = new TinySSD(2);
  const ours = net.stateDict();
  assert.deepEqual([...ours.keys()], [...state.keys()]);
  for (const [key, t] of ours) assert.deepEqual(t.shape, state.get(key)!.shape, key);
  assert.deepEqual(net.loadStateDict(state), { missingKeys: [], unexpectedKeys: [] });
  assertFlareError(() => new TinySSD(1).loadStateDict(state), /size mismatch for cls_0.weight/, "E_SHAPE");
}));

function loaded(): InstanceType<typeof TinySSD> {
  const net = new TinySSD(2);
  net.loadStateDict(loadFixture("tiny_ssd_state_dict"));
  return net;
}

const TOL = { rtol: 1e-5, atol: 1e-5 };

test("TinySSD equals the book's PyTorch TinySSD in eval mode", () => torch.tidy(() => {
  const net = loaded();
  net.eval();
  const [anchors, cls, bbox] = torch.noGrad(() => net.forward(fx("input")));
  assert.deepEqual([anchors.shape, cls.shape, bbox.shape], [[1, 344, 4], [2, 344, 3], [2, 1376]]);
  assertClose(anchors, fx("eval/anchors"), { ...TOL, what: "anchors" });
  assertClose(cls, fx("eval/cls"), { ...TOL, what: "class predictions" });
  assertClose(bbox, fx("eval/bbox"), { ...TOL, what: "box predictions" });
}));

test("TinySSD in train mode: outputs, BN statistics, the book's loss, measures and gradients equal PyTorch's", () => torch.tidy(() => {
  const net = loaded();
  net.train();
  const [anchors, cls, bbox] = net.forward(fx("input"));
  assertClose(anchors, fx("train/anchors"), { ...TOL, what: "anchors" });
  assertClose(cls, fx("train/cls"), { ...TOL, what: "class predictions" });
  assertClose(bbox, fx("train/bbox"), { ...TOL, what: "box predictions" });
  const sd = net.stateDict();
  for (const key of ["blk_0.0.1.running_mean", "blk_0.0.1.running_var", "blk_3.4.running_var", "blk_3.4.num_batches_tracked"])
    assertClose(sd.get(key)!, fx(`train/after/${key}`), { ...TOL, what: key });
  const [bboxLabels, bboxMasks, clsLabels] = ops.multiboxTarget(anchors, fx("labels"));
  const loss = calcLoss(cls, clsLabels, bbox, bboxLabels, bboxMasks);
  assertClose(loss, fx("loss"), { ...TOL, what: "calcLoss" });
  assert.equal(clsEval(cls, clsLabels), fx("cls_eval").item());
  const be = bboxEval(bbox, bboxLabels, bboxMasks), expected = fx("bbox_eval").item() as number;
  assert.ok(Math.abs(be - expected) <= 1e-5 * Math.abs(expected), `bboxEval ${be} vs ${expected}`);
  loss.mean().backward();
  const params = new Map(net.namedParameters());
  for (const key of ["blk_0.0.0.weight", "blk_2.1.weight", "cls_0.weight", "cls_4.bias", "bbox_1.weight", "bbox_0.bias"])
    assertClose(params.get(key)!.grad!, fx(`grad/${key}`), { rtol: 1e-4, atol: 1e-6, what: `grad ${key}` });
}));

test("TinySSD and its loss reject bad input", () => torch.tidy(() => {
  assertFlareError(() => tinySsd({ numClasses: 0 }), /numClasses must be a positive integer/);
  assertFlareError(() => tinySsd({ numClasses: 1, classes: 2 } as never), /unknown option "classes"/);
  const net = new TinySSD(1);
  assertFlareError(() => net.forward(torch.zeros([2, 1, 64, 64])), /x must be a \[batch, 3, height, width\] image tensor, got \[2, 1, 64, 64\]/, "E_SHAPE");
  assertFlareError(() => calcLoss(torch.zeros([2, 10, 2]), torch.zeros([2, 9], { dtype: "int64" }), torch.zeros([2, 40]), torch.zeros([2, 40]), torch.zeros([2, 40])),
    /clsLabels must have shape \[2, 10\]/, "E_SHAPE");
  assertFlareError(() => calcLoss(torch.zeros([2, 10, 2]), torch.zeros([2, 10], { dtype: "int64" }), torch.zeros([2, 36]), torch.zeros([2, 36]), torch.zeros([2, 36])),
    /bboxPreds must have shape \[2, 40\]/, "E_SHAPE");
  // A label outside the classes: class 2 of a one-class model (background 0, banana 1).
  assertFlareError(() => calcLoss(torch.zeros([1, 10, 2]), torch.full([1, 10], 2, { dtype: "int64" }), torch.zeros([1, 40]), torch.zeros([1, 40]), torch.zeros([1, 40])),
    /clsLabels holds a class outside 0\.\.1/);
  assertFlareError(() => calcLoss(torch.zeros([1, 10, 2]), torch.zeros([1, 10]), torch.zeros([1, 40]), torch.zeros([1, 40]), torch.zeros([1, 40])),
    /clsLabels must be int64/, "E_DTYPE");
}));

test("a few SGD steps with the book's recipe on generated bananas lower the loss", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-tiny-ssd-"));
  try {
    const manifest = await makeBananas({ out: dir, count: 8, valCount: 1, seed: 3, size: 64 });
    const data = new datasets.BananaDetection({ root: path.join(dir, manifest.paths.banana!), normalize: true });
    const samples = await Promise.all(Array.from({ length: data.length }, (_, i) => data.get(i)));
    // The book feeds float images in 0..255 and labels [B, 1, 5].
    const X = torch.stack(samples.map(([image]) => image)).to("float32");
    const Y = torch.stack(samples.map(([, label]) => label));
    torch.dispose(samples);
    assert.deepEqual([X.shape, Y.shape], [[8, 3, 64, 64], [8, 1, 5]]);
    torch.manualSeed(0);
    const net = tinySsd({ numClasses: 1 });
    const trainer = new optim.SGD(net.parameters(), { lr: 0.2, weightDecay: 5e-4 });
    const losses: number[] = [];
    for (let step = 0; step < 8; step++) {
      torch.tidy(() => {
        const [anchors, clsPreds, bboxPreds] = net.forward(X);
        const [bboxLabels, bboxMasks, clsLabels] = ops.multiboxTarget(anchors, Y);
        const l = calcLoss(clsPreds, clsLabels, bboxPreds, bboxLabels, bboxMasks).mean();
        trainer.zeroGrad();
        l.backward();
        trainer.step();
        losses.push(l.item() as number);
      });
    }
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    assert.ok(losses[losses.length - 1] < 0.5 * losses[0], `loss ${losses[0]} → ${losses[losses.length - 1]} (${losses.map((l) => l.toFixed(3)).join(", ")})`);
    torch.dispose([X, Y]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("models.get(\"tiny-ssd\"): registered for detection, numClasses read from a weights file", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-tiny-ssd-"));
  const file = path.join(dir, "two.safetensors");
  assert.ok(models.list({ task: "detection" }).includes("tiny-ssd"));
  const two = models.get("tiny-ssd", { numClasses: 2 });
  torch.tidy(() => torch.save(two.stateDict(), file));
  const loaded = models.get("tiny-ssd", { weights: file });
  assert.deepEqual(loaded.stateDict().get("cls_0.weight")!.shape, [12, 64, 3, 3]);
  assert.deepEqual(models.getPreset("tiny-ssd").std.map((s) => Math.round(1 / s)), [255, 255, 255]);
  assert.throws(() => models.get("tiny-ssd", { numClasess: 2 }), /unknown option "numClasess"/);
  two.dispose(); loaded.dispose();
});
