// torchvision's GeneralizedRCNNTransform (models/detection/transform.py):
// normalise each image, resize it so that its short side is minSize unless its
// long side would pass maxSize (bilinear, scale worked out in float32 and the
// size recomputed from it, as torchvision), batch with zero padding to a
// multiple of sizeDivisible; postprocess maps boxes back to the input images.
import { FlareError } from "../../../errors.js";
import * as torch from "../../../tensor/index.js";
import { Tensor } from "../../../tensor/index.js";
import * as nn from "../../../nn/index.js";
import { interpolate } from "../../../nn/functional.js";
import { checkOptions } from "../../../options.js";
import type { DetectionTarget, Detection, ImageList } from "./image_list.js";

/** Boxes [N, 4] from an image of originalSize to one of newSize ([h, w] each), torchvision's resize_boxes. */
export function resizeBoxes(boxes: Tensor, originalSize: [number, number], newSize: [number, number]): Tensor {
  return torch.tidy(() => {
    const ratio = (i: number) => torch.tensor(newSize[i], { device: boxes.device }).div(torch.tensor(originalSize[i], { device: boxes.device }));
    const rh = ratio(0), rw = ratio(1);
    const [x1, y1, x2, y2] = boxes.unbind(1);
    return torch.stack([x1.mul(rw), y1.mul(rh), x2.mul(rw), y2.mul(rh)], 1);
  });
}

export interface GeneralizedRCNNTransformOptions {
  /** Pad height and width up to a multiple of this (32). */
  sizeDivisible?: number;
  /** Resize every image to this [width, height] instead (torchvision's fixed_size). */
  fixedSize?: [number, number] | null;
}

function isFloat(t: Tensor): boolean { return ["float32", "float64", "float16", "bfloat16"].includes(t.dtype); }

/** torchvision's GeneralizedRCNNTransform(minSize, maxSize, imageMean, imageStd, { sizeDivisible, fixedSize }). */
export class GeneralizedRCNNTransform extends nn.Module {
  readonly minSize: number[];
  readonly maxSize: number;
  readonly imageMean: number[];
  readonly imageStd: number[];
  readonly sizeDivisible: number;
  readonly fixedSize: [number, number] | null;

  /** minSize: one size, or several to draw from at random in training (torchvision's multi-scale training). */
  constructor(minSize: number | number[], maxSize: number, imageMean: number[], imageStd: number[], options: GeneralizedRCNNTransformOptions = {}) {
    super();
    const what = "GeneralizedRCNNTransform()";
    checkOptions(options, ["sizeDivisible", "fixedSize"], what);
    const sizes = Array.isArray(minSize) ? minSize : [minSize];
    if (sizes.length === 0 || sizes.some((s) => typeof s !== "number" || !(s > 0)))
      throw new FlareError(`${what}: minSize must be a positive number or a non-empty array of them, got ${JSON.stringify(minSize)}`, "E_ARGUMENT");
    if (typeof maxSize !== "number" || !(maxSize > 0)) throw new FlareError(`${what}: maxSize must be a positive number, got ${JSON.stringify(maxSize)}`, "E_ARGUMENT");
    const stats = (v: unknown, name: string) => {
      if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "number" || !Number.isFinite(x)))
        throw new FlareError(`${what}: ${name} must be a non-empty array of numbers (one per channel), got ${JSON.stringify(v)}`, "E_ARGUMENT");
      return [...v] as number[];
    };
    this.imageMean = stats(imageMean, "imageMean");
    this.imageStd = stats(imageStd, "imageStd");
    if (this.imageMean.length !== this.imageStd.length) throw new FlareError(`${what}: imageMean and imageStd must have one value per channel each (got ${this.imageMean.length} and ${this.imageStd.length})`, "E_ARGUMENT");
    if (this.imageStd.includes(0)) throw new FlareError(`${what}: imageStd must not contain 0`, "E_ARGUMENT");
    const divisible = options.sizeDivisible ?? 32;
    if (!Number.isInteger(divisible) || divisible < 1) throw new FlareError(`${what}: sizeDivisible must be a positive integer, got ${JSON.stringify(divisible)}`, "E_ARGUMENT");
    const fixed = options.fixedSize ?? null;
    if (fixed !== null && (!Array.isArray(fixed) || fixed.length !== 2 || fixed.some((v) => !Number.isInteger(v) || v < 1)))
      throw new FlareError(`${what}: fixedSize must be [width, height] of positive integers, got ${JSON.stringify(fixed)}`, "E_ARGUMENT");
    this.minSize = sizes;
    this.maxSize = maxSize;
    this.sizeDivisible = divisible;
    this.fixedSize = fixed;
  }

  /** images: [C, H, W] float tensors in [0, 1], any sizes; targets (training) in pixels of each image. */
  override forward(images: Tensor[], targets?: DetectionTarget[] | null): { imageList: ImageList; targets: DetectionTarget[] | null } {
    const what = "GeneralizedRCNNTransform.forward()";
    if (!Array.isArray(images) || images.length === 0) throw new FlareError(`${what}: images must be a non-empty array of [C, H, W] tensors`, "E_ARGUMENT");
    if (targets != null && (!Array.isArray(targets) || targets.length !== images.length))
      throw new FlareError(`${what}: targets must be an array of one { boxes, labels } per image (${images.length}), got ${Array.isArray(targets) ? targets.length : typeof targets}`, "E_ARGUMENT");
    const out: Tensor[] = [];
    const newTargets: DetectionTarget[] | null = targets ? [] : null;
    images.forEach((image, i) => {
      if (!(image instanceof Tensor)) throw new FlareError(`${what}: images[${i}] must be a Tensor [C, H, W], got ${typeof image}`, "E_TYPE");
      if (image.ndim !== 3) throw new FlareError(`${what}: images is expected to be a list of 3d tensors of shape [C, H, W], got [${image.shape.join(", ")}] for images[${i}]`, "E_SHAPE");
      let x = this.normalize(image);
      const [h, w] = image.shape.slice(1);
      x = this.resize(x);
      out.push(x);
      if (newTargets && targets) {
        const t = targets[i];
        newTargets.push({ ...t, boxes: resizeBoxes(t.boxes, [h, w], [x.shape[1], x.shape[2]]) });
      }
    });
    const imageSizes = out.map((x) => [x.shape[1], x.shape[2]] as [number, number]);
    return { imageList: { tensors: this.batchImages(out), imageSizes }, targets: newTargets };
  }

  /** (image − mean) / std per channel; images must be floating point (in [0, 1]). */
  normalize(image: Tensor): Tensor {
    if (!isFloat(image)) throw new FlareError(`GeneralizedRCNNTransform: expected input images to be of floating type (in range [0, 1]), but found type ${image.dtype} instead`, "E_DTYPE");
    if (image.shape[0] !== this.imageMean.length)
      throw new FlareError(`GeneralizedRCNNTransform: an image has ${image.shape[0]} channels, but imageMean and imageStd have ${this.imageMean.length}`, "E_SHAPE");
    return torch.tidy(() => {
      const opts = { dtype: image.dtype, device: image.device };
      const mean = torch.tensor(this.imageMean, opts).index(":", null, null), std = torch.tensor(this.imageStd, opts).index(":", null, null);
      return image.sub(mean).div(std);
    });
  }

  /** The short side to resize to: the last minSize in eval; in training one drawn as torchvision's torch_choice (one libtorch uniform draw). */
  #chooseSize(): number {
    if (!this.training) return this.minSize[this.minSize.length - 1];
    const index = torch.tidy(() => Math.trunc(torch.empty([1]).uniform_(0, this.minSize.length).item() as number));
    return this.minSize[index];
  }

  /** One normalised [C, H, W] image resized as torchvision's _resize_image_and_masks. */
  resize(image: Tensor): Tensor {
    const size = this.#chooseSize();
    return torch.tidy(() => {
      const batch = image.index(null);
      if (this.fixedSize) return interpolate(batch, { size: [this.fixedSize[1], this.fixedSize[0]], mode: "bilinear", alignCorners: false }).select(0, 0);
      const [h, w] = image.shape.slice(1);
      // float32 as torchvision: python float / 0-d tensor is reciprocal() * float.
      const lo = torch.tensor(Math.min(h, w)), hi = torch.tensor(Math.max(h, w));
      const scale = lo.reciprocal().mul(size).minimum(hi.reciprocal().mul(this.maxSize)).item() as number;
      return interpolate(batch, { scaleFactor: scale, mode: "bilinear", alignCorners: false, recomputeScaleFactor: true }).select(0, 0);
    });
  }

  /** Zero-pads the images to the largest height and width, rounded up to sizeDivisible, and stacks them. */
  batchImages(images: Tensor[]): Tensor {
    const c = Math.max(...images.map((x) => x.shape[0]));
    const stride = this.sizeDivisible;
    const h = Math.ceil(Math.max(...images.map((x) => x.shape[1])) / stride) * stride;
    const w = Math.ceil(Math.max(...images.map((x) => x.shape[2])) / stride) * stride;
    return torch.tidy(() => {
      const batched = torch.zeros([images.length, c, h, w], { dtype: images[0].dtype, device: images[0].device });
      images.forEach((x, i) => {
        batched.select(0, i).narrow(0, 0, x.shape[0]).narrow(1, 0, x.shape[1]).narrow(2, 0, x.shape[2]).copy_(x);
      });
      return batched;
    });
  }

  /** In eval mode, each result's boxes from the resized image's coordinates back to the original image's. */
  postprocess(result: Detection[], imageShapes: [number, number][], originalImageSizes: [number, number][]): Detection[] {
    if (this.training) return result;
    return result.map((pred, i) => ({ ...pred, boxes: resizeBoxes(pred.boxes, imageShapes[i], originalImageSizes[i]) }));
  }

  override extraRepr(): string {
    return `Normalize(mean=[${this.imageMean.join(", ")}], std=[${this.imageStd.join(", ")}]), Resize(min_size=(${this.minSize.join(", ")}), max_size=${this.maxSize}, mode='bilinear')`;
  }
}
