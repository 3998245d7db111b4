// Semantic segmentation metrics as torchvision's reference scripts compute them
// (references/segmentation/utils.py, ConfusionMatrix): a confusion matrix of
// target class (rows) against predicted class (columns) over every labelled
// pixel, then pixel accuracy, per-class accuracy and per-class IoU from it.
// Pixels labelled ignoreIndex (255, VOC's borders) are left out.
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";
import { Tensor, noGrad, tidy } from "../../tensor/index.js";

export interface ConfusionMatrixOptions {
  /** The target value of pixels left out (default 255). */
  ignoreIndex?: number;
}

export interface SegmentationScores {
  /** Correct pixels / labelled pixels (torchvision's "global correct"). */
  pixelAccuracy: number;
  /** Per class: correct / labelled as the class (NaN for a class absent from the targets). */
  classAccuracy: number[];
  /** Per class: |pred ∩ target| / |pred ∪ target| (NaN for a class absent from both). */
  iou: number[];
  /** The mean of the per-class IoUs, over the classes present in the targets or predictions. */
  meanIou: number;
}

const describe = (v: unknown) => (v instanceof Tensor ? `a ${v.dtype} tensor of shape [${v.shape.join(", ")}]` : typeof v);

function checkClasses(numClasses: unknown, what: string): number {
  if (!Number.isInteger(numClasses) || (numClasses as number) < 1) throw new FlareError(`${what}: numClasses must be a positive integer, got ${JSON.stringify(numClasses)}`, "E_ARGUMENT");
  return numClasses as number;
}

function checkIgnore(options: ConfusionMatrixOptions, what: string): number {
  options = checkOptions(options, ["ignoreIndex"], what);
  const ignore = options.ignoreIndex ?? 255;
  if (!Number.isInteger(ignore)) throw new FlareError(`${what}: ignoreIndex must be an integer, got ${JSON.stringify(options.ignoreIndex)}`, "E_ARGUMENT");
  return ignore;
}

/** The predicted class map: the argmax over C of N×C×H×W scores (or a model's { out }), or N×H×W class ids as they are. */
function predictedClasses(preds: unknown, numClasses: number, what: string): Tensor {
  const p = preds instanceof Tensor ? preds : preds && typeof preds === "object" && (preds as { out?: unknown }).out instanceof Tensor ? (preds as { out: Tensor }).out : undefined;
  if (!p) throw new FlareError(`${what}: preds must be N×C×H×W scores, a model's { out } or N×H×W class ids, got ${describe(preds)}`, "E_ARGUMENT");
  if (p.dim() === 4) {
    if (p.shape[1] !== numClasses) throw new FlareError(`${what}: the scores have ${p.shape[1]} channels for ${numClasses} classes (shape [${p.shape.join(", ")}])`, "E_SHAPE");
    return p.argmax(1);
  }
  if (p.dim() === 3 && !p.dtype.startsWith("float")) return p.to("int64");
  throw new FlareError(`${what}: preds must be N×C×H×W scores or N×H×W integer class ids, got ${describe(p)}`, "E_SHAPE");
}

/**
 * The numClasses×numClasses confusion matrix (int64; rows: target class,
 * columns: predicted class) of one batch. Target values must be class ids
 * (0..numClasses-1) or ignoreIndex; anything else is a FlareError.
 */
export function confusionMatrix(preds: Tensor | { out: Tensor }, target: Tensor, numClasses: number, options: ConfusionMatrixOptions = {}): Tensor {
  const what = "confusionMatrix()";
  const n = checkClasses(numClasses, what);
  const ignore = checkIgnore(options, what);
  if (!(target instanceof Tensor) || target.dim() !== 3 || target.dtype.startsWith("float") || target.dtype === "bool")
    throw new FlareError(`${what}: target must be N×H×W integer class ids, got ${describe(target)}`, "E_ARGUMENT");
  return tidy(() => noGrad(() => {
    const pred = predictedClasses(preds, n, what);
    if (pred.shape.join() !== target.shape.join())
      throw new FlareError(`${what}: the prediction is [${pred.shape.join(", ")}] (N×H×W) but the target is [${target.shape.join(", ")}]: the mask must have the image's size`, "E_SHAPE");
    const t = target.to({ dtype: "int64", device: pred.device });
    const labelled = t.ne(ignore);
    const bad = labelled.logicalAnd(t.lt(0).logicalOr(t.ge(n)));
    if (bad.any().item()) {
      const value = t.index(bad).index(0).item();
      throw new FlareError(`${what}: the target holds class id ${value}, outside 0..${n - 1} (and not the ignore index ${ignore})`, "E_ARGUMENT");
    }
    const p = pred.index(labelled), y = t.index(labelled);
    if (p.numel() > 0 && (p.lt(0).logicalOr(p.ge(n))).any().item())
      throw new FlareError(`${what}: the predicted class ids must lie in 0..${n - 1}`, "E_ARGUMENT");
    return y.mul(n).add(p).bincount({ minlength: n * n }).reshape(n, n).cpu();
  }));
}

/** Pixel accuracy, per-class accuracy and IoU, and mean IoU from a confusion matrix (a tensor or rows of counts). */
export function segmentationScores(matrix: Tensor | ArrayLike<number>[]): SegmentationScores {
  const what = "segmentationScores()";
  let rows: number[][];
  if (matrix instanceof Tensor) {
    if (matrix.dim() !== 2 || matrix.shape[0] !== matrix.shape[1]) throw new FlareError(`${what}: matrix must be square, got shape [${matrix.shape.join(", ")}]`, "E_SHAPE");
    rows = tidy(() => matrix.to("float64").tolist()) as number[][];
  } else if (Array.isArray(matrix) && matrix.every((r) => r.length === matrix.length)) {
    rows = matrix.map((r) => Array.from(r));
  } else throw new FlareError(`${what}: matrix must be a square tensor or array of rows`, "E_ARGUMENT");
  const n = rows.length;
  const diag = rows.map((r, i) => r[i]);
  const rowSum = rows.map((r) => r.reduce((a, b) => a + b, 0));
  const colSum = Array.from({ length: n }, (_, j) => rows.reduce((a, r) => a + r[j], 0));
  const total = rowSum.reduce((a, b) => a + b, 0);
  const iou = diag.map((d, i) => d / (rowSum[i] + colSum[i] - d));
  const present = iou.filter((v) => !Number.isNaN(v));
  return {
    pixelAccuracy: diag.reduce((a, b) => a + b, 0) / total,
    classAccuracy: diag.map((d, i) => d / rowSum[i]),
    iou,
    meanIou: present.length ? present.reduce((a, b) => a + b, 0) / present.length : NaN,
  };
}

export interface SegmentationMetricOptions extends ConfusionMatrixOptions {
  /** Also report each class's IoU, as iou_<name> (names: classNames, else the class ids). */
  perClass?: boolean;
  classNames?: readonly string[];
}

/**
 * The Trainer metric (update / compute / reset): a confusion matrix summed over
 * the epoch; compute() gives pixel_acc and miou (and iou_<class> with perClass).
 * update(preds, target) takes N×C×H×W scores (or a model's { out, aux }: out is
 * scored) and N×H×W targets. It keeps plain numbers, no tensors.
 */
export class SegmentationMetric {
  readonly numClasses: number;
  readonly ignoreIndex: number;
  readonly higherIsBetter = true;
  private readonly perClass: boolean;
  private readonly names: string[];
  private counts: Float64Array;

  constructor(numClasses: number, options: SegmentationMetricOptions = {}) {
    const what = "SegmentationMetric()";
    this.numClasses = checkClasses(numClasses, what);
    const { perClass, classNames, ...rest } = options ?? {};
    this.ignoreIndex = checkIgnore(rest, what);
    if (perClass !== undefined && typeof perClass !== "boolean") throw new FlareError(`${what}: perClass must be true or false`, "E_ARGUMENT");
    if (classNames !== undefined && (!Array.isArray(classNames) || classNames.length !== this.numClasses || !classNames.every((c) => typeof c === "string")))
      throw new FlareError(`${what}: classNames must be ${this.numClasses} strings, got ${JSON.stringify(classNames)}`, "E_ARGUMENT");
    this.perClass = perClass ?? false;
    this.names = classNames ? classNames.map((c) => c.replace(/[^A-Za-z0-9]+/g, "_")) : Array.from({ length: this.numClasses }, (_, i) => String(i));
    this.counts = new Float64Array(this.numClasses * this.numClasses);
  }

  update(preds: Tensor | { out: Tensor }, target: Tensor): void {
    const m = confusionMatrix(preds, target, this.numClasses, { ignoreIndex: this.ignoreIndex });
    try {
      const values = m.dataSync();
      for (let i = 0; i < values.length; i++) this.counts[i] += Number(values[i]);
    } finally {
      m.dispose();
    }
  }

  /** The epoch's confusion matrix as rows of counts. */
  matrix(): number[][] {
    const n = this.numClasses;
    return Array.from({ length: n }, (_, i) => Array.from(this.counts.subarray(i * n, (i + 1) * n)));
  }

  scores(): SegmentationScores { return segmentationScores(this.matrix()); }

  compute(): Record<string, number> {
    const s = this.scores();
    const out: Record<string, number> = { pixel_acc: s.pixelAccuracy, miou: s.meanIou };
    if (this.perClass) s.iou.forEach((v, i) => { out[`iou_${this.names[i]}`] = v; });
    return out;
  }

  reset(): void { this.counts.fill(0); }
}
