// `flare augment`: an image through a transform pipeline n times, drawn as a
// grid (d2l 14.1's apply(img, aug) figures).
import * as torch from "../tensor/index.js";
import { readImage } from "../vision/io.js";
import { parseTransforms } from "../vision/transforms/index.js";
import { saveImage } from "../vision/utils/grid.js";

export interface AugmentOptions { transform: string; n?: number; nrow?: number; seed?: number; out: string }

/** Applies the spec's pipeline to the image n times (seeded) and saves the results as one grid. */
export async function augment(file: string, options: AugmentOptions): Promise<{ out: string; n: number; shape: number[] }> {
  const pipeline = parseTransforms(options.transform);
  const image = await readImage(file, { mode: "rgb" });
  torch.manualSeed(options.seed ?? 0);
  const n = options.n ?? 8;
  const results = torch.tidy(() => Array.from({ length: n }, () => {
    const out = pipeline.forward(image);
    // Float results are in [0, 1] (or normalised): bring them back to displayable uint8.
    return out.dtype === "uint8" ? out : out.clamp(0, 1).mul(255).round().to("uint8");
  }));
  image.dispose();
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
