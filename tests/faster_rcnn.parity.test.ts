// Faster R-CNN against torchvision 0.14 (tests/fixtures/faster_rcnn.safetensors,
// written by scripts/fixtures/faster_rcnn.py): fasterrcnn_resnet50_fpn built
// under manualSeed(0) has torchvision's initial weights (checked key by key),
// and with the fixture's head tensors it returns torchvision's detections
// (boxes to 1e-3 px, scores to 1e-4, same labels) and training losses. The
// sampler draws torch.randperm from libtorch's generator in torchvision's order,
// so after the same manualSeed it samples the same anchors and proposals.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { models } from "../src/vision/index.js";
import type { FasterRCNN, Detection } from "../src/vision/models/detection/index.js";
import { loadFileWithMetadata } from "../src/io/safetensors.js";
import { assertClose, fixturePath } from "./helpers.js";

const { tensors, metadata } = loadFileWithMetadata(fixturePath("faster_rcnn.safetensors"));
const get = (key: string): torch.Tensor => {
  const t = tensors.get(key);
  if (!t) throw new Error(`fixture has no ${key}`);
  return t;
};
const keys = JSON.parse(metadata.keys) as string[];
const NUM_CLASSES = Number(metadata.num_classes);
// torchvision's keyword arguments, camelCased (min_size → minSize).
const CONFIG = Object.fromEntries(Object.entries(JSON.parse(metadata.config) as Record<string, number>)
  .map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
const OPTIONS = { numClasses: NUM_CLASSES, trainableBackboneLayers: Number(metadata.trainable_layers), ...CONFIG };

function build(extra: Record<string, unknown> = {}): FasterRCNN {
  torch.manualSeed(0);
  const model = models.get("fasterrcnn-resnet50-fpn", { ...OPTIONS, ...extra }) as FasterRCNN;
  const sd = model.stateDict();
  torch.noGrad(() => {
    for (const [key, value] of tensors) if (key.startsWith("head/")) sd.get(key.slice(5))!.copy_(value);
  });
  return model;
}

const images = [get("image/0"), get("image/1")];
const targets = [0, 1].map((i) => ({ boxes: get(`target/${i}/boxes`), labels: get(`target/${i}/labels`) }));

test("fasterrcnn-resnet50-fpn: torchvision's state-dict keys, and its initial weights under manualSeed(0)", () => {
  torch.manualSeed(0);
  const model = models.get("fasterrcnn-resnet50-fpn", OPTIONS);
  const sd = model.stateDict();
  assert.deepEqual([...sd.keys()], keys);
  const sums = get("init/sums").tolist() as number[][];
  keys.forEach((key, i) => {
    const t = sd.get(key)!.to("float64");
    const [s, a] = [t.sum().item() as number, t.abs().sum().item() as number];
    assert.ok(Math.abs(s - sums[i][0]) <= 1e-6 * Math.max(1, sums[i][1]) && Math.abs(a - sums[i][1]) <= 1e-6 * Math.max(1, sums[i][1]),
      `${key}: [sum, sum |x|] = [${s}, ${a}], torchvision's [${sums[i][0]}, ${sums[i][1]}]`);
    t.dispose();
  });
  model.dispose();
});

test("fasterrcnn-resnet50-fpn eval: torchvision's detections on two images of different sizes", () => {
  const model = build();
  model.eval();
  torch.noGrad(() => torch.tidy(() => {
    const out = model.forward(images) as Detection[];
    assert.equal(out.length, 2);
    out.forEach((d, i) => {
      const boxes = get(`eval/${i}/boxes`);
      assert.ok(boxes.shape[0] > 10, "the fixture's model detects something");
      assert.deepEqual(d.labels.tolist(), get(`eval/${i}/labels`).tolist(), `image ${i} labels`);
      assertClose(d.boxes, boxes, { rtol: 0, atol: 1e-3, what: `image ${i} boxes` });
      assertClose(d.scores, get(`eval/${i}/scores`), { rtol: 0, atol: 1e-4, what: `image ${i} scores` });
      assert.equal(d.labels.dtype, "int64");
    });
  }));
  model.dispose();
});

function checkLosses(losses: Record<string, torch.Tensor>, prefix: string): void {
  assert.deepEqual(Object.keys(losses).sort(), ["loss_box_reg", "loss_classifier", "loss_objectness", "loss_rpn_box_reg"]);
  for (const [k, v] of Object.entries(losses)) assertClose(v, get(`${prefix}/${k}`), { rtol: 1e-4, atol: 1e-6, what: `${prefix} ${k}` });
}

test("fasterrcnn-resnet50-fpn train: torchvision's losses (sampler drawn from the same seeded RNG) and gradients", () => {
  const model = build();
  model.train();
  torch.tidy(() => {
    torch.manualSeed(7);
    const losses = model.forward(images, targets) as Record<string, torch.Tensor>;
    checkLosses(losses, "train/seeded");
    Object.values(losses).reduce((a, b) => a.add(b)).backward();
    const params = new Map(model.namedParameters());
    const gradKeys = [...tensors.keys()].filter((key) => key.startsWith("train/seeded/grad/"));
    assert.equal(gradKeys.length, 4, "the fixture holds the gradients of 4 parameters");
    for (const [key, value] of tensors) {
      if (!key.startsWith("train/seeded/grad/")) continue;
      const grad = params.get(key.slice("train/seeded/grad/".length))!.grad!;
      // a big gradient is stored as its first 4 rows
      assertClose(grad.shape[0] === value.shape[0] ? grad : grad.narrow(0, 0, value.shape[0]), value, { rtol: 1e-3, atol: 1e-6, what: key });
    }
  });
  torch.noGrad(() => torch.tidy(() => {
    // image 1 a negative image (no boxes): torchvision trains on it as background
    torch.manualSeed(7);
    const negative = [targets[0], { boxes: torch.zeros([0, 4]), labels: torch.zeros([0], { dtype: "int64" }) }];
    checkLosses(model.forward(images, negative) as Record<string, torch.Tensor>, "train/negative");
  }));
  model.dispose();
});

test("fasterrcnn-resnet50-fpn train: torchvision's losses when every anchor and proposal is sampled", () => {
  const model = build({ rpnBatchSizePerImage: 1000000, boxBatchSizePerImage: 1000000 });
  model.train();
  torch.noGrad(() => torch.tidy(() => {
    torch.manualSeed(11);
    checkLosses(model.forward(images, targets) as Record<string, torch.Tensor>, "train/all");
  }));
  model.dispose();
});
