// flare/vision: image io, pictures (grids, boxes, masks), models, datasets.
export * as io from "./io.js";
export * as utils from "./utils/index.js";
export { readImage, decodeImage, encodeImage, writeImage, type ImageReadMode, type ImageFormat } from "./io.js";
export * as transforms from "./transforms/index.js";
export * as ops from "./ops/index.js";
export * as models from "./models/index.js";
export * as datasets from "./datasets/index.js";
export * as metrics from "./metrics/index.js";
