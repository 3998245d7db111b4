// `flare augment`: an image through a transform pipeline n times, drawn as a
// grid (d2l 14.1's apply(img, aug) figures).
import { FlareError } from "../errors.js";
import * as torch from "../tensor/index.js";
import { readImage } from "../vision/io.js";
import { parseTransforms } from "../vision/transforms/index.js";
import { saveImage } from "../vision/utils/grid.js";

export interface AugmentOptions { transform: string; n?: number; nrow?: number; seed?: number; out: string }

/** The most augmentations one call draws (each is a full image held until the grid is written). */
export const MAX_AUGMENT_N = 256;

/** Applies the spec's pipeline to the image n times (seeded) and saves the results as one grid. */
export async function augment(file: string, options: AugmentOptions): Promise<{ out: string; n: number; shape: number[] }> {
  const n = options.n ?? 8;
  if (!Number.isInteger(n) || n < 1 || n > MAX_AUGMENT_N) throw new FlareError(`augment: n must be an integer in 1..${MAX_AUGMENT_N}, got ${n}`, "E_ARGUMENT");
  const pipeline = parseTransforms(options.transform);
  const image = await readImage(file, { mode: "rgb" });
  torch.manualSeed(options.seed ?? 0);
  let results: torch.Tensor[];
  try {
    results = torch.tidy(() => Array.from({ length: n }, () => {
      const out = pipeline.forward(image);
      // A pipeline may hand its input back unchanged (a flip that did not fire): copy it,
      // since `image` is disposed below while the results live on.
      if (out === image) return image.clone();
      // Float results are in [0, 1] (or normalised): bring them back to displayable uint8.
      return out.dtype === "uint8" ? out : out.clamp(0, 1).mul(255).round().to("uint8");
    }));
  } finally {
    image.dispose();
  }
  try {
    const sameSize = results.every((r) => r.shape.join() === results[0].shape.join());
    const tiles = sameSize ? results : torch.tidy(() => results.map((r) => r.index(":", `:${Math.min(...results.map((x) => x.shape[1]))}`, `:${Math.min(...results.map((x) => x.shape[2]))}`)));
    await saveImage(tiles, options.out, { nrow: options.nrow ?? Math.min(n, 4) });
    if (tiles !== results) torch.dispose(tiles);
    return { out: options.out, n, shape: results[0].shape };
  } finally {
    torch.dispose(results);
  }
}
