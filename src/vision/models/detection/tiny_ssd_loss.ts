// The book's TinySSD training loss and its two evaluation measures (d2l 14.7):
// calc_loss, cls_eval and bbox_eval.
import { FlareError } from "../../../errors.js";
import * as F from "../../../nn/functional.js";
import * as torch from "../../../tensor/index.js";
import type { Tensor } from "../../../tensor/index.js";

function checkPreds(clsPreds: Tensor, clsLabels: Tensor, what: string): void {
  if (!(clsPreds instanceof torch.Tensor) || clsPreds.dim() !== 3)
    throw new FlareError(`${what}: clsPreds must have shape [batch, numAnchors, numClasses + 1]`, "E_SHAPE");
  const [b, n] = clsPreds.shape;
  if (!(clsLabels instanceof torch.Tensor) || clsLabels.dim() !== 2 || clsLabels.shape[0] !== b || clsLabels.shape[1] !== n)
    throw new FlareError(`${what}: clsLabels must have shape [${b}, ${n}] (clsPreds' batch and anchors), got ${clsLabels instanceof torch.Tensor ? `[${clsLabels.shape.join(", ")}]` : typeof clsLabels}`, "E_SHAPE");
}

function checkBoxes(bboxPreds: Tensor, bboxLabels: Tensor, bboxMasks: Tensor, what: string): void {
  for (const [name, t] of [["bboxPreds", bboxPreds], ["bboxLabels", bboxLabels], ["bboxMasks", bboxMasks]] as const)
    if (!(t instanceof torch.Tensor) || t.dim() !== 2) throw new FlareError(`${what}: ${name} must have shape [batch, 4 · numAnchors]`, "E_SHAPE");
  const shape = bboxPreds.shape.join(", ");
  if (bboxLabels.shape.join(", ") !== shape || bboxMasks.shape.join(", ") !== shape)
    throw new FlareError(`${what}: bboxPreds [${shape}], bboxLabels [${bboxLabels.shape.join(", ")}] and bboxMasks [${bboxMasks.shape.join(", ")}] must have the same shape`, "E_SHAPE");
}

/**
 * d2l's calc_loss, per image ([batch]): cross entropy of the class predictions
 * averaged over the anchors, plus the L1 distance of the masked offsets averaged
 * over all 4N entries (background zeros included). Train on its mean.
 */
export function calcLoss(clsPreds: Tensor, clsLabels: Tensor, bboxPreds: Tensor, bboxLabels: Tensor, bboxMasks: Tensor): Tensor {
  checkPreds(clsPreds, clsLabels, "calcLoss()");
  checkBoxes(bboxPreds, bboxLabels, bboxMasks, "calcLoss()");
  if (bboxPreds.shape[0] !== clsPreds.shape[0] || bboxPreds.shape[1] !== 4 * clsPreds.shape[1])
    throw new FlareError(`calcLoss(): bboxPreds must have shape [${clsPreds.shape[0]}, ${4 * clsPreds.shape[1]}], got [${bboxPreds.shape.join(", ")}]`, "E_SHAPE");
  if (clsLabels.dtype !== "int64") throw new FlareError(`calcLoss(): clsLabels must be int64 class indices (multiboxTarget's), got ${clsLabels.dtype}`, "E_DTYPE");
  const numClasses = clsPreds.shape[2];
  if (clsLabels.numel() > 0 && torch.tidy(() => clsLabels.lt(0).logicalOr(clsLabels.ge(numClasses)).any().item()))
    throw new FlareError(`calcLoss(): clsLabels holds a class outside 0..${numClasses - 1} (background 0 and ${numClasses - 1} object classes, from clsPreds' last dimension)`, "E_ARGUMENT");
  return torch.tidy(() => {
    const batchSize = clsPreds.shape[0];
    const cls = F.crossEntropy(clsPreds.reshape(-1, numClasses), clsLabels.reshape(-1), { reduction: "none" }).reshape(batchSize, -1).mean(1);
    const bbox = F.l1Loss(bboxPreds.mul(bboxMasks), bboxLabels.mul(bboxMasks), { reduction: "none" }).mean(1);
    return cls.add(bbox);
  });
}

/** d2l's cls_eval: how many anchors' most likely class equals their label. */
export function clsEval(clsPreds: Tensor, clsLabels: Tensor): number {
  checkPreds(clsPreds, clsLabels, "clsEval()");
  return torch.tidy(() => Number(clsPreds.argmax(-1).to(clsLabels.dtype).eq(clsLabels).sum().item()));
}

/** d2l's bbox_eval: the summed absolute error of the masked offsets. */
export function bboxEval(bboxPreds: Tensor, bboxLabels: Tensor, bboxMasks: Tensor): number {
  checkBoxes(bboxPreds, bboxLabels, bboxMasks, "bboxEval()");
  return torch.tidy(() => Number(bboxLabels.sub(bboxPreds).mul(bboxMasks).abs().sum().item()));
}
