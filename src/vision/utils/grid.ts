// makeGrid and saveImage, as torchvision.utils.make_grid / save_image.
import { FlareError } from "../../errors.js";
import { cat, full, isTensor, noGrad, stack, tidy, type Tensor } from "../../tensor/index.js";
import { writeImage, type EncodeImageOptions } from "../io.js";
import { checkOptions, optionNames } from "../../options.js";

export interface MakeGridOptions {
  /** Images per row (default 8). */
  nrow?: number;
  /** Pixels between and around the images (default 2). */
  padding?: number;
  /** Shift the values to [0, 1] by valueRange, or by the min and max of the values (default false). */
  normalize?: boolean;
  /** [min, max] for normalize; values are clamped to it first. */
  valueRange?: [number, number];
  /** Normalize each image by its own min and max (default false). */
  scaleEach?: boolean;
  /** The value of the padding pixels (default 0). */
  padValue?: number;
}

function checkInt(value: number, name: string, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new FlareError(`makeGrid(): ${name} must be an integer ≥ ${min}, got ${value}`, "E_ARGUMENT");
  return value;
}

function asBatch(input: Tensor | Tensor[]): Tensor {
  if (Array.isArray(input)) {
    if (input.length === 0) throw new FlareError("makeGrid(): the list of images is empty", "E_ARGUMENT");
    input.forEach((t, i) => { if (!isTensor(t)) throw new FlareError(`makeGrid(): element ${i} of the list is not a Tensor`, "E_TYPE"); });
    const first = input[0].shape;
    input.forEach((t, i) => {
      if (t.shape.join() !== first.join())
        throw new FlareError(`makeGrid(): all images must have the same shape: image 0 is [${first.join(", ")}], image ${i} is [${t.shape.join(", ")}]`, "E_SHAPE");
    });
    return stack(input, 0);
  }
  if (!isTensor(input)) throw new FlareError(`makeGrid(): expected a Tensor or a list of Tensors, got ${typeof input}`, "E_TYPE");
  return input;
}

/**
 * Lays a batch (B×C×H×W, or a list of C×H×W images) out as one C×H'×W' image,
 * `nrow` images per row with `padding` pixels between; 1-channel images become 3-channel.
 */
export function makeGrid(images: Tensor | Tensor[], options: MakeGridOptions = {}): Tensor {
  checkOptions(options, GRID_OPTIONS, "makeGrid()");
  const nrow = checkInt(options.nrow ?? 8, "nrow", 1);
  const padding = checkInt(options.padding ?? 2, "padding", 0);
  const { normalize = false, valueRange, scaleEach = false, padValue = 0 } = options;
  if (valueRange !== undefined && !(Array.isArray(valueRange) && valueRange.length === 2 && valueRange.every((v) => typeof v === "number")))
    throw new FlareError("makeGrid(): valueRange must be [min, max]", "E_ARGUMENT");
  return noGrad(() => tidy(() => {
    let t = asBatch(images);
    if (t.dim() === 2) t = t.unsqueeze(0);
    if (t.dim() === 3) {
      if (t.size(0) === 1) t = cat([t, t, t], 0);
      t = t.unsqueeze(0);
    }
    if (t.dim() !== 4) throw new FlareError(`makeGrid(): expected images of shape B×C×H×W, C×H×W or H×W, got [${t.shape.join(", ")}]`, "E_SHAPE");
    if (t.size(1) === 1) t = cat([t, t, t], 1);

    if (normalize) {
      const range = (x: Tensor): Tensor => {
        const [low, high] = valueRange ?? [x.min().item() as number, x.max().item() as number];
        return x.clamp(low, high).sub(low).div(Math.max(high - low, 1e-5));
      };
      t = scaleEach ? stack(t.unbind(0).map(range), 0) : range(t);
    }

    if (t.size(0) === 1) return t.squeeze(0);
    const [count, channels, height, width] = t.shape;
    const columns = Math.min(nrow, count);
    const rows = Math.ceil(count / columns);
    const cellH = height + padding, cellW = width + padding;
    const grid = full([channels, cellH * rows + padding, cellW * columns + padding], padValue, { dtype: t.dtype, device: t.device });
    for (let k = 0; k < count; k++) {
      const y = Math.floor(k / columns), x = k % columns;
      grid.narrow(1, y * cellH + padding, height).narrow(2, x * cellW + padding, width).copy_(t.select(0, k));
    }
    return grid;
  }));
}

const GRID_OPTIONS = optionNames<MakeGridOptions>({ nrow: 1, padding: 1, normalize: 1, valueRange: 1, scaleEach: 1, padValue: 1 });

export interface SaveImageOptions extends MakeGridOptions, EncodeImageOptions {}

/**
 * Saves an image or a batch (as makeGrid's grid) to a PNG / JPEG / WebP file, the
 * format from the extension. Float values are taken as [0, 1] (×255, rounded,
 * clamped, as torchvision's save_image); uint8 values are written as they are.
 */
export async function saveImage(images: Tensor | Tensor[], file: string, options: SaveImageOptions = {}): Promise<void> {
  checkOptions(options, [...GRID_OPTIONS, "quality", "lossless", "compressionLevel"], "saveImage()");
  const { quality, lossless, compressionLevel, ...gridOptions } = options;
  const grid = makeGrid(images, gridOptions);
  try {
    await writeImage(grid, file, { quality, lossless, compressionLevel });
  } finally {
    if (!(isTensor(images) && grid === images)) grid.dispose();
  }
}
