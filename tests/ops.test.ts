// flare/vision ops against torchvision.ops (golden fixtures from scripts/fixtures/ops.py):
// box formats, areas, IoU, clipping, and nms / batchedNms on the native kernel.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { ops } from "../src/vision/index.js";
import { assertClose, assertFlareError, loadFixture } from "./helpers.js";

const fixture = loadFixture("ops");
const get = (key: string) => fixture.get(key)!;
const THRESHOLDS = [0.3, 0.5, 0.7];

for (const n of [0, 1, 7, 60, 300]) {
  test(`nms and batchedNms on ${n} random boxes keep torchvision's indices`, () => torch.tidy(() => {
    const boxes = get(`n${n}.boxes`), scores = get(`n${n}.scores`), idxs = get(`n${n}.idxs`);
    for (const t of THRESHOLDS) {
      assert.deepEqual(ops.nms(boxes, scores, t).tolist(), get(`n${n}.nms${t}`).tolist(), `nms at ${t}`);
      assert.deepEqual(ops.batchedNms(boxes, scores, idxs, t).tolist(), get(`n${n}.batched${t}`).tolist(), `batchedNms at ${t}`);
    }
  }));

  test(`boxIou, boxArea and boxConvert on ${n} boxes equal torchvision's`, () => torch.tidy(() => {
    const boxes = get(`n${n}.boxes`);
    assertClose(ops.boxIou(boxes, get(`n${n}.iou_other`)), get(`n${n}.iou`), { what: "boxIou" });
    assertClose(ops.boxArea(boxes), get(`n${n}.area`), { what: "boxArea" });
    for (const fmt of ["xywh", "cxcywh"] as const) {
      const converted = ops.boxConvert(boxes, "xyxy", fmt);
      assertClose(converted, get(`n${n}.to_${fmt}`), { what: fmt });
      assertClose(ops.boxConvert(converted, fmt, "xyxy"), boxes, { atol: 1e-4, what: `${fmt} back` });
    }
  }));
}

// Ties in score (kept in index order), duplicate boxes (IoU 1), float64, and
// thousands of boxes (batchedNms's per-category path, ties included).
for (const name of ["ties", "dups", "f64", "many", "manyties"]) {
  test(`nms and batchedNms on the '${name}' set keep torchvision's indices, in its order`, () => torch.tidy(() => {
    const boxes = get(`${name}.boxes`), scores = get(`${name}.scores`), idxs = get(`${name}.idxs`);
    for (const t of THRESHOLDS) {
      assert.deepEqual(ops.nms(boxes, scores, t).tolist(), get(`${name}.nms${t}`).tolist(), `nms at ${t}`);
      assert.deepEqual(ops.batchedNms(boxes, scores, idxs, t).tolist(), get(`${name}.batched${t}`).tolist(), `batchedNms at ${t}`);
    }
  }));
}

test("boxIou's fused kernel and its autograd op sequence both give torchvision's bits", () => torch.tidy(() => {
  for (const n of [7, 60, 300]) {
    const boxes = get(`n${n}.boxes`), other = get(`n${n}.iou_other`), expected = get(`n${n}.iou`);
    assert.ok(ops.boxIou(boxes, other).eq(expected).all().item(), `kernel, ${n} boxes`);
    const tracked = ops.boxIou(boxes.clone().requiresGrad_(), other);
    assert.equal(tracked.requiresGrad, true);
    assert.ok(tracked.detach().eq(expected).all().item(), `op sequence, ${n} boxes`);
  }
  // float64 and integer boxes, and NaN (propagated, as torchvision's).
  const boxes = get("n60.boxes"), other = get("n60.iou_other");
  assertClose(ops.boxIou(boxes.to("float64"), other.to("float64")), get("n60.iou").to("float64"), { what: "float64" });
  assertClose(ops.boxIou(torch.tensor([[0, 0, 2, 2]], { dtype: "int64" }), torch.tensor([[1, 1, 3, 3]], { dtype: "int64" })), torch.tensor([[1 / 7]]));
  const withNaN = ops.boxIou(torch.tensor([[0, 0, NaN, 2], [0, 0, 1, 1]]), torch.tensor([[0, 0, 1, 1]]));
  assert.deepEqual(withNaN.tolist(), [[NaN], [1]]);
}));

test("d2l's worked IoU and NMS example", () => torch.tidy(() => {
  // d2l 14.4: two boxes overlapping by a quarter of their union.
  assertClose(ops.boxIou(torch.tensor([[0, 0, 2, 2]]), torch.tensor([[1, 1, 3, 3]])), torch.tensor([[1 / 7]]));
  const boxes = torch.tensor([[0.1, 0.08, 0.52, 0.92], [0.08, 0.2, 0.56, 0.95], [0.15, 0.3, 0.62, 0.91], [0.55, 0.2, 0.9, 0.88]]);
  const scores = torch.tensor([0.9, 0.8, 0.7, 0.9]);
  assert.deepEqual(ops.nms(boxes, scores, 0.5).tolist(), [0, 3]);
}));

test("nms suppresses only IoU strictly above the threshold; equal scores keep index order", () => torch.tidy(() => {
  // IoU of the two boxes is exactly 0.5: kept at 0.5, suppressed below it.
  const boxes = torch.tensor([[0, 0, 2, 1], [0, 0, 1, 1], [10, 10, 11, 11]]);
  const scores = torch.tensor([0.5, 0.5, 0.5]);
  assert.deepEqual(ops.nms(boxes, scores, 0.5).tolist(), [0, 1, 2]);
  assert.deepEqual(ops.nms(boxes, scores, 0.49).tolist(), [0, 2]);
  // Reversed scores: now box 1 leads and suppresses box 0.
  assert.deepEqual(ops.nms(boxes, torch.tensor([0.1, 0.9, 0.5]), 0.49).tolist(), [1, 2]);
  // Infinite scores sort like any other; boxes in other categories never suppress each other.
  assert.deepEqual(ops.nms(boxes, torch.tensor([-Infinity, Infinity, 0]), 0.49).tolist(), [1, 2]);
  assert.deepEqual(ops.batchedNms(boxes, scores, torch.tensor([0, 1, 0], { dtype: "int64" }), 0.49).tolist(), [0, 1, 2]);
  // torchvision compares the float IoU with the threshold as a double: 3/10 in
  // float32 is 0.300000012 > 0.3 (suppressed), 7/10 is 0.699999988 < 0.7 (kept);
  // in float64 3/10 is exactly 0.3 (kept). Checked against torchvision 0.14.
  const wide = [0, 0, 10, 1], first = torch.tensor([1, 0.5]);
  assert.deepEqual(ops.nms(torch.tensor([wide, [0, 0, 3, 1]]), first, 0.3).tolist(), [0]);
  assert.deepEqual(ops.nms(torch.tensor([wide, [0, 0, 7, 1]]), first, 0.7).tolist(), [0, 1]);
  assert.deepEqual(ops.nms(torch.tensor([wide, [0, 0, 3, 1]], { dtype: "float64" }), first.to("float64"), 0.3).tolist(), [0, 1]);
  assert.equal(ops.nms(torch.zeros([0, 4]), torch.zeros([0]), 0.5).dtype, "int64");
  assert.deepEqual(ops.batchedNms(torch.zeros([0, 4]), torch.zeros([0]), torch.zeros([0], { dtype: "int64" }), 0.5).shape, [0]);
}));

test("batchedNms gives the same kept set on both of torchvision's paths", () => torch.tidy(() => {
  // The 'many' set runs the per-category kernel; the same boxes in chunks of
  // 1,000 run the coordinate trick. Each chunk's answer must agree with a
  // per-category nms done by hand.
  const boxes = get("many.boxes").index(":1000"), scores = get("many.scores").index(":1000"), idxs = get("many.idxs").index(":1000");
  const trick = ops.batchedNms(boxes, scores, idxs, 0.5).tolist() as number[];
  const byHand: number[] = [];
  for (let c = 0; c < 10; c++) {
    const members = idxs.eq(c).nonzero().select(1, 0);
    const kept = ops.nms(boxes.indexSelect(0, members), scores.indexSelect(0, members), 0.5);
    byHand.push(...(members.indexSelect(0, kept).tolist() as number[]));
  }
  assert.deepEqual([...trick].sort((a, b) => a - b), byHand.sort((a, b) => a - b));
}));

test("nms frees what it makes", () => {
  const boxes = get("n300.boxes"), scores = get("n300.scores"), idxs = get("n300.idxs");
  ops.nms(boxes, scores, 0.5).dispose();
  ops.batchedNms(boxes, scores, idxs, 0.5).dispose();
  const before = torch.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    ops.nms(boxes, scores, 0.5).dispose();
    ops.batchedNms(boxes, scores, idxs, 0.5).dispose();
    ops.batchedNms(get("many.boxes"), get("many.scores"), get("many.idxs"), 0.5).dispose();
  }
  assert.equal(torch.memory().numTensors, before);
});

test("nms and batchedNms reject bad input with a FlareError", () => torch.tidy(() => {
  const boxes = torch.tensor([[0, 0, 1, 1], [0, 0, 2, 2]]), scores = torch.tensor([0.2, 0.1]);
  assertFlareError(() => ops.nms(torch.zeros([3, 5]), torch.zeros([3]), 0.5), /^nms\(\): boxes must have shape \[N, 4\], got \[3, 5\]$/, "E_SHAPE");
  assertFlareError(() => ops.nms(torch.zeros([3, 4]), torch.zeros([2]), 0.5), /^nms\(\): scores must have shape \[3\], got \[2\]$/, "E_SHAPE");
  assertFlareError(() => ops.nms(boxes, torch.tensor([0.2, NaN]), 0.5), /^nms\(\): scores contain NaN$/, "E_ARGUMENT");
  assertFlareError(() => ops.nms(torch.tensor([[0, 0, 1, NaN], [0, 0, 2, 2]]), scores, 0.5), /^nms\(\): boxes contain NaN or infinite coordinates$/, "E_ARGUMENT");
  assertFlareError(() => ops.nms(boxes, scores.to("float64"), 0.5), /^nms\(\): scores must have the dtype of boxes \(float32\), got float64$/, "E_DTYPE");
  assertFlareError(() => ops.nms(boxes.to("int64"), scores.to("int64"), 0.5), /^nms\(\): boxes must be float32 or float64, got int64$/, "E_DTYPE");
  assertFlareError(() => ops.nms(boxes, scores, NaN), /^nms\(\): iouThreshold must be a number, got number NaN$/, "E_ARGUMENT");
  assertFlareError(() => ops.nms(boxes, [0.2, 0.1] as never, 0.5), /^nms\(\): scores must be a Tensor, got an array of 2$/, "E_ARGUMENT");
  const idxs = torch.tensor([0, 1], { dtype: "int64" });
  assertFlareError(() => ops.batchedNms(boxes, scores, idxs.to("float32"), 0.5), /^batchedNms\(\): idxs must be an integer tensor, got float32$/, "E_DTYPE");
  assertFlareError(() => ops.batchedNms(boxes, scores, torch.zeros([3], { dtype: "int64" }), 0.5), /^batchedNms\(\): idxs must have shape \[2\], got \[3\]$/, "E_SHAPE");
  assertFlareError(() => ops.batchedNms(boxes, torch.tensor([NaN, 0]), idxs, 0.5), /^batchedNms\(\): scores contain NaN$/, "E_ARGUMENT");
  // The per-category kernel (over 1,000 boxes) checks the same things.
  const many = torch.rand([1200, 4]).cumsum(1), manyIdx = torch.zeros([1200], { dtype: "int64" });
  assertFlareError(() => ops.batchedNms(many, torch.full([1200], NaN), manyIdx, 0.5), /^batchedNms\(\): scores contain NaN$/, "E_ARGUMENT");
  assertFlareError(() => ops.batchedNms(many, torch.zeros([1200], { dtype: "float64" }), manyIdx, 0.5), /^batchedNms\(\): scores must have the dtype of boxes/, "E_DTYPE");
}));

test("box ops reject bad shapes and formats", () => torch.tidy(() => {
  assertFlareError(() => ops.boxIou(torch.zeros([3, 5]), torch.zeros([1, 4])), /^boxIou\(\): boxes1 must have shape \[N, 4\], got \[3, 5\]$/, "E_SHAPE");
  assertFlareError(() => ops.boxArea(torch.zeros([3, 4], { dtype: "bool" })), /^boxArea\(\): boxes must be numeric, got bool$/, "E_DTYPE");
  assertFlareError(() => ops.boxConvert(torch.zeros([1, 4]), "xyxy", "yxyx" as never), /^boxConvert\(\): outFmt must be "xyxy", "xywh" or "cxcywh", got string yxyx$/, "E_ARGUMENT");
  assertFlareError(() => ops.clipBoxesToImage(torch.zeros([1, 4]), [10] as never), /^clipBoxesToImage\(\): size must be \[height, width\]/, "E_ARGUMENT");
}));

test("boxConvert works on [..., 4] and copies when the formats are equal", () => torch.tidy(() => {
  const boxes = get("n7.boxes");
  const batched = ops.boxConvert(boxes.reshape([1, 7, 4]), "xyxy", "cxcywh");
  assertClose(batched.reshape([7, 4]), get("n7.to_cxcywh"));
  const same = ops.boxConvert(boxes, "xyxy", "xyxy");
  assert.notEqual(same, boxes);
  assertClose(same, boxes);
}));

test("clipBoxesToImage, removeSmallBoxes and masksToBoxes equal torchvision's", () => torch.tidy(() => {
  const boxes = get("clip.boxes");
  assertClose(ops.clipBoxesToImage(boxes, [30, 40]), get("clip.out"));
  assert.deepEqual(ops.removeSmallBoxes(boxes, 20).tolist(), get("small.out").tolist());
  assertClose(ops.masksToBoxes(get("masks.masks")), get("masks.out"));
  assert.deepEqual(ops.masksToBoxes(torch.zeros([0, 5, 5])).shape, [0, 4]);
  const masks = torch.zeros([2, 4, 4], { dtype: "uint8" });
  masks.indexPut_([0, 1, 1], 1);
  assertFlareError(() => ops.masksToBoxes(masks), /^masksToBoxes\(\): mask 1 of 2 is empty/, "E_ARGUMENT");
  assertFlareError(() => ops.masksToBoxes(torch.zeros([4, 4])), /^masksToBoxes\(\): masks must have shape \[N, H, W\], got \[4, 4\]$/, "E_SHAPE");
}));
