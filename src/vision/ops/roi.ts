// torchvision.ops' RoI pooling: roiAlign (Mask R-CNN) and roiPool (Fast R-CNN)
// on native kernels with backward (native/roi_align.cc, native/roi_pool.cc),
// plus the RoIAlign / RoIPool modules. Boxes are a [K, 5] tensor (batch index,
// x1, y1, x2, y2) or one [Ni, 4] tensor per image.
import { FlareError } from "../../errors.js";
import { native, type Handle } from "../../tensor/native.js";
import { Tensor, describe } from "../../tensor/tensor.js";
import { cat } from "../../tensor/ops/shape.js";
import { fullLike } from "../../tensor/creation.js";
import { tidy } from "../../tensor/scope.js";
import { Module } from "../../nn/module.js";
import { pyRepr } from "../../nn/utils.js";

export type RoiBoxes = Tensor | Tensor[];

function knownOptions(options: object, known: readonly string[], what: string): void {
  if (options === null || typeof options !== "object") throw new FlareError(`${what}: options must be an object, got ${describe(options)}`, "E_ARGUMENT");
  for (const key of Object.keys(options))
    if (!known.includes(key)) throw new FlareError(`${what}: unknown option '${key}' (options: ${known.join(", ")})`, "E_ARGUMENT");
}

function outputSizeArg(value: unknown, what: string): [number, number] {
  const pair = typeof value === "number" ? [value, value] : value;
  if (!Array.isArray(pair) || pair.length !== 2 || pair.some((v) => typeof v !== "number" || !Number.isInteger(v) || v < 1))
    throw new FlareError(`${what}: outputSize must be a positive integer or [height, width] of positive integers, got ${Array.isArray(value) ? `[${value.join(", ")}]` : describe(value)}`, "E_ARGUMENT");
  return pair as [number, number];
}

function finiteArg(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new FlareError(`${what} must be a finite number, got ${describe(value)}`, "E_ARGUMENT");
  return value;
}

function samplingRatioArg(value: unknown, what: string): number {
  if (!Number.isInteger(value)) throw new FlareError(`${what}: samplingRatio must be an integer, got ${describe(value)}`, "E_ARGUMENT");
  return value as number;
}

function alignedArg(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw new FlareError(`${what}: aligned must be true or false, got ${describe(value)}`, "E_ARGUMENT");
  return value;
}

/**
 * torchvision's convert_boxes_to_roi_format: per-image [Ni, 4] boxes as one
 * [K, 5] tensor whose first column is the image index.
 */
export function convertBoxesToRoiFormat(boxes: Tensor[]): Tensor {
  return tidy(() => {
    const ids = boxes.map((b, i) => fullLike(b.narrow(1, 0, 1), i));
    return cat([cat(ids, 0), cat(boxes, 0)], 1);
  });
}

/** torchvision's check_roi_boxes_shape, with FlareErrors. */
function checkBoxes(boxes: unknown, what: string): void {
  if (Array.isArray(boxes)) {
    if (boxes.length === 0) throw new FlareError(`${what}: boxes is an empty list (give one [Ni, 4] tensor per image)`, "E_ARGUMENT");
    boxes.forEach((b, i) => {
      if (!(b instanceof Tensor)) throw new FlareError(`${what}: boxes[${i}] must be a Tensor [Ni, 4], got ${describe(b)}`, "E_ARGUMENT");
      if (b.dim() !== 2 || b.shape[1] !== 4) throw new FlareError(`${what}: boxes[${i}] must be [Ni, 4], got [${b.shape.join(", ")}]`, "E_SHAPE");
    });
    return;
  }
  if (!(boxes instanceof Tensor)) throw new FlareError(`${what}: boxes must be a Tensor [K, 5] or an array of Tensors [Ni, 4], got ${describe(boxes)}`, "E_ARGUMENT");
  if (boxes.dim() !== 2 || boxes.shape[1] !== 5)
    throw new FlareError(`${what}: boxes must be [K, 5] (batch index, x1, y1, x2, y2), got [${boxes.shape.join(", ")}]`, "E_SHAPE");
}

function checkInput(input: unknown, what: string): Tensor {
  if (!(input instanceof Tensor)) throw new FlareError(`${what}: input must be a Tensor [N, C, H, W], got ${describe(input)}`, "E_ARGUMENT");
  return input;
}

// Runs the kernel on [K, 5] rois, converting per-image boxes first.
function withRois(boxes: RoiBoxes, body: (rois: Handle) => Handle): Tensor {
  if (!Array.isArray(boxes)) return new Tensor(body(boxes.handle));
  const rois = convertBoxesToRoiFormat(boxes);
  try { return new Tensor(body(rois.handle)); } finally { rois.dispose(); }
}

export interface RoiAlignOptions {
  /** Scale from box coordinates to input coordinates (e.g. 1/16 for a stride-16 feature map). */
  spatialScale?: number;
  /** Samples per bin side; <= 0 (the default -1) means ceil(roi size / output size), adaptively. */
  samplingRatio?: number;
  /** Shift boxes by -0.5 pixel so that pixel centres align (Detectron2's ROIAlignV2). */
  aligned?: boolean;
}

/**
 * RoI Align (Mask R-CNN): each box of `boxes` cut into outputSize bins of
 * `input` [N, C, H, W], each bin the average of bilinear samples; returns
 * [K, C, outputSize[0], outputSize[1]], differentiable with respect to input.
 */
export function roiAlign(input: Tensor, boxes: RoiBoxes, outputSize: number | [number, number], options: RoiAlignOptions = {}): Tensor {
  const what = "roiAlign()";
  knownOptions(options, ["spatialScale", "samplingRatio", "aligned"], what);
  checkInput(input, what);
  checkBoxes(boxes, what);
  const [h, w] = outputSizeArg(outputSize, what);
  const spatialScale = finiteArg(options.spatialScale ?? 1, `${what}: spatialScale`);
  const samplingRatio = samplingRatioArg(options.samplingRatio ?? -1, what);
  const aligned = alignedArg(options.aligned ?? false, what);
  return withRois(boxes, (rois) => native.roiAlign(input.handle, rois, spatialScale, h, w, samplingRatio, aligned));
}

/**
 * RoI Pool (Fast R-CNN): each box, rounded to whole pixels, cut into
 * outputSize bins of `input`, each bin its maximum (0 for an empty bin).
 */
export function roiPool(input: Tensor, boxes: RoiBoxes, outputSize: number | [number, number], options: { spatialScale?: number } = {}): Tensor {
  const what = "roiPool()";
  knownOptions(options, ["spatialScale"], what);
  checkInput(input, what);
  checkBoxes(boxes, what);
  const [h, w] = outputSizeArg(outputSize, what);
  const spatialScale = finiteArg(options.spatialScale ?? 1, `${what}: spatialScale`);
  return withRois(boxes, (rois) => native.roiPool(input.handle, rois, spatialScale, h, w));
}

/** torchvision.ops.RoIAlign(output_size, spatial_scale, sampling_ratio, aligned=False). */
export class RoIAlign extends Module {
  readonly outputSize: [number, number];
  readonly spatialScale: number;
  readonly samplingRatio: number;
  readonly aligned: boolean;
  constructor(outputSize: number | [number, number], spatialScale: number, samplingRatio: number, options: { aligned?: boolean } = {}) {
    super();
    knownOptions(options, ["aligned"], "RoIAlign()");
    this.outputSize = outputSizeArg(outputSize, "RoIAlign()");
    this.spatialScale = finiteArg(spatialScale, "RoIAlign(): spatialScale");
    this.samplingRatio = samplingRatioArg(samplingRatio, "RoIAlign()");
    this.aligned = alignedArg(options.aligned ?? false, "RoIAlign()");
  }
  override forward(input: Tensor, rois: RoiBoxes): Tensor {
    return roiAlign(input, rois, this.outputSize, { spatialScale: this.spatialScale, samplingRatio: this.samplingRatio, aligned: this.aligned });
  }
  override extraRepr(): string {
    return `output_size=${pyRepr(this.outputSize)}, spatial_scale=${this.spatialScale}, sampling_ratio=${this.samplingRatio}, aligned=${pyRepr(this.aligned)}`;
  }
}

/** torchvision.ops.RoIPool(output_size, spatial_scale). */
export class RoIPool extends Module {
  readonly outputSize: [number, number];
  readonly spatialScale: number;
  constructor(outputSize: number | [number, number], spatialScale: number) {
    super();
    this.outputSize = outputSizeArg(outputSize, "RoIPool()");
    this.spatialScale = finiteArg(spatialScale, "RoIPool(): spatialScale");
  }
  override forward(input: Tensor, rois: RoiBoxes): Tensor {
    return roiPool(input, rois, this.outputSize, { spatialScale: this.spatialScale });
  }
  override extraRepr(): string {
    return `output_size=${pyRepr(this.outputSize)}, spatial_scale=${this.spatialScale}`;
  }
}
