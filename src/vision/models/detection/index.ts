// Detection models (torchvision.models.detection's place): the book's TinySSD.
export {
  TinySSD, tinySsd, clsPredictor, bboxPredictor, flattenPred, concatPreds, downSampleBlk, baseNet, getBlk,
  TINY_SSD_SIZES, TINY_SSD_RATIOS, type TinySSDOptions,
} from "./tiny_ssd.js";
export { calcLoss, clsEval, bboxEval } from "./tiny_ssd_loss.js";
