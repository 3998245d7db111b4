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
