// torchvision.ops.feature_pyramid_network: the FPN (Lin et al., 2017). Each
// input map gets a 1x1 lateral conv (inner_blocks); from the coarsest down,
// the running top-down map is upsampled (nearest) and added to the next
// lateral, and each sum goes through a 3x3 conv (layer_blocks). Extra blocks
// add levels above the last (LastLevelMaxPool: "pool", a stride-2 max pool).
// Keys are torchvision's: inner_blocks.0.0.weight, layer_blocks.3.0.bias.
import { FlareError } from "../../errors.js";
import * as nn from "../../nn/index.js";
import { interpolate, maxPool2d } from "../../nn/functional.js";
import type { Tensor } from "../../tensor/index.js";
import { checkOptions } from "../../options.js";
import { describe } from "./_checks.js";

/** torchvision's ExtraFPNBlock: takes the FPN's results, its inputs and names; returns more of each. */
export class ExtraFPNBlock extends nn.Module {
  override forward(results: Tensor[], x: Tensor[], names: string[]): [Tensor[], string[]] {
    void x;
    return [results, names];
  }
}

/** A stride-2 1x1 max pool of the last level, named "pool" (Faster R-CNN's P6). */
export class LastLevelMaxPool extends ExtraFPNBlock {
  override forward(results: Tensor[], x: Tensor[], names: string[]): [Tensor[], string[]] {
    void x;
    return [[...results, maxPool2d(results[results.length - 1], 1, { stride: 2, padding: 0 })], [...names, "pool"]];
  }
}

/** A norm layer class (nn.BatchNorm2d) or a function making one, as torchvision's norm_layer. */
export type NormLayer = (new (numFeatures: number) => nn.Module) | ((numFeatures: number) => nn.Module);

function makeNorm(normLayer: NormLayer, channels: number): nn.Module {
  const layer: unknown = normLayer.prototype instanceof nn.Module
    ? new (normLayer as new (n: number) => nn.Module)(channels) : (normLayer as (n: number) => nn.Module)(channels);
  if (!(layer instanceof nn.Module)) throw new FlareError("FeaturePyramidNetwork(): normLayer must be a Module class or a function returning a Module", "E_ARGUMENT");
  return layer;
}

/** torchvision's Conv2dNormActivation without activation: conv (bias unless normed) then an optional norm. */
function convNorm(inChannels: number, outChannels: number, kernelSize: number, normLayer: NormLayer | undefined): nn.Sequential {
  const conv = new nn.Conv2d(inChannels, outChannels, kernelSize, { padding: Math.floor((kernelSize - 1) / 2), bias: normLayer === undefined });
  return normLayer === undefined ? new nn.Sequential(conv) : new nn.Sequential(conv, makeNorm(normLayer, outChannels));
}

export interface FeaturePyramidNetworkOptions {
  /** Levels added above the last (none by default; LastLevelMaxPool in Faster R-CNN). */
  extraBlocks?: ExtraFPNBlock | null;
  /** A norm layer after each conv (none by default). */
  normLayer?: NormLayer;
}

/** torchvision.ops.FeaturePyramidNetwork(inChannelsList, outChannels, { extraBlocks, normLayer }). */
export class FeaturePyramidNetwork extends nn.Module {
  inner_blocks: nn.ModuleList;
  layer_blocks: nn.ModuleList;
  extra_blocks: ExtraFPNBlock | null;

  constructor(inChannelsList: number[], outChannels: number, options: FeaturePyramidNetworkOptions = {}) {
    super();
    const what = "FeaturePyramidNetwork()";
    checkOptions(options, ["extraBlocks", "normLayer"], what);
    if (!Array.isArray(inChannelsList) || inChannelsList.length === 0 || inChannelsList.some((c) => !Number.isInteger(c) || c < 0))
      throw new FlareError(`${what}: inChannelsList must be a non-empty array of channel counts, got ${describe(inChannelsList)}`, "E_ARGUMENT");
    if (inChannelsList.includes(0)) throw new FlareError(`${what}: in_channels=0 is currently not supported`, "E_ARGUMENT");
    if (!Number.isInteger(outChannels) || outChannels < 1) throw new FlareError(`${what}: outChannels must be a positive integer, got ${describe(outChannels)}`, "E_ARGUMENT");
    const extra = options.extraBlocks ?? null;
    if (extra !== null && !(extra instanceof ExtraFPNBlock)) throw new FlareError(`${what}: extraBlocks should be of type ExtraFPNBlock, got ${describe(extra)}`, "E_TYPE");
    const inner: nn.Module[] = [], layer: nn.Module[] = [];
    for (const c of inChannelsList) {
      inner.push(convNorm(c, outChannels, 1, options.normLayer));
      layer.push(convNorm(outChannels, outChannels, 3, options.normLayer));
    }
    this.inner_blocks = new nn.ModuleList(inner);
    this.layer_blocks = new nn.ModuleList(layer);
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) {
        nn.init.kaimingUniform_(m.weight, { a: 1 });
        if (m.bias) nn.init.constant_(m.bias, 0);
      }
    }
    this.extra_blocks = extra;
  }

  get innerBlocks(): nn.ModuleList { return this.inner_blocks; }
  get layerBlocks(): nn.ModuleList { return this.layer_blocks; }
  get extraBlocks(): ExtraFPNBlock | null { return this.extra_blocks; }

  /** x: feature maps by name, finest first → the FPN maps under the same names (plus the extra blocks'). */
  override forward(x: Record<string, Tensor>): Record<string, Tensor> {
    let names = Object.keys(x);
    const maps = Object.values(x);
    const n = this.inner_blocks.length;
    if (maps.length !== n) throw new FlareError(`FeaturePyramidNetwork.forward(): expected ${n} feature maps, got ${maps.length} (${names.join(", ")})`, "E_ARGUMENT");
    let lastInner = this.inner_blocks.get(n - 1).forward(maps[n - 1]) as Tensor;
    let results: Tensor[] = [this.layer_blocks.get(n - 1).forward(lastInner) as Tensor];
    for (let idx = n - 2; idx >= 0; idx--) {
      const lateral = this.inner_blocks.get(idx).forward(maps[idx]) as Tensor;
      const topDown = interpolate(lastInner, { size: lateral.shape.slice(-2), mode: "nearest" });
      lastInner = lateral.add(topDown);
      results.unshift(this.layer_blocks.get(idx).forward(lastInner) as Tensor);
    }
    if (this.extra_blocks) [results, names] = this.extra_blocks.forward(results, maps, names) as [Tensor[], string[]];
    return Object.fromEntries(names.map((name, i) => [name, results[i]]));
  }
}
