// The pairwise IoU family of torchvision.ops: box_iou, generalized_box_iou,
// distance_box_iou, complete_box_iou. boxes1 [N, 4] and boxes2 [M, 4] (xyxy)
// give an [N, M] matrix; torchvision 0.14's op sequence, so values and
// gradients match it.
import * as torch from "../../tensor/index.js";
import { Tensor, native } from "../../tensor/index.js";
import { checkBoxes, checkNumber, checkOptions } from "./_checks.js";
import { areaOf, upcast } from "./boxes.js";

function pair(fn: string, boxes1: Tensor, boxes2: Tensor): void {
  checkBoxes(boxes1, `${fn}(): boxes1`);
  checkBoxes(boxes2, `${fn}(): boxes2`);
}

/** Intersection and union areas [N, M] (torchvision's _box_inter_union). */
function interUnion(boxes1: Tensor, boxes2: Tensor): [Tensor, Tensor] {
  const area1 = areaOf(upcast(boxes1)), area2 = areaOf(upcast(boxes2));
  const lt = boxes1.index(":", null, ":2").maximum(boxes2.index(":", ":2"));   // [N, M, 2]
  const rb = boxes1.index(":", null, "2:").minimum(boxes2.index(":", "2:"));
  const wh = upcast(rb.sub(lt)).clamp(0);
  const inter = wh.select(2, 0).mul(wh.select(2, 1));
  const union = area1.index(":", null).add(area2).sub(inter);
  return [inter, union];
}

/** The width and height [N, M, 2] of the smallest box enclosing each pair. */
function enclosingWh(boxes1: Tensor, boxes2: Tensor): Tensor {
  const lti = boxes1.index(":", null, ":2").minimum(boxes2.index(":", ":2"));
  const rbi = boxes1.index(":", null, "2:").maximum(boxes2.index(":", "2:"));
  return upcast(rbi.sub(lti)).clamp(0);
}

/** The fused native kernel applies: float CPU boxes of one dtype, no gradient to track. */
function nativeIou(boxes1: Tensor, boxes2: Tensor): boolean {
  const d = boxes1.dtype;
  return (d === "float32" || d === "float64") && boxes2.dtype === d && boxes1.device === "cpu" && boxes2.device === "cpu"
    && (!torch.isGradEnabled() || (!boxes1.requiresGrad && !boxes2.requiresGrad));
}

/** Intersection over union [N, M] of two sets of boxes (torchvision.ops.box_iou). */
export function boxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  pair("boxIou", boxes1, boxes2);
  if (nativeIou(boxes1, boxes2)) {
    // One pass, the same arithmetic as the op sequence below (null: non-finite input).
    const handle = native.boxIou(boxes1.handle, boxes2.handle);
    if (handle !== null) return new Tensor(handle);
  }
  return torch.tidy(() => {
    const [inter, union] = interUnion(boxes1, boxes2);
    return inter.div(union);
  });
}

/** IoU minus the share of the enclosing box the union leaves empty (torchvision.ops.generalized_box_iou). */
export function generalizedBoxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  pair("generalizedBoxIou", boxes1, boxes2);
  return torch.tidy(() => {
    const [inter, union] = interUnion(boxes1, boxes2);
    const iou = inter.div(union);
    const whi = enclosingWh(boxes1, boxes2);
    const areai = whi.select(2, 0).mul(whi.select(2, 1));
    return iou.sub(areai.sub(union).div(areai));
  });
}

/** [diou, iou] (torchvision's _box_diou_iou) on upcast boxes. */
function diouIou(boxes1: Tensor, boxes2: Tensor, eps: number): [Tensor, Tensor] {
  const [inter, union] = interUnion(boxes1, boxes2);
  const iou = inter.div(union);
  const whi = enclosingWh(boxes1, boxes2);
  const diagonal = whi.select(2, 0).pow(2).add(whi.select(2, 1).pow(2)).add(eps);
  const [x1, y1, x2, y2] = boxes1.unbind(1), [gx1, gy1, gx2, gy2] = boxes2.unbind(1);
  const xp = x1.add(x2).div(2), yp = y1.add(y2).div(2);
  const xg = gx1.add(gx2).div(2), yg = gy1.add(gy2).div(2);
  const centres = upcast(xp.index(":", null).sub(xg.index(null, ":"))).pow(2)
    .add(upcast(yp.index(":", null).sub(yg.index(null, ":"))).pow(2));
  return [iou.sub(centres.div(diagonal)), iou];
}

function epsOption(options: { eps?: number } | undefined, fn: string): number {
  checkOptions(options, ["eps"], `${fn}()`);
  return options?.eps === undefined ? 1e-7 : checkNumber(options.eps, `${fn}(): eps`);
}

/** IoU minus the squared centre distance over the squared enclosing diagonal (torchvision.ops.distance_box_iou). */
export function distanceBoxIou(boxes1: Tensor, boxes2: Tensor, options?: { eps?: number }): Tensor {
  pair("distanceBoxIou", boxes1, boxes2);
  const eps = epsOption(options, "distanceBoxIou");
  return torch.tidy(() => diouIou(upcast(boxes1), upcast(boxes2), eps)[0]);
}

/** Distance IoU minus an aspect-ratio consistency term (torchvision.ops.complete_box_iou). */
export function completeBoxIou(boxes1: Tensor, boxes2: Tensor, options?: { eps?: number }): Tensor {
  pair("completeBoxIou", boxes1, boxes2);
  const eps = epsOption(options, "completeBoxIou");
  return torch.tidy(() => {
    const b1 = upcast(boxes1), b2 = upcast(boxes2);
    const [diou, iou] = diouIou(b1, b2, eps);
    const [x1, y1, x2, y2] = b1.unbind(1), [gx1, gy1, gx2, gy2] = b2.unbind(1);
    const wPred = x2.sub(x1).index(":", null), hPred = y2.sub(y1).index(":", null);
    const wGt = gx2.sub(gx1), hGt = gy2.sub(gy1);
    const v = wPred.div(hPred).atan().sub(wGt.div(hGt).atan()).pow(2).mul(4 / Math.PI ** 2);
    // torchvision computes alpha without gradient.
    const alpha = torch.noGrad(() => v.div(iou.neg().add(1).add(v).add(eps)));
    return diou.sub(alpha.mul(v));
  });
}
