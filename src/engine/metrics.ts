// Training metrics: top-k accuracy and running means (d2l's Accumulator).
import type { Tensor } from "../tensor/index.js";
import { tidy, noGrad } from "../tensor/index.js";

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

/** Sums named values and counts, to report means over an epoch. */
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
