// The YOLO-style grid detector: decoding and assignment by hand, two objects
// whose centres share a cell both detected after a short training on a set
// made so, the loss on images without objects, bad input, yolo-resnet18.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { nn, optim } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { ops, models } from "../src/vision/index.js";
import { YOLO, yoloResnet18, ssdResnet18 } from "../src/vision/models/detection/index.js";
import { assertFlareError, settledTensors } from "./helpers.js";

/** A small stride-16 backbone (no batch norm), so the test trains in seconds. */
class Tiny extends nn.Sequential {
  readonly outChannels = 32;
  constructor() {
    super(new nn.Conv2d(3, 16, 3, { stride: 2, padding: 1 }), new nn.ReLU(), new nn.Conv2d(16, 32, 3, { stride: 2, padding: 1 }), new nn.ReLU(),
      new nn.Conv2d(32, 32, 3, { stride: 2, padding: 1 }), new nn.ReLU(), new nn.Conv2d(32, 32, 3, { stride: 2, padding: 1 }), new nn.ReLU());
  }
}

const PRIORS: [number, number][] = [[0.45, 0.15], [0.15, 0.45], [0.3, 0.3]];

test("assignment: each object to its centre's cell and the free prior of best shape; two alike in one cell take two priors", () => torch.tidy(() => {
  const model = new YOLO(new Tiny(), 3, { size: 64, priors: PRIORS });
  // 64 px / 4 cells: cell (1, 1) spans 16..32. Wide, tall, then a second wide one in the same cell.
  const boxes = torch.tensor([[10, 20, 38, 28], [20, 10, 28, 38], [12, 22, 36, 26]], { dtype: "float32" });
  const assigned = model.assign([{ boxes, labels: torch.tensor([1, 2, 1], { dtype: "int64" }) }], 4, 4);
  assert.deepEqual(assigned.map((a) => a.index), [(1 * 4 + 1) * 3 + 0, (1 * 4 + 1) * 3 + 1, (1 * 4 + 1) * 3 + 2]);
  assert.deepEqual(assigned.map((a) => a.label), [0, 1, 0]);
  assert.ok(Math.abs(assigned[0].tx - 0.5) < 1e-9 && Math.abs(assigned[0].ty - 0.5) < 1e-9, "offsets inside the cell");
  assert.ok(Math.abs(assigned[0].tw - Math.log(28 / 64 / 0.45)) < 1e-9 && Math.abs(assigned[0].th - Math.log(8 / 64 / 0.15)) < 1e-9, "log size over the prior");
  // Decoding the targets' own offsets gives back the box.
  const pred = torch.zeros([1, 4 * 4 * 3, 7]);
  const logit = (p: number) => Math.log(p / (1 - p));
  pred.indexPut_([0, assigned[0].index], torch.tensor([logit(0.5), logit(0.5), assigned[0].tw, assigned[0].th, 0, 0, 0], { dtype: "float32" }));
  const decoded = model.decode(pred, 4, 4).select(0, 0).select(0, assigned[0].index);
  assert.deepEqual((decoded.tolist() as number[]).map((v) => Math.round(v * 1e4) / 1e4), [10, 20, 38, 28]);
  model.dispose();
}));

/** n images of 64²: a wide red bar (class 1) and a tall blue bar (class 2) crossing at a point of one cell. */
function crossingSet(n: number): { images: Tensor[]; targets: { boxes: Tensor; labels: Tensor }[] } {
  const g = new torch.Generator(3);
  const images: Tensor[] = [], targets: { boxes: Tensor; labels: Tensor }[] = [];
  for (let i = 0; i < n; i++) {
    const cx = 16 * g.randint(1, 3) + g.randint(4, 12), cy = 16 * g.randint(1, 3) + g.randint(4, 12);
    const wide = [cx - 14, cy - 4, cx + 14, cy + 4], tall = [cx - 4, cy - 14, cx + 4, cy + 14];
    const pixels = new Float32Array(3 * 64 * 64).fill(0.5);
    const paint = ([x1, y1, x2, y2]: number[], rgb: number[]) => {
      for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) for (let c = 0; c < 3; c++) pixels[c * 4096 + y * 64 + x] = rgb[c];
    };
    paint(wide, [1, 0, 0]);
    paint(tall, [0, 0, 1]);
    images.push(torch.fromTypedArray(pixels, [3, 64, 64]));
    targets.push({ boxes: torch.tensor([wide, tall], { dtype: "float32" }), labels: torch.tensor([1, 2], { dtype: "int64" }) });
  }
  return { images, targets };
}

test("two objects whose centres fall in one cell are both detected after training on a set made so", () => {
  torch.manualSeed(0);
  const model = new YOLO(new Tiny(), 3, { size: 64, priors: PRIORS, scoreThresh: 0.05 });
  const { images, targets } = crossingSet(8);
  const opt = new optim.Adam(model.parameters(), { lr: 3e-3 });
  model.train();
  for (let step = 0; step < 150; step++) {
    torch.tidy(() => {
      const parts = model.forward(images, targets) as Record<string, Tensor>;
      const loss = parts.objectness.add(parts.classification).add(parts.bbox_regression);
      opt.zeroGrad(); loss.backward(); opt.step();
    });
  }
  model.eval();
  torch.tidy(() => torch.noGrad(() => {
    const dets = model.forward(images.slice(0, 4)) as { boxes: Tensor; scores: Tensor; labels: Tensor }[];
    dets.forEach((d, i) => {
      for (let k = 0; k < 2; k++) {
        const label = k + 1;
        const mine = d.labels.eq(label);
        assert.ok(Number(mine.sum().item()) > 0, `image ${i}: class ${label} detected`);
        const top = Number(d.scores.index(mine).argmax().item());
        const box = d.boxes.index(mine).select(0, top).unsqueeze(0);
        const iou = Number(ops.boxIou(box, targets[i].boxes.narrow(0, k, 1)).item());
        assert.ok(iou > 0.5, `image ${i}: class ${label}'s best box overlaps its object by ${iou.toFixed(2)}`);
        assert.ok(Number(d.scores.index(mine).max().item()) > 0.3, `image ${i}: class ${label} is confident`);
      }
    });
  }));
  torch.dispose([...images, ...targets.flatMap((t) => [t.boxes, t.labels])]);
  opt.dispose();
  model.dispose();
});

test("images without objects: only the objectness loss, all-background target, gradients flow", () => torch.tidy(() => {
  const model = new YOLO(new Tiny(), 2, { size: 32 });
  model.train();
  const parts = model.forward([torch.rand([3, 32, 32])], [{ boxes: torch.zeros([0, 4]), labels: torch.zeros([0], { dtype: "int64" }) }]) as Record<string, Tensor>;
  assert.equal(Math.abs(Number(parts.classification.item())), 0);
  assert.equal(Math.abs(Number(parts.bbox_regression.item())), 0);
  // Every box pushed to background at the 1% prior: −log(0.99) each, over one (count max(1, 0)).
  const boxes = 2 * 2 * 5;
  assert.ok(Math.abs(Number(parts.objectness.item()) - boxes * -Math.log(0.99)) < 0.02, `objectness ${parts.objectness.item()}`);
  parts.objectness.backward();
  assert.ok(model.head.pred.weight.grad !== null);
  model.dispose();
}));

test("yolo-resnet18: registered, options and bad input checked, detections in each image's own pixels", () => {
  const model = models.get("yolo-resnet18", { numClasses: 4, size: 64 }) as YOLO;
  assert.equal(models.info("yolo-resnet18").task, "detection");
  torch.tidy(() => {
    model.train();
    const t = (boxes: number[][], labels: number[]) => [{ boxes: torch.tensor(boxes, { dtype: "float32" }), labels: torch.tensor(labels, { dtype: "int64" }) }];
    const image = [torch.rand([3, 64, 64])];
    assertFlareError(() => model.forward(image, t([[5, 20, 30, 20]], [1])), /positive height and width/);
    assertFlareError(() => model.forward(image, t([[5, 5, 30, 20]], [4])), /holds 4, outside 1\.\.3/);
    const parts = model.forward([torch.rand([3, 64, 64]), torch.rand([3, 40, 90])], [...t([[5, 5, 30, 20]], [3]), ...t([[50, 5, 80, 30]], [1])]) as Record<string, Tensor>;
    assert.deepEqual(Object.keys(parts).sort(), ["bbox_regression", "classification", "objectness"]);
    model.eval();
    const dets = torch.noGrad(() => model.forward([torch.rand([3, 40, 90])])) as { boxes: Tensor }[];
    if (dets[0].boxes.shape[0] > 0) assert.ok(Number(dets[0].boxes.select(1, 2).max().item()) <= 90 + 1e-3);
  });
  assertFlareError(() => yoloResnet18({ numClasses: 3, priors: [[0.1, -1]] }), /priors must be/);
  assertFlareError(() => yoloResnet18({ numClasses: 3, bogus: 1 } as never), /bogus/);
  assertFlareError(() => yoloResnet18(undefined as never), /numClasses must be an integer ≥ 2/);
  assertFlareError(() => yoloResnet18({ numClasses: 3, imageStd: "x" as never }), /YOLO\(\): imageStd must be three finite numbers/);
  assertFlareError(() => models.get("yolo-resnet18", { numClasses: 3, nope: 1 }), /nope/);
  model.dispose();
});

test("training and detecting in a loop keeps the live tensor count flat (SSD and YOLO)", () => {
  const yolo = new YOLO(new Tiny(), 3, { size: 32, priors: PRIORS, scoreThresh: 0 });
  const ssd = ssdResnet18({ numClasses: 3, size: 32 });
  const opt = new optim.SGD([...yolo.parameters(), ...ssd.parameters()], { lr: 1e-4 });
  const images = [torch.rand([3, 32, 32]), torch.rand([3, 24, 40])];
  const targets = [{ boxes: torch.tensor([[2, 2, 20, 12]], { dtype: "float32" }), labels: torch.tensor([2], { dtype: "int64" }) },
    { boxes: torch.zeros([0, 4]), labels: torch.zeros([0], { dtype: "int64" }) }];
  const round = () => {
    for (const model of [yolo, ssd] as nn.Module[]) {
      model.train();
      torch.tidy(() => {
        const parts = model.forward(images, targets) as Record<string, Tensor>;
        const loss = Object.values(parts).reduce((a, b) => a.add(b));
        opt.zeroGrad(); loss.backward(); opt.step();
      });
      model.eval();
      torch.tidy(() => torch.noGrad(() => model.forward(images)));
    }
  };
  round();
  const before = settledTensors();
  for (let i = 0; i < 3; i++) round();
  assert.equal(settledTensors(), before);
  torch.dispose([...images, ...targets.flatMap((t) => [t.boxes, t.labels])]);
  opt.dispose(); yolo.dispose(); ssd.dispose();
});
