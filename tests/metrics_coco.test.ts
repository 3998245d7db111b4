// COCO bbox evaluation (vision.metrics) against hand-derived answers and
// against a Python port of pycocotools' COCOeval (scripts/fixtures/cocoeval_reference.py).
//
// A note that most derivations below use: pycocotools' precision is
// tp / (fp + tp + eps) with eps = np.spacing(1) = 2⁻⁵². With tp = 1, fp = 0 that
// is 1 / (1 + 2⁻⁵²) = 1 − 2⁻⁵² (0.9999999999999998), not 1; with tp ≥ 2 the eps
// is lost in rounding and it is exactly tp / (tp + fp). So "≈ 1" below means
// within 1e-12, and the printed value is 1.000.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { metrics } from "../src/vision/index.js";
import { assertFlareError, fixturePath, settledTensors } from "./helpers.js";

const { evaluateCoco, summarizeCoco, evaluateCocoFiles, MeanAveragePrecision, formatFixed3, pairwiseSum, STAT_NAMES } = metrics;

interface G { img: number; cat: number; box: number[]; crowd?: boolean; area?: number; id?: number }
interface D { img: number; cat: number; box: number[]; score: number }

/** Evaluates hand-built boxes ([x, y, w, h]) and returns the named stats. */
function run(gts: G[], dts: D[], ids: { imgIds?: number[]; catIds?: number[] } = {}) {
  const imgIds = ids.imgIds ?? [...new Set([...gts.map((g) => g.img), ...dts.map((d) => d.img)])];
  const catIds = ids.catIds ?? [...new Set([...gts.map((g) => g.cat), ...dts.map((d) => d.cat)])];
  const result = evaluateCoco({
    imgIds, catIds,
    gt: {
      ids: gts.map((g, i) => g.id ?? i + 1), imageIds: gts.map((g) => g.img), categoryIds: gts.map((g) => g.cat),
      boxes: gts.flatMap((g) => g.box), areas: gts.map((g) => g.area ?? g.box[2] * g.box[3]), iscrowd: gts.map((g) => (g.crowd ? 1 : 0)),
    },
    dt: {
      imageIds: dts.map((d) => d.img), categoryIds: dts.map((d) => d.cat), boxes: dts.flatMap((d) => d.box),
      scores: dts.map((d) => d.score), areas: dts.map((d) => d.box[2] * d.box[3]),
    },
  });
  return { ...summarizeCoco(result), result };
}

/** Asserts named stats within 1e-12 (or exactly −1). */
function expectStats(stats: object, expected: Partial<Record<(typeof STAT_NAMES)[number], number>>) {
  const actual = stats as Record<string, number>;
  for (const [name, value] of Object.entries(expected)) {
    if (value === -1) assert.equal(actual[name], -1, `${name} should be -1 (undefined)`);
    else assert.ok(Math.abs(actual[name] - value!) <= 1e-12, `${name} is ${actual[name]}, expected ${value}`);
  }
}

const BIG = [0, 0, 100, 100];          // area 10,000: a "large" box
const FAR = [400, 400, 100, 100];      // overlaps nothing above

test("a perfect detector scores 1 everywhere it is defined", () => {
  // One box per image and category, each detected exactly (IoU 1 ≥ every threshold): at every
  // recall point precision is 1 (or 1 − 2⁻⁵² for a lone detection), every recall is 1.
  const gts: G[] = [
    { img: 1, cat: 1, box: [10, 10, 10, 10] },        // small (100)
    { img: 1, cat: 2, box: [50, 50, 50, 50] },        // medium (2,500)
    { img: 2, cat: 1, box: [0, 0, 200, 200] },        // large (40,000)
    { img: 2, cat: 2, box: [300, 300, 20, 30] },      // small
  ];
  const { named, lines } = run(gts, gts.map((g, i) => ({ img: g.img, cat: g.cat, box: g.box, score: 0.5 + i / 10 })));
  expectStats(named, { map: 1, map50: 1, map75: 1, mapSmall: 1, mapMedium: 1, mapLarge: 1, mar1: 1, mar10: 1, mar100: 1, marSmall: 1, marMedium: 1, marLarge: 1 });
  assert.equal(lines[0], " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000");
});

test("one wrong box: it costs half the recall range, or half the precision when it scores highest", () => {
  // Two large ground truths; a right box (exact on the first) and a wrong box (no overlap).
  const gts: G[] = [{ img: 1, cat: 1, box: BIG }, { img: 1, cat: 1, box: [200, 0, 100, 100] }];
  // Right box first: tp, fp → recall [0.5, 0.5], precision [1 − 2⁻⁵², 0.5]. Recall points 0.00…0.50
  // (51 of 101) find index 0 → 1 − 2⁻⁵²; 0.51…1 fall past the end → 0. AP = 51/101 at every IoU.
  const a = run(gts, [{ img: 1, cat: 1, box: BIG, score: 0.9 }, { img: 1, cat: 1, box: FAR, score: 0.8 }]);
  expectStats(a.named, { map: 51 / 101, map50: 51 / 101, map75: 51 / 101, mapLarge: 51 / 101, mapSmall: -1, mapMedium: -1, mar1: 0.5, mar10: 0.5, mar100: 0.5, marLarge: 0.5, marSmall: -1, marMedium: -1 });
  assert.equal(a.lines[0], " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505");
  assert.equal(a.lines[3], " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000");
  assert.equal(a.lines[6], " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.500");
  // Wrong box first: fp, tp → recall [0, 0.5], precision [0, 0.5], envelope [0.5, 0.5]; points 0…0.50 → 0.5.
  // AP = 51·0.5/101. With 1 detection per image only the wrong box counts: mar1 = 0.
  const b = run(gts, [{ img: 1, cat: 1, box: BIG, score: 0.8 }, { img: 1, cat: 1, box: FAR, score: 0.9 }]);
  expectStats(b.named, { map: 25.5 / 101, map50: 25.5 / 101, mar1: 0, mar10: 0.5, mar100: 0.5 });
});

test("ties in score keep the input order within an image and the image-id order across images", () => {
  const gts: G[] = [{ img: 1, cat: 1, box: BIG }];
  // Equal scores, wrong box given first: a stable sort keeps fp, tp → recall [0, 1], precision [0, 0.5],
  // envelope 0.5 at every point → AP = 0.5; the single best detection (mar1) is the wrong one → 0.
  const wrongFirst = run(gts, [{ img: 1, cat: 1, box: FAR, score: 0.5 }, { img: 1, cat: 1, box: BIG, score: 0.5 }]);
  expectStats(wrongFirst.named, { map: 0.5, mar1: 0, mar100: 1 });
  // Right box first: tp, fp → precision [1 − 2⁻⁵², 0.5]; every recall point finds index 0 → AP ≈ 1.
  const rightFirst = run(gts, [{ img: 1, cat: 1, box: BIG, score: 0.5 }, { img: 1, cat: 1, box: FAR, score: 0.5 }]);
  expectStats(rightFirst.named, { map: 1, mar1: 1, mar100: 1 });
  // Across images accumulate concatenates images by sorted id, then sorts stably: image 2's wrong box
  // comes before image 5's right box even though image 5 is listed first. Two ground truths (one per
  // image): fp, tp → recall [0, 0.5], precision [0, 0.5] → 51 points of 0.5 → AP = 25.5/101
  // (image 5 first would give tp, fp → 51/101).
  const across = run(
    [{ img: 5, cat: 1, box: BIG }, { img: 2, cat: 1, box: BIG }],
    [{ img: 5, cat: 1, box: BIG, score: 0.5 }, { img: 2, cat: 1, box: FAR, score: 0.5 }],
    { imgIds: [5, 2] });
  expectStats(across.named, { map: 25.5 / 101, mar100: 0.5 });
});

test("crowd boxes: matched by intersection over the detection's area, many times, and ignored", () => {
  // A large box (GT1) and a crowd region [200, 0, 200, 200]. Detections by score:
  //  D4 0.95 [150, 0, 100, 100]: overlaps the crowd by 50×100 = 5,000 of its own 10,000 → crowd IoU 0.5:
  //     matched (ignored) at IoU 0.50 only, a false positive at 0.55 and above;
  //  D1 0.90 and D2 0.80 inside the crowd: crowd IoU 1 → ignored (a crowd may take any number);
  //  D3 0.70 exactly GT1 → true positive. Only GT1 counts (npig = 1).
  // t = 0.50: ig, ig, ig, tp → precision 1 − 2⁻⁵² at every recall point → AP ≈ 1.
  // t ≥ 0.55: fp, ig, ig, tp → precision [0, 0, 0, 0.5], envelope 0.5 → AP = 0.5.
  // map = (1 + 9 · 0.5) / 10 = 0.55. As an ordinary box the crowd would give IoU 2,500/40,000 and
  // D1, D2 would be false positives too (AP 0.25 at 0.5).
  const gts: G[] = [{ img: 1, cat: 1, box: BIG }, { img: 1, cat: 1, box: [200, 0, 200, 200], crowd: true }];
  const dts: D[] = [
    { img: 1, cat: 1, box: [250, 50, 50, 50], score: 0.9 },
    { img: 1, cat: 1, box: [300, 100, 40, 40], score: 0.8 },
    { img: 1, cat: 1, box: BIG, score: 0.7 },
    { img: 1, cat: 1, box: [150, 0, 100, 100], score: 0.95 },
  ];
  const { named } = run(gts, dts);
  // Recall: D3 finds GT1 at every threshold → 1. With one detection per image only D4: 0.
  // Small / medium: GT1 (10,000) is outside and the crowd is always ignored → no ground truth → −1.
  expectStats(named, { map: 0.55, map50: 1, map75: 0.5, mapLarge: 0.55, mapSmall: -1, mapMedium: -1, mar1: 0, mar10: 1, mar100: 1 });
  // A crowd alone is no ground truth: every number undefined.
  expectStats(run([gts[1]], dts).named, { map: -1, map50: -1, mar100: -1 });
  // A real match beats a better ignored one. Crowd [0, 0, 200, 200] given first, box [0, 0, 100, 100];
  // the detection [5, 0, 100, 100] has IoU 9,500/10,500 = 0.905 with the box and 1 with the crowd.
  // Ground truths are sorted ignored-last, and once a real match is held the scan stops at the first
  // ignored one: t ≤ 0.90 → true positive (AP ≈ 1); t = 0.95 → the box is too far, the crowd takes
  // it → ignored, nothing found → AP 0. map = 9/10, mar100 = 9/10.
  const crowdFirst = run([{ img: 1, cat: 1, box: [0, 0, 200, 200], crowd: true }, { img: 1, cat: 1, box: BIG }], [{ img: 1, cat: 1, box: [5, 0, 100, 100], score: 0.9 }]);
  expectStats(crowdFirst.named, { map: 0.9, map50: 1, mar100: 0.9 });
});

test("a category with no detections counts as 0; one with no ground truth is left out", () => {
  // Category 1 found exactly (AP 1 − 2⁻⁵²), category 2 not detected (AP 0, recall 0), category 3 only
  // detected (no ground truth → −1, not in the mean). map = (1 + 0) / 2.
  const gts: G[] = [{ img: 1, cat: 1, box: BIG }, { img: 1, cat: 2, box: [200, 0, 100, 100] }];
  const dts: D[] = [{ img: 1, cat: 1, box: BIG, score: 0.9 }, { img: 1, cat: 3, box: FAR, score: 0.8 }];
  expectStats(run(gts, dts).named, { map: 0.5, map50: 0.5, mar100: 0.5 });
  const metric = new MeanAveragePrecision({ classMetrics: true });
  torch.tidy(() => metric.update(
    [{ boxes: torch.tensor([[0, 0, 100, 100], [400, 400, 500, 500]]), scores: torch.tensor([0.9, 0.8]), labels: torch.tensor([1, 3], { dtype: "int64" }) }],
    [{ boxes: torch.tensor([[0, 0, 100, 100], [200, 0, 300, 100]]), labels: torch.tensor([1, 2], { dtype: "int64" }) }]));
  const out = metric.compute();
  assert.deepEqual(out.classes, [1, 2, 3]);
  assert.ok(Math.abs(out.mapPerClass![0] - 1) < 1e-12 && out.mapPerClass![1] === 0 && out.mapPerClass![2] === -1, `mapPerClass ${out.mapPerClass}`);
  assert.deepEqual(out.mar100PerClass, [1, 0, -1]);
});

test("images with no ground truth: their detections are false positives", () => {
  // Image 1: one box, found (score 0.8). Image 2: no ground truth, a detection scored 0.9. Image 3:
  // nothing. Sorted: fp, tp → recall [0, 1], precision [0, 0.5] → AP = 0.5 at every threshold.
  const gts: G[] = [{ img: 1, cat: 1, box: BIG }];
  const dts: D[] = [{ img: 1, cat: 1, box: BIG, score: 0.8 }, { img: 2, cat: 1, box: BIG, score: 0.9 }];
  expectStats(run(gts, dts, { imgIds: [1, 2, 3] }).named, { map: 0.5, mar1: 1, mar100: 1 });
  // No ground truth anywhere: every stat is −1 (COCOeval's "undefined").
  const none = run([], dts, { imgIds: [1, 2], catIds: [1] });
  assert.deepEqual(none.stats, Array(12).fill(-1));
});

test("more than 100 detections: each image and category keeps its 100 best", () => {
  const gts: G[] = [{ img: 1, cat: 1, box: BIG }];
  const wrong = (n: number, score: number): D[] => Array.from({ length: n }, (_, i) => ({ img: 1, cat: 1, box: [400 + i, 400, 10, 10], score }));
  // 100 wrong boxes at 0.9 and the right one at 0.5 (101st): it is cut before matching → nothing found.
  expectStats(run(gts, [...wrong(100, 0.9), { img: 1, cat: 1, box: BIG, score: 0.5 }]).named, { map: 0, map50: 0, mar100: 0 });
  // 99 wrong and the right one 100th: recall [0 × 99, 1], precision [0 × 99, 1/100], envelope 0.01
  // everywhere → AP = 0.01; recall is 1 with 100 detections, 0 with 1 or 10.
  expectStats(run(gts, [...wrong(99, 0.9), { img: 1, cat: 1, box: BIG, score: 0.5 }]).named, { map: 0.01, mar1: 0, mar10: 0, mar100: 1 });
  // All 101 tied: the stable sort keeps the input order, so the last given (the right box) is the one cut.
  expectStats(run(gts, [...wrong(100, 0.5), { img: 1, cat: 1, box: BIG, score: 0.5 }]).named, { map: 0, mar100: 0 });
  // The cut is per category: the same image's boxes of another category do not push it out.
  const other = wrong(150, 0.9).map((d) => ({ ...d, cat: 2 }));
  expectStats(run(gts, [...other, { img: 1, cat: 1, box: BIG, score: 0.5 }]).named, { mapLarge: 1 });
});

test("area ranges: borders are inclusive on both sides and the ground truth's area field decides", () => {
  // A 32×32 box has area 1,024 = 32²: inside small [0, 1024] and medium [1024, 9216] (COCOeval ignores
  // only area < lo or area > hi). Found exactly → AP ≈ 1 in both; large has no ground truth → −1.
  const at32 = run([{ img: 1, cat: 1, box: [0, 0, 32, 32] }], [{ img: 1, cat: 1, box: [0, 0, 32, 32], score: 0.9 }]);
  expectStats(at32.named, { mapSmall: 1, mapMedium: 1, mapLarge: -1, marSmall: 1, marMedium: 1, marLarge: -1 });
  // 96×96 = 9,216: medium and large.
  const at96 = run([{ img: 1, cat: 1, box: [0, 0, 96, 96] }], [{ img: 1, cat: 1, box: [0, 0, 96, 96], score: 0.9 }]);
  expectStats(at96.named, { mapSmall: -1, mapMedium: 1, mapLarge: 1 });
  // 33×32 = 1,056 is medium only.
  expectStats(run([{ img: 1, cat: 1, box: [0, 0, 33, 32] }], [{ img: 1, cat: 1, box: [0, 0, 33, 32], score: 0.9 }]).named, { mapSmall: -1, mapMedium: 1 });
  // A 100×100 box whose annotation says area 500 (a thin segment) is small: the detection matched to it
  // is a true positive there; in large the ground truth is ignored, so is its match → −1.
  const thin = run([{ img: 1, cat: 1, box: BIG, area: 500 }], [{ img: 1, cat: 1, box: BIG, score: 0.9 }]);
  expectStats(thin.named, { mapSmall: 1, mapLarge: -1, map: 1 });
  // An unmatched detection outside the range is ignored there: a small box found, plus a large wrong
  // box scored higher → small: the wrong box is ignored, AP ≈ 1; all areas: fp, tp → AP 0.5.
  const mixed = run([{ img: 1, cat: 1, box: [0, 0, 20, 20] }], [{ img: 1, cat: 1, box: [0, 0, 20, 20], score: 0.5 }, { img: 1, cat: 1, box: [300, 300, 200, 200], score: 0.9 }]);
  expectStats(mixed.named, { mapSmall: 1, map: 0.5 });
});

test("greedy matching: a detection takes the best free ground truth; a matched one is not taken twice", () => {
  // Two ground truths A [0,0,100,100] and B [10,0,100,100] (IoU with each other 9,000/11,000).
  // D1 (0.9) = A exactly: IoU 1 with A → takes A. D2 (0.8) = [5,0,100,100]: IoU with A 9,500/10,500
  // = 0.905, with B 0.905 too (symmetric); A is taken, so D2 takes B when 0.905 ≥ t (t ≤ 0.90), else it
  // is a false positive. t ≤ 0.90 (9 thresholds): tp, tp → AP ≈ 1. t = 0.95: tp, fp → recall [0.5,
  // 0.5], precision [1 − 2⁻⁵², 0.5] → 51 points → AP = 51/101. map = (9 + 51/101) / 10.
  const gts: G[] = [{ img: 1, cat: 1, box: BIG }, { img: 1, cat: 1, box: [10, 0, 100, 100] }];
  const dts: D[] = [{ img: 1, cat: 1, box: BIG, score: 0.9 }, { img: 1, cat: 1, box: [5, 0, 100, 100], score: 0.8 }];
  expectStats(run(gts, dts).named, { map: (9 + 51 / 101) / 10, map50: 1, map75: 1, mar100: 0.95 });
});

test("COCOeval's quirk kept: a match to an annotation with id 0 counts as no match", () => {
  // pycocotools stores the matched ground truth's id and tests it for truth, so a detection matched
  // to id 0 is a false positive (and the ground truth is still taken). Matches the Python port.
  const dts: D[] = [{ img: 1, cat: 1, box: BIG, score: 0.9 }];
  expectStats(run([{ img: 1, cat: 1, box: BIG, id: 0 }], dts).named, { map: 0, mar100: 0 });
  expectStats(run([{ img: 1, cat: 1, box: BIG, id: 7 }], dts).named, { map: 1, mar100: 1 });
});

test("evaluateCoco checks its params and columns", () => {
  const input = { imgIds: [1], catIds: [1], gt: { ids: [1], imageIds: [1], categoryIds: [1], boxes: [0, 0, 1, 1], areas: [1], iscrowd: [0] }, dt: { imageIds: [], categoryIds: [], boxes: [], scores: [], areas: [] } };
  const params = metrics.defaultParams();
  assertFlareError(() => evaluateCoco(input, { ...params, iouThrs: [0.75, 0.5] }), /params\.iouThrs must be a non-empty ascending list/);
  assertFlareError(() => evaluateCoco(input, { ...params, maxDets: [0] }), /params\.maxDets must be a non-empty list of positive integers/);
  assertFlareError(() => evaluateCoco(input, { ...params, areaRngLbl: ["all"] }), /params\.areaRngLbl must name each of the 4 area ranges/);
  assertFlareError(() => evaluateCoco(input, { ...params, useCats: 0 } as never), /params\.useCats is not a COCOeval parameter/);
  assertFlareError(() => evaluateCoco({ ...input, gt: { ...input.gt, boxes: [0, 0, 1] } }), /gt\.boxes has 3 values, expected 4/, "E_SHAPE");
  // Custom params work as in pycocotools: one threshold, one area range, maxDets [1, 10, 100].
  const custom = evaluateCoco({ ...input, dt: { imageIds: [1], categoryIds: [1], boxes: [0, 0, 1, 1], scores: [0.5], areas: [1] } },
    { ...params, iouThrs: [0.5], areaRng: [[0, 1e10]], areaRngLbl: ["all"] });
  assert.deepEqual(custom.counts, [1, 101, 1, 1, 3]);
  assert.ok(Math.abs(summarizeCoco(custom).stats[0] - 1) < 1e-12);
});

test("numbers print as Python's '{:0.3f}' and means sum as numpy's", () => {
  // Python rounds exact ties to even: 0.0625 → 0.062, 0.1875 → 0.188 (JavaScript's toFixed gives 0.063).
  assert.deepEqual([0.0625, 0.5625, 0.1875, 0.0005, -1, 1 - 2 ** -52].map(formatFixed3), ["0.062", "0.562", "0.188", "0.001", "-1.000", "1.000"]);
  // np.sum([0.1] * 1000 + [0.001 * i for i in range(37)]) = 100.66600000000003 (a plain loop: 100.66599999999862).
  const values = [...Array(1000).fill(0.1), ...Array.from({ length: 37 }, (_, i) => 1e-3 * i)];
  assert.equal(pairwiseSum(values), 100.66600000000003);
});

// ---- cross-check against the Python port of COCOeval (scripts/fixtures/cocoeval_reference.py)
const FIX = (name: string) => fixturePath(path.join("cocoeval", name));
const expected = (name: string) => JSON.parse(readFileSync(FIX(`${name}_expected.json`), "utf8"));

for (const name of ["dyadic", "float"]) {
  test(`evaluateCocoFiles equals the Python COCOeval port on random data (${name})`, () => {
    const want = expected(name);
    const got = evaluateCocoFiles(FIX(`${name}_gt.json`), FIX(`${name}_dt.json`));
    for (let i = 0; i < 12; i++) assert.ok(Math.abs(got.stats[i] - want.stats[i]) <= 1e-12, `stats[${i}] = ${got.stats[i]}, port ${want.stats[i]}`);
    assert.equal(got.text, want.lines.join("\n"));
    assert.deepEqual(Array.from(got.eval.recall), want.recall);
    assert.deepEqual(got.eval.counts, want.precisionShape);
    let sum = 0;
    for (const v of got.eval.precision) sum += v;
    assert.ok(Math.abs(sum - want.precisionSum) <= 1e-9, `precision sum ${sum}, port ${want.precisionSum}`);
    assert.equal(got.numCategories, 5);
    // What the CLI's --json prints: the stats and counts, without the precision array.
    const json = JSON.parse(JSON.stringify(metrics.cocoEvaluationJson(got)));
    assert.deepEqual(json.stats, got.stats);
    assert.equal(json.map, got.stats[0]);
    assert.equal(json.numImages, 40);
    assert.equal(json.eval, undefined);
  });
}

test("MeanAveragePrecision on tensors (xyxy) equals the Python COCOeval port", () => {
  // The dyadic set: coordinates on a 1/16 grid and scores on a 1/1024 grid, so float32 tensors and
  // xywh → xyxy → xywh are exact. Images are given in id order, as COCOeval orders them.
  const want = expected("dyadic");
  const gt = JSON.parse(readFileSync(FIX("dyadic_gt.json"), "utf8"));
  const dt = JSON.parse(readFileSync(FIX("dyadic_dt.json"), "utf8"));
  const metric = new MeanAveragePrecision({ classMetrics: true });
  const ids = (gt.images as { id: number }[]).map((m) => m.id).sort((a, b) => a - b);
  const xyxy = (b: number[]) => [b[0], b[1], b[0] + b[2], b[1] + b[3]];
  const before = settledTensors();
  for (let start = 0; start < ids.length; start += 8) {            // batches of 8 images
    torch.tidy(() => {
      const batch = ids.slice(start, start + 8);
      const preds = batch.map((id) => {
        const ds = (dt as { image_id: number; category_id: number; bbox: number[]; score: number }[]).filter((d) => d.image_id === id);
        return {
          boxes: torch.tensor(ds.map((d) => xyxy(d.bbox)), { dtype: "float32" }).reshape(-1, 4),
          scores: torch.tensor(ds.map((d) => d.score), { dtype: "float32" }),
          labels: torch.tensor(ds.map((d) => d.category_id), { dtype: "int64" }),
        };
      });
      const targets = batch.map((id) => {
        const gs = (gt.annotations as { image_id: number; category_id: number; bbox: number[]; area?: number; iscrowd: number }[]).filter((g) => g.image_id === id);
        return {
          boxes: torch.tensor(gs.map((g) => xyxy(g.bbox)), { dtype: "float32" }).reshape(-1, 4),
          labels: torch.tensor(gs.map((g) => g.category_id), { dtype: "int64" }),
          iscrowd: torch.tensor(gs.map((g) => g.iscrowd), { dtype: "int64" }),
          area: torch.tensor(gs.map((g) => g.area ?? g.bbox[2] * g.bbox[3]), { dtype: "float64" }),
        };
      });
      metric.update(preds, targets);
    });
  }
  assert.equal(torch.memory().numTensors, before, "update() keeps no tensors");
  assert.equal(metric.numImages, 40);
  const out = metric.compute();
  // Within 1e-12, not bit for bit: numpy's own sums can differ in the last bit from run to run (seen:
  // the same precision array gave means 1 ulp apart in two runs of the port), so the means are compared
  // with a tolerance (the file tests compare the recall array, which has no sums, exactly).
  const close = (a: number[], b: number[], what: string) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-12, `${what}[${i}] = ${v}, port ${b[i]}`));
  close(STAT_NAMES.map((n) => out[n]), want.stats, "stats");
  // Per class: the metric's classes are the labels it saw (all 5 here), as torchmetrics.
  assert.deepEqual(out.classes, want.catIds);
  close(out.mapPerClass!, want.mapPerClass, "mapPerClass");
  close(out.mar100PerClass!, want.mar100PerClass, "mar100PerClass");
  metric.reset();
  assert.equal(metric.numImages, 0);
  const empty = metric.compute();
  assert.deepEqual(STAT_NAMES.map((n) => empty[n]), Array(12).fill(-1));
});

test("MeanAveragePrecision: box formats, empty images, and bad input", () => torch.tidy(() => {
  // The same boxes in xywh and cxcywh give the same answer as xyxy.
  const gtBoxes = { xyxy: [[0, 0, 100, 100], [200, 0, 300, 100]], xywh: [[0, 0, 100, 100], [200, 0, 100, 100]], cxcywh: [[50, 50, 100, 100], [250, 50, 100, 100]] };
  const dtBoxes = { xyxy: [[0, 0, 100, 100], [400, 400, 500, 500]], xywh: [[0, 0, 100, 100], [400, 400, 100, 100]], cxcywh: [[50, 50, 100, 100], [450, 450, 100, 100]] };
  for (const boxFormat of ["xyxy", "xywh", "cxcywh"] as const) {
    const m = new MeanAveragePrecision({ boxFormat });
    m.update([{ boxes: torch.tensor(dtBoxes[boxFormat]), scores: torch.tensor([0.9, 0.8]), labels: torch.tensor([1, 1], { dtype: "int64" }) }],
      [{ boxes: torch.tensor(gtBoxes[boxFormat]), labels: torch.tensor([1, 1], { dtype: "int64" }) }]);
    // The "one wrong box" case above: 51/101.
    assert.ok(Math.abs(m.compute().map - 51 / 101) < 1e-12, boxFormat);
  }
  // An image with nothing predicted and one with no ground truth (empty tensors of shape [0, 4] or [0]).
  const m = new MeanAveragePrecision();
  m.update([
    { boxes: torch.zeros([0, 4]), scores: torch.zeros([0]), labels: torch.zeros([0], { dtype: "int64" }) },
    { boxes: torch.tensor([[0, 0, 10, 10]]), scores: torch.tensor([0.3]), labels: torch.tensor([2], { dtype: "int64" }) },
  ], [
    { boxes: torch.tensor([[0, 0, 100, 100]]), labels: torch.tensor([2], { dtype: "int64" }) },
    { boxes: torch.zeros([0]), labels: torch.zeros([0], { dtype: "int64" }) },
  ]);
  // One ground truth never found, one false positive: AP 0, recall 0.
  expectStats(m.compute(), { map: 0, mar100: 0 });

  const good = () => ({ boxes: torch.tensor([[0, 0, 10, 10]]), scores: torch.tensor([0.5]), labels: torch.tensor([1], { dtype: "int64" }) });
  const target = () => ({ boxes: torch.tensor([[0, 0, 10, 10]]), labels: torch.tensor([1], { dtype: "int64" }) });
  const bad = (pred: object, tgt: object = target()) => () => new MeanAveragePrecision().update([pred as never], [tgt as never]);
  assertFlareError(bad({ ...good(), boxes: torch.tensor([[0, 0, NaN, 10]]) }), /preds\[0\]\.boxes\[0\] has a coordinate that is NaN/);
  assertFlareError(bad({ ...good(), boxes: torch.tensor([[10, 0, 5, 10]]) }), /preds\[0\]\.boxes\[0\] = \[10, 0, 5, 10\] has a negative width or height \(x2 < x1 or y2 < y1\)/);
  assertFlareError(bad(good(), { ...target(), boxes: torch.tensor([[0, 0, 10, Infinity]]) }), /targets\[0\]\.boxes\[0\] has a coordinate that is Infinity/);
  assertFlareError(bad({ ...good(), boxes: torch.zeros([1, 5]) }), /preds\[0\]\.boxes must have shape \[N, 4\], got \[1, 5\]/, "E_SHAPE");
  assertFlareError(bad({ ...good(), scores: torch.tensor([0.5, 0.4]) }), /preds\[0\]\.scores must have shape \[1\]/, "E_SHAPE");
  assertFlareError(bad({ ...good(), scores: torch.tensor([NaN]) }), /preds\[0\]\.scores\[0\] is NaN/);
  assertFlareError(bad({ ...good(), labels: torch.tensor([1.5]) }), /preds\[0\]\.labels must hold integer class labels, got dtype float32/, "E_DTYPE");
  assertFlareError(bad(good(), { ...target(), iscrowd: torch.tensor([2], { dtype: "int64" }) }), /targets\[0\]\.iscrowd\[0\] is 2, expected 0 or 1/);
  assertFlareError(bad(good(), { labels: torch.tensor([1], { dtype: "int64" }) }), /targets\[0\]\.boxes must be a tensor/, "E_TYPE");
  assertFlareError(() => new MeanAveragePrecision().update([good()], []), /got 1 preds but 0 targets/);
  assertFlareError(() => new MeanAveragePrecision({ iouThreshold: [0.5] } as never), /unknown option "iouThreshold"/);
  assertFlareError(() => new MeanAveragePrecision({ iouThresholds: [0.9, 0.5] }), /MeanAveragePrecision\(\): iouThresholds must be a non-empty ascending list/);
  assertFlareError(() => new MeanAveragePrecision({ maxDetectionThresholds: [1, 10] }), /maxDetectionThresholds must be three numbers/);
  // Custom thresholds, as torchmetrics': the "one wrong box" case at IoU 0.5 only, 1 / 2 / 5 detections.
  const custom = new MeanAveragePrecision({ iouThresholds: [0.5], maxDetectionThresholds: [5, 1, 2] });
  custom.update([{ boxes: torch.tensor(dtBoxes.xyxy), scores: torch.tensor([0.8, 0.9]), labels: torch.tensor([1, 1], { dtype: "int64" }) }],
    [{ boxes: torch.tensor(gtBoxes.xyxy), labels: torch.tensor([1, 1], { dtype: "int64" }) }]);
  // Wrong box first: AP 25.5/101; map75 undefined; recall 0 with 1 detection, 0.5 with 2 and 5.
  expectStats(custom.compute(), { map: 25.5 / 101, map50: 25.5 / 101, map75: -1, mar1: 0, mar10: 0.5, mar100: 0.5 });
  assertFlareError(() => new MeanAveragePrecision({ boxFormat: "yxyx" as never }), /boxFormat must be "xyxy", "xywh" or "cxcywh"/);
  // A failed update leaves the state as it was.
  const kept = new MeanAveragePrecision();
  assert.throws(() => kept.update([good(), { ...good(), boxes: torch.tensor([[0, 0, NaN, 1]]) }], [target(), target()]));
  assert.equal(kept.numImages, 0);
}));

test("evaluateCocoFiles: bad files give a FlareError naming the file and the problem", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-cocoeval-"));
  try {
    const write = (name: string, value: unknown) => {
      const file = path.join(dir, name);
      writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value));
      return file;
    };
    const gtObject = {
      images: [{ id: 1 }, { id: 2 }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 }],
      categories: [{ id: 1, name: "a" }],
    };
    const gt = write("gt.json", gtObject);
    const det = (over: object) => [{ image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 0.9, ...over }];
    // A good pair works, and an empty results list is allowed (0 where there is ground truth).
    expectStats(evaluateCocoFiles(gt, write("ok.json", det({}))).named, { map: 1 });
    expectStats(evaluateCocoFiles(gt, write("empty.json", [])).named, { map: 0, mar100: 0 });
    const dtErr = (over: object, pattern: RegExp) => {
      const file = write("dt.json", det(over));
      assertFlareError(() => evaluateCocoFiles(gt, file), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(results\\): ${pattern.source}`), "E_FORMAT");
    };
    dtErr({ image_id: 999 }, /detection \[0\] names image_id 999, which is not an image of the ground truth/);
    dtErr({ category_id: 5 }, /detection \[0\] names category_id 5, which is not a category of the ground truth/);
    dtErr({ bbox: [0, 0, -3, 10] }, /detection \[0\] has bbox \[0,0,-3,10\] with a negative width or height/);
    dtErr({ bbox: [0, null, 3, 10] }, /detection \[0\] has bbox \[0,null,3,10\] with a value that is not a finite number/);
    dtErr({ bbox: [0, 0, 3] }, /detection \[0\] has bbox \[0,0,3\], expected \[x, y, width, height\]/);
    dtErr({ score: "high" }, /detection \[0\] has score "high", expected a finite number/);
    // Python's json.dump writes NaN for a float NaN, which is not JSON.
    const nanFile = write("nan.json", '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, NaN, 10], "score": 0.9}]');
    assertFlareError(() => evaluateCocoFiles(gt, nanFile), /nan\.json \(results\) is not valid JSON: .*NaN or Infinity/, "E_FORMAT");
    const objFile = write("obj.json", { annotations: [] });
    assertFlareError(() => evaluateCocoFiles(gt, objFile), /obj\.json \(results\): expected a JSON array of detections/, "E_FORMAT");
    // Malformed ground truth.
    const gtErr = (value: unknown, pattern: RegExp) => {
      const file = write("badgt.json", value);
      assertFlareError(() => evaluateCocoFiles(file, write("ok.json", det({}))), new RegExp(`badgt\\.json \\(ground truth\\)${pattern.source}`), "E_FORMAT");
    };
    gtErr("{ not json", / is not valid JSON/);
    gtErr([], /: expected a COCO instances object/);
    gtErr({ ...gtObject, annotations: undefined }, /: "annotations" is missing, expected an array/);
    gtErr({ ...gtObject, annotations: [{ ...gtObject.annotations[0], image_id: 3 }] }, /: annotations\[0\] \(id 1\) has image_id 3, which is not in "images"/);
    gtErr({ ...gtObject, annotations: [{ ...gtObject.annotations[0], category_id: 9 }] }, /: annotations\[0\] \(id 1\) has category_id 9, which is not in "categories"/);
    gtErr({ ...gtObject, annotations: [{ ...gtObject.annotations[0], bbox: [0, 0, 10, -1] }] }, /: annotations\[0\] \(id 1\) has bbox \[0,0,10,-1\] with a negative width or height/);
    gtErr({ ...gtObject, annotations: [gtObject.annotations[0], gtObject.annotations[0]] }, /: annotation id 1 appears twice/);
    gtErr({ ...gtObject, images: [{ id: 1 }, { id: 1 }] }, /: image id 1 appears twice in "images"/);
    gtErr({ ...gtObject, annotations: [{ ...gtObject.annotations[0], area: -5 }] }, /: annotations\[0\] \(id 1\) has area -5, expected a number ≥ 0/);
    assertFlareError(() => evaluateCocoFiles(path.join(dir, "missing.json"), gt), /could not read the ground truth file .*missing\.json: no such file/, "E_IO");
    assertFlareError(() => evaluateCocoFiles(gt, gt, { iou: 1 } as never), /unknown option "iou"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
