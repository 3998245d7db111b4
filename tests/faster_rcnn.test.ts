// Faster R-CNN's parts and bad input: AnchorGenerator, GeneralizedRCNNTransform,
// BalancedPositiveNegativeSampler, LevelMapper / MultiScaleRoIAlign, the FPN,
// and a small detector (ResNet-18 FPN, 64-pixel images) on negative images,
// degenerate boxes, mixed sizes, bad labels, wrong weights and unknown options.
// torchvision parity of the whole model: tests/faster_rcnn.parity.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { nn } from "../src/index.js";
import { models, ops } from "../src/vision/index.js";
import { save } from "../src/io/index.js";
import {
  AnchorGenerator, GeneralizedRCNNTransform, FasterRCNN, TwoMLPHead, FastRCNNPredictor, fasterrcnnResnet18Fpn, resnetFpnBackbone,
  RegionProposalNetwork, RPNHead, type Detection,
} from "../src/vision/models/detection/index.js";
import { assertFlareError, settledTensors } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "flare-rcnn-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

test("AnchorGenerator: torchvision's base anchors, order and count per level", () => {
  torch.tidy(() => {
    const gen = new AnchorGenerator([[32], [64]], [0.5, 1.0, 2.0]);
    assert.deepEqual(gen.numAnchorsPerLocation(), [3, 3]);
    // torchvision: generate_anchors((32,), (0.5, 1.0, 2.0))
    assert.deepEqual(gen.generateAnchors([32], [0.5, 1, 2]).tolist(), [[-23, -11, 23, 11], [-16, -16, 16, 16], [-11, -23, 11, 23]]);
    const imageList = { tensors: torch.zeros([2, 3, 64, 96]), imageSizes: [[64, 90], [60, 96]] as [number, number][] };
    const anchors = gen.forward(imageList, [torch.zeros([2, 8, 16, 24]), torch.zeros([2, 8, 8, 12])]);
    assert.equal(anchors.length, 2);
    assert.deepEqual(anchors[0].shape, [16 * 24 * 3 + 8 * 12 * 3, 4]);
    // cell (row 0, column 1) of the stride-4 map: shifted by 4 in x
    assert.deepEqual(anchors[0].index("3:6").tolist(), [[-19, -11, 27, 11], [-12, -16, 20, 16], [-7, -23, 15, 23]]);
    // the first anchor of the second level: stride 8
    assert.deepEqual(anchors[0].select(0, 16 * 24 * 3).tolist(), [-45, -23, 45, 23]);
  });
  assertFlareError(() => new AnchorGenerator([[32], [64]], [[0.5], [1], [2]]), /sizes has 2 entries but aspectRatios 3/);
  assertFlareError(() => new AnchorGenerator([[-1]]), /positive numbers/);
  assertFlareError(() => new AnchorGenerator().generateAnchors([32], [1], { dtyp: "float64" } as never), /unknown option "dtyp" \(did you mean "dtype"\?\)/);
  assertFlareError(() => new AnchorGenerator([[32]]).forward({ tensors: torch.zeros([1, 3, 8, 8]), imageSizes: [[8, 8]] }, [torch.zeros([1, 1, 2, 2]), torch.zeros([1, 1, 1, 1])]),
    /2 feature maps but 1 anchor sizes/);
});

test("GeneralizedRCNNTransform: resize by min/max size, pad to 32, boxes back to the input image", () => {
  const t = new GeneralizedRCNNTransform(160, 256, [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]);
  t.eval();
  torch.tidy(() => {
    const a = torch.rand([3, 120, 150]), b = torch.rand([3, 100, 170]);
    const { imageList, targets } = t.forward([a, b], [{ boxes: torch.tensor([[15, 12, 75, 60]]), labels: torch.tensor([1], { dtype: "int64" }) },
      { boxes: torch.zeros([0, 4]), labels: torch.zeros([0], { dtype: "int64" }) }]);
    // 120x150: short side to 160 (scale 4/3); 100x170: long side to 256 (scale 256/170)
    assert.deepEqual(imageList.imageSizes, [[160, 200], [150, 256]]);
    assert.deepEqual(imageList.tensors.shape, [2, 3, 160, 256]);
    // padding is zero; the normalised image is (x - 0.5) / 0.25
    assert.equal(imageList.tensors.index(0, ":", ":", "200:").abs().sum().item(), 0);
    const corner = imageList.tensors.index(0, 0, 0, 0).item() as number;
    assert.ok(corner >= -2 && corner <= 2);
    const boxes = targets![0].boxes.tolist() as number[][];
    [20, 16, 100, 80].forEach((v, i) => assert.ok(Math.abs(boxes[0][i] - v) < 1e-4, `box ${boxes[0]}`));
    assert.deepEqual(targets![1].boxes.shape, [0, 4]);
    const back = t.postprocess([{ boxes: torch.tensor([[20, 16, 100, 80]]), scores: torch.ones([1]), labels: torch.ones([1], { dtype: "int64" }) }],
      [[160, 200]], [[120, 150]]);
    (back[0].boxes.tolist() as number[][])[0].forEach((v, i) => assert.ok(Math.abs(v - [15, 12, 75, 60][i]) < 1e-4));
  });
  assertFlareError(() => t.forward([torch.zeros([3, 8, 8], { dtype: "uint8" })]), /floating type.*uint8/, "E_DTYPE");
  assertFlareError(() => t.forward([torch.zeros([8, 8])]), /3d tensors of shape \[C, H, W\]/, "E_SHAPE");
  assertFlareError(() => t.forward([torch.zeros([1, 8, 8])]), /1 channels, but imageMean/);
  assertFlareError(() => t.forward([]), /non-empty array/);
  assertFlareError(() => new GeneralizedRCNNTransform(160, 256, [0.5], [0.5], { size_divisible: 16 } as never), /unknown option "size_divisible" \(did you mean "sizeDivisible"\?\)/);
});

test("BalancedPositiveNegativeSampler: at most positiveFraction positives, never an ignored element", () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const s = new ops.BalancedPositiveNegativeSampler(8, 0.25);
    const labels = torch.tensor([1, 0, 0, -1, 2, 0, 0, 3, 0, 0, 0, -1, 0, 0, 1]);
    const [[pos], [neg]] = s.forward([labels]);
    assert.equal(pos.dtype, "uint8");
    assert.equal(pos.sum().item(), 2);
    assert.equal(neg.sum().item(), 6);
    const l = labels.tolist() as number[], p = pos.tolist() as number[], n = neg.tolist() as number[];
    l.forEach((v, i) => {
      if (p[i]) assert.ok(v >= 1);
      if (n[i]) assert.equal(v, 0);
    });
    // fewer positives than the fraction allows: the negatives fill the batch
    const [[pos2], [neg2]] = s.forward([torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])]);
    assert.deepEqual([pos2.sum().item(), neg2.sum().item()], [1, 7]);
  });
  assertFlareError(() => new ops.BalancedPositiveNegativeSampler(0, 0.5), /batchSizePerImage must be a positive integer/);
  assertFlareError(() => new ops.BalancedPositiveNegativeSampler(4, 1.5), /positiveFraction must be a number in \[0, 1\]/);
});

test("MultiScaleRoIAlign: each box pooled from its FPN level (LevelMapper: floor(4 + log2(sqrt(area) / 224)))", () => {
  torch.tidy(() => {
    const mapper = new ops.LevelMapper(2, 5);
    const boxes = torch.tensor([[0, 0, 224, 224], [0, 0, 112, 112], [0, 0, 20, 20], [0, 0, 800, 800], [0, 0, 447, 447]]);
    assert.deepEqual(mapper.forward([boxes]).tolist(), [2, 1, 0, 3, 2]);
    const pool = new ops.MultiScaleRoIAlign(["0", "1"], 2, 2);
    // level "0" all ones, level "1" all twos: the output says which level each box came from
    const features = { "0": torch.ones([1, 1, 16, 16]), "1": torch.full([1, 1, 8, 8], 2, { dtype: "float32" }), other: torch.full([1, 1, 4, 4], 7, { dtype: "float32" }) };
    const out = pool.forward(features, [torch.tensor([[0, 0, 8, 8], [0, 0, 120, 120]])], [[64, 64]]);
    assert.deepEqual(out.shape, [2, 1, 2, 2]);
    assert.deepEqual(pool.scales, [0.25, 0.125]);
    assert.deepEqual(out.amax([1, 2, 3]).tolist(), [1, 2]);
  });
  assertFlareError(() => new ops.MultiScaleRoIAlign([], 7, 2), /featmapNames must be a non-empty array/);
  assertFlareError(() => new ops.MultiScaleRoIAlign(["0"], 7, 2, { canonical_scale: 1 } as never), /unknown option "canonical_scale"/);
});

test("FeaturePyramidNetwork + LastLevelMaxPool: names, shapes, torchvision's keys", () => {
  const fpn = new ops.FeaturePyramidNetwork([4, 8], 6, { extraBlocks: new ops.LastLevelMaxPool() });
  assert.deepEqual([...fpn.stateDict().keys()], ["inner_blocks.0.0.weight", "inner_blocks.0.0.bias", "inner_blocks.1.0.weight", "inner_blocks.1.0.bias",
    "layer_blocks.0.0.weight", "layer_blocks.0.0.bias", "layer_blocks.1.0.weight", "layer_blocks.1.0.bias"]);
  torch.tidy(() => {
    const out = fpn.forward({ a: torch.randn([1, 4, 8, 8]), b: torch.randn([1, 8, 4, 4]) });
    assert.deepEqual(Object.keys(out), ["a", "b", "pool"]);
    assert.deepEqual([out.a.shape, out.b.shape, out.pool.shape], [[1, 6, 8, 8], [1, 6, 4, 4], [1, 6, 2, 2]]);
  });
  assertFlareError(() => new ops.FeaturePyramidNetwork([4, 0], 6), /in_channels=0 is currently not supported/);
  assertFlareError(() => fpn.forward({ a: torch.randn([1, 4, 8, 8]) }), /expected 2 feature maps, got 1/);
  fpn.dispose();
});

test("resnetFpnBackbone: trainable layers frozen as torchvision's, FrozenBatchNorm2d, five maps", () => {
  const bb = resnetFpnBackbone("resnet18", { trainableLayers: 2 });
  const trainable = bb.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k.split(".").slice(0, 2).join("."));
  assert.deepEqual([...new Set(trainable)].filter((k) => k.startsWith("body.")), ["body.layer3", "body.layer4"]);
  assert.ok(bb.modules().some((m) => m instanceof nn.FrozenBatchNorm2d));
  assert.ok(!bb.modules().some((m) => m instanceof nn.BatchNorm2d));
  torch.noGrad(() => torch.tidy(() => {
    const out = bb.forward(torch.zeros([1, 3, 64, 64]));
    assert.deepEqual(Object.keys(out), ["0", "1", "2", "3", "pool"]);
    assert.deepEqual(Object.values(out).map((t) => t.shape[2]), [16, 8, 4, 2, 1]);
  }));
  assertFlareError(() => resnetFpnBackbone("resnet101"), /backboneName must be one of resnet18, resnet34, resnet50/);
  assertFlareError(() => resnetFpnBackbone("resnet18", { trainableLayers: 6 }), /trainable layers should be in the range \[0,5\]/);
  bb.dispose();
});

// A small detector for the behaviour tests: 64-pixel images, few proposals.
const SMALL = { numClasses: 3, minSize: 64, maxSize: 96, rpnPreNmsTopNTrain: 200, rpnPostNmsTopNTrain: 50, rpnPreNmsTopNTest: 200, rpnPostNmsTopNTest: 50, boxBatchSizePerImage: 32, boxScoreThresh: 0.0 };
torch.manualSeed(0);
const small = fasterrcnnResnet18Fpn(SMALL);
process.on("exit", () => small.dispose());
const box = (rows: number[][]) => torch.tensor(rows);
const labels = (values: number[]) => torch.tensor(values, { dtype: "int64" });

test("FasterRCNN train: the four losses (torchvision's keys), a negative image among them, finite, with gradients", () => {
  small.train();
  torch.tidy(() => {
    const images = [torch.rand([3, 60, 80]), torch.rand([3, 72, 50])];
    const targets = [{ boxes: box([[5, 5, 40, 30], [30, 20, 70, 55]]), labels: labels([1, 2]) }, { boxes: torch.zeros([0, 4]), labels: labels([]) }];
    const losses = small.forward(images, targets) as Record<string, torch.Tensor>;
    assert.deepEqual(Object.keys(losses).sort(), ["loss_box_reg", "loss_classifier", "loss_objectness", "loss_rpn_box_reg"]);
    for (const [k, v] of Object.entries(losses)) assert.ok(Number.isFinite(v.item() as number), `${k} = ${v.item()}`);
    Object.values(losses).reduce((a, b) => a.add(b)).backward();
    const grad = small.roiHeads.boxPredictor.parameters()[0].grad;
    assert.ok(grad && (grad.abs().sum().item() as number) > 0);
    // every image negative: still the four losses, box losses 0
    const none = small.forward(images, images.map(() => ({ boxes: torch.zeros([0, 4]), labels: labels([]) }))) as Record<string, torch.Tensor>;
    assert.equal(none.loss_box_reg.item(), 0);
    assert.equal(none.loss_rpn_box_reg.item(), 0);
    assert.ok((none.loss_classifier.item() as number) > 0);
  });
  small.zeroGrad();
});

test("FasterRCNN eval: detections per image of different sizes, in each image's own pixels", () => {
  small.eval();
  torch.noGrad(() => torch.tidy(() => {
    const sizes = [[60, 80], [100, 40]];
    const out = small.forward(sizes.map(([h, w]) => torch.rand([3, h, w]))) as Detection[];
    assert.equal(out.length, 2);
    out.forEach((d, i) => {
      assert.ok(d.boxes.shape[0] > 0 && d.boxes.shape[0] <= 100);
      assert.deepEqual([d.scores.shape[0], d.labels.shape[0]], [d.boxes.shape[0], d.boxes.shape[0]]);
      const [h, w] = sizes[i];
      assert.ok((d.boxes.index(":", 2).max().item() as number) <= w + 1e-3 && (d.boxes.index(":", 3).max().item() as number) <= h + 1e-3);
      assert.ok((d.boxes.min().item() as number) >= 0);
      const l = d.labels.tolist() as number[];
      assert.ok(l.every((v) => v >= 1 && v < 3), `labels ${l}`);
      const s = d.scores.tolist() as number[];
      assert.ok(s.every((v, j) => j === 0 || v <= s[j - 1]), "scores sorted");
    });
  }));
});

test("FasterRCNN: repeated eval forwards keep the live tensor count flat", () => {
  small.eval();
  const images = [torch.rand([3, 60, 80])];
  const run = () => torch.noGrad(() => torch.tidy(() => { small.forward(images); }));
  run();
  const before = settledTensors();
  for (let i = 0; i < 3; i++) run();
  assert.equal(settledTensors(), before);
  images[0].dispose();
});

test("FasterRCNN bad input: clear FlareErrors", () => {
  small.train();
  const img = () => [torch.rand([3, 60, 80])];
  assertFlareError(() => small.forward(img(), [{ boxes: box([[10, 10, 10, 30]]), labels: labels([1]) }]),
    /All bounding boxes should have positive height and width\. Found invalid box \[.*\] for target at index 0/);
  assertFlareError(() => small.forward(img(), [{ boxes: box([[10, 40, 30, 20]]), labels: labels([1]) }]), /positive height and width/);
  assertFlareError(() => small.forward(img(), [{ boxes: box([[5, 5, 40, 30]]), labels: labels([3]) }]), /labels must be in \[0, 2\] \(numClasses 3.*got 3/);
  assertFlareError(() => small.forward(img(), [{ boxes: box([[5, 5, 40, 30]]), labels: labels([-1]) }]), /labels must be in \[0, 2\]/);
  assertFlareError(() => small.forward(img(), [{ boxes: box([[5, 5, 40, 30]]), labels: torch.tensor([1]) }]), /int64 type, instead got float32/, "E_DTYPE");
  assertFlareError(() => small.forward(img(), [{ boxes: box([[5, 5, 40, 30]]), labels: labels([1, 2]) }]), /labels must have shape \[1\]/);
  assertFlareError(() => small.forward(img(), [{ boxes: torch.zeros([4]), labels: labels([1]) }]), /shape \[N, 4\], got \[4\]/);
  assertFlareError(() => small.forward(img()), /targets should not be none when in training mode/);
  assertFlareError(() => small.forward(img(), []), /one \{ boxes, labels \} per image \(1 images\), got 0 targets/);
  assertFlareError(() => small.forward([torch.rand([60, 80])], [{ boxes: box([[5, 5, 40, 30]]), labels: labels([1]) }]), /images\[0\] must be \[C, H, W\]/);
  assertFlareError(() => small.forward([torch.zeros([3, 60, 80], { dtype: "uint8" })], [{ boxes: box([[5, 5, 40, 30]]), labels: labels([1]) }]), /floating type/);
  assertFlareError(() => small.forward([]), /non-empty array/);
  const topN = { training: 10, testing: 10 };
  assertFlareError(() => new RegionProposalNetwork(new AnchorGenerator(), new RPNHead(8, 3), 0.7, 0.3, 256, 0.5, topN, topN, 0.7, { score_thresh: 0.5 } as never),
    /unknown option "score_thresh" \(did you mean "scoreThresh"\?\)/);
  small.eval();
});

test("models.get: fasterrcnn-* in the registry, torchvision's kwargs camelCased, weights of another detector rejected", () => {
  assert.ok(models.list({ task: "detection" }).includes("fasterrcnn-resnet50-fpn"));
  assert.ok(models.list({ task: "detection" }).includes("fasterrcnn-resnet18-fpn"));
  assertFlareError(() => models.get("fasterrcnn-resnet18-fpn", { box_score_thresh: 0.1 }), /unknown option "box_score_thresh" \(did you mean "boxScoreThresh"\?\)/);
  assertFlareError(() => fasterrcnnResnet18Fpn({ numClasses: 1 }), /numClasses must be an integer >= 2/);
  assertFlareError(() => fasterrcnnResnet18Fpn({ trainableBackboneLayers: 7 }), /trainableBackboneLayers should be in the range \[0,5\]/);
  // weights file round trip: numClasses read from the file
  const file = path.join(dir, "small.safetensors");
  save(small.stateDict(), file);
  const again = models.get("fasterrcnn-resnet18-fpn", { weights: file, minSize: 64, maxSize: 96 }) as FasterRCNN;
  assert.equal(again.numClasses, 3);
  assert.ok(torch.tidy(() => again.stateDict().get("roi_heads.box_predictor.cls_score.weight")!.eq(small.stateDict().get("roi_heads.box_predictor.cls_score.weight")!).all().item()));
  again.dispose();
  // another detector's weights (the book's TinySSD): the missing and unexpected keys are named
  const tiny = models.get("tiny-ssd");
  const other = path.join(dir, "tiny_ssd.safetensors");
  save(tiny.stateDict(), other);
  tiny.dispose();
  assertFlareError(() => models.get("fasterrcnn-resnet18-fpn", { weights: other, numClasses: 3 }), /don't fit this model[\s\S]*(missing|unexpected)[\s\S]*(backbone\.body|blk_0)/i);
  // a ResNet-50 detector's file into the ResNet-18 one: size mismatches named
  const big = path.join(dir, "r18_into.safetensors");
  const sd = small.stateDict();
  save(new Map([...sd].filter(([k]) => !k.startsWith("backbone.body.layer4"))), big);
  assertFlareError(() => models.get("fasterrcnn-resnet18-fpn", { weights: big }), /missing[\s\S]*backbone\.body\.layer4/i);
});

test("FasterRCNN with custom parts: boxPredictor in place of numClasses (its classes still check labels)", () => {
  torch.manualSeed(1);
  const backbone = resnetFpnBackbone("resnet18", { trainableLayers: 0 });
  const model = new FasterRCNN(backbone, null, {
    minSize: 64, maxSize: 64, boxHead: new TwoMLPHead(256 * 7 * 7, 32), boxPredictor: new FastRCNNPredictor(32, 4),
    rpnAnchorGenerator: new AnchorGenerator([[16], [32], [64], [128], [256]], [1.0]),
  });
  assert.equal(model.numClasses, 4);
  assert.deepEqual(model.rpn.head.stateDict().get("cls_logits.weight")!.shape, [1, 256, 1, 1]);
  model.train();
  assertFlareError(() => model.forward([torch.rand([3, 64, 64])], [{ boxes: box([[5, 5, 40, 30]]), labels: labels([4]) }]), /labels must be in \[0, 3\]/);
  assertFlareError(() => new FasterRCNN(backbone, 3, { boxPredictor: new FastRCNNPredictor(32, 4) }), /numClasses should be null when boxPredictor is specified/);
  assertFlareError(() => new FasterRCNN(backbone, null), /numClasses should not be null/);
  assertFlareError(() => new FasterRCNN(new nn.Linear(2, 2), 3), /outChannels/);
  assertFlareError(() => new FasterRCNN(backbone, 3, { rpn_nms_thresh: 0.5 } as never), /unknown option "rpn_nms_thresh" \(did you mean "rpnNmsThresh"\?\)/);
  model.dispose();
});
