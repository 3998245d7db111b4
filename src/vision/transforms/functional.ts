// transforms.functional: the deterministic kernels, on tensor images
// [..., C, H, W] (uint8 in [0, 255] or float in [0, 1]) and on boxes and masks.
// Each matches torchvision 0.14's transforms.functional on tensors.
export {
  hflip, vflip, crop, centerCrop, resize, resizedCrop, pad, rotate, affine, perspective,
  resizedOutputSize, affineMatrix, perspectiveCoeffs, affineOutputSize, rotateMatrix, affineImageMatrix,
  affineBatch, perspectiveBatch, resizedCropBatch, cropBatch,
  type ResizeOptions, type PaddingMode, type GridOptions, type Point, type Box,
} from "./geometry.js";
export {
  adjustBrightness, adjustContrast, adjustSaturation, adjustHue, adjustGamma, adjustSharpness,
  rgbToGrayscale, autocontrast, equalize, posterize, solarize, invert, convertImageDtype, blend,
} from "./color.js";
export { normalize, erase, eraseBatch, gaussianBlur, gaussianBlurBatch, toDtype } from "./misc.js";
export type { Interpolation, Fill, PerImage } from "./_utils.js";
