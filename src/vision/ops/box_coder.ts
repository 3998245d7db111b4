// torchvision.models.detection._utils.BoxCoder: boxes as offsets from
// reference boxes (dx, dy scaled by the reference's size, dw, dh as logs of
// the size ratio, each times a weight), and back. The R-CNN family's and
// SSD's box regression targets.
import { FlareError } from "../../errors.js";
import * as torch from "../../tensor/index.js";
import type { Tensor } from "../../tensor/index.js";
import { checkBoxes, checkNumber, checkOptions, checkTensor, describe } from "./_checks.js";

export interface BoxCoderOptions {
  /** Largest dw, dh decoded (default log(1000 / 16), as torchvision): exp() stays finite. */
  bboxXformClip?: number;
}

export class BoxCoder {
  readonly weights: [number, number, number, number];
  readonly bboxXformClip: number;

  /** weights: the (wx, wy, ww, wh) multipliers, e.g. [10, 10, 5, 5] in Faster R-CNN's box head, [1, 1, 1, 1] in its RPN. */
  constructor(weights: [number, number, number, number], options?: BoxCoderOptions) {
    if (!Array.isArray(weights) || weights.length !== 4 || weights.some((w) => typeof w !== "number" || !Number.isFinite(w) || w === 0))
      throw new FlareError(`BoxCoder: weights must be 4 finite non-zero numbers [wx, wy, ww, wh], got ${describe(weights)}`, "E_ARGUMENT");
    checkOptions(options, ["bboxXformClip"], "BoxCoder");
    this.weights = [weights[0], weights[1], weights[2], weights[3]];
    this.bboxXformClip = options?.bboxXformClip === undefined ? Math.log(1000 / 16) : checkNumber(options.bboxXformClip, "BoxCoder: bboxXformClip");
  }

  /** Per image, the codes [Ni, 4] of proposals[i] against referenceBoxes[i] (the ground truth they should move to). */
  encode(referenceBoxes: Tensor[], proposals: Tensor[]): Tensor[] {
    if (!Array.isArray(referenceBoxes) || !Array.isArray(proposals) || referenceBoxes.length !== proposals.length)
      throw new FlareError(`BoxCoder.encode(): referenceBoxes and proposals must be arrays of one tensor per image, of equal length; got ${describe(referenceBoxes)} and ${describe(proposals)}`, "E_ARGUMENT");
    const counts = referenceBoxes.map((b, i) => checkBoxes(b, `BoxCoder.encode(): referenceBoxes[${i}]`).shape[0]);
    proposals.forEach((p, i) => checkBoxes(p, `BoxCoder.encode(): proposals[${i}]`));
    return torch.tidy(() => {
      const targets = this.encodeSingle(torch.cat(referenceBoxes, 0), torch.cat(proposals, 0));
      return targets.split(counts, 0);
    });
  }

  /** The codes [N, 4] of proposals [N, 4] with respect to referenceBoxes [N, 4] (torchvision's encode_boxes). */
  encodeSingle(referenceBoxes: Tensor, proposals: Tensor): Tensor {
    checkBoxes(referenceBoxes, "BoxCoder.encodeSingle(): referenceBoxes");
    checkBoxes(proposals, "BoxCoder.encodeSingle(): proposals");
    if (referenceBoxes.shape[0] !== proposals.shape[0])
      throw new FlareError(`BoxCoder.encodeSingle(): referenceBoxes has ${referenceBoxes.shape[0]} boxes but proposals ${proposals.shape[0]}`, "E_SHAPE");
    const [wx, wy, ww, wh] = this.weights;
    return torch.tidy(() => {
      // torchvision makes the weights a tensor of the reference boxes' dtype.
      const w = torch.tensor([wx, wy, ww, wh], { dtype: referenceBoxes.dtype, device: referenceBoxes.device }).unbind(0);
      const [px1, py1, px2, py2] = proposals.unbind(1).map((t) => t.unsqueeze(1));
      const [gx1, gy1, gx2, gy2] = referenceBoxes.unbind(1).map((t) => t.unsqueeze(1));
      const exW = px2.sub(px1), exH = py2.sub(py1);
      const exX = px1.add(exW.mul(0.5)), exY = py1.add(exH.mul(0.5));
      const gtW = gx2.sub(gx1), gtH = gy2.sub(gy1);
      const gtX = gx1.add(gtW.mul(0.5)), gtY = gy1.add(gtH.mul(0.5));
      const dx = w[0].mul(gtX.sub(exX)).div(exW);
      const dy = w[1].mul(gtY.sub(exY)).div(exH);
      const dw = w[2].mul(gtW.div(exW).log());
      const dh = w[3].mul(gtH.div(exH).log());
      return torch.cat([dx, dy, dw, dh], 1);
    });
  }

  /**
   * Boxes [sum Ni, K, 4] from codes (relCodes [sum Ni, 4K], or any shape with
   * that many elements) against the reference boxes of each image (boxes[i] [Ni, 4]).
   */
  decode(relCodes: Tensor, boxes: Tensor[]): Tensor {
    checkTensor(relCodes, "BoxCoder.decode(): relCodes");
    if (!Array.isArray(boxes)) throw new FlareError(`BoxCoder.decode(): boxes must be an array of one [Ni, 4] tensor per image, got ${describe(boxes)}`, "E_ARGUMENT");
    const total = boxes.reduce((s, b, i) => s + checkBoxes(b, `BoxCoder.decode(): boxes[${i}]`).shape[0], 0);
    if (total > 0 && relCodes.numel() % (4 * total) !== 0)
      throw new FlareError(`BoxCoder.decode(): relCodes has ${relCodes.numel()} values, not a multiple of 4 × ${total} boxes`, "E_SHAPE");
    return torch.tidy(() => {
      const codes = total > 0 ? relCodes.reshape([total, -1]) : relCodes;
      const pred = this.decodeSingle(codes, torch.cat(boxes, 0));
      return total > 0 ? pred.reshape([total, -1, 4]) : pred;
    });
  }

  /** Boxes [N, 4K] from codes [N, 4K] against reference boxes [N, 4]. */
  decodeSingle(relCodes: Tensor, boxes: Tensor): Tensor {
    checkTensor(relCodes, "BoxCoder.decodeSingle(): relCodes");
    checkBoxes(boxes, "BoxCoder.decodeSingle(): boxes");
    if (relCodes.ndim !== 2 || relCodes.shape[1] % 4 !== 0 || relCodes.shape[0] !== boxes.shape[0])
      throw new FlareError(`BoxCoder.decodeSingle(): relCodes must have shape [${boxes.shape[0]}, 4K], got [${relCodes.shape.join(", ")}]`, "E_SHAPE");
    const [wx, wy, ww, wh] = this.weights;
    return torch.tidy(() => {
      const b = boxes.to(relCodes.dtype);
      const widths = b.select(1, 2).sub(b.select(1, 0)), heights = b.select(1, 3).sub(b.select(1, 1));
      const ctrX = b.select(1, 0).add(widths.mul(0.5)), ctrY = b.select(1, 1).add(heights.mul(0.5));
      const dx = relCodes.index(":", "0::4").div(wx), dy = relCodes.index(":", "1::4").div(wy);
      const dw = relCodes.index(":", "2::4").div(ww).clamp(null, this.bboxXformClip);
      const dh = relCodes.index(":", "3::4").div(wh).clamp(null, this.bboxXformClip);
      const w = widths.index(":", null), h = heights.index(":", null);
      const predX = dx.mul(w).add(ctrX.index(":", null)), predY = dy.mul(h).add(ctrY.index(":", null));
      const predW = dw.exp().mul(w), predH = dh.exp().mul(h);
      const halfW = predW.mul(0.5), halfH = predH.mul(0.5);
      return torch.stack([predX.sub(halfW), predY.sub(halfH), predX.add(halfW), predY.add(halfH)], 2).flatten(1);
    });
  }
}
