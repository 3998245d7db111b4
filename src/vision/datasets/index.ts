export { loadFashionMnist, readIdx, FASHION_MNIST_ROOT, FASHION_MNIST_CLASSES } from "./fashion_mnist.js";
export { CIFAR10, CIFAR10_CLASSES, type CIFAR10Options } from "./cifar.js";
export { ImageFolder, IMG_EXTENSIONS, type ImageFolderOptions } from "./image_folder.js";
export {
  VOCSegmentation, VOCDetection, vocLabelIndices, parseVocAnnotation, VOC_IGNORE_COLOR,
  type VOCSegmentationOptions, type VOCDetectionOptions, type VOCDetectionTarget, type VocAnnotation, type VocObject, type LabelIndicesOptions,
} from "./voc.js";
export { CocoDetection, type CocoDetectionOptions, type CocoTarget, type CocoImage, type CocoAnnotation, type CocoCategory } from "./coco.js";
export { BananaDetection, parseBananaCsv, BANANA_CSV_HEADER, type BananaDetectionOptions, type BananaEntry } from "./bananas.js";
export { encodePalettePng, vocPalette } from "./palette_png.js";
export { parseXml, type XmlElement } from "./xml.js";
export { imageSizeFromHeader, type DatasetTransform, type OnError as DatasetOnError, type Skipped } from "./_common.js";
export {
  makeBananas, makeShapes, drawBananaImage, drawShapesImage, SHAPE_CLASSES, FRUIT_CLASSES,
  type MakeBananasOptions, type MakeShapesOptions, type BananasManifest, type ShapesManifest, type BananaFormat, type GeneratedImage, type GeneratedShapes,
} from "./generators/index.js";
