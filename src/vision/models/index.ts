export { resnet18Small, Residual } from "./resnet_d2l.js";
export { ResNet, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, makeNorm, type ResNetOptions, type Block, type BlockOptions, type NormLayer } from "./resnet.js";
export { VGG, makeLayers, cfgs, vgg11, vgg11Bn, vgg16, vgg16Bn, vgg19, vgg19Bn, type VGGOptions, type VGGBuildOptions, type VggConfig } from "./vgg.js";
export { IntermediateLayerGetter, FeatureExtractor, createFeatureExtractor, type ReturnNodes } from "./feature_extraction.js";
export { DATASET_STATS, IMAGENET_CLASSIFICATION, FASHION_MNIST_CLASSIFICATION, BANANAS_DETECTION, type Preset, type Interpolation } from "./presets.js";
export {
  get, register, list, info, getPreset, listModels, describeModels,
  type GetOptions, type ModelEntry, type ModelInfo, type Task,
} from "./registry.js";
export * as detection from "./detection/index.js";
export * as segmentation from "./segmentation/index.js";
