// Detection models (torchvision.models.detection's place): the book's TinySSD.
export {
  TinySSD, tinySsd, clsPredictor, bboxPredictor, flattenPred, concatPreds, downSampleBlk, baseNet, getBlk,
  TINY_SSD_SIZES, TINY_SSD_RATIOS, type TinySSDOptions,
} from "./tiny_ssd.js";
export { calcLoss, clsEval, bboxEval } from "./tiny_ssd_loss.js";
// Faster R-CNN (torchvision's two-stage detector) and its parts.
export { GeneralizedRCNNTransform, resizeBoxes, type GeneralizedRCNNTransformOptions } from "./transform.js";
export type { ImageList, DetectionTarget, Detection } from "./image_list.js";
export { AnchorGenerator } from "./anchor_generator.js";
export { BackboneWithFPN, resnetFpnExtractor, resnetFpnBackbone, type BackboneWithFPNOptions, type ResnetFpnExtractorOptions, type ResnetFpnBackboneOptions } from "./backbone_utils.js";
export { RPNHead, RegionProposalNetwork, concatBoxPredictionLayers, type TopN, type RegionProposalNetworkOptions } from "./rpn.js";
export { RoIHeads, fastrcnnLoss } from "./roi_heads.js";
export {
  FasterRCNN, TwoMLPHead, FastRCNNPredictor, fasterrcnnResnet50Fpn, fasterrcnnResnet18Fpn, defaultAnchorGenerator,
  type FasterRCNNOptions, type FasterRCNNResNetFPNOptions,
} from "./faster_rcnn.js";
export { FASTER_RCNN_PRESET } from "./faster_rcnn_register.js";
