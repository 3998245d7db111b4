// Data generators: sets that cannot be downloaded here, made deterministically
// from a seed and written in the real formats the dataset loaders read.
export { makeBananas, drawBananaImage, type MakeBananasOptions, type BananasManifest, type BananaFormat, type GeneratedImage } from "./bananas.js";
export { makeShapes, drawShapesImage, SHAPE_CLASSES, type MakeShapesOptions, type ShapesManifest, type GeneratedShapes } from "./shapes.js";
export { FRUIT_CLASSES } from "./objects.js";
