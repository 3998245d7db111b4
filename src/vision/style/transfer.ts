// Neural style transfer (d2l 14.12): the synthesised image is the only
// parameter; Adam moves it so that its content features stay close to the
// content image's, its Gram matrices close to the style image's, and its total
// variation low. The book's recipe with VGG-19 weights (or any given
// extractor): start from the content image, Adam lr 0.3, lr × 0.8 every 50
// steps, 500 steps, weights 1 / 1e4 / 10, 300 × 450, ImageNet mean/std pre-
// and post-processing. The random-filter default (no weights) keeps all of
// that but the schedule, so that it finishes in under half a minute of CPU time
// (RANDOM_SCHEDULE): 200 steps, the first 150 at half the size.
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";
import * as nn from "../../nn/index.js";
import * as F from "../../nn/functional.js";
import { Adam } from "../../optim/adam.js";
import { StepLR } from "../../optim/lr_scheduler.js";
import { Tensor, tensor, tidy, keep, dispose, noGrad } from "../../tensor/index.js";
import { readImage } from "../io.js";
import { resize } from "../transforms/geometry.js";
import { gram } from "./gram.js";
import { computeLoss, contentLoss, styleLoss, tvLoss, BOOK_WEIGHTS, type LossWeights } from "./losses.js";
import type { StyleFeatures } from "./features.js";
import { RandomStyleFeatures } from "./random_features.js";
import { vgg19StyleFeatures } from "./vgg_features.js";

export const RGB_MEAN = [0.485, 0.456, 0.406];
export const RGB_STD = [0.229, 0.224, 0.225];

/** The book's schedule: 500 steps at full size, lr × 0.8 every 50 steps (with VGG-19 weights or a given extractor). */
export const BOOK_SCHEDULE = Object.freeze({ steps: 500, coarseSteps: 0, lrDecaySteps: 50 });

/**
 * The random filters' default schedule (no weights): 200 steps, the first 150
 * (¾) at half the size, lr × 0.8 every 20 (a tenth of the steps: the book's
 * ten decays, compressed). Why: at 300 × 450 a full-size step costs ~0.2 s of
 * CPU and a half-size one ~0.05 s, and the Gram distance has fallen > 50× by
 * step 20 (bench/stylize_profile.ts, README): 200 steps, ¾ of them coarse, are
 * ~18 s of CPU instead of the book's 500 full-size steps (~100 s). The coarse
 * steps also place the large texture features; the fine ones sharpen them.
 * Given only `steps`, the other two scale with it (¾ coarse, decay every tenth).
 */
export const RANDOM_SCHEDULE = Object.freeze({ steps: 200, coarseSteps: 150, lrDecaySteps: 20 });

/** The schedule styleTransfer uses when not told: the book's with weights or a given extractor, else the random filters'. */
export function defaultSchedule(bookRecipe: boolean, steps?: number): { steps: number; coarseSteps: number; lrDecaySteps: number } {
  if (bookRecipe) return { ...BOOK_SCHEDULE, steps: steps ?? BOOK_SCHEDULE.steps };
  if (steps === undefined) return { ...RANDOM_SCHEDULE };
  return { steps, coarseSteps: Math.floor(steps * 0.75), lrDecaySteps: Math.max(1, Math.round(steps / 10)) };
}

/** Below this many pixels on a side, the half-size phase is skipped (the pyramid would have nothing to work on). */
const MIN_COARSE_SIDE = 8;

/** Bilinear resampling of a (1, 3, h, w) image to `size` (from the coarse phase to the fine one). */
const upsample = (x: Tensor, size: [number, number]) => F.interpolate(x, { size, mode: "bilinear", alignCorners: false });

/** Per-channel constants as a 3 × 1 × 1 tensor. */
const column = (values: number[]) => tensor(values).reshape([3, 1, 1]);

function checkSize(size: unknown, what: string): [number, number] {
  const s = typeof size === "number" ? [size, size] : size;
  if (!Array.isArray(s) || s.length !== 2 || s.some((v) => !Number.isInteger(v) || v < 1))
    throw new FlareError(`${what}: size must be [height, width] of positive integers (or one), got ${JSON.stringify(size)}`, "E_ARGUMENT");
  return [s[0], s[1]];
}

/** Checks an image tensor: 3 × H × W (1 channel is repeated), uint8 or float in [0, 1]. */
function checkImage(img: unknown, what: string): Tensor {
  if (!(img instanceof Tensor)) throw new FlareError(`${what} must be an image tensor or a file path, got ${String(img)}`, "E_TYPE");
  if (img.ndim !== 3 || ![1, 3].includes(img.shape[0]) || img.shape[1] < 1 || img.shape[2] < 1)
    throw new FlareError(`${what} must be a 3 × H × W image, got shape [${img.shape.join(", ")}]`, "E_SHAPE");
  return img;
}

/**
 * The book's preprocess: Resize((h, w)) (antialiased bilinear, as PIL's), to
 * [0, 1], ImageNet Normalize, a batch dimension: (1, 3, h, w) float32.
 */
export function preprocess(img: Tensor, size: [number, number] | number): Tensor {
  const [h, w] = checkSize(size, "preprocess()");
  checkImage(img, "preprocess(): img");
  return tidy(() => {
    let x = img.shape[0] === 1 ? img.expand([3, -1, -1]) : img;
    if (x.dtype === "uint8") {
      x = resize(x, [h, w], { antialias: true }).to("float32").div(255);
    } else {
      x = resize(x.to("float32"), [h, w], { antialias: true });
    }
    return x.sub(column(RGB_MEAN)).div(column(RGB_STD)).unsqueeze(0);
  });
}

/** The book's postprocess: x·std + mean, clamped to [0, 1], as a uint8 3 × h × w image (ToPILImage truncates: ⌊255·v⌋). */
export function postprocess(x: Tensor): Tensor {
  if (!(x instanceof Tensor) || x.ndim !== 4 || x.shape[1] !== 3) throw new FlareError(`postprocess(): expected a (N, 3, H, W) image, got ${x instanceof Tensor ? `shape [${x.shape.join(", ")}]` : String(x)}`, "E_SHAPE");
  return tidy(() => noGrad(() => {
    const img = x.index(0).detach();
    return img.mul(column(RGB_STD)).add(column(RGB_MEAN)).clamp(0, 1).mul(255).to("uint8");
  }));
}

/** d2l's SynthesizedImage: a module whose only parameter is the image being made. */
export class SynthesizedImage extends nn.Module {
  weight: nn.Parameter;
  constructor(init: Tensor) {
    super();
    // A copy of the image: the Parameter shares its storage, so the copy's own handle can go.
    const copy = tidy(() => init.detach().clone());
    this.weight = new nn.Parameter(copy);
    copy.dispose();
  }
  override forward(): Tensor { return this.weight; }
}

/** The three losses (weighted, summed over layers) at one step, the lr used, and the unweighted Gram distance. */
export interface StyleStep {
  /** 1-based step; 0 for the result's own losses. */
  step: number;
  content: number;
  style: number;
  tv: number;
  total: number;
  lr: number;
  /** Σ over style layers of mean((gram(Ŷ) − gramY)²): the style distance, unweighted. */
  gramDistance: number;
}

export interface StyleTransferOptions {
  /** The content image: a file path or a 3 × H × W tensor (uint8, or float in [0, 1]). */
  content: string | Tensor;
  /** The style image(s), as content. */
  style: string | Tensor | (string | Tensor)[];
  /** With several style images: their shares of the style target (normalised to sum 1); default equal. */
  styleMix?: number[];
  /** [height, width] of the result (the book's [300, 450]). */
  size?: [number, number] | number;
  /** Adam steps (the book's 500 with weights; 200 with the random filters). */
  steps?: number;
  /**
   * How many of the steps (the first ones) run at half the size; then the image is
   * upsampled (bilinear) and the rest run at the full size. 0 with weights (the
   * book's); ¾ of the steps with the random filters (150 of 200). The history's
   * losses are at the size each step ran at; gramDistance.start / end are at the full size.
   */
  coarseSteps?: number;
  /** Adam's learning rate (0.3). */
  lr?: number;
  /** The lr is multiplied by lrDecay every lrDecaySteps steps (0.8 every 50 with weights; every steps/10 with the random filters). */
  lrDecaySteps?: number;
  lrDecay?: number;
  /** Loss weights (content 1, style 1e4, total variation 10). */
  contentWeight?: number;
  styleWeight?: number;
  tvWeight?: number;
  /** VGG-19 weights (a safetensors path or state dict): the book's extractor. Without them, the random multi-scale filters. */
  weights?: string | Map<string, Tensor>;
  /** Any extractor (overrides weights); the caller keeps and disposes it. */
  features?: StyleFeatures;
  /** The random filters' seed (0). */
  seed?: number;
  /** Called after each step; `image()` makes the current picture (uint8; the caller disposes it). Awaited. */
  onStep?: (info: StyleStep & { steps: number; image: () => Tensor }) => void | Promise<void>;
}

const OPTIONS = ["content", "style", "styleMix", "size", "steps", "coarseSteps", "lr", "lrDecaySteps", "lrDecay", "contentWeight", "styleWeight", "tvWeight", "weights", "features", "seed", "onStep"];

export interface StyleTransferResult {
  /** The synthesised image, uint8 3 × h × w. */
  image: Tensor;
  /** The losses at each step (computed before that step's update), as the book plots them. */
  history: StyleStep[];
  /** The losses of the returned image (step 0). */
  final: StyleStep;
  /** The Gram distance of the content image (where the synthesis starts) and of the result. */
  gramDistance: { start: number; end: number };
  /** Which extractor ran. */
  features: string;
  /** How many of the steps ran at half the size (0: all at full size). */
  coarseSteps: number;
}

function numberOption(value: unknown, fallback: number, name: string, check: (v: number) => boolean, want: string): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || !check(v)) throw new FlareError(`styleTransfer(): ${name} must be ${want}, got ${String(value)}`, "E_ARGUMENT");
  return v;
}

async function loadImage(source: string | Tensor, what: string): Promise<Tensor> {
  if (typeof source === "string") {
    try {
      return await readImage(source, { mode: "rgb" });
    } catch (error) {
      throw new FlareError(`styleTransfer(): the ${what} image ${source} could not be read: ${(error as Error).message.replace(/^readImage\(\): /, "").replace(`could not read ${source}: `, "")}`, "E_IO");
    }
  }
  return checkImage(source, `styleTransfer(): the ${what} image`);
}

/** The mixed style target: Σ_k share_k · gram(style_k) per style layer. */
function styleTargets(features: StyleFeatures, styles: Tensor[], shares: number[]): Tensor[] {
  const method = { method: features.gramMethod ?? "matmul" };
  return tidy(() => noGrad(() => {
    let targets: Tensor[] = [];
    styles.forEach((x, k) => {
      const grams = features.extract(x).styles.map((y) => gram(y, method).mul(shares[k]));
      targets = k === 0 ? grams : targets.map((t, i) => t.add(grams[i]));
    });
    return targets;
  }));
}

/**
 * Neural style transfer, d2l 14.12's recipe: returns the synthesised image
 * (uint8 3 × h × w) and the loss history. With `weights` (VGG-19's), the
 * book's extractor; without, the random multi-scale filters, which need no download.
 */
export async function styleTransfer(options: StyleTransferOptions): Promise<StyleTransferResult> {
  options = checkOptions(options, OPTIONS, "styleTransfer()");
  if (options.content === undefined) throw new FlareError("styleTransfer(): content is required (an image path or tensor)", "E_ARGUMENT");
  if (options.style === undefined) throw new FlareError("styleTransfer(): style is required (an image path or tensor, or several)", "E_ARGUMENT");
  const size = checkSize(options.size ?? [300, 450], "styleTransfer()");
  const schedule = defaultSchedule(options.weights !== undefined || options.features !== undefined,
    options.steps === undefined ? undefined : numberOption(options.steps, 0, "steps", (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0"));
  const steps = schedule.steps;
  const coarseSteps = numberOption(options.coarseSteps, schedule.coarseSteps, "coarseSteps", (v) => Number.isInteger(v) && v >= 0 && v <= schedule.steps,
    `an integer from 0 to steps (${schedule.steps})`);
  const lr = numberOption(options.lr, 0.3, "lr", (v) => v > 0, "a number > 0");
  const lrDecaySteps = numberOption(options.lrDecaySteps, schedule.lrDecaySteps, "lrDecaySteps", (v) => Number.isInteger(v) && v >= 1, "an integer ≥ 1");
  const lrDecay = numberOption(options.lrDecay, 0.8, "lrDecay", (v) => v > 0, "a number > 0");
  const weights: LossWeights = {
    content: numberOption(options.contentWeight, 1, "contentWeight", (v) => v >= 0, "a number ≥ 0"),
    style: numberOption(options.styleWeight, 1e4, "styleWeight", (v) => v >= 0, "a number ≥ 0"),
    tv: numberOption(options.tvWeight, 10, "tvWeight", (v) => v >= 0, "a number ≥ 0"),
  };
  const styleSources = Array.isArray(options.style) ? options.style : [options.style];
  if (styleSources.length === 0) throw new FlareError("styleTransfer(): style is an empty list; give at least one style image", "E_ARGUMENT");
  const mix = options.styleMix ?? styleSources.map(() => 1);
  if (!Array.isArray(mix) || mix.length !== styleSources.length)
    throw new FlareError(`styleTransfer(): styleMix has ${Array.isArray(mix) ? mix.length : "no"} shares for ${styleSources.length} style image(s); give one share per style image`, "E_ARGUMENT");
  if (mix.some((v) => typeof v !== "number" || !Number.isFinite(v) || v < 0) || mix.reduce((a, b) => a + b, 0) <= 0)
    throw new FlareError(`styleTransfer(): styleMix must be non-negative numbers, not all zero, got ${JSON.stringify(mix)}`, "E_ARGUMENT");
  const mixSum = mix.reduce((a, b) => a + b, 0);
  const shares = mix.map((v) => v / mixSum);
  if (options.onStep !== undefined && typeof options.onStep !== "function") throw new FlareError("styleTransfer(): onStep must be a function", "E_ARGUMENT");

  // Images first: a bad path is reported before any network is built.
  const contentImg = await loadImage(options.content, "content");
  const styleImgs: Tensor[] = [];
  for (const [k, s] of styleSources.entries()) styleImgs.push(await loadImage(s, styleSources.length > 1 ? `style #${k + 1}` : "style"));

  const owned = options.features === undefined;
  const features = options.features ?? (options.weights !== undefined ? vgg19StyleFeatures(options.weights) : new RandomStyleFeatures({ seed: options.seed ?? 0 }));
  const inputs: Tensor[] = [];
  const onStep = options.onStep;
  try {
    const contentX = keep(preprocess(contentImg, size));
    inputs.push(contentX);
    const styleXs = styleImgs.map((s) => keep(preprocess(s, size)));
    inputs.push(...styleXs);
    const common = { shares, lr, lrDecaySteps, lrDecay, weights };
    const history: StyleStep[] = [];
    // Coarse to fine: the first coarseSteps at half the size (a quarter of the pixels, about
    // a quarter of the time per step), then the image upsampled and the rest at full size.
    const half: [number, number] = [Math.max(1, Math.round(size[0] / 2)), Math.max(1, Math.round(size[1] / 2))];
    const coarse = coarseSteps > 0 && Math.min(...half) >= MIN_COARSE_SIDE ? coarseSteps : 0;
    let init: Tensor | undefined;
    if (coarse > 0) {
      const coarseInputs = [contentImg, ...styleImgs].map((img) => keep(preprocess(img, half)));
      inputs.push(...coarseInputs);
      const r = await synthesize(coarseInputs[0], coarseInputs.slice(1), features, {
        // Intermediate images at the result's size, whichever phase made them.
        ...common, steps: coarse, imageSize: size,
        ...(onStep ? { onStep: (info) => onStep({ ...info, steps }) } : {}),
      });
      history.push(...r.history);
      init = keep(tidy(() => noGrad(() => upsample(r.x, size))));
      inputs.push(init);
      r.x.dispose();
    }
    const { x, history: fine, final, gramDistance } = await synthesize(contentX, styleXs, features, {
      ...common, steps: steps - coarse, stepOffset: coarse, ...(init ? { init } : {}),
      ...(onStep ? { onStep: (info) => onStep({ ...info, steps }) } : {}),
    });
    history.push(...fine);
    try {
      return { image: postprocess(x), history, final, gramDistance, features: features.description, coarseSteps: coarse };
    } finally {
      x.dispose();
    }
  } finally {
    dispose(inputs);
    if (owned) features.dispose();
    // Images read here are freed; the caller's tensors stay.
    dispose([contentImg, ...styleImgs].filter((_, k) => typeof [options.content, ...styleSources][k] === "string"));
  }
}

export interface SynthesizeOptions {
  /** Shares of the style images in the style target (equal). */
  shares?: number[];
  steps?: number;
  lr?: number;
  lrDecaySteps?: number;
  lrDecay?: number;
  weights?: LossWeights;
  /** The starting image, (1, 3, h, w) like contentX (default: the content image, as the book). */
  init?: Tensor;
  /** Steps already taken elsewhere (a coarser phase): the steps are numbered after them and the lr schedule continues from there (0). */
  stepOffset?: number;
  /** [height, width] of the intermediate images onStep makes (default: the image's own). */
  imageSize?: [number, number];
  onStep?: StyleTransferOptions["onStep"];
}

/**
 * The book's get_inits + train on preprocessed (1, 3, h, w) images: the
 * synthesised image starts as the content image (or `init`), Adam(lr) with StepLR(lrDecaySteps,
 * lrDecay) stepped once per step. Returns the synthesised image (a (1, 3, h, w)
 * tensor the caller disposes), the losses before each update, and those of the
 * result; gramDistance.start is the content image's, end the result's.
 */
export async function synthesize(contentX: Tensor, styleXs: Tensor[], features: StyleFeatures, options: SynthesizeOptions = {}):
  Promise<{ x: Tensor; history: StyleStep[]; final: StyleStep; gramDistance: { start: number; end: number } }> {
  const steps = options.steps ?? 500, lr = options.lr ?? 0.3;
  const weights = options.weights ?? BOOK_WEIGHTS;
  const shares = options.shares ?? styleXs.map(() => 1 / styleXs.length);
  if (shares.length !== styleXs.length) throw new FlareError(`synthesize(): ${shares.length} shares for ${styleXs.length} style images`, "E_ARGUMENT");
  const stepOffset = options.stepOffset ?? 0;
  if (!Number.isInteger(stepOffset) || stepOffset < 0) throw new FlareError(`synthesize(): stepOffset must be an integer ≥ 0, got ${String(stepOffset)}`, "E_ARGUMENT");
  const init = options.init ?? contentX;
  if (!(init instanceof Tensor)) throw new FlareError(`synthesize(): init must be a (1, 3, h, w) tensor, got ${String(init)}`, "E_TYPE");
  if (init.ndim !== 4 || init.shape.some((v, i) => v !== contentX.shape[i]))
    throw new FlareError(`synthesize(): init has shape [${init.shape.join(", ")}], the content image [${contentX.shape.join(", ")}]`, "E_SHAPE");
  const toDispose: Tensor[] = [];
  const image = new SynthesizedImage(init);
  const optimizer = new Adam(image.parameters(), { lr });
  try {
    const contentsY = tidy(() => noGrad(() => features.extract(contentX).contents));
    toDispose.push(...contentsY);
    const grams = styleTargets(features, styleXs, shares);
    toDispose.push(...grams);
    const scheduler = new StepLR(optimizer, options.lrDecaySteps ?? 50, { gamma: options.lrDecay ?? 0.8 });
    // Continuing a schedule: the lr of global step stepOffset + 1 (StepLR's closed form).
    if (stepOffset > 0) scheduler.step(stepOffset);
    const history: StyleStep[] = [];
    const method = { method: features.gramMethod ?? "matmul" };
    const unweightedGram = (styles: Tensor[]) => styles.reduce((sum, y, i) => sum + styleLoss(y, grams[i], method).item(), 0);
    for (let step = stepOffset + 1; step <= stepOffset + steps; step++) {
      const currentLr = optimizer.paramGroups[0].lr;
      const record = tidy(() => {
        optimizer.zeroGrad();
        const x = image.forward();
        const { contents, styles } = features.extract(x);
        const l = computeLoss(x, contents, styles, contentsY, grams, weights, method);
        l.total.backward();
        optimizer.step();
        // The losses are those computed before the update (what the book plots).
        return {
          step, lr: currentLr, total: l.total.item(), tv: l.tv.item(),
          content: l.content.reduce((s, t) => s + t.item(), 0), style: l.style.reduce((s, t) => s + t.item(), 0),
          gramDistance: weights.style > 0 ? l.style.reduce((s, t) => s + t.item(), 0) / weights.style : noGrad(() => unweightedGram(styles)),
        };
      });
      scheduler.step();
      history.push(record);
      const imageSize = options.imageSize;
      const current = imageSize ? () => tidy(() => postprocess(noGrad(() => upsample(image.weight, imageSize)))) : () => postprocess(image.weight);
      if (options.onStep) await options.onStep({ ...record, steps: stepOffset + steps, image: current });
    }
    const final = tidy(() => noGrad(() => {
      const x = image.weight;
      const { contents, styles } = features.extract(x);
      const content = contents.reduce((s, y, i) => s + contentLoss(y, contentsY[i]).item(), 0) * weights.content;
      const gramDistance = unweightedGram(styles);
      const tv = tvLoss(x).item() * weights.tv;
      const style = gramDistance * weights.style;
      return { step: 0, lr: optimizer.paramGroups[0].lr, content, style, tv, total: content + style + tv, gramDistance };
    }));
    // The content image's distance: the first step's when the synthesis started there.
    const start = history.length && init === contentX ? history[0].gramDistance
      : tidy(() => noGrad(() => unweightedGram(features.extract(contentX).styles)));
    return { x: keep(tidy(() => image.weight.detach().clone())), history, final, gramDistance: { start, end: final.gramDistance } };
  } finally {
    dispose(toDispose);
    optimizer.zeroGrad();  // frees the image's gradient
    optimizer.dispose();
    image.dispose();
  }
}
