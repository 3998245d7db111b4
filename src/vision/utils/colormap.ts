// Pascal VOC's 21 classes and colours (d2l's VOC_CLASSES / VOC_COLORMAP), and
// label maps (class ids per pixel) coloured for viewing.
import { FlareError } from "../../errors.js";
import { fromTypedArray, isTensor, noGrad, tidy, type Tensor } from "../../tensor/index.js";
import { parseColor, type Color, type RGB } from "./colors.js";
import { checkOptions, optionNames } from "../../options.js";

export const VOC_CLASSES: readonly string[] = [
  "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
  "diningtable", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train", "tv/monitor",
];

export const VOC_COLORMAP: readonly RGB[] = [
  [0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128], [0, 128, 128],
  [128, 128, 128], [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0], [64, 0, 128], [192, 0, 128],
  [64, 128, 128], [192, 128, 128], [0, 64, 0], [128, 64, 0], [0, 192, 0], [128, 192, 0], [0, 64, 128],
];

export interface ColorizeOptions {
  /** The colour of class k is colormap[k] (default VOC_COLORMAP). */
  colormap?: readonly Color[];
  /** The label that marks pixels to ignore (default 255, VOC's boundary). */
  ignoreIndex?: number;
  /** The colour of ignored pixels (default white; VOC's files use [224, 224, 192]). */
  ignoreColor?: Color;
}

/**
 * Colours a label map: integer class ids (H×W, or any leading dims …×H×W) →
 * uint8 …×3×H×W. A label with no colour (other than ignoreIndex) is an error.
 */
export function colorizeLabelMap(labels: Tensor, options: ColorizeOptions = {}): Tensor {
  const what = "colorizeLabelMap()";
  checkOptions(options, optionNames<ColorizeOptions>({ colormap: 1, ignoreIndex: 1, ignoreColor: 1 }), what);
  if (!isTensor(labels)) throw new FlareError(`${what}: labels must be a Tensor, got ${typeof labels}`, "E_TYPE");
  if (labels.dtype.startsWith("float") || labels.dtype === "bfloat16" || labels.dtype === "bool")
    throw new FlareError(`${what}: labels must be integer class ids, got ${labels.dtype}`, "E_DTYPE");
  if (labels.dim() < 2) throw new FlareError(`${what}: labels must be H×W (or …×H×W), got [${labels.shape.join(", ")}]`, "E_SHAPE");
  const colormap = (options.colormap ?? VOC_COLORMAP).map((c, i) => parseColor(c, `${what}: colormap[${i}]`));
  const ignoreIndex = options.ignoreIndex ?? 255;
  const ignoreColor = parseColor(options.ignoreColor ?? [255, 255, 255], `${what}: ignoreColor`);
  if (!Number.isInteger(ignoreIndex) || ignoreIndex < 0) throw new FlareError(`${what}: ignoreIndex must be a non-negative integer, got ${ignoreIndex}`, "E_ARGUMENT");
  if (colormap.length === 0) throw new FlareError(`${what}: the colormap is empty`, "E_ARGUMENT");
  const size = Math.max(colormap.length, ignoreIndex + 1);
  const table = new Uint8Array(size * 3);
  // Entries between the colormap's end and ignoreIndex are never used (checked below).
  colormap.forEach((rgb, k) => table.set(rgb, 3 * k));
  if (ignoreIndex >= colormap.length) table.set(ignoreColor, 3 * ignoreIndex);

  return noGrad(() => tidy(() => {
    const ids = labels.detach().to("int64");
    if (ids.numel() > 0) {
      const low = ids.min().item() as number;
      if (low < 0) throw new FlareError(`${what}: label ${low} is negative; labels are class ids 0..${colormap.length - 1} (or ${ignoreIndex} to ignore)`, "E_ARGUMENT");
      const bad = ids.ge(colormap.length).logicalAnd(ids.ne(ignoreIndex));
      if (bad.any().item()) {
        const value = ids.maskedSelect(bad).index(0).item() as number;
        throw new FlareError(`${what}: label ${value} has no colour: the colormap has ${colormap.length} colours (ignoreIndex is ${ignoreIndex})`, "E_ARGUMENT");
      }
    }
    const palette = fromTypedArray(table, [size, 3], { dtype: "uint8" }).to(ids.device);
    const rgb = palette.indexSelect(0, ids.flatten()).view(...ids.shape, 3);
    const n = rgb.dim();
    const order = [...Array(n - 3).keys(), n - 1, n - 3, n - 2];
    return rgb.permute(...order).contiguous();
  }));
}
