// Photometric and conversion transform classes: they change pixel values and
// leave boxes and masks as they are.
import { FlareError } from "../../../errors.js";
import { Tensor } from "../../../tensor/tensor.js";
import { tidy } from "../../../tensor/scope.js";
import { fromTypedArray } from "../../../tensor/creation.js";
import { native } from "../../../tensor/native.js";
import { checkDtype, isFloating, type DType } from "../../../tensor/dtype.js";
import * as C from "../color.js";
import * as M from "../misc.js";
import { dims, describe, floats, rangeArg, pyRound, type PerImage } from "../_utils.js";
import type { Target } from "../target.js";
import {
  Transform, RandomTransform, applyToSubset, groupBy, probability,
  type ImageInfo, type RandomOptions, type TargetArg,
} from "../transform.js";
import { pairRange } from "./geometric.js";
import { checkOptions, pytorchOptions, type PyArgs, type SignatureName } from "../../../options.js";

const RANDOM_OPTIONS = ["generator", "perSample"] as const;
/** The options of the "with probability p" transforms. */
export interface PointwiseOptions extends RandomOptions { p?: number }
export interface ColorJitterOptions extends RandomOptions {
  brightness?: number | [number, number];
  contrast?: number | [number, number];
  saturation?: number | [number, number];
  hue?: number | [number, number];
}
export interface GaussianBlurOptions extends RandomOptions { sigma?: number | [number, number] }

/** Converts the image dtype; with scale, values are rescaled (uint8 [0, 255] <-> float [0, 1]). */
export class ToDtype extends Transform {
  readonly dtype: DType;
  readonly scale: boolean;
  constructor(dtype: DType, options: { scale?: boolean } = {}) {
    super();
    checkOptions(options, ["scale"], `new ${this.constructor.name}()`);
    this.dtype = checkDtype(dtype, "ToDtype: dtype");
    this.scale = options.scale ?? false;
  }
  protected apply(img: Tensor, target: TargetArg | undefined): [Tensor, TargetArg | undefined] {
    return [M.toDtype(img, this.dtype, { scale: this.scale }), target];
  }
  override toString(): string { return `ToDtype(${this.dtype}, scale=${this.scale})`; }
}

/** torchvision's ConvertImageDtype: ToDtype with scaling. */
export class ConvertImageDtype extends ToDtype {
  // torchvision requires the dtype; flare defaults to float32.
  constructor(dtype: DType = "float32", ...args: PyArgs<"transforms.ConvertImageDtype", Record<never, never>>) {
    super(dtype, { scale: true });
    pytorchOptions("transforms.ConvertImageDtype", args, []);
  }
}

export class Normalize extends Transform {
  readonly mean: number[];
  readonly std: number[];
  readonly inplace: boolean;
  constructor(mean: number[], std: number[], ...args: PyArgs<"transforms.Normalize", { inplace?: boolean }>) {
    super();
    const options = pytorchOptions<{ inplace?: boolean }>("transforms.Normalize", args, ["inplace"]);
    for (const [name, v] of [["mean", mean], ["std", std]] as const)
      if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "number" || !Number.isFinite(x)))
        throw new FlareError(`Normalize: ${name} must be an array of numbers, got ${describe(v)}`, "E_ARGUMENT");
    if (std.some((s) => s === 0)) throw new FlareError(`Normalize: std must not contain zeros, got [${std.join(", ")}]`, "E_ARGUMENT");
    this.mean = mean; this.std = std; this.inplace = options.inplace ?? false;
  }
  protected apply(img: Tensor, target: TargetArg | undefined): [Tensor, TargetArg | undefined] {
    return [M.normalize(img, this.mean, this.std, { inplace: this.inplace }), target];
  }
  override toString(): string { return `Normalize(mean=[${this.mean.join(", ")}], std=[${this.std.join(", ")}])`; }
}

export class Grayscale extends Transform {
  readonly numOutputChannels: 1 | 3;
  constructor(...args: PyArgs<"transforms.Grayscale", { numOutputChannels?: 1 | 3 }>) {
    super();
    const options = pytorchOptions<{ numOutputChannels?: 1 | 3 }>("transforms.Grayscale", args, ["numOutputChannels"]);
    const n = options.numOutputChannels ?? 1;
    if (n !== 1 && n !== 3) throw new FlareError(`Grayscale: numOutputChannels must be 1 or 3, got ${describe(n)}`, "E_ARGUMENT");
    this.numOutputChannels = n;
  }
  protected apply(img: Tensor, target: TargetArg | undefined): [Tensor, TargetArg | undefined] {
    return [C.rgbToGrayscale(img, this.numOutputChannels), target];
  }
  override toString(): string { return `Grayscale(numOutputChannels=${this.numOutputChannels})`; }
}

interface JitterParams { order: number[]; brightness: number | null; contrast: number | null; saturation: number | null; hue: number | null }

/**
 * Random brightness, contrast, saturation and hue, applied in a random order
 * (torchvision's ColorJitter). A number v means [max(0, 1 - v), 1 + v] (hue: [-v, v]).
 */
export class ColorJitter extends RandomTransform<JitterParams> {
  readonly brightness: [number, number] | null;
  readonly contrast: [number, number] | null;
  readonly saturation: [number, number] | null;
  readonly hue: [number, number] | null;
  /** new ColorJitter(0.5, 0.5) (torchvision's order) or new ColorJitter({ brightness: 0.5, contrast: 0.5 }). */
  constructor(...args: PyArgs<"transforms.ColorJitter", ColorJitterOptions>) {
    const options = pytorchOptions<ColorJitterOptions>("transforms.ColorJitter", args, ["brightness", "contrast", "saturation", "hue", ...RANDOM_OPTIONS]);
    super(options);
    const { brightness = 0, contrast = 0, saturation = 0, hue = 0 } = options;
    this.brightness = rangeArg(brightness, "ColorJitter: brightness", 1, 0);
    this.contrast = rangeArg(contrast, "ColorJitter: contrast", 1, 0);
    this.saturation = rangeArg(saturation, "ColorJitter: saturation", 1, 0);
    this.hue = rangeArg(hue, "ColorJitter: hue", 0, -0.5, 0.5);
  }
  protected sample(): JitterParams {
    const g = this.rng;
    const order = g.permutation(4);
    const draw = (r: [number, number] | null) => (r ? g.uniform(r[0], r[1]) : null);
    return { order, brightness: draw(this.brightness), contrast: draw(this.contrast), saturation: draw(this.saturation), hue: draw(this.hue) };
  }
  private static readonly FNS = [
    (x: Tensor, f: PerImage) => C.adjustBrightness(x, f),
    (x: Tensor, f: PerImage) => C.adjustContrast(x, f),
    (x: Tensor, f: PerImage) => C.adjustSaturation(x, f),
    (x: Tensor, f: PerImage) => C.adjustHue(x, f),
  ];
  private static readonly KEYS = ["brightness", "contrast", "saturation", "hue"] as const;
  protected applyOne(img: Tensor, target: TargetArg | undefined, p: JitterParams): [Tensor, TargetArg | undefined] {
    if (ColorJitter.fused(img, [p])) return [fusedJitter(img, [p]), target];
    let x = img;
    for (const k of p.order) {
      const f = p[ColorJitter.KEYS[k]];
      if (f !== null) x = ColorJitter.FNS[k](x, f);
    }
    return [x, target];
  }
  protected override applyBatch(img: Tensor, targets: Target[] | undefined, params: JitterParams[]): [Tensor, Target[] | undefined] {
    if (ColorJitter.fused(img, params)) return [fusedJitter(img, params), targets];
    let x = img;
    for (let pos = 0; pos < 4; pos++) {
      for (const [k, indices] of groupBy(params.map((p) => p.order[pos]))) {
        const key = ColorJitter.KEYS[k];
        if (params[indices[0]][key] === null) continue;
        [x] = applyToSubset(x, undefined, indices, (sub) => [ColorJitter.FNS[k](sub, indices.map((i) => params[i][key] as number)), undefined], "ColorJitter");
      }
    }
    return [x, targets];
  }
  protected override wholeBatchAtOnce(img: Tensor): boolean { return img.dtype === "uint8" && img.device === "cpu" && dims(img)[0] === 3; }
  /** uint8 RGB on the CPU with some op drawn: one native call, bit-identical to the op-by-op path (tests/transforms.test.ts). */
  private static fused(img: Tensor, params: JitterParams[]): boolean {
    return img.dtype === "uint8" && img.device === "cpu" && dims(img)[0] === 3 && img.numel() > 0 && params.some((p) => ColorJitter.KEYS.some((k) => p[k] !== null));
  }
  override toString(): string {
    const r = (v: [number, number] | null) => (v ? `[${v.map((x) => +x.toFixed(4)).join(", ")}]` : "null");
    return `ColorJitter(brightness=${r(this.brightness)}, contrast=${r(this.contrast)}, saturation=${r(this.saturation)}, hue=${r(this.hue)})`;
  }
}

/** ColorJitter on a uint8 RGB image or batch (one parameter set, or one per image) in the native kernel. */
function fusedJitter(img: Tensor, params: JitterParams[]): Tensor {
  const orders = params.flatMap((p) => p.order);
  const factors = params.flatMap((p) => [p.brightness, p.contrast, p.saturation, p.hue].map((f) => f ?? NaN));
  return new Tensor(native.colorJitterUint8(img.handle, orders, factors));
}

interface ApplyFlag { apply: boolean }

/** Base of "with probability p, apply fn" transforms; per-sample runs fn on the chosen subset. */
abstract class RandomPointwise extends RandomTransform<ApplyFlag> {
  readonly p: number;
  constructor(name: SignatureName, args: unknown[], defaultP: number) {
    const options = pytorchOptions<PointwiseOptions>(name, args, ["p", ...RANDOM_OPTIONS]);
    super(options);
    this.p = probability(options.p ?? defaultP, `${this.constructor.name}: p`);
  }
  protected abstract fn(x: Tensor): Tensor;
  protected sample(): ApplyFlag { return { apply: this.coin(this.p) }; }
  protected applyOne(img: Tensor, target: TargetArg | undefined, p: ApplyFlag): [Tensor, TargetArg | undefined] {
    return [p.apply ? this.fn(img) : img, target];
  }
  protected override applyBatch(img: Tensor, targets: Target[] | undefined, params: ApplyFlag[]): [Tensor, Target[] | undefined] {
    const chosen = params.flatMap((p, i) => (p.apply ? [i] : []));
    const [x] = applyToSubset(img, undefined, chosen, (sub) => [this.fn(sub), undefined], this.constructor.name);
    return [x, targets];
  }
  override toString(): string { return `${this.constructor.name}(p=${this.p})`; }
}

/** With probability p (default 0.1), converts to grayscale keeping the number of channels. */
export class RandomGrayscale extends RandomPointwise {
  constructor(...args: PyArgs<"transforms.RandomGrayscale", PointwiseOptions>) { super("transforms.RandomGrayscale", args, 0.1); }
  protected fn(x: Tensor): Tensor { return C.rgbToGrayscale(x, dims(x)[0] as 1 | 3); }
}

export class RandomInvert extends RandomPointwise {
  constructor(...args: PyArgs<"transforms.RandomInvert", PointwiseOptions>) { super("transforms.RandomInvert", args, 0.5); }
  protected fn(x: Tensor): Tensor { return C.invert(x); }
}

export class RandomPosterize extends RandomPointwise {
  readonly bits: number;
  constructor(bits: number, ...args: PyArgs<"transforms.RandomPosterize", PointwiseOptions>) {
    super("transforms.RandomPosterize", args, 0.5);
    if (!Number.isInteger(bits) || bits < 0 || bits > 8) throw new FlareError(`RandomPosterize: bits must be an integer in [0, 8], got ${describe(bits)}`, "E_ARGUMENT");
    this.bits = bits;
  }
  protected fn(x: Tensor): Tensor { return C.posterize(x, this.bits); }
}

export class RandomSolarize extends RandomPointwise {
  readonly threshold: number;
  constructor(threshold: number, ...args: PyArgs<"transforms.RandomSolarize", PointwiseOptions>) {
    super("transforms.RandomSolarize", args, 0.5);
    if (typeof threshold !== "number" || !Number.isFinite(threshold)) throw new FlareError(`RandomSolarize: threshold must be a number, got ${describe(threshold)}`, "E_ARGUMENT");
    this.threshold = threshold;
  }
  protected fn(x: Tensor): Tensor { return C.solarize(x, this.threshold); }
}

export class RandomAdjustSharpness extends RandomPointwise {
  readonly sharpnessFactor: number;
  constructor(sharpnessFactor: number, ...args: PyArgs<"transforms.RandomAdjustSharpness", PointwiseOptions>) {
    super("transforms.RandomAdjustSharpness", args, 0.5);
    if (typeof sharpnessFactor !== "number" || !(sharpnessFactor >= 0)) throw new FlareError(`RandomAdjustSharpness: sharpnessFactor must be non-negative, got ${describe(sharpnessFactor)}`, "E_ARGUMENT");
    this.sharpnessFactor = sharpnessFactor;
  }
  protected fn(x: Tensor): Tensor { return C.adjustSharpness(x, this.sharpnessFactor); }
}

export class RandomAutocontrast extends RandomPointwise {
  constructor(...args: PyArgs<"transforms.RandomAutocontrast", PointwiseOptions>) { super("transforms.RandomAutocontrast", args, 0.5); }
  protected fn(x: Tensor): Tensor { return C.autocontrast(x); }
}

export class RandomEqualize extends RandomPointwise {
  constructor(...args: PyArgs<"transforms.RandomEqualize", PointwiseOptions>) { super("transforms.RandomEqualize", args, 0.5); }
  protected fn(x: Tensor): Tensor { return C.equalize(x); }
}

interface SigmaParams { sigma: number }

/** Gaussian blur with sigma drawn uniformly from `sigma` ([min, max], default [0.1, 2.0]). */
export class GaussianBlur extends RandomTransform<SigmaParams> {
  readonly kernelSize: [number, number];
  readonly sigma: [number, number];
  constructor(kernelSize: number | number[], ...args: PyArgs<"transforms.GaussianBlur", GaussianBlurOptions>) {
    const options = pytorchOptions<GaussianBlurOptions>("transforms.GaussianBlur", args, ["sigma", ...RANDOM_OPTIONS]);
    super(options);
    this.kernelSize = M.kernelSizeArg(kernelSize, "GaussianBlur: kernelSize");
    const s = options.sigma ?? [0.1, 2.0];
    this.sigma = typeof s === "number" ? [s, s] : pairRange(s, "GaussianBlur: sigma");
    if (!(this.sigma[0] > 0)) throw new FlareError(`GaussianBlur: sigma must be positive, got [${this.sigma.join(", ")}]`, "E_ARGUMENT");
  }
  protected sample(): SigmaParams { return { sigma: this.rng.uniform(this.sigma[0], this.sigma[1]) }; }
  protected applyOne(img: Tensor, target: TargetArg | undefined, p: SigmaParams): [Tensor, TargetArg | undefined] {
    return [M.gaussianBlur(img, this.kernelSize, [p.sigma, p.sigma]), target];
  }
  protected override applyBatch(img: Tensor, targets: Target[] | undefined, params: SigmaParams[]): [Tensor, Target[] | undefined] {
    return [M.gaussianBlurBatch(img, this.kernelSize, params.map((p) => p.sigma)), targets];
  }
  override toString(): string { return `GaussianBlur(kernelSize=[${this.kernelSize.join(", ")}], sigma=[${this.sigma.join(", ")}])`; }
}

export interface RandomErasingOptions extends RandomOptions {
  p?: number;
  /** Range of the erased area as a fraction of the image; default [0.02, 0.33]. */
  scale?: [number, number];
  /** Range of the erased region's aspect ratio; default [0.3, 3.3]. */
  ratio?: [number, number];
  /** The erasing value: a number, one per channel, or "random" (normal noise; uniform 0..255 for uint8). Default 0. */
  value?: number | number[] | "random";
  inplace?: boolean;
}
type EraseParams = { apply: false } | { apply: true; i: number; j: number; h: number; w: number; seed: number };

/** Erases a random rectangle (Zhong et al.), as torchvision's RandomErasing. */
export class RandomErasing extends RandomTransform<EraseParams> {
  readonly p: number;
  readonly scale: [number, number];
  readonly ratio: [number, number];
  readonly value: number[] | "random";
  readonly inplace: boolean;
  constructor(...args: PyArgs<"transforms.RandomErasing", RandomErasingOptions>) {
    const options = pytorchOptions<RandomErasingOptions>("transforms.RandomErasing", args, ["p", "scale", "ratio", "value", "inplace", ...RANDOM_OPTIONS]);
    super(options);
    this.p = probability(options.p ?? 0.5, "RandomErasing: p");
    this.scale = pairRange(options.scale ?? [0.02, 0.33], "RandomErasing: scale", 0);
    this.ratio = pairRange(options.ratio ?? [0.3, 3.3], "RandomErasing: ratio", Number.MIN_VALUE);
    const v = options.value ?? 0;
    if (v === "random") this.value = "random";
    else if (typeof v === "number") this.value = [v];
    else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number")) this.value = v;
    else throw new FlareError(`RandomErasing: value must be a number, an array of numbers or "random", got ${describe(v)}`, "E_ARGUMENT");
    this.inplace = options.inplace ?? false;
  }
  protected sample(info: ImageInfo): EraseParams {
    if (Array.isArray(this.value) && this.value.length !== 1 && this.value.length !== info.channels)
      throw new FlareError(`RandomErasing: value has ${this.value.length} entries but the image has ${info.channels} channels`, "E_ARGUMENT");
    if (!this.coin(this.p)) return { apply: false };
    const g = this.rng, H = info.height, W = info.width, area = H * W;
    for (let attempt = 0; attempt < 10; attempt++) {
      const eraseArea = area * g.uniform(this.scale[0], this.scale[1]);
      const aspect = g.logUniform(this.ratio);
      const h = pyRound(Math.sqrt(eraseArea * aspect)), w = pyRound(Math.sqrt(eraseArea / aspect));
      if (!(h < H && w < W)) continue;
      // torchvision draws value "random" (normal_ of [C, h, w]) before i and j; flare draws a noise seed after them (replayable).
      return { apply: true, i: g.randint(0, H - h + 1), j: g.randint(0, W - w + 1), h, w, seed: this.value === "random" ? g.randint(0, 2 ** 32) : 0 };
    }
    return { apply: false };
  }
  private values(img: Tensor, seeds: number[]): Tensor {
    const [c, h, w] = dims(img);
    if (this.value !== "random") return floats(this.value, [1, this.value.length, 1, 1], isFloating(img.dtype) ? img.dtype : "float32", img.device);
    if (isFloating(img.dtype)) return M.seededNormal(seeds, [c, h, w], img.dtype, img.device);
    // uint8: uniform integers in [0, 255] from the same counter-based noise (through the normal CDF).
    const z = M.seededNormal(seeds, [c, h, w], "float64", img.device);
    return z.div(Math.SQRT2).erf().add(1).mul(128).floor().clamp(0, 255);
  }
  protected applyOne(img: Tensor, target: TargetArg | undefined, p: EraseParams): [Tensor, TargetArg | undefined] {
    if (!p.apply) return [img, target];
    let v = this.values(img, [p.seed]).squeeze(0);
    if (this.value === "random") v = v.index("...", `${p.i}:${p.i + p.h}`, `${p.j}:${p.j + p.w}`);
    return [M.erase(img, p.i, p.j, p.h, p.w, v.to(img.dtype), { inplace: this.inplace }), target];
  }
  protected override applyBatch(img: Tensor, targets: Target[] | undefined, params: EraseParams[]): [Tensor, Target[] | undefined] {
    const chosen = params.flatMap((p, i) => (p.apply ? [i] : []));
    const [x] = applyToSubset(img, undefined, chosen, (sub) => {
      const ps = chosen.map((i) => params[i] as Extract<EraseParams, { apply: true }>);
      const v = this.values(sub, ps.map((p) => p.seed));
      return [M.eraseBatch(sub, ps.map((p) => [p.i, p.j, p.h, p.w]), v), undefined];
    }, "RandomErasing");
    return [x, targets];
  }
  override toString(): string { return `RandomErasing(p=${this.p}, scale=[${this.scale.join(", ")}], ratio=[${this.ratio.join(", ")}], value=${JSON.stringify(this.value)})`; }
}

/** Raw interleaved pixels as sharp gives them (`.raw().toBuffer({ resolveWithObject: true })`): HWC uint8. */
export interface RawImage { data: Uint8Array; info: { width: number; height: number; channels: number } }

/**
 * torchvision's ToTensor: uint8 pixels in [0, 255] → a float32 [C, H, W] image in
 * [0, 1]. It accepts flare's images — uint8 tensors [C, H, W] (readImage's),
 * batches [N, C, H, W] and single-channel [H, W] (→ [1, H, W]) — and raw HWC
 * pixels from sharp ({ data, info: { width, height, channels } }), the Node
 * counterpart of the PIL image / HWC ndarray torchvision takes. A tensor that
 * is not uint8 comes back unscaled, as torchvision leaves non-uint8 arrays.
 * A HWC *tensor* is not guessed at: permute it to CHW first (x.permute([2, 0, 1])).
 */
export class ToTensor extends Transform {
  constructor(...args: PyArgs<"transforms.ToTensor", Record<never, never>>) {
    super();
    pytorchOptions("transforms.ToTensor", args, []);
  }
  override forward(img: Tensor | RawImage): Tensor;
  override forward<T extends TargetArg>(img: Tensor | RawImage, target: T): [Tensor, T];
  override forward(img: Tensor | RawImage, target?: TargetArg): Tensor | [Tensor, TargetArg];
  override forward(img: Tensor | RawImage, target?: TargetArg): Tensor | [Tensor, TargetArg] {
    let x: Tensor;
    if (img instanceof Tensor) x = img.ndim === 2 ? img.unsqueeze(0) : img;
    else x = rawToTensor(img);
    if (x === img) return target === undefined ? super.forward(x) : super.forward(x, target);
    try {
      const out = target === undefined ? super.forward(x) : super.forward(x, target);
      const image = out instanceof Tensor ? out : out[0];
      if (image === x) x = img as Tensor;  // a non-uint8 [H, W] came back as its [1, H, W] view: keep it
      return out;
    } finally {
      if (x !== img) x.dispose();
    }
  }
  protected apply(img: Tensor, target: TargetArg | undefined): [Tensor, TargetArg | undefined] {
    return [img.dtype === "uint8" ? M.toDtype(img, "float32", { scale: true }) : img, target];
  }
  override toString(): string { return "ToTensor()"; }
}

function rawToTensor(raw: unknown): Tensor {
  const r = raw as Partial<RawImage> | null;
  const info = r?.info;
  if (r === null || typeof r !== "object" || !(r.data instanceof Uint8Array) || !info || typeof info !== "object")
    throw new FlareError(`ToTensor: img must be a uint8 image tensor [C, H, W] or sharp's raw pixels { data, info: { width, height, channels } }, got ${describe(raw)}`, "E_ARGUMENT");
  const { width, height, channels } = info;
  for (const [name, v] of [["width", width], ["height", height], ["channels", channels]] as const)
    if (!Number.isInteger(v) || (v as number) < 1) throw new FlareError(`ToTensor: info.${name} must be a positive integer, got ${describe(v)}`, "E_ARGUMENT");
  if (r.data.length !== width * height * channels)
    throw new FlareError(`ToTensor: ${r.data.length} bytes of data for ${height}×${width}×${channels} pixels (${width * height * channels} expected)`, "E_SHAPE");
  return tidy(() => fromTypedArray(new Uint8Array(r.data!.buffer, r.data!.byteOffset, r.data!.length), [height, width, channels]).permute([2, 0, 1]).contiguous());
}
