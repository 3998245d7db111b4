export { boxArea, boxIou, boxConvert, nms, batchedNms, type BoxFormat } from "./boxes.js";
export { roiAlign, roiPool, RoIAlign, RoIPool, convertBoxesToRoiFormat, type RoiAlignOptions, type RoiBoxes } from "./roi.js";
