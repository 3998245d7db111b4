// torchvision's ResNet-18/34/50 (torchvision/models/resnet.py, v0.14). Module
// names, order and initialisation are torchvision's, so its state dicts
// (`layer1.0.downsample.0.weight`, ...) converted to safetensors load as they
// are, and after the same manualSeed the initial weights are the same.
// Fields are declared in PyTorch's registration order: with ES2022 class
// fields, declaration order is the state dict's order.
import { FlareError } from "../../errors.js";
import * as nn from "../../nn/index.js";
import type { Tensor } from "../../tensor/index.js";
import { checkOptions } from "../../options.js";
import { builderOptions } from "./_options.js";

function conv3x3(inPlanes: number, outPlanes: number, stride = 1, groups = 1, dilation = 1): nn.Conv2d {
  return new nn.Conv2d(inPlanes, outPlanes, 3, { stride, padding: dilation, groups, bias: false, dilation });
}

function conv1x1(inPlanes: number, outPlanes: number, stride = 1): nn.Conv2d {
  return new nn.Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });
}

/**
 * A norm layer for numFeatures channels, as torchvision's norm_layer: a class
 * (nn.BatchNorm2d, nn.FrozenBatchNorm2d) or a function that makes one
 * (`(c) => new nn.GroupNorm(32, c)`).
 */
export type NormLayer = (new (numFeatures: number) => nn.Module) | ((numFeatures: number) => nn.Module);

/** A norm layer from a NormLayer (a class is called with new, a function without). */
export function makeNorm(normLayer: NormLayer, numFeatures: number): nn.Module {
  const isClass = normLayer.prototype instanceof nn.Module;
  const layer: unknown = isClass
    ? new (normLayer as new (n: number) => nn.Module)(numFeatures)
    : (normLayer as (n: number) => nn.Module)(numFeatures);
  if (!(layer instanceof nn.Module))
    throw new FlareError(`normLayer must be a Module class or a function returning a Module; it returned ${String(layer)}`, "E_ARGUMENT");
  return layer;
}

/** Options of the blocks beyond torchvision's positional ones. */
const BLOCK_OPTIONS = ["groups", "baseWidth", "dilation", "normLayer"];
export interface BlockOptions {
  groups?: number;
  baseWidth?: number;
  dilation?: number;
  normLayer?: NormLayer;
}

/** Two 3x3 convolutions with a shortcut (ResNet-18/34). */
export class BasicBlock extends nn.Module {
  static readonly expansion = 1;
  conv1: nn.Conv2d;
  bn1: nn.Module;
  relu: nn.ReLU;
  conv2: nn.Conv2d;
  bn2: nn.Module;
  downsample: nn.Module | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, stride = 1, downsample: nn.Module | null = null, options: BlockOptions = {}) {
    super();
    checkOptions(options, BLOCK_OPTIONS, `new ${new.target.name}()`);
    const normLayer = options.normLayer ?? nn.BatchNorm2d;
    if ((options.groups ?? 1) !== 1 || (options.baseWidth ?? 64) !== 64)
      throw new FlareError("BasicBlock only supports groups=1 and baseWidth=64", "E_ARGUMENT");
    if ((options.dilation ?? 1) > 1) throw new FlareError("Dilation > 1 not supported in BasicBlock", "E_NOT_IMPLEMENTED");
    this.conv1 = conv3x3(inplanes, planes, stride);
    this.bn1 = makeNorm(normLayer, planes);
    this.relu = new nn.ReLU();
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = makeNorm(normLayer, planes);
    this.downsample = downsample;
    this.stride = stride;
  }

  override forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)) as Tensor);
    out = this.bn2.forward(this.conv2.forward(out)) as Tensor;
    const identity = this.downsample ? this.downsample.forward(x) as Tensor : x;
    return this.relu.forward(out.add(identity));
  }
}

/**
 * 1x1 reduce, 3x3, 1x1 expand (x4), with a shortcut (ResNet-50; torchvision's
 * V1.5: stride, groups and dilation on the 3x3).
 */
export class Bottleneck extends nn.Module {
  static readonly expansion = 4;
  conv1: nn.Conv2d;
  bn1: nn.Module;
  conv2: nn.Conv2d;
  bn2: nn.Module;
  conv3: nn.Conv2d;
  bn3: nn.Module;
  relu: nn.ReLU;
  downsample: nn.Module | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, stride = 1, downsample: nn.Module | null = null, options: BlockOptions = {}) {
    super();
    checkOptions(options, BLOCK_OPTIONS, `new ${new.target.name}()`);
    const normLayer = options.normLayer ?? nn.BatchNorm2d;
    const groups = options.groups ?? 1;
    const width = Math.floor(planes * ((options.baseWidth ?? 64) / 64.0)) * groups;
    this.conv1 = conv1x1(inplanes, width);
    this.bn1 = makeNorm(normLayer, width);
    this.conv2 = conv3x3(width, width, stride, groups, options.dilation ?? 1);
    this.bn2 = makeNorm(normLayer, width);
    this.conv3 = conv1x1(width, planes * Bottleneck.expansion);
    this.bn3 = makeNorm(normLayer, planes * Bottleneck.expansion);
    this.relu = new nn.ReLU();
    this.downsample = downsample;
    this.stride = stride;
  }

  override forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)) as Tensor);
    out = this.relu.forward(this.bn2.forward(this.conv2.forward(out)) as Tensor);
    out = this.bn3.forward(this.conv3.forward(out)) as Tensor;
    const identity = this.downsample ? this.downsample.forward(x) as Tensor : x;
    return this.relu.forward(out.add(identity));
  }
}

export type Block = typeof BasicBlock | typeof Bottleneck;

export interface ResNetOptions {
  /** Outputs of the last layer, `fc` (1000, ImageNet's). */
  numClasses?: number;
  /** Zero the last norm layer's weight in each residual branch, so each block starts as the identity (false). */
  zeroInitResidual?: boolean;
  /** Channels of the input image (3); only `conv1.weight` changes. */
  inChannels?: number;
  /** Convolution groups of the bottlenecks' 3x3 (1; 32 for ResNeXt). */
  groups?: number;
  /** Channels per group of the bottlenecks (64; 4 for ResNeXt-32x4d, 128 for Wide ResNet-50-2). */
  widthPerGroup?: number;
  /**
   * For layer2, layer3 and layer4: replace the stride-2 with dilation, keeping
   * the resolution (torchvision's replace_stride_with_dilation; FCN and
   * DeepLab use [false, true, true], an output stride of 8).
   */
  replaceStrideWithDilation?: [boolean, boolean, boolean];
  /** The norm layer (nn.BatchNorm2d; nn.FrozenBatchNorm2d in the detection models). */
  normLayer?: NormLayer;
  /** Without avgpool and fc: forward returns layer4's feature map (N, 512 x expansion, H/32, W/32). */
  headless?: boolean;
}

const RESNET_OPTIONS = ["numClasses", "zeroInitResidual", "inChannels", "groups", "widthPerGroup", "replaceStrideWithDilation", "normLayer", "headless"];

function positiveInt(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
    throw new FlareError(`${what} must be a positive integer, got ${String(value)}`, "E_ARGUMENT");
  return value;
}

function flag(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw new FlareError(`${what} must be true or false, got ${String(value)}`, "E_ARGUMENT");
  return value;
}

/** torchvision.models.ResNet: new ResNet(BasicBlock, [2, 2, 2, 2], { numClasses }). */
export class ResNet extends nn.Module {
  conv1: nn.Conv2d;
  bn1: nn.Module;
  relu: nn.ReLU;
  maxpool: nn.MaxPool2d;
  layer1: nn.Sequential;
  layer2: nn.Sequential;
  layer3: nn.Sequential;
  layer4: nn.Sequential;
  /** null when headless. */
  avgpool: nn.AdaptiveAvgPool2d | null;
  /** null when headless. */
  fc: nn.Linear | null;
  /** Channels of layer4's output (512 x the block's expansion). */
  readonly outChannels: number;
  #inplanes = 64;
  #dilation = 1;
  readonly #groups: number;
  readonly #baseWidth: number;
  readonly #normLayer: NormLayer;

  constructor(block: Block, layers: [number, number, number, number], options: ResNetOptions = {}) {
    super();
    if (block !== BasicBlock && block !== Bottleneck) throw new FlareError("ResNet(): block must be BasicBlock or Bottleneck", "E_ARGUMENT");
    if (!Array.isArray(layers) || layers.length !== 4) throw new FlareError(`ResNet(): layers must be 4 block counts, got ${JSON.stringify(layers)}`, "E_ARGUMENT");
    layers.forEach((n, i) => positiveInt(n, `ResNet(): layers[${i}]`));
    checkOptions(options, RESNET_OPTIONS, "new ResNet()");
    const headless = flag(options.headless ?? false, "ResNet(): headless");
    const numClasses = headless ? 0 : positiveInt(options.numClasses ?? 1000, "ResNet(): numClasses");
    if (headless && options.numClasses !== undefined) throw new FlareError("ResNet(): numClasses and headless exclude each other (a headless ResNet has no fc)", "E_ARGUMENT");
    const inChannels = positiveInt(options.inChannels ?? 3, "ResNet(): inChannels");
    this.#groups = positiveInt(options.groups ?? 1, "ResNet(): groups");
    this.#baseWidth = positiveInt(options.widthPerGroup ?? 64, "ResNet(): widthPerGroup");
    const normLayer = options.normLayer ?? nn.BatchNorm2d;
    if (typeof normLayer !== "function") throw new FlareError(`ResNet(): normLayer must be a norm-layer class or a function making one, got ${String(normLayer)}`, "E_ARGUMENT");
    this.#normLayer = normLayer;
    const dilate = options.replaceStrideWithDilation ?? [false, false, false];
    if (!Array.isArray(dilate) || dilate.length !== 3)
      throw new FlareError(`ResNet(): replaceStrideWithDilation should be null or a 3-element array, got ${JSON.stringify(dilate)}`, "E_ARGUMENT");
    dilate.forEach((d, i) => flag(d, `ResNet(): replaceStrideWithDilation[${i}]`));

    this.conv1 = new nn.Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = makeNorm(normLayer, 64);
    this.relu = new nn.ReLU();
    this.maxpool = new nn.MaxPool2d(3, { stride: 2, padding: 1 });
    this.layer1 = this.#makeLayer(block, 64, layers[0]);
    this.layer2 = this.#makeLayer(block, 128, layers[1], 2, dilate[0]);
    this.layer3 = this.#makeLayer(block, 256, layers[2], 2, dilate[1]);
    this.layer4 = this.#makeLayer(block, 512, layers[3], 2, dilate[2]);
    this.outChannels = 512 * block.expansion;
    this.avgpool = headless ? null : new nn.AdaptiveAvgPool2d([1, 1]);
    this.fc = headless ? null : new nn.Linear(512 * block.expansion, numClasses);

    // torchvision inits BatchNorm2d and GroupNorm only; a frozen BN starts at 1 and 0 anyway.
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) {
        nn.init.kaimingNormal_(m.weight, { mode: "fan_out", nonlinearity: "relu" });
      } else if (m instanceof nn.BatchNorm2d || m instanceof nn.GroupNorm) {
        if (m.weight) nn.init.constant_(m.weight, 1);
        if (m.bias) nn.init.constant_(m.bias, 0);
      }
    }
    if (flag(options.zeroInitResidual ?? false, "ResNet(): zeroInitResidual")) {
      for (const m of this.modules()) {
        const norm = m instanceof Bottleneck ? m.bn3 : m instanceof BasicBlock ? m.bn2 : null;
        const weight = norm ? (norm as unknown as { weight?: Tensor | null }).weight : null;
        if (weight) nn.init.constant_(weight, 0);
      }
    }
  }

  #makeLayer(block: Block, planes: number, blocks: number, stride = 1, dilate = false): nn.Sequential {
    const norm = this.#normLayer;
    let downsample: nn.Sequential | null = null;
    const previousDilation = this.#dilation;
    if (dilate) {
      this.#dilation *= stride;
      stride = 1;
    }
    if (stride !== 1 || this.#inplanes !== planes * block.expansion) {
      downsample = new nn.Sequential(conv1x1(this.#inplanes, planes * block.expansion, stride), makeNorm(norm, planes * block.expansion));
    }
    const common = { groups: this.#groups, baseWidth: this.#baseWidth, normLayer: norm };
    const out: nn.Module[] = [new block(this.#inplanes, planes, stride, downsample, { ...common, dilation: previousDilation })];
    this.#inplanes = planes * block.expansion;
    for (let i = 1; i < blocks; i++) out.push(new block(this.#inplanes, planes, 1, null, { ...common, dilation: this.#dilation }));
    return new nn.Sequential(...out);
  }

  override forward(x: Tensor): Tensor {
    x = this.maxpool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x)) as Tensor));
    x = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(x))));
    if (!this.avgpool || !this.fc) return x;
    return this.fc.forward(this.avgpool.forward(x).flatten(1));
  }
}

/** ResNet-18 (BasicBlock, [2, 2, 2, 2]): 11.7M parameters with 1000 classes. */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [2, 2, 2, 2], builderOptions(options, RESNET_OPTIONS, "resnet18"));
}

/** ResNet-34 (BasicBlock, [3, 4, 6, 3]): 21.8M parameters. */
export function resnet34(options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [3, 4, 6, 3], builderOptions(options, RESNET_OPTIONS, "resnet34"));
}

/** ResNet-50 (Bottleneck, [3, 4, 6, 3]): 25.6M parameters. */
export function resnet50(options: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], builderOptions(options, RESNET_OPTIONS, "resnet50"));
}
