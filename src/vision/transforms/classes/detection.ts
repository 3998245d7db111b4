// Detection transforms: the SSD crops (RandomIoUCrop, RandomZoomOut) and the
// box bookkeeping (SanitizeBoundingBoxes, ClampBoundingBoxes,
// ConvertBoundingBoxFormat), with torchvision v2's semantics.
import { FlareError } from "../../../errors.js";
import { Tensor } from "../../../tensor/tensor.js";
import { describe } from "../_utils.js";
import {
  BoundingBoxes, convertBoxFormat, filterTarget, sanitizeTarget,
  type BoxFormat, type GeoOp, type SanitizeOptions, type Target,
} from "../target.js";
import { clipBoxesToImage } from "../../ops/boxes.js";
import { boxIou } from "../../ops/iou.js";
import * as torch from "../../../tensor/index.js";
import {
  Transform, GeometricTransform, mapTargets, probability, type ImageInfo, type RandomOptions, type TargetArg,
} from "../transform.js";
import { pairRange } from "./geometric.js";

type ZoomParams = { padding: [number, number, number, number] } | null;

/**
 * With probability p, places the image on a larger canvas (side ratio drawn
 * from sideRange) filled with `fill`: SSD's "expand" (torchvision v2's RandomZoomOut).
 */
export class RandomZoomOut extends GeometricTransform<ZoomParams> {
  readonly fill: number;
  readonly sideRange: [number, number];
  readonly p: number;
  constructor(options: RandomOptions & { fill?: number; sideRange?: [number, number]; p?: number } = {}) {
    super(options);
    this.fill = typeof options.fill === "number" ? options.fill : (() => { if (options.fill !== undefined) throw new FlareError(`RandomZoomOut: fill must be a number, got ${describe(options.fill)}`, "E_ARGUMENT"); return 0; })();
    this.sideRange = pairRange(options.sideRange ?? [1.0, 4.0], "RandomZoomOut: sideRange", 1);
    this.p = probability(options.p ?? 0.5, "RandomZoomOut: p");
  }
  protected sample(info: ImageInfo): ZoomParams {
    const g = this.rng;
    if (g.random() >= this.p) return null;
    const r = this.sideRange[0] + g.random() * (this.sideRange[1] - this.sideRange[0]);
    const cw = Math.trunc(info.width * r), ch = Math.trunc(info.height * r);
    const left = Math.trunc((cw - info.width) * g.random()), top = Math.trunc((ch - info.height) * g.random());
    return { padding: [left, top, cw - (left + info.width), ch - (top + info.height)] };
  }
  protected ops(p: ZoomParams): GeoOp[] { return p ? [{ kind: "pad", padding: p.padding, fill: this.fill }] : []; }
  protected override applyBatch(): [Tensor, Target[] | undefined] {
    throw new FlareError("RandomZoomOut gives each image its own size, so it cannot be used with perSample", "E_ARGUMENT");
  }
  override toString(): string { return `RandomZoomOut(fill=${this.fill}, sideRange=[${this.sideRange.join(", ")}], p=${this.p})`; }
}

export interface RandomIoUCropOptions extends RandomOptions {
  minScale?: number;
  maxScale?: number;
  minAspectRatio?: number;
  maxAspectRatio?: number;
  /** The minimum-IoU options drawn from; 1 (or more) means "leave the image as is". */
  samplerOptions?: number[];
  trials?: number;
}
type IoUCropParams = { top: number; left: number; height: number; width: number } | null;

/**
 * SSD's random crop (torchvision v2's RandomIoUCrop): draws a minimum IoU from
 * samplerOptions, then up to `trials` crops whose IoU with some box whose
 * centre lies inside reaches it. Boxes whose centres fall outside the crop are
 * dropped with their labels and per-box fields. Needs a target with boxes.
 */
export class RandomIoUCrop extends GeometricTransform<IoUCropParams> {
  readonly minScale: number;
  readonly maxScale: number;
  readonly minAspectRatio: number;
  readonly maxAspectRatio: number;
  readonly options: number[];
  readonly trials: number;
  constructor(options: RandomIoUCropOptions = {}) {
    super(options);
    [this.minScale, this.maxScale] = pairRange([options.minScale ?? 0.3, options.maxScale ?? 1.0], "RandomIoUCrop: [minScale, maxScale]", 0);
    [this.minAspectRatio, this.maxAspectRatio] = pairRange([options.minAspectRatio ?? 0.5, options.maxAspectRatio ?? 2.0], "RandomIoUCrop: [minAspectRatio, maxAspectRatio]", 0);
    const so = options.samplerOptions ?? [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0];
    if (!Array.isArray(so) || so.length === 0 || so.some((v) => typeof v !== "number")) throw new FlareError(`RandomIoUCrop: samplerOptions must be an array of numbers, got ${describe(so)}`, "E_ARGUMENT");
    this.options = so;
    const trials = options.trials ?? 40;
    if (!Number.isInteger(trials) || trials < 1) throw new FlareError(`RandomIoUCrop: trials must be a positive integer, got ${describe(trials)}`, "E_ARGUMENT");
    this.trials = trials;
  }
  protected sample(info: ImageInfo, target: Target | undefined): IoUCropParams {
    if (!target?.boxes) throw new FlareError("RandomIoUCrop needs a target with boxes: forward(img, { boxes, labels })", "E_ARGUMENT");
    const xyxy = target.boxes.xyxy().to("float64");
    const [x1, y1, x2, y2] = xyxy.unbind(-1);
    const cx = x1.add(x2).mul(0.5).unsqueeze(0), cy = y1.add(y2).mul(0.5).unsqueeze(0);   // [1, N]
    // RandomIoUCrop is torchvision v2's (not in 0.14): flare's JavaScript generator, whose state can be put back.
    const g = this.jsGenerator, W = info.width, H = info.height;
    // torchvision's loop: up to 1000 rounds, each drawing a minimum IoU (≥ 1:
    // no crop) and up to `trials` crops, the first crop that passes wins.
    // Rounds are drawn in growing batches (1, 2, 4, ... 32 rounds: the draws do
    // not depend on the boxes) and their crops tested at once; the generator
    // is then put back to where the one-at-a-time loop would have stopped.
    for (let round = 0, batch = 1; round < 1000; batch = Math.min(2 * batch, 32)) {
      const crops: number[][] = [], minIoUs: number[] = [], states: number[] = [];
      let noCrop = false;
      for (const end = Math.min(round + batch, 1000); round < end && !noCrop; round++) {
        const minIoU = this.options[g.randint(0, this.options.length)];
        if (minIoU >= 1.0) { noCrop = true; break; }
        for (let trial = 0; trial < this.trials; trial++) {
          const newW = Math.trunc(W * (this.minScale + (this.maxScale - this.minScale) * g.random()));
          const newH = Math.trunc(H * (this.minScale + (this.maxScale - this.minScale) * g.random()));
          const aspect = newW / newH;
          if (!(this.minAspectRatio <= aspect && aspect <= this.maxAspectRatio)) continue;
          const left = Math.trunc((W - newW) * g.random()), top = Math.trunc((H - newH) * g.random());
          if (newW === 0 || newH === 0) continue;
          crops.push([left, top, left + newW, top + newH]);
          minIoUs.push(minIoU);
          states.push(g.getState());
        }
      }
      const first = crops.length === 0 ? -1 : torch.tidy(() => {
        // A crop passes when a box whose centre lies inside it overlaps it by its round's minimum IoU.
        const c = torch.tensor(crops, { dtype: "float64" });   // [C, 4]
        const [l, t, r, b] = c.unbind(1).map((v) => v.unsqueeze(1));
        const inside = cx.gt(l).logicalAnd(cx.lt(r)).logicalAnd(cy.gt(t)).logicalAnd(cy.lt(b));   // [C, N]
        const best = torch.where(inside, boxIou(c, xyxy), -Infinity).amax(1);
        const passing = best.ge(torch.tensor(minIoUs, { dtype: "float64" })).nonzero();
        return passing.shape[0] > 0 ? (passing.select(1, 0).index(0).item() as number) : -1;
      });
      if (first >= 0) {
        g.setState(states[first]);
        const [left, top, right, bottom] = crops[first];
        return { top, left, height: bottom - top, width: right - left };
      }
      if (noCrop) return null;
    }
    return null;
  }
  protected ops(p: IoUCropParams): GeoOp[] { return p ? [{ kind: "crop", ...p }] : []; }
  protected override applyOne(img: Tensor, target: TargetArg | undefined, p: IoUCropParams): [Tensor, TargetArg | undefined] {
    // Boxes whose centres are outside the crop go first (torchvision marks them degenerate for SanitizeBoundingBoxes).
    const t = p ? mapTargets(target, (x) => dropCentersOutside(x, p)) : target;
    return super.applyOne(img, t, p);
  }
  protected override applyBatch(): [Tensor, Target[] | undefined] {
    throw new FlareError("RandomIoUCrop gives each image its own size, so it cannot be used with perSample", "E_ARGUMENT");
  }
  override toString(): string { return `RandomIoUCrop(minScale=${this.minScale}, maxScale=${this.maxScale}, samplerOptions=[${this.options.join(", ")}])`; }
}

function dropCentersOutside(target: Target, crop: { top: number; left: number; height: number; width: number }): Target {
  if (!target.boxes) return target;
  const [x1, y1, x2, y2] = target.boxes.xyxy().to("float64").unbind(-1);
  const cx = x1.add(x2).mul(0.5), cy = y1.add(y2).mul(0.5);
  const keep = cx.gt(crop.left).logicalAnd(cx.lt(crop.left + crop.width)).logicalAnd(cy.gt(crop.top)).logicalAnd(cy.lt(crop.top + crop.height));
  return filterTarget(target, keep);
}

/**
 * Removes degenerate, small or mostly-outside boxes together with their
 * labels, instance masks and other per-box fields (torchvision v2's
 * SanitizeBoundingBoxes, plus albumentations' minVisibility).
 */
export class SanitizeBoundingBoxes extends Transform {
  readonly minSize: number;
  readonly minArea: number;
  readonly minVisibility: number;
  constructor(options: SanitizeOptions = {}) {
    super();
    const check = (v: unknown, name: string, max = Infinity) => {
      if (typeof v !== "number" || !(v >= 0 && v <= max)) throw new FlareError(`SanitizeBoundingBoxes: ${name} must be a number in [0, ${max}], got ${describe(v)}`, "E_ARGUMENT");
      return v;
    };
    this.minSize = check(options.minSize ?? 1, "minSize");
    this.minArea = check(options.minArea ?? 1, "minArea");
    this.minVisibility = check(options.minVisibility ?? 0, "minVisibility", 1);
  }
  protected apply(img: Tensor, target: TargetArg | undefined): [Tensor, TargetArg | undefined] {
    return [img, mapTargets(target, (t) => sanitizeTarget(t, { minSize: this.minSize, minArea: this.minArea, minVisibility: this.minVisibility }))];
  }
  override toString(): string { return `SanitizeBoundingBoxes(minSize=${this.minSize}, minArea=${this.minArea}, minVisibility=${this.minVisibility})`; }
}

/** Clamps the boxes to their canvas. */
export class ClampBoundingBoxes extends Transform {
  protected apply(img: Tensor, target: TargetArg | undefined): [Tensor, TargetArg | undefined] {
    return [img, mapTargets(target, (t) => {
      if (!t.boxes) return t;
      const b = t.boxes;
      const xyxy = clipBoxesToImage(convertBoxFormat(b.data.to("float32"), b.format, "xyxy"), b.canvasSize);
      return { ...t, boxes: new BoundingBoxes(convertBoxFormat(xyxy, "xyxy", b.format).to(b.data.dtype), b.format, b.canvasSize, b.visibility) };
    })];
  }
}

/** Converts the boxes to another format ("xyxy", "xywh", "cxcywh"). */
export class ConvertBoundingBoxFormat extends Transform {
  readonly format: BoxFormat;
  constructor(format: BoxFormat) {
    super();
    if (!["xyxy", "xywh", "cxcywh"].includes(format)) throw new FlareError(`ConvertBoundingBoxFormat: format must be "xyxy", "xywh" or "cxcywh", got ${describe(format)}`, "E_ARGUMENT");
    this.format = format;
  }
  protected apply(img: Tensor, target: TargetArg | undefined): [Tensor, TargetArg | undefined] {
    return [img, mapTargets(target, (t) => {
      if (!t.boxes) return t;
      const b = t.boxes;
      return { ...t, boxes: new BoundingBoxes(convertBoxFormat(b.data, b.format, this.format), this.format, b.canvasSize, b.visibility) };
    })];
  }
  override toString(): string { return `ConvertBoundingBoxFormat(${this.format})`; }
}

