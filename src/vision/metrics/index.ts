// flare/vision metrics: COCO detection evaluation (COCOeval's definition).
export { MeanAveragePrecision, type MeanAveragePrecisionOptions, type MeanAveragePrecisionResult, type DetectionPrediction, type DetectionTarget, type MeanAveragePrecisionBoxFormat } from "./mean_average_precision.js";
export { evaluateCoco, defaultParams, linspace, type CocoEvalParams, type CocoEvalInput, type CocoEvalResult, type CocoGroundTruth, type CocoDetections } from "./coco_eval.js";
export { summarizeCoco, formatFixed3, pairwiseSum, STAT_NAMES, type CocoSummary, type StatName } from "./coco_summary.js";
export { evaluateCocoFiles, cocoEvaluationJson, readCocoGroundTruth, readCocoResults, type CocoFileEvaluation } from "./coco_files.js";
export { SegmentationMetric, confusionMatrix, segmentationScores, type SegmentationScores, type SegmentationMetricOptions, type ConfusionMatrixOptions } from "./segmentation.js";
