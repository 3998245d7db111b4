// Tasks of other shapes through the same Trainer: a detection-shaped toy task
// (a model whose training forward returns a dict of losses, { images, boxes,
// labels } batches, a custom metric), an image-optimisation toy task (the
// parameter is the image, as in style transfer), and batches of any structure
// disposed after their step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { nn, optim, F } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { Trainer, type Metric, type Step } from "../src/engine/index.js";
import { settledTensors } from "./helpers.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "flare-tasks-"));

// ---- a detection-shaped toy: one coloured square per 16×16 image ------------

interface DetectionBatch { images: Tensor; boxes: Tensor; labels: Tensor }
interface Detection { boxes: Tensor; scores: Tensor; labels: Tensor }

/** Images with one 6×6 square, red (class 0) or green (class 1); boxes N×1×4 in pixels (x1, y1, x2, y2), labels N×1. */
function squares(n: number, seed: number): () => DetectionBatch[] {
  const g = new torch.Generator(seed);
  const samples = Array.from({ length: n }, () => ({ x: Math.floor(g.random() * 11), y: Math.floor(g.random() * 11), cls: g.random() < 0.5 ? 0 : 1 }));
  return () => {
    const batches: DetectionBatch[] = [];
    for (let start = 0; start < n; start += 8) {
      const part = samples.slice(start, start + 8);
      batches.push(torch.tidy(() => {
        const images = torch.zeros([part.length, 3, 16, 16]);
        part.forEach((s, i) => images.indexPut_([i, s.cls, `${s.y}:${s.y + 6}`, `${s.x}:${s.x + 6}`], 1));
        return {
          images,
          boxes: torch.tensor(part.map((s) => [[s.x, s.y, s.x + 6, s.y + 6]])),
          labels: torch.tensor(part.map((s) => [s.cls]), { dtype: "int64" }),
        };
      }));
    }
    return batches;
  };
}

/** In training, forward(images, targets) returns its losses; in eval, one detection per image (torchvision's convention). */
class ToyDetector extends nn.Module {
  body = new nn.Sequential(new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten());
  classifier = new nn.Linear(8 * 8 * 8, 2);
  regressor = new nn.Linear(8 * 8 * 8, 4);
  override forward(images: Tensor, targets?: { boxes: Tensor; labels: Tensor }): Record<string, Tensor> | Detection[] {
    const features = this.body.forward(images);
    const logits = this.classifier.forward(features);
    const boxes = this.regressor.forward(features).mul(16); // pixels
    if (this.training) {
      if (!targets) throw new Error("ToyDetector: targets are needed in training");
      return {
        loss_classifier: F.crossEntropy(logits, targets.labels.index(":", 0)),
        loss_box_reg: F.smoothL1Loss(boxes.div(16), targets.boxes.index(":", 0).div(16)),
      };
    }
    const probs = logits.softmax(1);
    const { values, indices } = probs.max(1);
    return Array.from({ length: images.shape[0] }, (_, i) => ({
      boxes: boxes.index(`${i}:${i + 1}`), scores: values.index(`${i}:${i + 1}`), labels: indices.index(`${i}:${i + 1}`),
    }));
  }
}

const detectionStep: Step<DetectionBatch> = {
  trainStep: (model, batch) => ({ loss: model.forward(batch.images, { boxes: batch.boxes, labels: batch.labels }) }),
  evalStep: (model, batch) => ({ preds: model.forward(batch.images) as Detection[], target: batch }),
};

const iou = (a: number[], b: number[]) => {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])), h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
};

/** A custom metric: the share of images whose detection has the right class and IoU ≥ 0.5 with the truth. */
class HitRate implements Metric<Detection[], DetectionBatch> {
  readonly higherIsBetter = true;
  hits = 0; total = 0; updates = 0;
  update(preds: Detection[], target: DetectionBatch): void {
    const truth = target.boxes.tolist() as number[][][], labels = target.labels.tolist() as number[][];
    preds.forEach((p, i) => {
      const box = (p.boxes.tolist() as number[][])[0], label = (p.labels.tolist() as number[])[0];
      if (label === labels[i][0] && iou(box, truth[i][0]) >= 0.5) this.hits++;
      this.total++;
    });
    this.updates++;
  }
  compute(): Record<string, number> { return { hit_rate: this.hits / this.total, hit_count: this.hits }; }
  reset(): void { this.hits = 0; this.total = 0; }
}

test("a detection-shaped task: a dict of losses on { images, boxes, labels } batches, a custom metric, the best checkpoint by it", async () => {
  torch.manualSeed(0);
  const model = new ToyDetector();
  const optimizer = new optim.Adam(model.parameters(), { lr: 3e-3 });
  const metric = new HitRate();
  const dir = tmp();
  const train = squares(64, 1), val = squares(32, 2);
  const before = settledTensors();
  const history = await new Trainer({ model, optimizer, step: detectionStep, metrics: [metric], epochs: 12, output: "silent", runDir: dir, monitor: "val_hit_rate" })
    .fit(train, val);
  assert.equal(torch.memory().numTensors, before + optimizerStateTensors(optimizer), "every batch and step tensor was freed");
  const first = history[0], last = history[history.length - 1];
  for (const key of ["train_loss", "train_loss_classifier", "train_loss_box_reg", "val_hit_rate", "val_hit_count"]) assert.ok(key in last, key);
  assert.ok(!("val_loss" in last), "evalStep gave no loss: no val_loss");
  assert.ok(Math.abs(last.train_loss - (last.train_loss_classifier + last.train_loss_box_reg)) < 1e-5, "the loss is the sum of its parts");
  assert.ok(last.train_loss < first.train_loss / 2, `the losses fall: ${first.train_loss} -> ${last.train_loss}`);
  assert.ok(last.val_hit_rate > first.val_hit_rate && last.val_hit_rate >= 0.5, `the detections improve: ${first.val_hit_rate} -> ${last.val_hit_rate}`);
  assert.equal(metric.updates, 12 * 4, "the metric saw each validation batch (4 a pass), not the training ones (no preds)");
  // The best checkpoint is the epoch with the highest hit rate (higherIsBetter).
  const rates = history.map((m) => m.val_hit_rate);
  const best = rates.indexOf(Math.max(...rates));
  const meta = JSON.parse((await import("../src/io/index.js")).safetensors.loadFileWithMetadata(path.join(dir, "checkpoints", "best.safetensors")).metadata["flare.checkpoint"]);
  assert.equal(meta.epoch, best);
  const steps = readFileSync(path.join(dir, "steps.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(steps.length, 12 * 8);
  assert.ok(["loss", "loss_classifier", "loss_box_reg", "lr"].every((k) => Number.isFinite(steps[0][k])), "each step logs the loss and its parts");
  model.dispose(); optimizer.dispose();
});

/** Tensors an optimizer keeps between steps (Adam: step, exp_avg, exp_avg_sq per parameter). */
function optimizerStateTensors(optimizer: optim.Optimizer): number {
  return torch.tidy(() => {
    const state = optimizer.stateDict().state as Map<number, Record<string, unknown>> | Record<string, Record<string, unknown>>;
    const entries = state instanceof Map ? [...state.values()] : Object.values(state);
    return entries.reduce((n, s) => n + Object.values(s).filter((v) => v instanceof torch.Tensor).length, 0);
  });
}

// ---- an image-optimisation toy: the parameter is the image ------------------

/** d2l's SynthesizedImage: a module whose only parameter is the image being made. */
class SynthesizedImage extends nn.Module {
  weight: nn.Parameter;
  constructor(init: Tensor) { super(); this.weight = new nn.Parameter(init.clone()); }
  override forward(): Tensor { return this.weight; }
}

const gram = (x: Tensor) => { const [c, h, w] = x.shape.slice(1); const f = x.reshape(c, h * w); return f.matmul(f.t()).div(c * h * w); };

test("an image-optimisation task: the optimiser moves an image toward a content and a style target, through the same Trainer", async () => {
  torch.manualSeed(3);
  const content = torch.keep(torch.rand([1, 3, 12, 12]));
  const style = torch.keep(torch.tidy(() => torch.rand([1, 3, 12, 12]).pow(3)));
  const styleGram = torch.keep(gram(style));
  const image = new SynthesizedImage(content);
  const optimizer = new optim.Adam(image.parameters(), { lr: 0.05 });
  const scheduler = new optim.lrScheduler.StepLR(optimizer, 20, { gamma: 0.8 });
  const step: Step<null> = {
    trainStep: (model) => {
      const x = model.forward() as Tensor;
      const tv = x.index("...", "1:", ":").sub(x.index("...", ":-1", ":")).abs().mean().add(x.index("...", "1:").sub(x.index("...", ":-1")).abs().mean());
      return { loss: { loss_content: F.mseLoss(x, content), loss_style: F.mseLoss(gram(x), styleGram).mul(1e4), loss_tv: tv.mul(0.1) }, size: 1 };
    },
  };
  const startGramGap = torch.tidy(() => F.mseLoss(gram(image.weight), styleGram).item());
  // One step per epoch, as d2l's train loop: the data is a single empty batch.
  const history = await new Trainer({ model: image, optimizer, scheduler, step, epochs: 60, output: "silent" }).fit([null]);
  const endGramGap = torch.tidy(() => F.mseLoss(gram(image.weight), styleGram).item());
  assert.equal(history.length, 60);
  assert.ok(history[59].train_loss < history[0].train_loss / 2, `the loss falls: ${history[0].train_loss} -> ${history[59].train_loss}`);
  assert.ok(endGramGap < startGramGap / 4, `the image's style moved toward the target: ${startGramGap} -> ${endGramGap}`);
  assert.ok(torch.tidy(() => image.weight.sub(content).abs().max().item()) > 0.01, "the image changed");
  assert.ok(Math.abs(history[59].lr - 0.05 * 0.8 ** 3) < 1e-9, "the scheduler ran per epoch");
  torch.dispose([content, style, styleGram]);
  image.dispose(); optimizer.dispose();
});

// ---- batch structures ------------------------------------------------------

test("batches of any structure are disposed after their step (arrays, objects, lists of per-image targets); disposeBatches: false keeps them", async () => {
  torch.manualSeed(4);
  const model = new nn.Linear(4, 2);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  // torchvision's detection batch: a list of images and a list of { boxes, labels } targets.
  type ListBatch = [Tensor[], { boxes: Tensor; labels: Tensor }[]];
  const step: Step<ListBatch> = {
    trainStep: (m, [images, targets]) => ({
      loss: torch.stack(images.map((im, i) => F.crossEntropy(m.forward(im.reshape(1, 4)), targets[i].labels))).mean(),
    }),
  };
  const made: Tensor[] = [];
  const track = <T extends Tensor>(t: T) => { made.push(t); return t; };
  const batch = (): ListBatch => [
    [track(torch.randn([4])), track(torch.randn([4])), track(torch.randn([4]))],
    [0, 1, 0].map((c) => ({ boxes: track(torch.rand([1, 4])), labels: track(torch.tensor([c], { dtype: "int64" })) })),
  ];
  const history = await new Trainer({ model, optimizer, step, epochs: 1, output: "silent" }).fit([batch(), batch()]);
  assert.ok(made.every((t) => t.isDisposed), "every tensor of every batch is freed");
  assert.ok(Number.isFinite(history[0].train_loss));
  assert.ok(history[0].examples_per_s > 0);

  const kept = [torch.randn([2, 4]), torch.tensor([0, 1], { dtype: "int64" })];
  const objects = { input: kept[0], target: kept[1] };
  await new Trainer({
    model, optimizer, epochs: 1, output: "silent", disposeBatches: false,
    step: { trainStep: (m, b: typeof objects) => ({ loss: F.crossEntropy(m.forward(b.input), b.target) }) },
  }).fit([objects]);
  assert.ok(kept.every((t) => !t.isDisposed), "disposeBatches: false leaves the batch alone");
  torch.dispose(kept);
  model.dispose(); optimizer.dispose();
});
