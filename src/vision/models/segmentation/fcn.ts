// The book's fully convolutional network (d2l 14.11) and an FCN-8s-style variant
// with skips from earlier stages (Long, Shelhamer & Darrell), both on a
// ResNet-18 body, with their upsampling initialised to bilinear interpolation.
import { FlareError } from "../../../errors.js";
import { checkOptions } from "../../../options.js";
import * as nn from "../../../nn/index.js";
import { bilinearKernel } from "../../../nn/bilinear.js";
import { noGrad, tidy, type Tensor } from "../../../tensor/index.js";
import { resnet18, type ResNet } from "../resnet.js";

export interface FcnOptions {
  /** Classes predicted per pixel (21, VOC's, as the book). */
  numClasses?: number;
  /** A body to use instead of a freshly initialised ResNet-18: a headless resnet18 (with pretrained weights, say). */
  backbone?: ResNet;
}

const FCN_OPTIONS = ["numClasses", "backbone"];

function checkFcnOptions(options: FcnOptions, what: string): { numClasses: number; body: ResNet } {
  options = checkOptions(options, FCN_OPTIONS, what);
  const numClasses = options.numClasses ?? 21;
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new FlareError(`${what}: numClasses must be a positive integer, got ${JSON.stringify(options.numClasses)}`, "E_ARGUMENT");
  const body = options.backbone ?? resnet18({ headless: true });
  if (!(body instanceof nn.Module) || body.avgpool !== null || body.outChannels !== 512)
    throw new FlareError(`${what}: backbone must be a headless ResNet-18 (resnet18({ headless: true })), with 512 output channels`, "E_ARGUMENT");
  return { numClasses, body };
}

/** A transposed convolution that upsamples `channels` maps by `factor` (kernel 2f, padding f/2, stride f), bilinear at the start. */
export function bilinearUpsampler(channels: number, factor: number, options: { bias?: boolean } = {}): nn.ConvTranspose2d {
  const up = new nn.ConvTranspose2d(channels, channels, 2 * factor, { padding: factor / 2, stride: factor, bias: options.bias ?? true });
  noGrad(() => tidy(() => { up.weight.copy_(bilinearKernel(channels, channels, 2 * factor)); }));
  return up;
}

/**
 * The book's FCN: ResNet-18 without its global pool and fc (children 0..7:
 * conv1, bn1, relu, maxpool, layer1..layer4), final_conv (1×1, 512 → classes)
 * and transpose_conv (kernel 64, padding 16, stride 32, weight bilinear_kernel,
 * default bias) — an nn.Sequential with the book's state-dict keys ("0.weight",
 * "4.0.conv1.weight", "final_conv.weight", "transpose_conv.weight"). Inputs
 * whose sides are multiples of 32 come out at their own size.
 */
export function fcnResnet18(options: FcnOptions = {}): nn.Sequential {
  const { numClasses, body } = checkFcnOptions(options, "fcnResnet18()");
  const net = new nn.Sequential(...body.children());
  net.addModule("final_conv", new nn.Conv2d(512, numClasses, 1));
  net.addModule("transpose_conv", bilinearUpsampler(numClasses, 32));
  return net;
}

/**
 * FCN-8s on ResNet-18: 1×1 class scores from layer2 (1/8), layer3 (1/16) and
 * layer4 (1/32); layer4's are upsampled ×2 (bilinear transposed convolution)
 * and added to layer3's, upsampled ×2 again and added to layer2's, then
 * upsampled ×8 to the input's size. The skips recover detail the 1/32 map lost.
 * Inputs whose sides are multiples of 32 come out at their own size.
 */
export class FCN8s extends nn.Module {
  backbone: ResNet;
  score8: nn.Conv2d;
  score16: nn.Conv2d;
  score32: nn.Conv2d;
  up32: nn.ConvTranspose2d;
  up16: nn.ConvTranspose2d;
  up8: nn.ConvTranspose2d;

  constructor(options: FcnOptions = {}) {
    super();
    const { numClasses, body } = checkFcnOptions(options, "FCN8s()");
    this.backbone = body;
    this.score8 = new nn.Conv2d(128, numClasses, 1);
    this.score16 = new nn.Conv2d(256, numClasses, 1);
    this.score32 = new nn.Conv2d(512, numClasses, 1);
    // Skip scores start at zero so the untrained net starts as the plain FCN (as FCN-8s' authors did).
    noGrad(() => { for (const c of [this.score8, this.score16]) { c.weight.fill_(0); c.bias!.fill_(0); } });
    this.up32 = bilinearUpsampler(numClasses, 2, { bias: false });
    this.up16 = bilinearUpsampler(numClasses, 2, { bias: false });
    this.up8 = bilinearUpsampler(numClasses, 8);
  }

  override forward(x: Tensor): Tensor {
    const b = this.backbone;
    x = b.maxpool.forward(b.relu.forward(b.bn1.forward(b.conv1.forward(x)) as Tensor));
    const c2 = b.layer2.forward(b.layer1.forward(x)) as Tensor;
    const c3 = b.layer3.forward(c2) as Tensor;
    const c4 = b.layer4.forward(c3) as Tensor;
    let y = this.up32.forward(this.score32.forward(c4)).add(this.score16.forward(c3));
    y = this.up16.forward(y).add(this.score8.forward(c2));
    return this.up8.forward(y);
  }
}

export function fcn8sResnet18(options: FcnOptions = {}): FCN8s {
  return new FCN8s(options);
}
