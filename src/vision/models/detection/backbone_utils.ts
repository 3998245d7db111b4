// torchvision's backbone_utils: a backbone's intermediate maps (layer1..4 of a
// ResNet, through IntermediateLayerGetter) fed to an FPN, as one module with
// torchvision's keys (backbone.body.layer1..., backbone.fpn.inner_blocks...).
import { FlareError } from "../../../errors.js";
import * as nn from "../../../nn/index.js";
import type { Tensor } from "../../../tensor/index.js";
import { checkOptions } from "../../../options.js";
import { IntermediateLayerGetter } from "../feature_extraction.js";
import { resnet18, resnet34, resnet50, type ResNet, type NormLayer } from "../resnet.js";
import { FeaturePyramidNetwork, LastLevelMaxPool, type ExtraFPNBlock } from "../../ops/feature_pyramid_network.js";

export interface BackboneWithFPNOptions {
  /** Levels above the last (LastLevelMaxPool by default, as torchvision). */
  extraBlocks?: ExtraFPNBlock | null;
  /** A norm layer in the FPN's convs (none). */
  normLayer?: NormLayer;
}

/** torchvision's BackboneWithFPN: body (IntermediateLayerGetter) then fpn; outChannels for the heads. */
export class BackboneWithFPN extends nn.Module {
  body: IntermediateLayerGetter;
  fpn: FeaturePyramidNetwork;
  readonly outChannels: number;

  constructor(backbone: nn.Module, returnLayers: Record<string, string>, inChannelsList: number[], outChannels: number, options: BackboneWithFPNOptions = {}) {
    super();
    checkOptions(options, ["extraBlocks", "normLayer"], "BackboneWithFPN()");
    this.body = new IntermediateLayerGetter(backbone, returnLayers);
    this.fpn = new FeaturePyramidNetwork(inChannelsList, outChannels, {
      extraBlocks: options.extraBlocks === undefined ? new LastLevelMaxPool() : options.extraBlocks,
      ...(options.normLayer ? { normLayer: options.normLayer } : {}),
    });
    this.outChannels = outChannels;
  }

  override forward(x: Tensor): Record<string, Tensor> {
    return this.fpn.forward(this.body.forward(x));
  }
}

export interface ResnetFpnExtractorOptions {
  /** Which of layer1..4 feed the FPN ([1, 2, 3, 4]). */
  returnedLayers?: number[];
  extraBlocks?: ExtraFPNBlock | null;
  normLayer?: NormLayer;
}

/**
 * torchvision's _resnet_fpn_extractor: freezes all but the last trainableLayers
 * of (layer4, layer3, layer2, layer1, conv1 [+ bn1 at 5]) and wraps the ResNet
 * with an FPN of 256 channels on the returned layers.
 */
export function resnetFpnExtractor(backbone: ResNet, trainableLayers: number, options: ResnetFpnExtractorOptions = {}): BackboneWithFPN {
  const what = "resnetFpnExtractor()";
  checkOptions(options, ["returnedLayers", "extraBlocks", "normLayer"], what);
  if (!Number.isInteger(trainableLayers) || trainableLayers < 0 || trainableLayers > 5)
    throw new FlareError(`${what}: trainable layers should be in the range [0,5], got ${JSON.stringify(trainableLayers)}`, "E_ARGUMENT");
  const layersToTrain = ["layer4", "layer3", "layer2", "layer1", "conv1"].slice(0, trainableLayers);
  if (trainableLayers === 5) layersToTrain.push("bn1");
  for (const [name, p] of backbone.namedParameters()) {
    if (layersToTrain.every((l) => !name.startsWith(l))) p.requiresGrad_(false);
  }
  const returned = options.returnedLayers ?? [1, 2, 3, 4];
  if (!Array.isArray(returned) || returned.length === 0 || returned.some((k) => !Number.isInteger(k) || k <= 0 || k >= 5))
    throw new FlareError(`${what}: each returned layer should be in the range [1,4], got ${JSON.stringify(returned)}`, "E_ARGUMENT");
  const returnLayers = Object.fromEntries(returned.map((k, v) => [`layer${k}`, String(v)]));
  const stage2 = backbone.outChannels / 8;
  const inChannelsList = returned.map((i) => stage2 * 2 ** (i - 1));
  // BackboneWithFPN's defaults: LastLevelMaxPool when extraBlocks is not given, no norm layer.
  const fpn = new BackboneWithFPN(backbone, returnLayers, inChannelsList, 256, { extraBlocks: options.extraBlocks, normLayer: options.normLayer });
  // The getter stops at layer4: the classifier is not part of the detector.
  backbone.avgpool?.dispose();
  backbone.fc?.dispose();
  return fpn;
}

const RESNETS: Record<string, (o: { normLayer: NormLayer }) => ResNet> = { resnet18, resnet34, resnet50 };

export interface ResnetFpnBackboneOptions extends ResnetFpnExtractorOptions {
  /** The ResNet's norm layer (nn.FrozenBatchNorm2d, as torchvision's). */
  normLayer?: NormLayer;
  /** How many of the top layers train (3). */
  trainableLayers?: number;
}

/** torchvision's resnet_fpn_backbone(backbone_name, ...): "resnet18" | "resnet34" | "resnet50" with an FPN. */
export function resnetFpnBackbone(backboneName: string, options: ResnetFpnBackboneOptions = {}): BackboneWithFPN {
  const what = "resnetFpnBackbone()";
  checkOptions(options, ["normLayer", "trainableLayers", "returnedLayers", "extraBlocks"], what);
  const make = Object.hasOwn(RESNETS, backboneName) ? RESNETS[backboneName] : undefined;
  if (!make) throw new FlareError(`${what}: backboneName must be one of ${Object.keys(RESNETS).join(", ")}, got ${JSON.stringify(backboneName)}`, "E_ARGUMENT");
  const body = make({ normLayer: options.normLayer ?? nn.FrozenBatchNorm2d });
  const { trainableLayers = 3, normLayer: _n, ...rest } = options;
  void _n;
  return resnetFpnExtractor(body, trainableLayers, rest);
}
