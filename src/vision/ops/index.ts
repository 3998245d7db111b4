export { boxArea, boxIou, boxConvert, nms, batchedNms, type BoxFormat } from "./boxes.js";
export { multiboxPrior, assignAnchorToBbox, offsetBoxes, offsetInverse, multiboxTarget, multiboxDetection, type MultiboxDetectionOptions } from "./anchors.js";
