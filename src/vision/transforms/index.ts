// flare/vision transforms: torchvision-style classes over a functional core
// (`functional`), with targets (boxes, masks, labels) that travel with the
// image, recorded parameters for replay, and per-sample randomness on batches.
export * as functional from "./functional.js";
export { Transform, RandomTransform, setBatchChunkSize, type RandomOptions, type TargetArg, type PerSample } from "./transform.js";
export { Compose, RandomApply, RandomChoice, RandomOrder, setPerSample } from "./classes/containers.js";
export {
  Resize, CenterCrop, Pad, RandomCrop, RandomResizedCrop, RandomHorizontalFlip, RandomVerticalFlip,
  RandomRotation, RandomAffine, RandomPerspective,
} from "./classes/geometric.js";
export {
  ToTensor, type RawImage, ToDtype, ConvertImageDtype, Normalize, Grayscale, ColorJitter, RandomGrayscale, RandomInvert, RandomPosterize,
  RandomSolarize, RandomAdjustSharpness, RandomAutocontrast, RandomEqualize, GaussianBlur, RandomErasing,
} from "./classes/photometric.js";
export { RandomIoUCrop, RandomZoomOut, SanitizeBoundingBoxes, ClampBoundingBoxes, ConvertBoundingBoxFormat } from "./classes/detection.js";
export { AutoAugment, RandAugment, TrivialAugmentWide, type AutoAugmentPolicy } from "./classes/autoaugment.js";
export { MixUp, CutMix } from "./classes/mix.js";
export { BoundingBoxes, boundingBoxes, convertBoxFormat, type BoxFormat, type Target } from "./target.js";
export { parseTransforms, transformNames } from "./spec.js";
