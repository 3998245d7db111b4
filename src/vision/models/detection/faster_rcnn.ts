// torchvision's Faster R-CNN (models/detection/faster_rcnn.py and
// generalized_rcnn.py): transform → backbone (ResNet + FPN) → RPN → RoI heads
// → boxes back in the input images' pixels. forward(images, targets) returns
// the four losses in training mode (torchvision's keys) and a list of
// { boxes, scores, labels } per image in eval mode. Modules are built in
// torchvision's order with its init, so under the same manualSeed the initial
// weights are torchvision's, and its state-dict keys load unchanged.
import { FlareError } from "../../../errors.js";
import { Tensor } from "../../../tensor/index.js";
import * as nn from "../../../nn/index.js";
import { relu } from "../../../nn/functional.js";
import { checkOptions } from "../../../options.js";
import { resnet18, resnet50, type NormLayer, type ResNet } from "../resnet.js";
import { DATASET_STATS } from "../presets.js";
import { MultiScaleRoIAlign } from "../../ops/poolers.js";
import { AnchorGenerator } from "./anchor_generator.js";
import { resnetFpnExtractor } from "./backbone_utils.js";
import { GeneralizedRCNNTransform } from "./transform.js";
import { RPNHead, RegionProposalNetwork } from "./rpn.js";
import { RoIHeads } from "./roi_heads.js";
import type { Detection, DetectionTarget } from "./image_list.js";

/** torchvision's TwoMLPHead: flatten, fc6 + ReLU, fc7 + ReLU. */
export class TwoMLPHead extends nn.Module {
  fc6: nn.Linear;
  fc7: nn.Linear;
  constructor(inChannels: number, representationSize: number) {
    super();
    this.fc6 = new nn.Linear(inChannels, representationSize);
    this.fc7 = new nn.Linear(representationSize, representationSize);
  }
  override forward(x: Tensor): Tensor {
    return relu(this.fc7.forward(relu(this.fc6.forward(x.flatten(1)))));
  }
}

/** torchvision's FastRCNNPredictor: class logits [N, numClasses] and box codes [N, 4 numClasses]. */
export class FastRCNNPredictor extends nn.Module {
  cls_score: nn.Linear;
  bbox_pred: nn.Linear;
  constructor(inChannels: number, numClasses: number) {
    super();
    this.cls_score = new nn.Linear(inChannels, numClasses);
    this.bbox_pred = new nn.Linear(inChannels, numClasses * 4);
  }
  get clsScore(): nn.Linear { return this.cls_score; }
  get bboxPred(): nn.Linear { return this.bbox_pred; }
  override forward(x: Tensor): [Tensor, Tensor] {
    if (x.ndim === 4 && (x.shape[2] !== 1 || x.shape[3] !== 1))
      throw new FlareError(`FastRCNNPredictor: x has the wrong shape, expecting the last two dimensions to be [1,1] instead of [${x.shape.slice(2).join(", ")}]`, "E_SHAPE");
    const flat = x.flatten(1);
    return [this.cls_score.forward(flat), this.bbox_pred.forward(flat)];
  }
}

/** torchvision's FasterRCNN keyword arguments, camelCased. */
export interface FasterRCNNOptions {
  minSize?: number | number[];
  maxSize?: number;
  imageMean?: number[];
  imageStd?: number[];
  sizeDivisible?: number;
  fixedSize?: [number, number] | null;
  rpnAnchorGenerator?: AnchorGenerator;
  rpnHead?: nn.Module;
  rpnPreNmsTopNTrain?: number;
  rpnPreNmsTopNTest?: number;
  rpnPostNmsTopNTrain?: number;
  rpnPostNmsTopNTest?: number;
  rpnNmsThresh?: number;
  rpnFgIouThresh?: number;
  rpnBgIouThresh?: number;
  rpnBatchSizePerImage?: number;
  rpnPositiveFraction?: number;
  rpnScoreThresh?: number;
  boxRoiPool?: MultiScaleRoIAlign;
  boxHead?: nn.Module;
  boxPredictor?: nn.Module;
  boxScoreThresh?: number;
  boxNmsThresh?: number;
  boxDetectionsPerImg?: number;
  boxFgIouThresh?: number;
  boxBgIouThresh?: number;
  boxBatchSizePerImage?: number;
  boxPositiveFraction?: number;
  bboxRegWeights?: [number, number, number, number] | null;
}

export const FASTER_RCNN_OPTIONS = [
  "minSize", "maxSize", "imageMean", "imageStd", "sizeDivisible", "fixedSize",
  "rpnAnchorGenerator", "rpnHead", "rpnPreNmsTopNTrain", "rpnPreNmsTopNTest", "rpnPostNmsTopNTrain", "rpnPostNmsTopNTest",
  "rpnNmsThresh", "rpnFgIouThresh", "rpnBgIouThresh", "rpnBatchSizePerImage", "rpnPositiveFraction", "rpnScoreThresh",
  "boxRoiPool", "boxHead", "boxPredictor", "boxScoreThresh", "boxNmsThresh", "boxDetectionsPerImg",
  "boxFgIouThresh", "boxBgIouThresh", "boxBatchSizePerImage", "boxPositiveFraction", "bboxRegWeights",
] as const;

/** The five anchor sizes (32..512) × three ratios of Faster R-CNN's FPN levels. */
export function defaultAnchorGenerator(): AnchorGenerator {
  return new AnchorGenerator([[32], [64], [128], [256], [512]], [0.5, 1.0, 2.0]);
}

function checkTargets(targets: unknown, numImages: number, numClasses: number | null): DetectionTarget[] {
  const what = "FasterRCNN.forward()";
  if (targets == null) throw new FlareError(`${what}: targets should not be none when in training mode`, "E_ARGUMENT");
  if (!Array.isArray(targets) || targets.length !== numImages)
    throw new FlareError(`${what}: targets must be an array of one { boxes, labels } per image (${numImages} images), got ${Array.isArray(targets) ? `${targets.length} targets` : typeof targets}`, "E_ARGUMENT");
  return targets.map((t: unknown, i) => {
    if (t === null || typeof t !== "object") throw new FlareError(`${what}: targets[${i}] must be { boxes, labels }, got ${String(t)}`, "E_TYPE");
    const { boxes, labels } = t as Record<string, unknown>;
    if (!(boxes instanceof Tensor)) throw new FlareError(`${what}: expected targets[${i}].boxes to be of type Tensor, got ${typeof boxes}`, "E_TYPE");
    if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new FlareError(`${what}: expected target boxes to be a tensor of shape [N, 4], got [${boxes.shape.join(", ")}] for targets[${i}]`, "E_SHAPE");
    if (!(labels instanceof Tensor)) throw new FlareError(`${what}: expected targets[${i}].labels to be of type Tensor, got ${typeof labels}`, "E_TYPE");
    if (labels.ndim !== 1 || labels.shape[0] !== boxes.shape[0])
      throw new FlareError(`${what}: targets[${i}].labels must have shape [${boxes.shape[0]}] (one per box), got [${labels.shape.join(", ")}]`, "E_SHAPE");
    if (labels.dtype !== "int64") throw new FlareError(`${what}: target labels must be of int64 type, instead got ${labels.dtype} (targets[${i}].labels)`, "E_DTYPE");
    if (numClasses !== null && labels.numel() > 0) {
      const [lo, hi] = [labels.min().item() as number, labels.max().item() as number];
      if (lo < 0 || hi >= numClasses)
        throw new FlareError(`${what}: targets[${i}].labels must be in [0, ${numClasses - 1}] (numClasses ${numClasses}, 0 is the background), got ${lo < 0 ? lo : hi}`, "E_ARGUMENT");
    }
    return t as DetectionTarget;
  });
}

/**
 * torchvision's FasterRCNN(backbone, numClasses, options): backbone is a
 * module returning named feature maps (or one map) with an outChannels field.
 */
export class FasterRCNN extends nn.Module {
  transform: GeneralizedRCNNTransform;
  backbone: nn.Module;
  rpn: RegionProposalNetwork;
  roi_heads: RoIHeads;
  /** The classes of the box predictor (background included), when known. */
  readonly numClasses: number | null;

  constructor(backbone: nn.Module & { outChannels?: number }, numClasses: number | null, options: FasterRCNNOptions = {}) {
    super();
    const what = "new FasterRCNN()";
    const o = checkOptions(options, FASTER_RCNN_OPTIONS, what);
    if (!(backbone instanceof nn.Module)) throw new FlareError(`${what}: backbone must be a Module`, "E_TYPE");
    const outChannels = backbone.outChannels;
    if (!Number.isInteger(outChannels)) throw new FlareError(`${what}: backbone should contain an attribute outChannels specifying the number of output channels (assumed to be the same for all the levels)`, "E_ARGUMENT");
    if (o.rpnAnchorGenerator !== undefined && !(o.rpnAnchorGenerator instanceof AnchorGenerator)) throw new FlareError(`${what}: rpnAnchorGenerator should be of type AnchorGenerator`, "E_TYPE");
    if (o.boxRoiPool !== undefined && !(o.boxRoiPool instanceof MultiScaleRoIAlign)) throw new FlareError(`${what}: boxRoiPool should be of type MultiScaleRoIAlign`, "E_TYPE");
    if (numClasses !== null && numClasses !== undefined) {
      if (o.boxPredictor !== undefined) throw new FlareError(`${what}: numClasses should be null when boxPredictor is specified`, "E_ARGUMENT");
      if (!Number.isInteger(numClasses) || numClasses < 2) throw new FlareError(`${what}: numClasses must be an integer >= 2 (the background is class 0), got ${JSON.stringify(numClasses)}`, "E_ARGUMENT");
    } else if (o.boxPredictor === undefined) throw new FlareError(`${what}: numClasses should not be null when boxPredictor is not specified`, "E_ARGUMENT");
    // A FastRCNNPredictor given in place of numClasses still tells the classes (labels are checked against them).
    this.numClasses = numClasses ?? (o.boxPredictor instanceof FastRCNNPredictor ? o.boxPredictor.cls_score.outFeatures : null);
    const oc = outChannels as number;
    // torchvision's construction order (the RNG draws of the init follow it).
    const anchorGenerator = o.rpnAnchorGenerator ?? defaultAnchorGenerator();
    const rpnHead = o.rpnHead ?? new RPNHead(oc, anchorGenerator.numAnchorsPerLocation()[0]);
    const rpn = new RegionProposalNetwork(anchorGenerator, rpnHead, o.rpnFgIouThresh ?? 0.7, o.rpnBgIouThresh ?? 0.3,
      o.rpnBatchSizePerImage ?? 256, o.rpnPositiveFraction ?? 0.5,
      { training: o.rpnPreNmsTopNTrain ?? 2000, testing: o.rpnPreNmsTopNTest ?? 1000 },
      { training: o.rpnPostNmsTopNTrain ?? 2000, testing: o.rpnPostNmsTopNTest ?? 1000 },
      o.rpnNmsThresh ?? 0.7, { scoreThresh: o.rpnScoreThresh ?? 0 });
    const boxRoiPool = o.boxRoiPool ?? new MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2);
    const resolution = boxRoiPool.outputSize[0];
    const boxHead = o.boxHead ?? new TwoMLPHead(oc * resolution ** 2, 1024);
    const boxPredictor = o.boxPredictor ?? new FastRCNNPredictor(1024, numClasses as number);
    const roiHeads = new RoIHeads(boxRoiPool, boxHead, boxPredictor, o.boxFgIouThresh ?? 0.5, o.boxBgIouThresh ?? 0.5,
      o.boxBatchSizePerImage ?? 512, o.boxPositiveFraction ?? 0.25, o.bboxRegWeights ?? null,
      o.boxScoreThresh ?? 0.05, o.boxNmsThresh ?? 0.5, o.boxDetectionsPerImg ?? 100);
    this.transform = new GeneralizedRCNNTransform(o.minSize ?? 800, o.maxSize ?? 1333, o.imageMean ?? DATASET_STATS.imagenet.mean, o.imageStd ?? DATASET_STATS.imagenet.std,
      { sizeDivisible: o.sizeDivisible ?? 32, fixedSize: o.fixedSize ?? null });
    this.backbone = backbone;
    this.rpn = rpn;
    this.roi_heads = roiHeads;
  }

  get roiHeads(): RoIHeads { return this.roi_heads; }

  /**
   * images: [C, H, W] float tensors in [0, 1], of any sizes. Training mode:
   * targets (boxes [N, 4] in each image's pixels, int64 labels [N] in
   * [1, numClasses − 1]; an image may have no boxes) → { loss_classifier,
   * loss_box_reg, loss_objectness, loss_rpn_box_reg }. Eval mode: per image
   * { boxes, scores, labels } in its own pixels.
   */
  override forward(images: Tensor[], targets?: DetectionTarget[] | null): Record<string, Tensor> | Detection[] {
    const what = "FasterRCNN.forward()";
    if (!Array.isArray(images) || images.length === 0) throw new FlareError(`${what}: images must be a non-empty array of [C, H, W] tensors`, "E_ARGUMENT");
    images.forEach((img, i) => {
      if (!(img instanceof Tensor)) throw new FlareError(`${what}: images[${i}] must be a Tensor [C, H, W], got ${typeof img}`, "E_TYPE");
      if (img.ndim !== 3) throw new FlareError(`${what}: images[${i}] must be [C, H, W], got [${img.shape.join(", ")}]`, "E_SHAPE");
    });
    // Required in training; checked alike when given in eval.
    const checked = this.training || targets != null ? checkTargets(targets, images.length, this.numClasses) : null;
    const originalSizes = images.map((img) => [img.shape[1], img.shape[2]] as [number, number]);
    const { imageList, targets: transformed } = this.transform.forward(images, checked) as ReturnType<GeneralizedRCNNTransform["forward"]>;
    if (transformed) {
      transformed.forEach((t, i) => {
        if (t.boxes.numel() === 0) return;
        const degenerate = t.boxes.index(":", "2:").le(t.boxes.index(":", ":2")).any(1);
        if (degenerate.any().item()) {
          const idx = degenerate.nonzero().select(1, 0).select(0, 0).item() as number;
          const box = t.boxes.select(0, idx).tolist() as number[];
          throw new FlareError(`${what}: All bounding boxes should have positive height and width. Found invalid box [${box.join(", ")}] for target at index ${i}.`, "E_ARGUMENT");
        }
      });
    }
    let features = this.backbone.forward(imageList.tensors) as Record<string, Tensor> | Tensor;
    if (features instanceof Tensor) features = { "0": features };
    const [proposals, proposalLosses] = this.rpn.forward(imageList, features, transformed) as [Tensor[], Record<string, Tensor>];
    const [detections, detectorLosses] = this.roi_heads.forward(features, proposals, imageList.imageSizes, transformed) as [Detection[], Record<string, Tensor>];
    if (this.training) return { ...detectorLosses, ...proposalLosses };
    return this.transform.postprocess(detections, imageList.imageSizes, originalSizes);
  }
}

export interface FasterRCNNResNetFPNOptions extends FasterRCNNOptions {
  /** Classes of the box predictor, background included (91, COCO's). */
  numClasses?: number;
  /** Backbone layers that train, counted from layer4 (0..5; 3 with a pretrained backbone, else 5, as torchvision). */
  trainableBackboneLayers?: number;
  /** The ResNet's norm layer (nn.FrozenBatchNorm2d: the statistics of a pretrained backbone, and batches of 1-2 images train well). */
  normLayer?: NormLayer;
  /** A ResNet made (and loaded) beforehand, in place of a fresh one (a pretrained classifier's trunk). */
  backbone?: ResNet;
}

const BUILDER_OPTIONS = [...FASTER_RCNN_OPTIONS, "numClasses", "trainableBackboneLayers", "normLayer", "backbone"];

function build(make: typeof resnet50, name: string, options: FasterRCNNResNetFPNOptions): FasterRCNN {
  const what = `${name}()`;
  const { numClasses = 91, trainableBackboneLayers, normLayer = nn.FrozenBatchNorm2d, backbone: given, ...rest } = checkOptions(options, BUILDER_OPTIONS, what);
  const trainable = trainableBackboneLayers ?? (given ? 3 : 5);
  if (!Number.isInteger(trainable) || trainable < 0 || trainable > 5)
    throw new FlareError(`${what}: trainableBackboneLayers should be in the range [0,5], got ${JSON.stringify(trainableBackboneLayers)}`, "E_ARGUMENT");
  const body = given ?? make({ normLayer });
  return new FasterRCNN(resnetFpnExtractor(body, trainable), numClasses, rest);
}

/** torchvision's fasterrcnn_resnet50_fpn (41.8M parameters with 91 classes), FrozenBatchNorm2d in the backbone. */
export function fasterrcnnResnet50Fpn(options: FasterRCNNResNetFPNOptions = {}): FasterRCNN {
  return build(resnet50, "fasterrcnnResnet50Fpn", options);
}

/** Faster R-CNN on a ResNet-18 FPN backbone (torchvision's resnet_fpn_backbone("resnet18") in FasterRCNN; 28.3M parameters with 91 classes). */
export function fasterrcnnResnet18Fpn(options: FasterRCNNResNetFPNOptions = {}): FasterRCNN {
  return build(resnet18, "fasterrcnnResnet18Fpn", options);
}
