// How a model expects its input: channels, sizes, interpolation, normalisation
// (torchvision's weights' `transforms` and meta). Each registry entry carries one.

export type Interpolation = "nearest" | "bilinear" | "bicubic";

export interface Preset {
  /** Per-channel mean and std the input is normalised with (after scaling to [0, 1]). */
  mean: number[];
  std: number[];
  /** Input channels (3 RGB, 1 gray). */
  channels: number;
  /** The side the model sees: classification's centre crop (224). Absent where any size goes. */
  cropSize?: number;
  /** The shorter side is resized to this before the crop (256). */
  resizeSize?: number;
  /** The resize's interpolation (torchvision's presets: bilinear). */
  interpolation: Interpolation;
  /** The data the statistics (and class names, for a trained model) come from. */
  dataset?: string;
}

/** Per-channel mean and std of each dataset's training images, for normalisation. */
export const DATASET_STATS: Record<"imagenet" | "fashion-mnist" | "cifar10", { mean: number[]; std: number[] }> = {
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  "fashion-mnist": { mean: [0.2860], std: [0.3530] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616] },
};

/** torchvision's ImageClassification preset: resize 256, centre crop 224, bilinear, ImageNet statistics. */
export const IMAGENET_CLASSIFICATION: Preset = {
  ...DATASET_STATS.imagenet, channels: 3, resizeSize: 256, cropSize: 224, interpolation: "bilinear", dataset: "imagenet",
};

/** d2l's Fashion-MNIST input: 28x28 gray, no resize. */
export const FASHION_MNIST_CLASSIFICATION: Preset = {
  ...DATASET_STATS["fashion-mnist"], channels: 1, resizeSize: 28, cropSize: 28, interpolation: "bilinear", dataset: "fashion-mnist",
};

/** d2l's banana detection input: 256x256 RGB, pixel values 0..255 as floats (no normalisation). */
export const BANANAS_DETECTION: Preset = {
  mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255], channels: 3, cropSize: 256, interpolation: "bilinear", dataset: "bananas",
};
