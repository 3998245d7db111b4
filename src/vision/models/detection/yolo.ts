// A YOLO-style grid detector (YOLOv2/v3's head on one map): the backbone's last
// feature map is an S×S grid; each cell predicts B boxes, one per anchor prior
// (a width and height, fractions of the image), each with offsets inside its
// cell (centre = (cell + sigmoid(tx, ty)) / S, size = prior · exp(tw, th)),
// an objectness logit and class logits. Each object goes to the cell that holds
// its centre and, there, to the free prior whose shape overlaps it most (so one
// cell can hold several objects). Loss: objectness BCE over every box (boxes
// not assigned but overlapping an object by more than ignoreThresh are left
// out, as YOLOv3), class cross entropy and box regression on the assigned
// boxes, each summed over the assigned count. Output: score = objectness ·
// class probability, top-k, batched NMS. torchvision's detector interface, as SSD.
import { FlareError } from "../../../errors.js";
import { checkOptions } from "../../../options.js";
import * as nn from "../../../nn/index.js";
import * as F from "../../../nn/functional.js";
import * as torch from "../../../tensor/index.js";
import type { Tensor } from "../../../tensor/index.js";
import { boxIou } from "../../ops/iou.js";
import { clipBoxesToImage } from "../../ops/boxes.js";
import { batchedNms } from "../../ops/nms.js";
import { resnet18 } from "../resnet.js";
import { DATASET_STATS } from "../presets.js";
import {
  checkInputs, fixedSizeTransform, boxesToOriginal, positiveInteger, fraction, channelStats,
  type DetectionTarget, type DetectionResult,
} from "./one_stage.js";

/** Anchor priors (w, h) as fractions of the image: small to large, square, wide and tall. */
export const YOLO_PRIORS: readonly (readonly [number, number])[] = [[0.08, 0.08], [0.18, 0.12], [0.12, 0.18], [0.3, 0.3], [0.55, 0.5]];

/** A 3×3 conv (batch norm, leaky ReLU) and a 1×1 conv giving B · (5 + classes) numbers per cell. */
export class YOLOHead extends nn.Module {
  declare conv: nn.Sequential;
  declare pred: nn.Conv2d;

  constructor(inChannels: number, numPriors: number, numObjectClasses: number) {
    super();
    this.addModule("conv", new nn.Sequential(new nn.Conv2d(inChannels, 256, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(256), new nn.LeakyReLU({ negativeSlope: 0.1 })));
    const pred = new nn.Conv2d(256, numPriors * (5 + numObjectClasses), 1);
    torch.noGrad(() => torch.tidy(() => {
      nn.init.normal_(pred.weight, { std: 0.01 });
      // Objectness starts at 1% (RetinaNet's prior), so the many empty boxes don't swamp the first steps.
      const bias = torch.zeros([numPriors, 5 + numObjectClasses]);
      bias.indexPut_([":", 4], -Math.log((1 - 0.01) / 0.01));
      pred.bias!.copy_(bias.reshape(-1));
    }));
    this.addModule("pred", pred);
  }

  override forward(x: Tensor): Tensor { return this.pred.forward(this.conv.forward(x)) as Tensor; }
}

export interface YOLOOptions {
  /** The fixed input side (256: an 8×8 grid on ResNet-18's stride 32). */
  size?: number;
  /** Anchor priors [w, h], fractions of the image (YOLO_PRIORS). */
  priors?: [number, number][];
  /** Score threshold of the detections (0.01). */
  scoreThresh?: number;
  /** NMS IoU threshold (0.5). */
  nmsThresh?: number;
  /** Detections kept per image (100). */
  detectionsPerImg?: number;
  /** Best-scoring (box, class) pairs that go through NMS (400). */
  topkCandidates?: number;
  /** Unassigned boxes whose prediction overlaps an object by more than this are not pushed to background (0.5). */
  ignoreThresh?: number;
  imageMean?: number[];
  imageStd?: number[];
}

export const YOLO_OPTIONS = ["size", "priors", "scoreThresh", "nmsThresh", "detectionsPerImg", "topkCandidates", "ignoreThresh", "imageMean", "imageStd"];

/** Largest tw, th decoded (torchvision's bbox_xform_clip), so exp() stays finite. */
const WH_CLIP = Math.log(1000 / 16);

export class YOLO extends nn.Module {
  declare backbone: nn.Module;
  declare head: YOLOHead;
  readonly numClasses: number;
  readonly size: number;
  readonly priors: [number, number][];
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;
  readonly topkCandidates: number;
  readonly ignoreThresh: number;
  readonly imageMean: number[];
  readonly imageStd: number[];

  /** backbone: forward(x) → one feature map [B, outChannels, S, S]; numClasses counts the background (never predicted), as torchvision's. */
  constructor(backbone: nn.Module & { outChannels: number }, numClasses: number, options: YOLOOptions = {}) {
    super();
    const what = "YOLO()";
    checkOptions(options, YOLO_OPTIONS, what);
    if (!(backbone instanceof nn.Module) || !Number.isInteger(backbone.outChannels))
      throw new FlareError(`${what}: backbone must be a Module with outChannels (the channels of its feature map)`, "E_ARGUMENT");
    if (!Number.isInteger(numClasses) || numClasses < 2)
      throw new FlareError(`${what}: numClasses must be an integer ≥ 2 (the object classes plus the background), got ${JSON.stringify(numClasses)}`, "E_ARGUMENT");
    const priors = options.priors ?? YOLO_PRIORS.map(([w, h]) => [w, h] as [number, number]);
    if (!Array.isArray(priors) || priors.length === 0 || priors.some((p) => !Array.isArray(p) || p.length !== 2 || p.some((v) => typeof v !== "number" || !(v > 0))))
      throw new FlareError(`${what}: priors must be a non-empty array of [width, height] (positive fractions of the image), got ${JSON.stringify(options.priors)}`, "E_ARGUMENT");
    this.numClasses = numClasses;
    this.size = positiveInteger(options.size ?? 256, `${what}: size`);
    this.priors = priors.map(([w, h]) => [w, h]);
    this.scoreThresh = fraction(options.scoreThresh ?? 0.01, `${what}: scoreThresh`);
    this.nmsThresh = fraction(options.nmsThresh ?? 0.5, `${what}: nmsThresh`);
    this.detectionsPerImg = positiveInteger(options.detectionsPerImg ?? 100, `${what}: detectionsPerImg`);
    this.topkCandidates = positiveInteger(options.topkCandidates ?? 400, `${what}: topkCandidates`);
    this.ignoreThresh = fraction(options.ignoreThresh ?? 0.5, `${what}: ignoreThresh`);
    this.imageMean = channelStats(options.imageMean ?? DATASET_STATS.imagenet.mean, `${what}: imageMean`, false);
    this.imageStd = channelStats(options.imageStd ?? DATASET_STATS.imagenet.std, `${what}: imageStd`, true);
    this.addModule("backbone", backbone);
    this.addModule("head", new YOLOHead(backbone.outChannels, this.priors.length, numClasses - 1));
  }

  /** Training: { objectness, classification, bbox_regression }; evaluation: detections per image, in its pixels. */
  override forward(images: Tensor[], targets?: DetectionTarget[]): Record<string, Tensor> | DetectionResult[] {
    // forward() is a tidy() scope (nn.Module wraps it): the intermediates go when it returns.
    checkInputs(images, targets, this.numClasses, this.training, "YOLO.forward()");
    const { batch, targets: scaled, originalSizes } = fixedSizeTransform(images, this.training ? targets : undefined, this.size, this.imageMean, this.imageStd);
    const map = this.head.forward(this.backbone.forward(batch) as Tensor);
    const [n, , gh, gw] = map.shape;
    const a = this.priors.length, k = 5 + this.numClasses - 1;
    // [B, A·K, S, S] → [B, S·S·A, K]: cell row-major, then prior.
    const pred = map.view(n, a, k, gh, gw).permute(0, 3, 4, 1, 2).reshape(n, gh * gw * a, k);
    const boxes = this.decode(pred, gh, gw);
    if (this.training) return this.computeLoss(pred, boxes, scaled!, gh, gw);
    return this.postprocessDetections(pred, boxes).map((d, i) => ({ ...d, boxes: boxesToOriginal(d.boxes, this.size, originalSizes[i]) }));
  }

  /** Each prediction's box [B, S·S·A, 4] (x1, y1, x2, y2) in the input's pixels. */
  decode(pred: Tensor, gh: number, gw: number): Tensor {
    return torch.tidy(() => {
      const a = this.priors.length;
      const ys = torch.arange(0, gh, { dtype: "float32" }).reshape(gh, 1, 1).expand(gh, gw, a).reshape(-1);
      const xs = torch.arange(0, gw, { dtype: "float32" }).reshape(1, gw, 1).expand(gh, gw, a).reshape(-1);
      const pw = torch.tensor(this.priors.map((p) => p[0]), { dtype: "float32" }).repeat(gh * gw);
      const ph = torch.tensor(this.priors.map((p) => p[1]), { dtype: "float32" }).repeat(gh * gw);
      const xy = pred.narrow(2, 0, 2).sigmoid(), wh = pred.narrow(2, 2, 2).clamp(null, WH_CLIP).exp();
      const cx = xy.select(2, 0).add(xs).div(gw).mul(this.size), cy = xy.select(2, 1).add(ys).div(gh).mul(this.size);
      const w = wh.select(2, 0).mul(pw).mul(this.size), h = wh.select(2, 1).mul(ph).mul(this.size);
      return torch.stack([cx.sub(w.div(2)), cy.sub(h.div(2)), cx.add(w.div(2)), cy.add(h.div(2))], 2);
    });
  }

  /**
   * Assigns each object to (its centre's cell, the free prior of best shape IoU)
   * and returns the assigned flat indices per image and their targets.
   */
  assign(targets: DetectionTarget[], gh: number, gw: number): { image: number; index: number; gt: number; tx: number; ty: number; tw: number; th: number; label: number }[] {
    const a = this.priors.length;
    const out: { image: number; index: number; gt: number; tx: number; ty: number; tw: number; th: number; label: number }[] = [];
    targets.forEach((t, image) => {
      const boxes = t.boxes.tolist() as number[][], labels = t.labels.tolist() as number[];
      const taken = new Set<number>();
      boxes.forEach(([x1, y1, x2, y2], gt) => {
        const w = (x2 - x1) / this.size, h = (y2 - y1) / this.size;
        const cx = (x1 + x2) / 2 / this.size * gw, cy = (y1 + y2) / 2 / this.size * gh;
        const j = Math.min(gw - 1, Math.max(0, Math.floor(cx))), i = Math.min(gh - 1, Math.max(0, Math.floor(cy)));
        const order = this.priors.map(([pw, ph], p) => {
          const inter = Math.min(w, pw) * Math.min(h, ph);
          return { p, iou: inter / (w * h + pw * ph - inter) };
        }).sort((u, v) => v.iou - u.iou);
        const free = order.find(({ p }) => !taken.has((i * gw + j) * a + p));
        if (!free) return; // every prior of the cell already holds an object: this one goes unassigned
        const index = (i * gw + j) * a + free.p;
        taken.add(index);
        const [pw, ph] = this.priors[free.p];
        out.push({ image, index, gt, tx: cx - j, ty: cy - i, tw: Math.log(w / pw), th: Math.log(h / ph), label: labels[gt] - 1 });
      });
    });
    return out;
  }

  computeLoss(pred: Tensor, boxes: Tensor, targets: DetectionTarget[], gh: number, gw: number): Record<string, Tensor> {
    return torch.tidy(() => {
      const [n, m] = pred.shape;
      const assigned = this.assign(targets, gh, gw);
      const flat = torch.tensor(assigned.map((s) => s.image * m + s.index), { dtype: "int64" });
      const objTarget = torch.zeros([n * m]);
      const weight = torch.ones([n * m]);
      // Unassigned boxes that already cover an object well are neither object nor background.
      torch.noGrad(() => targets.forEach((t, b) => {
        if (t.boxes.shape[0] === 0) return;
        const best = boxIou(boxes.select(0, b).detach(), t.boxes).amax(1);
        weight.narrow(0, b * m, m).maskedFill_(best.gt(this.ignoreThresh), 0);
      }));
      const count = Math.max(1, assigned.length);
      if (assigned.length > 0) {
        objTarget.indexPut_([flat], 1);
        weight.indexPut_([flat], 1);
      }
      const flatPred = pred.reshape(n * m, -1);
      const objectness = F.binaryCrossEntropyWithLogits(flatPred.select(1, 4), objTarget, { reduction: "none" }).mul(weight).sum().div(count);
      if (assigned.length === 0) {
        // No objects in the batch: only the objectness term has a target; the others are zero but keep the graph.
        const zero = flatPred.sum().mul(0);
        return { objectness, classification: zero, bbox_regression: zero };
      }
      const p = flatPred.index(flat);
      const classification = F.crossEntropy(p.narrow(1, 5, p.shape[1] - 5), torch.tensor(assigned.map((s) => s.label), { dtype: "int64" }), { reduction: "sum" }).div(count);
      const xyTarget = torch.tensor(assigned.map((s) => [s.tx, s.ty]), { dtype: "float32" });
      const whTarget = torch.tensor(assigned.map((s) => [s.tw, s.th]), { dtype: "float32" });
      const bboxRegression = F.mseLoss(p.narrow(1, 0, 2).sigmoid(), xyTarget, { reduction: "sum" })
        .add(F.smoothL1Loss(p.narrow(1, 2, 2), whTarget, { reduction: "sum", beta: 1 })).div(count);
      return { objectness, classification, bbox_regression: bboxRegression };
    });
  }

  /** Scores objectness · class probability; per image the top-k above the threshold through batched NMS. */
  postprocessDetections(pred: Tensor, boxes: Tensor): DetectionResult[] {
    return torch.tidy(() => torch.noGrad(() => {
      const c = this.numClasses - 1;
      const scores = pred.select(2, 4).sigmoid().unsqueeze(2).mul(pred.narrow(2, 5, c).softmax(2)); // [B, M, C]
      const out: DetectionResult[] = [];
      for (let b = 0; b < pred.shape[0]; b++) {
        const s = scores.select(0, b).reshape(-1);
        const candidates = s.gt(this.scoreThresh).nonzero().select(1, 0);
        const { values, indices } = s.index(candidates).topk(Math.min(this.topkCandidates, candidates.shape[0]));
        const idx = candidates.index(indices);
        const labels = idx.remainder(c).add(1);
        const box = clipBoxesToImage(boxes.select(0, b).index(idx.div(c, { roundingMode: "floor" })), [this.size, this.size]);
        const keep = batchedNms(box, values, labels, this.nmsThresh);
        const top = keep.narrow(0, 0, Math.min(this.detectionsPerImg, keep.shape[0]));
        out.push({ boxes: box.index(top), scores: values.index(top), labels: labels.index(top) });
      }
      return out;
    }));
  }

  override extraRepr(): string { return `numClasses=${this.numClasses}, size=${this.size}, priors=${JSON.stringify(this.priors)}`; }
}

export interface YoloResnet18Options extends YOLOOptions {
  /** Classes with the background (as torchvision's num_classes; the background is never predicted). */
  numClasses: number;
}

/** The YOLO-style detector on a headless ResNet-18 (stride 32: an 8×8 grid at 256², 5 priors per cell). */
export function yoloResnet18(options: YoloResnet18Options): YOLO {
  const { numClasses, ...rest } = checkOptions(options, ["numClasses", ...YOLO_OPTIONS], "yoloResnet18()");
  return new YOLO(resnet18({ headless: true }), numClasses, rest);
}
