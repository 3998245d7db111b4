// Metrics with epoch-level reduction, shaped like torchmetrics: update() with
// each batch's predictions and targets, compute() at the end of the epoch,
// reset() before the next. Top-k accuracy here; mAP and mIoU plug in the same way.
import { FlareError } from "../errors.js";
import type { Tensor } from "../tensor/index.js";
import { Tensor as TensorClass, tidy, noGrad } from "../tensor/index.js";

export interface Metric<P = unknown, T = unknown> {
  /**
   * Accumulates one batch. It runs inside the step's tidy scope: a metric that
   * keeps tensors across batches must torch.keep() them (and free them in reset()).
   */
  update(preds: P, target: T): void;
  /** The epoch's values by name ("acc", "acc_top5", "map_50"); the Trainer prefixes train_ / val_. */
  compute(): Record<string, number>;
  reset(): void;
  /** Whether larger values are better: picks the monitor mode when the Trainer monitors this metric. */
  readonly higherIsBetter?: boolean;
}

/** The number of rows whose label is among the k largest logits, for each k. */
export function correctTopK(logits: Tensor, labels: Tensor, ks: number[] = [1]): number[] {
  return tidy(() => noGrad(() => {
    const classes = logits.shape[logits.dim() - 1];
    const maxK = Math.min(Math.max(...ks), classes);
    const top = logits.topk(maxK, -1).indices;               // N×k
    const hits = top.eq(labels.reshape(-1, 1));                // N×k
    return ks.map((k) => hits.index(":", `:${Math.min(k, classes)}`).any(1).sum().item());
  }));
}

/** The name top-k accuracy reports under: "acc" for k = 1, "acc_top5" for k = 5. */
export const topKName = (k: number): string => (k === 1 ? "acc" : `acc_top${k}`);

/**
 * Top-k accuracy of N×C logits against N class indices, over the epoch
 * (torchmetrics' MulticlassAccuracy with top_k, micro-averaged). Batches whose
 * predictions are not N×C logits with N labels are an error.
 */
export class TopKAccuracy implements Metric<Tensor, Tensor> {
  readonly ks: number[];
  readonly higherIsBetter = true;
  private correct: number[];
  private total = 0;
  constructor(ks: number[] = [1]) {
    if (!Array.isArray(ks) || ks.length === 0 || !ks.every((k) => Number.isInteger(k) && k >= 1))
      throw new FlareError(`TopKAccuracy(): ks must be a non-empty array of positive integers, got ${JSON.stringify(ks)}`, "E_ARGUMENT");
    this.ks = [...ks];
    this.correct = ks.map(() => 0);
  }
  update(logits: Tensor, labels: Tensor): void {
    if (!(logits instanceof TensorClass) || !(labels instanceof TensorClass) || logits.dim() !== 2 || labels.dim() !== 1 || labels.shape[0] !== logits.shape[0])
      throw new FlareError(`TopKAccuracy.update(): needs N×C logits and N labels, got ${shapeOf(logits)} and ${shapeOf(labels)}`, "E_SHAPE");
    correctTopK(logits, labels, this.ks).forEach((c, i) => { this.correct[i] += c; });
    this.total += labels.shape[0];
  }
  compute(): Record<string, number> {
    return Object.fromEntries(this.ks.map((k, i) => [topKName(k), this.correct[i] / this.total]));
  }
  reset(): void { this.correct = this.ks.map(() => 0); this.total = 0; }
}

const shapeOf = (v: unknown) => (v instanceof TensorClass ? `a tensor of shape [${v.shape.join(", ")}]` : typeof v);

/** Sums named values and counts, to report means over an epoch (d2l's Accumulator). */
export class Averages {
  private sums = new Map<string, number>();
  private counts = new Map<string, number>();
  add(name: string, value: number, count = 1): void {
    this.sums.set(name, (this.sums.get(name) ?? 0) + value);
    this.counts.set(name, (this.counts.get(name) ?? 0) + count);
  }
  mean(name: string): number { return (this.sums.get(name) ?? NaN) / (this.counts.get(name) ?? NaN); }
  means(): Record<string, number> {
    return Object.fromEntries([...this.sums.keys()].map((k) => [k, this.mean(k)]));
  }
}
