// Non-maximum suppression (torchvision.ops.nms, batched_nms) on the native
// kernel of native/nms.cc: IoU computed on the fly, never an N×N matrix.
import { FlareError } from "../../errors.js";
import * as torch from "../../tensor/index.js";
import { Tensor, native } from "../../tensor/index.js";
import { checkBoxes, checkNumber, checkTensor } from "./_checks.js";

/** Shapes and types, checked here so messages name the call; the kernel checks dtypes, NaN and devices. */
function checkInputs(fn: string, boxes: Tensor, scores: Tensor, iouThreshold: number): void {
  checkBoxes(boxes, `${fn}(): boxes`);
  checkTensor(scores, `${fn}(): scores`);
  if (scores.ndim !== 1 || scores.shape[0] !== boxes.shape[0])
    throw new FlareError(`${fn}(): scores must have shape [${boxes.shape[0]}], got [${scores.shape.join(", ")}]`, "E_SHAPE");
  checkNumber(iouThreshold, `${fn}(): iouThreshold`);
}

/**
 * Greedy non-maximum suppression (torchvision.ops.nms): the indices (int64)
 * of the boxes kept, by decreasing score (equal scores by index), dropping
 * every box whose IoU with a higher-scoring kept box is > iouThreshold.
 * boxes [N, 4] xyxy and scores [N] of one float dtype; NaN scores or
 * non-finite coordinates are a FlareError.
 */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor {
  checkInputs("nms", boxes, scores, iouThreshold);
  return new Tensor(native.nms(boxes.handle, scores.handle, iouThreshold));
}

/**
 * NMS within each category (torchvision.ops.batched_nms): boxes whose idxs
 * differ never suppress each other. The kept indices (int64) by decreasing
 * score. As torchvision on the CPU: up to 1,000 boxes (20,000 on CUDA) it
 * offsets each category's boxes so categories cannot overlap and runs one
 * nms; above, it runs the categories apart (the native kernel does that in
 * one call), so both give torchvision's kept set.
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  checkInputs("batchedNms", boxes, scores, iouThreshold);
  checkTensor(idxs, "batchedNms(): idxs");
  if (idxs.ndim !== 1 || idxs.shape[0] !== boxes.shape[0])
    throw new FlareError(`batchedNms(): idxs must have shape [${boxes.shape[0]}], got [${idxs.shape.join(", ")}]`, "E_SHAPE");
  if (!/^u?int/.test(idxs.dtype)) throw new FlareError(`batchedNms(): idxs must be an integer tensor, got ${idxs.dtype}`, "E_DTYPE");
  if (boxes.numel() > (boxes.device.startsWith("cuda") ? 20000 : 4000))
    return new Tensor(native.batchedNms(boxes.handle, scores.handle, idxs.handle, iouThreshold));
  if (boxes.shape[0] === 0) return torch.zeros([0], { dtype: "int64", device: boxes.device });
  return torch.tidy(() => {
    // torchvision's coordinate trick, op for op, so the offset boxes round the same.
    const offsets = idxs.to(boxes.dtype).mul(boxes.max().add(1));
    return new Tensor(native.nms(boxes.add(offsets.index(":", null)).handle, scores.handle, iouThreshold, "batchedNms"));
  });
}
