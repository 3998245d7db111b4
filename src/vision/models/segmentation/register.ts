// The segmentation models in the registry: models.get("fcn-resnet18", { numClasses: 6 }).
import { FlareError } from "../../../errors.js";
import { get, register } from "../registry.js";
import { DATASET_STATS, type Preset } from "../presets.js";
import type { ResNet } from "../resnet.js";
import { fcnResnet18, fcn8sResnet18 } from "./fcn.js";
import { fcnResnet50 } from "./fcn_resnet50.js";

/** Segmentation input: RGB at its own size (no resize or crop: labels would lose their pixels), ImageNet statistics. */
export const SEGMENTATION_PRESET: Preset = { ...DATASET_STATS.imagenet, channels: 3, interpolation: "bilinear", dataset: "voc" };

/** A headless resnet18 with a classification weights file's trunk (its fc dropped), for the book's pretrained body. */
function body(backboneWeights: unknown): ResNet | undefined {
  if (backboneWeights === undefined) return undefined;
  if (typeof backboneWeights !== "string" || backboneWeights === "")
    throw new FlareError(`models.get(): backboneWeights must be the path of a resnet18 .safetensors file, got ${JSON.stringify(backboneWeights)}`, "E_ARGUMENT");
  return get("resnet18", { headless: true, weights: backboneWeights }) as ResNet;
}

const numClasses = (o: Record<string, unknown>) => o.numClasses as number | undefined;

/** The ResNet-18 FCNs: numClasses (read back from `classifierWeight`'s rows) and an optional pretrained body. */
function registerResnet18Fcn(name: string, make: typeof fcnResnet18 | typeof fcn8sResnet18, classifierWeight: string, description: string): void {
  register(name, {
    task: "segmentation",
    build: (o) => make({ numClasses: numClasses(o) ?? 21, ...(o.backboneWeights !== undefined ? { backbone: body(o.backboneWeights) } : {}) }),
    options: ["numClasses", "backboneWeights"], preset: SEGMENTATION_PRESET,
    fromWeights: { numClasses: [classifierWeight, 0] },
    description,
  });
}

registerResnet18Fcn("fcn-resnet18", fcnResnet18, "final_conv.weight",
  "d2l's FCN (14.11): ResNet-18 body, 1x1 conv, transposed conv k64 s32 p16 initialised bilinear (13.0M parameters for 21 classes)");
registerResnet18Fcn("fcn8s-resnet18", fcn8sResnet18, "score32.weight",
  "FCN-8s on ResNet-18: scores from layer2/3/4 fused by bilinear-initialised transposed convs (11.3M parameters for 21 classes)");

register("fcn-resnet50", {
  task: "segmentation",
  build: (o) => fcnResnet50({ numClasses: numClasses(o) ?? 21, auxLoss: o.auxLoss === 1 ? true : (o.auxLoss as boolean | undefined) ?? false, ...(o.normLayer ? { normLayer: o.normLayer as never } : {}) }),
  options: ["numClasses", "auxLoss", "normLayer"], preset: SEGMENTATION_PRESET,
  fromWeights: { numClasses: ["classifier.4.weight", 0], auxLoss: (w) => (w.has("aux_classifier.0.weight") ? 1 : undefined) },
  description: "torchvision's fcn_resnet50: dilated ResNet-50 (output stride 8), FCNHead, optional aux head on layer3 (33.0M parameters for 21 classes, 35.3M with aux)",
});
