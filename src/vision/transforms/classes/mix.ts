// MixUp and CutMix on batches (torchvision v2 semantics): each image is mixed
// with the next one in the batch (roll by 1); labels become soft one-hot
// vectors mixed with the same weight. With perSample, every image draws its
// own weight (and its own CutMix box), as one batched where/multiply.
import { FlareError } from "../../../errors.js";
import { Tensor, wrap } from "../../../tensor/tensor.js";
import { tidy } from "../../../tensor/scope.js";
import { where } from "../../../tensor/ops/indexing.js";
import { arange } from "../../../tensor/creation.js";
import { aten } from "../../../tensor/aten.js";
import { Generator, defaultGenerator } from "../../../tensor/random.js";
import { isFloating } from "../../../tensor/dtype.js";
import { describe, floats, perImageTensor } from "../_utils.js";
import { checkOptions } from "../../../options.js";

const oneHotOp = aten.oneHot;

/** A Gamma(shape, 1) draw (Marsaglia and Tsang). */
function gamma(g: Generator, shape: number): number {
  if (shape < 1) return gamma(g, shape + 1) * Math.pow(1 - g.random(), 1 / shape);
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = g.normal();
    const v0 = 1 + c * x;
    if (v0 <= 0) continue;
    const v = v0 * v0 * v0, u = 1 - g.random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A Beta(a, b) draw. */
export function beta(g: Generator, a: number, b: number): number {
  const x = gamma(g, a), y = gamma(g, b);
  return x / (x + y);
}

export interface MixOptions {
  /** Beta(alpha, alpha) distribution of the mixing weight; default 1. */
  alpha?: number;
  /** Number of classes for the one-hot labels (required with integer labels). */
  numClasses?: number;
  generator?: Generator;
  /** A separate weight (and box) per image. Default false. */
  perSample?: boolean;
}

abstract class BatchMix {
  readonly alpha: number;
  readonly numClasses: number | null;
  generator: Generator;
  perSample: boolean;
  lastParams: unknown = null;
  constructor(options: MixOptions) {
    const what = this.constructor.name;
    checkOptions(options, ["alpha", "numClasses", "generator", "perSample"], `new ${what}()`);
    const alpha = options.alpha ?? 1.0;
    if (typeof alpha !== "number" || !(alpha > 0)) throw new FlareError(`${what}: alpha must be positive, got ${describe(alpha)}`, "E_ARGUMENT");
    this.alpha = alpha;
    const k = options.numClasses ?? null;
    if (k !== null && (!Number.isInteger(k) || k < 1)) throw new FlareError(`${what}: numClasses must be a positive integer, got ${describe(k)}`, "E_ARGUMENT");
    this.numClasses = k;
    this.generator = options.generator ?? defaultGenerator;
    this.perSample = options.perSample ?? false;
  }

  /** Mixes a batch [N, C, H, W] and its labels (int64 [N], or soft [N, K]) → [images, soft labels [N, K]]. */
  forward(images: Tensor, labels: Tensor): [Tensor, Tensor] {
    this.check(images, labels);
    const params = this.draw(images);
    this.lastParams = params;
    return tidy(() => this.mix(images, this.soft(labels), params));
  }

  /** Mixes with recorded parameters (lastParams). */
  replay(params: unknown, images: Tensor, labels: Tensor): [Tensor, Tensor] {
    this.check(images, labels);
    return tidy(() => this.mix(images, this.soft(labels), params));
  }

  protected abstract draw(images: Tensor): unknown;
  protected abstract mix(images: Tensor, labels: Tensor, params: unknown): [Tensor, Tensor];

  private check(images: Tensor, labels: Tensor): void {
    const what = this.constructor.name;
    if (!(images instanceof Tensor) || images.ndim !== 4) throw new FlareError(`${what}: images must be a batch [N, C, H, W], got ${images instanceof Tensor ? `shape [${images.shape.join(", ")}]` : describe(images)}`, "E_SHAPE");
    if (!(labels instanceof Tensor)) throw new FlareError(`${what}: labels must be a Tensor [N] of class indices (or [N, K] soft labels), got ${describe(labels)}`, "E_ARGUMENT");
    if (labels.shape[0] !== images.shape[0]) throw new FlareError(`${what}: ${labels.shape[0]} labels for a batch of ${images.shape[0]} images`, "E_SHAPE");
    if (labels.ndim === 1) {
      if (isFloating(labels.dtype) || labels.dtype === "bool") throw new FlareError(`${what}: labels [N] must be integer class indices, got ${labels.dtype}`, "E_DTYPE");
      if (this.numClasses === null) throw new FlareError(`${what}: numClasses is required with integer labels`, "E_ARGUMENT");
      if (labels.numel() > 0) {
        const lo = Number(labels.min().item()), hi = Number(labels.max().item());
        if (lo < 0 || hi >= this.numClasses) throw new FlareError(`${what}: labels must be in [0, ${this.numClasses}), got values in [${lo}, ${hi}]`, "E_ARGUMENT");
      }
    } else if (labels.ndim !== 2 || (this.numClasses !== null && labels.shape[1] !== this.numClasses))
      throw new FlareError(`${what}: labels must be [N] class indices or [N, ${this.numClasses ?? "K"}] soft labels, got shape [${labels.shape.join(", ")}]`, "E_SHAPE");
  }

  private soft(labels: Tensor): Tensor {
    if (labels.ndim === 2) return isFloating(labels.dtype) ? labels : labels.to("float32");
    return wrap(oneHotOp(labels.to("int64").handle, this.numClasses)).to("float32");
  }

  /** lam * a + (1 - lam) * b in a's float dtype; lam a number or one per image. */
  protected blend(a: Tensor, b: Tensor, lam: number | number[]): Tensor {
    const fa = isFloating(a.dtype) ? a : a.to("float32"), fb = isFloating(b.dtype) ? b : b.to("float32");
    if (typeof lam === "number") return fb.mul(1.0 - lam).add(fa.mul(lam));
    const l = perImageTensor(lam, fa, fa.dtype), m = perImageTensor(lam.map((v) => 1.0 - v), fa, fa.dtype);
    return fb.mul(m).add(fa.mul(l));
  }

  protected back(x: Tensor, like: Tensor): Tensor { return isFloating(like.dtype) ? x.to(like.dtype) : x.round().clamp(0, 255).to(like.dtype); }
}

/** MixUp (Zhang et al.): x = lam·x + (1 − lam)·x_rolled, lam ~ Beta(alpha, alpha). */
export class MixUp extends BatchMix {
  constructor(options: MixOptions = {}) { super(options); }
  protected draw(images: Tensor): { lam: number | number[] } {
    const n = images.shape[0];
    return { lam: this.perSample ? Array.from({ length: n }, () => beta(this.generator, this.alpha, this.alpha)) : beta(this.generator, this.alpha, this.alpha) };
  }
  protected mix(images: Tensor, labels: Tensor, params: unknown): [Tensor, Tensor] {
    const { lam } = params as { lam: number | number[] };
    const out = this.back(this.blend(images, images.roll(1, 0), lam), images);
    return [out, this.blend(labels, labels.roll(1, 0), lam)];
  }
  override toString(): string { return `MixUp(alpha=${this.alpha}, numClasses=${this.numClasses})`; }
}

interface CutBox { box: [number, number, number, number]; lam: number }

/** CutMix (Yun et al.): pastes a box of the rolled batch; labels mixed by the pasted area. */
export class CutMix extends BatchMix {
  constructor(options: MixOptions = {}) { super(options); }
  private box(h: number, w: number): CutBox {
    const g = this.generator;
    const lam = beta(g, this.alpha, this.alpha);
    const rx = g.randint(0, w), ry = g.randint(0, h);
    const r = 0.5 * Math.sqrt(1.0 - lam);
    const rw = Math.trunc(r * w), rh = Math.trunc(r * h);
    const x1 = Math.max(rx - rw, 0), y1 = Math.max(ry - rh, 0), x2 = Math.min(rx + rw, w), y2 = Math.min(ry + rh, h);
    return { box: [x1, y1, x2, y2], lam: 1.0 - ((x2 - x1) * (y2 - y1)) / (w * h) };
  }
  protected draw(images: Tensor): CutBox | { perSample: CutBox[] } {
    const [n, , h, w] = images.shape;
    return this.perSample ? { perSample: Array.from({ length: n }, () => this.box(h, w)) } : this.box(h, w);
  }
  protected mix(images: Tensor, labels: Tensor, params: unknown): [Tensor, Tensor] {
    const rolled = images.roll(1, 0);
    const boxes = "perSample" in (params as object) ? (params as { perSample: CutBox[] }).perSample : null;
    if (!boxes) {
      const { box: [x1, y1, x2, y2], lam } = params as CutBox;
      const out = images.clone();
      out.indexPut_(["...", `${y1}:${y2}`, `${x1}:${x2}`], rolled.index("...", `${y1}:${y2}`, `${x1}:${x2}`));
      return [out, this.blend(labels, labels.roll(1, 0), lam)];
    }
    const [n, , h, w] = images.shape;
    const col = (k: number) => floats(boxes.map((b) => b.box[k]), [n, 1, 1, 1], "float32", images.device);
    const rows = arange(0, h, { device: images.device }).view(1, 1, h, 1), cols = arange(0, w, { device: images.device }).view(1, 1, 1, w);
    const mask = cols.ge(col(0)).logicalAnd(rows.ge(col(1))).logicalAnd(cols.lt(col(2))).logicalAnd(rows.lt(col(3)));
    return [where(mask, rolled, images), this.blend(labels, labels.roll(1, 0), boxes.map((b) => b.lam))];
  }
  override toString(): string { return `CutMix(alpha=${this.alpha}, numClasses=${this.numClasses})`; }
}
