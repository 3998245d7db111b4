// torch.nn: Module and Parameter, containers, layers, losses, init and
// functional. `import { nn, F } from "flare"`: nn is this module's exports,
// F is ./functional.js.
export { Module, type StateDict, type LoadResult, type ToTarget } from "./module.js";
export { Parameter, isParameter } from "./parameter.js";
export { Sequential, ModuleList, ModuleDict } from "./containers.js";
export { Linear, Identity } from "./layers/linear.js";
export { Conv2d, ConvTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions, type PaddingMode } from "./layers/conv.js";
export { BatchNorm1d, BatchNorm2d, FrozenBatchNorm2d, LayerNorm, GroupNorm, type BatchNormOptions } from "./layers/normalization.js";
export { ReLU, LeakyReLU, GELU, SiLU, Sigmoid, Tanh, Softmax, LogSoftmax } from "./layers/activation.js";
export { Dropout, Dropout2d } from "./layers/dropout.js";
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d } from "./layers/pooling.js";
export { Flatten, Upsample, type UpsampleOptions } from "./layers/shape.js";
export { CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, MSELoss, L1Loss, SmoothL1Loss } from "./layers/loss.js";
export type { FactoryOptions } from "./layers/common.js";
export * as init from "./init.js";
export * as functional from "./functional.js";
export { clipGradNorm_, clipGradValue_ } from "./clip.js";
export * as utils from "./clip.js";
export * as parallel from "./parallel/index.js";
export { SyncBatchNorm } from "./parallel/sync_batchnorm.js";
