// The default extractor, which needs no downloaded weights: a multi-scale
// network of fixed random convolution filters.
//
// Why this works: style, as Gatys et al. measure it, is the Gram matrix of
// filter responses, i.e. which local patterns co-occur and how strongly. The
// filters need not be learned for that: Ustyuzhaninov et al. ("Texture
// synthesis using shallow convolutional networks with random filters", 2016)
// synthesise textures comparable to VGG's with a single layer of random
// filters at several scales, and He et al. (2016) transfer style with
// random-weight networks. Here the image pyramid stands in for large filters
// (a 5×5 filter on the image downsampled 2^l times sees 5·2^l pixels), which
// keeps the cost a few GFLOPs per step at 300×450. Each level has a random
// conv + ReLU, then a second random conv + ReLU on the first's maps (a
// 3×3 one, so patterns of patterns count, as in VGG's deeper layers): the
// style layers are the first layer at every level and the second at the
// coarser levels; the content layer is the second layer at a middle level,
// coarse enough to leave colour and texture free, fine enough to keep shapes.
// The filters come from flare's own seeded generator (not the global RNG),
// so a seed gives the same network on every machine.
import { FlareError } from "../../errors.js";
import * as F from "../../nn/functional.js";
import { Tensor, Generator, fromTypedArray, keep, dispose } from "../../tensor/index.js";
import type { StyleFeatures } from "./features.js";

export interface RandomStyleFeaturesOptions {
  /** The filters' seed (0). */
  seed?: number;
  /** Pyramid levels (5: the image, then halved four times). */
  levels?: number;
  /** Filters per layer (64). */
  channels?: number;
}

interface Conv { weight: Tensor; bias: Tensor; padding: number }

/** Gaussian filters scaled by gain/√fan-in (the responses keep the input's scale), and a small random bias. */
function randomConv(g: Generator, inChannels: number, outChannels: number, k: number, gain: number): Conv {
  const fanIn = inChannels * k * k;
  const w = new Float32Array(outChannels * fanIn);
  for (let i = 0; i < w.length; i++) w[i] = g.normal(0, gain / Math.sqrt(fanIn));
  const b = new Float32Array(outChannels);
  for (let i = 0; i < b.length; i++) b[i] = g.normal(0, 0.1);
  return { weight: keep(fromTypedArray(w, [outChannels, inChannels, k, k])), bias: keep(fromTypedArray(b, [outChannels])), padding: (k - 1) / 2 };
}

/** The multi-scale random-filter network (see the file's head): no training, no download. */
export class RandomStyleFeatures implements StyleFeatures {
  readonly description: string;
  readonly levels: number;
  readonly #first: Conv[] = [];
  readonly #second: Conv[] = [];
  /** The level whose second layer is the content layer. */
  readonly #contentLevel: number;

  constructor(options: RandomStyleFeaturesOptions = {}) {
    for (const key of Object.keys(options)) if (!["seed", "levels", "channels"].includes(key))
      throw new FlareError(`RandomStyleFeatures(): unknown option "${key}" (options: seed, levels, channels)`, "E_ARGUMENT");
    const seed = options.seed ?? 0, levels = options.levels ?? 5, channels = options.channels ?? 64;
    for (const [name, v, min] of [["seed", seed, 0], ["levels", levels, 1], ["channels", channels, 1]] as const)
      if (!Number.isSafeInteger(v) || v < min) throw new FlareError(`RandomStyleFeatures(): ${name} must be an integer ≥ ${min}, got ${String(v)}`, "E_ARGUMENT");
    const g = new Generator(seed);
    this.levels = levels;
    this.#contentLevel = Math.min(2, levels - 1);
    for (let l = 0; l < levels; l++) {
      this.#first.push(randomConv(g, 3, channels, 5, 1));
      this.#second.push(randomConv(g, channels, channels, 3, Math.SQRT2));
    }
    this.description = `random multi-scale filters (seed ${seed}, ${levels} levels, ${channels} channels)`;
  }

  extract(x: Tensor): { contents: Tensor[]; styles: Tensor[] } {
    const styles: Tensor[] = [];
    let contents: Tensor[] = [];
    let level = x;
    for (let l = 0; l < this.levels; l++) {
      if (l > 0) {
        if (level.shape[2] < 2 || level.shape[3] < 2) break;  // an image too small for more levels
        level = F.avgPool2d(level, 2);
      }
      const a = this.#first[l], b = this.#second[l];
      const h1 = F.relu(F.conv2d(level, a.weight, a.bias, { padding: a.padding }));
      styles.push(h1);
      // The second layer only where it is cheap (levels ≥ 1) and the content level.
      if (l >= 1) {
        const h2 = F.relu(F.conv2d(h1, b.weight, b.bias, { padding: b.padding }));
        styles.push(h2);
        if (l === this.#contentLevel) contents = [h2];
      }
    }
    if (contents.length === 0) contents = [styles[styles.length - 1]];
    return { contents, styles };
  }

  dispose(): void {
    for (const c of [...this.#first, ...this.#second]) dispose([c.weight, c.bias]);
  }
}

