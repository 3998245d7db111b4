// Geometric transform classes: they move the image and its boxes and masks.
import { FlareError } from "../../../errors.js";
import { Tensor } from "../../../tensor/tensor.js";
import { where } from "../../../tensor/ops/indexing.js";
import { cat } from "../../../tensor/ops/shape.js";
import * as G from "../geometry.js";
import {
  dims, sizeArg, interpolationArg, pyRound, describe, longs, numArg, type Interpolation, type Fill,
} from "../_utils.js";
import { type GeoOp, type ImageOptions, type Target } from "../target.js";
import {
  GeometricTransform, applyToSubset, probability, type ImageInfo, type RandomOptions, type TargetArg,
} from "../transform.js";
import { pytorchOptions, type PyArgs } from "../../../options.js";

const RANDOM_OPTIONS = ["generator", "perSample"] as const;

export interface ResizeOptions { interpolation?: Interpolation; maxSize?: number | null; antialias?: boolean }

/** Resizes to [h, w], or the shorter edge to `size` keeping the aspect ratio. */
export class Resize extends GeometricTransform<null> {
  readonly size: number | number[];
  readonly interpolation: Interpolation;
  readonly maxSize: number | null;
  readonly antialias: boolean;
  constructor(size: number | number[], ...args: PyArgs<"transforms.Resize", ResizeOptions>) {
    super({});
    const options = pytorchOptions<ResizeOptions>("transforms.Resize", args, ["interpolation", "maxSize", "antialias"]);
    G.resizedOutputSize([100, 100], size, options.maxSize ?? null, "Resize");
    this.size = size;
    this.interpolation = interpolationArg(options.interpolation ?? "bilinear", "Resize: interpolation");
    this.maxSize = options.maxSize ?? null;
    this.antialias = options.antialias ?? false;
  }
  protected sample(): null { return null; }
  /** Deterministic: the same op for every image, with or without perSample. */
  protected override drawParams(): null { return null; }
  protected ops(_p: null, size: [number, number]): GeoOp[] {
    return [{ kind: "resize", size: G.resizedOutputSize(size, this.size, this.maxSize, "Resize") }];
  }
  protected override imageOptions(): ImageOptions { return { interpolation: this.interpolation, antialias: this.antialias }; }
  override toString(): string { return `Resize(size=${JSON.stringify(this.size)}, interpolation=${this.interpolation})`; }
}

/** The op of torchvision's center_crop (zero padding when the crop is larger than the image). */
export function centerCropOp(size: [number, number], [h, w]: [number, number]): GeoOp {
  const [ch, cw] = size;
  const top = ch > h ? -Math.floor((ch - h) / 2) : pyRound((h - ch) / 2);
  const left = cw > w ? -Math.floor((cw - w) / 2) : pyRound((w - cw) / 2);
  return { kind: "crop", top, left, height: ch, width: cw };
}

export class CenterCrop extends GeometricTransform<null> {
  readonly size: [number, number];
  constructor(size: number | number[], ...args: PyArgs<"transforms.CenterCrop", Record<never, never>>) {
    super({});
    pytorchOptions("transforms.CenterCrop", args, []);
    this.size = sizeArg(size, "CenterCrop: size");
  }
  protected sample(): null { return null; }
  /** Deterministic: the same op for every image, with or without perSample. */
  protected override drawParams(): null { return null; }
  protected ops(_p: null, size: [number, number]): GeoOp[] { return [centerCropOp(this.size, size)]; }
  override toString(): string { return `CenterCrop(size=[${this.size.join(", ")}])`; }
}

export interface PadOptions { fill?: number; paddingMode?: G.PaddingMode }

export class Pad extends GeometricTransform<null> {
  readonly padding: [number, number, number, number];
  readonly fill: number;
  readonly paddingMode: G.PaddingMode;
  constructor(padding: number | number[], ...args: PyArgs<"transforms.Pad", PadOptions>) {
    super({});
    const options = pytorchOptions<PadOptions>("transforms.Pad", args, ["fill", "paddingMode"]);
    this.padding = G.paddingArg(padding, "Pad: padding");
    this.fill = numArg(options.fill ?? 0, "Pad: fill");
    this.paddingMode = paddingModeArg(options.paddingMode, "Pad: paddingMode");
  }
  protected sample(): null { return null; }
  /** Deterministic: the same op for every image, with or without perSample. */
  protected override drawParams(): null { return null; }
  protected ops(): GeoOp[] { return [{ kind: "pad", padding: this.padding, fill: this.fill, paddingMode: this.paddingMode }]; }
  override toString(): string { return `Pad(padding=[${this.padding.join(", ")}], fill=${this.fill}, paddingMode=${this.paddingMode})`; }
}

function paddingModeArg(value: unknown, what: string): G.PaddingMode {
  const v = value ?? "constant";
  if (!["constant", "edge", "reflect", "symmetric"].includes(v as string))
    throw new FlareError(`${what} must be "constant", "edge", "reflect" or "symmetric", got ${describe(value)}`, "E_ARGUMENT");
  return v as G.PaddingMode;
}

// ---- flips -------------------------------------------------------------------------------

interface FlipParams { flip: boolean }
export interface FlipOptions extends RandomOptions { p?: number }

/** Elements per image from which per-sample paths go image by image (about 148² RGB). */
const LARGE_IMAGE_ELEMENTS = 1 << 16;

abstract class RandomFlip extends GeometricTransform<FlipParams> {
  readonly p: number;
  constructor(name: "transforms.RandomHorizontalFlip" | "transforms.RandomVerticalFlip", args: unknown[]) {
    const options = pytorchOptions<FlipOptions>(name, args, ["p", ...RANDOM_OPTIONS]);
    super(options);
    this.p = probability(options.p ?? 0.5, `${this.constructor.name}: p`);
  }
  protected abstract get kind(): "hflip" | "vflip";
  protected sample(): FlipParams { return { flip: this.coin(this.p) }; }
  protected ops(p: FlipParams): GeoOp[] { return p.flip ? [{ kind: this.kind }] : []; }
  protected override applyBatch(img: Tensor, targets: Target[] | undefined, params: FlipParams[]): [Tensor, Target[] | undefined] {
    const dim = this.kind === "hflip" ? -1 : -2;
    const [, h, w] = dims(img);
    const moved = this.batchTargets(targets, params, [h, w]);
    if (!params.some((p) => p.flip)) return [img, moved];
    // Large images: flip only the chosen ones and join (one copy of the batch), about 3× cheaper than
    // flipping all and selecting at 224² (5.9 against 17.5 ms of CPU per 64 images when measured).
    // Small ones: one batched flip and a select.
    if (img.numel() / params.length >= LARGE_IMAGE_ELEMENTS)
      return [cat(params.map((p, i) => (p.flip ? img.narrow(0, i, 1).flip(dim) : img.narrow(0, i, 1))), 0), moved];
    const mask = longs(params.map((p) => (p.flip ? 1 : 0)), [params.length, 1, 1, 1], img.device).bool();
    return [where(mask, img.flip(dim), img), moved];
  }
  override toString(): string { return `${this.constructor.name}(p=${this.p})`; }
}

/** Flips left-right with probability p: new RandomHorizontalFlip(), (0.3) or ({ p: 0.3 }). */
export class RandomHorizontalFlip extends RandomFlip {
  constructor(...args: PyArgs<"transforms.RandomHorizontalFlip", FlipOptions>) { super("transforms.RandomHorizontalFlip", args); }
  protected get kind() { return "hflip" as const; }
}
export class RandomVerticalFlip extends RandomFlip {
  constructor(...args: PyArgs<"transforms.RandomVerticalFlip", FlipOptions>) { super("transforms.RandomVerticalFlip", args); }
  protected get kind() { return "vflip" as const; }
}

// ---- crops ----------------------------------------------------------------------------------

export interface RandomCropOptions extends RandomOptions {
  padding?: number | number[] | null;
  padIfNeeded?: boolean;
  fill?: number;
  paddingMode?: G.PaddingMode;
}
interface CropParams { top: number; left: number }

/** A random [h, w] crop, after optional padding (and padding up to the size with padIfNeeded). */
export class RandomCrop extends GeometricTransform<CropParams> {
  readonly size: [number, number];
  readonly padding: [number, number, number, number] | null;
  readonly padIfNeeded: boolean;
  readonly fill: number;
  readonly paddingMode: G.PaddingMode;
  constructor(size: number | number[], ...args: PyArgs<"transforms.RandomCrop", RandomCropOptions>) {
    const options = pytorchOptions<RandomCropOptions>("transforms.RandomCrop", args, ["padding", "padIfNeeded", "fill", "paddingMode", ...RANDOM_OPTIONS]);
    super(options);
    this.size = sizeArg(size, "RandomCrop: size");
    this.padding = options.padding === null || options.padding === undefined ? null : G.paddingArg(options.padding, "RandomCrop: padding");
    this.padIfNeeded = options.padIfNeeded ?? false;
    this.fill = numArg(options.fill ?? 0, "RandomCrop: fill");
    this.paddingMode = paddingModeArg(options.paddingMode, "RandomCrop: paddingMode");
  }
  /** The pads before the crop, and the padded size. */
  private pads([h, w]: [number, number]): { ops: GeoOp[]; size: [number, number] } {
    const ops: GeoOp[] = [];
    const pad = (padding: [number, number, number, number]) => {
      ops.push({ kind: "pad", padding, fill: this.fill, paddingMode: this.paddingMode });
      h += padding[1] + padding[3]; w += padding[0] + padding[2];
    };
    if (this.padding) pad(this.padding);
    if (this.padIfNeeded && w < this.size[1]) { const d = this.size[1] - w; pad([d, 0, d, 0]); }
    if (this.padIfNeeded && h < this.size[0]) { const d = this.size[0] - h; pad([0, d, 0, d]); }
    return { ops, size: [h, w] };
  }
  protected sample(info: ImageInfo): CropParams {
    const [h, w] = this.pads([info.height, info.width]).size;
    const [th, tw] = this.size;
    if (h < th || w < tw) throw new FlareError(`RandomCrop: the crop size [${th}, ${tw}] is larger than the (padded) image [${h}, ${w}]`, "E_SHAPE");
    if (h === th && w === tw) return { top: 0, left: 0 };
    return { top: this.rng.randint(0, h - th + 1), left: this.rng.randint(0, w - tw + 1) };
  }
  protected ops(p: CropParams, size: [number, number]): GeoOp[] {
    return [...this.pads(size).ops, { kind: "crop", top: p.top, left: p.left, height: this.size[0], width: this.size[1] }];
  }
  protected override applyBatch(img: Tensor, targets: Target[] | undefined, params: CropParams[]): [Tensor, Target[] | undefined] {
    const [, h, w] = dims(img);
    let x = img;
    for (const op of this.pads([h, w]).ops) x = G.pad(x, (op as { padding: number[] }).padding, { fill: this.fill, paddingMode: this.paddingMode });
    const out = G.cropBatch(x, params.map((p) => p.top), params.map((p) => p.left), this.size[0], this.size[1]);
    return [out, this.batchTargets(targets, params, [h, w])];
  }
  override toString(): string { return `RandomCrop(size=[${this.size.join(", ")}], padding=${JSON.stringify(this.padding)})`; }
}

export interface RandomResizedCropOptions extends RandomOptions {
  scale?: [number, number];
  ratio?: [number, number];
  interpolation?: Interpolation;
  antialias?: boolean;
}
interface BoxParams { top: number; left: number; height: number; width: number }

/** A random region (area fraction in `scale`, aspect ratio in `ratio`) resized to `size`. */
export class RandomResizedCrop extends GeometricTransform<BoxParams> {
  readonly size: [number, number];
  readonly scale: [number, number];
  readonly ratio: [number, number];
  readonly interpolation: Interpolation;
  readonly antialias: boolean;
  constructor(size: number | number[], ...args: PyArgs<"transforms.RandomResizedCrop", RandomResizedCropOptions>) {
    const options = pytorchOptions<RandomResizedCropOptions>("transforms.RandomResizedCrop", args, ["scale", "ratio", "interpolation", "antialias", ...RANDOM_OPTIONS]);
    super(options);
    this.size = sizeArg(size, "RandomResizedCrop: size");
    this.scale = pairRange(options.scale ?? [0.08, 1.0], "RandomResizedCrop: scale", 0);
    this.ratio = pairRange(options.ratio ?? [3 / 4, 4 / 3], "RandomResizedCrop: ratio", Number.MIN_VALUE);
    this.interpolation = interpolationArg(options.interpolation ?? "bilinear", "RandomResizedCrop: interpolation");
    this.antialias = options.antialias ?? false;
  }
  protected sample(info: ImageInfo): BoxParams {
    const { height, width } = info;
    const area = height * width;
    const g = this.rng;
    // torchvision 0.14's get_params, draw for draw (log and exp in float32, as torch.log / torch.exp).
    for (let attempt = 0; attempt < 10; attempt++) {
      const targetArea = area * g.uniform(this.scale[0], this.scale[1]);
      const aspect = g.logUniform(this.ratio);
      const w = pyRound(Math.sqrt(targetArea * aspect)), h = pyRound(Math.sqrt(targetArea / aspect));
      if (w > 0 && w <= width && h > 0 && h <= height)
        return { top: g.randint(0, height - h + 1), left: g.randint(0, width - w + 1), height: h, width: w };
    }
    const inRatio = width / height;
    let w: number, h: number;
    if (inRatio < Math.min(...this.ratio)) { w = width; h = pyRound(w / Math.min(...this.ratio)); }
    else if (inRatio > Math.max(...this.ratio)) { h = height; w = pyRound(h * Math.max(...this.ratio)); }
    else { w = width; h = height; }
    return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
  }
  protected ops(p: BoxParams): GeoOp[] { return [{ kind: "resizedCrop", ...p, size: this.size }]; }
  protected override imageOptions(): ImageOptions { return { interpolation: this.interpolation, antialias: this.antialias }; }
  /** uint8 on the CPU: G.resizedCropBatch's native call goes image by image itself. */
  protected override wholeBatchAtOnce(img: Tensor): boolean {
    return img.dtype === "uint8" && img.device === "cpu" && this.interpolation === "bilinear" && !this.antialias;
  }
  protected override applyBatch(img: Tensor, targets: Target[] | undefined, params: BoxParams[]): [Tensor, Target[] | undefined] {
    if (this.antialias) throw new FlareError("RandomResizedCrop: antialias is not supported with perSample (use antialias: false)", "E_NOT_IMPLEMENTED");
    const [, h, w] = dims(img);
    return [G.resizedCropBatch(img, params, this.size, this.interpolation), this.batchTargets(targets, params, [h, w])];
  }
  override toString(): string { return `RandomResizedCrop(size=[${this.size.join(", ")}], scale=[${this.scale.join(", ")}], ratio=[${this.ratio.map((r) => +r.toFixed(4)).join(", ")}])`; }
}

export function pairRange(value: unknown, what: string, min = -Infinity): [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || value.some((v) => typeof v !== "number" || !Number.isFinite(v)))
    throw new FlareError(`${what} must be a pair [min, max], got ${describe(value)}`, "E_ARGUMENT");
  if (value[0] > value[1]) throw new FlareError(`${what} must be [min, max] with min <= max, got [${value.join(", ")}]`, "E_ARGUMENT");
  if (value[0] < min) throw new FlareError(`${what} must be at least ${min}, got [${value.join(", ")}]`, "E_ARGUMENT");
  return [value[0], value[1]];
}

/** degrees: a number d means [-d, d]. */
function degreesArg(value: unknown, what: string): [number, number] {
  if (typeof value === "number") {
    if (value < 0) throw new FlareError(`${what} must be non-negative when a single number, got ${value}`, "E_ARGUMENT");
    return [-value, value];
  }
  return pairRange(value, what);
}

// ---- rotation, affine, perspective ---------------------------------------------------------

export interface GridTransformOptions extends RandomOptions {
  interpolation?: Interpolation;
  /** Value(s) outside the image: one number or one per channel; default 0. */
  fill?: number | number[];
}

function gridInterpolation(value: unknown, what: string, fallback: Interpolation): Interpolation {
  return interpolationArg(value ?? fallback, what, ["nearest", "bilinear"]);
}

/** torchvision's classes turn fill into one float per channel, which selects the mask-based fill of the grid sampler. */
function fillFor(fill: number | number[], channels: number): Fill {
  return typeof fill === "number" ? Array(channels).fill(fill) : fill;
}

abstract class GridTransform<P> extends GeometricTransform<P> {
  readonly interpolation: Interpolation;
  readonly fill: number | number[];
  protected channels = 3;
  constructor(options: GridTransformOptions, fallback: Interpolation) {
    super(options);
    this.interpolation = gridInterpolation(options.interpolation, `${this.constructor.name}: interpolation`, fallback);
    const fill = options.fill ?? 0;
    if (typeof fill !== "number" && !(Array.isArray(fill) && fill.every((v) => typeof v === "number")))
      throw new FlareError(`${this.constructor.name}: fill must be a number or one number per channel, got ${describe(fill)}`, "E_ARGUMENT");
    this.fill = fill;
  }
  protected override getParams(img: Tensor, target: TargetArg | undefined) { this.channels = dims(img)[0]; return super.getParams(img, target); }
  protected override apply(img: Tensor, target: TargetArg | undefined, params: unknown) { this.channels = dims(img)[0]; return super.apply(img, target, params); }
  protected override imageOptions(): ImageOptions { return { interpolation: this.interpolation, fill: fillFor(this.fill, this.channels) }; }
}

export interface RandomRotationOptions extends GridTransformOptions { expand?: boolean; center?: [number, number] | null }
interface AngleParams { angle: number }

/** Rotation by an angle drawn from `degrees` (a number d: [-d, d]), counter-clockwise. */
export class RandomRotation extends GridTransform<AngleParams> {
  readonly degrees: [number, number];
  readonly expand: boolean;
  readonly center: [number, number] | null;
  constructor(degrees: number | [number, number], ...args: PyArgs<"transforms.RandomRotation", RandomRotationOptions>) {
    const options = pytorchOptions<RandomRotationOptions>("transforms.RandomRotation", args, ["interpolation", "expand", "center", "fill", ...RANDOM_OPTIONS]);
    super(options, "nearest");
    this.degrees = degreesArg(degrees, "RandomRotation: degrees");
    this.expand = options.expand ?? false;
    this.center = options.center ?? null;
  }
  protected sample(): AngleParams { return { angle: this.rng.uniform(this.degrees[0], this.degrees[1]) }; }
  protected ops(p: AngleParams, [h, w]: [number, number]): GeoOp[] {
    const matrix = G.rotateMatrix(p.angle, w, h, this.center);
    if (!this.expand) return [{ kind: "affine", matrix }];
    const [ow, oh] = G.affineOutputSize(matrix, w, h);
    return [{ kind: "affine", matrix, outSize: [oh, ow] }];
  }
  protected override applyBatch(img: Tensor, targets: Target[] | undefined, params: AngleParams[]): [Tensor, Target[] | undefined] {
    if (this.expand) throw new FlareError("RandomRotation: expand gives each image its own size, so it cannot be used with perSample", "E_ARGUMENT");
    const [c, h, w] = dims(img);
    const out = G.affineBatch(img, params.map((p) => G.rotateMatrix(p.angle, w, h, this.center)), { interpolation: this.interpolation, fill: fillFor(this.fill, c) });
    return [out, this.batchTargets(targets, params, [h, w])];
  }
  override toString(): string { return `RandomRotation(degrees=[${this.degrees.join(", ")}], interpolation=${this.interpolation}, expand=${this.expand})`; }
}

export interface RandomAffineOptions extends GridTransformOptions {
  /** Maximum absolute fractions [a, b] of the width and height for horizontal and vertical shifts. */
  translate?: [number, number] | null;
  /** Scale range [min, max]. */
  scale?: [number, number] | null;
  /** Shear in degrees: s (x in [-s, s]), [a, b] (x) or [a, b, c, d] (x in [a, b], y in [c, d]). */
  shear?: number | number[] | null;
  center?: [number, number] | null;
}
interface AffineParams { angle: number; translate: [number, number]; scale: number; shear: [number, number] }

export class RandomAffine extends GridTransform<AffineParams> {
  readonly degrees: [number, number];
  readonly translate: [number, number] | null;
  readonly scale: [number, number] | null;
  readonly shear: number[] | null;
  readonly center: [number, number] | null;
  constructor(degrees: number | [number, number], ...args: PyArgs<"transforms.RandomAffine", RandomAffineOptions>) {
    const options = pytorchOptions<RandomAffineOptions>("transforms.RandomAffine", args, ["translate", "scale", "shear", "interpolation", "fill", "center", ...RANDOM_OPTIONS]);
    super(options, "nearest");
    this.degrees = degreesArg(degrees, "RandomAffine: degrees");
    const t = options.translate ?? null;
    if (t !== null) {
      if (!Array.isArray(t) || t.length !== 2 || t.some((v) => typeof v !== "number" || v < 0 || v > 1)) throw new FlareError(`RandomAffine: translate must be two fractions in [0, 1], got ${describe(t)}`, "E_ARGUMENT");
    }
    this.translate = t;
    const s = options.scale ?? null;
    if (s !== null) { pairRange(s, "RandomAffine: scale"); if (s.some((v) => v <= 0)) throw new FlareError(`RandomAffine: scale values must be positive, got [${s.join(", ")}]`, "E_ARGUMENT"); }
    this.scale = s;
    const sh = options.shear ?? null;
    if (sh === null) this.shear = null;
    else if (typeof sh === "number") { if (sh < 0) throw new FlareError(`RandomAffine: shear must be non-negative when a single number, got ${sh}`, "E_ARGUMENT"); this.shear = [-sh, sh]; }
    else if (Array.isArray(sh) && (sh.length === 2 || sh.length === 4) && sh.every((v) => typeof v === "number")) this.shear = sh;
    else throw new FlareError(`RandomAffine: shear must be a number or 2 or 4 numbers, got ${describe(sh)}`, "E_ARGUMENT");
    this.center = options.center ?? null;
  }
  protected sample(info: ImageInfo): AffineParams {
    const g = this.rng;
    const angle = g.uniform(this.degrees[0], this.degrees[1]);
    let translate: [number, number] = [0, 0];
    if (this.translate) {
      const mx = this.translate[0] * info.width, my = this.translate[1] * info.height;
      translate = [pyRound(g.uniform(-mx, mx)), pyRound(g.uniform(-my, my))];
    }
    const scale = this.scale ? g.uniform(this.scale[0], this.scale[1]) : 1.0;
    let shear: [number, number] = [0, 0];
    if (this.shear) {
      shear = [g.uniform(this.shear[0], this.shear[1]), 0];
      if (this.shear.length === 4) shear[1] = g.uniform(this.shear[2], this.shear[3]);
    }
    return { angle, translate, scale, shear };
  }
  protected matrix(p: AffineParams, [h, w]: [number, number]): number[] {
    return G.affineImageMatrix(p.angle, p.translate, p.scale, p.shear, w, h, this.center);
  }
  protected ops(p: AffineParams, size: [number, number]): GeoOp[] { return [{ kind: "affine", matrix: this.matrix(p, size) }]; }
  protected override applyBatch(img: Tensor, targets: Target[] | undefined, params: AffineParams[]): [Tensor, Target[] | undefined] {
    const [c, h, w] = dims(img);
    const out = G.affineBatch(img, params.map((p) => this.matrix(p, [h, w])), { interpolation: this.interpolation, fill: fillFor(this.fill, c) });
    return [out, this.batchTargets(targets, params, [h, w])];
  }
  override toString(): string { return `RandomAffine(degrees=[${this.degrees.join(", ")}], translate=${JSON.stringify(this.translate)}, scale=${JSON.stringify(this.scale)}, shear=${JSON.stringify(this.shear)})`; }
}

export interface RandomPerspectiveOptions extends GridTransformOptions { distortionScale?: number; p?: number }
type PerspectiveParams = { apply: false } | { apply: true; startpoints: G.Point[]; endpoints: G.Point[] };

/** With probability p, moves each corner inwards by up to distortionScale of half the size. */
export class RandomPerspective extends GridTransform<PerspectiveParams> {
  readonly distortionScale: number;
  readonly p: number;
  constructor(...args: PyArgs<"transforms.RandomPerspective", RandomPerspectiveOptions>) {
    const options = pytorchOptions<RandomPerspectiveOptions>("transforms.RandomPerspective", args, ["distortionScale", "p", "interpolation", "fill", ...RANDOM_OPTIONS]);
    super(options, "bilinear");
    this.distortionScale = probability(options.distortionScale ?? 0.5, "RandomPerspective: distortionScale");
    this.p = probability(options.p ?? 0.5, "RandomPerspective: p");
  }
  protected sample(info: ImageInfo): PerspectiveParams {
    if (!this.coin(this.p)) return { apply: false };
    const { width, height } = info, g = this.rng, d = this.distortionScale;
    const hh = Math.floor(height / 2), hw = Math.floor(width / 2);
    const dx = Math.trunc(d * hw), dy = Math.trunc(d * hh);
    const topleft: G.Point = [g.randint(0, dx + 1), g.randint(0, dy + 1)];
    const topright: G.Point = [g.randint(width - dx - 1, width), g.randint(0, dy + 1)];
    const botright: G.Point = [g.randint(width - dx - 1, width), g.randint(height - dy - 1, height)];
    const botleft: G.Point = [g.randint(0, dx + 1), g.randint(height - dy - 1, height)];
    return { apply: true, startpoints: [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], endpoints: [topleft, topright, botright, botleft] };
  }
  protected ops(p: PerspectiveParams): GeoOp[] {
    return p.apply ? [{ kind: "perspective", startpoints: p.startpoints, endpoints: p.endpoints }] : [];
  }
  protected override applyBatch(img: Tensor, targets: Target[] | undefined, params: PerspectiveParams[]): [Tensor, Target[] | undefined] {
    const [c, h, w] = dims(img);
    const chosen = params.flatMap((p, i) => (p.apply ? [i] : []));
    const [out] = applyToSubset(img, undefined, chosen, (sub) => {
      const coeffs = chosen.map((i) => { const p = params[i] as { startpoints: G.Point[]; endpoints: G.Point[] }; return G.perspectiveCoeffs(p.startpoints, p.endpoints); });
      return [G.perspectiveBatch(sub, coeffs, { interpolation: this.interpolation, fill: fillFor(this.fill, c) }), undefined];
    }, "RandomPerspective");
    return [out, this.batchTargets(targets, params, [h, w])];
  }
  override toString(): string { return `RandomPerspective(distortionScale=${this.distortionScale}, p=${this.p})`; }
}
