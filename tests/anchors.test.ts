// The book's anchor functions (d2l 14.4): its worked examples, numbers to 1e-5
// (shared/reference/d2l-reference.md § 5), and golden fixtures from a Python port
// of its code on random inputs (scripts/fixtures/anchors.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { ops } from "../src/vision/index.js";
import { assertClose, assertFlareError, fixtureGetter, loadFixture, settledTensors } from "./helpers.js";

const fixture = loadFixture("anchors");
const fx = fixtureGetter(fixture);
const close = (a: Tensor, e: Tensor | number[] | number[][] | number[][][], what: string, atol = 1e-5) =>
  assertClose(a, e instanceof torch.Tensor ? e : torch.tensor(e), { rtol: 0, atol, what });

test("multiboxPrior: the book's anchors of the 561×728 catdog image", () => torch.tidy(() => {
  const Y = ops.multiboxPrior(torch.zeros([1, 3, 561, 728]), [0.75, 0.5, 0.25], [1, 2, 0.5]);
  assert.deepEqual(Y.shape, [1, 2042040, 4]);
  assert.equal(Y.dtype, "float32");
  const boxes = Y.reshape(561, 728, 5, 4);
  close(boxes.index(250, 250), [
    [0.055117, 0.071524, 0.633070, 0.821524],
    [0.151442, 0.196524, 0.536744, 0.696524],
    [0.247768, 0.321524, 0.440419, 0.571524],
    [-0.064581, 0.181359, 0.752768, 0.711689],
    [0.139756, -0.083806, 0.548431, 0.976854],
  ], "anchors at pixel (250, 250)");
  close(boxes.index(0, 0, 0), [-0.288290, -0.374109, 0.289663, 0.375891], "pixel (0, 0) anchor 0");
}));

test("multiboxPrior: TinySSD's first anchors of a scale (d2l 14.7)", () => torch.tidy(() => {
  close(ops.multiboxPrior(torch.zeros([1, 128, 1, 1]), [0.88, 0.961], [1, 2, 0.5]).squeeze(0), [
    [0.06, 0.06, 0.94, 0.94], [0.0195, 0.0195, 0.9805, 0.9805],
    [-0.122254, 0.188873, 1.122254, 0.811127], [0.188873, -0.122254, 0.811127, 1.122254],
  ], "1×1 scale");
  close(ops.multiboxPrior(torch.zeros([1, 64, 32, 32]), [0.2, 0.272], [1, 2, 0.5]).index(0, "0:2"),
    [[-0.084375, -0.084375, 0.115625, 0.115625], [-0.120375, -0.120375, 0.151625, 0.151625]], "32×32 scale");
}));

test("multiboxPrior equals the book's code on random shapes", () => torch.tidy(() => {
  const cases: [string, number[], number[], number[]][] = [
    ["a", [1, 8, 5, 7], [0.3, 0.6], [1, 2, 0.5]],
    ["b", [2, 3, 4, 4], [0.2], [1, 3]],
    ["c", [1, 1, 3, 9], [0.75, 0.5, 0.25], [1, 2, 0.5, 1.5]],
    ["d", [1, 4, 1, 1], [0.88, 0.961], [1, 2, 0.5]],
  ];
  for (const [name, shape, sizes, ratios] of cases)
    assertClose(ops.multiboxPrior(torch.zeros(shape), sizes, ratios), fx(`prior.${name}`), { rtol: 0, atol: 1e-6, what: `prior ${name}` });
}));

const BOOK_GT = [[0, 0.1, 0.08, 0.52, 0.92], [1, 0.55, 0.2, 0.9, 0.88]];
const BOOK_ANCHORS = [[0, 0.1, 0.2, 0.3], [0.15, 0.2, 0.4, 0.4], [0.63, 0.05, 0.88, 0.98], [0.66, 0.45, 0.8, 0.8], [0.57, 0.3, 0.92, 0.9]];

test("assignAnchorToBbox: the book's dog and cat (greedy A4→cat, A1→dog below 0.5, A2→cat by threshold)", () => torch.tidy(() => {
  const gt = torch.tensor(BOOK_GT).narrow(1, 1, 4), anchors = torch.tensor(BOOK_ANCHORS);
  assert.deepEqual(ops.assignAnchorToBbox(gt, anchors).tolist(), [-1, 0, 1, -1, 1]);
  assert.deepEqual(ops.assignAnchorToBbox(gt, anchors, "cpu", 0.2).tolist(), [-1, 0, 1, 1, 1]);
  assert.deepEqual(ops.assignAnchorToBbox(gt, anchors, null, { iouThreshold: 0.9 }).tolist(), [-1, 0, -1, -1, 1]);
  assert.equal(ops.assignAnchorToBbox(gt, anchors).dtype, "int64");
  // No box: every anchor is background. More boxes than anchors (undefined in the book): the boxes left over assign nothing.
  assert.deepEqual(ops.assignAnchorToBbox(torch.zeros([0, 4]), anchors).tolist(), [-1, -1, -1, -1, -1]);
  assert.deepEqual(ops.assignAnchorToBbox(gt, anchors.narrow(0, 4, 1)).tolist(), [1]);
}));

test("multiboxTarget: the book's example (offsets, mask, class labels)", () => torch.tidy(() => {
  const [offset, mask, cls] = ops.multiboxTarget(torch.tensor(BOOK_ANCHORS).unsqueeze(0), torch.tensor(BOOK_GT).unsqueeze(0));
  assert.deepEqual(cls.tolist(), [[0, 1, 2, 0, 2]]);
  assert.equal(cls.dtype, "int64");
  assert.deepEqual(mask.tolist(), [[0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1]]);
  close(offset, [[0, 0, 0, 0, 1.400000, 9.999999, 2.593971, 7.175424, -1.199999, 0.2688176, 1.682364, -1.565452,
    0, 0, 0, 0, -0.571428, -1.000000, 4.172324e-6, 0.6258205]], "bbox offsets");
  // Negative anchors print as -0.00 in the book: the raw offset (negative) times 0.
  assert.ok(Object.is(offset.index(0, 0).item(), -0), "background offsets are -0");
}));

test("multiboxDetection: the book's example (4 anchors, dog and cat)", () => torch.tidy(() => {
  const anchors = torch.tensor([[0.1, 0.08, 0.52, 0.92], [0.08, 0.2, 0.56, 0.95], [0.15, 0.3, 0.62, 0.91], [0.55, 0.2, 0.9, 0.88]]);
  const clsProbs = torch.tensor([[0, 0, 0, 0], [0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.9]]);
  const out = ops.multiboxDetection(clsProbs.unsqueeze(0), torch.zeros([1, 16]), anchors.unsqueeze(0), { nmsThreshold: 0.5 });
  assert.deepEqual(out.shape, [1, 4, 6]);
  close(out, [[
    [0, 0.9, 0.1, 0.08, 0.52, 0.92],
    [1, 0.9, 0.55, 0.2, 0.9, 0.88],
    [-1, 0.8, 0.08, 0.2, 0.56, 0.95],
    [-1, 0.7, 0.15, 0.3, 0.62, 0.91],
  ]], "detections");
}));

test("offsetBoxes / offsetInverse: the book's formulas, and inverse of each other up to eps", () => torch.tidy(() => {
  const anchors = torch.tensor([[0.1, 0.2, 0.5, 0.6]]), box = torch.tensor([[0.2, 0.1, 0.4, 0.9]]);
  // centres (0.3, 0.4) vs (0.3, 0.5); sizes 0.4×0.4 vs 0.2×0.8
  close(ops.offsetBoxes(anchors, box), [[0, 10 * 0.1 / 0.4, 5 * Math.log(1e-6 + 0.5), 5 * Math.log(1e-6 + 2)]], "offsets");
  close(ops.offsetBoxes(anchors, box, 0), [[0, 2.5, 5 * Math.log(0.5), 5 * Math.log(2)]], "offsets, eps 0");
  close(ops.offsetInverse(anchors, ops.offsetBoxes(anchors, box, 0)), box, "round trip");
}));

test("assignAnchorToBbox and offsets equal the book's code on random boxes", () => torch.tidy(() => {
  const anchors = fx("assign.anchors"), gt = fx("assign.gt");
  assert.deepEqual(ops.assignAnchorToBbox(gt, anchors).tolist(), fx("assign.map").tolist());
  assert.deepEqual(ops.assignAnchorToBbox(gt, anchors, "cpu", 0.3).tolist(), fx("assign.map_t03").tolist());
  assertClose(ops.offsetBoxes(anchors, fx("offset.boxes")), fx("offset.offsets"), { rtol: 1e-5, atol: 1e-5, what: "offsetBoxes" });
  assertClose(ops.offsetInverse(anchors, fx("inverse.preds")), fx("inverse.boxes"), { rtol: 0, atol: 1e-5, what: "offsetInverse" });
}));

test("multiboxTarget equals the book's code on a random batch", () => torch.tidy(() => {
  const [offset, mask, cls] = ops.multiboxTarget(fx("target.anchors"), fx("target.labels"));
  assert.deepEqual(cls.tolist(), fx("target.class").tolist());
  assert.deepEqual(mask.tolist(), fx("target.mask").tolist());
  assertClose(offset, fx("target.offset"), { rtol: 1e-5, atol: 1e-5, what: "offsets" });
}));

test("multiboxTarget ignores padding rows (class −1): the book's result on the unpadded rows; no object → all background", () => torch.tidy(() => {
  const [offset, mask, cls] = ops.multiboxTarget(fx("target.anchors"), fx("target_padded.labels"));
  assert.deepEqual(cls.tolist(), fx("target_padded.class").tolist());
  assert.deepEqual(mask.tolist(), fx("target_padded.mask").tolist());
  assertClose(offset, fx("target_padded.offset"), { rtol: 1e-5, atol: 1e-5, what: "offsets" });
  assert.equal(cls.select(0, 2).sum().item(), 0);
  // A batch with no object rows at all, and one with zero rows.
  const anchors = fx("target.anchors");
  const [o0, m0, c0] = ops.multiboxTarget(anchors, torch.zeros([2, 0, 5]));
  assert.deepEqual([o0.shape, m0.shape, c0.shape], [[2, 1024], [2, 1024], [2, 256]]);
  assert.equal(m0.sum().item(), 0);
  assert.equal(o0.abs().sum().item(), 0);
}));

test("multiboxDetection equals the book's code on random predictions", () => torch.tidy(() => {
  const probs = fx("detect.cls_probs"), offsets = fx("detect.offset_preds"), anchors = fx("target.anchors");
  const check = (out: Tensor, expected: Tensor, what: string) => {
    assert.deepEqual(out.select(2, 0).tolist(), expected.select(2, 0).tolist(), `${what}: class ids`);
    assertClose(out, expected, { rtol: 1e-5, atol: 1e-5, what });
  };
  check(ops.multiboxDetection(probs, offsets, anchors), fx("detect.default"), "defaults");
  check(ops.multiboxDetection(probs, offsets, anchors, { nmsThreshold: 0.3, posThreshold: 0.2 }), fx("detect.nms03_pos02"), "nms 0.3, pos 0.2");
  assert.deepEqual(ops.multiboxDetection(probs.narrow(0, 0, 0), offsets.narrow(0, 0, 0), anchors).shape, [0, 256, 6]);
  // The batch is one call; each image alone gives its own rows.
  check(ops.multiboxDetection(probs.narrow(0, 1, 1), offsets.narrow(0, 1, 1), anchors), fx("detect.default").narrow(0, 1, 1), "second image alone");
}));

test("anchor functions leave no tensors behind", () => {
  const anchors = fx("target.anchors"), labels = fx("target_padded.labels");
  const probs = fx("detect.cls_probs"), offsets = fx("detect.offset_preds");
  const run = () => {
    const t = ops.multiboxTarget(anchors, labels);
    const d = ops.multiboxDetection(probs, offsets, anchors);
    const z = torch.zeros([1, 1, 4, 4]);
    const p = ops.multiboxPrior(z, [0.2], [1, 2]);
    torch.dispose([...t, d, p, z]);
  };
  run();
  const before = settledTensors();
  for (let i = 0; i < 3; i++) run();
  assert.equal(torch.memory().numTensors, before);
});

test("anchor functions reject bad input with a FlareError", () => torch.tidy(() => {
  const anchors = fx("target.anchors");
  assertFlareError(() => ops.multiboxPrior(torch.zeros([4]), [0.2], [1]), /data must have at least 2 dimensions/, "E_SHAPE");
  assertFlareError(() => ops.multiboxPrior(torch.zeros([1, 1, 0, 3]), [0.2], [1]), /empty feature map/, "E_SHAPE");
  assertFlareError(() => ops.multiboxPrior(torch.zeros([1, 1, 2, 2]), [], [1]), /sizes must be a non-empty array/);
  assertFlareError(() => ops.multiboxPrior(torch.zeros([1, 1, 2, 2]), [0.2], [0]), /ratios must hold numbers > 0, got 0/);
  assertFlareError(() => ops.multiboxTarget(anchors, torch.zeros([2, 3, 4])), /labels must have shape \[batch, maxObjects, 5\], got \[2, 3, 4\]/, "E_SHAPE");
  assertFlareError(() => ops.multiboxTarget(torch.zeros([1, 0, 4]), torch.zeros([1, 1, 5])), /anchors is empty/, "E_SHAPE");
  assertFlareError(() => ops.multiboxTarget(torch.zeros([2, 5, 4]), torch.zeros([1, 1, 5])), /anchors must have shape \[1, numAnchors, 4\]/, "E_SHAPE");
  assertFlareError(() => ops.multiboxTarget(anchors, torch.tensor([[[0, 0.5, 0.1, 0.2, 0.3]]])), /labels\[0, 0\] has x2 < x1 or y2 < y1/);
  assertFlareError(() => ops.multiboxTarget(anchors, torch.tensor([[[0, NaN, 0.1, 0.2, 0.3]]])), /labels has NaN or infinite values/);
  assertFlareError(() => ops.multiboxTarget(anchors, torch.tensor([[[0.5, 0.1, 0.1, 0.2, 0.3]]])), /class indices/);
  assertFlareError(() => ops.multiboxTarget(anchors, torch.tensor([[[-2, 0.1, 0.1, 0.2, 0.3]]])), /class indices/);
  const probs = fx("detect.cls_probs"), offsets = fx("detect.offset_preds");
  assertFlareError(() => ops.multiboxDetection(probs.permute(0, 2, 1), offsets, anchors), /clsProbs must have shape/, "E_SHAPE");
  assertFlareError(() => ops.multiboxDetection(probs, offsets.narrow(1, 0, 100), anchors), /offsetPreds must have shape \[2, 1024\]/, "E_SHAPE");
  assertFlareError(() => ops.multiboxDetection(probs, offsets, anchors, { nmsTreshold: 0.3 } as never), /unknown option "nmsTreshold"/);
  assertFlareError(() => ops.assignAnchorToBbox(torch.zeros([2, 4]), torch.zeros([0, 4])), /anchors is empty/, "E_SHAPE");
  assertFlareError(() => ops.assignAnchorToBbox(torch.zeros([2, 5]), torch.zeros([3, 4])), /groundTruth must have shape \[numBoxes, 4\]/, "E_SHAPE");
  assertFlareError(() => ops.assignAnchorToBbox(torch.tensor([[0, 0, 1, 1], [0.5, 0.2, 0.4, 0.3]]), torch.zeros([3, 4])), /groundTruth\[1\] has x2 < x1 or y2 < y1/);
  assertFlareError(() => ops.assignAnchorToBbox(torch.tensor([[0, 0, Infinity, 1]]), torch.zeros([3, 4])), /groundTruth has NaN or infinite values/);
  assertFlareError(() => ops.multiboxTarget(torch.full([1, 3, 4], NaN), torch.zeros([1, 1, 5])), /anchors has NaN or infinite values/);
  assertFlareError(() => ops.offsetBoxes(torch.zeros([2, 3]), torch.zeros([2, 4])), /anchors must have shape \[\.\.\., 4\]/, "E_SHAPE");
}));
