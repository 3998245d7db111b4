// SSD (Liu et al.) as torchvision 0.14's models/detection/ssd.py: default boxes
// of several sizes on several feature maps (DefaultBoxGenerator), a 3×3 conv
// classification and regression head per map, SSDMatcher (IoU ≥ 0.5, and each
// ground truth's best default box), BoxCoder (10, 10, 5, 5), hard negative
// mining at 3:1, and postprocessing by score threshold, top-k per class,
// batched NMS and detections per image. `ssdResnet18` puts it on ResNet-18's
// layer2..layer4 plus two extra blocks. torchvision's interface: forward(images,
// targets) gives a dict of losses in training and { boxes, scores, labels } per
// image (in its own pixels) in evaluation; numClasses counts the background.
import { FlareError } from "../../../errors.js";
import { checkOptions } from "../../../options.js";
import * as nn from "../../../nn/index.js";
import * as F from "../../../nn/functional.js";
import * as torch from "../../../tensor/index.js";
import type { Tensor } from "../../../tensor/index.js";
import { BoxCoder } from "../../ops/box_coder.js";
import { Matcher } from "../../ops/matcher.js";
import { boxIou } from "../../ops/iou.js";
import { clipBoxesToImage } from "../../ops/boxes.js";
import { batchedNms } from "../../ops/nms.js";
import { resnet18 } from "../resnet.js";
import { DATASET_STATS } from "../presets.js";
import { IntermediateLayerGetter } from "../feature_extraction.js";
import { DefaultBoxGenerator } from "./default_boxes.js";
import {
  checkInputs, fixedSizeTransform, boxesToOriginal, positiveInteger, fraction, channelStats,
  type DetectionTarget, type DetectionResult,
} from "./one_stage.js";

/** torchvision's _xavier_init: Xavier-uniform conv weights, zero biases. */
function xavierInit(module: nn.Module): void {
  for (const m of module.modules()) {
    if (m instanceof nn.Conv2d) {
      nn.init.xavierUniform_(m.weight);
      if (m.bias) nn.init.constant_(m.bias, 0);
    }
  }
}

/** One 3×3 conv per feature map; the outputs [N, A·K, H, W] become [N, H·W·A, K] and are concatenated over the maps. */
export class SSDScoringHead extends nn.Module {
  declare module_list: nn.ModuleList;
  readonly numColumns: number;

  constructor(moduleList: nn.ModuleList, numColumns: number) {
    super();
    this.addModule("module_list", moduleList);
    this.numColumns = numColumns;
  }

  override forward(x: Tensor[]): Tensor {
    if (!Array.isArray(x) || x.length !== this.module_list.length)
      throw new FlareError(`SSD head: expected ${this.module_list.length} feature maps, got ${Array.isArray(x) ? x.length : typeof x}`, "E_ARGUMENT");
    return torch.cat(x.map((features, i) => {
      const results = this.module_list.get(i).forward(features) as Tensor;
      const [n, , h, w] = results.shape;
      return results.view(n, -1, this.numColumns, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, this.numColumns);
    }), 1);
  }
}

export class SSDClassificationHead extends SSDScoringHead {
  constructor(inChannels: number[], numAnchors: number[], numClasses: number) {
    const list = new nn.ModuleList(inChannels.map((c, i) => new nn.Conv2d(c, numClasses * numAnchors[i], 3, { padding: 1 })));
    xavierInit(list);
    super(list, numClasses);
  }
}

export class SSDRegressionHead extends SSDScoringHead {
  constructor(inChannels: number[], numAnchors: number[]) {
    const list = new nn.ModuleList(inChannels.map((c, i) => new nn.Conv2d(c, 4 * numAnchors[i], 3, { padding: 1 })));
    xavierInit(list);
    super(list, 4);
  }
}

export class SSDHead extends nn.Module {
  declare classification_head: SSDClassificationHead;
  declare regression_head: SSDRegressionHead;

  constructor(inChannels: number[], numAnchors: number[], numClasses: number) {
    super();
    this.addModule("classification_head", new SSDClassificationHead(inChannels, numAnchors, numClasses));
    this.addModule("regression_head", new SSDRegressionHead(inChannels, numAnchors));
  }

  override forward(x: Tensor[]): { bbox_regression: Tensor; cls_logits: Tensor } {
    return { bbox_regression: this.regression_head.forward(x), cls_logits: this.classification_head.forward(x) };
  }
}

/** torchvision's SSDMatcher: Matcher(threshold, threshold), then each ground truth also takes its best prediction. */
export class SSDMatcher extends Matcher {
  constructor(threshold: number) { super(threshold, threshold, { allowLowQualityMatches: false }); }

  override forward(matchQualityMatrix: Tensor): Tensor {
    const matches = super.forward(matchQualityMatrix);
    return torch.tidy(() => {
      const best = matchQualityMatrix.argmax(1);
      // Assigned in ground-truth order, so a prediction best for two keeps the later one, as torchvision's index_put.
      matches.indexPut_([best], torch.arange(0, best.shape[0], { dtype: "int64" }));
      return matches;
    });
  }
}

export interface SSDOptions {
  /** Score threshold of the detections (0.01). */
  scoreThresh?: number;
  /** NMS IoU threshold (0.45). */
  nmsThresh?: number;
  /** Detections kept per image after NMS (200). */
  detectionsPerImg?: number;
  /** IoU with a ground truth for a default box to be positive (0.5). */
  iouThresh?: number;
  /** Best-scoring boxes per class that go through NMS (400). */
  topkCandidates?: number;
  /** Positives' share of the classification loss's boxes: 0.25 mines 3 negatives per positive. */
  positiveFraction?: number;
  /** Per-channel mean and std of the normalisation (ImageNet's). */
  imageMean?: number[];
  imageStd?: number[];
}

export const SSD_OPTIONS = ["scoreThresh", "nmsThresh", "detectionsPerImg", "iouThresh", "topkCandidates", "positiveFraction", "imageMean", "imageStd"];

/**
 * torchvision's SSD: a backbone whose forward gives a list of feature maps
 * (with outChannels), a DefaultBoxGenerator, the fixed input side `size` and
 * numClasses (with the background).
 */
export class SSD extends nn.Module {
  declare backbone: nn.Module;
  declare head: SSDHead;
  readonly anchorGenerator: DefaultBoxGenerator;
  readonly boxCoder = new BoxCoder([10, 10, 5, 5]);
  readonly proposalMatcher: SSDMatcher;
  readonly size: number;
  readonly numClasses: number;
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;
  readonly topkCandidates: number;
  readonly negToPosRatio: number;
  readonly imageMean: number[];
  readonly imageStd: number[];

  constructor(backbone: nn.Module & { outChannels: number[] }, anchorGenerator: DefaultBoxGenerator, size: number, numClasses: number, options: SSDOptions = {}) {
    super();
    const what = "SSD()";
    checkOptions(options, SSD_OPTIONS, what);
    if (!(backbone instanceof nn.Module) || !Array.isArray(backbone.outChannels))
      throw new FlareError(`${what}: backbone must be a Module with outChannels (the channels of each feature map it returns)`, "E_ARGUMENT");
    if (!(anchorGenerator instanceof DefaultBoxGenerator)) throw new FlareError(`${what}: anchorGenerator must be a DefaultBoxGenerator`, "E_ARGUMENT");
    if (backbone.outChannels.length !== anchorGenerator.aspectRatios.length)
      throw new FlareError(`${what}: the length of the output channels from the backbone (${backbone.outChannels.length}) do not match the length of the anchor generator aspect ratios (${anchorGenerator.aspectRatios.length})`, "E_ARGUMENT");
    this.size = positiveInteger(size, `${what}: size`);
    if (!Number.isInteger(numClasses) || numClasses < 2)
      throw new FlareError(`${what}: numClasses must be an integer ≥ 2 (the object classes plus the background), got ${JSON.stringify(numClasses)}`, "E_ARGUMENT");
    this.numClasses = numClasses;
    this.addModule("backbone", backbone);
    this.anchorGenerator = anchorGenerator;
    this.addModule("head", new SSDHead(backbone.outChannels, anchorGenerator.numAnchorsPerLocation(), numClasses));
    this.proposalMatcher = new SSDMatcher(fraction(options.iouThresh ?? 0.5, `${what}: iouThresh`));
    this.scoreThresh = fraction(options.scoreThresh ?? 0.01, `${what}: scoreThresh`);
    this.nmsThresh = fraction(options.nmsThresh ?? 0.45, `${what}: nmsThresh`);
    this.detectionsPerImg = positiveInteger(options.detectionsPerImg ?? 200, `${what}: detectionsPerImg`);
    this.topkCandidates = positiveInteger(options.topkCandidates ?? 400, `${what}: topkCandidates`);
    const positiveFraction = options.positiveFraction ?? 0.25;
    if (!(typeof positiveFraction === "number" && positiveFraction > 0 && positiveFraction <= 1))
      throw new FlareError(`${what}: positiveFraction must be in (0, 1], got ${JSON.stringify(positiveFraction)}`, "E_ARGUMENT");
    this.negToPosRatio = (1 - positiveFraction) / positiveFraction;
    this.imageMean = channelStats(options.imageMean ?? DATASET_STATS.imagenet.mean, `${what}: imageMean`, false);
    this.imageStd = channelStats(options.imageStd ?? DATASET_STATS.imagenet.std, `${what}: imageStd`, true);
  }

  /**
   * images: float [3, H, W] per image (0..1, any sizes: each is resized to
   * size × size). Training: targets { boxes (pixels), labels (1..numClasses − 1) }
   * per image → { bbox_regression, classification }. Evaluation → detections per image in its pixels.
   */
  override forward(images: Tensor[], targets?: DetectionTarget[]): Record<string, Tensor> | DetectionResult[] {
    // forward() is a tidy() scope (nn.Module wraps it): the intermediates go when it returns.
    checkInputs(images, targets, this.numClasses, this.training, "SSD.forward()");
    const { batch, targets: scaled, originalSizes } = fixedSizeTransform(images, this.training ? targets : undefined, this.size, this.imageMean, this.imageStd);
    const features = this.backbone.forward(batch) as Tensor[];
    const headOutputs = this.head.forward(features);
    const anchors = this.anchorGenerator.forward([this.size, this.size], features.map((f) => [f.shape[2], f.shape[3]] as [number, number]));
    if (this.training) {
      const matched = scaled!.map((t) => t.boxes.shape[0] === 0
        ? torch.full([anchors.shape[0]], -1, { dtype: "int64" })
        : this.proposalMatcher.forward(boxIou(t.boxes, anchors)));
      return this.computeLoss(scaled!, headOutputs, anchors, matched);
    }
    return this.postprocessDetections(headOutputs, anchors).map((d, i) => ({ ...d, boxes: boxesToOriginal(d.boxes, this.size, originalSizes[i]) }));
  }

  /** torchvision's SSD.compute_loss: smooth L1 on the positives' codes, cross entropy on the positives and the 3× hardest negatives, both over the positives' count. */
  computeLoss(targets: DetectionTarget[], headOutputs: { bbox_regression: Tensor; cls_logits: Tensor }, anchors: Tensor, matchedIdxs: Tensor[]): Record<string, Tensor> {
    return torch.tidy(() => {
      const { bbox_regression: bboxRegression, cls_logits: clsLogits } = headOutputs;
      let numForeground = 0;
      const bboxLoss: Tensor[] = [], clsTargets: Tensor[] = [];
      targets.forEach((t, i) => {
        const matched = matchedIdxs[i];
        const fg = matched.ge(0).nonzero().select(1, 0);
        const fgMatched = matched.index(fg);
        numForeground += fgMatched.shape[0];
        const gtBoxes = t.boxes.index(fgMatched);
        const target = this.boxCoder.encodeSingle(gtBoxes, anchors.index(fg));
        bboxLoss.push(F.smoothL1Loss(bboxRegression.select(0, i).index(fg), target, { reduction: "sum" }));
        const cls = torch.zeros([clsLogits.shape[1]], { dtype: "int64" });
        if (fg.shape[0] > 0) cls.indexPut_([fg], t.labels.index(fgMatched));
        clsTargets.push(cls);
      });
      const targetsCls = torch.stack(clsTargets);
      const numClasses = clsLogits.shape[2];
      const clsLoss = F.crossEntropy(clsLogits.reshape(-1, numClasses), targetsCls.reshape(-1), { reduction: "none" }).view(targetsCls.shape);
      // Hard negative mining: the negatives with the highest loss, negToPosRatio per positive of the image.
      const foreground = targetsCls.gt(0);
      const numNegative = foreground.sum(1, { keepdim: true }).mul(this.negToPosRatio);
      const background = torch.noGrad(() => {
        const negativeLoss = clsLoss.detach().maskedFill(foreground, -Infinity);
        const { indices } = negativeLoss.sort(1, { descending: true });
        return indices.sort(1).indices.lt(numNegative);
      });
      const n = Math.max(1, numForeground);
      return {
        bbox_regression: torch.stack(bboxLoss).sum().div(n),
        classification: clsLoss.index(foreground).sum().add(clsLoss.index(background).sum()).div(n),
      };
    });
  }

  /** torchvision's SSD.postprocess_detections, in the network's [size, size] input. */
  postprocessDetections(headOutputs: { bbox_regression: Tensor; cls_logits: Tensor }, anchors: Tensor): DetectionResult[] {
    return torch.tidy(() => torch.noGrad(() => {
      const predScores = headOutputs.cls_logits.softmax(-1);
      const numClasses = predScores.shape[2];
      const out: DetectionResult[] = [];
      for (let i = 0; i < predScores.shape[0]; i++) {
        const boxes = clipBoxesToImage(this.boxCoder.decodeSingle(headOutputs.bbox_regression.select(0, i), anchors), [this.size, this.size]);
        const scores = predScores.select(0, i);
        const imageBoxes: Tensor[] = [], imageScores: Tensor[] = [], imageLabels: Tensor[] = [];
        for (let label = 1; label < numClasses; label++) {
          const score = scores.select(1, label);
          const keep = score.gt(this.scoreThresh);
          const kept = score.index(keep), box = boxes.index(keep);
          const { values, indices } = kept.topk(Math.min(this.topkCandidates, kept.shape[0]));
          imageBoxes.push(box.index(indices));
          imageScores.push(values);
          imageLabels.push(torch.full([values.shape[0]], label, { dtype: "int64" }));
        }
        const b = torch.cat(imageBoxes), s = torch.cat(imageScores), l = torch.cat(imageLabels);
        const keep = batchedNms(b, s, l, this.nmsThresh);
        const top = keep.narrow(0, 0, Math.min(this.detectionsPerImg, keep.shape[0]));
        out.push({ boxes: b.index(top), scores: s.index(top), labels: l.index(top) });
      }
      return out;
    }));
  }

  override extraRepr(): string { return `numClasses=${this.numClasses}, size=${this.size}, ${this.anchorGenerator.toString()}`; }
}

/**
 * ResNet-18's layer2, layer3 and layer4 (strides 8, 16, 32) and two extra
 * blocks that halve the last map twice (1×1 conv to 128, 3×3 stride-2 conv to
 * 256, with batch norm: trained from scratch here), as SSD's multi-scale maps.
 */
export class SSDFeatureExtractorResNet extends nn.Module {
  declare body: IntermediateLayerGetter;
  declare extra: nn.ModuleList;
  readonly outChannels = [128, 256, 512, 256, 256];

  constructor() {
    super();
    this.addModule("body", new IntermediateLayerGetter(resnet18({ headless: true }), { layer2: "0", layer3: "1", layer4: "2" }));
    const block = (cin: number) => new nn.Sequential(
      new nn.Conv2d(cin, 128, 1, { bias: false }), new nn.BatchNorm2d(128), new nn.ReLU(),
      new nn.Conv2d(128, 256, 3, { stride: 2, padding: 1, bias: false }), new nn.BatchNorm2d(256), new nn.ReLU());
    const extra = new nn.ModuleList([block(512), block(256)]);
    xavierInit(extra);
    this.addModule("extra", extra);
  }

  override forward(x: Tensor): Tensor[] {
    const maps = Object.values(this.body.forward(x) as Record<string, Tensor>);
    let last = maps[maps.length - 1];
    for (const block of this.extra) {
      last = block.forward(last) as Tensor;
      maps.push(last);
    }
    return maps;
  }
}

/** The default boxes of ssd-resnet18: scales as SSD300's, from 0.07 (small objects on the stride-8 map). */
export const SSD_RESNET18_ASPECT_RATIOS = [[2], [2, 3], [2, 3], [2, 3], [2]];
export const SSD_RESNET18_SCALES = [0.07, 0.15, 0.33, 0.51, 0.69, 0.87];

export interface SSDResnet18Options extends SSDOptions {
  /** Classes with the background (e.g. 2 for bananas), as torchvision's num_classes (91 by default there; required here). */
  numClasses: number;
  /** The fixed input side images are resized to (256). */
  size?: number;
}

export const SSD_RESNET18_OPTIONS = ["numClasses", "size", ...SSD_OPTIONS];

/** SSD on ResNet-18 (layer2..4 and two extra blocks; 5 maps, 4 or 6 default boxes per cell). */
export function ssdResnet18(options: SSDResnet18Options): SSD {
  const { numClasses, size = 256, ...rest } = checkOptions(options, SSD_RESNET18_OPTIONS, "ssdResnet18()");
  const generator = new DefaultBoxGenerator(SSD_RESNET18_ASPECT_RATIOS, { scales: SSD_RESNET18_SCALES });
  return new SSD(new SSDFeatureExtractorResNet(), generator, size, numClasses, rest);
}
