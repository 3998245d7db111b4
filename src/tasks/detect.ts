// Object detection as a task (d2l 14.7 on the engine's Trainer): the step
// (TinySSD's forward, multiboxTarget, the book's loss and its two measures),
// detections from multiboxDetection, COCO mAP on the validation images, and
// the data, model and optimizer put together (what `flare train detect` runs).
// Any other registered detection model follows torchvision's interface
// (forward(images, targets) → a dict of losses in training, { boxes, scores,
// labels } per image in evaluation; numClasses and labels count the
// background as class 0): detectorStep drives those (SSD, YOLO, Faster R-CNN).
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import * as torch from "../tensor/index.js";
import type { Tensor } from "../tensor/index.js";
import type { Module } from "../nn/index.js";
import { SGD } from "../optim/index.js";
import { Trainer, type Step, type StepResult, type Metric, type EpochMetrics } from "../engine/index.js";
import { get as getModel, info as modelInfo } from "../vision/models/registry.js";
import { TinySSD } from "../vision/models/detection/tiny_ssd.js";
// Every detection model registers itself when detection/index.ts loads (ssd-resnet18, yolo-resnet18, ...).
import "../vision/models/detection/index.js";
import { multiboxTarget, multiboxDetection } from "../vision/ops/anchors.js";
import { calcLoss, clsEval, bboxEval } from "../vision/models/detection/tiny_ssd_loss.js";
import { MeanAveragePrecision, type MeanAveragePrecisionResult } from "../vision/metrics/mean_average_precision.js";
import type { CocoEvalResult } from "../vision/metrics/coco_eval.js";
import { summarizeCoco } from "../vision/metrics/coco_summary.js";
import { loadDetectionData, detectionBatches, disposeSplit, DETECT_DATA, type DetectData, type DetectionBatch, type DetectionSplit } from "./detect_data.js";
import type { SgdRunOptions } from "./run_options.js";

/** One image's detections: boxes [K, 4] xyxy (fractions of the image, or pixels after toPixels), scores [K], labels int64 [K] (0-based object classes). */
export interface Detections { boxes: Tensor; scores: Tensor; labels: Tensor; [key: string]: unknown }

export interface DetectOptions {
  /** NMS IoU threshold (the book's 0.5). */
  nmsThreshold?: number;
  /** Keep detections at least this confident (the book's posThreshold 0.009999999). */
  scoreThreshold?: number;
  /**
   * The most confident anchors per image that go through NMS (default 400).
   * Greedy NMS keeps the same boxes among them as among all anchors (a box is
   * only ever suppressed by a more confident one), so only detections ranked
   * past this count can differ from the book's multiboxDetection on every anchor.
   */
  candidates?: number;
}

/**
 * The detections of a TinySSD-style output (anchors [1, N, 4], clsPreds [B, N, C + 1],
 * bboxPreds [B, 4N]): per image, the book's multiboxDetection on its most
 * confident anchors, the background (class −1) rows dropped.
 */
export function detectionsFromOutput(anchors: Tensor, clsPreds: Tensor, bboxPreds: Tensor, options: DetectOptions = {}): Detections[] {
  checkOptions(options, ["nmsThreshold", "scoreThreshold", "candidates"], "detectionsFromOutput()");
  const posThreshold = options.scoreThreshold ?? 0.009999999;
  const k = options.candidates ?? 400;
  if (!Number.isInteger(k) || k < 1) throw new FlareError(`detectionsFromOutput(): candidates must be a positive integer, got ${k}`, "E_ARGUMENT");
  return torch.tidy(() => torch.noGrad(() => {
    const [batch, n, c] = clsPreds.shape;
    const probs = clsPreds.softmax(2);                               // [B, N, C + 1]
    const conf = probs.narrow(2, 1, c - 1).amax(2);                   // the best object class per anchor
    const offsets = bboxPreds.reshape(batch, n, 4);
    const anc = anchors.reshape(n, 4);
    const out: Detections[] = [];
    for (let b = 0; b < batch; b++) {
      const { values, indices } = conf.select(0, b).topk(Math.min(k, n));
      const idx = indices.index(values.ge(posThreshold));
      let boxes = torch.zeros([0, 4]), scores = torch.zeros([0]), labels = torch.zeros([0], { dtype: "int64" });
      if (idx.shape[0] > 0) {
        const rows = multiboxDetection(
          probs.select(0, b).indexSelect(0, idx).t().unsqueeze(0), offsets.select(0, b).indexSelect(0, idx).reshape(1, -1),
          anc.indexSelect(0, idx).unsqueeze(0), { nmsThreshold: options.nmsThreshold ?? 0.5, posThreshold }).select(0, 0);
        const kept = rows.index(rows.select(1, 0).ge(0));
        boxes = kept.narrow(1, 2, 4); scores = kept.select(1, 1); labels = kept.select(1, 0).to("int64");
      }
      out.push({ boxes, scores, labels });
    }
    return out;
  })) as Detections[];
}

/** Scales fractions of the image to pixels: sizes [B, 2] rows (height, width). */
function toPixels(boxes: Tensor, height: number, width: number): Tensor {
  return boxes.mul(torch.tensor([width, height, width, height], { dtype: boxes.dtype }));
}

/** A batch's ground truth per image, in pixels (padding rows dropped). */
function targetsOf(labels: Tensor, sizes: Tensor): { boxes: Tensor; labels: Tensor }[] {
  const hw = sizes.tolist() as number[][];
  return hw.map(([h, w], b) => {
    const rows = labels.select(0, b);
    const valid = rows.index(rows.select(1, 0).ge(0));
    return { boxes: toPixels(valid.narrow(1, 1, 4), h, w), labels: valid.select(1, 0).to("int64") };
  });
}

function checkBatch(batch: unknown): DetectionBatch {
  const b = batch as DetectionBatch;
  if (!b || !(b.images instanceof torch.Tensor) || !(b.labels instanceof torch.Tensor))
    throw new FlareError("detectionStep: a batch must be { images [B, 3, H, W], labels [B, M, 5], sizes? [B, 2] }", "E_ARGUMENT");
  if (b.labels.dim() !== 3 || b.labels.shape[2] !== 5 || b.labels.shape[0] !== b.images.shape[0])
    throw new FlareError(`detectionStep: labels must have shape [${b.images.shape[0]}, maxObjects, 5] (class, x1, y1, x2, y2; class −1 pads), got [${b.labels.shape.join(", ")}]`, "E_SHAPE");
  return b;
}

/**
 * The book's training step for a TinySSD-style model (forward → [anchors, clsPreds, bboxPreds]):
 * loss = calcLoss(...).mean(); logs the book's class error and bbox MAE of the
 * batch. In evaluation also the detections (in pixels) for the mAP metric.
 */
export function detectionStep(options: DetectOptions = {}): Step {
  const run = (model: Module, batch: unknown, evaluate: boolean): StepResult => {
    const { images, labels, sizes } = checkBatch(batch);
    const [anchors, clsPreds, bboxPreds] = model.forward(images) as [Tensor, Tensor, Tensor];
    const numClasses = clsPreds.shape[2] - 1;
    const classes = labels.select(2, 0);
    if (classes.ge(numClasses).any().item())
      throw new FlareError(`detectionStep: labels hold a class ≥ ${numClasses}, outside the model's ${numClasses} object classes`, "E_ARGUMENT");
    const [bboxLabels, bboxMasks, clsLabels] = multiboxTarget(anchors, labels);
    const loss = calcLoss(clsPreds, clsLabels, bboxPreds, bboxLabels, bboxMasks).mean();
    const logs = {
      class_err: 1 - clsEval(clsPreds, clsLabels) / clsLabels.numel(),
      bbox_mae: bboxEval(bboxPreds, bboxLabels, bboxMasks) / bboxLabels.numel(),
    };
    const result: StepResult = { loss, logs, size: images.shape[0] };
    if (evaluate) {
      const side = images.shape;
      const hw = sizes instanceof torch.Tensor ? sizes : torch.tensor(Array(side[0]).fill([side[2], side[3]]));
      const detections = detectionsFromOutput(anchors, clsPreds, bboxPreds, options);
      const pixels = (hw.tolist() as number[][]);
      result.preds = detections.map((d, b) => ({ ...d, boxes: toPixels(d.boxes, pixels[b][0], pixels[b][1]) }));
      result.target = targetsOf(labels, hw);
    }
    return result;
  };
  return { trainStep: (model, batch) => run(model, batch, false), evalStep: (model, batch) => run(model, batch, true) };
}

/** Whether a model is the book's TinySSD kind (forward(x) → [anchors, clsPreds, bboxPreds]) rather than torchvision's detector interface. */
export function isBookDetector(model: Module): boolean {
  return model instanceof TinySSD;
}

/** A batch as torchvision's detectors take it: images 0..1 [3, S, S] each, targets in the input's pixels with labels 1..K (0 is the background). */
export function torchvisionInputs(images: Tensor, labels: Tensor): { list: Tensor[]; targets: { boxes: Tensor; labels: Tensor }[] } {
  const [, , h, w] = images.shape;
  const list = images.div(255).unbind(0);
  const targets = Array.from({ length: images.shape[0] }, (_, b) => {
    const rows = labels.select(0, b);
    const valid = rows.index(rows.select(1, 0).ge(0));
    return { boxes: toPixels(valid.narrow(1, 1, 4), h, w), labels: valid.select(1, 0).to("int64").add(1) };
  });
  return { list, targets };
}

/**
 * The step of a torchvision-interface detector: training sums its dict of
 * losses (the Trainer reports each part); evaluation takes its detections,
 * scales them from the model's input to each image's original pixels and
 * shifts labels back to 0-based object classes for the mAP metric.
 */
export function detectorStep(): Step {
  return {
    trainStep: (model, batch) => {
      const { images, labels } = checkBatch(batch);
      checkClasses(model, labels);
      const { list, targets } = torchvisionInputs(images, labels);
      const loss = model.forward(list, targets) as unknown as Record<string, Tensor>;
      if (!loss || typeof loss !== "object" || Array.isArray(loss) || loss instanceof torch.Tensor)
        throw new FlareError("detectorStep: the model in training mode must return a dict of named losses (torchvision's detection interface)", "E_TYPE");
      return { loss, size: images.shape[0] };
    },
    evalStep: (model, batch) => {
      const { images, labels, sizes } = checkBatch(batch);
      const [count, , h, w] = images.shape;
      const { list } = torchvisionInputs(images, labels);
      const found = model.forward(list) as unknown as Detections[];
      if (!Array.isArray(found) || found.length !== count)
        throw new FlareError(`detectorStep: the model in eval mode must return one { boxes, scores, labels } per image (torchvision's detection interface), got ${Array.isArray(found) ? found.length : typeof found}`, "E_TYPE");
      const hw = sizes instanceof torch.Tensor ? sizes : torch.tensor(Array(count).fill([h, w]));
      const original = hw.tolist() as number[][];
      const preds = found.map((d, b) => ({
        boxes: d.boxes.mul(torch.tensor([original[b][1] / w, original[b][0] / h, original[b][1] / w, original[b][0] / h], { dtype: d.boxes.dtype })),
        scores: d.scores, labels: d.labels.to("int64").sub(1),
      }));
      return { preds, target: targetsOf(labels, hw), size: count };
    },
  };
}

/** A torchvision-interface model's numClasses counts the background; labels of the batch must fit it. */
function checkClasses(model: Module, labels: Tensor): void {
  const numClasses = (model as unknown as { numClasses?: number }).numClasses;
  if (numClasses === undefined) return;
  if (labels.select(2, 0).ge(numClasses - 1).any().item())
    throw new FlareError(`detectorStep: labels hold a class ≥ ${numClasses - 1}, outside the model's ${numClasses - 1} object classes (numClasses ${numClasses} with the background)`, "E_ARGUMENT");
}

/** A detector's own options, as torchvision's keyword arguments in camelCase (`boxBatchSizePerImage`, `rpnPostNmsTopNTest`, ...). */
export type DetectorOptions = Record<string, unknown>;

/** The options the task sets itself, from its data and --size; a run may not give them as model options. */
const TASK_SET_OPTIONS = ["numClasses", "size", "minSize", "maxSize", "weights"];

function checkModelOptions(modelOptions: DetectorOptions | undefined, what: string): DetectorOptions {
  if (modelOptions === undefined) return {};
  if (typeof modelOptions !== "object" || modelOptions === null || Array.isArray(modelOptions))
    throw new FlareError(`${what}: modelOptions must be an object of the model's options, got ${JSON.stringify(modelOptions)}`, "E_ARGUMENT");
  const taken = Object.keys(modelOptions).filter((k) => TASK_SET_OPTIONS.includes(k));
  if (taken.length > 0) throw new FlareError(`${what}: the model option ${taken.join(", ")} is set by the task (classes from the data, sizes from --size, weights from --weights); leave it out`, "E_ARGUMENT");
  return modelOptions;
}

/** Builds a detection model for `classes` object classes: TinySSD counts objects only, torchvision's detectors the background too. */
export function buildDetector(arch: string, numObjectClasses: number, size: number, modelOptions?: DetectorOptions): Module {
  const entry = modelInfo(arch);
  if (entry.task !== "detection") throw new FlareError(`train detect: ${arch} is a ${entry.task} model, not a detection one`, "E_ARGUMENT");
  const extra = checkModelOptions(modelOptions, "train detect");
  if (arch === "tiny-ssd") return getModel(arch, { numClasses: numObjectClasses, ...extra });
  return getModel(arch, { numClasses: numObjectClasses + 1, ...detectorSizing(arch, size), ...extra });
}

/** A run's config.json next to its weights (runs/NAME/model.safetensors), or {} when there is none. */
export function runConfig(weights: string, what: string): Record<string, unknown> {
  const file = path.join(path.dirname(weights), "config.json");
  if (!existsSync(file)) return {};
  try { return JSON.parse(readFileSync(file, "utf8")); } catch (error) {
    throw new FlareError(`${what}: cannot read the run's config from ${file}: ${(error as Error).message}`, "E_IO");
  }
}

/**
 * The detector that made `weights`, loaded: its architecture, input side and model options from the
 * run's config.json (else tiny-ssd at 256, no options; `config` when the caller has read it already); a
 * given model or size wins (the saved options then apply only if the architecture is the run's).
 */
export function loadTrainedDetector(weights: string, given: { model?: string; size?: number }, what: string,
  config: Record<string, unknown> = runConfig(weights, what)): { model: Module; arch: string; size: number } {
  const arch = given.model ?? (typeof config.model === "string" ? config.model : "tiny-ssd");
  const size = given.size ?? (typeof config.size === "number" ? config.size : 256);
  const saved = arch === config.model && typeof config.modelOptions === "object" ? config.modelOptions as DetectorOptions : undefined;
  const model = getModel(arch, { weights, ...detectorSizing(arch, size), ...checkModelOptions(saved, what) });
  return { model, arch, size };
}

/**
 * The options that make a registered detector see the task's SIZE×SIZE images: fixed-size
 * detectors (SSD, YOLO) take `size`, min/max-size ones (Faster R-CNN) minSize = maxSize = SIZE;
 * TinySSD takes neither (its input is whatever it is given).
 */
export function detectorSizing(arch: string, size: number): { size?: number; minSize?: number; maxSize?: number } {
  const { options } = modelInfo(arch);
  return options.includes("size") ? { size } : options.includes("minSize") ? { minSize: size, maxSize: size } : {};
}

/** The SGD recipe by model: the book's for TinySSD; momentum 0.9, lr 0.01 and clipped gradients for the deeper detectors (no pretrained weights here). */
export function detectorRecipe(arch: string): { lr: number; momentum: number; weightDecay: number; gradClip?: number } {
  return arch === "tiny-ssd" ? { lr: 0.2, momentum: 0, weightDecay: 5e-4 } : { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, gradClip: 10 };
}

/** COCO mAP (IoU 0.50:0.95) and mAP@0.5 over an evaluation pass; nothing on training passes (which give no detections). */
export class DetectionMAP implements Metric<Detections[], { boxes: Tensor; labels: Tensor }[]> {
  readonly higherIsBetter = true;
  readonly inner = new MeanAveragePrecision();
  /** COCOeval's arrays behind the last compute() (for the 12 numbers), if it saw images. */
  lastEvaluation: CocoEvalResult | undefined;
  update(preds: Detections[], targets: { boxes: Tensor; labels: Tensor }[]): void { this.inner.update(preds, targets); }
  compute(): Record<string, number> {
    if (this.inner.numImages === 0) return {};
    this.lastEvaluation = this.inner.evaluate();
    const { map, map50 } = summarizeCoco(this.lastEvaluation).named;
    return { map, map50 };
  }
  reset(): void { this.inner.reset(); }
}

export interface TrainDetectorOptions extends SgdRunOptions {
  data: DetectData;
  dataRoot?: string;
  /** A detection model models.get knows (tiny-ssd, ssd-resnet18, yolo-resnet18, ...). */
  model?: string;
  /** Clip the gradients' total norm (default: the model's recipe, 10 for all but tiny-ssd). */
  gradClip?: number;
  /** Images are resized to size × size (256, the book's). */
  size?: number;
  /** Generated bananas (no data folder): training / validation images and their side. */
  count?: number;
  valCount?: number;
  imageSize?: number;
  maxObjects?: number;
  limit?: number;
  /** The model's own options (torchvision's keyword arguments in camelCase), saved in config.json for eval and detect. */
  modelOptions?: DetectorOptions;
  /** Called with the model once built (before training): the bench saves its initial weights here. */
  onModel?: (model: Module) => void;
}

export const TRAIN_DETECT_OPTIONS = ["data", "dataRoot", "model", "size", "epochs", "batchSize", "lr", "momentum", "weightDecay", "gradClip", "count", "valCount",
  "imageSize", "maxObjects", "limit", "seed", "runsDir", "name", "resume", "tensorboard", "output", "modelOptions", "onModel"];

function checkData(data: unknown, what: string): void {
  if (!DETECT_DATA.includes(data as DetectData)) throw new FlareError(`${what}: unknown dataset '${String(data)}' (bananas [DIR], objects [DIR], voc DIR or coco DIR)`, "E_ARGUMENT");
}

/** Trains a detector: TinySSD the book's way (SGD, lr 0.2, weight decay 5e-4, batch 32, 20 epochs by default), the others by detectorRecipe. */
export async function trainDetector(options: TrainDetectorOptions): Promise<{ history: EpochMetrics[]; runDir: string; classes: string[] }> {
  checkOptions(options, TRAIN_DETECT_OPTIONS, "trainDetector()");
  checkData(options.data, "train detect");
  const seed = options.seed ?? 0;
  const arch = options.model ?? "tiny-ssd";
  const data = await loadDetectionData({ ...pick(options, ["data", "dataRoot", "size", "count", "valCount", "imageSize", "maxObjects", "limit"]), data: options.data, seed });
  torch.manualSeed(seed);
  let model: Module | undefined, optimizer: SGD | undefined;
  try {
    const size = options.size ?? 256;
    model = buildDetector(arch, data.classes.length, size, options.modelOptions);
    options.onModel?.(model);
    const book = isBookDetector(model);
    const recipe = detectorRecipe(arch);
    const epochs = options.epochs ?? 20;
    const batchSize = options.batchSize ?? 32;
    optimizer = new SGD(model.parameters(), { lr: options.lr ?? recipe.lr, momentum: options.momentum ?? recipe.momentum, weightDecay: options.weightDecay ?? recipe.weightDecay });
    const gradClip = options.gradClip ?? recipe.gradClip;
    const runDir = path.join(options.runsDir ?? "runs", options.name ?? `detect-${options.data}`);
    const { onModel: _, ...config } = options;
    const trainer = new Trainer({
      model, optimizer, epochs, runDir, tensorboard: options.tensorboard !== false, output: options.output ?? "auto", monitor: "val_map50", ...(gradClip !== undefined ? { gradClip } : {}),
      step: book ? detectionStep() : detectorStep(), metrics: [new DetectionMAP()],
      config: { task: "detect", ...config, model: arch, classes: data.classes, size, dataRoot: data.root },
    });
    const history = await trainer.fit(detectionBatches(data.train, batchSize, true, seed), detectionBatches(data.val, batchSize, false, seed), { resume: options.resume });
    return { history, runDir, classes: data.classes };
  } finally {
    disposeSplit(data.train);
    disposeSplit(data.val);
    model?.dispose();
    optimizer?.dispose();
  }
}

function pick<T extends object>(o: T, keys: string[]): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => keys.includes(k) && v !== undefined)) as Partial<T>;
}

export interface EvaluateDetectorOptions {
  weights: string;
  data: DetectData;
  dataRoot?: string;
  model?: string;
  size?: number;
  batchSize?: number;
  limit?: number;
  count?: number;
  valCount?: number;
  imageSize?: number;
  seed?: number;
}

export const EVALUATE_DETECT_OPTIONS = ["weights", "data", "dataRoot", "model", "size", "batchSize", "limit", "count", "valCount", "imageSize", "seed"];

/** COCO evaluation of saved weights on a data set's validation images: the 12 numbers and COCOeval's text. */
export async function evaluateDetector(options: EvaluateDetectorOptions): Promise<{ stats: number[]; named: MeanAveragePrecisionResult; text: string; numImages: number; classErr?: number; bboxMae?: number }> {
  checkOptions(options, EVALUATE_DETECT_OPTIONS, "evaluateDetector()");
  checkData(options.data, "eval detect");
  // The run's architecture, side and options by default, so its weights are scored as trained.
  const { model, size } = loadTrainedDetector(options.weights, options, "eval detect");
  const book = isBookDetector(model);
  let val: DetectionSplit | undefined;
  try {
    const data = await loadDetectionData({ ...pick(options, ["data", "dataRoot", "count", "valCount", "imageSize", "limit", "seed"]) as { data: DetectData }, size, valOnly: true });
    disposeSplit(data.train);
    val = data.val;
    const numClasses = (model as unknown as { numClasses?: number }).numClasses;
    // torchvision's detectors count the background among their classes.
    const objectClasses = numClasses === undefined ? undefined : book ? numClasses : numClasses - 1;
    if (objectClasses !== undefined && objectClasses !== data.classes.length)
      throw new FlareError(`eval detect: ${options.weights} predicts ${objectClasses} classes, the data has ${data.classes.length} (${data.classes.join(", ")})`, "E_ARGUMENT");
    const metric = new DetectionMAP();
    const trainer = new Trainer({ model, optimizer: new SGD(model.parameters(), { lr: 0 }), epochs: 1, output: "silent", step: book ? detectionStep() : detectorStep(), metrics: [metric] });
    const numImages = val.names.length;
    const logs = await trainer.evaluate(detectionBatches(val, options.batchSize ?? 32, false, 0));
    const summary = summarizeCoco(metric.lastEvaluation!);
    return { stats: summary.stats, named: summary.named as MeanAveragePrecisionResult, text: summary.text, numImages, ...(book ? { classErr: logs.class_err, bboxMae: logs.bbox_mae } : {}) };
  } finally {
    if (val) disposeSplit(val);
    model.dispose();
  }
}
