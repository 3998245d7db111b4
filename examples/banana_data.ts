// d2l 14.6, "The Object Detection Dataset": the banana detection set in the
// book's layout (bananas_train/ and bananas_val/, images/ and label.csv with
// img_name,label,xmin,ymin,xmax,ymax), read into images (float, 0..255) and
// labels [objects, 5] (class, then corners divided by the image side), batched
// to [B, 3, 256, 256] and [B, 1, 5], and ten of them drawn with their boxes.
// The book downloads its 1000 + 100 images; here flare's generator writes a set
// of the same shape (bananas pasted on the bundled photos) unless a folder is
// given. The picture goes to FLARE_EXAMPLE_OUT (default runs/examples/).
//
//   node dist/examples/banana_data.js [DIR]            # 1000 training and 100 validation images (the book's)
//   FLARE_EXAMPLE_TINY=1 node dist/examples/banana_data.js   # 40 and 10
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { data } from "../src/index.js";
import { datasets, utils } from "../src/vision/index.js";

type Tensor = torch.Tensor;
const tiny = process.env.FLARE_EXAMPLE_TINY === "1";
const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = process.env.FLARE_EXAMPLE_OUT ?? path.join(root, "runs", "examples");
torch.manualSeed(0);

let dataDir = process.argv[2];
if (dataDir === undefined) {
  const generated = dataDir = mkdtempSync(path.join(tmpdir(), "flare-bananas-"));
  process.on("exit", () => rmSync(generated, { recursive: true, force: true }));
  await datasets.makeBananas({ out: dataDir, count: tiny ? 40 : 1000, valCount: tiny ? 10 : 100, size: 256, seed: 0 });
}

/**
 * The book's BananasDataset: each item is the image as float in 0..255 (no
 * normalisation) and its label rows [class, x1, y1, x2, y2], corners divided by
 * the image's side (normalize: true; the book's images are 256×256 and it divides by 256).
 */
function bananasDataset(isTrain: boolean): datasets.BananaDetection {
  const set = new datasets.BananaDetection(dataDir!, { train: isTrain, normalize: true, transform: (image: Tensor, target: Tensor) => [image.float(), target] });
  console.log(`read ${set.length} ${isTrain ? "training" : "validation"} examples`);
  return set;
}

/** The book's load_data_bananas: the training batches shuffled, the validation ones in order. */
function loadDataBananas(batchSize: number): [data.DataLoader<[Tensor, Tensor], [Tensor, Tensor]>, data.DataLoader<[Tensor, Tensor], [Tensor, Tensor]>] {
  return [new data.DataLoader(bananasDataset(true), { batchSize, shuffle: true }), new data.DataLoader(bananasDataset(false), { batchSize })];
}

const batchSize = 32, edgeSize = 256;
const [trainIter] = loadDataBananas(batchSize);
for await (const [X, Y] of trainIter) {
  console.log(`batch: ([${X.shape.join(", ")}], [${Y.shape.join(", ")}])`);
  // Ten images with their box (white), back in pixels: label[0][1:5] * edge_size.
  const images = Array.from({ length: 10 }, (_, i) => torch.tidy(() => {
    const image = X.index(i).to("uint8");
    return utils.drawBoundingBoxes(image, Y.index(i, ":", "1:5").mul(edgeSize), { colors: "white", width: 2 });
  }));
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, "banana-data.png");
  await utils.saveImage(images, file, { nrow: 5, padding: 4, padValue: 255 });
  console.log(`wrote ${file}`);
  torch.dispose([images, X, Y]);
  break;
}
