// TinySSD exactly as d2l 14.7 builds it: a base network (3→16→32→64, three
// down-sampling blocks), three more down-sampling blocks at 128 channels and a
// global max pool, i.e. five scales; at each, anchors from multiboxPrior and a
// 3x3 conv class predictor and box predictor on the block's output. Module names
// are the book's (blk_i, cls_i, bbox_i), so a PyTorch TinySSD state dict loads.
import { FlareError } from "../../../errors.js";
import { checkOptions } from "../../../options.js";
import * as nn from "../../../nn/index.js";
import * as torch from "../../../tensor/index.js";
import type { Tensor } from "../../../tensor/index.js";
import { multiboxPrior } from "../../ops/anchors.js";

/** The book's anchor sizes per scale: [0.2, 1.05] split evenly, and √(s_i·s_{i+1}). */
export const TINY_SSD_SIZES: readonly (readonly number[])[] = [[0.2, 0.272], [0.37, 0.447], [0.54, 0.619], [0.71, 0.79], [0.88, 0.961]];
/** The book's anchor ratios, the same at every scale. */
export const TINY_SSD_RATIOS: readonly (readonly number[])[] = Array(5).fill([1, 2, 0.5]);
const NUM_ANCHORS = TINY_SSD_SIZES[0].length + TINY_SSD_RATIOS[0].length - 1;
const IN_CHANNELS = [64, 128, 128, 128, 128];

/** d2l's cls_predictor: a 3x3 conv giving numAnchors·(numClasses + 1) scores per position. */
export function clsPredictor(numInputs: number, numAnchors: number, numClasses: number): nn.Conv2d {
  return new nn.Conv2d(numInputs, numAnchors * (numClasses + 1), 3, { padding: 1 });
}

/** d2l's bbox_predictor: a 3x3 conv giving 4 offsets per anchor per position. */
export function bboxPredictor(numInputs: number, numAnchors: number): nn.Conv2d {
  return new nn.Conv2d(numInputs, numAnchors * 4, 3, { padding: 1 });
}

/** d2l's flatten_pred: [B, C, H, W] → [B, H·W·C] (channels last, so each position's predictions stay together). */
export function flattenPred(pred: Tensor): Tensor {
  return torch.tidy(() => pred.permute(0, 2, 3, 1).flatten(1));
}

/** d2l's concat_preds: the flattened predictions of every scale, along dim 1. */
export function concatPreds(preds: Tensor[]): Tensor {
  return torch.tidy(() => torch.cat(preds.map(flattenPred), 1));
}

/** d2l's down_sample_blk: [conv3x3-BN-ReLU] × 2, then a 2x2 max pool (halves H and W). */
export function downSampleBlk(inChannels: number, outChannels: number): nn.Sequential {
  const blk: nn.Module[] = [];
  for (let i = 0; i < 2; i++) {
    blk.push(new nn.Conv2d(inChannels, outChannels, 3, { padding: 1 }), new nn.BatchNorm2d(outChannels), new nn.ReLU());
    inChannels = outChannels;
  }
  blk.push(new nn.MaxPool2d(2));
  return new nn.Sequential(...blk);
}

/** d2l's base_net: down-sampling blocks 3→16→32→64 (a 256² image becomes 32²). */
export function baseNet(): nn.Sequential {
  const numFilters = [3, 16, 32, 64];
  const blk: nn.Module[] = [];
  for (let i = 0; i < numFilters.length - 1; i++) blk.push(downSampleBlk(numFilters[i], numFilters[i + 1]));
  return new nn.Sequential(...blk);
}

/** d2l's get_blk(i): the base network, 64→128, 128→128 twice, then a global max pool. */
export function getBlk(i: number): nn.Module {
  if (i === 0) return baseNet();
  if (i === 1) return downSampleBlk(64, 128);
  if (i === 4) return new nn.AdaptiveMaxPool2d([1, 1]);
  return downSampleBlk(128, 128);
}

export interface TinySSDOptions {
  /** Object classes, without the background (1 for the bananas). */
  numClasses: number;
}

export class TinySSD extends nn.Module {
  readonly numClasses: number;
  declare blk_0: nn.Module; declare cls_0: nn.Conv2d; declare bbox_0: nn.Conv2d;
  declare blk_1: nn.Module; declare cls_1: nn.Conv2d; declare bbox_1: nn.Conv2d;
  declare blk_2: nn.Module; declare cls_2: nn.Conv2d; declare bbox_2: nn.Conv2d;
  declare blk_3: nn.Module; declare cls_3: nn.Conv2d; declare bbox_3: nn.Conv2d;
  declare blk_4: nn.Module; declare cls_4: nn.Conv2d; declare bbox_4: nn.Conv2d;

  constructor(numClasses: number) {
    super();
    if (!Number.isInteger(numClasses) || numClasses < 1)
      throw new FlareError(`TinySSD(): numClasses must be a positive integer (object classes, without the background), got ${String(numClasses)}`, "E_ARGUMENT");
    this.numClasses = numClasses;
    // Registered in the book's order (blk_0, cls_0, bbox_0, blk_1, ...), so the state dict lists keys as PyTorch's does.
    for (let i = 0; i < 5; i++) {
      this.addModule(`blk_${i}`, getBlk(i));
      this.addModule(`cls_${i}`, clsPredictor(IN_CHANNELS[i], NUM_ANCHORS, numClasses));
      this.addModule(`bbox_${i}`, bboxPredictor(IN_CHANNELS[i], NUM_ANCHORS));
    }
  }

  /**
   * x [B, 3, H, W] → [anchors [1, N, 4], clsPreds [B, N, numClasses + 1],
   * bboxPreds [B, 4N]], N anchors over the five scales (5444 for 256×256 input):
   * scale-major, then pixel row-major, then anchor, in anchors and predictions alike.
   */
  override forward(x: Tensor): [Tensor, Tensor, Tensor] {
    if (!(x instanceof torch.Tensor) || x.dim() !== 4 || x.shape[1] !== 3)
      throw new FlareError(`TinySSD.forward(): x must be a [batch, 3, height, width] image tensor, got ${x instanceof torch.Tensor ? `[${x.shape.join(", ")}]` : typeof x}`, "E_SHAPE");
    const self = this as unknown as Record<string, nn.Module>;
    const anchors: Tensor[] = [], clsPreds: Tensor[] = [], bboxPreds: Tensor[] = [];
    for (let i = 0; i < 5; i++) {
      // d2l's blk_forward: the block, then anchors and both predictors on its output.
      x = self[`blk_${i}`].forward(x) as Tensor;
      anchors.push(multiboxPrior(x, TINY_SSD_SIZES[i] as number[], TINY_SSD_RATIOS[i] as number[]));
      clsPreds.push(self[`cls_${i}`].forward(x) as Tensor);
      bboxPreds.push(self[`bbox_${i}`].forward(x) as Tensor);
    }
    const cls = concatPreds(clsPreds);
    return [torch.cat(anchors, 1), cls.reshape(cls.shape[0], -1, this.numClasses + 1), concatPreds(bboxPreds)];
  }

  override extraRepr(): string { return `numClasses=${this.numClasses}`; }
}

/** Builds the book's TinySSD: tinySsd({ numClasses: 1 }) for the bananas. */
export function tinySsd(options: TinySSDOptions): TinySSD {
  return new TinySSD(checkOptions(options, ["numClasses"], "tinySsd()").numClasses);
}
