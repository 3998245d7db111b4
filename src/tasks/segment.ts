// Semantic segmentation as a task: its step (per-pixel cross entropy, 255
// ignored; torchvision's aux head weighted 0.5), its metrics (pixel accuracy and
// mIoU from a confusion matrix), the data (the generated shapes set, or Pascal
// VOC with the book's joint random crop), training, evaluation and prediction
// (what `flare train segment`, `flare eval segment` and `flare segment` run).
import { existsSync, readFileSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import * as torch from "../tensor/index.js";
import { Tensor } from "../tensor/index.js";
import { SGD, Adam } from "../optim/index.js";
import { CosineAnnealingLR } from "../optim/lr_scheduler.js";
import { crossEntropy } from "../nn/functional.js";
import type { Module } from "../nn/index.js";
import { Trainer, type Step, type StepResult, type EpochMetrics } from "../engine/index.js";
import { VOCSegmentation } from "../vision/datasets/voc.js";
import { makeShapes, SHAPE_CLASSES } from "../vision/datasets/generators/index.js";
import { get as getModel, info, list } from "../vision/models/registry.js";
import "../vision/models/segmentation/register.js";
import { SegmentationMetric } from "../vision/metrics/segmentation.js";
import { normalize } from "../vision/transforms/functional.js";
import { readImage, writeImage } from "../vision/io.js";
import { VOC_CLASSES, colorizeLabelMap, drawSegmentationMasks, VOC_COLORMAP } from "../vision/utils/index.js";
import type { SgdRunOptions } from "./run_options.js";

export const IGNORE_INDEX = 255;

export interface SegmentationStepOptions {
  /** Target value left out of the loss (255, VOC's borders). */
  ignoreIndex?: number;
  /** Weight of the auxiliary head's loss when the model returns { out, aux } (torchvision's 0.5). */
  auxWeight?: number;
  /**
   * "mean" (default): the mean over every labelled pixel of the batch (torchvision's);
   * "book": each image's mean pixel loss, summed over the batch (d2l's train_ch13:
   * its lr is per image, so it acts batch-size times larger than with "mean").
   */
  reduction?: "mean" | "book";
}

function pixelLoss(logits: Tensor, target: Tensor, ignoreIndex: number, reduction: "mean" | "book"): Tensor {
  if (reduction === "mean") return crossEntropy(logits, target, { ignoreIndex });
  // reduction none gives 0 on ignored pixels; the book then takes mean(1).mean(1) and sums.
  return crossEntropy(logits, target, { ignoreIndex, reduction: "none" }).mean(1).mean(1).sum();
}

function checkBatch(batch: unknown): [Tensor, Tensor] {
  if (!Array.isArray(batch) || batch.length !== 2 || !(batch[0] instanceof Tensor) || !(batch[1] instanceof Tensor))
    throw new FlareError("segmentation step: a batch must be [images N×3×H×W, labels N×H×W]", "E_ARGUMENT");
  const [x, y] = batch as [Tensor, Tensor];
  if (x.dim() !== 4 || y.dim() !== 3 || x.shape[0] !== y.shape[0] || x.shape[2] !== y.shape[1] || x.shape[3] !== y.shape[2])
    throw new FlareError(`segmentation step: images [${x.shape.join(", ")}] and labels [${y.shape.join(", ")}] must be N×C×H×W and N×H×W of the same N, H, W`, "E_SHAPE");
  return [x, y];
}

/** The segmentation step on [images, labels] batches: per-pixel cross entropy; preds are the scores (out). */
export function segmentationStep(options: SegmentationStepOptions = {}): Step {
  checkOptions(options, ["ignoreIndex", "auxWeight", "reduction"], "segmentationStep()");
  const ignoreIndex = options.ignoreIndex ?? IGNORE_INDEX, auxWeight = options.auxWeight ?? 0.5, reduction = options.reduction ?? "mean";
  if (reduction !== "mean" && reduction !== "book") throw new FlareError(`segmentationStep(): reduction must be "mean" or "book", got ${JSON.stringify(reduction)}`, "E_ARGUMENT");
  const run = (model: Module, batch: unknown): StepResult => {
    const [x, y] = checkBatch(batch);
    const output = model.forward(x) as Tensor | { out: Tensor; aux?: Tensor };
    const out = output instanceof Tensor ? output : output.out;
    if (!(out instanceof Tensor) || out.dim() !== 4 || out.shape[2] !== y.shape[1] || out.shape[3] !== y.shape[2])
      throw new FlareError(`segmentation step: the model's scores must be N×C×H×W at the labels' size ${y.shape[1]}×${y.shape[2]}, got ${out instanceof Tensor ? `[${out.shape.join(", ")}]` : typeof out} (FCN needs sides that are multiples of 32)`, "E_SHAPE");
    let loss = pixelLoss(out, y, ignoreIndex, reduction);
    if (!(output instanceof Tensor) && output.aux) loss = loss.add(pixelLoss(output.aux, y, ignoreIndex, reduction).mul(auxWeight));
    return { loss, preds: out, target: y, size: x.shape[0] };
  };
  return { trainStep: run, evalStep: run };
}

/** Segmentation's metrics: pixel_acc and miou (plus iou_<class> with perClass). */
export function segmentationMetrics(numClasses: number, options: { perClass?: boolean; classNames?: readonly string[] } = {}): SegmentationMetric[] {
  return [new SegmentationMetric(numClasses, { ignoreIndex: IGNORE_INDEX, ...checkOptions(options, ["perClass", "classNames"], "segmentationMetrics()") })];
}

// ---- data ------------------------------------------------------------------------------

export type SegmentData = "shapes" | "voc";

export interface SegmentDataOptions {
  data: SegmentData;
  /** shapes: the generated set's folder (made if missing, SEGMENT_SHAPES; default <runsDir>/segment-shapes-<size>); voc: the VOC2012 folder. */
  dataRoot?: string;
  /** The book's joint random crop [height, width] (VOC default [320, 480]; shapes: none, images are whole). */
  crop?: [number, number];
  /** Generated shapes: image side (default 160), training and validation images (default SEGMENT_COUNT and 100). */
  size?: number;
  count?: number;
  valCount?: number;
  /** Use only the first N training and validation images. */
  limit?: number;
  batchSize?: number;
  seed?: number;
  runsDir?: string;
  /** Load only the validation split (evaluation): train then yields no batches. */
  valOnly?: boolean;
  /**
   * Random symmetries of the training images and their labels, drawn per image from (seed, epoch):
   * "dihedral" (flips across either axis and, for square images, the transpose: the 8 turns and
   * mirrorings, which keep every shape its class; the default for shapes), "hflip" (left-right only),
   * "none" (the default for VOC, as the book: its crop only).
   */
  augment?: SegmentAugment;
}

export type SegmentAugment = "dihedral" | "hflip" | "none";
const AUGMENTS: readonly SegmentAugment[] = ["dihedral", "hflip", "none"];

export interface SegmentSplits {
  train: (epoch: number) => AsyncIterable<[Tensor, Tensor]> & { length: number };
  val: (epoch: number) => AsyncIterable<[Tensor, Tensor]> & { length: number };
  classes: string[];
  root: string;
  /** Images left out for being smaller than the crop (the book's filter), per split. */
  filtered: { train: number; val: number };
  /** The training symmetries in effect (the option, or its default for the set). */
  augment: SegmentAugment;
  dispose(): void;
}

const MEAN = [0.485, 0.456, 0.406], STD = [0.229, 0.224, 0.225];

/** Images as the book feeds them: x/255, then ImageNet mean and std. */
function normalizeBatch(images: Tensor): Tensor {
  return normalize(images.float().div(255), MEAN, STD);
}

/**
 * The shapes set this task generates when its folder has none (makeShapes' options besides out, count and
 * seed): 160×160 images, 1 or 2 shapes of 45–85% of the side placed clear of each other, 2 pixels of 255
 * (ignored) each side of every outline. Why not makeShapes' defaults (256², [0.2, 0.6], 1–4 shapes, 1-pixel borders): the book's FCN
 * predicts at 1/32 of the input (5×5 at 160²) and draws every boundary through its ×32 transposed
 * convolution, so a shape must span a few of those cells to be drawn at all; with 128² images and the
 * default sizes even ideal 1/32 scores, upsampled bilinearly, reach only mIoU ≈ 0.72 on the validation
 * images (0.905 on this set; bench/segment_ceiling.py). The classes, fills, backgrounds, turns and positions are makeShapes' own.
 */
export const SEGMENT_SHAPES = { size: 160, scale: [0.45, 0.85] as [number, number], shapesPerImage: [1, 2] as [number, number], ignoreBorder: 2, overlap: false };

/** The shapes set under dir, generated first (SEGMENT_SHAPES) when it has no manifest. */
async function shapesRoot(o: SegmentDataOptions): Promise<string> {
  const size = o.size ?? SEGMENT_SHAPES.size;
  const dir = o.dataRoot ?? path.join(o.runsDir ?? "runs", `segment-shapes-${size}`);
  if (existsSync(path.join(dir, "manifest.json"))) {
    const manifest = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as { kind?: string };
    if (manifest.kind !== "shapes") throw new FlareError(`train segment: ${dir} holds a '${manifest.kind}' set, not shapes`, "E_ARGUMENT");
    return dir;
  }
  if (existsSync(path.join(dir, "ImageSets", "Segmentation"))) return dir;  // a VOC-style folder made elsewhere
  mkdirSync(dir, { recursive: true });
  await makeShapes({ ...SEGMENT_SHAPES, out: dir, size, count: o.count ?? SEGMENT_COUNT, valCount: o.valCount ?? 100, seed: o.seed ?? 0 });
  return dir;
}

/** Loads a whole split once (same-size images): uint8 N×3×H×W and int64 N×H×W, kept. */
async function loadAll(ds: VOCSegmentation, n: number): Promise<[Tensor, Tensor]> {
  const images: Tensor[] = [], labels: Tensor[] = [];
  try {
    let shape: number[] | undefined;
    for (let i = 0; i < n; i++) {
      const [x, y] = await ds.get(i);
      images.push(x); labels.push(y);
      if (shape && shape.join() !== x.shape.join())
        throw new FlareError(`train segment: ${ds.imagePath(ds.ids[i])} is ${x.shape[2]}×${x.shape[1]} but the first image is ${shape[2]}×${shape[1]}; images of several sizes need a crop (--crop H,W)`, "E_SHAPE");
      shape = x.shape;
    }
    return torch.tidy(() => [torch.keep(torch.stack(images)), torch.keep(torch.stack(labels))]) as [Tensor, Tensor];
  } finally {
    torch.dispose([...images, ...labels]);
  }
}

function orderOf(n: number, shuffle: boolean, seed: number, epoch: number): number[] {
  return shuffle ? new torch.Generator(seed * 1000 + epoch + 1).permutation(n) : Array.from({ length: n }, (_, i) => i);
}

/**
 * Image k of the batch (…×H×W) and its labels turned by symmetry codes[k]: bit 0 mirrors left-right,
 * bit 1 top-bottom, bit 2 transposes (square images only); 0 leaves it.
 */
function applySymmetries(images: Tensor, labels: Tensor, codes: number[]): [Tensor, Tensor] {
  if (codes.every((c) => c === 0)) return [images, labels];
  const turn = (t: Tensor, code: number) => {
    const dims = [...(code & 1 ? [-1] : []), ...(code & 2 ? [-2] : [])];
    const flipped = dims.length ? t.flip(dims) : t;
    return code & 4 ? flipped.transpose(-1, -2) : flipped;
  };
  const x = codes.map((c, k) => turn(images.select(0, k), c)), y = codes.map((c, k) => turn(labels.select(0, k), c));
  return [torch.stack(x), torch.stack(y)];
}

/** Batches of tensors in memory (whole images), with the training symmetries drawn from (seed, epoch). */
function memoryBatches(images: Tensor, labels: Tensor, batchSize: number, shuffle: boolean, seed: number, dropLast: boolean, augment: SegmentAugment = "none") {
  const n = images.shape[0];
  const count = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  const square = images.shape[2] === images.shape[3];
  const symmetries = augment === "dihedral" ? (square ? 8 : 4) : augment === "hflip" ? 2 : 1;
  return (epoch: number) => ({
    length: count,
    async *[Symbol.asyncIterator](): AsyncGenerator<[Tensor, Tensor]> {
      const order = orderOf(n, shuffle, seed, epoch);
      const draws = new torch.Generator(seed * 1000 + epoch + 500_001);
      for (let b = 0; b < count; b++) {
        const picked = order.slice(b * batchSize, (b + 1) * batchSize);
        const codes = picked.map(() => (symmetries > 1 ? draws.randint(0, symmetries) : 0));
        yield torch.tidy(() => {
          const index = torch.tensor(picked, { dtype: "int64" });
          const [x, y] = applySymmetries(images.indexSelect(0, index), labels.indexSelect(0, index), codes);
          return [normalizeBatch(x), y] as [Tensor, Tensor];
        });
      }
    },
  });
}

/** Batches read from disk with the book's random crop; the crop windows are drawn from (seed, epoch), so a resumed run sees the same. */
function cropBatches(ds: VOCSegmentation, generator: torch.Generator, n: number, batchSize: number, shuffle: boolean, seed: number) {
  const count = Math.floor(n / batchSize);  // the book's loaders drop the last partial batch (train and test)
  return (epoch: number) => ({
    length: count,
    async *[Symbol.asyncIterator](): AsyncGenerator<[Tensor, Tensor]> {
      const order = orderOf(n, shuffle, seed, epoch);
      generator.manualSeed(seed * 7919 + epoch * 2 + (shuffle ? 1 : 0));
      for (let b = 0; b < count; b++) {
        const items: Tensor[] = [];
        try {
          for (const i of order.slice(b * batchSize, (b + 1) * batchSize)) items.push(...(await ds.get(i)));
          yield torch.tidy(() => [normalizeBatch(torch.stack(items.filter((_, k) => k % 2 === 0))), torch.stack(items.filter((_, k) => k % 2 === 1))] as [Tensor, Tensor]);
        } finally {
          torch.dispose(items);
        }
      }
    },
  });
}

/** The training and validation batches of a segmentation set, normalised as the book does. */
export async function segmentationData(o: SegmentDataOptions): Promise<SegmentSplits> {
  const what = "train segment";
  if (o.data !== "shapes" && o.data !== "voc") throw new FlareError(`${what}: unknown dataset '${o.data}' (shapes [DIR] or voc DIR)`, "E_ARGUMENT");
  const batchSize = o.batchSize ?? 16, seed = o.seed ?? 0;
  const augment = o.augment ?? (o.data === "shapes" && o.crop === undefined ? "dihedral" : "none");
  if (!AUGMENTS.includes(augment)) throw new FlareError(`${what}: augment must be ${AUGMENTS.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(o.augment)}`, "E_ARGUMENT");
  if ((o.crop !== undefined || o.data === "voc") && augment !== "none")
    throw new FlareError(`${what}: augment "${augment}" works on whole images in memory (shapes without --crop); the cropped path takes "none"`, "E_ARGUMENT");
  let root: string, classes: string[], crop = o.crop;
  if (o.data === "voc") {
    if (!o.dataRoot) throw new FlareError(`${what}: voc needs its folder (--data voc DIR: VOC2012, or a folder holding VOCdevkit/VOC2012)`, "E_ARGUMENT");
    root = o.dataRoot; classes = [...VOC_CLASSES]; crop = crop ?? [320, 480];
  } else {
    root = await shapesRoot(o); classes = [...SHAPE_CLASSES];
  }
  const generator = new torch.Generator(seed);
  const open = (imageSet: string) => new VOCSegmentation({ root, imageSet, ...(crop ? { crop, generator } : {}), colormap: VOC_COLORMAP.slice(0, classes.length) });
  const trainSet = open("train"), valSet = open("val");
  const limit = (ds: VOCSegmentation) => Math.min(ds.length, o.limit ?? Infinity);
  const [nTrain, nVal] = [limit(trainSet), limit(valSet)];
  if ((nTrain === 0 && !o.valOnly) || nVal === 0) throw new FlareError(`${what}: ${root} has ${nTrain} training and ${nVal} validation images (after the crop filter); both splits need some`, "E_ARGUMENT");
  if (crop && nTrain < batchSize && !o.valOnly) throw new FlareError(`${what}: ${nTrain} training images make no full batch of ${batchSize} (the book drops the last partial batch); lower --batch-size`, "E_ARGUMENT");
  const filtered = { train: trainSet.filtered.length, val: valSet.filtered.length };
  if (crop) {
    return {
      train: cropBatches(trainSet, generator, nTrain, batchSize, true, seed),
      val: cropBatches(valSet, generator, nVal, Math.min(batchSize, nVal), false, seed),
      classes, root, filtered, augment, dispose() {},
    };
  }
  if (o.valOnly) {
    const [vx, vy] = await loadAll(valSet, nVal);
    const none = () => ({ length: 0, async *[Symbol.asyncIterator](): AsyncGenerator<[Tensor, Tensor]> { /* no training batches */ } });
    return { train: none, val: memoryBatches(vx, vy, batchSize, false, seed, false), classes, root, filtered, augment, dispose() { torch.dispose([vx, vy]); } };
  }
  const [tx, ty] = await loadAll(trainSet, nTrain);
  const [vx, vy] = await loadAll(valSet, nVal).catch((error) => { torch.dispose([tx, ty]); throw error; });
  return {
    train: memoryBatches(tx, ty, batchSize, true, seed, false, augment),
    val: memoryBatches(vx, vy, batchSize, false, seed, false),
    classes, root, filtered, augment, dispose() { torch.dispose([tx, ty, vx, vy]); },
  };
}

// ---- training -------------------------------------------------------------------------

export interface SegmentOptions extends Omit<SegmentDataOptions, "batchSize" | "seed" | "runsDir">, SgdRunOptions {
  /** A segmentation model models.get knows (fcn-resnet18, fcn8s-resnet18, fcn-resnet50). */
  model?: string;
  /** ResNet-18 classification weights for the FCN body (the book starts from ImageNet's). */
  backboneWeights?: string;
  /** fcn-resnet50: train the auxiliary head too. */
  auxLoss?: boolean;
  /** "adam" (default: torch.optim.Adam, lr 1e-3, no weight decay) or "sgd" (the book's optimizer; flare's defaults for it: lr 0.05, momentum 0.9, weight decay 1e-4). */
  optimizer?: "adam" | "sgd";
  /** "cosine" (default) or "constant" (the book's). */
  schedule?: "cosine" | "constant";
  /** The loss's reduction: "mean" (default) or "book" (see SegmentationStepOptions). */
  loss?: "mean" | "book";
}

export const SEGMENT_OPTIONS = ["data", "dataRoot", "crop", "size", "count", "valCount", "limit", "augment", "model", "backboneWeights", "auxLoss", "epochs", "batchSize",
  "optimizer", "lr", "momentum", "weightDecay", "schedule", "loss", "seed", "runsDir", "name", "resume", "tensorboard", "output"];

/**
 * The default recipe, measured on the generated set (README): the book's FCN trains from scratch here (no
 * ImageNet body to download), and from scratch Adam at 1e-3 learns the shapes in far fewer steps than the
 * book's SGD (lr 1e-3, which it uses to fine-tune a pretrained body) or SGD at 0.05 with momentum.
 */
export const SEGMENT_RECIPE = { optimizer: "adam" as const, epochs: 5, batchSize: 8, adamLr: 1e-3, sgdLr: 0.05 };
/** Training images of the generated set by default. */
export const SEGMENT_COUNT = 1000;

/** The optimizer a run asks for; Adam takes no momentum. */
function makeOptimizer(model: Module, options: SegmentOptions): SGD | Adam {
  const kind = options.optimizer ?? SEGMENT_RECIPE.optimizer;
  if (kind === "adam") {
    if (options.momentum !== undefined) throw new FlareError("train segment: momentum is SGD's; with --optimizer adam leave it out (or use --optimizer sgd)", "E_ARGUMENT");
    return new Adam(model.parameters(), { lr: options.lr ?? SEGMENT_RECIPE.adamLr, weightDecay: options.weightDecay ?? 0 });
  }
  if (kind === "sgd") return new SGD(model.parameters(), { lr: options.lr ?? SEGMENT_RECIPE.sgdLr, momentum: options.momentum ?? 0.9, weightDecay: options.weightDecay ?? 1e-4 });
  throw new FlareError(`train segment: optimizer must be "adam" or "sgd", got ${JSON.stringify(kind)}`, "E_ARGUMENT");
}

/** The model must be one registered for segmentation. */
function checkSegmentationModel(arch: string, what: string): void {
  const task = info(arch).task;
  if (task !== "segmentation")
    throw new FlareError(`${what}: ${arch} is a ${task} model; segmentation models: ${list({ task: "segmentation" }).join(", ")}`, "E_ARGUMENT");
}

export async function trainSegmenter(options: SegmentOptions): Promise<{ history: EpochMetrics[]; runDir: string; classes: string[]; filtered: { train: number; val: number } }> {
  checkOptions(options, SEGMENT_OPTIONS, "trainSegmenter()");
  const seed = options.seed ?? 0;
  torch.manualSeed(seed);
  const arch = options.model ?? "fcn-resnet18";
  checkSegmentationModel(arch, "train segment");
  if (options.schedule !== undefined && options.schedule !== "cosine" && options.schedule !== "constant")
    throw new FlareError(`train segment: schedule must be "cosine" or "constant", got ${JSON.stringify(options.schedule)}`, "E_ARGUMENT");
  const runsDir = options.runsDir ?? "runs";
  const data = await segmentationData({ ...options, batchSize: options.batchSize ?? SEGMENT_RECIPE.batchSize, seed, runsDir });
  let model: Module | undefined, optimizer: SGD | Adam | undefined;
  try {
    model = getModel(arch, {
      numClasses: data.classes.length,
      ...(options.backboneWeights !== undefined ? { backboneWeights: options.backboneWeights } : {}),
      ...(options.auxLoss !== undefined ? { auxLoss: options.auxLoss } : {}),
    });
    const epochs = options.epochs ?? SEGMENT_RECIPE.epochs;
    optimizer = makeOptimizer(model, options);
    const scheduler = (options.schedule ?? "cosine") === "cosine" ? new CosineAnnealingLR(optimizer, epochs) : undefined;
    const runDir = path.join(runsDir, options.name ?? `segment-${options.data}`);
    const trainer = new Trainer({
      model, optimizer, ...(scheduler ? { scheduler } : {}), epochs, runDir, tensorboard: options.tensorboard !== false, output: options.output ?? "auto", monitor: "val_miou",
      step: segmentationStep({ reduction: options.loss ?? "mean" }), metrics: segmentationMetrics(data.classes.length),
      config: { task: "segment", ...options, model: arch, classes: data.classes, dataRoot: data.root, filtered: data.filtered, augment: data.augment },
    });
    const history = await trainer.fit(data.train, data.val, { resume: options.resume });
    return { history, runDir, classes: data.classes, filtered: data.filtered };
  } finally {
    data.dispose();
    model?.dispose();
    optimizer?.dispose();
  }
}

// ---- evaluation and prediction ---------------------------------------------------------

export const EVALUATE_SEGMENT_OPTIONS = ["weights", "model", "data", "dataRoot", "crop", "limit", "batchSize", "perClass"];

/** Loss, pixel accuracy and mIoU of saved weights on a set's validation split (the crop too, for VOC, as the book tests). */
export async function evaluateSegmenter(options: { weights: string; model?: string; data: SegmentData; dataRoot?: string; crop?: [number, number]; limit?: number; batchSize?: number; perClass?: boolean }): Promise<Record<string, number>> {
  checkOptions(options, EVALUATE_SEGMENT_OPTIONS, "evaluateSegmenter()");
  const arch = options.model ?? "fcn-resnet18";
  checkSegmentationModel(arch, "eval segment");
  if (options.data === "shapes" && !options.dataRoot) throw new FlareError("eval segment: give the shapes folder (--data shapes DIR)", "E_ARGUMENT");
  const data = await segmentationData({ ...options, batchSize: options.batchSize ?? 16, seed: 0, valOnly: true });
  const model = getModel(arch, { weights: options.weights });
  try {
    const trainer = new Trainer({
      model, optimizer: new SGD(model.parameters(), { lr: 0 }), epochs: 1, output: "silent",
      step: segmentationStep(), metrics: segmentationMetrics(data.classes.length, { perClass: options.perClass ?? false, classNames: data.classes }),
    });
    return await trainer.evaluate(data.val(0));
  } finally {
    data.dispose();
    model.dispose();
  }
}

export interface SegmentImageOptions {
  weights: string;
  /** The weights' architecture (default fcn-resnet18; numClasses comes from the file). */
  model?: string;
  /** Where the coloured label maps and overlays go. */
  out: string;
  /** Class names (default: the run folder's config.json next to the weights, else VOC's or the shapes set's by count). */
  classes?: string[];
  /** The overlay's opacity (default 0.6). */
  alpha?: number;
}

export interface SegmentedImage {
  file: string;
  /** The coloured label map (VOC palette) and the overlay written. */
  labels: string;
  overlay: string;
  width: number;
  height: number;
  /** Pixels per predicted class, by class name. */
  pixels: Record<string, number>;
}

/** Class names for weights: the run folder's config.json, else by class count (6: shapes, 21: VOC), else indices. */
function classNamesFor(weights: string, numClasses: number): string[] {
  const config = path.join(path.dirname(weights), "config.json");
  if (existsSync(config)) {
    try {
      const classes = (JSON.parse(readFileSync(config, "utf8")) as { classes?: unknown }).classes;
      if (Array.isArray(classes) && classes.length === numClasses && classes.every((c) => typeof c === "string")) return classes;
    } catch { /* not a run folder's config: fall through */ }
  }
  if (numClasses === SHAPE_CLASSES.length) return [...SHAPE_CLASSES];
  if (numClasses === VOC_CLASSES.length) return [...VOC_CLASSES];
  return Array.from({ length: numClasses }, (_, i) => String(i));
}

/** The per-pixel classes (H×W int64) of one uint8 3×H×W image: normalised as in training, padded to a multiple of 32 (FCN's stride), cropped back. */
export function segmentImage(model: Module, image: Tensor): Tensor {
  return torch.tidy(() => torch.noGrad(() => {
    const [, h, w] = image.shape;
    const H = Math.ceil(h / 32) * 32, W = Math.ceil(w / 32) * 32;
    let x = normalizeBatch(image.unsqueeze(0));
    if (H !== h || W !== w) x = padTo(x, H, W);
    const output = model.forward(x) as Tensor | { out: Tensor };
    const out = output instanceof Tensor ? output : output.out;
    return out.index(0, ":", `:${h}`, `:${w}`).argmax(0);
  }));
}

/** Zero-pads (after normalisation: the mean colour) a 1×C×h×w batch to H×W at the bottom and right. */
function padTo(x: Tensor, H: number, W: number): Tensor {
  const padded = torch.zeros([1, x.shape[1], H, W]);
  padded.index(":", ":", `:${x.shape[2]}`, `:${x.shape[3]}`).copy_(x);
  return padded;
}

/** `flare segment`: each image's classes, written as a VOC-palette label map and an overlay on the image. */
export async function segmentImages(files: string[], options: SegmentImageOptions): Promise<SegmentedImage[]> {
  checkOptions(options, ["weights", "model", "out", "classes", "alpha"], "segmentImages()");
  if (!Array.isArray(files) || files.length === 0) throw new FlareError("segment: give at least one image", "E_ARGUMENT");
  if (typeof options.out !== "string" || options.out === "") throw new FlareError("segment: out must be a folder path", "E_ARGUMENT");
  const alpha = options.alpha ?? 0.6;
  if (!(typeof alpha === "number" && alpha >= 0 && alpha <= 1)) throw new FlareError(`segment: alpha must be in [0, 1], got ${alpha}`, "E_ARGUMENT");
  const arch = options.model ?? "fcn-resnet18";
  checkSegmentationModel(arch, "segment");
  const model = getModel(arch, { weights: options.weights });
  model.eval();
  mkdirSync(options.out, { recursive: true });
  try {
    const numClasses = numClassesOf(model);
    const classes = options.classes ?? classNamesFor(options.weights, numClasses);
    if (classes.length !== numClasses) throw new FlareError(`segment: ${classes.length} class names for a model of ${numClasses} classes`, "E_ARGUMENT");
    if (numClasses > VOC_COLORMAP.length) throw new FlareError(`segment: the VOC palette colours ${VOC_COLORMAP.length} classes; this model has ${numClasses}`, "E_ARGUMENT");
    const results: SegmentedImage[] = [];
    for (const file of files) {
      const image = await readImage(file, { mode: "rgb" });
      const base = path.join(options.out, path.basename(file).replace(/\.[^.]+$/, ""));
      const written = { labels: `${base}_labels.png`, overlay: `${base}_overlay.png` };
      const [coloured, overlay, counts] = torch.tidy(() => {
        const labels = segmentImage(model, image);
        const masks = torch.stack(Array.from({ length: numClasses }, (_, k) => labels.eq(k)));
        const colours = VOC_COLORMAP.slice(0, numClasses).map((c) => [...c] as [number, number, number]);
        // Background stays unpainted in the overlay: only the objects are tinted.
        const blended = drawSegmentationMasks(image, masks.narrow(0, 1, numClasses - 1), { alpha, colors: colours.slice(1) });
        return [torch.keep(colorizeLabelMap(labels)), torch.keep(blended), labels.flatten().bincount({ minlength: numClasses }).tolist() as number[]];
      });
      const [, height, width] = coloured.shape;
      try {
        await writeImage(coloured, written.labels);
        await writeImage(overlay, written.overlay);
      } finally {
        torch.dispose([coloured, overlay, image]);
      }
      results.push({ file, ...written, width, height, pixels: Object.fromEntries(classes.map((c, k) => [c, counts[k]])) });
    }
    return results;
  } finally {
    model.dispose();
  }
}

/** The classes a segmentation model predicts: its last score layer's output channels. */
function numClassesOf(model: Module): number {
  const sd = model.stateDict();
  for (const key of ["classifier.4.weight", "final_conv.weight", "score32.weight"]) {
    const t = sd.get(key);
    if (t) return t.shape[0];
  }
  throw new FlareError("segment: cannot tell the model's class count (no classifier.4, final_conv or score32 weight)", "E_ARGUMENT");
}
