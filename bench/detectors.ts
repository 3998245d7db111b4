// The detector family side by side on the same generated `objects` set (4
// classes, 2..5 objects per image, small / medium / large by COCO's areas in
// the 256² originals), each trained from scratch by the real `flare train
// detect` path (trainDetector, the model's SGD recipe) for the same epochs at
// the same input side, then evaluated by evaluateDetector (COCOeval's 12 numbers):
//   - mAP, mAP@0.5, mAP small / medium / large on the validation images;
//   - training seconds per epoch (training pass only: count / the Trainer's examples_per_s; the median
//     epoch, so that a moment of other work on the machine does not move it);
//   - inference images per second (model forward + postprocessing, batches of 16, eval mode, no grad).
// Every registered detection model in DETECTORS that models.list() knows is run,
// so fasterrcnn-resnet18-fpn joins once it is registered.
// Usage: node dist/bench/detectors.js [--epochs 3] [--count 256] [--val-count 64] [--size 128] [--threads 2] [--only a,b]
//   [--model-option ARCH:KEY=VALUE ...]  (a model's option, as `flare train detect --model-option KEY=VALUE`)
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { models } from "../src/vision/index.js";
import { trainDetector, evaluateDetector, detectionsFromOutput, detectorSizing, isBookDetector } from "../src/tasks/detect.js";
import { loadDetectionData, disposeSplit } from "../src/tasks/detect_data.js";
import { numFlag } from "./flags.js";
import { keyValueFlag } from "../src/cli/flags.js";

const DETECTORS = ["tiny-ssd", "ssd-resnet18", "yolo-resnet18", "fasterrcnn-resnet18-fpn"];
const epochs = numFlag("epochs", 3), count = numFlag("count", 256), valCount = numFlag("val-count", 64), size = numFlag("size", 128), threads = numFlag("threads", 2);
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt > 0 ? process.argv[onlyAt + 1].split(",") : undefined;
const batchSize = 16, seed = 0, runsDir = "/tmp/flare-bench-detectors";
// --model-option ARCH:KEY=VALUE, read as flare train detect reads its --model-option KEY=VALUE.
const optionItems: Record<string, string[]> = {};
process.argv.forEach((arg, i) => {
  if (arg !== "--model-option") return;
  const m = /^([^:=]+):(.*)$/.exec(process.argv[i + 1] ?? "");
  if (!m) throw new Error(`--model-option takes ARCH:KEY=VALUE, got ${process.argv[i + 1]}`);
  (optionItems[m[1]] ??= []).push(m[2]);
});
const modelOptions = Object.fromEntries(Object.entries(optionItems).map(([arch, items]) => [arch, keyValueFlag(items, "bench/detectors", "model-option")]));
torch.setNumThreads(threads);
const known = new Set(models.list());
const names = DETECTORS.filter((n) => known.has(n) && (!only || only.includes(n)));
const skipped = DETECTORS.filter((n) => !known.has(n));

const common = { data: "objects" as const, count, valCount, imageSize: 256, size, seed };
const val = (await loadDetectionData({ ...common, valOnly: true })).val;

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/** Images per second of forward + postprocessing over the validation images, in eval mode. */
function inferenceRate(weights: string, arch: string): number {
  const model = models.get(arch, { weights, ...detectorSizing(arch, size), ...modelOptions[arch] });
  model.eval();
  const book = isBookDetector(model);
  const n = val.names.length;
  const run = (limit: number) => {
    for (let start = 0; start < limit; start += batchSize) {
      torch.tidy(() => torch.noGrad(() => {
        const x = val.images.narrow(0, start, Math.min(batchSize, limit - start)).float();
        if (book) {
          const [anchors, cls, bbox] = model.forward(x) as [Tensor, Tensor, Tensor];
          detectionsFromOutput(anchors, cls, bbox);
        } else model.forward(x.div(255).unbind(0));
      }));
    }
  };
  run(Math.min(batchSize, n)); // warm-up
  const t0 = performance.now();
  run(n);
  const seconds = (performance.now() - t0) / 1000;
  model.dispose();
  return n / seconds;
}

const rows: Record<string, unknown>[] = [];
for (const arch of names) {
  const t0 = performance.now();
  const { history, runDir } = await trainDetector({ ...common, model: arch, epochs, batchSize, runsDir, name: arch, output: "silent", ...(modelOptions[arch] ? { modelOptions: modelOptions[arch] } : {}) });
  const wall = (performance.now() - t0) / 1000;
  const trainSeconds = history.map((h) => count / h.examples_per_s);
  const evaluated = await evaluateDetector({ weights: `${runDir}/model.safetensors`, model: arch, data: "objects", count, valCount, imageSize: 256, size, seed, batchSize });
  const n = evaluated.named;
  const row = {
    model: arch, epochs, ...(modelOptions[arch] ? { modelOptions: modelOptions[arch] } : {}), map: n.map, map50: n.map50, mapSmall: n.mapSmall, mapMedium: n.mapMedium, mapLarge: n.mapLarge,
    trainSecondsPerEpoch: median(trainSeconds), wallSeconds: wall,
    inferenceImagesPerSecond: inferenceRate(`${runDir}/model.safetensors`, arch), finalTrainLoss: history[history.length - 1].train_loss,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
disposeSplit(val);

const f = (v: unknown, d = 3) => (typeof v === "number" ? (v < 0 ? "n/a" : v.toFixed(d)) : "-");
console.log(`\nobjects set: ${count} train / ${valCount} val images (256² originals) at ${size}², ${epochs} epochs from scratch, batch ${batchSize}, ${threads} threads` +
  (skipped.length ? `; not registered: ${skipped.join(", ")}` : ""));
console.log("| model | mAP | mAP@0.5 | mAP small | mAP medium | mAP large | train s/epoch | inference img/s |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.model} | ${f(r.map)} | ${f(r.map50)} | ${f(r.mapSmall)} | ${f(r.mapMedium)} | ${f(r.mapLarge)} | ${f(r.trainSecondsPerEpoch, 1)} | ${f(r.inferenceImagesPerSecond, 1)} |`);
