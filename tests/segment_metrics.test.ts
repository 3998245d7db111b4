// Segmentation metrics against torchvision's references/segmentation
// ConfusionMatrix (fixtures from scripts/fixtures/segmentation.py), the ignore
// index, the Trainer metric protocol, and bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { F } from "../src/index.js";
import { SegmentationMetric, confusionMatrix, segmentationScores } from "../src/vision/metrics/index.js";
import { assertClose, assertFlareError, loadFixture } from "./helpers.js";

const FX = loadFixture("segmentation");
const fx = (k: string) => FX.get(k)!;

test("confusionMatrix equals torchvision's ConfusionMatrix (255 ignored); scores equal its compute()", () => torch.tidy(() => {
  const m = confusionMatrix(fx("confmat/pred"), fx("confmat/target"), 5);
  assert.deepEqual(m.tolist(), fx("confmat/mat").tolist());
  const s = segmentationScores(m);
  assert.ok(Math.abs(s.pixelAccuracy - (fx("confmat/acc_global").item() as number)) < 1e-6);
  assertClose(torch.tensor(s.classAccuracy), fx("confmat/acc"), { atol: 1e-6, what: "class accuracy" });
  assertClose(torch.tensor(s.iou), fx("confmat/iu"), { atol: 1e-6, what: "iou" });
  // Class 4 is never predicted but is in the targets: its IoU is 0 and counts in the mean.
  assert.equal(s.iou[4], 0);
  assert.ok(Math.abs(s.meanIou - (fx("confmat/iu").mean().item() as number)) < 1e-6);
}));

test("SegmentationMetric sums batches; logits are argmaxed; compute gives pixel_acc and miou", () => torch.tidy(() => {
  const target = fx("confmat/target"), pred = fx("confmat/pred");
  const logits = F.oneHot(pred, 5).permute(0, 3, 1, 2).float();
  const metric = new SegmentationMetric(5, { perClass: true, classNames: ["bg", "a", "b", "c", "d"] });
  metric.update(logits.narrow(0, 0, 2), target.narrow(0, 0, 2));
  metric.update({ out: logits.narrow(0, 2, 1) }, target.narrow(0, 2, 1));
  assert.deepEqual(metric.matrix(), fx("confmat/mat").tolist());
  const c = metric.compute();
  assert.ok(Math.abs(c.miou - (fx("confmat/iu").mean().item() as number)) < 1e-6);
  assert.ok(Math.abs(c.pixel_acc - (fx("confmat/acc_global").item() as number)) < 1e-6);
  assert.equal(c.iou_d, 0);
  metric.reset();
  assert.ok(Number.isNaN(metric.compute().pixel_acc));
}));

test("perfect predictions: pixel_acc 1, miou 1; a class absent from target and prediction is left out of the mean", () => torch.tidy(() => {
  const y = torch.tensor([[[0, 1], [1, 255]]], { dtype: "int64" });
  const s = segmentationScores(confusionMatrix(y.clamp(0, 1), y, 3));
  assert.equal(s.pixelAccuracy, 1);
  assert.equal(s.meanIou, 1);
  assert.ok(Number.isNaN(s.iou[2]));
}));

test("bad input: wrong mask size, class ids out of range, wrong channels, unknown options", () => {
  torch.tidy(() => {
    const y = torch.zeros([1, 4, 4], { dtype: "int64" });
    assertFlareError(() => confusionMatrix(torch.zeros([1, 3, 4, 5]), y, 3), /mask must have the image's size/);
    assertFlareError(() => confusionMatrix(torch.zeros([1, 3, 4, 4]), y.add(7), 3), /class id 7, outside 0..2/);
    assertFlareError(() => confusionMatrix(torch.zeros([1, 3, 4, 4]), y.sub(1), 3), /class id -1/);
    assertFlareError(() => confusionMatrix(torch.zeros([1, 2, 4, 4]), y, 3), /2 channels for 3 classes/);
    assertFlareError(() => confusionMatrix(torch.zeros([1, 3, 4, 4]), y.float(), 3), /target must be N×H×W integer/);
    assertFlareError(() => confusionMatrix(torch.zeros([1, 3, 4, 4]), y, 3, { ignore: 255 } as never), /unknown option "ignore"/);
    assertFlareError(() => new SegmentationMetric(0), /numClasses/);
    assertFlareError(() => new SegmentationMetric(2, { classNames: ["a"] }), /classNames must be 2 strings/);
  });
});
