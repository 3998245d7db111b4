// The base classes of the transform classes.
//
// forward(img) → img; forward(img, target) → [img, target]. A batch
// [N, C, H, W] takes an array of N targets. Every call records the
// parameters it drew in `lastParams` (plain JSON-able data, no tensors);
// `replay(params, img, target?)` applies the same parameters again — to
// the same image, its mask, or a whole pipeline (Compose records its
// children's parameters).
//
// Random transforms draw their parameters as torchvision 0.14 does, from
// PyTorch's generator (torch.manualSeed seeds it; a DataLoader worker has its
// own), so a seed gives PyTorch's augmentations; option `generator`: a
// torch.TorchGenerator, or flare's JavaScript torch.Generator (random.ts). With
// `perSample: true` a batch gets one parameter set per image, recorded as
// { perSample: [p0, p1, ...] } and applied as batched tensor ops.
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { tidy } from "../../tensor/scope.js";
import { cat } from "../../tensor/ops/shape.js";
import { Generator, defaultGenerator } from "../../tensor/random.js";
import { randomSource, type RandomSource, type TransformGenerator } from "./random.js";
import { checkGenerator } from "../../tensor/generator.js";
import type { DType } from "../../tensor/dtype.js";
import { checkImage, dims, describe, longs, indexCopy } from "./_utils.js";
import { checkTarget, applyGeoToImage, applyGeoToTarget, geoOutputSize, type Target, type GeoOp, type ImageOptions } from "./target.js";

export type TargetArg = Target | Target[];
export interface PerSample<P> { perSample: P[] }

export function isPerSample<P>(params: unknown): params is PerSample<P> {
  return params !== null && typeof params === "object" && Array.isArray((params as PerSample<P>).perSample);
}

/** What a transform knows about an image when it draws parameters. */
export interface ImageInfo { channels: number; height: number; width: number; dtype: DType; device: string }

export function infoOf(img: Tensor): ImageInfo {
  const [channels, height, width] = dims(img);
  return { channels, height, width, dtype: img.dtype, device: img.device };
}

/** Validates and normalises the target argument against the image (or batch). */
export function prepareTarget(img: Tensor, target: unknown, what: string): TargetArg | undefined {
  if (target === undefined) return undefined;
  const [, h, w] = dims(img);
  if (Array.isArray(target)) {
    if (img.ndim !== 4) throw new FlareError(`${what}: an array of targets needs a batch [N, C, H, W], got an image of shape [${img.shape.join(", ")}]`, "E_SHAPE");
    if (target.length !== img.shape[0]) throw new FlareError(`${what}: ${target.length} targets for a batch of ${img.shape[0]} images`, "E_SHAPE");
    return target.map((t, i) => checkTarget(t, [h, w], `${what}: target[${i}]`));
  }
  if (img.ndim > 3) throw new FlareError(`${what}: a batch [N, C, H, W] takes an array of N targets (one per image), got ${describe(target)}`, "E_ARGUMENT");
  return checkTarget(target, [h, w], `${what}: target`);
}

export abstract class Transform {
  /** The parameters of the last forward() (null for deterministic transforms). */
  lastParams: unknown = null;

  /** Applies the transform: to an image or batch, and to its target(s) when given. */
  forward(img: Tensor): Tensor;
  forward<T extends TargetArg>(img: Tensor, target: T): [Tensor, T];
  forward(img: Tensor, target?: TargetArg): Tensor | [Tensor, TargetArg];
  forward(img: Tensor, target?: TargetArg): Tensor | [Tensor, TargetArg] {
    const what = `${this.constructor.name}`;
    checkImage(img, `${what}: img`, this.minDims);
    const t = prepareTarget(img, target, what);
    // Parameters are plain data; any tensor made while drawing them (box arithmetic) is freed here.
    const params = tidy(() => this.getParams(img, t));
    this.lastParams = params;
    const [out, outTarget] = tidy(() => this.apply(img, t, params));
    return target === undefined ? out : [out, outTarget!];
  }

  /** Applies the transform with recorded parameters (from lastParams) instead of drawing new ones. */
  replay(params: unknown, img: Tensor): Tensor;
  replay<T extends TargetArg>(params: unknown, img: Tensor, target: T): [Tensor, T];
  replay(params: unknown, img: Tensor, target?: TargetArg): Tensor | [Tensor, TargetArg];
  replay(params: unknown, img: Tensor, target?: TargetArg): Tensor | [Tensor, TargetArg] {
    const what = `${this.constructor.name}.replay()`;
    checkImage(img, `${what}: img`, this.minDims);
    const t = prepareTarget(img, target, what);
    this.checkParams(params, img);
    const [out, outTarget] = tidy(() => this.apply(img, t, params));
    return target === undefined ? out : [out, outTarget!];
  }

  /** The smallest image rank this transform takes (3: [C, H, W]). */
  protected get minDims(): number { return 3; }
  protected getParams(_img: Tensor, _target: TargetArg | undefined): unknown { return null; }
  protected checkParams(params: unknown, img: Tensor): void {
    if (isPerSample(params) && params.perSample.length !== img.shape[0])
      throw new FlareError(`${this.constructor.name}.replay(): per-sample parameters for ${params.perSample.length} images, but the batch has ${img.ndim === 4 ? img.shape[0] : 1}`, "E_SHAPE");
  }
  /** Applies the transform with the given parameters (inside a tidy scope). */
  protected abstract apply(img: Tensor, target: TargetArg | undefined, params: unknown): [Tensor, TargetArg | undefined];

  toString(): string { return `${this.constructor.name}()`; }
}

let chunkElements = 1 << 18;

/**
 * The size (in elements) of the blocks of images that the per-sample path
 * processes at once on the CPU (default 2^18 elements: about 85 RGB images of 32×32, one of 224×224 — measured fastest on a 1 MiB-L2 CPU);
 * Infinity processes the whole batch at once. Other devices always do.
 */
export function setBatchChunkSize(elements: number): void {
  if (!(elements >= 1)) throw new FlareError(`setBatchChunkSize(): elements must be at least 1, got ${describe(elements)}`, "E_ARGUMENT");
  chunkElements = elements;
}

export interface RandomOptions {
  /** Where random parameters come from: default PyTorch's generator (seeded by torch.manualSeed), drawn in torchvision's order; a torch.TorchGenerator; or flare's JavaScript torch.Generator (faster, not PyTorch's numbers). */
  generator?: TransformGenerator;
  /** For a batch [N, C, H, W]: draw separate parameters for each image (batched ops). Default false. */
  perSample?: boolean;
}

/** A transform with random parameters P (one set per call, or per image with perSample). */
export abstract class RandomTransform<P> extends Transform {
  generator: TransformGenerator | undefined;
  perSample: boolean;
  constructor(options: RandomOptions = {}) {
    super();
    this.generator = checkGenerator(options.generator, this.constructor.name);
    this.perSample = options.perSample ?? false;
    if (typeof this.perSample !== "boolean") throw new FlareError(`${this.constructor.name}: perSample must be a boolean, got ${describe(options.perSample)}`, "E_ARGUMENT");
  }

  /** Draws the parameters for one image (its target when it has one). */
  protected abstract sample(info: ImageInfo, target: Target | undefined): P;
  protected abstract applyOne(img: Tensor, target: TargetArg | undefined, params: P): [Tensor, TargetArg | undefined];
  /** The batched per-sample path: img [N, C, H, W], one P per image. */
  protected applyBatch(_img: Tensor, _targets: Target[] | undefined, _params: P[]): [Tensor, Target[] | undefined] {
    throw new FlareError(`${this.constructor.name} does not support perSample`, "E_NOT_IMPLEMENTED");
  }

  protected override getParams(img: Tensor, target: TargetArg | undefined): unknown { return this.drawParams(img, target); }

  /** Draws P for the image, or one P per image of a batch with perSample. */
  protected drawParams(img: Tensor, target: TargetArg | undefined): P | PerSample<P> {
    const info = infoOf(img);
    if (this.perSample && img.ndim === 4) {
      const targets = target as Target[] | undefined;
      return { perSample: Array.from({ length: img.shape[0] }, (_, i) => this.sample(info, targets?.[i])) };
    }
    return this.sample(info, Array.isArray(target) ? target[0] : target);
  }

  protected apply(img: Tensor, target: TargetArg | undefined, params: unknown): [Tensor, TargetArg | undefined] {
    if (isPerSample<P>(params)) {
      if (img.ndim !== 4) throw new FlareError(`${this.constructor.name}: per-sample parameters need a batch [N, C, H, W]`, "E_SHAPE");
      return this.applyChunked(img, target as Target[] | undefined, params.perSample);
    }
    return this.applyOne(img, target, params as P);
  }

  /**
   * The per-sample path in blocks of images of about batchChunkElements
   * elements on the CPU: each block is one set of batched ops, and stays in
   * cache through the chain of element-wise ops (several times faster than
   * whole-batch passes, and than a loop over single images).
   */
  private applyChunked(img: Tensor, targets: Target[] | undefined, params: P[]): [Tensor, Target[] | undefined] {
    if (this.wholeBatchAtOnce(img)) return this.applyBatch(img, targets, params);
    const n = img.shape[0];
    const perImage = img.numel() / Math.max(n, 1);
    const k = img.device === "cpu" ? Math.max(1, Math.floor(chunkElements / Math.max(perImage, 1))) : n;
    if (k >= n) return this.applyBatch(img, targets, params);
    const outs: Tensor[] = [];
    const outTargets: Target[] = [];
    for (let s = 0; s < n; s += k) {
      const m = Math.min(k, n - s);
      const [o, t] = this.applyBatch(img.narrow(0, s, m), targets?.slice(s, s + m), params.slice(s, s + m));
      outs.push(o);
      if (t) outTargets.push(...t);
    }
    return [cat(outs, 0), targets ? outTargets : undefined];
  }

  /**
   * Whether applyBatch takes the whole batch in one call on this input: true where it runs a
   * native kernel that already goes image by image (blocks would only add a copy to join them).
   */
  protected wholeBatchAtOnce(_img: Tensor): boolean { return false; }

  /** The draws, from `generator` (or PyTorch's default generator of this thread). */
  protected get rng(): RandomSource { return randomSource(this.generator); }

  /** flare's JavaScript generator (`generator` if it is one, else torch.defaultGenerator), for draws torchvision 0.14 has no order for. */
  protected get jsGenerator(): Generator { return this.generator instanceof Generator ? this.generator : defaultGenerator; }

  /** `torch.rand(1) < p`, torchvision's "with probability p". */
  protected coin(p: number): boolean { return this.rng.below(p); }
}

/** Maps each target (one, or one per image) through fn. */
export function mapTargets(target: TargetArg | undefined, fn: (t: Target, i: number) => Target): TargetArg | undefined {
  if (target === undefined) return undefined;
  return Array.isArray(target) ? target.map(fn) : fn(target, 0);
}

/**
 * A geometric transform: each parameter set becomes a GeoOp, applied to the
 * image (with the transform's interpolation and fill) and to its boxes and masks.
 */
export abstract class GeometricTransform<P> extends RandomTransform<P> {
  /** The ops (applied in order) of one parameter set on an image of `size`. */
  protected abstract ops(params: P, size: [number, number]): GeoOp[];
  protected imageOptions(): ImageOptions { return {}; }
  protected applyOne(img: Tensor, target: TargetArg | undefined, params: P): [Tensor, TargetArg | undefined] {
    const [, h, w] = dims(img);
    let size: [number, number] = [h, w];
    let out = img, t = target;
    for (const op of this.ops(params, [h, w])) {
      const at = size;
      out = applyGeoToImage(out, op, this.imageOptions());
      t = mapTargets(t, (x) => applyGeoToTarget(x, op, at));
      size = geoOutputSize(op, at);
    }
    return [out, t];
  }
  /** The per-sample targets: each moved by its own image's ops. */
  protected batchTargets(targets: Target[] | undefined, params: P[], size: [number, number]): Target[] | undefined {
    return targets?.map((t, i) => moveTarget(t, this.ops(params[i], size), size));
  }
}

/** Moves a target through a sequence of ops that start on an image of `size`. */
export function moveTarget(target: Target, ops: GeoOp[], size: [number, number]): Target {
  let t = target, at = size;
  for (const op of ops) { t = applyGeoToTarget(t, op, at); at = geoOutputSize(op, at); }
  return t;
}

/**
 * Applies fn to the images `indices` of a batch (and their targets) and puts
 * the results back — batched work on a subset, not a loop over images. The
 * results must keep the images' shape and dtype.
 */
export function applyToSubset(img: Tensor, targets: Target[] | undefined, indices: number[], fn: (sub: Tensor, subTargets: Target[] | undefined) => [Tensor, Target[] | undefined], what: string): [Tensor, Target[] | undefined] {
  const n = img.shape[0];
  if (indices.length === 0) return [img, targets];
  const all = indices.length === n;
  const idx = all ? null : longs(indices, [indices.length], img.device);
  const sub = idx ? img.indexSelect(0, idx) : img;
  const [out, outTargets] = fn(sub, targets ? indices.map((i) => targets[i]) : undefined);
  if (out.dtype !== img.dtype || out.shape.length !== sub.shape.length || out.shape.some((s, i) => s !== sub.shape[i]))
    throw new FlareError(`${what}: with perSample, a transform applied to some images of a batch must keep their shape and dtype (got [${out.shape.join(", ")}] ${out.dtype} from [${sub.shape.join(", ")}] ${sub.dtype})`, "E_SHAPE");
  if (!idx) return [out, outTargets];
  const merged = indexCopy(img, idx, out);
  let mergedTargets = targets;
  if (targets && outTargets) {
    mergedTargets = targets.slice();
    indices.forEach((i, k) => { mergedTargets![i] = outTargets[k]; });
  }
  return [merged, mergedTargets];
}

/** Indices 0..n-1 grouped by key (insertion order of first appearance). */
export function groupBy<K>(keys: K[]): Map<K, number[]> {
  const groups = new Map<K, number[]>();
  keys.forEach((k, i) => { const g = groups.get(k); if (g) g.push(i); else groups.set(k, [i]); });
  return groups;
}

/** Checks a probability argument. */
export function probability(value: unknown, what: string): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) throw new FlareError(`${what} must be a probability in [0, 1], got ${describe(value)}`, "E_ARGUMENT");
  return value;
}
