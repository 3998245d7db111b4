// The tasks' view of a model's input preset (src/vision/models/presets.ts, carried
// by each registry entry): gray or RGB, resize and crop sizes, normalisation,
// and the class names of the data it was trained on.
import { FASHION_MNIST_CLASSES } from "../vision/datasets/fashion_mnist.js";
import { getPreset } from "../vision/models/index.js";

export { DATASET_STATS } from "../vision/models/index.js";

export interface Preset { gray: boolean; resize: number; crop: number; mean: number[]; std: number[]; classes?: string[] }

/** Class names by the dataset a preset names. */
const CLASSES: Record<string, string[]> = { "fashion-mnist": FASHION_MNIST_CLASSES };

/** The preset of a registered model (d2l's small ResNet-18: Fashion-MNIST's; the torchvision models: ImageNet's). */
export function presetFor(arch: string): Preset {
  const p = getPreset(arch);
  const crop = p.cropSize ?? 224;
  return {
    gray: p.channels === 1, resize: p.resizeSize ?? crop, crop, mean: p.mean, std: p.std,
    ...(p.dataset !== undefined && Object.hasOwn(CLASSES, p.dataset) ? { classes: CLASSES[p.dataset] } : {}),
  };
}
