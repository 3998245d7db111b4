// Models by name, for every task: models.get("resnet18", { numClasses: 10,
// weights: "r18.safetensors" }). Each entry knows its task and its input preset;
// detection and segmentation models add themselves with models.register().
// Weights are a safetensors state dict with PyTorch's keys (torchvision's, for
// the torchvision architectures), loaded strictly: a file for another
// architecture fails with loadStateDict's list of missing and unexpected keys
// and size mismatches. Options the file determines (numClasses, inChannels,
// width) are read from it when not given.
import { FlareError } from "../../errors.js";
import { load } from "../../io/index.js";
import * as nn from "../../nn/index.js";
import type { Tensor } from "../../tensor/index.js";
import { resnet18, resnet34, resnet50, type NormLayer } from "./resnet.js";
import { vgg11, vgg11Bn, vgg16, vgg16Bn, vgg19, vgg19Bn } from "./vgg.js";
import { resnet18Small } from "./resnet_d2l.js";
import { tinySsd } from "./detection/tiny_ssd.js";
import { FASHION_MNIST_CLASSIFICATION, IMAGENET_CLASSIFICATION, BANANAS_DETECTION, type Preset } from "./presets.js";
import { checkOptions } from "../../options.js";

/** What a model is for; detection and segmentation models register under their own. */
export type Task = "classification" | "detection" | "segmentation" | (string & NonNullable<unknown>);

export interface GetOptions {
  /** Outputs of the classification head: 1000 for the torchvision models, 10 for resnet18-small (or the weights file's). */
  numClasses?: number;
  /** A .safetensors state dict to load (strictly) into the model. */
  weights?: string;
  /** Input image channels: 3 for the torchvision models, 1 for resnet18-small (or the weights file's). */
  inChannels?: number;
  /** resnet18-small only: channels of the first stage (64, the book's; or the weights file's). */
  width?: number;
  /** resnet* only: start each residual branch's last norm layer at zero (torchvision's zero_init_residual). */
  zeroInitResidual?: boolean;
  /** vgg* only: the classifier's dropout probability (0.5). */
  dropout?: number;
  /** The backbone alone, without pooling and classifier: forward returns the last feature map. */
  headless?: boolean;
  /** resnet* only: the norm layer (nn.BatchNorm2d; nn.FrozenBatchNorm2d for detection backbones). */
  normLayer?: NormLayer;
  /** resnet* only: replace layer2/3/4's stride with dilation ([false, true, true] for FCN; Bottleneck ResNets only, as torchvision's). */
  replaceStrideWithDilation?: [boolean, boolean, boolean];
  /** Options of models other engineers register (each entry lists what it accepts). */
  [option: string]: unknown;
}

export interface ModelEntry {
  task: Task;
  /** Makes the model from the options the caller gave (those in `options`, none undefined). */
  build: (options: GetOptions) => nn.Module;
  /** The option names build accepts; "weights" is always accepted, and any other is a FlareError. */
  options: string[];
  /** How the model expects its input. */
  preset: Preset;
  description: string;
  /** Options a weights file determines when not given: option → [state-dict key, dimension], or a function of the state dict. */
  fromWeights?: Record<string, [string, number] | ((weights: Map<string, Tensor>) => number | undefined)>;
  /** State-dict key prefixes of the head: with headless, a weights file's head is dropped before loading. */
  head?: string[];
}

/** What list()/info() tell about an entry. */
export interface ModelInfo { name: string; task: Task; preset: Preset; options: string[]; description: string }

const REGISTRY = new Map<string, ModelEntry>();

function checkEntry(name: unknown, entry: ModelEntry): void {
  const what = `models.register(${JSON.stringify(name)})`;
  if (typeof name !== "string" || name === "") throw new FlareError(`models.register(): name must be a non-empty string, got ${JSON.stringify(name)}`, "E_ARGUMENT");
  if (entry === null || typeof entry !== "object") throw new FlareError(`${what}: entry must be an object`, "E_ARGUMENT");
  const known = ["task", "build", "options", "preset", "description", "fromWeights", "head"];
  for (const key of Object.keys(entry)) if (!known.includes(key)) throw new FlareError(`${what}: unknown entry field "${key}" (fields: ${known.join(", ")})`, "E_ARGUMENT");
  if (typeof entry.task !== "string" || entry.task === "") throw new FlareError(`${what}: task must be a non-empty string such as "detection"`, "E_ARGUMENT");
  if (typeof entry.build !== "function") throw new FlareError(`${what}: build must be a function (options) => Module`, "E_ARGUMENT");
  if (!Array.isArray(entry.options) || entry.options.some((o) => typeof o !== "string"))
    throw new FlareError(`${what}: options must be an array of option names`, "E_ARGUMENT");
  if (typeof entry.description !== "string") throw new FlareError(`${what}: description must be a string`, "E_ARGUMENT");
  const p = entry.preset;
  const numbers = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number" && Number.isFinite(x));
  if (p === null || typeof p !== "object" || !numbers(p.mean) || !numbers(p.std) || p.mean.length !== p.std.length)
    throw new FlareError(`${what}: preset must have mean and std, arrays of as many numbers`, "E_ARGUMENT");
  if (!Number.isInteger(p.channels) || p.channels < 1) throw new FlareError(`${what}: preset.channels must be a positive integer`, "E_ARGUMENT");
  if (!["nearest", "bilinear", "bicubic"].includes(p.interpolation))
    throw new FlareError(`${what}: preset.interpolation must be "nearest", "bilinear" or "bicubic", got ${JSON.stringify(p.interpolation)}`, "E_ARGUMENT");
}

/**
 * Adds a model under a name, for models.get(name): models.register("fcn_resnet50",
 * { task: "segmentation", build, options: [...], preset, description }). A taken
 * name is a FlareError unless { replace: true }.
 */
export function register(name: string, entry: ModelEntry, options: { replace?: boolean } = {}): void {
  checkOptions(options, ["replace"], `models.register(${JSON.stringify(name)})`);
  checkEntry(name, entry);
  if (REGISTRY.has(name) && !options.replace) throw new FlareError(`models.register(): "${name}" is already registered (pass { replace: true } to replace it)`, "E_ARGUMENT");
  REGISTRY.set(name, { ...entry, options: [...entry.options] });
}

function entryOf(name: unknown, what: string): ModelEntry {
  const entry = typeof name === "string" ? REGISTRY.get(name) : undefined;
  if (!entry) throw new FlareError(`${what}: unknown model ${JSON.stringify(name)}; known models: ${list().join(", ")}`, "E_ARGUMENT");
  return entry;
}

/** The registered names, in registration order; { task } keeps those of one task. */
export function list(options: { task?: Task } = {}): string[] {
  const task = options?.task;
  if (task !== undefined && typeof task !== "string") throw new FlareError(`models.list(): task must be a string, got ${String(task)}`, "E_ARGUMENT");
  checkOptions(options, ["task"], "models.list()");
  return [...REGISTRY].filter(([, e]) => task === undefined || e.task === task).map(([name]) => name);
}

/** A registered model's task, preset, options and description. */
export function info(name: string): ModelInfo {
  const e = entryOf(name, "models.info()");
  return { name, task: e.task, preset: structuredClone(e.preset), options: ["weights", ...e.options], description: e.description };
}

/** A registered model's input preset (a copy). */
export function getPreset(name: string): Preset {
  return structuredClone(entryOf(name, "models.getPreset()").preset);
}

/** The names models.get() accepts (all tasks). */
export function listModels(): string[] {
  return list();
}

/** A one-line description of each model, by name. */
export function describeModels(): Record<string, string> {
  return Object.fromEntries([...REGISTRY].map(([name, e]) => [name, e.description]));
}

function dimOf(sd: Map<string, Tensor>, key: string, dim: number): number | undefined {
  const t = sd.get(key);
  return t && t.shape.length > dim ? t.shape[dim] : undefined;
}

function disposeAll(sd: Map<string, Tensor>): void {
  for (const t of sd.values()) t.dispose();
}

/**
 * A model by name (see list()), for any task, optionally with weights:
 * get("resnet50", { numClasses: 10 }), get("vgg16_bn", { weights: "vgg16_bn.safetensors" }),
 * get("resnet50", { headless: true, normLayer: nn.FrozenBatchNorm2d, weights }) (a
 * classifier's weights file, its head dropped). Unknown options are a FlareError.
 */
export function get(name: string, options: GetOptions = {}): nn.Module {
  const entry = entryOf(name, "models.get()");
  if (options === null || typeof options !== "object") throw new FlareError(`models.get(): options must be an object`, "E_ARGUMENT");
  const o: GetOptions = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (key !== "weights" && !entry.options.includes(key)) checkOptions({ [key]: value }, ["weights", ...entry.options], `models.get("${name}")`);
    o[key] = value;
  }
  const { weights: file, ...buildOptions } = o;
  let weights: Map<string, Tensor> | undefined;
  if (file !== undefined) {
    if (typeof file !== "string" || file === "")
      throw new FlareError(`models.get("${name}"): weights must be the path of a .safetensors file, got ${JSON.stringify(file)}`, "E_ARGUMENT");
    weights = load(file);
    if (buildOptions.headless === true) {
      for (const key of [...weights.keys()]) {
        if ((entry.head ?? []).some((prefix) => key.startsWith(prefix))) { weights.get(key)!.dispose(); weights.delete(key); }
      }
    }
    for (const [option, rule] of Object.entries(entry.fromWeights ?? {})) {
      if (buildOptions[option] === undefined && entry.options.includes(option)) {
        const value = typeof rule === "function" ? rule(weights) : dimOf(weights, rule[0], rule[1]);
        if (value !== undefined) buildOptions[option] = value;
      }
    }
  }
  let model: nn.Module | undefined;
  try {
    model = entry.build(buildOptions);
    if (!(model instanceof nn.Module)) throw new FlareError(`models.get("${name}"): the registered build() returned ${String(model)}, not a Module`, "E_INTERNAL");
    if (weights) {
      try {
        model.loadStateDict(weights, { strict: true });
      } catch (error) {
        if (!(error instanceof FlareError)) throw error;
        throw new FlareError(`models.get("${name}"): the weights in ${file} don't fit this model. ${error.message}`, error.code);
      }
    }
    return model;
  } catch (error) {
    if (model instanceof nn.Module) model.dispose();
    throw error;
  } finally {
    if (weights) disposeAll(weights);
  }
}

// ---- today's models: classification ------------------------------------------------------

const COMMON = ["numClasses", "inChannels", "headless"];

function resnetEntry(build: typeof resnet18, description: string): ModelEntry {
  return {
    task: "classification", build: (o) => build(o), preset: IMAGENET_CLASSIFICATION, description,
    options: [...COMMON, "zeroInitResidual", "normLayer", "replaceStrideWithDilation"],
    fromWeights: { numClasses: ["fc.weight", 0], inChannels: ["conv1.weight", 1] }, head: ["fc."],
  };
}

function vggEntry(build: typeof vgg11, description: string): ModelEntry {
  return {
    task: "classification", build: (o) => build(o), preset: IMAGENET_CLASSIFICATION, description,
    options: [...COMMON, "dropout"],
    fromWeights: { numClasses: ["classifier.6.weight", 0], inChannels: ["features.0.weight", 1] }, head: ["classifier."],
  };
}

register("resnet18", resnetEntry(resnet18, "torchvision ResNet-18 (11.7M parameters)"));
register("resnet34", resnetEntry(resnet34, "torchvision ResNet-34 (21.8M parameters)"));
register("resnet50", resnetEntry(resnet50, "torchvision ResNet-50 (25.6M parameters)"));
register("vgg11", vggEntry(vgg11, "torchvision VGG-11 (132.9M parameters)"));
register("vgg11_bn", vggEntry(vgg11Bn, "torchvision VGG-11 with batch norm (132.9M parameters)"));
register("vgg16", vggEntry(vgg16, "torchvision VGG-16 (138.4M parameters)"));
register("vgg16_bn", vggEntry(vgg16Bn, "torchvision VGG-16 with batch norm (138.4M parameters)"));
register("vgg19", vggEntry(vgg19, "torchvision VGG-19 (143.7M parameters)"));
register("vgg19_bn", vggEntry(vgg19Bn, "torchvision VGG-19 with batch norm (143.7M parameters)"));
register("resnet18-small", {
  task: "classification",
  build: ({ numClasses, ...rest }) => {
    if (rest.headless === true && numClasses !== undefined) throw new FlareError("resnet18Small(): numClasses and headless exclude each other (a headless model has no head)", "E_ARGUMENT");
    return resnet18Small(numClasses ?? 10, rest);
  },
  options: [...COMMON, "width"], preset: FASHION_MNIST_CLASSIFICATION,
  fromWeights: { numClasses: ["9.weight", 0], inChannels: ["0.weight", 1], width: ["0.weight", 0] }, head: ["9."],
  description: "d2l's small ResNet-18: 3x3 stem, no max-pool, for 28x28 and 32x32 inputs (11.2M parameters at width 64)",
});

// ---- detection --------------------------------------------------------------------------

register("tiny-ssd", {
  task: "detection",
  build: ({ numClasses }) => tinySsd({ numClasses: (numClasses as number | undefined) ?? 1 }),
  options: ["numClasses"], preset: BANANAS_DETECTION,
  // cls_0 predicts (numClasses + 1) scores for each of its 4 anchors per pixel.
  fromWeights: { numClasses: (w) => { const n = dimOf(w, "cls_0.weight", 0); return n === undefined ? undefined : n / 4 - 1; } },
  description: "d2l's TinySSD (14.7): five scales of anchors on a small CNN, 256x256 inputs in 0..255 (1.0M parameters for one class)",
});
