// torchvision's AnchorGenerator (models/detection/anchor_utils.py): for each
// feature map, anchors of its sizes × aspect ratios centred on every cell
// (at multiples of the map's stride in the padded image), in torchvision's
// order (cell by cell, then the base anchors), as xyxy float boxes.
import { FlareError } from "../../../errors.js";
import * as torch from "../../../tensor/index.js";
import type { Tensor } from "../../../tensor/index.js";
import * as nn from "../../../nn/index.js";
import { checkOptions } from "../../../options.js";
import type { ImageList } from "./image_list.js";

function numbersList(value: unknown, what: string): number[][] {
  if (!Array.isArray(value) || value.length === 0) throw new FlareError(`AnchorGenerator(): ${what} must be a non-empty array (one entry per feature map), got ${JSON.stringify(value)}`, "E_ARGUMENT");
  const lists = value.map((v) => (Array.isArray(v) ? v : [v]));
  for (const list of lists) {
    if (list.length === 0 || list.some((x) => typeof x !== "number" || !(x > 0) || !Number.isFinite(x)))
      throw new FlareError(`AnchorGenerator(): ${what} must hold positive numbers, got ${JSON.stringify(value)}`, "E_ARGUMENT");
  }
  return lists as number[][];
}

export class AnchorGenerator extends nn.Module {
  readonly sizes: number[][];
  readonly aspectRatios: number[][];

  /**
   * sizes: per feature map, the anchor sizes ([[32], [64], ...], or [32, 64, ...]
   * for one size each); aspectRatios: per feature map, the height/width ratios
   * (one list is used for every map).
   */
  constructor(sizes: number[][] | number[] = [[128, 256, 512]], aspectRatios: number[][] | number[] = [[0.5, 1.0, 2.0]]) {
    super();
    this.sizes = numbersList(sizes, "sizes");
    let ratios = aspectRatios as unknown[];
    if (Array.isArray(ratios) && ratios.length > 0 && !Array.isArray(ratios[0])) ratios = this.sizes.map(() => aspectRatios);
    this.aspectRatios = numbersList(ratios, "aspectRatios");
    if (this.aspectRatios.length !== this.sizes.length)
      throw new FlareError(`AnchorGenerator(): sizes has ${this.sizes.length} entries but aspectRatios ${this.aspectRatios.length}; give one per feature map`, "E_ARGUMENT");
  }

  /** The zero-centred base anchors [A, 4] of one feature map, rounded (torchvision's generate_anchors). */
  generateAnchors(scales: number[], aspectRatios: number[], options: { dtype?: torch.DType; device?: string } = {}): Tensor {
    checkOptions(options, ["dtype", "device"], "AnchorGenerator.generateAnchors()");
    return torch.tidy(() => {
      const opts = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
      const s = torch.tensor(scales, opts), ar = torch.tensor(aspectRatios, opts);
      const hRatios = ar.sqrt();
      const wRatios = hRatios.reciprocal();
      const ws = wRatios.index(":", null).mul(s.index(null, ":")).view(-1);
      const hs = hRatios.index(":", null).mul(s.index(null, ":")).view(-1);
      return torch.stack([ws.neg(), hs.neg(), ws, hs], 1).div(2).round();
    });
  }

  /** Anchors per location of each feature map: sizes × ratios. */
  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, i) => s.length * this.aspectRatios[i].length);
  }

  /** Per image, all anchors [sum over maps of H·W·A, 4] for the padded batch and its feature maps. */
  override forward(imageList: ImageList, featureMaps: Tensor[]): Tensor[] {
    if (featureMaps.length !== this.sizes.length)
      throw new FlareError(`AnchorGenerator: ${featureMaps.length} feature maps but ${this.sizes.length} anchor sizes / aspect ratios; there needs to be a match between the number of feature maps passed and the number of sizes and aspect ratios specified`, "E_ARGUMENT");
    const [ih, iw] = imageList.tensors.shape.slice(-2);
    const { dtype, device } = featureMaps[0];
    const perMap = featureMaps.map((f, i) => {
      const [gh, gw] = f.shape.slice(-2);
      const sh = Math.floor(ih / gh), sw = Math.floor(iw / gw);
      const base = this.generateAnchors(this.sizes[i], this.aspectRatios[i], { dtype, device });
      const shiftsX = torch.arange(0, gw, { dtype: "int32", device }).mul(sw);
      const shiftsY = torch.arange(0, gh, { dtype: "int32", device }).mul(sh);
      const shiftX = shiftsX.index(null, ":").expand(gh, gw).reshape(-1);
      const shiftY = shiftsY.index(":", null).expand(gh, gw).reshape(-1);
      const shifts = torch.stack([shiftX, shiftY, shiftX, shiftY], 1);
      return shifts.view(-1, 1, 4).add(base.view(1, -1, 4)).reshape(-1, 4);
    });
    const all = torch.cat(perMap, 0);
    return imageList.imageSizes.map(() => all.clone());
  }

  override extraRepr(): string {
    return `sizes=${JSON.stringify(this.sizes)}, aspect_ratios=${JSON.stringify(this.aspectRatios)}`;
  }
}
