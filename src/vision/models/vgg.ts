// torchvision's VGG-11/16/19, with and without batch norm (torchvision/models/
// vgg.py, v0.14): `features` (the conv stack), `avgpool` (adaptive, to 7x7)
// and `classifier` (3 linear layers with dropout), so torchvision's state dicts
// (`features.0.weight`, `classifier.6.bias`) load as they are. Initialisation
// is torchvision's. The classifier alone holds 120M parameters (25088x4096 +
// 4096x4096 + 4096xnumClasses), whatever the input size.
import { FlareError } from "../../errors.js";
import * as nn from "../../nn/index.js";
import type { Tensor } from "../../tensor/index.js";
import { checkOptions } from "../../options.js";
import { builderOptions } from "./_options.js";

/** A layer configuration: output channels of a 3x3 conv, or "M" for a 2x2 max-pool. */
export type VggConfig = (number | "M")[];

/** torchvision's configurations: A = VGG-11, B = VGG-13, D = VGG-16, E = VGG-19. */
export const cfgs: Record<"A" | "B" | "D" | "E", VggConfig> = {
  A: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  B: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  D: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
  E: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
};

/** torchvision's make_layers: conv 3x3 (padding 1) [+ BatchNorm2d] + ReLU per number, MaxPool2d(2, 2) per "M". */
export function makeLayers(cfg: VggConfig, options: { batchNorm?: boolean; inChannels?: number } = {}): nn.Sequential {
  checkOptions(options, ["batchNorm", "inChannels"], "models.makeLayers()");
  const layers: nn.Module[] = [];
  let inChannels = options.inChannels ?? 3;
  for (const v of cfg) {
    if (v === "M") {
      layers.push(new nn.MaxPool2d(2, { stride: 2 }));
    } else {
      layers.push(new nn.Conv2d(inChannels, v, 3, { padding: 1 }));
      if (options.batchNorm) layers.push(new nn.BatchNorm2d(v));
      layers.push(new nn.ReLU());
      inChannels = v;
    }
  }
  return new nn.Sequential(...layers);
}

export interface VGGOptions {
  /** Outputs of the last layer, `classifier.6` (1000, ImageNet's). */
  numClasses?: number;
  /** torchvision's initialisation (true); false keeps each layer's default init. */
  initWeights?: boolean;
  /** Dropout probability in the classifier (0.5). */
  dropout?: number;
  /** Without avgpool and classifier: forward returns the features' output (N, 512, H/32, W/32). */
  headless?: boolean;
}

const VGG_OPTIONS = ["numClasses", "initWeights", "dropout", "headless"];


/**
 * torchvision.models.VGG: new VGG(makeLayers(cfgs.D, { batchNorm: true }), { numClasses }).
 * `features` is the Sequential torchvision indexes (features.get(25) is
 * torchvision's features[25], and features.slice(0, 23) its features[:23]),
 * which style transfer and SSD's backbone take apart.
 */
export class VGG<F extends nn.Module = nn.Sequential> extends nn.Module {
  features: F;
  /** null when headless. */
  avgpool: nn.AdaptiveAvgPool2d | null;
  /** null when headless. */
  classifier: nn.Sequential | null;

  constructor(features: F, options: VGGOptions = {}) {
    super();
    checkOptions(options, VGG_OPTIONS, "VGG()");
    if (!(features instanceof nn.Module)) throw new FlareError(`VGG(): features must be a Module, got ${String(features)}`, "E_ARGUMENT");
    const headless = options.headless ?? false;
    if (typeof headless !== "boolean") throw new FlareError(`VGG(): headless must be true or false, got ${String(headless)}`, "E_ARGUMENT");
    if (headless && (options.numClasses !== undefined || options.dropout !== undefined))
      throw new FlareError("VGG(): numClasses and dropout belong to the classifier, which a headless VGG does not have", "E_ARGUMENT");
    const numClasses = options.numClasses ?? 1000;
    if (typeof numClasses !== "number" || !Number.isInteger(numClasses) || numClasses < 1)
      throw new FlareError(`VGG(): numClasses must be a positive integer, got ${String(numClasses)}`, "E_ARGUMENT");
    const dropout = options.dropout ?? 0.5;
    this.features = features;
    this.avgpool = headless ? null : new nn.AdaptiveAvgPool2d([7, 7]);
    this.classifier = headless ? null : new nn.Sequential(
      new nn.Linear(512 * 7 * 7, 4096), new nn.ReLU(), new nn.Dropout(dropout),
      new nn.Linear(4096, 4096), new nn.ReLU(), new nn.Dropout(dropout),
      new nn.Linear(4096, numClasses));
    if (options.initWeights ?? true) {
      for (const m of this.modules()) {
        if (m instanceof nn.Conv2d) {
          nn.init.kaimingNormal_(m.weight, { mode: "fan_out", nonlinearity: "relu" });
          if (m.bias) nn.init.constant_(m.bias, 0);
        } else if (m instanceof nn.BatchNorm2d) {
          nn.init.constant_(m.weight!, 1);
          nn.init.constant_(m.bias!, 0);
        } else if (m instanceof nn.Linear) {
          nn.init.normal_(m.weight, 0, 0.01);
          nn.init.constant_(m.bias!, 0);
        }
      }
    }
  }

  override forward(x: Tensor): Tensor {
    const features = this.features.forward(x) as Tensor;
    if (!this.avgpool || !this.classifier) return features;
    return this.classifier.forward(this.avgpool.forward(features).flatten(1)) as Tensor;
  }
}

export interface VGGBuildOptions extends VGGOptions {
  /** Channels of the input image (3); only `features.0.weight` changes. */
  inChannels?: number;
}

function vgg(cfg: keyof typeof cfgs, batchNorm: boolean, options: VGGBuildOptions, name: string): VGG {
  builderOptions(options, [...VGG_OPTIONS, "inChannels"], name);
  const { inChannels, ...rest } = options;
  return new VGG(makeLayers(cfgs[cfg], { batchNorm, inChannels }), rest);
}

/** VGG-11 (configuration A). */
export function vgg11(options: VGGBuildOptions = {}): VGG { return vgg("A", false, options, "vgg11"); }
/** VGG-11 with batch norm. */
export function vgg11Bn(options: VGGBuildOptions = {}): VGG { return vgg("A", true, options, "vgg11Bn"); }
/** VGG-16 (configuration D). */
export function vgg16(options: VGGBuildOptions = {}): VGG { return vgg("D", false, options, "vgg16"); }
/** VGG-16 with batch norm. */
export function vgg16Bn(options: VGGBuildOptions = {}): VGG { return vgg("D", true, options, "vgg16Bn"); }
/** VGG-19 (configuration E). */
export function vgg19(options: VGGBuildOptions = {}): VGG { return vgg("E", false, options, "vgg19"); }
/** VGG-19 with batch norm. */
export function vgg19Bn(options: VGGBuildOptions = {}): VGG { return vgg("E", true, options, "vgg19Bn"); }
