export { boxArea, boxConvert, clipBoxesToImage, removeSmallBoxes, masksToBoxes, type BoxFormat } from "./boxes.js";
export { boxIou, generalizedBoxIou, distanceBoxIou, completeBoxIou } from "./iou.js";
export { nms, batchedNms } from "./nms.js";
export { BoxCoder, type BoxCoderOptions } from "./box_coder.js";
export { Matcher, type MatcherOptions } from "./matcher.js";
export {
  generalizedBoxIouLoss, distanceBoxIouLoss, completeBoxIouLoss, sigmoidFocalLoss,
  type BoxLossOptions, type SigmoidFocalLossOptions,
} from "./losses.js";
export { multiboxPrior, assignAnchorToBbox, offsetBoxes, offsetInverse, multiboxTarget, multiboxDetection, type MultiboxDetectionOptions } from "./anchors.js";
export { roiAlign, roiPool, RoIAlign, RoIPool, convertBoxesToRoiFormat, type RoiAlignOptions, type RoiBoxes } from "./roi.js";
export { BalancedPositiveNegativeSampler } from "./sampler.js";
export { MultiScaleRoIAlign, LevelMapper, type MultiScaleRoIAlignOptions } from "./poolers.js";
export { FeaturePyramidNetwork, ExtraFPNBlock, LastLevelMaxPool, type FeaturePyramidNetworkOptions } from "./feature_pyramid_network.js";
