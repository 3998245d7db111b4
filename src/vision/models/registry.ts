// Models by name: models.get("resnet18", { numClasses: 10, weights: "r18.safetensors" }).
// Weights are a safetensors state dict with PyTorch's keys (torchvision's, for
// the torchvision architectures), loaded strictly: a file for another
// architecture fails with loadStateDict's list of missing and unexpected keys
// and size mismatches. Options the file determines (numClasses, inChannels,
// width) are read from it when not given.
import { FlareError } from "../../errors.js";
import { load } from "../../io/index.js";
import type * as nn from "../../nn/index.js";
import type { Tensor } from "../../tensor/index.js";
import { resnet18, resnet34, resnet50 } from "./resnet.js";
import { vgg11, vgg11Bn, vgg16, vgg16Bn, vgg19, vgg19Bn } from "./vgg.js";
import { resnet18Small } from "./resnet_d2l.js";

export interface GetOptions {
  /** Outputs of the classification head: 1000 for the torchvision models, 10 for resnet18-small (or the weights file's). */
  numClasses?: number;
  /** A .safetensors state dict to load (strictly) into the model. */
  weights?: string;
  /** Input image channels: 3 for the torchvision models, 1 for resnet18-small (or the weights file's). */
  inChannels?: number;
  /** resnet18-small only: channels of the first stage (64, the book's; or the weights file's). */
  width?: number;
  /** resnet* only: start each residual branch's last BN at zero (torchvision's zero_init_residual). */
  zeroInitResidual?: boolean;
  /** vgg* only: the classifier's dropout probability (0.5). */
  dropout?: number;
}

interface Entry {
  build: (o: GetOptions) => nn.Module;
  /** The head's weight key: its first dimension is numClasses. */
  head: string;
  /** The first conv's weight key: its second dimension is inChannels (its first, width). */
  stem: string;
  options: (keyof GetOptions)[];
  description: string;
}

const COMMON: (keyof GetOptions)[] = ["numClasses", "weights", "inChannels"];

function resnetEntry(build: typeof resnet18, description: string): Entry {
  return {
    build: (o) => build({ numClasses: o.numClasses, inChannels: o.inChannels, zeroInitResidual: o.zeroInitResidual }),
    head: "fc.weight", stem: "conv1.weight", options: [...COMMON, "zeroInitResidual"], description,
  };
}

function vggEntry(build: typeof vgg11, description: string): Entry {
  return {
    build: (o) => build({ numClasses: o.numClasses, inChannels: o.inChannels, dropout: o.dropout }),
    head: "classifier.6.weight", stem: "features.0.weight", options: [...COMMON, "dropout"], description,
  };
}

const REGISTRY: Record<string, Entry> = {
  "resnet18": resnetEntry(resnet18, "torchvision ResNet-18 (11.7M parameters)"),
  "resnet34": resnetEntry(resnet34, "torchvision ResNet-34 (21.8M parameters)"),
  "resnet50": resnetEntry(resnet50, "torchvision ResNet-50 (25.6M parameters)"),
  "vgg11": vggEntry(vgg11, "torchvision VGG-11 (132.9M parameters)"),
  "vgg11_bn": vggEntry(vgg11Bn, "torchvision VGG-11 with batch norm (132.9M parameters)"),
  "vgg16": vggEntry(vgg16, "torchvision VGG-16 (138.4M parameters)"),
  "vgg16_bn": vggEntry(vgg16Bn, "torchvision VGG-16 with batch norm (138.4M parameters)"),
  "vgg19": vggEntry(vgg19, "torchvision VGG-19 (143.7M parameters)"),
  "vgg19_bn": vggEntry(vgg19Bn, "torchvision VGG-19 with batch norm (143.7M parameters)"),
  "resnet18-small": {
    build: (o) => resnet18Small(o.numClasses ?? 10, { inChannels: o.inChannels, width: o.width }),
    head: "9.weight", stem: "0.weight", options: [...COMMON, "width"],
    description: "d2l's small ResNet-18: 3x3 stem, no max-pool, for 28x28 and 32x32 inputs (11.2M parameters at width 64)",
  },
};

/** The names models.get() accepts. */
export function listModels(): string[] {
  return Object.keys(REGISTRY);
}

/** A one-line description of each model, by name. */
export function describeModels(): Record<string, string> {
  return Object.fromEntries(Object.entries(REGISTRY).map(([name, e]) => [name, e.description]));
}

function dimOf(sd: Map<string, Tensor>, key: string, dim: number): number | undefined {
  const t = sd.get(key);
  return t && t.shape.length > dim ? t.shape[dim] : undefined;
}

function disposeAll(sd: Map<string, Tensor>): void {
  for (const t of sd.values()) t.dispose();
}

/**
 * A model by name (see listModels()), optionally with weights:
 * get("resnet50", { numClasses: 10 }), get("vgg16_bn", { weights: "vgg16_bn.safetensors" }).
 */
export function get(name: string, options: GetOptions = {}): nn.Module {
  const entry = typeof name === "string" ? Object.hasOwn(REGISTRY, name) && REGISTRY[name] : undefined;
  if (!entry) throw new FlareError(`models.get(): unknown model ${JSON.stringify(name)}; known models: ${listModels().join(", ")}`, "E_ARGUMENT");
  if (options === null || typeof options !== "object") throw new FlareError(`models.get(): options must be an object`, "E_ARGUMENT");
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && !entry.options.includes(key as keyof GetOptions))
      throw new FlareError(`models.get("${name}"): unknown option "${key}" (options: ${entry.options.join(", ")})`, "E_ARGUMENT");
  }
  const o: GetOptions = { ...options };
  let weights: Map<string, Tensor> | undefined;
  if (o.weights !== undefined) {
    if (typeof o.weights !== "string" || o.weights === "")
      throw new FlareError(`models.get("${name}"): weights must be the path of a .safetensors file, got ${JSON.stringify(o.weights)}`, "E_ARGUMENT");
    weights = load(o.weights);
    o.numClasses ??= dimOf(weights, entry.head, 0);
    o.inChannels ??= dimOf(weights, entry.stem, 1);
    if (entry.options.includes("width")) o.width ??= dimOf(weights, entry.stem, 0);
  }
  let model: nn.Module | undefined;
  try {
    model = entry.build(o);
    if (weights) {
      try {
        model.loadStateDict(weights, { strict: true });
      } catch (error) {
        if (!(error instanceof FlareError)) throw error;
        throw new FlareError(`models.get("${name}"): the weights in ${o.weights} don't fit this model. ${error.message}`, error.code);
      }
    }
    return model;
  } catch (error) {
    model?.dispose();
    throw error;
  } finally {
    if (weights) disposeAll(weights);
  }
}
