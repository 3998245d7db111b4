// torchvision.ops' detection losses: the IoU-family box regression losses
// (generalized_box_iou_loss, distance_box_iou_loss, complete_box_iou_loss) on
// matched pairs of boxes [N, 4] (or [4]), and sigmoid_focal_loss (RetinaNet).
// torchvision 0.14's op sequence, so values and gradients match it.
import { FlareError } from "../../errors.js";
import * as torch from "../../tensor/index.js";
import type { Tensor } from "../../tensor/index.js";
import { binaryCrossEntropyWithLogits } from "../../nn/functional.js";
import { checkBoxes, checkNumber, checkOptions, checkReduction, checkTensor, type Reduction } from "./_checks.js";

export interface BoxLossOptions {
  /** "none" (default: one loss per pair), "mean" or "sum". */
  reduction?: Reduction;
  /** Added to denominators (default 1e-7). */
  eps?: number;
}

/** torchvision's _upcast_non_float: anything but float32/float64 becomes float32. */
function upcastNonFloat(t: Tensor): Tensor {
  return t.dtype === "float32" || t.dtype === "float64" ? t : t.to("float32");
}

function pairArgs(fn: string, boxes1: Tensor, boxes2: Tensor, options: BoxLossOptions | undefined): { reduction: Reduction; eps: number } {
  checkBoxes(boxes1, `${fn}(): boxes1`, true);
  checkBoxes(boxes2, `${fn}(): boxes2`, true);
  if (boxes1.shape.join() !== boxes2.shape.join())
    throw new FlareError(`${fn}(): boxes1 [${boxes1.shape.join(", ")}] and boxes2 [${boxes2.shape.join(", ")}] must have the same shape (one pair per row)`, "E_SHAPE");
  checkOptions(options, ["reduction", "eps"], `${fn}()`);
  return {
    reduction: checkReduction(options?.reduction, `${fn}()`),
    eps: options?.eps === undefined ? 1e-7 : checkNumber(options.eps, `${fn}(): eps`),
  };
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === "mean") return loss.numel() > 0 ? loss.mean() : loss.sum().mul(0.0);
  if (reduction === "sum") return loss.sum();
  return loss;
}

/** Intersection and union of matched pairs (torchvision's _loss_inter_union). */
function lossInterUnion(boxes1: Tensor, boxes2: Tensor): [Tensor, Tensor] {
  const [x1, y1, x2, y2] = boxes1.unbind(-1), [x1g, y1g, x2g, y2g] = boxes2.unbind(-1);
  const xk1 = x1.maximum(x1g), yk1 = y1.maximum(y1g), xk2 = x2.minimum(x2g), yk2 = y2.minimum(y2g);
  const mask = yk2.gt(yk1).logicalAnd(xk2.gt(xk1));
  // torchvision assigns through the mask; where() gives the same values and gradients.
  const inter = torch.where(mask, xk2.sub(xk1).mul(yk2.sub(yk1)), 0);
  const union = x2.sub(x1).mul(y2.sub(y1)).add(x2g.sub(x1g).mul(y2g.sub(y1g))).sub(inter);
  return [inter, union];
}

/** The corners of the smallest box enclosing each pair. */
function enclosing(boxes1: Tensor, boxes2: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  const [x1, y1, x2, y2] = boxes1.unbind(-1), [x1g, y1g, x2g, y2g] = boxes2.unbind(-1);
  return [x1.minimum(x1g), y1.minimum(y1g), x2.maximum(x2g), y2.maximum(y2g)];
}

/** 1 − GIoU of each pair (torchvision.ops.generalized_box_iou_loss). */
export function generalizedBoxIouLoss(boxes1: Tensor, boxes2: Tensor, options?: BoxLossOptions): Tensor {
  const { reduction, eps } = pairArgs("generalizedBoxIouLoss", boxes1, boxes2, options);
  return torch.tidy(() => {
    const b1 = upcastNonFloat(boxes1), b2 = upcastNonFloat(boxes2);
    const [inter, union] = lossInterUnion(b1, b2);
    const iou = inter.div(union.add(eps));
    const [xc1, yc1, xc2, yc2] = enclosing(b1, b2);
    const areaC = xc2.sub(xc1).mul(yc2.sub(yc1));
    const giou = iou.sub(areaC.sub(union).div(areaC.add(eps)));
    return reduce(giou.neg().add(1), reduction);
  });
}

/** [1 − DIoU, IoU] of each pair (torchvision's _diou_iou_loss). */
function diouIouLoss(b1: Tensor, b2: Tensor, eps: number): [Tensor, Tensor] {
  const [inter, union] = lossInterUnion(b1, b2);
  const iou = inter.div(union.add(eps));
  const [xc1, yc1, xc2, yc2] = enclosing(b1, b2);
  const diagonal = xc2.sub(xc1).pow(2).add(yc2.sub(yc1).pow(2)).add(eps);
  const [x1, y1, x2, y2] = b1.unbind(-1), [x1g, y1g, x2g, y2g] = b2.unbind(-1);
  const xp = x2.add(x1).div(2), yp = y2.add(y1).div(2), xg = x1g.add(x2g).div(2), yg = y1g.add(y2g).div(2);
  const centres = xp.sub(xg).pow(2).add(yp.sub(yg).pow(2));
  return [iou.neg().add(1).add(centres.div(diagonal)), iou];
}

/** 1 − DIoU of each pair (torchvision.ops.distance_box_iou_loss). */
export function distanceBoxIouLoss(boxes1: Tensor, boxes2: Tensor, options?: BoxLossOptions): Tensor {
  const { reduction, eps } = pairArgs("distanceBoxIouLoss", boxes1, boxes2, options);
  return torch.tidy(() => reduce(diouIouLoss(upcastNonFloat(boxes1), upcastNonFloat(boxes2), eps)[0], reduction));
}

/** 1 − CIoU of each pair (torchvision.ops.complete_box_iou_loss). */
export function completeBoxIouLoss(boxes1: Tensor, boxes2: Tensor, options?: BoxLossOptions): Tensor {
  const { reduction, eps } = pairArgs("completeBoxIouLoss", boxes1, boxes2, options);
  return torch.tidy(() => {
    const b1 = upcastNonFloat(boxes1), b2 = upcastNonFloat(boxes2);
    // torchvision 0.14 calls _diou_iou_loss here with its default eps (1e-7), not the caller's.
    const [diouLoss, iou] = diouIouLoss(b1, b2, 1e-7);
    const [x1, y1, x2, y2] = b1.unbind(-1), [x1g, y1g, x2g, y2g] = b2.unbind(-1);
    const wPred = x2.sub(x1), hPred = y2.sub(y1), wGt = x2g.sub(x1g), hGt = y2g.sub(y1g);
    const v = wGt.div(hGt).atan().sub(wPred.div(hPred).atan()).pow(2).mul(4 / Math.PI ** 2);
    const alpha = torch.noGrad(() => v.div(iou.neg().add(1).add(v).add(eps)));
    return reduce(diouLoss.add(alpha.mul(v)), reduction);
  });
}

export interface SigmoidFocalLossOptions {
  /** Weight of the positive class in (0, 1), or a negative number for none (default 0.25). */
  alpha?: number;
  /** Exponent of the modulating factor (1 − p_t) (default 2). */
  gamma?: number;
  reduction?: Reduction;
}

/** RetinaNet's focal loss on logits and same-shaped 0/1 targets (torchvision.ops.sigmoid_focal_loss). */
export function sigmoidFocalLoss(inputs: Tensor, targets: Tensor, options?: SigmoidFocalLossOptions): Tensor {
  const fn = "sigmoidFocalLoss()";
  checkTensor(inputs, `${fn}: inputs`);
  checkTensor(targets, `${fn}: targets`);
  if (inputs.shape.join() !== targets.shape.join())
    throw new FlareError(`${fn}: targets [${targets.shape.join(", ")}] must have the shape of inputs [${inputs.shape.join(", ")}]`, "E_SHAPE");
  checkOptions(options, ["alpha", "gamma", "reduction"], fn);
  const alpha = options?.alpha === undefined ? 0.25 : checkNumber(options.alpha, `${fn}: alpha`);
  const gamma = options?.gamma === undefined ? 2 : checkNumber(options.gamma, `${fn}: gamma`);
  const reduction = checkReduction(options?.reduction, fn);
  return torch.tidy(() => {
    const p = inputs.sigmoid();
    const ce = binaryCrossEntropyWithLogits(inputs, targets, { reduction: "none" });
    const notTargets = targets.neg().add(1);
    const pT = p.mul(targets).add(p.neg().add(1).mul(notTargets));
    let loss = ce.mul(pT.neg().add(1).pow(gamma));
    if (alpha >= 0) loss = targets.mul(alpha).add(notTargets.mul(1 - alpha)).mul(loss);
    if (reduction === "mean") return loss.mean();
    if (reduction === "sum") return loss.sum();
    return loss;
  });
}
