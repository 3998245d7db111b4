// The default extractor, which needs no downloaded weights: a multi-scale
// network of fixed random convolution filters.
//
// Why this works: style, as Gatys et al. measure it, is the Gram matrix of
// filter responses, i.e. which local patterns co-occur and how strongly. The
// filters need not be learned for that: Ustyuzhaninov et al. ("Texture
// synthesis using shallow convolutional networks with random filters", 2016)
// synthesise textures comparable to VGG's with a single layer of random
// filters at several scales, and He et al. (2016) transfer style with
// random-weight networks. Here an image pyramid stands in for large filters
// (a 5×5 filter on the image downsampled 2^l times sees 5·2^l pixels), which
// keeps a step a few GFLOPs at 300×450. Per level: a 5×5 random conv + ReLU
// whose filters are half colour detectors (the centre pixel only) and half
// zero-mean pattern detectors (see randomConv), then, from level 2 on, a 3×3
// random conv + ReLU over those maps (patterns of patterns, as VGG's deeper
// layers). Style layers: every one of these maps (5 + 3 with 5 levels). The
// content layer: level 2's second map (1/4 scale), coarse enough to leave
// colour and texture free, fine enough to keep the shapes.
// The filters come from flare's own seeded generator (not the global RNG),
// so a seed gives the same network on every machine.
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";
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
  /** The scale of every layer's responses (14); sets the style loss against the content and TV losses under the book's weights. */
  gain?: number;
}

/** The first level with a second layer: below it a 64 → 64 conv costs more than all the rest. */
const SECOND = 2;
/** The share of first-layer filters that see colour (the centre pixel) rather than patterns. */
const COLOUR = 0.5;

interface Conv { weight: Tensor; bias: Tensor; padding: number }

/**
 * Gaussian filters scaled by gain/√fan-in (the responses keep the input's
 * scale), and a small random bias. The first `colour` filters see only the
 * centre pixel (a random colour direction); the others have their taps made
 * zero-mean per input channel, so they answer to patterns (edges, stripes,
 * grain) and not to the mean colour, which would otherwise dominate every
 * response and leave the texture unconstrained.
 */
function randomConv(g: Generator, inChannels: number, outChannels: number, k: number, gain: number, biasStd: number, colour = 0): Conv {
  const taps = k * k, fanIn = inChannels * taps, centre = (taps - 1) / 2;
  const w = new Float32Array(outChannels * fanIn);
  for (let o = 0; o < outChannels; o++) {
    for (let c = 0; c < inChannels; c++) {
      const at = (o * inChannels + c) * taps;
      if (o < colour) { w[at + centre] = g.normal(0, gain / Math.sqrt(inChannels)); continue; }
      let mean = 0;
      for (let t = 0; t < taps; t++) { w[at + t] = g.normal(0, gain / Math.sqrt(fanIn)); mean += w[at + t] / taps; }
      if (colour >= 0 && taps > 1) for (let t = 0; t < taps; t++) w[at + t] -= mean;
    }
  }
  const b = new Float32Array(outChannels);
  for (let i = 0; i < b.length; i++) b[i] = g.normal(0, biasStd);
  return { weight: keep(fromTypedArray(w, [outChannels, inChannels, k, k])), bias: keep(fromTypedArray(b, [outChannels])), padding: (k - 1) / 2 };
}

/**
 * relu(conv(x)), the pre-activation's handle freed at once: autograd keeps what
 * it needs, and the bytes flare reports to V8 per step stay lower (each step's
 * growth of reported native memory past 64 MB made V8 run a full
 * mark-compact, ~15 ms, at every step; the level-0 maps alone are 17 MB each).
 */
function convRelu(x: Tensor, c: Conv): Tensor {
  const pre = F.conv2d(x, c.weight, c.bias, { padding: c.padding });
  try { return F.relu(pre); } finally { pre.dispose(); }
}

/** The multi-scale random-filter network (see the file's head): no training, no download. */
export class RandomStyleFeatures implements StyleFeatures {
  readonly description: string;
  readonly levels: number;
  /** Gram matrices through oneDNN (see gram.ts): this path has no PyTorch parity to keep bit for bit, and it is 4× faster per step. */
  readonly gramMethod = "conv" as const;
  readonly #first: Conv[] = [];
  readonly #second: Conv[] = [];
  /** The level whose second layer is the content layer. */
  readonly #contentLevel: number;

  constructor(options: RandomStyleFeaturesOptions = {}) {
    options = checkOptions(options, ["seed", "levels", "channels", "gain"], "RandomStyleFeatures()");
    const seed = options.seed ?? 0, levels = options.levels ?? 5, channels = options.channels ?? 64;
    for (const [name, v, min] of [["seed", seed, 0], ["levels", levels, 1], ["channels", channels, 1]] as const)
      if (!Number.isSafeInteger(v) || v < min) throw new FlareError(`RandomStyleFeatures(): ${name} must be an integer ≥ ${min}, got ${String(v)}`, "E_ARGUMENT");
    // 14: chosen by looking at results under the book's weights (content 1, style 1e4, TV 10) on the
    // bundled photos; the style loss scales as gain⁴ and the content loss as gain², so a larger gain favours style.
    const gain = options.gain ?? 14;
    if (typeof gain !== "number" || !(gain > 0)) throw new FlareError(`RandomStyleFeatures(): gain must be a number > 0, got ${String(gain)}`, "E_ARGUMENT");
    const g = new Generator(seed);
    this.levels = levels;
    this.#contentLevel = Math.min(2, levels - 1);
    for (let l = 0; l < levels; l++) {
      // Half the filters at full resolution, where each costs the most.
      const c1 = l === 0 ? Math.max(2, channels >> 1) : channels;
      this.#first.push(randomConv(g, 3, c1, 5, gain, 0.1 * gain, Math.round(c1 * COLOUR)));
      this.#second.push(randomConv(g, c1, channels, 3, Math.SQRT2, 0.1 * gain, -1));
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
      const h1 = convRelu(level, a);
      styles.push(h1);
      // The second layer only where it is cheap (levels ≥ SECOND).
      if (l >= SECOND) {
        const h2 = convRelu(h1, b);
        styles.push(h2);
        if (l === this.#contentLevel) contents = [h2];
      }
    }
    if (contents.length === 0) contents = [styles[styles.length - 1]];
    return { contents, styles };
  }

  /** The filters by name (level<l>.conv<1|2>.weight / .bias), e.g. to run the same network elsewhere (bench/stylize_torch.py). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (let l = 0; l < this.levels; l++) {
      for (const [k, c] of [[1, this.#first[l]], [2, this.#second[l]]] as const) {
        out.set(`level${l}.conv${k}.weight`, c.weight);
        out.set(`level${l}.conv${k}.bias`, c.bias);
      }
    }
    return out;
  }

  dispose(): void {
    for (const c of [...this.#first, ...this.#second]) dispose([c.weight, c.bias]);
  }
}

