// Anchor boxes the book's way (d2l 14.4): multibox_prior, assign_anchor_to_bbox,
// offset_boxes / offset_inverse, multibox_target and multibox_detection, with the
// book's exact arithmetic (same operations in the same order, float32), but
// batched: the book loops over images and anchors, these loop only over
// ground-truth boxes (the greedy matching) and, for NMS, over images.
//
// Coordinates are normalised (x / width, y / height) corners (x1, y1, x2, y2).
// One documented difference: multiboxTarget ignores padding rows (class −1), which
// the book's code matches like real boxes (its banana data never has any); with
// no padding the results are the book's.
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";
import * as torch from "../../tensor/index.js";
import type { Tensor } from "../../tensor/index.js";
import { boxIou } from "./iou.js";
import { nms } from "./nms.js";

function checkTensor(t: unknown, what: string): asserts t is Tensor {
  if (!(t instanceof torch.Tensor)) throw new FlareError(`${what} must be a Tensor`, "E_ARGUMENT");
}

function checkShape(t: Tensor, what: string, rank: number, expected: string, last?: number): void {
  const s = t.shape;
  if (s.length !== rank || (last !== undefined && s[rank - 1] !== last))
    throw new FlareError(`${what} must have shape ${expected}, got [${s.join(", ")}]`, "E_SHAPE");
  if (!torch.isFloating(t.dtype)) throw new FlareError(`${what} must be a floating tensor, got ${t.dtype}`, "E_DTYPE");
}

function checkFinite(t: Tensor, what: string): void {
  if (t.numel() > 0 && !torch.tidy(() => t.isfinite().all().item()))
    throw new FlareError(`${what} has NaN or infinite values`, "E_ARGUMENT");
}

function checkOrdered(boxes: Tensor, what: string): void {
  if (boxes.shape[0] === 0) return;
  const bad = torch.tidy(() => boxes.select(1, 2).lt(boxes.select(1, 0)).logicalOr(boxes.select(1, 3).lt(boxes.select(1, 1))));
  const first = torch.tidy(() => bad.any().item() ? (bad.nonzero().index(0, 0).item() as number) : -1);
  bad.dispose();
  if (first >= 0) throw new FlareError(`${what}[${first}] has x2 < x1 or y2 < y1 (${JSON.stringify(torch.tidy(() => boxes.select(0, first).tolist()))})`, "E_ARGUMENT");
}

function checkNumbers(values: unknown, what: string, positive: (v: number) => boolean, range: string): number[] {
  if (!Array.isArray(values) || values.length === 0) throw new FlareError(`${what} must be a non-empty array of numbers`, "E_ARGUMENT");
  for (const v of values)
    if (typeof v !== "number" || !Number.isFinite(v) || !positive(v)) throw new FlareError(`${what} must hold numbers ${range}, got ${String(v)}`, "E_ARGUMENT");
  return values as number[];
}

/**
 * d2l's multibox_prior: n + m − 1 anchors centred on every pixel of data's last
 * two dimensions (H, W): every size with ratios[0], then sizes[0] with every other
 * ratio. Centres at ((j + 0.5) / W, (i + 0.5) / H); normalised width
 * s·√r·H/W and height s/√r (the book's code: both scale with the image height).
 * Not clipped. Returns [1, H·W·(n+m−1), 4], pixels row-major, each pixel's
 * anchors consecutive.
 */
export function multiboxPrior(data: Tensor, sizes: number[], ratios: number[]): Tensor {
  checkTensor(data, "multiboxPrior(): data");
  if (data.dim() < 2) throw new FlareError(`multiboxPrior(): data must have at least 2 dimensions (…, H, W), got [${data.shape.join(", ")}]`, "E_SHAPE");
  checkNumbers(sizes, "multiboxPrior(): sizes", (v) => v > 0, "> 0");
  checkNumbers(ratios, "multiboxPrior(): ratios", (v) => v > 0, "> 0");
  const [inHeight, inWidth] = data.shape.slice(-2);
  if (inHeight === 0 || inWidth === 0) throw new FlareError(`multiboxPrior(): data has an empty feature map (H ${inHeight}, W ${inWidth}): no anchors`, "E_SHAPE");
  const device = data.device;
  const boxesPerPixel = sizes.length + ratios.length - 1;
  return torch.tidy(() => {
    const sizeTensor = torch.tensor(sizes, { device });
    const ratioTensor = torch.tensor(ratios, { device });
    const centerH = torch.arange(inHeight, { device }).add(0.5).mul(1.0 / inHeight);
    const centerW = torch.arange(inWidth, { device }).add(0.5).mul(1.0 / inWidth);
    // meshgrid(center_h, center_w, indexing="ij"), flattened row-major.
    const shiftY = centerH.index(":", null).expand(inHeight, inWidth).reshape(-1);
    const shiftX = centerW.index(null, ":").expand(inHeight, inWidth).reshape(-1);
    const sqrtR = ratioTensor.sqrt();
    const sqrtRest = sqrtR.slice(0, 1);   // √ratios[1:]
    const w = torch.cat([sizeTensor.mul(sqrtR.select(0, 0)), sqrtRest.mul(sizes[0])]).mul(inHeight).div(inWidth);
    const h = torch.cat([sizeTensor.div(sqrtR.select(0, 0)), sqrtRest.reciprocal().mul(sizes[0])]);
    const manipulations = torch.stack([w.neg(), h.neg(), w, h]).t().repeat(inHeight * inWidth, 1).div(2);
    const grid = torch.stack([shiftX, shiftY, shiftX, shiftY], 1).repeatInterleave(boxesPerPixel, 0);
    return grid.add(manipulations).unsqueeze(0);
  });
}

/**
 * The greedy matching of d2l's assign_anchor_to_bbox, batched: iou [B, N, M]
 * (anchors × boxes; columns of padding boxes set to −1 beforehand). First every
 * anchor whose best IoU is ≥ iouThreshold takes that box; then, once per box, the
 * largest remaining IoU (first in row-major order on ties) assigns its anchor to
 * its box, overriding, and that row and column are discarded. Returns int64 [B, N],
 * −1 for unassigned anchors.
 */
function assignBatched(iou: Tensor, iouThreshold: number): Tensor {
  const [batch, numAnchors, numBoxes] = iou.shape;
  const device = iou.device;
  if (numBoxes === 0) return torch.full([batch, numAnchors], -1, { dtype: "int64", device });
  // Discards are written in place into one copy (the loop would otherwise keep M copies alive until tidy ends).
  const jaccard = iou.clone();
  const { values: maxIous, indices } = jaccard.max(2);
  const map = torch.where(maxIous.ge(iouThreshold), indices, torch.full([batch, numAnchors], -1, { dtype: "int64", device }));
  const boxIds = torch.arange(numBoxes, { device }).index(null, ":");
  const anchorIds = torch.arange(numAnchors, { device }).index(null, ":");
  for (let k = 0; k < numBoxes; k++) {
    const { values: best, indices: flat } = jaccard.reshape(batch, numAnchors * numBoxes).max(1);
    // Discarded cells are −1 (IoU ≥ 0): an image with no box left has nothing to assign.
    const ok = best.ge(0);
    if (!(ok.any().item())) break;
    const boxIdx = flat.remainder(numBoxes), ancIdx = flat.div(numBoxes, { roundingMode: "floor" });
    const current = map.gather(1, ancIdx.unsqueeze(1)).squeeze(1);
    map.scatter_(1, ancIdx.unsqueeze(1), torch.where(ok, boxIdx, current).unsqueeze(1));
    const col = boxIds.eq(boxIdx.unsqueeze(1)).logicalAnd(ok.unsqueeze(1));     // [B, M]
    const row = anchorIds.eq(ancIdx.unsqueeze(1)).logicalAnd(ok.unsqueeze(1));  // [B, N]
    jaccard.maskedFill_(col.unsqueeze(1), -1).maskedFill_(row.unsqueeze(2), -1);
  }
  return map;
}

function thresholdArg(value: unknown, what: string): number {
  if (typeof value !== "number" || Number.isNaN(value)) throw new FlareError(`${what} must be a number, got ${String(value)}`, "E_ARGUMENT");
  return value;
}

/**
 * d2l's assign_anchor_to_bbox: for each of the N anchors the index of the
 * ground-truth box it is assigned to, or −1 (int64 [N]). Greedy maximum matching
 * gives every box an anchor; the other anchors take their best box when its IoU is
 * ≥ iouThreshold (0.5). `device` is accepted for the book's signature (the result
 * is on the anchors' device). The book leaves n_boxes > n_anchors undefined: here
 * the boxes left without an anchor assign nothing.
 */
export function assignAnchorToBbox(groundTruth: Tensor, anchors: Tensor, device?: string | null, options: { iouThreshold?: number } | number = {}): Tensor {
  checkTensor(groundTruth, "assignAnchorToBbox(): groundTruth");
  checkTensor(anchors, "assignAnchorToBbox(): anchors");
  checkShape(groundTruth, "assignAnchorToBbox(): groundTruth", 2, "[numBoxes, 4]", 4);
  checkShape(anchors, "assignAnchorToBbox(): anchors", 2, "[numAnchors, 4]", 4);
  if (device !== undefined && device !== null && typeof device !== "string") throw new FlareError("assignAnchorToBbox(): device must be a string such as \"cpu\"", "E_ARGUMENT");
  const opts = typeof options === "number" ? { iouThreshold: options } : checkOptions(options, ["iouThreshold"], "assignAnchorToBbox()");
  const iouThreshold = thresholdArg(opts.iouThreshold ?? 0.5, "assignAnchorToBbox(): iouThreshold");
  if (anchors.shape[0] === 0) throw new FlareError("assignAnchorToBbox(): anchors is empty", "E_SHAPE");
  checkFinite(groundTruth, "assignAnchorToBbox(): groundTruth");
  checkFinite(anchors, "assignAnchorToBbox(): anchors");
  checkOrdered(groundTruth, "assignAnchorToBbox(): groundTruth");
  return torch.tidy(() => {
    if (groundTruth.shape[0] === 0) return torch.full([anchors.shape[0]], -1, { dtype: "int64", device: anchors.device });
    return assignBatched(boxIou(anchors, groundTruth).unsqueeze(0), iouThreshold).squeeze(0);
  });
}

/** (x1, y1, x2, y2) → (cx, cy, w, h) on the last dimension, as d2l's box_corner_to_center. */
function cornerToCenter(boxes: Tensor): Tensor {
  const [x1, y1, x2, y2] = boxes.unbind(-1);
  return torch.stack([x1.add(x2).div(2), y1.add(y2).div(2), x2.sub(x1), y2.sub(y1)], -1);
}

/** (cx, cy, w, h) → (x1, y1, x2, y2) on the last dimension, as d2l's box_center_to_corner. */
function centerToCorner(boxes: Tensor): Tensor {
  const [cx, cy, w, h] = boxes.unbind(-1);
  const hw = w.mul(0.5), hh = h.mul(0.5);
  return torch.stack([cx.sub(hw), cy.sub(hh), cx.add(hw), cy.add(hh)], -1);
}

function checkBoxPair(a: Tensor, b: Tensor, what: string, aName: string, bName: string): void {
  checkTensor(a, `${what}: ${aName}`);
  checkTensor(b, `${what}: ${bName}`);
  if (a.dim() < 1 || a.shape[a.dim() - 1] !== 4) throw new FlareError(`${what}: ${aName} must have shape [..., 4], got [${a.shape.join(", ")}]`, "E_SHAPE");
  if (b.dim() < 1 || b.shape[b.dim() - 1] !== 4) throw new FlareError(`${what}: ${bName} must have shape [..., 4], got [${b.shape.join(", ")}]`, "E_SHAPE");
}

/**
 * d2l's offset_boxes: the offsets of boxes from their anchors, [..., 4] (anchors
 * broadcast against assignedBb): 10·Δxy / w_a, 5·ln(eps + wh_b / wh_a).
 */
export function offsetBoxes(anchors: Tensor, assignedBb: Tensor, eps = 1e-6): Tensor {
  checkBoxPair(anchors, assignedBb, "offsetBoxes()", "anchors", "assignedBb");
  if (typeof eps !== "number" || !Number.isFinite(eps)) throw new FlareError(`offsetBoxes(): eps must be a finite number, got ${String(eps)}`, "E_ARGUMENT");
  return torch.tidy(() => {
    const cAnc = cornerToCenter(anchors), cBb = cornerToCenter(assignedBb);
    const ancXy = cAnc.narrow(-1, 0, 2), ancWh = cAnc.narrow(-1, 2, 2);
    const offsetXy = cBb.narrow(-1, 0, 2).sub(ancXy).mul(10).div(ancWh);
    const offsetWh = cBb.narrow(-1, 2, 2).div(ancWh).add(eps).log().mul(5);
    return torch.cat([offsetXy, offsetWh], -1);
  });
}

/** d2l's offset_inverse: boxes (corners) from anchors and predicted offsets, [..., 4]. */
export function offsetInverse(anchors: Tensor, offsetPreds: Tensor): Tensor {
  checkBoxPair(anchors, offsetPreds, "offsetInverse()", "anchors", "offsetPreds");
  return torch.tidy(() => {
    const anc = cornerToCenter(anchors);
    const ancXy = anc.narrow(-1, 0, 2), ancWh = anc.narrow(-1, 2, 2);
    const xy = offsetPreds.narrow(-1, 0, 2).mul(ancWh).div(10).add(ancXy);
    const wh = offsetPreds.narrow(-1, 2, 2).div(5).exp().mul(ancWh);
    return centerToCorner(torch.cat([xy, wh], -1));
  });
}

function checkAnchors(anchors: Tensor, what: string): void {
  checkTensor(anchors, `${what}: anchors`);
  const s = anchors.shape;
  if (!(s.length === 3 && s[0] === 1 && s[2] === 4) && !(s.length === 2 && s[1] === 4))
    throw new FlareError(`${what}: anchors must have shape [1, numAnchors, 4] (or [numAnchors, 4]), got [${s.join(", ")}]`, "E_SHAPE");
  if (!torch.isFloating(anchors.dtype)) throw new FlareError(`${what}: anchors must be a floating tensor, got ${anchors.dtype}`, "E_DTYPE");
  if (s[s.length - 2] === 0) throw new FlareError(`${what}: anchors is empty (0 anchors)`, "E_SHAPE");
}

/**
 * d2l's multibox_target: the training targets of every anchor for a batch.
 * labels [B, maxObjects, 5] rows (class, x1, y1, x2, y2) in normalised corners,
 * class −1 for padding rows (ignored). Each anchor is matched by
 * assignAnchorToBbox (threshold 0.5); returns
 * [bboxOffset [B, 4N] (0 for background anchors), bboxMask [B, 4N] (1 for
 * anchors assigned a box), classLabels int64 [B, N] (0 background, class + 1)].
 */
export function multiboxTarget(anchors: Tensor, labels: Tensor): [Tensor, Tensor, Tensor] {
  checkAnchors(anchors, "multiboxTarget()");
  checkTensor(labels, "multiboxTarget(): labels");
  checkShape(labels, "multiboxTarget(): labels", 3, "[batch, maxObjects, 5]", 5);
  checkFinite(labels, "multiboxTarget(): labels");
  checkFinite(anchors, "multiboxTarget(): anchors");
  torch.tidy(() => {
    const cls = labels.select(2, 0);
    const valid = cls.ge(0);
    if (!(cls.eq(-1).logicalOr(valid.logicalAnd(cls.eq(cls.floor()))).all().item()))
      throw new FlareError("multiboxTarget(): labels[..., 0] must hold class indices 0, 1, … or −1 for padding rows", "E_ARGUMENT");
    const boxes = labels.narrow(2, 1, 4);
    const bad = boxes.select(2, 2).lt(boxes.select(2, 0)).logicalOr(boxes.select(2, 3).lt(boxes.select(2, 1))).logicalAnd(valid);
    if (bad.any().item()) {
      const [b, m] = bad.nonzero().select(0, 0).tolist() as number[];
      throw new FlareError(`multiboxTarget(): labels[${b}, ${m}] has x2 < x1 or y2 < y1 (${JSON.stringify(labels.select(0, b).select(0, m).tolist())})`, "E_ARGUMENT");
    }
  });
  return torch.tidy(() => {
    const anc = anchors.dim() === 3 ? anchors.squeeze(0) : anchors;
    const [batch, numObjects] = labels.shape;
    const numAnchors = anc.shape[0];
    const gt = labels.narrow(2, 1, 4);
    const valid = labels.select(2, 0).ge(0);
    // IoU of every anchor with every box of every image: [B, N, M]; padding columns −1.
    const iou = numObjects === 0 ? torch.zeros([batch, numAnchors, 0], { device: anc.device })
      : boxIou(anc, gt.reshape(-1, 4)).reshape(numAnchors, batch, numObjects).permute(1, 0, 2);
    const map = assignBatched(iou.maskedFill(valid.logicalNot().unsqueeze(1), -1), 0.5);
    const positive = map.ge(0);
    const bboxMask = positive.to(anc.dtype).unsqueeze(-1).repeat(1, 1, 4);
    const idx = map.clamp(0);
    const safeLabels = numObjects === 0 ? torch.zeros([batch, 1, 5], { dtype: labels.dtype, device: labels.device }) : labels;
    const matched = safeLabels.gather(1, idx.unsqueeze(-1).expand(batch, numAnchors, 5));   // [B, N, 5]
    const classLabels = torch.where(positive, matched.select(2, 0).to("int64").add(1), torch.zeros([], { dtype: "int64", device: anc.device }));
    const assignedBb = torch.where(positive.unsqueeze(-1), matched.narrow(2, 1, 4), torch.zeros([], { dtype: labels.dtype, device: anc.device }));
    const offset = offsetBoxes(anc.unsqueeze(0), assignedBb).mul(bboxMask);
    return [offset.reshape(batch, -1), bboxMask.reshape(batch, -1), classLabels] as [Tensor, Tensor, Tensor];
  });
}

export interface MultiboxDetectionOptions {
  /** NMS IoU threshold (0.5). */
  nmsThreshold?: number;
  /** Detections whose confidence is below this become background (0.009999999). */
  posThreshold?: number;
}

/**
 * d2l's multibox_detection: clsProbs [B, C + 1, N] (row 0 background),
 * offsetPreds [B, 4N], anchors [1, N, 4] → [B, N, 6] rows (class id, confidence,
 * x1, y1, x2, y2). Per anchor the most likely object class; boxes from
 * offsetInverse; class-agnostic NMS. Rows are the kept anchors by decreasing
 * confidence, then the others by index with class −1; confidence below
 * posThreshold gives class −1 and confidence 1 − conf. Nothing is dropped.
 */
export function multiboxDetection(clsProbs: Tensor, offsetPreds: Tensor, anchors: Tensor, options: MultiboxDetectionOptions = {}): Tensor {
  options = checkOptions(options, ["nmsThreshold", "posThreshold"], "multiboxDetection()");
  const nmsThreshold = thresholdArg(options.nmsThreshold ?? 0.5, "multiboxDetection(): nmsThreshold");
  const posThreshold = thresholdArg(options.posThreshold ?? 0.009999999, "multiboxDetection(): posThreshold");
  checkAnchors(anchors, "multiboxDetection()");
  checkTensor(clsProbs, "multiboxDetection(): clsProbs");
  checkTensor(offsetPreds, "multiboxDetection(): offsetPreds");
  const numAnchors = anchors.shape[anchors.dim() - 2];
  checkShape(clsProbs, "multiboxDetection(): clsProbs", 3, `[batch, numClasses + 1, ${numAnchors}]`);
  const [batch, numClasses, n] = clsProbs.shape;
  if (n !== numAnchors || numClasses < 2)
    throw new FlareError(`multiboxDetection(): clsProbs must have shape [batch, numClasses + 1 (≥ 2), ${numAnchors}] (anchors on dim 2), got [${clsProbs.shape.join(", ")}]`, "E_SHAPE");
  checkShape(offsetPreds, "multiboxDetection(): offsetPreds", 2, `[${batch}, ${4 * numAnchors}]`);
  if (offsetPreds.shape[0] !== batch || offsetPreds.shape[1] !== 4 * numAnchors)
    throw new FlareError(`multiboxDetection(): offsetPreds must have shape [${batch}, ${4 * numAnchors}], got [${offsetPreds.shape.join(", ")}]`, "E_SHAPE");
  if (batch === 0) return torch.zeros([0, numAnchors, 6], { dtype: clsProbs.dtype, device: clsProbs.device });
  return torch.tidy(() => {
    const anc = anchors.dim() === 3 ? anchors.squeeze(0) : anchors;
    const { values: conf, indices: classId } = clsProbs.narrow(1, 1, numClasses - 1).max(1);    // [B, N]
    const predictedBb = offsetInverse(anc.unsqueeze(0), offsetPreds.reshape(batch, numAnchors, 4));
    // Per image: the NMS survivors by decreasing confidence, then the rest by index.
    const orders: Tensor[] = [];
    const kept: Tensor[] = [];
    for (let b = 0; b < batch; b++) {
      const keep = nms(predictedBb.select(0, b), conf.select(0, b), nmsThreshold);
      const isKept = torch.zeros([numAnchors], { dtype: "bool", device: anc.device }).indexPut_([keep], true);
      orders.push(torch.cat([keep, isKept.logicalNot().nonzero().reshape(-1)]));
      kept.push(isKept);
    }
    const order = torch.stack(orders);
    const keptMask = torch.stack(kept);
    const minusOne = torch.full([], -1, { dtype: "int64", device: anc.device });
    const cls = torch.where(keptMask, classId, minusOne).gather(1, order);
    const c = conf.gather(1, order);
    const boxes = predictedBb.gather(1, order.unsqueeze(-1).expand(batch, numAnchors, 4));
    const below = c.lt(posThreshold);
    const outCls = torch.where(below, minusOne, cls).to(c.dtype);
    const outConf = torch.where(below, c.neg().add(1), c);
    return torch.cat([outCls.unsqueeze(-1), outConf.unsqueeze(-1), boxes], -1);
  });
}
