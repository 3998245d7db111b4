export { boxArea, boxIou, boxConvert, nms, batchedNms, type BoxFormat } from "./boxes.js";
