export { fcnResnet18, fcn8sResnet18, FCN8s, bilinearUpsampler, type FcnOptions } from "./fcn.js";
export { fcnResnet50, FCN, FCNHead, type FcnResnet50Options, type SegmentationOutput } from "./fcn_resnet50.js";
export { SEGMENTATION_PRESET } from "./register.js";
