// Faster R-CNN in the registry: models.get("fasterrcnn-resnet50-fpn", { numClasses,
// weights, minSize, boxScoreThresh, ... }) with torchvision's keyword arguments
// camelCased. numClasses is read from a weights file when not given, so
// torchvision's COCO weights (91 classes) load as they are.
import { FlareError } from "../../../errors.js";
import * as nn from "../../../nn/index.js";
import { get, register } from "../registry.js";
import type { Preset } from "../presets.js";
import type { ResNet } from "../resnet.js";
import { FASTER_RCNN_OPTIONS, fasterrcnnResnet18Fpn, fasterrcnnResnet50Fpn, type FasterRCNNResNetFPNOptions } from "./faster_rcnn.js";

/** The detector normalises inside (GeneralizedRCNNTransform): it takes RGB in [0, 1] at any size. */
export const FASTER_RCNN_PRESET: Preset = { mean: [0, 0, 0], std: [1, 1, 1], channels: 3, interpolation: "bilinear", dataset: "coco" };

const OPTIONS = ["numClasses", "trainableBackboneLayers", "normLayer", "backboneWeights", ...FASTER_RCNN_OPTIONS];

function entry(name: string, resnet: "resnet18" | "resnet50", make: typeof fasterrcnnResnet50Fpn, description: string): void {
  register(name, {
    task: "detection",
    build: ({ backboneWeights, ...options }) => {
      let backbone: ResNet | undefined;
      if (backboneWeights !== undefined) {
        if (typeof backboneWeights !== "string" || backboneWeights === "")
          throw new FlareError(`models.get("${name}"): backboneWeights must be the path of a ${resnet} .safetensors file, got ${JSON.stringify(backboneWeights)}`, "E_ARGUMENT");
        // A classifier's weights: built in full (the fc dropped later), frozen batch norm unless told otherwise.
        backbone = get(resnet, { weights: backboneWeights, normLayer: (options.normLayer as never) ?? nn.FrozenBatchNorm2d }) as ResNet;
      }
      return make({ ...(options as FasterRCNNResNetFPNOptions), ...(backbone ? { backbone } : {}) });
    },
    options: OPTIONS, preset: FASTER_RCNN_PRESET,
    fromWeights: { numClasses: ["roi_heads.box_predictor.cls_score.weight", 0] },
    description,
  });
}

entry("fasterrcnn-resnet50-fpn", "resnet50", fasterrcnnResnet50Fpn,
  "torchvision's fasterrcnn_resnet50_fpn: ResNet-50 + FPN, RPN, RoIAlign box head (41.8M parameters for 91 classes)");
entry("fasterrcnn-resnet18-fpn", "resnet18", fasterrcnnResnet18Fpn,
  "Faster R-CNN on a ResNet-18 FPN backbone, torchvision's structure and keys (28.3M parameters for 91 classes)");
