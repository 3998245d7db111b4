// torchvision's region proposal network (models/detection/rpn.py): a small
// conv head scores each anchor (objectness) and regresses it; the top anchors
// per level are decoded, clipped, filtered (min size, score), NMS-ed per level
// and the best postNmsTopN kept as proposals. In training, anchors are matched
// to the ground truth (IoU ≥ 0.7 positive, < 0.3 negative, best anchor of each
// box positive too), 256 per image sampled half positive, and the losses are
// BCE on objectness and smooth L1 (beta 1/9) on the positives' codes.
import { FlareError } from "../../../errors.js";
import * as torch from "../../../tensor/index.js";
import type { Tensor } from "../../../tensor/index.js";
import * as nn from "../../../nn/index.js";
import { checkOptions } from "../../../options.js";
import { binaryCrossEntropyWithLogits, smoothL1Loss } from "../../../nn/functional.js";
import { BoxCoder } from "../../ops/box_coder.js";
import { Matcher } from "../../ops/matcher.js";
import { BalancedPositiveNegativeSampler } from "../../ops/sampler.js";
import { boxIou } from "../../ops/iou.js";
import { clipBoxesToImage, removeSmallBoxes } from "../../ops/boxes.js";
import { batchedNms } from "../../ops/nms.js";
import type { AnchorGenerator } from "./anchor_generator.js";
import type { DetectionTarget, ImageList } from "./image_list.js";

/** torchvision's RPNHead: convDepth 3x3 conv + ReLU blocks, then 1x1 convs to A objectness logits and 4A box codes per location. */
export class RPNHead extends nn.Module {
  conv: nn.Sequential;
  cls_logits: nn.Conv2d;
  bbox_pred: nn.Conv2d;

  constructor(inChannels: number, numAnchors: number, convDepth = 1) {
    super();
    for (const [v, name] of [[inChannels, "inChannels"], [numAnchors, "numAnchors"], [convDepth, "convDepth"]] as const)
      if (!Number.isInteger(v) || v < 1) throw new FlareError(`RPNHead(): ${name} must be a positive integer, got ${JSON.stringify(v)}`, "E_ARGUMENT");
    const convs: nn.Module[] = [];
    for (let i = 0; i < convDepth; i++) convs.push(new nn.Sequential(new nn.Conv2d(inChannels, inChannels, 3, { padding: 1 }), new nn.ReLU()));
    this.conv = new nn.Sequential(...convs);
    this.cls_logits = new nn.Conv2d(inChannels, numAnchors, 1, { stride: 1 });
    this.bbox_pred = new nn.Conv2d(inChannels, numAnchors * 4, 1, { stride: 1 });
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) {
        nn.init.normal_(m.weight, { std: 0.01 });
        if (m.bias) nn.init.constant_(m.bias, 0);
      }
    }
  }

  get clsLogits(): nn.Conv2d { return this.cls_logits; }
  get bboxPred(): nn.Conv2d { return this.bbox_pred; }

  /** Per feature map: objectness logits [N, A, H, W] and box codes [N, 4A, H, W]. */
  override forward(x: Tensor[]): [Tensor[], Tensor[]] {
    const logits: Tensor[] = [], bboxReg: Tensor[] = [];
    for (const feature of x) {
      const t = this.conv.forward(feature) as Tensor;
      logits.push(this.cls_logits.forward(t));
      bboxReg.push(this.bbox_pred.forward(t));
    }
    return [logits, bboxReg];
  }
}

function permuteAndFlatten(layer: Tensor, n: number, c: number, h: number, w: number): Tensor {
  return layer.view(n, -1, c, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, c);
}

/** torchvision's concat_box_prediction_layers: all levels' scores [sum, C] and codes [sum, 4], image by image, location by location. */
export function concatBoxPredictionLayers(boxCls: Tensor[], boxRegression: Tensor[]): [Tensor, Tensor] {
  const cls: Tensor[] = [], reg: Tensor[] = [];
  boxCls.forEach((c, i) => {
    const [n, axc, h, w] = c.shape;
    const a = boxRegression[i].shape[1] / 4;
    cls.push(permuteAndFlatten(c, n, axc / a, h, w));
    reg.push(permuteAndFlatten(boxRegression[i], n, 4, h, w));
  });
  return [torch.cat(cls, 1).flatten(0, -2), torch.cat(reg, 1).reshape(-1, 4)];
}

export interface TopN { training: number; testing: number }

export interface RegionProposalNetworkOptions {
  /** Proposals scoring below this are dropped (0). */
  scoreThresh?: number;
}

export class RegionProposalNetwork extends nn.Module {
  anchor_generator: AnchorGenerator;
  head: RPNHead | nn.Module;
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);
  readonly proposalMatcher: Matcher;
  readonly fgBgSampler: BalancedPositiveNegativeSampler;
  readonly preNmsTopNs: TopN;
  readonly postNmsTopNs: TopN;
  readonly nmsThresh: number;
  readonly scoreThresh: number;
  readonly minSize = 1e-3;

  constructor(anchorGenerator: AnchorGenerator, head: nn.Module, fgIouThresh: number, bgIouThresh: number, batchSizePerImage: number,
    positiveFraction: number, preNmsTopN: TopN, postNmsTopN: TopN, nmsThresh: number, options: RegionProposalNetworkOptions = {}) {
    super();
    const what = "RegionProposalNetwork()";
    checkOptions(options, ["scoreThresh"], what);
    if (!(head instanceof nn.Module)) throw new FlareError(`${what}: head must be a Module`, "E_TYPE");
    for (const [t, name] of [[preNmsTopN, "preNmsTopN"], [postNmsTopN, "postNmsTopN"]] as const) {
      if (t === null || typeof t !== "object" || [t.training, t.testing].some((v) => !Number.isInteger(v) || v < 1))
        throw new FlareError(`${what}: ${name} must be { training, testing } positive integers, got ${JSON.stringify(t)}`, "E_ARGUMENT");
    }
    if (typeof nmsThresh !== "number" || Number.isNaN(nmsThresh)) throw new FlareError(`${what}: nmsThresh must be a number, got ${JSON.stringify(nmsThresh)}`, "E_ARGUMENT");
    this.anchor_generator = anchorGenerator;
    this.head = head;
    this.proposalMatcher = new Matcher(fgIouThresh, bgIouThresh, { allowLowQualityMatches: true });
    this.fgBgSampler = new BalancedPositiveNegativeSampler(batchSizePerImage, positiveFraction);
    this.preNmsTopNs = { ...preNmsTopN };
    this.postNmsTopNs = { ...postNmsTopN };
    this.nmsThresh = nmsThresh;
    const scoreThresh = options.scoreThresh ?? 0;
    if (typeof scoreThresh !== "number" || Number.isNaN(scoreThresh)) throw new FlareError(`${what}: scoreThresh must be a number, got ${JSON.stringify(scoreThresh)}`, "E_ARGUMENT");
    this.scoreThresh = scoreThresh;
  }

  get anchorGenerator(): AnchorGenerator { return this.anchor_generator; }
  preNmsTopN(): number { return this.training ? this.preNmsTopNs.training : this.preNmsTopNs.testing; }
  postNmsTopN(): number { return this.training ? this.postNmsTopNs.training : this.postNmsTopNs.testing; }

  /** Per image: a label per anchor (1 object, 0 background, -1 ignored; float32) and the ground-truth box each anchor is matched to. */
  assignTargetsToAnchors(anchors: Tensor[], targets: DetectionTarget[]): [Tensor[], Tensor[]] {
    const labels: Tensor[] = [], matched: Tensor[] = [];
    anchors.forEach((a, i) => {
      const gt = targets[i].boxes;
      if (gt.numel() === 0) {
        matched.push(torch.zeros(a.shape, { dtype: "float32", device: a.device }));
        labels.push(torch.zeros([a.shape[0]], { dtype: "float32", device: a.device }));
        return;
      }
      const idxs = this.proposalMatcher.forward(boxIou(gt, a));
      matched.push(gt.index(idxs.clamp(0)));
      const l = idxs.ge(0).to("float32")
        .maskedFill(idxs.eq(Matcher.BELOW_LOW_THRESHOLD), 0)
        .maskedFill(idxs.eq(Matcher.BETWEEN_THRESHOLDS), -1);
      labels.push(l);
    });
    return [labels, matched];
  }

  #topNIdx(objectness: Tensor, numAnchorsPerLevel: number[]): Tensor {
    const r: Tensor[] = [];
    let offset = 0;
    for (const ob of objectness.split(numAnchorsPerLevel, 1)) {
      const n = ob.shape[1];
      const k = Math.min(this.preNmsTopN(), n);
      r.push(ob.topk(k, 1).indices.add(offset));
      offset += n;
    }
    return torch.cat(r, 1);
  }

  /** torchvision's filter_proposals: per image, the kept boxes and their objectness probabilities. */
  filterProposals(proposals: Tensor, objectness: Tensor, imageShapes: [number, number][], numAnchorsPerLevel: number[]): [Tensor[], Tensor[]] {
    const numImages = proposals.shape[0];
    const device = proposals.device;
    const ob = objectness.detach().reshape(numImages, -1);
    const levels = torch.cat(numAnchorsPerLevel.map((n, idx) => torch.full([n], idx, { dtype: "int64", device })), 0).reshape(1, -1).expandAs(ob);
    const topN = this.#topNIdx(ob, numAnchorsPerLevel);
    const batchIdx = torch.arange(numImages, { device }).index(":", null);
    const obTop = ob.index(batchIdx, topN), lvlTop = levels.index(batchIdx, topN), propTop = proposals.index(batchIdx, topN);
    const prob = obTop.sigmoid();
    const finalBoxes: Tensor[] = [], finalScores: Tensor[] = [];
    for (let i = 0; i < numImages; i++) {
      let boxes = clipBoxesToImage(propTop.select(0, i), imageShapes[i]);
      let scores = prob.select(0, i), lvl = lvlTop.select(0, i);
      let keep = removeSmallBoxes(boxes, this.minSize);
      [boxes, scores, lvl] = [boxes.index(keep), scores.index(keep), lvl.index(keep)];
      keep = scores.ge(this.scoreThresh).nonzero().select(1, 0);
      [boxes, scores, lvl] = [boxes.index(keep), scores.index(keep), lvl.index(keep)];
      keep = batchedNms(boxes, scores, lvl, this.nmsThresh);
      keep = keep.narrow(0, 0, Math.min(keep.shape[0], this.postNmsTopN()));
      finalBoxes.push(boxes.index(keep));
      finalScores.push(scores.index(keep));
    }
    return [finalBoxes, finalScores];
  }

  /** [objectness loss, box loss] over the sampled anchors. */
  computeLoss(objectness: Tensor, predBboxDeltas: Tensor, labels: Tensor[], regressionTargets: Tensor[]): [Tensor, Tensor] {
    const [posMasks, negMasks] = this.fgBgSampler.forward(labels);
    const pos = torch.cat(posMasks, 0).nonzero().select(1, 0);
    const neg = torch.cat(negMasks, 0).nonzero().select(1, 0);
    const sampled = torch.cat([pos, neg], 0);
    const flatObjectness = objectness.flatten();
    const allLabels = torch.cat(labels, 0);
    const targets = torch.cat(regressionTargets, 0);
    const boxLoss = smoothL1Loss(predBboxDeltas.index(pos), targets.index(pos), { beta: 1 / 9, reduction: "sum" }).div(sampled.numel());
    const objectnessLoss = binaryCrossEntropyWithLogits(flatObjectness.index(sampled), allLabels.index(sampled));
    return [objectnessLoss, boxLoss];
  }

  /** Proposals per image (in the padded batch's coordinates) and, in training, { loss_objectness, loss_rpn_box_reg }. */
  override forward(images: ImageList, features: Record<string, Tensor>, targets?: DetectionTarget[] | null): [Tensor[], Record<string, Tensor>] {
    const maps = Object.values(features);
    const [objectnessPerLevel, deltasPerLevel] = this.head.forward(maps) as [Tensor[], Tensor[]];
    const anchors = this.anchor_generator.forward(images, maps) as Tensor[];
    const numImages = anchors.length;
    const numAnchorsPerLevel = objectnessPerLevel.map((o) => o.shape[1] * o.shape[2] * o.shape[3]);
    const [objectness, predBboxDeltas] = concatBoxPredictionLayers(objectnessPerLevel, deltasPerLevel);
    const proposals = this.boxCoder.decode(predBboxDeltas.detach(), anchors).view(numImages, -1, 4);
    const [boxes] = this.filterProposals(proposals, objectness, images.imageSizes, numAnchorsPerLevel);
    const losses: Record<string, Tensor> = {};
    if (this.training) {
      if (!targets) throw new FlareError("RegionProposalNetwork: targets should not be null in training mode", "E_ARGUMENT");
      const [labels, matchedGtBoxes] = this.assignTargetsToAnchors(anchors, targets);
      const regressionTargets = this.boxCoder.encode(matchedGtBoxes, anchors);
      const [lossObjectness, lossRpnBoxReg] = this.computeLoss(objectness, predBboxDeltas, labels, regressionTargets);
      losses.loss_objectness = lossObjectness;
      losses.loss_rpn_box_reg = lossRpnBoxReg;
    }
    return [boxes, losses];
  }
}
