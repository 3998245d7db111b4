// The book's feature extractor (d2l 14.12): torchvision's VGG-19 `features`,
// content layer 25 (conv4_4), style layers 0, 5, 10, 19, 28 (conv1_1 ...
// conv5_1), run module by module through features[0..28].
//
// torchvision's VGG ReLUs are in-place, so the map the book collects "after
// conv i" is overwritten by the ReLU that follows it: in effect relu1_1,
// relu2_1, relu3_1, relu4_1 and relu4_4, while conv5_1, the last module the
// book runs, stays pre-ReLU. flare's ReLUs are not in-place; extract() takes
// each map after the ReLU that follows its layer when the book's net runs one,
// which gives the same values and the same gradients.
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";
import * as nn from "../../nn/index.js";
import { loadFile } from "../../io/safetensors.js";
import { Tensor, dispose as disposeTensors, noGrad, getRngState, setRngState } from "../../tensor/index.js";
import { cfgs, makeLayers } from "../models/vgg.js";
import type { StyleFeatures } from "./features.js";

export const BOOK_CONTENT_LAYERS: readonly number[] = Object.freeze([25]);
export const BOOK_STYLE_LAYERS: readonly number[] = Object.freeze([0, 5, 10, 19, 28]);

/** Indices of the convolutions in torchvision's vgg19().features (configuration E). */
const VGG19_CONVS: number[] = (() => {
  const out: number[] = [];
  let i = 0;
  for (const v of cfgs.E) { if (v === "M") i += 1; else { out.push(i); i += 2; } }
  return out;
})();

/** Module-by-module feature extraction over a Sequential, taken as the book's in-place ReLUs leave the maps. */
export class LayerFeatures extends nn.Module implements StyleFeatures {
  readonly net: nn.Sequential;
  readonly contentLayers: number[];
  readonly styleLayers: number[];
  readonly description: string;

  constructor(net: nn.Sequential, contentLayers: readonly number[], styleLayers: readonly number[], description = "layer features") {
    super();
    const n = net.length;
    for (const [name, layers] of [["contentLayers", contentLayers], ["styleLayers", styleLayers]] as const) {
      if (!Array.isArray(layers) || layers.some((i) => !Number.isInteger(i) || i < 0 || i >= n))
        throw new FlareError(`LayerFeatures(): ${name} must be module indices in 0..${n - 1}, got ${JSON.stringify(layers)}`, "E_ARGUMENT");
    }
    this.net = net;
    this.contentLayers = [...contentLayers];
    this.styleLayers = [...styleLayers];
    this.description = description;
    this.requiresGrad_(false);  // only the image is trained
  }

  /** Where the book's map of layer i ends up: after the in-place ReLU that follows it, if the net runs one. */
  #takenAfter(i: number): number {
    return i + 1 < this.net.length && this.net.get(i + 1) instanceof nn.ReLU ? i + 1 : i;
  }

  extract(x: Tensor): { contents: Tensor[]; styles: Tensor[] } {
    const contentAt = this.contentLayers.map((i) => this.#takenAfter(i));
    const styleAt = this.styleLayers.map((i) => this.#takenAfter(i));
    const last = Math.max(...contentAt, ...styleAt);
    const contents: Tensor[] = new Array<Tensor>(contentAt.length), styles: Tensor[] = new Array<Tensor>(styleAt.length);
    let y = x;
    for (let j = 0; j <= last; j++) {
      y = this.net.get(j).forward(y) as Tensor;
      contentAt.forEach((k, m) => { if (k === j) contents[m] = y; });
      styleAt.forEach((k, m) => { if (k === j) styles[m] = y; });
    }
    return { contents, styles };
  }

  override forward(x: Tensor): { contents: Tensor[]; styles: Tensor[] } { return this.extract(x); }
}

function problem(source: string, why: string): FlareError {
  return new FlareError(`vgg19StyleFeatures(): ${source} is not VGG-19's weights: ${why} (expected torchvision's or timm's vgg19 state dict: features.0.weight [64, 3, 3, 3] ... features.34.weight [512, 512, 3, 3])`, "E_FORMAT");
}

/**
 * The convs of VGG-19's features from a state dict (torchvision's or timm's
 * vgg19; the classifier and any other top-level keys are ignored), checked to
 * be VGG-19's: every conv the book's net runs (features.0 ... features.28) is
 * there with its shape, and nothing else lies under features.*. Narrower
 * copies (every width divided by the same factor, as the tests' small fixture)
 * load too; the width comes from features.0.weight.
 */
function vgg19Convs(state: Map<string, Tensor>, source: string, upTo: number): { divisor: number; convs: Map<number, [Tensor, Tensor]> } {
  const w0 = state.get("features.0.weight");
  if (!w0) {
    const sample = [...state.keys()].slice(0, 3).join(", ");
    throw problem(source, `it has no features.0.weight${sample ? ` (its keys begin ${sample})` : " (it is empty)"}`);
  }
  if (w0.ndim !== 4 || w0.shape[1] !== 3 || 64 % w0.shape[0] !== 0) throw problem(source, `features.0.weight has shape [${w0.shape.join(", ")}]`);
  const divisor = 64 / w0.shape[0];
  const convs = new Map<number, [Tensor, Tensor]>();
  let inChannels = 3, index = 0;
  for (const v of cfgs.E) {
    if (v === "M") { index += 1; continue; }
    const out = v / divisor;
    const w = state.get(`features.${index}.weight`), b = state.get(`features.${index}.bias`);
    const want = [out, inChannels, 3, 3];
    if (!w || !b) {
      if (index <= upTo) throw problem(source, `features.${index}.${w ? "bias" : "weight"} is missing${index === 16 ? " (VGG-16 has no conv there)" : ""}`);
    } else if (w.shape.join() !== want.join() || b.shape.join() !== String(out)) {
      throw problem(source, `features.${index}.weight has shape [${w.shape.join(", ")}] and its bias [${b.shape.join(", ")}], VGG-19's are [${want.join(", ")}] and [${out}]`);
    } else if (index <= upTo) {
      convs.set(index, [w, b]);
    }
    inChannels = out;
    index += 2;
  }
  const stray = [...state.keys()].filter((k) => {
    const m = /^features\.(\d+)\.(weight|bias)$/.exec(k);
    return k.startsWith("features.") && !(m && VGG19_CONVS.includes(Number(m[1])));
  });
  if (stray.length) throw problem(source, `it has ${stray.slice(0, 3).join(", ")}${stray.length > 3 ? ", ..." : ""}, which VGG-19's features do not (batch-norm VGG or another network?)`);
  return { divisor, convs };
}

export interface VGG19StyleOptions {
  /** Module indices in features whose maps the content loss compares (the book's [25]). */
  contentLayers?: readonly number[];
  /** Module indices whose Gram matrices the style loss compares (the book's [0, 5, 10, 19, 28]). */
  styleLayers?: readonly number[];
}

/**
 * The book's extractor: VGG-19's features[0 .. max layer] with the weights of
 * a safetensors file (a path) or a state dict, content layer 25 and style
 * layers 0, 5, 10, 19, 28 by default. A file of another network is a FlareError.
 */
export function vgg19StyleFeatures(weights: string | Map<string, Tensor>, options: VGG19StyleOptions = {}): LayerFeatures {
  options = checkOptions(options, ["contentLayers", "styleLayers"], "vgg19StyleFeatures()");
  const contentLayers = options.contentLayers ?? BOOK_CONTENT_LAYERS, styleLayers = options.styleLayers ?? BOOK_STYLE_LAYERS;
  const upTo = Math.max(...contentLayers, ...styleLayers);
  if (!Number.isInteger(upTo) || upTo < 0 || upTo > 36) throw new FlareError(`vgg19StyleFeatures(): layers must be indices 0..36 of VGG-19's features, got ${JSON.stringify([...contentLayers, ...styleLayers])}`, "E_ARGUMENT");
  const source = typeof weights === "string" ? weights : "the state dict";
  let state: Map<string, Tensor>;
  if (typeof weights === "string") {
    try { state = loadFile(weights); } catch (error) {
      throw new FlareError(`vgg19StyleFeatures(): could not load ${weights}: ${(error as Error).message}`, (error as FlareError).code ?? "E_IO");
    }
  } else if (weights instanceof Map) {
    state = weights;
  } else {
    throw new FlareError(`vgg19StyleFeatures(): weights must be a safetensors path or a state dict (Map), got ${String(weights)}`, "E_ARGUMENT");
  }
  try {
    const { divisor, convs } = vgg19Convs(state, source, upTo);
    // The layers' default init draws from the global RNG; the loaded weights replace it, so the caller's RNG stream is restored.
    const rng = getRngState();
    const features = makeLayers(cfgs.E.map((v) => (v === "M" ? v : v / divisor)));
    setRngState(rng);
    rng.dispose();
    const net = features.slice(0, upTo + 1);
    noGrad(() => {
      for (const [i, [w, b]] of convs) {
        const conv = net.get(i) as nn.Conv2d;
        conv.weight.copy_(w);
        conv.bias!.copy_(b);
      }
    });
    // The modules past the net are not kept.
    for (let j = upTo + 1; j < features.length; j++) features.get(j).dispose();
    return new LayerFeatures(net, contentLayers, styleLayers, `VGG-19 features${divisor > 1 ? ` (width / ${divisor})` : ""} from ${source}`);
  } finally {
    if (typeof weights === "string") disposeTensors([...state.values()]);
  }
}
