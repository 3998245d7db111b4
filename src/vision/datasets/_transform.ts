// What a dataset accepts as its transform: a function (image, target) → [image, target]
// (or → image), or a transforms.Transform such as a Compose, as torchvision's datasets
// take their `transform`; plus torchvision's `targetTransform` (target → target).
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { cat } from "../../tensor/ops/shape.js";
import { tidy } from "../../tensor/scope.js";
import { Transform } from "../transforms/transform.js";
import { boundingBoxes, type Target } from "../transforms/target.js";
import { describe } from "../../validate.js";
import type { DatasetTransform } from "./_common.js";

/** A dataset's `transform` option: a joint function, or any Transform. */
export type TransformArg<T, U> = DatasetTransform<T, U> | Transform;

/**
 * One DatasetTransform from `transform` and `targetTransform`. A Transform
 * given to a classification dataset ("label") sees the image only (torchvision's
 * `transform`); given to a detection dataset ("boxes": a K×5 [label, x1, y1, x2,
 * y2] target in pixels) it sees the image and the boxes, which it moves, and
 * the result is packed back into K×5.
 */
export function datasetTransform<T, U>(transform: unknown, targetTransform: unknown, kind: "label" | "boxes", what: string): DatasetTransform<T, U> | undefined {
  if (transform !== undefined && transform !== null && typeof transform !== "function" && !(transform instanceof Transform))
    throw new FlareError(`${what}: transform must be a function (image, target) => [image, target] or a transforms.Transform (e.g. a Compose), got ${describe(transform)}`, "E_ARGUMENT");
  if (targetTransform !== undefined && targetTransform !== null && typeof targetTransform !== "function")
    throw new FlareError(`${what}: targetTransform must be a function target => target, got ${describe(targetTransform)}`, "E_ARGUMENT");
  let joint: DatasetTransform<T, unknown> | undefined;
  if (transform instanceof Transform) {
    joint = kind === "label"
      ? (image: Tensor) => transform.forward(image)
      : (image: Tensor, target: T) => boxTransform(transform, image, target as unknown as Tensor) as unknown as [Tensor, unknown];
  } else {
    joint = (transform ?? undefined) as DatasetTransform<T, unknown> | undefined;
  }
  if (!targetTransform) return joint as DatasetTransform<T, U> | undefined;
  const onTarget = targetTransform as (target: unknown) => U;
  return async (image: Tensor, target: T): Promise<[Tensor, U]> => {
    const result = joint ? await joint(image, target) : image;
    const [x, t] = result instanceof Tensor ? [result, target] : result;
    return [x, await onTarget(t)];
  };
}

/** A K×5 [label, x1, y1, x2, y2] target through a Transform, as boxes and labels. */
function boxTransform(transform: Transform, image: Tensor, target: Tensor): [Tensor, Tensor] {
  if (!(target instanceof Tensor) || target.dim() !== 2 || target.shape[1] !== 5)
    throw new FlareError(`${transform.constructor.name}: a detection target must be a K×5 tensor [label, x1, y1, x2, y2], got ${describe(target)}`, "E_SHAPE");
  const [h, w] = image.shape.slice(-2);
  // In a scope: the split target, the moved boxes and labels and their casts are
  // intermediates; only the image and the packed K×5 target leave.
  return tidy((): [Tensor, Tensor] => {
    const input: Target = { boxes: boundingBoxes(target.slice(1, 1, 5), { format: "xyxy", canvasSize: [h, w] }), labels: target.select(1, 0) };
    const [out, moved] = transform.forward(image, input);
    return [out, cat([(moved.labels as Tensor).to({ dtype: target.dtype }).unsqueeze(1), moved.boxes!.data.to({ dtype: target.dtype })], 1)];
  });
}
