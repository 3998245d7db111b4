// torchvision's RoIHeads (models/detection/roi_heads.py), the box branch: each
// proposal is pooled from the FPN (MultiScaleRoIAlign), run through the box
// head and predictor (class logits and per-class box codes). In training the
// ground-truth boxes join the proposals, each proposal is matched (IoU ≥ 0.5
// foreground), 512 per image sampled (25% foreground), and fastrcnnLoss gives
// cross entropy and smooth L1 (beta 1/9) on the foreground's own class codes.
// In eval, postprocessDetections decodes, clips, thresholds, NMS-es per class.
import { FlareError } from "../../../errors.js";
import * as torch from "../../../tensor/index.js";
import type { Tensor } from "../../../tensor/index.js";
import * as nn from "../../../nn/index.js";
import { crossEntropy, smoothL1Loss, softmax } from "../../../nn/functional.js";
import { BoxCoder } from "../../ops/box_coder.js";
import { Matcher } from "../../ops/matcher.js";
import { BalancedPositiveNegativeSampler } from "../../ops/sampler.js";
import { boxIou } from "../../ops/iou.js";
import { clipBoxesToImage, removeSmallBoxes } from "../../ops/boxes.js";
import { batchedNms } from "../../ops/nms.js";
import type { Detection, DetectionTarget } from "./image_list.js";

/** torchvision's fastrcnn_loss: [classification loss, box loss] over the sampled proposals of all images. */
export function fastrcnnLoss(classLogits: Tensor, boxRegression: Tensor, labels: Tensor[], regressionTargets: Tensor[]): [Tensor, Tensor] {
  return torch.tidy(() => {
    const l = torch.cat(labels, 0);
    const targets = torch.cat(regressionTargets, 0);
    const classificationLoss = crossEntropy(classLogits, l);
    const pos = l.gt(0).nonzero().select(1, 0);
    const labelsPos = l.index(pos);
    const n = classLogits.shape[0];
    const reg = boxRegression.reshape(n, boxRegression.shape[boxRegression.ndim - 1] / 4, 4);
    const boxLoss = smoothL1Loss(reg.index(pos, labelsPos), targets.index(pos), { beta: 1 / 9, reduction: "sum" }).div(l.numel());
    return [classificationLoss, boxLoss];
  });
}

export class RoIHeads extends nn.Module {
  box_roi_pool: nn.Module;
  box_head: nn.Module;
  box_predictor: nn.Module;
  readonly proposalMatcher: Matcher;
  readonly fgBgSampler: BalancedPositiveNegativeSampler;
  readonly boxCoder: BoxCoder;
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;

  constructor(boxRoiPool: nn.Module, boxHead: nn.Module, boxPredictor: nn.Module, fgIouThresh: number, bgIouThresh: number,
    batchSizePerImage: number, positiveFraction: number, bboxRegWeights: [number, number, number, number] | null,
    scoreThresh: number, nmsThresh: number, detectionsPerImg: number) {
    super();
    const what = "RoIHeads()";
    for (const [m, name] of [[boxRoiPool, "boxRoiPool"], [boxHead, "boxHead"], [boxPredictor, "boxPredictor"]] as const)
      if (!(m instanceof nn.Module)) throw new FlareError(`${what}: ${name} must be a Module`, "E_TYPE");
    for (const [v, name] of [[scoreThresh, "scoreThresh"], [nmsThresh, "nmsThresh"]] as const)
      if (typeof v !== "number" || Number.isNaN(v)) throw new FlareError(`${what}: ${name} must be a number, got ${JSON.stringify(v)}`, "E_ARGUMENT");
    if (!Number.isInteger(detectionsPerImg) || detectionsPerImg < 0) throw new FlareError(`${what}: detectionsPerImg must be a non-negative integer, got ${JSON.stringify(detectionsPerImg)}`, "E_ARGUMENT");
    this.box_roi_pool = boxRoiPool;
    this.box_head = boxHead;
    this.box_predictor = boxPredictor;
    this.proposalMatcher = new Matcher(fgIouThresh, bgIouThresh, { allowLowQualityMatches: false });
    this.fgBgSampler = new BalancedPositiveNegativeSampler(batchSizePerImage, positiveFraction);
    this.boxCoder = new BoxCoder(bboxRegWeights ?? [10, 10, 5, 5]);
    this.scoreThresh = scoreThresh;
    this.nmsThresh = nmsThresh;
    this.detectionsPerImg = detectionsPerImg;
  }

  get boxRoiPool(): nn.Module { return this.box_roi_pool; }
  get boxHead(): nn.Module { return this.box_head; }
  get boxPredictor(): nn.Module { return this.box_predictor; }

  /** Per proposal: the matched ground-truth index (clamped to 0) and its label (0 background, -1 ignored). */
  assignTargetsToProposals(proposals: Tensor[], gtBoxes: Tensor[], gtLabels: Tensor[]): [Tensor[], Tensor[]] {
    const matchedIdxs: Tensor[] = [], labels: Tensor[] = [];
    proposals.forEach((p, i) => {
      if (gtBoxes[i].numel() === 0) {
        matchedIdxs.push(torch.zeros([p.shape[0]], { dtype: "int64", device: p.device }));
        labels.push(torch.zeros([p.shape[0]], { dtype: "int64", device: p.device }));
        return;
      }
      const idxs = this.proposalMatcher.forward(boxIou(gtBoxes[i], p));
      const clamped = idxs.clamp(0);
      matchedIdxs.push(clamped);
      labels.push(gtLabels[i].index(clamped).to("int64")
        .maskedFill(idxs.eq(Matcher.BELOW_LOW_THRESHOLD), 0)
        .maskedFill(idxs.eq(Matcher.BETWEEN_THRESHOLDS), -1));
    });
    return [matchedIdxs, labels];
  }

  /** torchvision's select_training_samples: the sampled proposals (ground truth included), their matches, labels and box codes. */
  selectTrainingSamples(proposals: Tensor[], targets: DetectionTarget[]): { proposals: Tensor[]; matchedIdxs: Tensor[]; labels: Tensor[]; regressionTargets: Tensor[] } {
    const { dtype, device } = proposals[0];
    const gtBoxes = targets.map((t) => t.boxes.to(dtype));
    const gtLabels = targets.map((t) => t.labels);
    const withGt = proposals.map((p, i) => torch.cat([p, gtBoxes[i]], 0));
    const [matchedAll, labelsAll] = this.assignTargetsToProposals(withGt, gtBoxes, gtLabels);
    const [posMasks, negMasks] = this.fgBgSampler.forward(labelsAll);
    const sampledProposals: Tensor[] = [], matchedIdxs: Tensor[] = [], labels: Tensor[] = [], matchedGtBoxes: Tensor[] = [];
    withGt.forEach((p, i) => {
      const inds = posMasks[i].bitwiseOr(negMasks[i]).nonzero().select(1, 0);
      sampledProposals.push(p.index(inds));
      labels.push(labelsAll[i].index(inds));
      const m = matchedAll[i].index(inds);
      matchedIdxs.push(m);
      const gt = gtBoxes[i].numel() === 0 ? torch.zeros([1, 4], { dtype, device }) : gtBoxes[i];
      matchedGtBoxes.push(gt.index(m));
    });
    const regressionTargets = this.boxCoder.encode(matchedGtBoxes, sampledProposals);
    return { proposals: sampledProposals, matchedIdxs, labels, regressionTargets };
  }

  /** torchvision's postprocess_detections: per image, boxes, scores and labels after thresholding and per-class NMS. */
  postprocessDetections(classLogits: Tensor, boxRegression: Tensor, proposals: Tensor[], imageShapes: [number, number][]): Detection[] {
    const numClasses = classLogits.shape[classLogits.ndim - 1];
    const device = classLogits.device;
    const perImage = proposals.map((p) => p.shape[0]);
    const predBoxes = this.boxCoder.decode(boxRegression, proposals);
    const predScores = softmax(classLogits, -1);
    const boxesList = predBoxes.split(perImage, 0), scoresList = predScores.split(perImage, 0);
    return boxesList.map((b, i) => {
      let boxes = clipBoxesToImage(b, imageShapes[i]);
      let scores = scoresList[i];
      let labels = torch.arange(numClasses, { device }).view(1, -1).expandAs(scores);
      // Background (class 0) out; one row per (proposal, class).
      boxes = boxes.index(":", "1:").reshape(-1, 4);
      scores = scores.index(":", "1:").reshape(-1);
      labels = labels.index(":", "1:").reshape(-1);
      let keep = scores.gt(this.scoreThresh).nonzero().select(1, 0);
      [boxes, scores, labels] = [boxes.index(keep), scores.index(keep), labels.index(keep)];
      keep = removeSmallBoxes(boxes, 1e-2);
      [boxes, scores, labels] = [boxes.index(keep), scores.index(keep), labels.index(keep)];
      keep = batchedNms(boxes, scores, labels, this.nmsThresh);
      keep = keep.narrow(0, 0, Math.min(keep.shape[0], this.detectionsPerImg));
      return { boxes: boxes.index(keep), scores: scores.index(keep), labels: labels.index(keep) };
    });
  }

  /** Detections per image (eval; [] in training) and, in training, { loss_classifier, loss_box_reg }. */
  override forward(features: Record<string, Tensor>, proposals: Tensor[], imageShapes: [number, number][], targets?: DetectionTarget[] | null): [Detection[], Record<string, Tensor>] {
    let labels: Tensor[] | null = null, regressionTargets: Tensor[] | null = null;
    if (this.training) {
      if (!targets) throw new FlareError("RoIHeads: targets should not be null in training mode", "E_ARGUMENT");
      targets.forEach((t, i) => {
        if (!["float32", "float64", "float16"].includes(t.boxes.dtype)) throw new FlareError(`RoIHeads: target boxes must be of float type, instead got ${t.boxes.dtype} (targets[${i}].boxes)`, "E_DTYPE");
        if (t.labels.dtype !== "int64") throw new FlareError(`RoIHeads: target labels must be of int64 type, instead got ${t.labels.dtype} (targets[${i}].labels)`, "E_DTYPE");
      });
      const s = this.selectTrainingSamples(proposals, targets);
      proposals = s.proposals;
      labels = s.labels;
      regressionTargets = s.regressionTargets;
    }
    const boxFeatures = this.box_head.forward(this.box_roi_pool.forward(features, proposals, imageShapes)) as Tensor;
    const [classLogits, boxRegression] = this.box_predictor.forward(boxFeatures) as [Tensor, Tensor];
    if (this.training && labels && regressionTargets) {
      const [lossClassifier, lossBoxReg] = fastrcnnLoss(classLogits, boxRegression, labels, regressionTargets);
      return [[], { loss_classifier: lossClassifier, loss_box_reg: lossBoxReg }];
    }
    return [this.postprocessDetections(classLogits, boxRegression, proposals, imageShapes), {}];
  }
}
