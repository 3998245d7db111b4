// How each model family expects its input: channels, resize and crop sizes,
// normalisation, and the class names of the data it was trained on.
import { FASHION_MNIST_CLASSES } from "../vision/datasets/fashion_mnist.js";

export interface Preset { gray: boolean; resize: number; crop: number; mean: number[]; std: number[]; classes?: string[] }

/** Per-channel mean and std of each dataset's training images, for normalisation. */
export const DATASET_STATS: Record<"fashion-mnist" | "cifar10", { mean: number[]; std: number[] }> = {
  "fashion-mnist": { mean: [0.2860], std: [0.3530] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616] },
};

const FASHION_MNIST: Preset = { gray: true, resize: 28, crop: 28, ...DATASET_STATS["fashion-mnist"], classes: FASHION_MNIST_CLASSES };
const IMAGENET: Preset = { gray: false, resize: 256, crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** d2l's small ResNet-18 is a Fashion-MNIST model; the torchvision models are ImageNet models. */
export const presetFor = (arch: string): Preset => (arch === "resnet18-small" ? FASHION_MNIST : IMAGENET);
