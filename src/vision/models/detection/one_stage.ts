// What SSD and the YOLO-style detector share around their networks, as
// torchvision's SSD does it: the checks of forward(images, targets), the
// transform in front (each image resized to the fixed input size, bilinear as
// GeneralizedRCNNTransform with fixed_size, then normalised and stacked; its
// boxes scaled alike) and the boxes scaled back to each image's own size.
import { FlareError } from "../../../errors.js";
import * as F from "../../../nn/functional.js";
import * as torch from "../../../tensor/index.js";
import type { Tensor } from "../../../tensor/index.js";
import type { Detection, DetectionTarget } from "./image_list.js";

export type { DetectionTarget };

/** One image's detections, in its own pixels (image_list's Detection, under the name SSD and YOLO export). */
export type DetectionResult = Detection;

function shapeOf(t: unknown): string {
  return t instanceof torch.Tensor ? `[${t.shape.join(", ")}]` : t === null ? "null" : typeof t;
}

/**
 * Checks forward's arguments: images a non-empty array of float [3, H, W]
 * tensors (values 0..1); in training, one target per image with finite boxes
 * of positive width and height (torchvision's degenerate-box check) and
 * labels in 1..numClasses − 1. Zero boxes are allowed (an image of background).
 */
export function checkInputs(images: unknown, targets: unknown, numClasses: number, training: boolean, what: string): void {
  if (!Array.isArray(images) || images.length === 0)
    throw new FlareError(`${what}: images must be a non-empty array of [3, H, W] float tensors (one per image, values 0..1), got ${Array.isArray(images) ? "an empty array" : shapeOf(images)}`, "E_ARGUMENT");
  images.forEach((im, i) => {
    if (!(im instanceof torch.Tensor) || im.dim() !== 3 || im.shape[0] !== 3 || im.shape[1] < 1 || im.shape[2] < 1)
      throw new FlareError(`${what}: images[${i}] must be a [3, H, W] tensor, got ${shapeOf(im)}`, "E_SHAPE");
    if (im.dtype !== "float32" && im.dtype !== "float64")
      throw new FlareError(`${what}: images[${i}] must be float (values 0..1, as torchvision's detectors), got ${im.dtype}`, "E_DTYPE");
  });
  if (!training) {
    if (targets !== undefined && targets !== null && !Array.isArray(targets))
      throw new FlareError(`${what}: targets must be an array of { boxes, labels } (or nothing in eval mode)`, "E_ARGUMENT");
    return;
  }
  if (!Array.isArray(targets)) throw new FlareError(`${what}: targets should not be none when in training mode (give one { boxes, labels } per image)`, "E_ARGUMENT");
  if (targets.length !== images.length) throw new FlareError(`${what}: ${images.length} images but ${targets.length} targets`, "E_ARGUMENT");
  targets.forEach((t, i) => {
    const { boxes, labels } = (t ?? {}) as { boxes?: unknown; labels?: unknown };
    if (!(boxes instanceof torch.Tensor) || boxes.dim() !== 2 || boxes.shape[1] !== 4)
      throw new FlareError(`${what}: targets[${i}].boxes must be a tensor of shape [N, 4], got ${shapeOf(boxes)}`, "E_SHAPE");
    if (!(labels instanceof torch.Tensor) || labels.dim() !== 1 || labels.shape[0] !== boxes.shape[0])
      throw new FlareError(`${what}: targets[${i}].labels must be a tensor of shape [${boxes.shape[0]}] (one per box), got ${shapeOf(labels)}`, "E_SHAPE");
    if (labels.dtype !== "int64" && labels.dtype !== "int32") throw new FlareError(`${what}: targets[${i}].labels must be integer class indices, got ${labels.dtype}`, "E_DTYPE");
    if (boxes.shape[0] === 0) return;
    torch.tidy(() => {
      const b = boxes.float();
      if (!b.isfinite().all().item()) throw new FlareError(`${what}: targets[${i}].boxes holds a value that is not finite`, "E_ARGUMENT");
      const degenerate = b.narrow(1, 2, 2).le(b.narrow(1, 0, 2)).any(1);
      if (degenerate.any().item()) {
        const k = Number(degenerate.nonzero().select(1, 0).select(0, 0).item());
        throw new FlareError(`${what}: all bounding boxes should have positive height and width. Found invalid box [${(b.select(0, k).tolist() as number[]).join(", ")}] for target at index ${i}`, "E_ARGUMENT");
      }
      const bad = labels.lt(1).logicalOr(labels.ge(numClasses));
      if (bad.any().item()) {
        const value = Number(labels.index(bad).select(0, 0).item());
        throw new FlareError(`${what}: targets[${i}].labels holds ${value}, outside 1..${numClasses - 1} (numClasses ${numClasses} counts the background, class 0)`, "E_ARGUMENT");
      }
    });
  });
}

/**
 * The transform in front of the network: each image bilinearly resized to
 * [size, size] (kept as is when already that size), normalised by mean/std and
 * stacked; target boxes scaled by the same factors. Returns the batch, the
 * scaled targets and each image's original [h, w].
 */
export function fixedSizeTransform(images: Tensor[], targets: DetectionTarget[] | undefined, size: number, mean: number[], std: number[]):
  { batch: Tensor; targets: DetectionTarget[] | undefined; originalSizes: [number, number][] } {
  const originalSizes = images.map((im) => [im.shape[1], im.shape[2]] as [number, number]);
  const m = torch.tensor(mean, { dtype: "float32" }).reshape(3, 1, 1), s = torch.tensor(std, { dtype: "float32" }).reshape(3, 1, 1);
  const resized = images.map((im) => {
    const x = im.float();
    const same = im.shape[1] === size && im.shape[2] === size;
    return (same ? x : F.interpolate(x.unsqueeze(0), { size: [size, size], mode: "bilinear", alignCorners: false }).select(0, 0)).sub(m).div(s);
  });
  const batch = torch.stack(resized);
  const scaled = targets?.map((t, i) => {
    const [h, w] = originalSizes[i];
    const boxes = t.boxes.float().mul(torch.tensor([size / w, size / h, size / w, size / h], { dtype: "float32" }));
    return { ...t, boxes, labels: t.labels.to("int64") };
  });
  return { batch, targets: scaled, originalSizes };
}

/** Boxes [K, 4] in the network's [size, size] input back to an image of [h, w] (torchvision's transform.postprocess). */
export function boxesToOriginal(boxes: Tensor, size: number, original: [number, number]): Tensor {
  const [h, w] = original;
  return boxes.mul(torch.tensor([w / size, h / size, w / size, h / size], { dtype: boxes.dtype }));
}

/**
 * The imageMean / imageStd option of a fixed-size detector: three finite numbers (the
 * images are RGB), no 0 in a std; a copy, or a FlareError naming it when the model is built.
 */
export function channelStats(value: unknown, what: string, isStd: boolean): number[] {
  if (!Array.isArray(value) || value.length !== 3 || value.some((v) => typeof v !== "number" || !Number.isFinite(v) || (isStd && v === 0)))
    throw new FlareError(`${what} must be three finite numbers (one per RGB channel${isStd ? ", none 0" : ""}), got ${JSON.stringify(value)}`, "E_ARGUMENT");
  return [...value] as number[];
}

/** A positive integer option, or a FlareError naming it. */
export function positiveInteger(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw new FlareError(`${what} must be a positive integer, got ${JSON.stringify(value)}`, "E_ARGUMENT");
  return value;
}

/** A number in [0, 1], or a FlareError naming it. */
export function fraction(value: unknown, what: string): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) throw new FlareError(`${what} must be a number in [0, 1], got ${JSON.stringify(value)}`, "E_ARGUMENT");
  return value;
}
