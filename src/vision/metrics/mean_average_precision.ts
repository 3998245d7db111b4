// MeanAveragePrecision: torchmetrics' shape (update / compute / reset) over
// COCOeval's definition. update() copies each image's boxes, scores and labels
// into JS arrays, so it holds no tensors and the caller may free its own at
// once; compute() evaluates everything seen since the last reset().
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";
import type { Tensor } from "../../tensor/index.js";
import { isTensor } from "../../tensor/index.js";
import { checkParams, defaultParams, evaluateCoco, type CocoEvalParams, type CocoEvalResult } from "./coco_eval.js";
import { summarizeCoco, summarizeOne, type StatName } from "./coco_summary.js";

/** One image's detections: boxes [N, 4], scores [N], labels [N] (integers). */
export interface DetectionPrediction { boxes: Tensor; scores: Tensor; labels: Tensor; [key: string]: unknown }
/** One image's ground truth: boxes [M, 4], labels [M]; iscrowd [M] (0/1) and area [M] optional. */
export interface DetectionTarget { boxes: Tensor; labels: Tensor; iscrowd?: Tensor; area?: Tensor; [key: string]: unknown }

export type MeanAveragePrecisionBoxFormat = "xyxy" | "xywh" | "cxcywh";

export interface MeanAveragePrecisionOptions {
  /** The layout of the boxes given to update() (default "xyxy", as torchmetrics). */
  boxFormat?: MeanAveragePrecisionBoxFormat;
  /** Also return per-class mAP and mAR@100 (default false). */
  classMetrics?: boolean;
  /** IoU thresholds (default 0.50:0.05:0.95); map50 / map75 are −1 unless 0.5 / 0.75 are among them. */
  iouThresholds?: number[];
  /** Recall points (default 0:0.01:1). */
  recThresholds?: number[];
  /** Three detection limits per image and class (default [1, 10, 100]); mar1 / mar10 / mar100 are the recalls at them, in order. */
  maxDetectionThresholds?: number[];
}

export type MeanAveragePrecisionResult = Record<StatName, number> & {
  /** With classMetrics: the class labels, ascending (every label seen in predictions or targets). */
  classes?: number[];
  /** With classMetrics: mAP (IoU 0.50:0.95, all areas, 100 detections) per class; −1 for a class with no ground truth. */
  mapPerClass?: number[];
  /** With classMetrics: mAR@100 per class; −1 for a class with no ground truth. */
  mar100PerClass?: number[];
};

interface ImageRecord {
  dtBoxes: Float64Array; dtScores: Float64Array; dtLabels: Float64Array;
  gtBoxes: Float64Array; gtLabels: Float64Array; gtCrowd: Uint8Array; gtArea: Float64Array;
}

const INT_DTYPES = new Set(["int64", "int32", "int16", "int8", "uint8"]);

/**
 * COCO mean average precision for boxes, computed exactly as pycocotools'
 * COCOeval("bbox"): 10 IoU thresholds 0.50:0.95, 101 recall points, areas
 * small / medium / large, 1 / 10 / 100 detections per image and class.
 * A prediction's area is its box's (as COCO's loadRes); a target's is its
 * `area` when given (COCO's segment area), else its box's.
 */
export class MeanAveragePrecision {
  readonly boxFormat: MeanAveragePrecisionBoxFormat;
  readonly classMetrics: boolean;
  private images: ImageRecord[] = [];

  constructor(options: MeanAveragePrecisionOptions = {}) {
    const what = "MeanAveragePrecision()";
    options = checkOptions(options, ["boxFormat", "classMetrics", "iouThresholds", "recThresholds", "maxDetectionThresholds"], what);
    const format = options.boxFormat ?? "xyxy";
    if (format !== "xyxy" && format !== "xywh" && format !== "cxcywh") throw new FlareError(`${what}: boxFormat must be "xyxy", "xywh" or "cxcywh", got ${JSON.stringify(format)}`, "E_ARGUMENT");
    if (options.classMetrics !== undefined && typeof options.classMetrics !== "boolean") throw new FlareError(`${what}: classMetrics must be a boolean`, "E_ARGUMENT");
    this.boxFormat = format;
    this.classMetrics = options.classMetrics ?? false;
    const maxDets = options.maxDetectionThresholds;
    if (maxDets !== undefined && !(Array.isArray(maxDets) && maxDets.length === 3))
      throw new FlareError(`${what}: maxDetectionThresholds must be three numbers (for mar1, mar10, mar100), got ${JSON.stringify(maxDets)}`, "E_ARGUMENT");
    const defaults = defaultParams();
    const params = {
      ...defaults,
      iouThrs: options.iouThresholds ?? defaults.iouThrs,
      recThrs: options.recThresholds ?? defaults.recThrs,
      maxDets: maxDets ? [...maxDets].sort((a, b) => a - b) : defaults.maxDets,
    };
    try { this.params = checkParams(params); } catch (error) {
      // Name the option, not COCOeval's parameter.
      const names: Record<string, string> = { iouThrs: "iouThresholds", recThrs: "recThresholds", maxDets: "maxDetectionThresholds" };
      throw new FlareError(`${what}: ${(error as Error).message.replace(/^evaluateCoco: params\.(\w+)/, (_, k: string) => names[k] ?? k)}`, "E_ARGUMENT");
    }
  }

  /** The COCOeval parameters in use. */
  readonly params: CocoEvalParams;

  /** The number of images seen since the last reset. */
  get numImages(): number { return this.images.length; }

  /** Adds a batch: preds[i] and targets[i] are the detections and ground truth of the same image. */
  update(preds: DetectionPrediction[], targets: DetectionTarget[]): void {
    const what = "MeanAveragePrecision.update()";
    if (!Array.isArray(preds) || !Array.isArray(targets)) throw new FlareError(`${what}: preds and targets must be arrays with one entry per image`, "E_ARGUMENT");
    if (preds.length !== targets.length) throw new FlareError(`${what}: got ${preds.length} preds but ${targets.length} targets (one of each per image)`, "E_ARGUMENT");
    // Read everything first, so a bad image leaves the state unchanged.
    const records = preds.map((pred, i) => {
      const target = targets[i];
      for (const [name, v] of [["preds", pred], ["targets", target]] as const)
        if (v === null || typeof v !== "object") throw new FlareError(`${what}: ${name}[${i}] must be an object of tensors`, "E_ARGUMENT");
      const dtBoxes = this.readBoxes(pred.boxes, `preds[${i}].boxes`);
      const n = dtBoxes.length / 4;
      const dtScores = readValues(pred.scores, `preds[${i}].scores`, n, "float");
      const dtLabels = readValues(pred.labels, `preds[${i}].labels`, n, "int");
      const gtBoxes = this.readBoxes(target.boxes, `targets[${i}].boxes`);
      const m = gtBoxes.length / 4;
      const gtLabels = readValues(target.labels, `targets[${i}].labels`, m, "int");
      const gtCrowd = Uint8Array.from(target.iscrowd === undefined ? new Float64Array(m) : readValues(target.iscrowd, `targets[${i}].iscrowd`, m, "crowd"));
      let gtArea: Float64Array;
      if (target.area === undefined) {
        gtArea = new Float64Array(m);
        for (let j = 0; j < m; j++) gtArea[j] = gtBoxes[4 * j + 2] * gtBoxes[4 * j + 3];
      } else {
        gtArea = readValues(target.area, `targets[${i}].area`, m, "float");
        for (let j = 0; j < m; j++) if (gtArea[j] < 0) throw new FlareError(`${what}: targets[${i}].area[${j}] is ${gtArea[j]}, expected ≥ 0`, "E_ARGUMENT");
      }
      return { dtBoxes, dtScores, dtLabels, gtBoxes, gtLabels, gtCrowd, gtArea };
    });
    this.images.push(...records);
  }

  /** The 12 COCO numbers over every image seen (−1 where undefined), and per-class values with classMetrics. */
  compute(): MeanAveragePrecisionResult {
    const result = this.evaluate();
    const summary = summarizeCoco(result);
    const out: MeanAveragePrecisionResult = { ...summary.named };
    if (this.classMetrics) {
      const last = result.params.maxDets[result.params.maxDets.length - 1];
      out.classes = [...result.catIds];
      out.mapPerClass = result.catIds.map((_, k) => summarizeOne(result, { ap: true, areaRng: "all", maxDets: last }, k));
      out.mar100PerClass = result.catIds.map((_, k) => summarizeOne(result, { ap: false, areaRng: "all", maxDets: last }, k));
    }
    return out;
  }

  /**
   * COCOeval's precision / recall arrays over every image seen. Images are in
   * update() order, which breaks ties in score between images as COCOeval's
   * image-id order does when images are given in id order.
   */
  evaluate(): CocoEvalResult {
    const images = this.images;
    let G = 0, D = 0;
    for (const im of images) { G += im.gtLabels.length; D += im.dtLabels.length; }
    const gt = { ids: new Float64Array(G), imageIds: new Float64Array(G), categoryIds: new Float64Array(G), boxes: new Float64Array(4 * G), areas: new Float64Array(G), iscrowd: new Uint8Array(G) };
    const dt = { imageIds: new Float64Array(D), categoryIds: new Float64Array(D), boxes: new Float64Array(4 * D), scores: new Float64Array(D), areas: new Float64Array(D) };
    const labels = new Set<number>();
    let g = 0, d = 0;
    images.forEach((im, i) => {
      gt.boxes.set(im.gtBoxes, 4 * g);
      for (let j = 0; j < im.gtLabels.length; j++, g++) {
        gt.ids[g] = g + 1;                                    // 1, 2, … as torchmetrics' COCO conversion
        gt.imageIds[g] = i;
        gt.categoryIds[g] = im.gtLabels[j];
        gt.areas[g] = im.gtArea[j];
        gt.iscrowd[g] = im.gtCrowd[j];
        labels.add(im.gtLabels[j]);
      }
      dt.boxes.set(im.dtBoxes, 4 * d);
      for (let j = 0; j < im.dtLabels.length; j++, d++) {
        dt.imageIds[d] = i;
        dt.categoryIds[d] = im.dtLabels[j];
        dt.scores[d] = im.dtScores[j];
        dt.areas[d] = im.dtBoxes[4 * j + 2] * im.dtBoxes[4 * j + 3];
        labels.add(im.dtLabels[j]);
      }
    });
    return evaluateCoco({ imgIds: images.map((_, i) => i), catIds: [...labels], gt, dt }, this.params);
  }

  /** Forgets every image seen. */
  reset(): void { this.images = []; }

  /** A [N, 4] (or empty) box tensor as COCO's [x, y, w, h] in float64, checked. */
  private readBoxes(boxes: unknown, name: string): Float64Array {
    const what = "MeanAveragePrecision.update()";
    if (!isTensor(boxes)) throw new FlareError(`${what}: ${name} must be a tensor of shape [N, 4], got ${boxes === undefined ? "nothing" : typeof boxes}`, "E_TYPE");
    const shape = boxes.shape;
    const empty = boxes.numel() === 0 && (shape.length === 1 || (shape.length === 2 && (shape[1] === 4 || shape[1] === 0)));
    if (!empty && !(shape.length === 2 && shape[1] === 4)) throw new FlareError(`${what}: ${name} must have shape [N, 4], got [${shape.join(", ")}]`, "E_SHAPE");
    if (empty) return new Float64Array(0);
    const values = Float64Array.from(boxes.dataSync() as ArrayLike<number | bigint>, Number);
    const n = values.length / 4;
    for (let j = 0; j < 4 * n; j++)
      if (!Number.isFinite(values[j])) throw new FlareError(`${what}: ${name}[${Math.floor(j / 4)}] has a coordinate that is ${values[j]}; boxes must be finite`, "E_ARGUMENT");
    const out = new Float64Array(4 * n);
    for (let j = 0; j < n; j++) {
      const a = values[4 * j], b = values[4 * j + 1], c = values[4 * j + 2], e = values[4 * j + 3];
      let x = a, y = b, w = c, h = e;
      if (this.boxFormat === "xyxy") { w = c - a; h = e - b; }
      else if (this.boxFormat === "cxcywh") { x = a - c / 2; y = b - e / 2; }
      if (w < 0 || h < 0) {
        const hint = this.boxFormat === "xyxy" ? " (x2 < x1 or y2 < y1)" : "";
        throw new FlareError(`${what}: ${name}[${j}] = [${[a, b, c, e].join(", ")}] has a negative width or height${hint}`, "E_ARGUMENT");
      }
      out[4 * j] = x; out[4 * j + 1] = y; out[4 * j + 2] = w; out[4 * j + 3] = h;
    }
    return out;
  }
}

/** A 1-D tensor of n values as float64, checked: "float" finite numbers, "int" integers, "crowd" 0 / 1. */
function readValues(t: unknown, name: string, n: number, kind: "float" | "int" | "crowd"): Float64Array {
  const what = "MeanAveragePrecision.update()";
  if (!isTensor(t)) throw new FlareError(`${what}: ${name} must be a tensor of shape [${n}], got ${t === undefined ? "nothing" : typeof t}`, "E_TYPE");
  if (!(t.shape.length === 1 && t.shape[0] === n) && !(n === 0 && t.numel() === 0))
    throw new FlareError(`${what}: ${name} must have shape [${n}] (one per box), got [${t.shape.join(", ")}]`, "E_SHAPE");
  if (kind === "int" && !INT_DTYPES.has(t.dtype)) throw new FlareError(`${what}: ${name} must hold integer class labels, got dtype ${t.dtype}`, "E_DTYPE");
  if (kind === "crowd" && !INT_DTYPES.has(t.dtype) && t.dtype !== "bool") throw new FlareError(`${what}: ${name} must be 0 / 1 (an integer or bool tensor), got dtype ${t.dtype}`, "E_DTYPE");
  const raw = t.dataSync() as ArrayLike<number | bigint | boolean>;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const v = Number(raw[j]);
    if (!Number.isFinite(v)) throw new FlareError(`${what}: ${name}[${j}] is ${v}, expected a finite number`, "E_ARGUMENT");
    if (kind === "crowd" && v !== 0 && v !== 1) throw new FlareError(`${what}: ${name}[${j}] is ${v}, expected 0 or 1`, "E_ARGUMENT");
    out[j] = v;
  }
  return out;
}

