// Registers the one-stage detectors of torchvision's interface with models.get:
// ssd-resnet18 and yolo-resnet18 (numClasses counts the background, as
// torchvision's; read from a weights file when not given).
import { register, type ModelEntry } from "../registry.js";
import { DATASET_STATS, type Preset } from "../presets.js";
import type { Tensor } from "../../../tensor/index.js";
import { ssdResnet18, SSD_RESNET18_OPTIONS, SSD_RESNET18_ASPECT_RATIOS } from "./ssd.js";
import { yoloResnet18, YOLO_OPTIONS, YOLO_PRIORS } from "./yolo.js";

/** Images as torchvision's detectors take them: RGB 0..1, normalised with ImageNet's statistics inside the model, resized to a fixed side. */
const ONE_STAGE_DETECTION: Preset = { ...DATASET_STATS.imagenet, channels: 3, cropSize: 256, interpolation: "bilinear", dataset: "imagenet" };

function rows(w: Map<string, Tensor>, key: string): number | undefined {
  const t = w.get(key);
  return t && t.shape.length > 0 ? t.shape[0] : undefined;
}

const ssdEntry: ModelEntry = {
  task: "detection", preset: ONE_STAGE_DETECTION, options: SSD_RESNET18_OPTIONS,
  build: (o) => ssdResnet18({ ...o, numClasses: (o.numClasses as number | undefined) ?? 91 } as Parameters<typeof ssdResnet18>[0]),
  // The first map's classifier gives numClasses scores for each of its default boxes.
  fromWeights: { numClasses: (w) => { const n = rows(w, "head.classification_head.module_list.0.weight"); return n === undefined ? undefined : n / (2 + 2 * SSD_RESNET18_ASPECT_RATIOS[0].length); } },
  description: "SSD on ResNet-18 (layer2..4 + 2 extra blocks, 5 maps of default boxes, hard negative mining 3:1), torchvision's SSD interface; 256x256 by default",
};

const yoloEntry: ModelEntry = {
  task: "detection", preset: ONE_STAGE_DETECTION, options: ["numClasses", ...YOLO_OPTIONS],
  build: (o) => yoloResnet18({ ...o, numClasses: (o.numClasses as number | undefined) ?? 91 } as Parameters<typeof yoloResnet18>[0]),
  // head.pred gives (5 + numClasses − 1) numbers per prior (the default 5 priors).
  fromWeights: { numClasses: (w) => { const n = rows(w, "head.pred.weight"); return n === undefined ? undefined : n / YOLO_PRIORS.length - 4; } },
  description: "a YOLO-style grid detector on ResNet-18 (8x8 grid at 256x256, 5 anchor priors per cell), torchvision's detection interface",
};

register("ssd-resnet18", ssdEntry);
register("yolo-resnet18", yoloEntry);
