// flare/vision utils: pictures of tensors (grids, boxes, masks, label maps) and saving them.
export { makeGrid, saveImage, type MakeGridOptions, type SaveImageOptions } from "./grid.js";
export { drawBoundingBoxes, drawSegmentationMasks, drawText, type DrawBoundingBoxesOptions, type DrawSegmentationMasksOptions } from "./draw.js";
export { VOC_CLASSES, VOC_COLORMAP, colorizeLabelMap, type ColorizeOptions } from "./colormap.js";
export { parseColor, defaultPalette, type Color, type RGB } from "./colors.js";
export { renderText, measureText } from "./font.js";
