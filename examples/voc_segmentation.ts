// d2l 14.9, "Semantic Segmentation and the Dataset", in the book's order:
// read the Pascal VOC2012 images and their colour-coded labels, map each
// label colour to its class (voc_label_indices), crop image and labels with the
// same random window (voc_rand_crop), keep only images at least as large as the
// crop (VOCSegDataset's filter), and batch them. Without a VOC folder (there is
// no download here) the example writes a tiny one in VOC's layout first: images
// with one object (a disc of a VOC class) whose labels are palette PNGs like VOC's.
// Pictures go to FLARE_EXAMPLE_OUT (default runs/examples/).
//
//   node dist/examples/voc_segmentation.js [~/data/VOCdevkit/VOC2012]   # crop 320×480, batch 64 (the book's)
//   FLARE_EXAMPLE_TINY=1 node dist/examples/voc_segmentation.js         # a few written images, batch 4
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { data } from "../src/index.js";
import { datasets, readImage, writeImage, utils, transforms } from "../src/vision/index.js";

type Tensor = torch.Tensor;
const tiny = process.env.FLARE_EXAMPLE_TINY === "1";
const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = process.env.FLARE_EXAMPLE_OUT ?? path.join(root, "runs", "examples");
mkdirSync(outDir, { recursive: true });
torch.manualSeed(0);   // the dataset's crop windows and the loader's shuffle

/**
 * A tiny VOC2012 folder: `count` training and 2 validation images (360×500, the
 * last training one 300×400, smaller than the crop), each a noisy background with one disc of class
 * 1..20, and SegmentationClass/<id>.png with the disc's class in VOC's palette.
 */
async function writeTinyVoc(dir: string, count: number): Promise<string> {
  for (const sub of ["JPEGImages", "SegmentationClass", path.join("ImageSets", "Segmentation")]) mkdirSync(path.join(dir, sub), { recursive: true });
  const gen = new torch.Generator(0);
  const splits: Record<string, string[]> = { train: [], val: [] };
  for (let n = 0; n < count + 2; n++) {
    const split = n < count ? "train" : "val", id = `2012_${String(n).padStart(6, "0")}`;
    const [h, w] = n === count - 1 ? [300, 400] : [360, 500];
    const cls = 1 + (n % 20);
    // The first image's disc crosses y[105:115, 130:140], so the printed block shows its edge (as the book's aeroplane).
    const [cy, cx, r] = n === 0 ? [150, 175, 58] : [80 + gen.randint(0, h - 160), 80 + gen.randint(0, w - 160), 40 + gen.randint(0, 40)];
    const indices = new Uint8Array(h * w), pixels = new Uint8Array(3 * h * w);
    const [R, G, B] = utils.VOC_COLORMAP[cls];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = (y - cy) ** 2 + (x - cx) ** 2 <= r * r, i = y * w + x;
        indices[i] = inside ? cls : 0;
        const noise = gen.randint(0, 40);
        // The object is drawn in its class colour, lightened; the background is a grey gradient.
        pixels[i] = inside ? Math.min(255, R + 60 + noise) : 90 + (x >> 3) % 40 + noise;
        pixels[h * w + i] = inside ? Math.min(255, G + 60 + noise) : 100 + (y >> 3) % 40 + noise;
        pixels[2 * h * w + i] = inside ? Math.min(255, B + 60 + noise) : 110 + noise;
      }
    }
    const image = torch.fromTypedArray(pixels, [3, h, w]);
    await writeImage(image, path.join(dir, "JPEGImages", `${id}.jpg`));
    image.dispose();
    writeFileSync(path.join(dir, "SegmentationClass", `${id}.png`), datasets.encodePalettePng(indices, w, h));
    splits[split].push(id);
  }
  for (const [split, ids] of Object.entries(splits)) writeFileSync(path.join(dir, "ImageSets", "Segmentation", `${split}.txt`), ids.join("\n") + "\n");
  return dir;
}

let vocDir = process.argv[2];
if (vocDir === undefined) {
  const written = mkdtempSync(path.join(tmpdir(), "flare-voc-"));
  process.on("exit", () => rmSync(written, { recursive: true, force: true }));
  vocDir = await writeTinyVoc(path.join(written, "VOC2012"), tiny ? 6 : 72);
}
console.log(`voc_dir: ${vocDir}`);

/** The book's read_voc_images: every image of the split and its label image, both uint8 RGB 3×H×W. */
async function readVocImages(dir: string, isTrain = true): Promise<[Tensor[], Tensor[]]> {
  const split = path.join(dir, "ImageSets", "Segmentation", isTrain ? "train.txt" : "val.txt");
  const ids = readFileSync(split, "utf8").split(/\s+/).filter((s) => s !== "");
  const features: Tensor[] = [], labels: Tensor[] = [];
  for (const id of ids) {
    features.push(await readImage(path.join(dir, "JPEGImages", `${id}.jpg`), { mode: "rgb" }));
    labels.push(await readImage(path.join(dir, "SegmentationClass", `${id}.png`), { mode: "rgb" }));
  }
  return [features, labels];
}

const [trainFeatures, trainLabels] = await readVocImages(vocDir, true);
console.log(`read ${trainFeatures.length} training images and labels`);
const n = Math.min(5, trainFeatures.length);
// Shown smaller; the labels resized by nearest neighbour, so that their colours stay the classes'.
const shown = [...trainFeatures.slice(0, n).map((t) => transforms.functional.resize(t, [180, 250])),
  ...trainLabels.slice(0, n).map((t) => transforms.functional.resize(t, [180, 250], { interpolation: "nearest" }))];
await utils.saveImage(shown, path.join(outDir, "voc-images-labels.png"), { nrow: n, padding: 4, padValue: 255 });
torch.dispose(shown);

// The book's voc_colormap2label / voc_label_indices: each pixel's RGB colour → its class (flare: datasets.vocLabelIndices).
function vocLabelIndices(colormap: Tensor): Tensor {
  const [, h, w] = colormap.shape;
  return torch.fromTypedArray(datasets.vocLabelIndices(colormap.contiguous().dataSync() as Uint8Array, h, w), [h, w]).long();
}
torch.tidy(() => {
  const y = vocLabelIndices(trainLabels[0]);
  console.log(`y[105:115, 130:140] = ${y.index("105:115", "130:140")}`);
  const objectClass = y.max().item() as number;
  console.log(`VOC_CLASSES[${objectClass}] = ${utils.VOC_CLASSES[objectClass]}`);
});

/** The book's voc_rand_crop: the same random height×width window of the image and its labels. */
const cropGenerator = new torch.Generator(1);
function vocRandCrop(feature: Tensor, label: Tensor, height: number, width: number): [Tensor, Tensor] {
  const [, h, w] = feature.shape;
  const i = cropGenerator.randint(0, h - height + 1), j = cropGenerator.randint(0, w - width + 1);
  return [feature.index(":", `${i}:${i + height}`, `${j}:${j + width}`), label.index(":", `${i}:${i + height}`, `${j}:${j + width}`)];
}
const crops = Array.from({ length: 5 }, () => vocRandCrop(trainFeatures[0], trainLabels[0], 200, 300));
await utils.saveImage([...crops.map((c) => c[0]), ...crops.map((c) => c[1])], path.join(outDir, "voc-random-crops.png"), { nrow: 5, padding: 4, padValue: 255 });
torch.dispose([crops, trainFeatures, trainLabels]);
console.log(`wrote ${path.join(outDir, "voc-images-labels.png")} and ${path.join(outDir, "voc-random-crops.png")}`);

// The book's VOCSegDataset: images smaller than the crop are filtered out; features are normalised
// (x/255, ImageNet mean and std); every get() draws a new crop window (flare: datasets.VOCSegmentation).
const cropSize: [number, number] = [320, 480];
const normalize = new transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
const normalized = (image: Tensor, labels: Tensor): [Tensor, Tensor] => [torch.tidy(() => normalize.forward(image.float().div(255))), labels];
const vocTrain = new datasets.VOCSegmentation({ root: vocDir, imageSet: "train", crop: cropSize, transform: normalized });
console.log(`read ${vocTrain.ids.length} examples (${vocTrain.filtered.length} smaller than the crop left out)`);
const vocTest = new datasets.VOCSegmentation({ root: vocDir, imageSet: "val", crop: cropSize, transform: normalized });
console.log(`read ${vocTest.ids.length} examples`);

const batchSize = Math.min(tiny ? 4 : 64, vocTrain.ids.length);
const trainIter = new data.DataLoader(vocTrain, { batchSize, shuffle: true, dropLast: true });
for await (const [X, Y] of trainIter) {
  console.log(`X.shape = [${X.shape.join(", ")}], Y.shape = [${Y.shape.join(", ")}] ${Y.dtype}`);
  torch.dispose([X, Y]);
  break;
}
