// flare vs PyTorch on d2l 14.7's recipe: TinySSD on the generated banana set
// (1000 training / 100 validation images of 256×256), SGD lr 0.2, weight decay
// 5e-4, batch 32, the same initial weights and the same batch order on both
// sides, one after the other on the same machine. flare's side is the real
// `flare train detect` path (trainDetector); its data, per-epoch permutations
// and initial weights go to the PyTorch side as safetensors.
//   - seconds per training epoch (and the ratio flare / PyTorch);
//   - the book's class error and bbox MAE on the last epoch's training batches;
//   - COCO mAP@0.5 and mAP on the validation images (both sides' detections
//     scored by flare's MeanAveragePrecision, COCOeval's definition);
//   - inference images per second (forward + detections, batches of 32).
// With --time-steps K, first R rounds (--rounds) of K training steps and one
// inference batch on each side, interleaved, so both sides meet the same machine load.
// Usage: node dist/bench/detect.js [--epochs 20] [--threads 2] [--count 1000] [--val-count 100] [--time-steps 0 --rounds 2] [--torch-malloc default|keep]
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { save, load } from "../src/io/index.js";
import { models, metrics } from "../src/vision/index.js";
import { trainDetector, detectionsFromOutput } from "../src/tasks/detect.js";
import { generatedBananas, loadDetectionData, epochOrder } from "../src/tasks/detect_data.js";
import { numFlag, torchMallocEnv } from "./flags.js";

const epochs = numFlag("epochs", 20), timeSteps = numFlag("time-steps", 0), rounds = numFlag("rounds", 2), threads = numFlag("threads", 2), count = numFlag("count", 1000), valCount = numFlag("val-count", 100);
const batchSize = 32, seed = 0;
const python = process.env.FLARE_BENCH_PYTHON ?? "/usr/bin/python3";
const { mode: torchMalloc, env: mallocEnv } = torchMallocEnv();  // --torch-malloc default|keep
const torchEnv = { ...process.env, ...mallocEnv };
const script = fileURLToPath(new URL("../../bench/detect_torch.py", import.meta.url));
const dir = "/tmp/flare-bench-detect";
mkdirSync(dir, { recursive: true });
torch.setNumThreads(threads);

const root = await generatedBananas({ count, valCount, seed });
const data = await loadDetectionData({ data: "bananas", dataRoot: root });
const n = data.train.names.length;
const side = data.val.images.shape[3];
// The exact batch order trainDetector uses, one row per epoch.
const orders = torch.tensor(Array.from({ length: Math.max(1, epochs) }, (_, e) => epochOrder(n, seed, e, true)), { dtype: "int64" });
save({ train_images: data.train.images, train_labels: data.train.labels, val_images: data.val.images, val_labels: data.val.labels, orders }, path.join(dir, "data.safetensors"));
orders.dispose();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** COCO mAP of per-image detections (pixels) against the validation labels. */
function score(found: { boxes: Tensor; scores: Tensor; labels: Tensor }[]): { map: number; map50: number } {
  const m = new metrics.MeanAveragePrecision();
  torch.tidy(() => {
    const targets = found.map((_, i) => {
      const rows = data.val.labels.select(0, i);
      const valid = rows.index(rows.select(1, 0).ge(0));
      return { boxes: valid.narrow(1, 1, 4).mul(side), labels: valid.select(1, 0).to("int64") };
    });
    m.update(found, targets);
  });
  const r = m.compute();
  return { map: r.map, map50: r.map50 };
}

// ---- interleaved timing: K steps from the same initial weights on each side, round by round ----
const timing = { flareStep: [] as number[], torchStep: [] as number[], flareInfer: [] as number[], torchInfer: [] as number[] };
if (timeSteps > 0) {
  const { SGD } = await import("../src/optim/index.js");
  const { detectionStep } = await import("../src/tasks/detect.js");
  torch.manualSeed(seed);
  const initial = models.get("tiny-ssd", { numClasses: 1 });
  torch.tidy(() => save(initial.stateDict(), path.join(dir, "init.safetensors")));
  initial.dispose();
  const order = epochOrder(n, seed, 0, true);
  for (let r = 0; r < rounds; r++) {
    const net = models.get("tiny-ssd", { weights: path.join(dir, "init.safetensors") });
    const opt = new SGD(net.parameters(), { lr: 0.2, weightDecay: 5e-4 });
    const step = detectionStep();
    net.train();
    for (let i = 0; i < timeSteps; i++) {
      const t0 = performance.now();
      torch.tidy(() => {
        const index = torch.tensor(order.slice(i * batchSize, (i + 1) * batchSize), { dtype: "int64" });
        const batch = { images: data.train.images.indexSelect(0, index).float(), labels: data.train.labels.indexSelect(0, index) };
        opt.zeroGrad();
        (step.trainStep(net, batch, { epoch: 0, index: i }).loss as Tensor).backward();
        opt.step();
      });
      timing.flareStep.push((performance.now() - t0) / 1000);
    }
    net.eval();
    const t1 = performance.now();
    torch.tidy(() => torch.noGrad(() => {
      const [anchors, cls, bbox] = net.forward(data.val.images.index(`0:${batchSize}`).float()) as [Tensor, Tensor, Tensor];
      detectionsFromOutput(anchors, cls, bbox);
    }));
    timing.flareInfer.push((performance.now() - t1) / 1000);
    net.dispose(); opt.dispose();
    const t = spawnSync(python, [script, dir, String(threads), "time", String(timeSteps)], { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"], env: torchEnv });
    if (t.status !== 0) throw new Error(`PyTorch timing failed (status ${t.status})`);
    const pt = JSON.parse(t.stdout.trim().split("\n").pop()!) as { step_seconds: number[]; inference_seconds: number };
    timing.torchStep.push(...pt.step_seconds);
    timing.torchInfer.push(pt.inference_seconds);
    process.stderr.write(`timing round ${r + 1}/${rounds}: flare ${JSON.stringify(timing.flareStep.slice(-timeSteps))} PyTorch ${JSON.stringify(pt.step_seconds)}\n`);
  }
}

if (epochs === 0) {
  // Timing only.
  console.log(JSON.stringify({
    threads, torchMalloc, flareCpuCache: torch.cpu.memoryStats().enabled, timeSteps, rounds, batchSize, flareStepSeconds: median(timing.flareStep), pytorchStepSeconds: median(timing.torchStep),
    stepRatio: median(timing.flareStep) / median(timing.torchStep),
    flareInferenceImagesPerS: batchSize / median(timing.flareInfer), pytorchInferenceImagesPerS: batchSize / median(timing.torchInfer),
    inferenceRatio: median(timing.torchInfer) / median(timing.flareInfer), raw: timing,
  }, null, 2));
  process.exit(0);
}

// ---- flare: `flare train detect --data bananas DIR --epochs E` ----
const runsDir = path.join(dir, "runs");
const { history } = await trainDetector({
  data: "bananas", dataRoot: root, epochs, batchSize, lr: 0.2, weightDecay: 5e-4, seed, runsDir, name: "bench", output: "plain",
  onModel: (model) => torch.tidy(() => save(model.stateDict(), path.join(dir, "init.safetensors"))),
});
const last = history[history.length - 1];
const epochSeconds = history.map((h) => n / (h as Record<string, number>).examples_per_s);
process.stderr.write(`flare done: ${JSON.stringify(last)}\n`);

// Inference with the final weights (the last checkpoint's model part).
const checkpoint = load(path.join(runsDir, "bench", "checkpoints", "last.safetensors"));
const weights = new Map([...checkpoint].filter(([k]) => k.startsWith("model.")).map(([k, v]) => [k.slice(6), v]));
const model = models.get("tiny-ssd", { numClasses: 1 });
model.loadStateDict(weights);
torch.dispose([...checkpoint.values()]);
model.eval();
const t0 = performance.now();
const flareFound: { boxes: Tensor; scores: Tensor; labels: Tensor }[] = [];
for (let s = 0; s < data.val.names.length; s += batchSize) {
  flareFound.push(...torch.tidy(() => torch.noGrad(() => {
    const [anchors, cls, bbox] = model.forward(data.val.images.index(`${s}:${s + batchSize}`).float()) as [Tensor, Tensor, Tensor];
    return detectionsFromOutput(anchors, cls, bbox).map((d) => ({ ...d, boxes: d.boxes.mul(side) }));
  })));
}
const flareInfer = data.val.names.length / ((performance.now() - t0) / 1000);
const flareScore = score(flareFound);
torch.dispose(flareFound);
model.dispose();

// ---- PyTorch: the book's code, same data, order and initial weights ----
const out = spawnSync(python, [script, dir, String(threads)], { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"], env: torchEnv });
if (out.status !== 0) throw new Error(`PyTorch side failed (status ${out.status})`);
const py = JSON.parse(out.stdout.trim().split("\n").pop()!) as { epoch_seconds: number[]; history: { class_err: number; bbox_mae: number }[]; inference_images_per_s: number; threads: number; version: string };
const td = load(path.join(dir, "torch_detections.safetensors"));
const counts = td.get("counts")!.tolist() as number[];
let offset = 0;
const torchFound = counts.map((c) => {
  const part = { boxes: td.get("boxes")!.narrow(0, offset, c), scores: td.get("scores")!.narrow(0, offset, c), labels: td.get("labels")!.narrow(0, offset, c) };
  offset += c;
  return part;
});
const torchScore = score(torchFound);

const pyLast = py.history[py.history.length - 1];
console.log(JSON.stringify({
  recipe: { epochs, batchSize, lr: 0.2, weightDecay: 5e-4, train: n, val: data.val.names.length, side, threads, torchMalloc, flareCpuCache: torch.cpu.memoryStats().enabled },
  book: { classErr: 3.2e-3, bboxMae: 3.1e-3 },
  flare: {
    classErr: last.train_class_err, bboxMae: last.train_bbox_mae, valMap50: flareScore.map50, valMap: flareScore.map,
    trainerValMap50: last.val_map50, epochSeconds: median(epochSeconds), inferenceImagesPerS: flareInfer,
  },
  pytorch: {
    version: py.version, classErr: pyLast.class_err, bboxMae: pyLast.bbox_mae, valMap50: torchScore.map50, valMap: torchScore.map,
    epochSeconds: median(py.epoch_seconds), inferenceImagesPerS: py.inference_images_per_s,
  },
  epochRatio: median(epochSeconds) / median(py.epoch_seconds),
  ...(timeSteps > 0 ? { interleaved: {
    flareStepSeconds: median(timing.flareStep), pytorchStepSeconds: median(timing.torchStep), stepRatio: median(timing.flareStep) / median(timing.torchStep),
    flareInferenceImagesPerS: batchSize / median(timing.flareInfer), pytorchInferenceImagesPerS: batchSize / median(timing.torchInfer),
    inferenceRatio: median(timing.torchInfer) / median(timing.flareInfer), raw: timing,
  } } : {}),
  perEpoch: { flare: history.map((h) => ({ seconds: n / (h as Record<string, number>).examples_per_s, classErr: h.train_class_err, bboxMae: h.train_bbox_mae, valMap50: h.val_map50 })), pytorch: py.history.map((h, e) => ({ seconds: py.epoch_seconds[e], ...h })) }
}, null, 2));
