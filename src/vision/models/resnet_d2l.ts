// d2l's small ResNet-18 (8.6 / 13.6): a 3x3 stem without max-pool, for 28x28
// and 32x32 inputs. Module names match d2l's PyTorch code, so its state dicts
// load as they are. `width` scales every channel count (64 in the book).
import { FlareError } from "../../errors.js";
import * as nn from "../../nn/index.js";
import type { Tensor } from "../../tensor/index.js";
import { checkOptions } from "../../options.js";

export class Residual extends nn.Module {
  conv1: nn.Conv2d;
  conv2: nn.Conv2d;
  conv3: nn.Conv2d | null;
  bn1: nn.BatchNorm2d;
  bn2: nn.BatchNorm2d;

  constructor(inChannels: number, numChannels: number, options: { use1x1conv?: boolean; strides?: number } = {}) {
    super();
    checkOptions(options, ["use1x1conv", "strides"], "new Residual()");
    const strides = options.strides ?? 1;
    this.conv1 = new nn.Conv2d(inChannels, numChannels, 3, { padding: 1, stride: strides });
    this.conv2 = new nn.Conv2d(numChannels, numChannels, 3, { padding: 1 });
    this.conv3 = options.use1x1conv ? new nn.Conv2d(inChannels, numChannels, 1, { stride: strides }) : null;
    this.bn1 = new nn.BatchNorm2d(numChannels);
    this.bn2 = new nn.BatchNorm2d(numChannels);
  }

  override forward(x: Tensor): Tensor {
    const y = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu()));
    const shortcut = this.conv3 ? this.conv3.forward(x) : x;
    return y.add(shortcut).relu();
  }
}

function resnetBlock(inChannels: number, outChannels: number, numResiduals: number, firstBlock = false): nn.Sequential {
  const blocks: nn.Module[] = [];
  for (let i = 0; i < numResiduals; i++) {
    blocks.push(i === 0 && !firstBlock
      ? new Residual(inChannels, outChannels, { use1x1conv: true, strides: 2 })
      : new Residual(outChannels, outChannels));
  }
  return new nn.Sequential(...blocks);
}

/**
 * d2l.resnet18(num_classes, in_channels); `width` 64 is the book's network.
 * headless keeps modules 0-6 (the stem and the four stages, under the same
 * names, so the keys are a subset of the full model's): forward returns the
 * last stage's feature map (N, 8 x width, H/8, W/8).
 */
export function resnet18Small(numClasses = 10, options: { inChannels?: number; width?: number; headless?: boolean } = {}): nn.Sequential {
  checkOptions(options, ["inChannels", "width", "headless"], "models.resnet18Small()");
  const headless = options.headless ?? false;
  if (typeof headless !== "boolean") throw new FlareError(`resnet18Small(): headless must be true or false, got ${String(headless)}`, "E_ARGUMENT");
  const w = options.width ?? 64;
  const body = [
    new nn.Conv2d(options.inChannels ?? 1, w, 3, { stride: 1, padding: 1 }), new nn.BatchNorm2d(w), new nn.ReLU(),
    resnetBlock(w, w, 2, true), resnetBlock(w, 2 * w, 2), resnetBlock(2 * w, 4 * w, 2), resnetBlock(4 * w, 8 * w, 2)];
  if (headless) return new nn.Sequential(...body);
  return new nn.Sequential(...body, new nn.AdaptiveAvgPool2d([1, 1]), new nn.Flatten(), new nn.Linear(8 * w, numClasses));
}
