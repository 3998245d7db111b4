// AutoAugment, RandAugment and TrivialAugmentWide (torchvision 0.14's
// policies and magnitude tables). With perSample each image draws its own
// ops; each op then runs once on the images that drew it, with one magnitude
// per image (batched affine grids and per-image colour factors).
import { FlareError } from "../../../errors.js";
import { Tensor } from "../../../tensor/tensor.js";
import { linspace, arange } from "../../../tensor/creation.js";
import { isFloating } from "../../../tensor/dtype.js";
import * as G from "../geometry.js";
import * as C from "../color.js";
import { dims, describe, interpolationArg, type Interpolation, type Fill } from "../_utils.js";
import type { Target } from "../target.js";
import { RandomTransform, applyToSubset, groupBy, type ImageInfo, type RandomOptions, type TargetArg } from "../transform.js";
import { pytorchOptions, type PyArgs } from "../../../options.js";

export interface AugOp { name: string; magnitude: number }
interface AugParams { ops: AugOp[] }

/** Applies one augmentation op with one magnitude, or one magnitude per image of a batch. */
export function applyAugOp(img: Tensor, name: string, magnitude: number | number[], interpolation: Interpolation, fill: Fill): Tensor {
  const [, h, w] = dims(img);
  const list = typeof magnitude === "number" ? [magnitude] : magnitude;
  const per = <T>(f: (m: number) => T): T | T[] => (typeof magnitude === "number" ? f(magnitude) : list.map(f));
  const grid = (matrix: (m: number) => number[]) =>
    G.affineBatch(img, typeof magnitude === "number" ? [matrix(magnitude)] : list.map(matrix), { interpolation, fill });
  const deg = (m: number) => (Math.atan(m) * 180) / Math.PI;
  const bound = isFloating(img.dtype) ? 1 : 255;
  switch (name) {
    case "ShearX": return grid((m) => G.affineImageMatrix(0, [0, 0], 1, [deg(m), 0], w, h, [0, 0]));
    case "ShearY": return grid((m) => G.affineImageMatrix(0, [0, 0], 1, [0, deg(m)], w, h, [0, 0]));
    case "TranslateX": return grid((m) => G.affineImageMatrix(0, [Math.trunc(m), 0], 1, [0, 0], w, h));
    case "TranslateY": return grid((m) => G.affineImageMatrix(0, [0, Math.trunc(m)], 1, [0, 0], w, h));
    case "Rotate": return grid((m) => G.rotateMatrix(m, w, h));
    case "Brightness": return C.adjustBrightness(img, per((m) => 1 + m));
    case "Color": return C.adjustSaturation(img, per((m) => 1 + m));
    case "Contrast": return C.adjustContrast(img, per((m) => 1 + m));
    case "Sharpness": return C.adjustSharpness(img, per((m) => 1 + m));
    case "Posterize": return withUint8(img, (x) => C.posterize(x, per((m) => Math.trunc(m))));
    case "Solarize": return C.solarize(img, per((m) => (m * bound) / 255));
    case "AutoContrast": return C.autocontrast(img);
    case "Equalize": return withUint8(img, (x) => C.equalize(x));
    case "Invert": return C.invert(img);
    case "Identity": return img;
    default: throw new FlareError(`unknown augmentation op "${name}"`, "E_ARGUMENT");
  }
}

/** Runs a uint8-only op on a float image through a uint8 round trip. */
function withUint8(img: Tensor, f: (x: Tensor) => Tensor): Tensor {
  if (img.dtype === "uint8") return f(img);
  return C.convertImageDtype(f(C.convertImageDtype(img, "uint8")), img.dtype);
}

function floatsOf(t: Tensor): number[] { return Array.from(t.dataSync() as ArrayLike<number | bigint>, Number); }

/** op name → [magnitudes (float32 values as torchvision computes them) or null, signed]. */
type Space = Map<string, [number[] | null, boolean]>;

function space(bins: number, size: [number, number], kind: "aa" | "ra" | "ta"): Space {
  const lin = (end: number) => floatsOf(linspace(0.0, end, bins));
  const [h, w] = size;
  const s: Space = new Map();
  if (kind !== "aa") s.set("Identity", [null, false]);
  const wide = kind === "ta";
  s.set("ShearX", [lin(wide ? 0.99 : 0.3), true]);
  s.set("ShearY", [lin(wide ? 0.99 : 0.3), true]);
  s.set("TranslateX", [lin(wide ? 32.0 : (150.0 / 331.0) * w), true]);
  s.set("TranslateY", [lin(wide ? 32.0 : (150.0 / 331.0) * h), true]);
  s.set("Rotate", [lin(wide ? 135.0 : 30.0), true]);
  for (const k of ["Brightness", "Color", "Contrast", "Sharpness"]) s.set(k, [lin(wide ? 0.99 : 0.9), true]);
  const steps = wide ? 6 : 4;
  s.set("Posterize", [floatsOf(arange(0, bins).div((bins - 1) / steps).round().to("int32").neg().add(8)), false]);
  s.set("Solarize", [floatsOf(linspace(255.0, 0.0, bins)), false]);
  s.set("AutoContrast", [null, false]);
  s.set("Equalize", [null, false]);
  if (kind === "aa") s.set("Invert", [null, false]);
  return s;
}

export interface AugmentOptions extends RandomOptions {
  /** "nearest" (default) or "bilinear" for the geometric ops. */
  interpolation?: Interpolation;
  /** Value(s) for the area outside the image in the geometric ops; default none (zeros). */
  fill?: number | number[] | null;
}

const AUGMENT_OPTIONS = ["interpolation", "fill", "generator", "perSample"] as const;

abstract class AugmentBase extends RandomTransform<AugParams> {
  readonly interpolation: Interpolation;
  readonly fill: number | number[] | null;
  constructor(options: AugmentOptions) {
    super(options);
    this.interpolation = interpolationArg(options.interpolation ?? "nearest", `${this.constructor.name}: interpolation`, ["nearest", "bilinear"]);
    const fill = options.fill ?? null;
    if (fill !== null && typeof fill !== "number" && !(Array.isArray(fill) && fill.every((v) => typeof v === "number")))
      throw new FlareError(`${this.constructor.name}: fill must be a number, one number per channel, or null, got ${describe(fill)}`, "E_ARGUMENT");
    this.fill = fill;
  }
  private fillFor(channels: number): Fill {
    return this.fill === null ? null : typeof this.fill === "number" ? Array(channels).fill(this.fill) : this.fill;
  }
  private checkTarget(target: TargetArg | undefined): void {
    const ts = target === undefined ? [] : Array.isArray(target) ? target : [target];
    if (ts.some((t) => t.boxes || t.masks))
      throw new FlareError(`${this.constructor.name} supports images only: its geometric ops do not move boxes or masks`, "E_ARGUMENT");
  }
  protected override applyOne(img: Tensor, target: TargetArg | undefined, p: AugParams): [Tensor, TargetArg | undefined] {
    this.checkTarget(target);
    let x = img;
    for (const op of p.ops) x = applyAugOp(x, op.name, op.magnitude, this.interpolation, this.fillFor(dims(img)[0]));
    return [x, target];
  }
  protected override applyBatch(img: Tensor, targets: Target[] | undefined, params: AugParams[]): [Tensor, Target[] | undefined] {
    this.checkTarget(targets);
    const steps = Math.max(0, ...params.map((p) => p.ops.length));
    let x = img;
    for (let s = 0; s < steps; s++) {
      for (const [name, indices] of groupBy(params.map((p) => p.ops[s]?.name ?? "Identity"))) {
        if (name === "Identity") continue;
        [x] = applyToSubset(x, undefined, indices, (sub) => [applyAugOp(sub, name, indices.map((i) => params[i].ops[s].magnitude), this.interpolation, this.fillFor(dims(img)[0])), undefined], this.constructor.name);
      }
    }
    return [x, targets];
  }
}

export type AutoAugmentPolicy = "imagenet" | "cifar10" | "svhn";
type PolicyStep = [string, number, number | null];

const POLICIES: Record<AutoAugmentPolicy, [PolicyStep, PolicyStep][]> = {
  imagenet: [
    [["Posterize", 0.4, 8], ["Rotate", 0.6, 9]], [["Solarize", 0.6, 5], ["AutoContrast", 0.6, null]],
    [["Equalize", 0.8, null], ["Equalize", 0.6, null]], [["Posterize", 0.6, 7], ["Posterize", 0.6, 6]],
    [["Equalize", 0.4, null], ["Solarize", 0.2, 4]], [["Equalize", 0.4, null], ["Rotate", 0.8, 8]],
    [["Solarize", 0.6, 3], ["Equalize", 0.6, null]], [["Posterize", 0.8, 5], ["Equalize", 1.0, null]],
    [["Rotate", 0.2, 3], ["Solarize", 0.6, 8]], [["Equalize", 0.6, null], ["Posterize", 0.4, 6]],
    [["Rotate", 0.8, 8], ["Color", 0.4, 0]], [["Rotate", 0.4, 9], ["Equalize", 0.6, null]],
    [["Equalize", 0.0, null], ["Equalize", 0.8, null]], [["Invert", 0.6, null], ["Equalize", 1.0, null]],
    [["Color", 0.6, 4], ["Contrast", 1.0, 8]], [["Rotate", 0.8, 8], ["Color", 1.0, 2]],
    [["Color", 0.8, 8], ["Solarize", 0.8, 7]], [["Sharpness", 0.4, 7], ["Invert", 0.6, null]],
    [["ShearX", 0.6, 5], ["Equalize", 1.0, null]], [["Color", 0.4, 0], ["Equalize", 0.6, null]],
    [["Equalize", 0.4, null], ["Solarize", 0.2, 4]], [["Solarize", 0.6, 5], ["AutoContrast", 0.6, null]],
    [["Invert", 0.6, null], ["Equalize", 1.0, null]], [["Color", 0.6, 4], ["Contrast", 1.0, 8]],
    [["Equalize", 0.8, null], ["Equalize", 0.6, null]],
  ],
  cifar10: [
    [["Invert", 0.1, null], ["Contrast", 0.2, 6]], [["Rotate", 0.7, 2], ["TranslateX", 0.3, 9]],
    [["Sharpness", 0.8, 1], ["Sharpness", 0.9, 3]], [["ShearY", 0.5, 8], ["TranslateY", 0.7, 9]],
    [["AutoContrast", 0.5, null], ["Equalize", 0.9, null]], [["ShearY", 0.2, 7], ["Posterize", 0.3, 7]],
    [["Color", 0.4, 3], ["Brightness", 0.6, 7]], [["Sharpness", 0.3, 9], ["Brightness", 0.7, 9]],
    [["Equalize", 0.6, null], ["Equalize", 0.5, null]], [["Contrast", 0.6, 7], ["Sharpness", 0.6, 5]],
    [["Color", 0.7, 7], ["TranslateX", 0.5, 8]], [["Equalize", 0.3, null], ["AutoContrast", 0.4, null]],
    [["TranslateY", 0.4, 3], ["Sharpness", 0.2, 6]], [["Brightness", 0.9, 6], ["Color", 0.2, 8]],
    [["Solarize", 0.5, 2], ["Invert", 0.0, null]], [["Equalize", 0.2, null], ["AutoContrast", 0.6, null]],
    [["Equalize", 0.2, null], ["Equalize", 0.6, null]], [["Color", 0.9, 9], ["Equalize", 0.6, null]],
    [["AutoContrast", 0.8, null], ["Solarize", 0.2, 8]], [["Brightness", 0.1, 3], ["Color", 0.7, 0]],
    [["Solarize", 0.4, 5], ["AutoContrast", 0.9, null]], [["TranslateY", 0.9, 9], ["TranslateY", 0.7, 9]],
    [["AutoContrast", 0.9, null], ["Solarize", 0.8, 3]], [["Equalize", 0.8, null], ["Invert", 0.1, null]],
    [["TranslateY", 0.7, 9], ["AutoContrast", 0.9, null]],
  ],
  svhn: [
    [["ShearX", 0.9, 4], ["Invert", 0.2, null]], [["ShearY", 0.9, 8], ["Invert", 0.7, null]],
    [["Equalize", 0.6, null], ["Solarize", 0.6, 6]], [["Invert", 0.9, null], ["Equalize", 0.6, null]],
    [["Equalize", 0.6, null], ["Rotate", 0.9, 3]], [["ShearX", 0.9, 4], ["AutoContrast", 0.8, null]],
    [["ShearY", 0.9, 8], ["Invert", 0.4, null]], [["ShearY", 0.9, 5], ["Solarize", 0.2, 6]],
    [["Invert", 0.9, null], ["AutoContrast", 0.8, null]], [["Equalize", 0.6, null], ["Rotate", 0.9, 3]],
    [["ShearX", 0.9, 4], ["Solarize", 0.3, 3]], [["ShearY", 0.8, 8], ["Invert", 0.7, null]],
    [["Equalize", 0.9, null], ["TranslateY", 0.6, 6]], [["Invert", 0.9, null], ["Equalize", 0.6, null]],
    [["Contrast", 0.3, 3], ["Rotate", 0.8, 4]], [["Invert", 0.8, null], ["TranslateY", 0.0, 2]],
    [["ShearY", 0.7, 6], ["Solarize", 0.4, 8]], [["Invert", 0.6, null], ["Rotate", 0.8, 4]],
    [["ShearY", 0.3, 7], ["TranslateX", 0.9, 3]], [["ShearX", 0.1, 6], ["Invert", 0.6, null]],
    [["Solarize", 0.7, 2], ["TranslateY", 0.6, 7]], [["ShearY", 0.8, 4], ["Invert", 0.8, null]],
    [["ShearX", 0.7, 9], ["TranslateY", 0.8, 3]], [["ShearY", 0.8, 5], ["AutoContrast", 0.7, null]],
    [["ShearX", 0.7, 2], ["Invert", 0.1, null]],
  ],
};

/** AutoAugment (Cubuk et al.) with torchvision's learned policies. */
export class AutoAugment extends AugmentBase {
  readonly policy: AutoAugmentPolicy;
  constructor(...args: PyArgs<"transforms.AutoAugment", AugmentOptions & { policy?: AutoAugmentPolicy }>) {
    const options = pytorchOptions<AugmentOptions & { policy?: AutoAugmentPolicy }>("transforms.AutoAugment", args, ["policy", ...AUGMENT_OPTIONS]);
    super(options);
    const policy = options.policy ?? "imagenet";
    if (!(policy in POLICIES)) throw new FlareError(`AutoAugment: policy must be "imagenet", "cifar10" or "svhn", got ${describe(policy)}`, "E_ARGUMENT");
    this.policy = policy;
  }
  protected sample(info: ImageInfo): AugParams {
    const g = this.rng, policies = POLICIES[this.policy];
    const steps = policies[g.randint(0, policies.length)];
    const probs = [g.random(), g.random()], signs = [g.randint(0, 2), g.randint(0, 2)];
    const meta = space(10, [info.height, info.width], "aa");
    const ops: AugOp[] = [];
    steps.forEach(([name, p, id], i) => {
      if (!(probs[i] <= Math.fround(p))) return;   // torch.rand((2,))[i] <= p compares in float32
      const [mags, signed] = meta.get(name)!;
      let m = id !== null && mags ? mags[id] : 0.0;
      if (signed && signs[i] === 0) m = -m;
      ops.push({ name, magnitude: m });
    });
    return { ops };
  }
  override toString(): string { return `AutoAugment(policy=${this.policy})`; }
}

/** RandAugment (Cubuk et al.): numOps ops drawn uniformly, all at one magnitude. */
export class RandAugment extends AugmentBase {
  readonly numOps: number;
  readonly magnitude: number;
  readonly numMagnitudeBins: number;
  constructor(...args: PyArgs<"transforms.RandAugment", AugmentOptions & { numOps?: number; magnitude?: number; numMagnitudeBins?: number }>) {
    const options = pytorchOptions<AugmentOptions & { numOps?: number; magnitude?: number; numMagnitudeBins?: number }>(
      "transforms.RandAugment", args, ["numOps", "magnitude", "numMagnitudeBins", ...AUGMENT_OPTIONS]);
    super(options);
    // Bounded as the spec parser bounds them: each op allocates within one forward.
    this.numOps = intOpt(options.numOps ?? 2, "RandAugment: numOps", 0, 100);
    this.numMagnitudeBins = intOpt(options.numMagnitudeBins ?? 31, "RandAugment: numMagnitudeBins", 2, 1024);
    this.magnitude = intOpt(options.magnitude ?? 9, "RandAugment: magnitude", 0);
    if (this.magnitude >= this.numMagnitudeBins) throw new FlareError(`RandAugment: magnitude must be below numMagnitudeBins (${this.numMagnitudeBins}), got ${this.magnitude}`, "E_ARGUMENT");
  }
  protected sample(info: ImageInfo): AugParams {
    const g = this.rng;
    const meta = space(this.numMagnitudeBins, [info.height, info.width], "ra");
    const names = [...meta.keys()];
    const ops: AugOp[] = [];
    for (let i = 0; i < this.numOps; i++) {
      const name = names[g.randint(0, names.length)];
      const [mags, signed] = meta.get(name)!;
      let m = mags ? mags[this.magnitude] : 0.0;
      if (signed && g.randint(0, 2)) m = -m;
      ops.push({ name, magnitude: m });
    }
    return { ops };
  }
  override toString(): string { return `RandAugment(numOps=${this.numOps}, magnitude=${this.magnitude}, numMagnitudeBins=${this.numMagnitudeBins})`; }
}

/** TrivialAugment Wide (Müller and Hutter): one op, one uniformly drawn magnitude. */
export class TrivialAugmentWide extends AugmentBase {
  readonly numMagnitudeBins: number;
  constructor(...args: PyArgs<"transforms.TrivialAugmentWide", AugmentOptions & { numMagnitudeBins?: number }>) {
    const options = pytorchOptions<AugmentOptions & { numMagnitudeBins?: number }>("transforms.TrivialAugmentWide", args, ["numMagnitudeBins", ...AUGMENT_OPTIONS]);
    super(options);
    this.numMagnitudeBins = intOpt(options.numMagnitudeBins ?? 31, "TrivialAugmentWide: numMagnitudeBins", 2, 1024);
  }
  protected sample(info: ImageInfo): AugParams {
    const g = this.rng;
    const meta = space(this.numMagnitudeBins, [info.height, info.width], "ta");
    const names = [...meta.keys()];
    const name = names[g.randint(0, names.length)];
    const [mags, signed] = meta.get(name)!;
    let m = mags ? mags[g.randint(0, mags.length)] : 0.0;
    if (signed && g.randint(0, 2)) m = -m;
    return { ops: [{ name, magnitude: m }] };
  }
  override toString(): string { return `TrivialAugmentWide(numMagnitudeBins=${this.numMagnitudeBins})`; }
}

function intOpt(v: unknown, what: string, min: number, max = Infinity): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new FlareError(`${what} must be an integer >= ${min}, got ${describe(v)}`, "E_ARGUMENT");
  if (v > max) throw new FlareError(`${what} must be at most ${max}, got ${v}`, "E_ARGUMENT");
  return v;
}
