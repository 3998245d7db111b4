// torchvision.ops.poolers: MultiScaleRoIAlign pools each box from the FPN level
// that suits its size (LevelMapper, eq. 1 of the FPN paper: level
// floor(4 + log2(sqrt(area) / 224)), clamped to the levels there are).
import { FlareError } from "../../errors.js";
import * as torch from "../../tensor/index.js";
import type { Tensor } from "../../tensor/index.js";
import { Module } from "../../nn/module.js";
import { checkOptions } from "../../options.js";
import { boxArea } from "./boxes.js";
import { roiAlign, convertBoxesToRoiFormat } from "./roi.js";
import { describe } from "./_checks.js";

/** torchvision's LevelMapper: the FPN level (0 = kMin) of each box of each image. */
export class LevelMapper {
  constructor(readonly kMin: number, readonly kMax: number, readonly canonicalScale = 224, readonly canonicalLevel = 4, readonly eps = 1e-6) {}

  /** boxlists: per image [Ni, 4] → int64 [sum Ni] level indices in [0, kMax − kMin]. */
  forward(boxlists: Tensor[]): Tensor {
    return torch.tidy(() => {
      const s = torch.cat(boxlists.map((b) => boxArea(b)), 0).sqrt();
      const eps = torch.tensor(this.eps, { dtype: s.dtype, device: s.device });
      const target = s.div(this.canonicalScale).log2().add(this.canonicalLevel).add(eps).floor();
      return target.clamp(this.kMin, this.kMax).to("int64").sub(this.kMin);
    });
  }
}

/** torchvision's _infer_scale: the power of two nearest to the feature map's size over the image's. */
function inferScale(feature: Tensor, originalSize: [number, number]): number {
  const approx = feature.shape[feature.ndim - 2] / originalSize[0];
  return 2 ** Math.round(Math.log2(Math.fround(approx)));
}

export interface MultiScaleRoIAlignOptions {
  /** The box size that maps to canonicalLevel (224). */
  canonicalScale?: number;
  /** The level of a canonicalScale box (4). */
  canonicalLevel?: number;
}

/**
 * torchvision.ops.MultiScaleRoIAlign(featmapNames, outputSize, samplingRatio):
 * forward(features, boxes per image, image sizes) → [sum Ni, C, outH, outW].
 * Unlike torchvision, the scales are worked out on every call rather than
 * cached from the first (the same numbers for images padded alike).
 */
export class MultiScaleRoIAlign extends Module {
  readonly featmapNames: string[];
  readonly outputSize: [number, number];
  readonly samplingRatio: number;
  readonly canonicalScale: number;
  readonly canonicalLevel: number;
  /** The scales of the last call's feature maps (null before the first). */
  scales: number[] | null = null;

  constructor(featmapNames: string[], outputSize: number | [number, number], samplingRatio: number, options: MultiScaleRoIAlignOptions = {}) {
    super();
    const what = "MultiScaleRoIAlign()";
    if (!Array.isArray(featmapNames) || featmapNames.length === 0 || featmapNames.some((n) => typeof n !== "string"))
      throw new FlareError(`${what}: featmapNames must be a non-empty array of feature-map names, got ${describe(featmapNames)}`, "E_ARGUMENT");
    const size = typeof outputSize === "number" ? [outputSize, outputSize] : outputSize;
    if (!Array.isArray(size) || size.length !== 2 || size.some((v) => !Number.isInteger(v) || v < 1))
      throw new FlareError(`${what}: outputSize must be a positive integer or [height, width], got ${describe(outputSize)}`, "E_ARGUMENT");
    if (!Number.isInteger(samplingRatio)) throw new FlareError(`${what}: samplingRatio must be an integer, got ${describe(samplingRatio)}`, "E_ARGUMENT");
    checkOptions(options, ["canonicalScale", "canonicalLevel"], what);
    this.featmapNames = [...featmapNames];
    this.outputSize = [size[0], size[1]];
    this.samplingRatio = samplingRatio;
    this.canonicalScale = options.canonicalScale ?? 224;
    this.canonicalLevel = options.canonicalLevel ?? 4;
  }

  override forward(x: Record<string, Tensor>, boxes: Tensor[], imageShapes: [number, number][]): Tensor {
    const what = "MultiScaleRoIAlign.forward()";
    if (x === null || typeof x !== "object") throw new FlareError(`${what}: x must be an object of named feature maps, got ${describe(x)}`, "E_ARGUMENT");
    // In x's order, as torchvision's _filter_input.
    const filtered = Object.entries(x).filter(([k]) => this.featmapNames.includes(k)).map(([, v]) => v);
    if (filtered.length === 0) throw new FlareError(`${what}: none of the feature maps ${this.featmapNames.join(", ")} is in x (it has ${Object.keys(x).join(", ")})`, "E_ARGUMENT");
    if (!Array.isArray(boxes) || boxes.length === 0) throw new FlareError(`${what}: boxes must be a non-empty array of [Ni, 4] tensors, one per image`, "E_ARGUMENT");
    if (!Array.isArray(imageShapes) || imageShapes.length === 0) throw new FlareError(`${what}: images list should not be empty`, "E_ARGUMENT");
    const original: [number, number] = [Math.max(...imageShapes.map((s) => s[0])), Math.max(...imageShapes.map((s) => s[1]))];
    const scales = filtered.map((f) => inferScale(f, original));
    this.scales = scales;
    const rois = convertBoxesToRoiFormat(boxes);
    const opts = { spatialScale: scales[0], samplingRatio: this.samplingRatio };
    if (filtered.length === 1) return roiAlign(filtered[0], rois, this.outputSize, opts);
    const lvlMin = Math.trunc(-Math.log2(scales[0])), lvlMax = Math.trunc(-Math.log2(scales[scales.length - 1]));
    const levels = new LevelMapper(lvlMin, lvlMax, this.canonicalScale, this.canonicalLevel).forward(boxes);
    const first = filtered[0];
    const result = torch.zeros([rois.shape[0], first.shape[1], ...this.outputSize], { dtype: first.dtype, device: first.device });
    filtered.forEach((feature, level) => {
      const idx = levels.eq(level).nonzero().select(1, 0);
      const pooled = roiAlign(feature, rois.index(idx), this.outputSize, { spatialScale: scales[level], samplingRatio: this.samplingRatio });
      result.indexPut_([idx], pooled.to(result.dtype));
    });
    return result;
  }

  override extraRepr(): string {
    return `featmap_names=[${this.featmapNames.map((n) => `'${n}'`).join(", ")}], output_size=(${this.outputSize.join(", ")}), sampling_ratio=${this.samplingRatio}`;
  }
}
