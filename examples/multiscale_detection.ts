// d2l 14.5, "Multiscale Object Detection": instead of anchors at every pixel
// (561·728·5 = 2,042,040 for the book's image), anchors centred on the cells of
// a small feature map: 4×4 cells with small anchors (s = 0.15), 2×2 with larger
// (0.4), 1×1 with one large set (0.8); three ratios each. The book's display_anchors,
// drawn on the bundled chelsea.jpg (the book's catdog.jpg is not here) into
// FLARE_EXAMPLE_OUT (default runs/examples/multiscale-detection.png).
//
//   node dist/examples/multiscale_detection.js
//   FLARE_EXAMPLE_TINY=1 node dist/examples/multiscale_detection.js   # the same (nothing to train)
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { ops, readImage, utils } from "../src/vision/index.js";

type Tensor = torch.Tensor;
const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = process.env.FLARE_EXAMPLE_OUT ?? path.join(root, "runs", "examples");

const img = await readImage(path.join(root, "assets", "images", "chelsea.jpg"), { mode: "rgb" });
const [, h, w] = img.shape;
console.log(`h, w = (${h}, ${w})`);

/** The book's display_anchors: anchors of a fmapH×fmapW map (its values do not matter, only its shape), drawn on the image. */
function displayAnchors(fmapW: number, fmapH: number, s: number[]): Tensor {
  const anchors = torch.tidy(() => {
    const fmap = torch.zeros([1, 10, fmapH, fmapW]);
    const bboxScale = torch.tensor([w, h, w, h]);
    return ops.multiboxPrior(fmap, s, [1, 2, 0.5]).index(0).mul(bboxScale);
  });
  const first = anchors.index(0).tolist() as number[];
  console.log(`fmap ${fmapH}x${fmapW}, s=${s}: ${anchors.shape[0]} anchors on ${fmapH * fmapW} centres; the first centred at (${((first[0] + first[2]) / 2).toFixed(1)}, ${((first[1] + first[3]) / 2).toFixed(1)})`);
  // One colour per ratio (1, 2, 0.5), as the anchors of a centre are consecutive.
  const colors = Array.from({ length: anchors.shape[0] }, (_, i) => ["blue", "green", "red"][i % 3]);
  const drawn = utils.drawBoundingBoxes(img, anchors, { colors, width: 2 });
  anchors.dispose();
  return drawn;
}

const panels = [displayAnchors(4, 4, [0.15]), displayAnchors(2, 2, [0.4]), displayAnchors(1, 1, [0.8])];
mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, "multiscale-detection.png");
await utils.saveImage(panels, file, { nrow: 3, padding: 4, padValue: 255 });
console.log(`wrote ${file}`);
torch.dispose([...panels, img]);
