// A dataset module for DataLoader worker tests (tests/data_workers.test.ts):
// sample i is [image 2×3 filled with i, label i], with knobs for failures,
// async gets, delays and randomness. The tests build the same dataset on the main thread.
import * as torch from "../../src/index.js";
import { getWorkerInfo, type Dataset } from "../../src/data/index.js";

export interface RangeArgs {
  n: number;
  /** Indices whose get() throws. */
  failAt?: number[];
  /** get() returns a Promise (resolved after delayMs). */
  async?: boolean;
  /** Milliseconds each get() takes (async: timer; sync: busy wait). */
  delayMs?: number;
  /** Vary the delay with the index (0-4 ms), so workers finish out of order. */
  jitter?: boolean;
  /** Add a draw of flare's generator to each sample (seeding tests). */
  random?: boolean;
  /** Record the worker that made each sample. */
  tagWorker?: boolean;
  /** Record the worker's seed (getWorkerInfo().seed, a bigint) as a decimal string. */
  tagSeed?: boolean;
  /** An index at which the worker process exits (crash test). */
  exitAt?: number;
  /** Detection samples instead: [image, (i mod 3)×5 rows [class, x1, y1, x2, y2]]. */
  detection?: boolean;
  /** uint8 image samples instead: [3×2×2 bytes from i, label i] (normalizeCollate tests). */
  uint8?: boolean;
}

export type RangeSample = [torch.Tensor, number] | [torch.Tensor, number, number];

export class RangeDataset implements Dataset<RangeSample> {
  constructor(readonly args: RangeArgs) {}
  get length(): number { return this.args.n; }
  private make(i: number): RangeSample {
    if (this.args.failAt?.includes(i)) throw new Error(`bad sample ${i}`);
    if (this.args.exitAt === i) process.exit(3);
    if (this.args.detection) {
      const k = i % 3;
      const rows = torch.tidy(() => torch.tensor(Array.from({ length: k }, (_, r) => [r, i, i, i + 1, i + 1]), { dtype: "float32" }).reshape([k, 5]));
      return [torch.full([3, 2, 2], i), rows] as unknown as RangeSample;
    }
    if (this.args.uint8) return [torch.tidy(() => torch.arange(0, 12).mul(20).add(i).remainder(256).reshape([3, 2, 2]).to("uint8")), i];
    const image = torch.full([2, 3], i);
    const sample: RangeSample = [image, i];
    if (this.args.random) (sample as unknown[]).push(torch.defaultGenerator.random());
    if (this.args.tagWorker) (sample as unknown[]).push(getWorkerInfo()?.id ?? -1);
    if (this.args.tagSeed) (sample as unknown[]).push(String(getWorkerInfo()?.seed ?? "none"));
    return sample;
  }
  get(i: number): RangeSample | Promise<RangeSample> {
    const delay = this.args.jitter ? (i * 7) % 5 : this.args.delayMs ?? 0;
    if (this.args.async) return new Promise((resolve, reject) => setTimeout(() => { try { resolve(this.make(i)); } catch (e) { reject(e); } }, delay));
    if (delay > 0) { const end = Date.now() + delay; while (Date.now() < end) { /* busy */ } }
    return this.make(i);
  }
}

export function createDataset(args: RangeArgs): RangeDataset {
  return new RangeDataset(args);
}
