// torchvision's FCN (torchvision/models/segmentation/fcn.py, 0.14): a dilated
// ResNet-50 backbone (output stride 8) through IntermediateLayerGetter
// ({ layer4: "out", layer3: "aux" }), FCNHead classifiers, and bilinear
// upsampling of their scores to the input's size. State-dict keys are
// torchvision's (backbone.layer1.0.conv1.weight, classifier.4.bias,
// aux_classifier.0.weight), so its weights files load without renaming.
import { FlareError } from "../../../errors.js";
import { checkOptions } from "../../../options.js";
import * as nn from "../../../nn/index.js";
import { interpolate } from "../../../nn/functional.js";
import type { Tensor } from "../../../tensor/index.js";
import { resnet50, type NormLayer } from "../resnet.js";
import { IntermediateLayerGetter } from "../feature_extraction.js";

/** torchvision's FCNHead: 3×3 conv to inChannels/4, BN, ReLU, dropout 0.1, 1×1 conv to the classes (a Sequential: keys 0, 1, 4). */
export class FCNHead extends nn.Sequential {
  constructor(inChannels: number, channels: number) {
    const inter = Math.floor(inChannels / 4);
    super(
      new nn.Conv2d(inChannels, inter, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(inter), new nn.ReLU(),
      new nn.Dropout(0.1), new nn.Conv2d(inter, channels, 1),
    );
  }
}

/** What an FCN returns: the per-pixel scores, and the auxiliary head's when it has one. */
export interface SegmentationOutput { out: Tensor; aux?: Tensor }

/** torchvision's FCN: backbone features → classifier (and aux_classifier on "aux") → bilinear to the input size. */
export class FCN extends nn.Module {
  backbone: IntermediateLayerGetter;
  classifier: nn.Module;
  // torchvision's attribute name, so the state-dict keys are its keys.
  aux_classifier: nn.Module | null;

  constructor(backbone: IntermediateLayerGetter, classifier: nn.Module, auxClassifier: nn.Module | null = null) {
    super();
    this.backbone = backbone;
    this.classifier = classifier;
    this.aux_classifier = auxClassifier;
  }

  get auxClassifier(): nn.Module | null { return this.aux_classifier; }

  override forward(x: Tensor): SegmentationOutput {
    const size = x.shape.slice(-2);
    const features = this.backbone.forward(x);
    const up = (t: Tensor) => interpolate(t, { size, mode: "bilinear", alignCorners: false });
    const result: SegmentationOutput = { out: up(this.classifier.forward(features.out) as Tensor) };
    if (this.aux_classifier && features.aux) result.aux = up(this.aux_classifier.forward(features.aux) as Tensor);
    return result;
  }
}

export interface FcnResnet50Options {
  /** Classes per pixel (21, VOC's). */
  numClasses?: number;
  /** Build the auxiliary FCNHead on layer3 (torchvision's aux_loss; default false). */
  auxLoss?: boolean;
  /** The backbone's norm layer (nn.BatchNorm2d). */
  normLayer?: NormLayer;
}

const OPTIONS = ["numClasses", "auxLoss", "normLayer"];

/** torchvision.models.segmentation.fcn_resnet50(num_classes, aux_loss): 35.3M parameters with 21 classes and the aux head. */
export function fcnResnet50(options: FcnResnet50Options = {}): FCN {
  const what = "fcnResnet50()";
  options = checkOptions(options, OPTIONS, what);
  const numClasses = options.numClasses ?? 21;
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new FlareError(`${what}: numClasses must be a positive integer, got ${JSON.stringify(options.numClasses)}`, "E_ARGUMENT");
  const auxLoss = options.auxLoss ?? false;
  if (typeof auxLoss !== "boolean") throw new FlareError(`${what}: auxLoss must be true or false, got ${JSON.stringify(options.auxLoss)}`, "E_ARGUMENT");
  const body = resnet50({ replaceStrideWithDilation: [false, true, true], ...(options.normLayer ? { normLayer: options.normLayer } : {}) });
  const backbone = new IntermediateLayerGetter(body, auxLoss ? { layer3: "aux", layer4: "out" } : { layer4: "out" });
  // avgpool and fc are not taken into the getter: free them.
  body.avgpool?.dispose(); body.fc?.dispose();
  return new FCN(backbone, new FCNHead(2048, numClasses), auxLoss ? new FCNHead(1024, numClasses) : null);
}
