export { resnet18Small, Residual } from "./resnet_d2l.js";
export { ResNet, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, type ResNetOptions, type Block } from "./resnet.js";
export { VGG, makeLayers, cfgs, vgg11, vgg11Bn, vgg16, vgg16Bn, vgg19, vgg19Bn, type VGGOptions, type VGGBuildOptions, type VggConfig } from "./vgg.js";
export { get, listModels, describeModels, type GetOptions } from "./registry.js";
export * as detection from "./detection/index.js";
