// BoxCoder and Matcher against torchvision.models.detection._utils (fixtures
// from scripts/fixtures/ops.py), and their bad-input errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { ops } from "../src/vision/index.js";
import { assertClose, assertFlareError, loadFixture } from "./helpers.js";

const fixture = loadFixture("ops");
const get = (key: string) => fixture.get(key)!;

test("BoxCoder encodes and decodes as torchvision's, per image and with either weights", () => torch.tidy(() => {
  const gt = get("coder.gt"), proposals = get("coder.proposals");
  const split = (t: torch.Tensor) => [t.index(":4"), t.index("4:")];
  for (const [key, weights] of [["w10", [10, 10, 5, 5]], ["w1", [1, 1, 1, 1]]] as const) {
    const coder = new ops.BoxCoder([...weights]);
    const codes = coder.encode(split(gt), split(proposals));
    assert.deepEqual(codes.map((c) => c.shape), [[4, 4], [6, 4]]);
    assertClose(torch.cat(codes, 0), get(`coder.${key}.codes`), { what: `${key} codes` });
    const decoded = coder.decode(torch.cat(codes, 0), split(proposals));
    assertClose(decoded, get(`coder.${key}.decoded`), { what: `${key} decoded` });
    // Decoding the codes gives the ground truth back.
    assertClose(decoded.reshape([10, 4]), gt, { atol: 1e-4, what: `${key} round trip` });
  }
}));

test("BoxCoder clips dw, dh at bboxXformClip (default log(1000 / 16)) and decodes K boxes per reference", () => torch.tidy(() => {
  const rel = get("coder.rel"), proposals = get("coder.proposals");
  const coder = new ops.BoxCoder([10, 10, 5, 5]);
  assert.equal(coder.bboxXformClip, Math.log(1000 / 16));
  const decoded = coder.decode(rel, [proposals]);
  assert.deepEqual(decoded.shape, [10, 2, 4]);
  assertClose(decoded, get("coder.rel.decoded"), { what: "decode" });
  assertClose(new ops.BoxCoder([1, 1, 1, 1], { bboxXformClip: 1 }).decodeSingle(rel, proposals), get("coder.rel.decoded_clip1"), { what: "decodeSingle, clip 1" });
}));

test("BoxCoder rejects bad weights, options and shapes", () => torch.tidy(() => {
  assertFlareError(() => new ops.BoxCoder([1, 1, 1] as never), /^BoxCoder: weights must be 4 finite non-zero numbers/, "E_ARGUMENT");
  assertFlareError(() => new ops.BoxCoder([1, 1, 1, 0]), /^BoxCoder: weights must be 4 finite non-zero numbers/, "E_ARGUMENT");
  assertFlareError(() => new ops.BoxCoder([1, 1, 1, 1], { clip: 2 } as never), /^BoxCoder: unknown option 'clip' \(known: bboxXformClip\)$/, "E_ARGUMENT");
  const coder = new ops.BoxCoder([1, 1, 1, 1]);
  assertFlareError(() => coder.encode([torch.zeros([2, 4])], []), /^BoxCoder\.encode\(\): referenceBoxes and proposals must be arrays of one tensor per image, of equal length/, "E_ARGUMENT");
  assertFlareError(() => coder.encodeSingle(torch.zeros([2, 4]), torch.zeros([3, 4])), /^BoxCoder\.encodeSingle\(\): referenceBoxes has 2 boxes but proposals 3$/, "E_SHAPE");
  assertFlareError(() => coder.decode(torch.zeros([3, 5]), [torch.zeros([3, 4])]), /^BoxCoder\.decode\(\): relCodes has 15 values, not a multiple of 4 × 3 boxes$/, "E_SHAPE");
  assertFlareError(() => coder.decode(torch.zeros([3, 4]), torch.zeros([3, 4]) as never), /^BoxCoder\.decode\(\): boxes must be an array/, "E_ARGUMENT");
}));

test("Matcher assigns as torchvision's, with thresholds, ties and low-quality matches", () => torch.tidy(() => {
  const quality = get("matcher.quality");
  const cases = { a: [0.7, 0.3, false], b: [0.7, 0.3, true], c: [0.5, 0.5, true], d: [0.8, 0.2, false] } as const;
  for (const [key, [high, low, allow]] of Object.entries(cases)) {
    const matches = new ops.Matcher(high, low, { allowLowQualityMatches: allow }).forward(quality);
    assert.equal(matches.dtype, "int64");
    assert.deepEqual(matches.tolist(), get(`matcher.${key}`).tolist(), `case ${key}`);
  }
  assert.equal(ops.Matcher.BELOW_LOW_THRESHOLD, -1);
  assert.equal(ops.Matcher.BETWEEN_THRESHOLDS, -2);
}));

test("Matcher by hand: the three levels and a low-quality rescue", () => torch.tidy(() => {
  // Two ground truths × four predictions.
  const quality = torch.tensor([[0.9, 0.5, 0.1, 0.2], [0.1, 0.4, 0.2, 0.25]]);
  assert.deepEqual(new ops.Matcher(0.7, 0.3).forward(quality).tolist(), [0, -2, -1, -1]);
  // Ground truth 1's best prediction (index 1, quality 0.4) is rescued: it matches its own best, ground truth 0.
  assert.deepEqual(new ops.Matcher(0.7, 0.3, { allowLowQualityMatches: true }).forward(quality).tolist(), [0, 0, -1, -1]);
}));

test("Matcher rejects bad thresholds, options and empty matrices", () => torch.tidy(() => {
  assertFlareError(() => new ops.Matcher(0.3, 0.7), /^Matcher: lowThreshold \(0\.7\) must be <= highThreshold \(0\.3\)$/, "E_ARGUMENT");
  assertFlareError(() => new ops.Matcher(0.7, 0.3, { allowLowQuality: true } as never), /^Matcher: unknown option 'allowLowQuality'/, "E_ARGUMENT");
  const m = new ops.Matcher(0.7, 0.3);
  assertFlareError(() => m.forward(torch.zeros([0, 5])), /^Matcher: no ground-truth boxes available for one of the images/, "E_SHAPE");
  assertFlareError(() => m.forward(torch.zeros([2, 0])), /^Matcher: no proposal boxes available for one of the images/, "E_SHAPE");
  assertFlareError(() => m.forward(torch.zeros([5])), /^Matcher: matchQualityMatrix must be \[M ground truths, N predictions\], got \[5\]$/, "E_SHAPE");
}));
