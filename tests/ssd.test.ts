// SSD against torchvision 0.14 (scripts/fixtures/ssd.py): DefaultBoxGenerator,
// SSDMatcher, compute_loss (hard negative mining 3:1) and postprocess_detections
// on the same seeded head outputs; then ssd-resnet18 end to end: losses in
// training, detections in each image's own pixels, bad input, a few steps.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { nn, optim } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { ops, models } from "../src/vision/index.js";
import { DefaultBoxGenerator, SSD, SSDMatcher, ssdResnet18 } from "../src/vision/models/detection/index.js";
import { assertClose, assertFlareError, fixtureGetter, loadFixture } from "./helpers.js";

const fx = fixtureGetter(loadFixture("ssd"));
const RATIOS = [[2], [2, 3], [2, 3], [2]];
const GRIDS: [number, number][] = [[8, 8], [4, 4], [2, 2], [1, 1]];

/** A stand-in backbone with four maps, so SSD's loss and postprocessing run on the fixture's head outputs. */
class FourMaps extends nn.Module {
  readonly outChannels = [8, 8, 8, 8];
  override forward(x: Tensor): Tensor[] { return GRIDS.map(([h]) => torch.zeros([x.shape[0], 8, h, h])); }
}

test("DefaultBoxGenerator equals torchvision's: with steps and clipping, and with scales from min/max ratio", () => torch.tidy(() => {
  const withSteps = new DefaultBoxGenerator(RATIOS, { steps: [8, 16, 32, 64], clip: true });
  assert.deepEqual(withSteps.numAnchorsPerLocation(), [4, 6, 6, 4]);
  assertClose(withSteps.forward([64, 64], GRIDS), fx("anchors"), { atol: 1e-4, what: "anchors" });
  const plain = new DefaultBoxGenerator(RATIOS, { minRatio: 0.2, maxRatio: 0.95, clip: false });
  assertClose(plain.forward([64, 64], GRIDS), fx("anchors_nosteps_noclip"), { atol: 1e-4, what: "anchors without steps" });
  assertFlareError(() => new DefaultBoxGenerator(RATIOS, { steps: [8, 16] }), /same length/);
  assertFlareError(() => new DefaultBoxGenerator(RATIOS, { scales: [0.1, 0.2] }), /one per feature map plus one/);
  assertFlareError(() => new DefaultBoxGenerator(RATIOS, { bogus: 1 } as never), /bogus/);
}));

test("SSDMatcher, compute_loss (hard negative mining 3:1) and postprocess_detections equal torchvision's", () => torch.tidy(() => {
  const anchors = fx("anchors");
  const matched = new SSDMatcher(0.5).forward(ops.boxIou(fx("boxes0"), anchors));
  assert.deepEqual(Array.from(matched.dataSync() as BigInt64Array, Number), Array.from(fx("matched0").dataSync() as BigInt64Array, Number));
  const model = new SSD(new FourMaps(), new DefaultBoxGenerator(RATIOS, { steps: [8, 16, 32, 64] }), 64, 4);
  const head = { cls_logits: fx("cls_logits"), bbox_regression: fx("bbox_regression") };
  const targets = [{ boxes: fx("boxes0"), labels: fx("labels0") }, { boxes: torch.zeros([0, 4]), labels: torch.zeros([0], { dtype: "int64" }) }];
  const losses = model.computeLoss(targets, head, anchors, [matched, torch.full([anchors.shape[0]], -1, { dtype: "int64" })]);
  assertClose(losses.bbox_regression.reshape(1), fx("loss/bbox_regression"), { rtol: 1e-5, what: "bbox_regression" });
  assertClose(losses.classification.reshape(1), fx("loss/classification"), { rtol: 1e-5, what: "classification" });
  const dets = model.postprocessDetections(head, anchors);
  dets.forEach((d, i) => {
    assertClose(d.boxes, fx(`det/${i}/boxes`), { atol: 1e-4, what: `image ${i} boxes` });
    assertClose(d.scores, fx(`det/${i}/scores`), { atol: 1e-6, what: `image ${i} scores` });
    assert.deepEqual(Array.from(d.labels.dataSync() as BigInt64Array, Number), Array.from(fx(`det/${i}/labels`).dataSync() as BigInt64Array, Number));
  });
  model.dispose();
}));

test("hard negative mining by hand: one positive mines the 3 negatives of highest loss, nothing else", () => torch.tidy(() => {
  const model = new SSD(new FourMaps(), new DefaultBoxGenerator(RATIOS), 64, 2);
  // 6 anchors, anchor 0 positive (class 1); background logits make the negatives' CE losses distinct.
  const anchors = torch.tensor([[0, 0, 10, 10], [0, 0, 20, 20], [10, 10, 30, 30], [30, 30, 50, 50], [40, 40, 60, 60], [5, 5, 15, 15]], { dtype: "float32" });
  const margins = [0, 3, -1, 2, -2, 1]; // logit(class 1) − logit(background): larger → larger background loss
  const cls = torch.tensor([margins.map((m) => [0, m])], { dtype: "float32" });
  const head = { cls_logits: cls, bbox_regression: torch.zeros([1, 6, 4]) };
  const targets = [{ boxes: torch.tensor([[0, 0, 10, 10]], { dtype: "float32" }), labels: torch.tensor([1], { dtype: "int64" }) }];
  const matched = torch.tensor([0, -1, -1, -1, -1, -1], { dtype: "int64" });
  const losses = model.computeLoss(targets, head, anchors, [matched]);
  const ce = (target: number, m: number) => Math.log(1 + Math.exp(target === 1 ? -m : m));
  // Positive: anchor 0 (target 1); the hardest negatives: margins 3, 2, 1 (anchors 1, 3, 5).
  const expected = ce(1, 0) + ce(0, 3) + ce(0, 2) + ce(0, 1);
  assert.ok(Math.abs(Number(losses.classification.item()) - expected) < 1e-5, `classification ${losses.classification.item()} vs ${expected}`);
  assert.equal(Number(losses.bbox_regression.item()), 0); // the anchor is its own box: zero codes
  model.dispose();
}));

test("ssd-resnet18: losses in training, detections in each image's own pixels, images of different sizes", () => {
  torch.manualSeed(0);
  const model = models.get("ssd-resnet18", { numClasses: 3, size: 64 }) as SSD;
  torch.tidy(() => {
    const images = [torch.rand([3, 64, 64]), torch.rand([3, 48, 80])];
    const targets = [
      { boxes: torch.tensor([[4, 4, 30, 40], [30, 10, 60, 50]], { dtype: "float32" }), labels: torch.tensor([1, 2], { dtype: "int64" }) },
      { boxes: torch.zeros([0, 4]), labels: torch.zeros([0], { dtype: "int64" }) }, // a negative image
    ];
    model.train();
    const losses = model.forward(images, targets) as Record<string, Tensor>;
    assert.deepEqual(Object.keys(losses).sort(), ["bbox_regression", "classification"]);
    for (const v of Object.values(losses)) assert.ok(Number.isFinite(Number(v.item())) && Number(v.item()) >= 0);
    model.eval();
    const dets = torch.noGrad(() => model.forward(images)) as { boxes: Tensor; scores: Tensor; labels: Tensor }[];
    assert.equal(dets.length, 2);
    dets.forEach((d, i) => {
      const [h, w] = [images[i].shape[1], images[i].shape[2]];
      assert.equal(d.boxes.shape[1], 4);
      assert.ok(d.boxes.shape[0] <= 200);
      if (d.boxes.shape[0] > 0) {
        assert.ok(Number(d.boxes.select(1, 2).max().item()) <= w + 1e-3 && Number(d.boxes.select(1, 3).max().item()) <= h + 1e-3, "boxes lie in the image");
        assert.ok(Number(d.labels.min().item()) >= 1 && Number(d.labels.max().item()) <= 2, "labels are object classes 1..2");
      }
    });
    const sd = model.stateDict();
    for (const key of ["backbone.body.layer2.0.conv1.weight", "backbone.extra.0.0.weight", "head.classification_head.module_list.4.weight", "head.regression_head.module_list.0.bias"])
      assert.ok(sd.has(key), `state dict has ${key}`);
    assert.equal(sd.get("head.classification_head.module_list.0.weight")!.shape[0], 4 * 3);
  });
  model.dispose();
});

test("ssd-resnet18 rejects bad input with FlareErrors", () => {
  const model = ssdResnet18({ numClasses: 3, size: 32 });
  model.train();
  torch.tidy(() => {
    const image = [torch.rand([3, 32, 32])];
    const t = (boxes: number[][], labels: number[]) => [{ boxes: torch.tensor(boxes, { dtype: "float32" }), labels: torch.tensor(labels, { dtype: "int64" }) }];
    assertFlareError(() => model.forward(image, t([[5, 5, 5, 20]], [1])), /positive height and width.*\[5, 5, 5, 20\].*index 0/);
    assertFlareError(() => model.forward(image, t([[5, 5, 10, 20]], [3])), /holds 3, outside 1\.\.2/);
    assertFlareError(() => model.forward(image, t([[5, 5, 10, 20]], [0])), /holds 0, outside 1\.\.2/);
    assertFlareError(() => model.forward(image), /targets should not be none/);
    assertFlareError(() => model.forward([torch.rand([1, 32, 32])], t([[5, 5, 10, 20]], [1])), /images\[0\] must be a \[3, H, W\]/);
    assertFlareError(() => model.forward([torch.zeros([3, 8, 8], { dtype: "uint8" })], t([[1, 1, 4, 4]], [1])), /must be float/);
    assertFlareError(() => model.forward(image, [...t([[5, 5, 10, 20]], [1]), ...t([[5, 5, 10, 20]], [1])]), /1 images but 2 targets/);
  });
  assertFlareError(() => ssdResnet18({ numClasses: 1 }), /numClasses must be an integer ≥ 2/);
  assertFlareError(() => ssdResnet18(undefined as never), /numClasses must be an integer ≥ 2/);
  assertFlareError(() => ssdResnet18({ numClasses: 3, imageMean: [0.5, 0.5] }), /SSD\(\): imageMean must be three finite numbers/);
  assertFlareError(() => ssdResnet18({ numClasses: 3, imageStd: [0.2, 0, 0.2] }), /SSD\(\): imageStd must be three finite numbers .*none 0/);
  assertFlareError(() => ssdResnet18({ numClasses: 3, bogus: 1 } as never), /bogus/);
  model.dispose();
});

test("ssd-resnet18: a few SGD steps on one batch lower its loss", () => {
  torch.manualSeed(1);
  const model = ssdResnet18({ numClasses: 2, size: 64 });
  model.train();
  const opt = new optim.SGD(model.parameters(), { lr: 0.002, momentum: 0.9 });
  const images = [torch.rand([3, 64, 64]), torch.rand([3, 64, 64])];
  const targets = [{ boxes: torch.tensor([[8, 8, 40, 40]], { dtype: "float32" }), labels: torch.tensor([1], { dtype: "int64" }) },
    { boxes: torch.tensor([[20, 10, 60, 30]], { dtype: "float32" }), labels: torch.tensor([1], { dtype: "int64" }) }];
  const losses: number[] = [];
  for (let i = 0; i < 6; i++) {
    torch.tidy(() => {
      const parts = model.forward(images, targets) as Record<string, Tensor>;
      const loss = parts.bbox_regression.add(parts.classification);
      losses.push(Number(loss.item()));
      opt.zeroGrad(); loss.backward(); opt.step();
    });
  }
  assert.ok(losses[5] < losses[0], `the loss falls: ${losses.map((l) => l.toFixed(3))}`);
  torch.dispose([...images, ...targets.flatMap((t) => [t.boxes, t.labels])]);
  opt.dispose();
  model.dispose();
});
