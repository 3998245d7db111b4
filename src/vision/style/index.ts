// Neural style transfer (d2l 14.12): features, Gram matrices, losses, the optimisation loop.
export { gram, type GramMethod, type GramOptions } from "./gram.js";
export { contentLoss, styleLoss, tvLoss, computeLoss, BOOK_WEIGHTS, type LossWeights, type StyleLosses } from "./losses.js";
export type { StyleFeatures } from "./features.js";
export { LayerFeatures, vgg19StyleFeatures, BOOK_CONTENT_LAYERS, BOOK_STYLE_LAYERS, type VGG19StyleOptions } from "./vgg_features.js";
export { RandomStyleFeatures, type RandomStyleFeaturesOptions } from "./random_features.js";
export {
  styleTransfer, synthesize, preprocess, postprocess, SynthesizedImage, RGB_MEAN, RGB_STD, BOOK_SCHEDULE, RANDOM_SCHEDULE, defaultSchedule, type SynthesizeOptions,
  type StyleTransferOptions, type StyleTransferResult, type StyleStep,
} from "./transfer.js";
