// torchvision's DefaultBoxGenerator (models/detection/anchor_utils.py): SSD's
// default boxes. Per feature map k a scale s_k (from minRatio..maxRatio, or
// given), boxes of side s_k and √(s_k·s_{k+1}) at aspect ratio 1 and, for each
// aspect ratio r of that map, (s_k√r, s_k/√r) and its transpose, centred on
// each cell ((j + 0.5) / f_k, or / (imageSize / step_k) with steps). Boxes come
// out in the image's pixels (x1, y1, x2, y2), map-major, then cell row-major,
// then box — the order of SSD's head outputs.
import { FlareError } from "../../../errors.js";
import { checkOptions } from "../../../options.js";
import * as torch from "../../../tensor/index.js";
import type { Tensor } from "../../../tensor/index.js";

export interface DefaultBoxGeneratorOptions {
  /** s_min when scales are not given (0.15). */
  minRatio?: number;
  /** s_max when scales are not given (0.9). */
  maxRatio?: number;
  /** The scales, one per map plus one (the last only makes the extra square box); default spread from minRatio to maxRatio, then 1. */
  scales?: number[];
  /** Pixels between box centres per map (e.g. [8, 16, 32, 64, 100, 300]); default the map's own cells. */
  steps?: number[];
  /** Clamp the boxes' widths and heights (fractions of the image) to [0, 1] (default true). */
  clip?: boolean;
}

function positiveNumbers(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "number" || !(v > 0) || !Number.isFinite(v)))
    throw new FlareError(`${what} must be an array of positive numbers, got ${JSON.stringify(value)}`, "E_ARGUMENT");
  return value as number[];
}

export class DefaultBoxGenerator {
  readonly aspectRatios: number[][];
  readonly scales: number[];
  readonly steps: number[] | null;
  readonly clip: boolean;
  /** Per map, the (w, h) pairs as fractions of the image, in torchvision's order. */
  readonly whPairs: number[][][];

  constructor(aspectRatios: number[][], options: DefaultBoxGeneratorOptions = {}) {
    const what = "DefaultBoxGenerator()";
    checkOptions(options, ["minRatio", "maxRatio", "scales", "steps", "clip"], what);
    if (!Array.isArray(aspectRatios) || aspectRatios.length === 0)
      throw new FlareError(`${what}: aspectRatios must be a non-empty array of aspect-ratio lists, one per feature map, got ${JSON.stringify(aspectRatios)}`, "E_ARGUMENT");
    this.aspectRatios = aspectRatios.map((r, k) => [...positiveNumbers(r, `${what}: aspectRatios[${k}]`)]);
    const n = aspectRatios.length;
    this.steps = options.steps === undefined ? null : [...positiveNumbers(options.steps, `${what}: steps`)];
    if (this.steps && this.steps.length !== n) throw new FlareError(`${what}: aspectRatios and steps should have the same length (${n} and ${this.steps.length})`, "E_ARGUMENT");
    this.clip = options.clip ?? true;
    if (typeof this.clip !== "boolean") throw new FlareError(`${what}: clip must be true or false, got ${JSON.stringify(options.clip)}`, "E_ARGUMENT");
    if (options.scales !== undefined) {
      this.scales = [...positiveNumbers(options.scales, `${what}: scales`)];
      if (this.scales.length !== n + 1) throw new FlareError(`${what}: scales needs one per feature map plus one (${n + 1}), got ${this.scales.length}`, "E_ARGUMENT");
    } else {
      const min = options.minRatio ?? 0.15, max = options.maxRatio ?? 0.9;
      positiveNumbers([min, max], `${what}: minRatio and maxRatio`);
      // torchvision's estimate: evenly spread, then 1.0 for the last map's extra box (or [min, max] for one map).
      this.scales = n > 1 ? [...Array.from({ length: n }, (_, k) => min + ((max - min) * k) / (n - 1)), 1.0] : [min, max];
    }
    this.whPairs = this.aspectRatios.map((ratios, k) => {
      const s = this.scales[k], sPrime = Math.sqrt(this.scales[k] * this.scales[k + 1]);
      const pairs = [[s, s], [sPrime, sPrime]];
      for (const ar of ratios) {
        const sq = Math.sqrt(ar);
        pairs.push([s * sq, s / sq], [s / sq, s * sq]);
      }
      return pairs;
    });
  }

  /** Default boxes per cell of each map: 2 + 2 · (its aspect ratios). */
  numAnchorsPerLocation(): number[] {
    return this.aspectRatios.map((r) => 2 + 2 * r.length);
  }

  /** The boxes in (cx, cy, w, h), fractions of the image, for maps of gridSizes [h, w] on an image of imageSize [h, w]. */
  gridDefaultBoxes(gridSizes: [number, number][], imageSize: [number, number]): Tensor {
    if (gridSizes.length !== this.aspectRatios.length)
      throw new FlareError(`DefaultBoxGenerator: ${gridSizes.length} feature maps, but aspect ratios for ${this.aspectRatios.length}`, "E_ARGUMENT");
    return torch.tidy(() => torch.cat(gridSizes.map(([fh, fw], k) => {
      const [yF, xF] = this.steps ? [imageSize[0] / this.steps[k], imageSize[1] / this.steps[k]] : [fh, fw];
      const shiftsX = torch.arange(0, fw).add(0.5).div(xF).float(), shiftsY = torch.arange(0, fh).add(0.5).div(yF).float();
      const [shiftY, shiftX] = torch.meshgrid([shiftsY, shiftsX], { indexing: "ij" }).map((t) => t.reshape(-1));
      const pairs = this.whPairs[k];
      const shifts = torch.stack(Array(pairs.length).fill([shiftX, shiftY]).flat(), -1).reshape(-1, 2);
      let wh = torch.tensor(pairs, { dtype: "float32" });
      if (this.clip) wh = wh.clamp(0, 1);
      return torch.cat([shifts, wh.repeat(fh * fw, 1)], 1);
    }), 0));
  }

  /** The default boxes [N, 4] (x1, y1, x2, y2) in pixels of an image of imageSize [h, w], for feature maps of gridSizes [h, w]. */
  forward(imageSize: [number, number], gridSizes: [number, number][]): Tensor {
    return torch.tidy(() => {
      const boxes = this.gridDefaultBoxes(gridSizes, imageSize);
      const xy = boxes.narrow(1, 0, 2), wh = boxes.narrow(1, 2, 2);
      const scale = torch.tensor([imageSize[1], imageSize[0]], { dtype: "float32" });
      return torch.cat([xy.sub(wh.mul(0.5)).mul(scale), xy.add(wh.mul(0.5)).mul(scale)], -1);
    });
  }

  toString(): string {
    return `DefaultBoxGenerator(aspectRatios=${JSON.stringify(this.aspectRatios)}, clip=${this.clip}, scales=${JSON.stringify(this.scales)}, steps=${JSON.stringify(this.steps)})`;
  }
}
