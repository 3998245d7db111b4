// `flare demo`: every task of flare once, small, on bundled photos and generated
// data (d2l's computer-vision chapter in a few minutes): an augmentation grid, a
// short Fashion-MNIST training, the fine-tuning transfer experiment, TinySSD on
// bananas, FCN on shapes, style transfer. Each stage calls the same task functions
// as the CLI commands, writes its run folder under the demo folder, and the
// summary (times, numbers, the machine) goes to demo.json for the report.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import * as torch from "../tensor/index.js";
import type { Tensor } from "../tensor/index.js";
import { writeFileAtomic } from "../io/index.js";
import { makeProgress, type OutputMode, type EpochMetrics } from "../engine/index.js";
import { readImage, writeImage } from "../vision/io.js";
import { resize } from "../vision/transforms/functional.js";
import { saveImage } from "../vision/utils/grid.js";
import { loadFashionMnist, FASHION_MNIST_ROOT, FASHION_MNIST_CLASSES } from "../vision/datasets/fashion_mnist.js";
import { makeBananas } from "../vision/datasets/generators/index.js";
import { augment } from "./augment.js";
import { trainClassifier } from "./classify.js";
import { finetuneClassifier } from "./finetune_task.js";
import { trainDetector, detectionsFromOutput } from "./detect.js";
import { get as getModel } from "../vision/models/registry.js";
import { boxIou } from "../vision/ops/iou.js";
import { drawBoundingBoxes } from "../vision/utils/draw.js";
import { trainSegmenter, segmentImages } from "./segment.js";
import { stylize } from "./stylize.js";

export interface DemoOptions {
  /** The demo folder (default runs/demo); each stage's run folder goes under it. */
  out?: string;
  /** Tiny settings: seconds per stage (tests, a first look). */
  quick?: boolean;
  /** Fashion-MNIST's folder (default Debian's dataset-fashion-mnist); without its files stages 2 and 3 are skipped. */
  fashionMnistRoot?: string;
  output?: OutputMode;
}

export type StageNumbers = Record<string, number | string>;

export interface StageResult {
  key: string;
  title: string;
  /** The run folder, relative to the demo folder. */
  dir: string;
  status: "done" | "skipped";
  /** Why it was skipped, or what to know about its numbers. */
  note?: string;
  seconds: number;
  numbers: StageNumbers;
}

export interface DemoSummary {
  kind: "flare-demo";
  quick: boolean;
  started: string;
  seconds: number;
  /** The 1, 5 and 15-minute load averages at the start and at the end (the machine may be shared). */
  load: number[][];
  stages: StageResult[];
}

export const DEMO_OPTIONS = ["out", "quick", "fashionMnistRoot", "output"];

/** The bundled demo photos: data/demo/ next to the package (shipped in the tarball). */
export function demoAssets(): { content: string; style: string } {
  const candidates = [
    process.env.FLARE_ROOT ? path.join(process.env.FLARE_ROOT, "data", "demo") : "",
    fileURLToPath(new URL("../../../data/demo", import.meta.url)), // dist/src/tasks
    fileURLToPath(new URL("../../data/demo", import.meta.url)),    // src/tasks
  ];
  const dir = candidates.find((d) => d && existsSync(path.join(d, "chelsea.jpg")));
  if (!dir) throw new FlareError(`demo: the bundled photos (data/demo/chelsea.jpg, coffee.jpg) are missing; looked in ${candidates.filter(Boolean).join(", ")}`, "E_IO");
  return { content: path.join(dir, "chelsea.jpg"), style: path.join(dir, "coffee.jpg") };
}

/** Whether Fashion-MNIST's four IDX files (gzipped or not) are in root. */
function hasFashionMnist(root: string): boolean {
  return ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    .every((stem) => existsSync(path.join(root, stem)) || existsSync(path.join(root, `${stem}.gz`)));
}

/** Sizes of each stage: the full demo fits 5 minutes on 2 cores (README), quick takes seconds per stage. */
const SETTINGS = {
  full: {
    augment: { n: 8 },
    fashion: { limit: 4000, epochs: 2, width: 8, batchSize: 32, lr: 0.05 },
    transfer: { sourcePerClass: 150, targetPerClass: 20, testPerClass: 60, preEpochs: 2, ftEpochs: 4, width: 8 },
    // Batches of 8 at lr 0.2: many more steps for the same images than the book's 32 (mAP@0.5 ≈ 0.5 after 5-6 epochs here).
    detect: { count: 320, valCount: 32, imageSize: 64, epochs: 5, batchSize: 8, lr: 0.2 },
    segment: { size: 96, count: 128, valCount: 16, epochs: 3 },
    stylize: { size: [150, 225] as [number, number], steps: 40 },
  },
  quick: {
    augment: { n: 4 },
    fashion: { limit: 256, epochs: 1, width: 8, batchSize: 64, lr: 0.05 },
    transfer: { sourcePerClass: 20, targetPerClass: 6, testPerClass: 10, preEpochs: 1, ftEpochs: 1, width: 8 },
    detect: { count: 16, valCount: 8, imageSize: 64, epochs: 1, batchSize: 8, lr: 0.2 },
    segment: { size: 64, count: 8, valCount: 4, epochs: 1 },
    stylize: { size: [48, 72] as [number, number], steps: 3 },
  },
};
type Settings = typeof SETTINGS.full;

interface Context { out: string; settings: Settings; output: OutputMode; say: (line: string) => void; fashionRoot: string; photos: { content: string; style: string } }

interface Stage { key: string; title: string; run(ctx: Context, dir: string): Promise<{ numbers: StageNumbers; note?: string; skipped?: boolean }> }

/** The last epoch's metrics as numbers rounded for reading (the run folder keeps them exact). */
function lastEpoch(history: EpochMetrics[], keys: string[]): StageNumbers {
  const last = history[history.length - 1] ?? {};
  return Object.fromEntries(keys.filter((k) => Number.isFinite(last[k])).map((k) => [k, Number(last[k].toPrecision(4))]));
}

function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, Buffer.from(JSON.stringify(value, null, 2) + "\n"));
}

const STAGES: Stage[] = [
  {
    key: "augment", title: "Image augmentation (d2l 14.1)",
    async run(ctx, dir) {
      const n = ctx.settings.augment.n;
      const specs: [string, string][] = [
        ["flips", "RandomHorizontalFlip() | RandomVerticalFlip()"],
        ["crops", "RandomResizedCrop(120, scale=(0.1, 1), ratio=(0.5, 2))"],
        ["colors", "ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.5)"],
        ["combined", "RandomHorizontalFlip() | RandomResizedCrop(120, scale=(0.1, 1), ratio=(0.5, 2)) | ColorJitter(0.5, 0.5, 0.5, 0.5)"],
      ];
      const progress = makeProgress(ctx.output);
      progress.start(0, 1, specs.length);
      mkdirSync(dir, { recursive: true });
      for (const [i, [name, spec]] of specs.entries()) {
        // Resize(120) first, as the README's d2l 14.1 figures: a row of small pictures.
        await augment(ctx.photos.content, { transform: `Resize(120) | ${spec}`, n, nrow: n, seed: i + 1, out: path.join(dir, `${i + 1}-${name}.png`) });
        progress.step(i + 1, {});
      }
      writeJson(path.join(dir, "config.json"), { task: "augment", image: path.basename(ctx.photos.content), n, transforms: Object.fromEntries(specs.map(([k, s]) => [k, `Resize(120) | ${s}`])) });
      return { numbers: { grids: specs.length, "images per grid": n } };
    },
  },
  {
    key: "fashion-mnist", title: "Fashion-MNIST classification (d2l's ResNet-18, narrow)",
    async run(ctx, dir) {
      if (!hasFashionMnist(ctx.fashionRoot)) return { skipped: true, numbers: {}, note: `Fashion-MNIST is not in ${ctx.fashionRoot} (Debian's dataset-fashion-mnist, or --data-root DIR): stage skipped` };
      const s = ctx.settings.fashion;
      const { history } = await trainClassifier({
        data: "fashion-mnist", dataRoot: ctx.fashionRoot, model: "resnet18-small", width: s.width, limit: s.limit, epochs: s.epochs,
        batchSize: s.batchSize, lr: s.lr, momentum: 0.9, runsDir: path.dirname(dir), name: path.basename(dir), output: ctx.output,
      });
      return {
        numbers: { "training images": s.limit, "test images": s.limit, epochs: s.epochs, width: s.width, ...lastEpoch(history, ["train_loss", "train_acc", "val_loss", "val_acc"]) },
      };
    },
  },
  {
    key: "transfer", title: "Fine-tuning: the transfer experiment in small (d2l 14.2)",
    async run(ctx, dir) {
      if (!hasFashionMnist(ctx.fashionRoot)) return { skipped: true, numbers: {}, note: `Fashion-MNIST is not in ${ctx.fashionRoot}: stage skipped (its source and target classes come from it)` };
      const s = ctx.settings.transfer;
      // d2l's hot-dog lesson without a download: a body learns Fashion-MNIST classes 0-4
      // (source), then classes 5-9 are learnt from a few images per class, fine-tuned
      // (new head, 10x its lr) against the same network from scratch.
      const data = path.join(dir, "data");
      await writeClassFolders(ctx.fashionRoot, path.join(data, "source"), [0, 1, 2, 3, 4], s.sourcePerClass, 20);
      await writeClassFolders(ctx.fashionRoot, path.join(data, "target"), [5, 6, 7, 8, 9], s.targetPerClass, s.testPerClass);
      ctx.say("  pretraining on classes 0-4");
      const pre = await trainClassifier({ data: "imagefolder", dataRoot: path.join(data, "source"), model: "resnet18-small", width: s.width, epochs: s.preEpochs,
        batchSize: 32, lr: 0.05, momentum: 0.9, runsDir: dir, name: "pretrain", output: ctx.output });
      ctx.say("  fine-tuning on classes 5-9");
      const ft = await finetuneClassifier({ weights: path.join(pre.runDir, "model.safetensors"), arch: "resnet18-small", data: path.join(data, "target"),
        epochs: s.ftEpochs, batchSize: 16, lr: 0.01, headLrMult: 10, runsDir: dir, name: "finetune", output: ctx.output });
      ctx.say("  the same network from scratch on classes 5-9");
      const scratch = await trainClassifier({ data: "imagefolder", dataRoot: path.join(data, "target"), model: "resnet18-small", width: s.width, epochs: s.ftEpochs,
        batchSize: 16, lr: 0.1, momentum: 0.9, runsDir: dir, name: "scratch", output: ctx.output });
      const last = (h: EpochMetrics[]) => h[h.length - 1]?.val_acc ?? NaN;
      const numbers = {
        "source images (classes 0-4)": 5 * s.sourcePerClass, "target training images (classes 5-9)": 5 * s.targetPerClass, "target test images": 5 * s.testPerClass,
        "pretrained body: val_acc on classes 0-4": Number(last(pre.history).toPrecision(4)),
        "fine-tuned: val_acc on classes 5-9": Number(last(ft.history).toPrecision(4)), "from scratch: val_acc on classes 5-9": Number(last(scratch.history).toPrecision(4)),
      };
      writeJson(path.join(dir, "config.json"), { task: "transfer", width: s.width, preEpochs: s.preEpochs, epochs: s.ftEpochs, runs: ["pretrain", "finetune", "scratch"] });
      writeJson(path.join(dir, "result.json"), numbers);
      return { numbers };
    },
  },
  {
    key: "detect", title: "Object detection: TinySSD on generated bananas (d2l 14.7)",
    async run(ctx, dir) {
      const s = ctx.settings.detect;
      const data = path.join(ctx.out, "data", `bananas-book-${s.count}-${s.imageSize}px`);
      if (!existsSync(path.join(data, "manifest.json"))) await makeBananas({ out: data, count: s.count, valCount: s.valCount, size: s.imageSize, seed: 0 });
      const { history, runDir } = await trainDetector({
        data: "bananas", dataRoot: data, model: "tiny-ssd", size: s.imageSize, epochs: s.epochs, batchSize: s.batchSize, lr: s.lr,
        runsDir: path.dirname(dir), name: path.basename(dir), output: ctx.output,
      });
      const shown = await drawBananaDetections(data, path.join(runDir, "model.safetensors"), Math.min(8, s.valCount), path.join(dir, "detections.png"));
      return {
        numbers: { "training images": s.count, "validation images": s.valCount, side: s.imageSize, epochs: s.epochs,
          ...lastEpoch(history, ["train_class_err", "train_bbox_mae", "val_map50", "val_map"]),
          [`mean IoU of the top detection with the banana (${shown.n} images drawn)`]: Number(shown.meanIou.toPrecision(3)) },
      };
    },
  },
  {
    key: "segment", title: "Semantic segmentation: FCN on generated shapes (d2l 14.11)",
    async run(ctx, dir) {
      const s = ctx.settings.segment;
      const data = path.join(ctx.out, "data", `shapes-${s.count}-${s.size}px`);
      const { history, runDir } = await trainSegmenter({
        data: "shapes", dataRoot: data, size: s.size, count: s.count, valCount: s.valCount, epochs: s.epochs, batchSize: 8,
        runsDir: path.dirname(dir), name: path.basename(dir), output: ctx.output,
      });
      const images = Array.from({ length: Math.min(4, s.valCount) }, (_, i) => path.join(data, "JPEGImages", `val_${i}.jpg`)).filter((f) => existsSync(f));
      if (images.length) await segmentImages(images, { weights: path.join(runDir, "model.safetensors"), out: path.join(dir, "masks") });
      return {
        numbers: { "training images": s.count, "validation images": s.valCount, side: s.size, epochs: s.epochs,
          ...lastEpoch(history, ["train_loss", "val_pixel_acc", "val_miou"]) },
      };
    },
  },
  {
    key: "stylize", title: "Neural style transfer (d2l 14.12)",
    async run(ctx, dir) {
      const s = ctx.settings.stylize;
      mkdirSync(dir, { recursive: true });
      const out = path.join(dir, "stylized.png");
      const result = await stylize({ content: ctx.photos.content, style: [ctx.photos.style], out, size: s.size, steps: s.steps, every: 0,
        curves: path.join(dir, "losses.svg"), output: ctx.output });
      // Content, style and result side by side, at the size the loop saw them.
      const pictures = await Promise.all([ctx.photos.content, ctx.photos.style, out].map((f) => readImage(f, { mode: "rgb" })));
      const shown = torch.tidy(() => pictures.map((p) => resize(p, s.size, { antialias: true })));
      try { await saveImage(shown, path.join(dir, "content-style-result.png"), { nrow: 3, padding: 4, padValue: 255 }); } finally { torch.dispose([...pictures, ...shown]); }
      const numbers = {
        steps: result.steps, size: `${s.size[0]}x${s.size[1]}`, "seconds per step": Number(result.secondsPerStep.toPrecision(3)),
        "content loss": Number(result.final.content.toPrecision(4)), "style loss": Number(result.final.style.toPrecision(4)), "tv loss": Number(result.final.tv.toPrecision(4)),
        "Gram distance to the style, start": Number(result.gramDistance.start.toPrecision(4)), "Gram distance, end": Number(result.gramDistance.end.toPrecision(4)),
      };
      writeJson(path.join(dir, "config.json"), { task: "stylize", content: path.basename(ctx.photos.content), style: path.basename(ctx.photos.style), size: s.size, steps: s.steps, features: result.features });
      writeJson(path.join(dir, "result.json"), numbers);
      return { numbers };
    },
  },
];

/**
 * d2l 14.7's picture (as examples/detection_pictures.ts draws it): the first n validation
 * bananas at 4× size, each with its true box (white) and the model's most confident
 * detection (red, with its score) — every image holds exactly one banana.
 */
async function drawBananaDetections(data: string, weights: string, n: number, out: string): Promise<{ n: number; meanIou: number }> {
  const rows = readFileSync(path.join(data, "bananas_val", "label.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
  const truth = new Map(rows.map((r) => [r[0], r.slice(2, 6).map(Number)]));
  const model = getModel("tiny-ssd", { weights });
  model.eval();
  const tiles: Tensor[] = [];
  let iouSum = 0;
  try {
    for (let i = 0; i < n; i++) {
      const name = `${i}.png`;
      const image = await readImage(path.join(data, "bananas_val", "images", name), { mode: "rgb" });
      const [, h, w] = image.shape;
      const gt = truth.get(name);
      if (!gt) throw new FlareError(`demo: ${path.join(data, "bananas_val", "label.csv")} has no row for ${name}`, "E_FORMAT");
      const top = torch.tidy(() => torch.noGrad(() => {
        const [anchors, cls, bbox] = model.forward(image.float().unsqueeze(0)) as [Tensor, Tensor, Tensor];
        const [d] = detectionsFromOutput(anchors, cls, bbox);
        if (d.scores.shape[0] === 0) return undefined;
        const k = d.scores.argmax().item() as number;
        const box = d.boxes.index(k).mul(torch.tensor([w, h, w, h]));
        return { box: box.tolist() as number[], score: d.scores.index(k).item() as number, iou: boxIou(box.unsqueeze(0), torch.tensor([gt])).item() as number };
      }));
      iouSum += top?.iou ?? 0;
      const big = resize(image, [h * 4, w * 4], { interpolation: "nearest" });
      const boxes = [gt, ...(top ? [top.box] : [])].map((b) => b.map((v) => v * 4));
      tiles.push(drawBoundingBoxes(big, boxes, { colors: ["white", "red"].slice(0, boxes.length), labels: [null, ...(top ? [top.score.toFixed(2)] : [])], width: 2, fontSize: 16 }));
      torch.dispose([image, big]);
    }
    await saveImage(tiles, out, { nrow: 4, padding: 4, padValue: 255 });
  } finally {
    torch.dispose(tiles);
    model.dispose();
  }
  return { n, meanIou: n ? iouSum / n : NaN };
}

/** Writes Fashion-MNIST images of the given classes as PNG folders: root/train/<class>/, root/test/<class>/ (the first images of each class). */
async function writeClassFolders(fashionRoot: string, root: string, classes: number[], trainPerClass: number, testPerClass: number): Promise<void> {
  for (const [split, perClass] of [["train", trainPerClass], ["test", testPerClass]] as const) {
    const { images, labels } = loadFashionMnist({ root: fashionRoot, train: split === "train" });
    try {
      const y = labels.tolist() as number[];
      for (const c of classes) {
        const folder = path.join(root, split, FASHION_MNIST_CLASSES[c]);
        mkdirSync(folder, { recursive: true });
        const picked = y.flatMap((label, i) => (label === c ? [i] : [])).slice(0, perClass);
        for (const i of picked) {
          const image = images.index(i);
          try { await writeImage(image, path.join(folder, `${i}.png`)); } finally { image.dispose(); }
        }
      }
    } finally {
      torch.dispose([images, labels]);
    }
  }
}

/** The stage folders' names under the demo folder: "1-augment" ... "6-stylize". */
export const DEMO_STAGES = STAGES.map((s, i) => ({ key: s.key, title: s.title, dir: `${i + 1}-${s.key}` }));

/** Runs every stage (each in its own run folder under `out`) and writes out/demo.json; a stage that fails stops the demo. */
export async function runDemo(options: DemoOptions = {}, say: (line: string) => void = (line) => process.stdout.write(line + "\n")): Promise<DemoSummary> {
  checkOptions(options, DEMO_OPTIONS, "runDemo()");
  const out = options.out ?? path.join("runs", "demo");
  const quick = options.quick ?? false;
  const ctx: Context = {
    out, settings: quick ? SETTINGS.quick : SETTINGS.full, output: options.output ?? "auto", say,
    fashionRoot: options.fashionMnistRoot ?? FASHION_MNIST_ROOT, photos: demoAssets(),
  };
  try { mkdirSync(out, { recursive: true }); } catch (error) {
    throw new FlareError(`demo: cannot make the demo folder ${out}: ${(error as NodeJS.ErrnoException).code === "EEXIST" || (error as NodeJS.ErrnoException).code === "ENOTDIR" ? "a file is in the way" : (error as Error).message}`, "E_IO");
  }
  const started = new Date();
  const loadStart = loadavg().map((v) => Number(v.toFixed(2)));
  const t0 = performance.now();
  const stages: StageResult[] = [];
  for (const [i, stage] of STAGES.entries()) {
    const dir = path.join(out, DEMO_STAGES[i].dir);
    // A new demo replaces the stage's previous folder (only the demo's own folder names are removed).
    rmSync(dir, { recursive: true, force: true });
    say(`[${i + 1}/${STAGES.length}] ${stage.title}`);
    const t = performance.now();
    const r = await stage.run(ctx, dir);
    const seconds = (performance.now() - t) / 1000;
    stages.push({ key: stage.key, title: stage.title, dir: DEMO_STAGES[i].dir, status: r.skipped ? "skipped" : "done", seconds, numbers: r.numbers, ...(r.note ? { note: r.note } : {}) });
    say(r.skipped ? `  skipped: ${r.note}` : `  done in ${seconds.toFixed(1)} s: ${Object.entries(r.numbers).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  }
  const summary: DemoSummary = { kind: "flare-demo", quick, started: started.toISOString(), seconds: (performance.now() - t0) / 1000,
    load: [loadStart, loadavg().map((v) => Number(v.toFixed(2)))], stages };
  writeJson(path.join(out, "demo.json"), summary);
  return summary;
}
