// torchvision's ResNet-18/34/50 (torchvision/models/resnet.py, v0.14). Module
// names, order and initialisation are torchvision's, so its state dicts
// (`layer1.0.downsample.0.weight`, ...) converted to safetensors load as they
// are, and after the same manualSeed the initial weights are the same.
// Fields are declared in PyTorch's registration order: with ES2022 class
// fields, declaration order is the state dict's order.
import { FlareError } from "../../errors.js";
import * as nn from "../../nn/index.js";
import type { Tensor } from "../../tensor/index.js";

function conv3x3(inPlanes: number, outPlanes: number, stride = 1): nn.Conv2d {
  return new nn.Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false });
}

function conv1x1(inPlanes: number, outPlanes: number, stride = 1): nn.Conv2d {
  return new nn.Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });
}

/** Two 3x3 convolutions with a shortcut (ResNet-18/34). */
export class BasicBlock extends nn.Module {
  static readonly expansion = 1;
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  relu: nn.ReLU;
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  downsample: nn.Module | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, stride = 1, downsample: nn.Module | null = null) {
    super();
    this.conv1 = conv3x3(inplanes, planes, stride);
    this.bn1 = new nn.BatchNorm2d(planes);
    this.relu = new nn.ReLU();
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = new nn.BatchNorm2d(planes);
    this.downsample = downsample;
    this.stride = stride;
  }

  override forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
    out = this.bn2.forward(this.conv2.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) as Tensor : x;
    return this.relu.forward(out.add(identity));
  }
}

/** 1x1 reduce, 3x3, 1x1 expand (x4), with a shortcut (ResNet-50; torchvision's V1.5: stride on the 3x3). */
export class Bottleneck extends nn.Module {
  static readonly expansion = 4;
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  conv3: nn.Conv2d;
  bn3: nn.BatchNorm2d;
  relu: nn.ReLU;
  downsample: nn.Module | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, stride = 1, downsample: nn.Module | null = null) {
    super();
    const width = planes;  // groups 1, base width 64
    this.conv1 = conv1x1(inplanes, width);
    this.bn1 = new nn.BatchNorm2d(width);
    this.conv2 = conv3x3(width, width, stride);
    this.bn2 = new nn.BatchNorm2d(width);
    this.conv3 = conv1x1(width, planes * Bottleneck.expansion);
    this.bn3 = new nn.BatchNorm2d(planes * Bottleneck.expansion);
    this.relu = new nn.ReLU();
    this.downsample = downsample;
    this.stride = stride;
  }

  override forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
    out = this.relu.forward(this.bn2.forward(this.conv2.forward(out)));
    out = this.bn3.forward(this.conv3.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) as Tensor : x;
    return this.relu.forward(out.add(identity));
  }
}

export type Block = typeof BasicBlock | typeof Bottleneck;

export interface ResNetOptions {
  /** Outputs of the last layer, `fc` (1000, ImageNet's). */
  numClasses?: number;
  /** Zero the last BN's weight in each residual branch, so each block starts as the identity (false). */
  zeroInitResidual?: boolean;
  /** Channels of the input image (3); only `conv1.weight` changes. */
  inChannels?: number;
}

function positiveInt(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
    throw new FlareError(`${what} must be a positive integer, got ${String(value)}`, "E_ARGUMENT");
  return value;
}

/** torchvision.models.ResNet: new ResNet(BasicBlock, [2, 2, 2, 2], { numClasses }). */
export class ResNet extends nn.Module {
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  relu: nn.ReLU;
  maxpool: nn.MaxPool2d;
  layer1: nn.Sequential;
  layer2: nn.Sequential;
  layer3: nn.Sequential;
  layer4: nn.Sequential;
  avgpool: nn.AdaptiveAvgPool2d;
  fc: nn.Linear;
  #inplanes = 64;

  constructor(block: Block, layers: [number, number, number, number], options: ResNetOptions = {}) {
    super();
    if (block !== BasicBlock && block !== Bottleneck) throw new FlareError("ResNet(): block must be BasicBlock or Bottleneck", "E_ARGUMENT");
    if (!Array.isArray(layers) || layers.length !== 4) throw new FlareError(`ResNet(): layers must be 4 block counts, got ${JSON.stringify(layers)}`, "E_ARGUMENT");
    layers.forEach((n, i) => positiveInt(n, `ResNet(): layers[${i}]`));
    const numClasses = positiveInt(options.numClasses ?? 1000, "ResNet(): numClasses");
    const inChannels = positiveInt(options.inChannels ?? 3, "ResNet(): inChannels");
    this.conv1 = new nn.Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new nn.BatchNorm2d(64);
    this.relu = new nn.ReLU();
    this.maxpool = new nn.MaxPool2d(3, { stride: 2, padding: 1 });
    this.layer1 = this.#makeLayer(block, 64, layers[0]);
    this.layer2 = this.#makeLayer(block, 128, layers[1], 2);
    this.layer3 = this.#makeLayer(block, 256, layers[2], 2);
    this.layer4 = this.#makeLayer(block, 512, layers[3], 2);
    this.avgpool = new nn.AdaptiveAvgPool2d([1, 1]);
    this.fc = new nn.Linear(512 * block.expansion, numClasses);

    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) {
        nn.init.kaimingNormal_(m.weight, { mode: "fan_out", nonlinearity: "relu" });
      } else if (m instanceof nn.BatchNorm2d) {
        nn.init.constant_(m.weight!, 1);
        nn.init.constant_(m.bias!, 0);
      }
    }
    if (options.zeroInitResidual) {
      for (const m of this.modules()) {
        if (m instanceof Bottleneck) nn.init.constant_(m.bn3.weight!, 0);
        else if (m instanceof BasicBlock) nn.init.constant_(m.bn2.weight!, 0);
      }
    }
  }

  #makeLayer(block: Block, planes: number, blocks: number, stride = 1): nn.Sequential {
    let downsample: nn.Sequential | null = null;
    if (stride !== 1 || this.#inplanes !== planes * block.expansion) {
      downsample = new nn.Sequential(conv1x1(this.#inplanes, planes * block.expansion, stride), new nn.BatchNorm2d(planes * block.expansion));
    }
    const out: nn.Module[] = [new block(this.#inplanes, planes, stride, downsample)];
    this.#inplanes = planes * block.expansion;
    for (let i = 1; i < blocks; i++) out.push(new block(this.#inplanes, planes));
    return new nn.Sequential(...out);
  }

  override forward(x: Tensor): Tensor {
    x = this.maxpool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    x = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(x))));
    return this.fc.forward(this.avgpool.forward(x).flatten(1));
  }
}

/** ResNet-18 (BasicBlock, [2, 2, 2, 2]): 11.7M parameters with 1000 classes. */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [2, 2, 2, 2], options);
}

/** ResNet-34 (BasicBlock, [3, 4, 6, 3]): 21.8M parameters. */
export function resnet34(options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [3, 4, 6, 3], options);
}

/** ResNet-50 (Bottleneck, [3, 4, 6, 3]): 25.6M parameters. */
export function resnet50(options: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], options);
}
