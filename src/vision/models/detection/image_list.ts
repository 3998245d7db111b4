// torchvision.models.detection.image_list.ImageList: a padded batch of images
// and the size of each image before padding.
import type { Tensor } from "../../../tensor/index.js";

export interface ImageList {
  /** [N, C, H, W], each image at the top left, zero-padded. */
  tensors: Tensor;
  /** [height, width] of each image inside `tensors`. */
  imageSizes: [number, number][];
}

/** A detection target: boxes [N, 4] (x1, y1, x2, y2) in pixels and int64 labels [N] (1..numClasses − 1, 0 is the background); other keys ride along. */
export interface DetectionTarget {
  boxes: Tensor;
  labels: Tensor;
  [key: string]: unknown;
}

/** One image's detections: boxes [K, 4], scores [K], int64 labels [K]. */
export interface Detection {
  boxes: Tensor;
  scores: Tensor;
  labels: Tensor;
}
