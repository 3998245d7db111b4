// Detection models (torchvision.models.detection's place): the book's TinySSD.
export {
  TinySSD, tinySsd, clsPredictor, bboxPredictor, flattenPred, concatPreds, downSampleBlk, baseNet, getBlk,
  TINY_SSD_SIZES, TINY_SSD_RATIOS, type TinySSDOptions,
} from "./tiny_ssd.js";
export { calcLoss, clsEval, bboxEval } from "./tiny_ssd_loss.js";
export { DefaultBoxGenerator, type DefaultBoxGeneratorOptions } from "./default_boxes.js";
export {
  SSD, SSDHead, SSDScoringHead, SSDClassificationHead, SSDRegressionHead, SSDMatcher, SSDFeatureExtractorResNet, ssdResnet18,
  SSD_RESNET18_ASPECT_RATIOS, SSD_RESNET18_SCALES, type SSDOptions, type SSDResnet18Options,
} from "./ssd.js";
export { YOLO, YOLOHead, yoloResnet18, YOLO_PRIORS, type YOLOOptions, type YoloResnet18Options } from "./yolo.js";
export type { DetectionTarget, DetectionResult } from "./one_stage.js";
import "./register_one_stage.js";
// Faster R-CNN (torchvision's two-stage detector) and its parts.
export { GeneralizedRCNNTransform, resizeBoxes, type GeneralizedRCNNTransformOptions } from "./transform.js";
export type { ImageList, Detection } from "./image_list.js";
export { AnchorGenerator } from "./anchor_generator.js";
export { BackboneWithFPN, resnetFpnExtractor, resnetFpnBackbone, type BackboneWithFPNOptions, type ResnetFpnExtractorOptions, type ResnetFpnBackboneOptions } from "./backbone_utils.js";
export { RPNHead, RegionProposalNetwork, concatBoxPredictionLayers, type TopN, type RegionProposalNetworkOptions } from "./rpn.js";
export { RoIHeads, fastrcnnLoss } from "./roi_heads.js";
export {
  FasterRCNN, TwoMLPHead, FastRCNNPredictor, fasterrcnnResnet50Fpn, fasterrcnnResnet18Fpn, defaultAnchorGenerator,
  type FasterRCNNOptions, type FasterRCNNResNetFPNOptions,
} from "./faster_rcnn.js";
export { FASTER_RCNN_PRESET } from "./faster_rcnn_register.js";
