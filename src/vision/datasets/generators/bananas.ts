// A banana-style detection set, like d2l's banana-detection (1000 train / 100
// val images of 256×256, one banana each) but made here, deterministic from a
// seed: procedurally drawn fruit pasted at random positions, scales and aspect
// ratios (and small turns) on backgrounds cut from the bundled photos and
// textures, or painted. Written in d2l's layout and, on request, as Pascal VOC
// (XML) and COCO (JSON), so BananaDetection, VOCDetection and CocoDetection
// read it back.
//
// Boxes are the tight pixel extent of each drawn object (pixels it covers at
// least half): [x1, y1, x2, y2] with x2, y2 exclusive, integers. The same
// numbers go into every format: label.csv's xmin..ymax, the VOC XML's bndbox
// (note: strict VOC counts pixels from 1, inclusive; these are 0-based
// edges, as torchvision's xyxy) and COCO's bbox as [x1, y1, x2 - x1, y2 - y1].
import * as path from "node:path";
import { FlareError } from "../../../errors.js";
import { fromTypedArray } from "../../../tensor/index.js";
import { encodeImage } from "../../io.js";
import { escapeXml } from "../xml.js";
import { Canvas, paintBackground, stamp } from "./raster.js";
import { FRUIT_CLASSES, fruitStamp } from "./objects.js";
import {
  backgroundSources, checkCount, checkOut, checkRange, checkSeed, checkSize, imageGenerator, mkdirs, Pool, SPLITS,
  writeFile, writeManifest, type Split,
} from "./common.js";
import { checkOptions, optionNames } from "../../../options.js";

export type BananaFormat = "banana" | "voc" | "coco";

export interface MakeBananasOptions {
  /** The folder to write into (made if missing). */
  out: string;
  /** Training images (default 1000). */
  count?: number;
  /** Validation images (default 100). */
  valCount?: number;
  seed?: number;
  /** Image size: a side (square) or [height, width] (default 256). */
  size?: number | [number, number];
  /** Object classes: 1 (bananas only, default) up to 6 (banana, apple, orange, carrot, grapes, pear). */
  classes?: number;
  /** Objects per image: a number or [min, max] (default 1 for one class, [1, 3] for more). */
  objectsPerImage?: number | [number, number];
  /** The side of an object's frame as a fraction of the image's shorter side: [min, max] (default [0.17, 0.27] for bananas only, as d2l's set; [0.15, 0.45] for more classes). */
  scale?: [number, number];
  /** Width / height of an object's frame: [min, max] (default [0.8, 1.25] for bananas only, as d2l's set; [0.5, 2] for more classes). */
  ratio?: [number, number];
  /** Which layouts to write (default ["banana"]). */
  formats?: BananaFormat[];
  /** Background pictures (files or folders); default the bundled assets/images. [] paints every background. */
  backgrounds?: string[];
  /** JPEG quality of the VOC images (default 90). */
  quality?: number;
}

export interface GeneratedImage {
  /** The file stem: "0" for 0.png, as in d2l's set (VOC ids are `${split}_${stem}`). */
  id: string;
  /** [x1, y1, x2, y2] per object, integer pixels, x2 and y2 exclusive. */
  boxes: [number, number, number, number][];
  /** Class index per object (0 = banana). */
  labels: number[];
  /** Pixels each object covers (COCO's area). */
  areas: number[];
}

export interface BananasManifest {
  kind: "bananas";
  seed: number;
  size: [number, number];
  classes: string[];
  formats: BananaFormat[];
  /** Where each layout lives, relative to out: bananas: the root for BananaDetection; voc: the VOC2012 folder; coco: {images, annotations} per split. */
  paths: { banana?: string; voc?: string; coco?: Record<Split, { images: string; annFile: string }> };
  splits: Record<Split, GeneratedImage[]>;
}

const FORMATS: readonly BananaFormat[] = ["banana", "voc", "coco"];

/**
 * The frames of the bananas-only set, drawn to look like d2l's banana set: its boxes
 * (39×38, 50×48, 58×49 px of 256² in the rows ../shared/reference quotes) are nearly
 * square and 15–23% of the side, and TinySSD's smallest anchors (0.2 and 0.272 of the
 * side, ratios 1, 2, 1/2) are sized for them. The tight boxes of these frames measure
 * 13–26% of the side (square root of the area), width / height 0.75–1.29, and 0.6% of
 * them have no anchor at IoU ≥ 0.5; the wide set drawn before (frames 15–45%, ratios
 * 1/2–2) left 3.2% without one (bench/banana_anchors.ts), and TinySSD reached mAP@0.5
 * 0.74 after the book's 20 epochs on it, against 0.99 on this one (README).
 */
export const BOOK_BANANAS = { scale: [0.17, 0.27] as [number, number], ratio: [0.8, 1.25] as [number, number] };

/** Draws one image: its pixels (planar uint8 3×H×W) and objects. */
export function drawBananaImage(seed: number, split: number, index: number, o: {
  size: [number, number]; classes: number; objects: [number, number]; scale: [number, number]; ratio: [number, number]; sources: Parameters<typeof paintBackground>[1];
}): { pixels: Uint8Array; boxes: [number, number, number, number][]; labels: number[]; areas: number[] } {
  const g = imageGenerator(seed, split, index);
  const [H, W] = o.size;
  const canvas = new Canvas(H, W);
  paintBackground(canvas, o.sources, g);
  const n = g.randint(o.objects[0], o.objects[1] + 1);
  const frames: { x: number; y: number; w: number; h: number }[] = [];
  const boxes: [number, number, number, number][] = [], labels: number[] = [], areas: number[] = [];
  const short = Math.min(H, W);
  for (let k = 0; k < n; k++) {
    const cls = g.randint(0, o.classes);
    for (let attempt = 0; attempt < 30; attempt++) {
      const side = short * g.uniform(o.scale[0], o.scale[1]);
      const r = Math.exp(g.uniform(Math.log(o.ratio[0]), Math.log(o.ratio[1])));
      const w = Math.min(W - 2, side * Math.sqrt(r)), h = Math.min(H - 2, side / Math.sqrt(r));
      const x = Math.round(g.uniform(0, W - w)), y = Math.round(g.uniform(0, H - h));
      const frame = { x, y, w, h };
      if (frames.some((f) => x < f.x + f.w && f.x < x + w && y < f.y + f.h && f.y < y + h)) continue; // no occlusion
      const covered = stamp(canvas, fruitStamp(cls, frame, g));
      if (!covered.box) break;
      frames.push(frame);
      boxes.push(covered.box);
      labels.push(cls);
      areas.push(covered.area);
      break;
    }
  }
  return { pixels: canvas.toBytes(), boxes, labels, areas };
}

function vocXml(file: string, size: [number, number], image: GeneratedImage, classes: readonly string[]): string {
  const objects = image.boxes.map((b, k) => `  <object>
    <name>${escapeXml(classes[image.labels[k]])}</name>
    <pose>Unspecified</pose>
    <truncated>0</truncated>
    <difficult>0</difficult>
    <bndbox><xmin>${b[0]}</xmin><ymin>${b[1]}</ymin><xmax>${b[2]}</xmax><ymax>${b[3]}</ymax></bndbox>
  </object>
`).join("");
  return `<annotation>
  <folder>VOC2012</folder>
  <filename>${escapeXml(file)}</filename>
  <source><database>flare makeBananas</database></source>
  <size><width>${size[1]}</width><height>${size[0]}</height><depth>3</depth></size>
  <segmented>0</segmented>
${objects}</annotation>
`;
}

/**
 * Makes the banana-style detection set under `out` and returns its manifest
 * (also written to out/manifest.json, last). Layouts:
 * - "banana": out/bananas_{train,val}/images/<i>.png and label.csv (BananaDetection({root: out}));
 * - "voc": out/voc/{JPEGImages,Annotations,ImageSets/Main} with classes
 *   ["background", ...names] (VOCDetection({root: out/voc, classes}));
 * - "coco": out/coco/{train,val}/<i>.png and out/coco/annotations/instances_{train,val}.json
 *   with category ids 1..n (CocoDetection({root: out/coco/train, annFile})).
 */
export async function makeBananas(options: MakeBananasOptions): Promise<BananasManifest> {
  const what = "makeBananas()";
  if (options === null || typeof options !== "object") throw new FlareError(`${what}: expected options {out, count, seed, ...}`, "E_ARGUMENT");
  checkOptions(options, optionNames<MakeBananasOptions>({
    out: 1, count: 1, valCount: 1, seed: 1, size: 1, classes: 1, objectsPerImage: 1, scale: 1, ratio: 1, formats: 1, backgrounds: 1, quality: 1,
  }), what);
  const out = checkOut(options.out, what);
  const counts: Record<Split, number> = { train: checkCount(options.count, "count", 1000, what), val: checkCount(options.valCount, "valCount", 100, what) };
  const seed = checkSeed(options.seed, what);
  const size = checkSize(options.size, 256, what);
  const nClasses = options.classes ?? 1;
  if (!Number.isInteger(nClasses) || nClasses < 1 || nClasses > FRUIT_CLASSES.length)
    throw new FlareError(`${what}: classes must be an integer 1..${FRUIT_CLASSES.length} (${FRUIT_CLASSES.join(", ")}), got ${JSON.stringify(options.classes)}`, "E_ARGUMENT");
  const objects = checkRange(options.objectsPerImage, "objectsPerImage", nClasses === 1 ? [1, 1] : [1, 3], what, 0, 64, true);
  const bananasOnly = nClasses === 1;
  const scale = checkRange(options.scale, "scale", bananasOnly ? BOOK_BANANAS.scale : [0.15, 0.45], what, 0.02, 1);
  const ratio = checkRange(options.ratio, "ratio", bananasOnly ? BOOK_BANANAS.ratio : [0.5, 2], what, 0.1, 10);
  const formats = options.formats ?? ["banana"];
  if (!Array.isArray(formats) || formats.length === 0 || !formats.every((f) => FORMATS.includes(f)))
    throw new FlareError(`${what}: formats must be a non-empty array of "banana", "voc", "coco", got ${JSON.stringify(options.formats)}`, "E_ARGUMENT");
  const quality = options.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new FlareError(`${what}: quality must be an integer in 1..100, got ${quality}`, "E_ARGUMENT");
  const sources = await backgroundSources(options.backgrounds, what);
  const classes = FRUIT_CLASSES.slice(0, nClasses);
  const has = (f: BananaFormat) => formats.includes(f);

  const manifest: BananasManifest = { kind: "bananas", seed, size, classes, formats: [...formats], paths: {}, splits: { train: [], val: [] } };
  const voc = path.join(out, "voc");
  if (has("banana")) manifest.paths.banana = ".";
  if (has("voc")) {
    manifest.paths.voc = "voc";
    mkdirs(path.join(voc, "JPEGImages"), path.join(voc, "Annotations"), path.join(voc, "ImageSets", "Main"));
  }
  if (has("coco")) {
    manifest.paths.coco = {
      train: { images: "coco/train", annFile: "coco/annotations/instances_train.json" },
      val: { images: "coco/val", annFile: "coco/annotations/instances_val.json" },
    };
    mkdirs(path.join(out, "coco", "annotations"));
  }
  const pool = new Pool(4);
  for (const [s, split] of SPLITS.entries()) {
    const bananaDir = path.join(out, `bananas_${split}`);
    const cocoDir = path.join(out, "coco", split);
    if (has("banana")) mkdirs(path.join(bananaDir, "images"));
    if (has("coco")) mkdirs(cocoDir);
    const images = manifest.splits[split];
    for (let i = 0; i < counts[split]; i++) {
      const drawn = drawBananaImage(seed, s, i, { size, classes: nClasses, objects, scale, ratio, sources });
      const image: GeneratedImage = { id: String(i), boxes: drawn.boxes, labels: drawn.labels, areas: drawn.areas };
      images.push(image);
      await pool.add(async () => {
        const tensor = fromTypedArray(drawn.pixels, [3, size[0], size[1]]);
        try {
          if (has("banana") || has("coco")) {
            const png = await encodeImage(tensor, "png", { compressionLevel: 3 });
            if (has("banana")) writeFile(path.join(bananaDir, "images", `${i}.png`), png);
            if (has("coco")) writeFile(path.join(cocoDir, `${i}.png`), png);
          }
          if (has("voc")) {
            const id = `${split}_${i}`;
            writeFile(path.join(voc, "JPEGImages", `${id}.jpg`), await encodeImage(tensor, "jpeg", { quality }));
            writeFile(path.join(voc, "Annotations", `${id}.xml`), vocXml(`${id}.jpg`, size, image, classes));
          }
        } finally {
          tensor.dispose();
        }
      });
    }
    await pool.drain();
    if (has("banana")) {
      const rows = images.flatMap((m) => m.boxes.map((b, k) => `${m.id}.png,${m.labels[k]},${b.join(",")}`));
      writeFile(path.join(bananaDir, "label.csv"), ["img_name,label,xmin,ymin,xmax,ymax", ...rows].join("\n") + "\n");
    }
    if (has("voc")) writeFile(path.join(voc, "ImageSets", "Main", `${split}.txt`), images.map((m) => `${split}_${m.id}\n`).join(""));
    if (has("coco")) {
      let annId = 1;
      const json = {
        info: { description: "flare makeBananas", seed },
        images: images.map((m, i) => ({ id: i + 1, file_name: `${m.id}.png`, width: size[1], height: size[0] })),
        annotations: images.flatMap((m, i) => m.boxes.map((b, k) => ({
          id: annId++, image_id: i + 1, category_id: m.labels[k] + 1, bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]], area: m.areas[k], iscrowd: 0,
        }))),
        categories: classes.map((name, k) => ({ id: k + 1, name, supercategory: "fruit" })),
      };
      writeFile(path.join(out, "coco", "annotations", `instances_${split}.json`), JSON.stringify(json));
    }
  }
  writeManifest(out, manifest);
  return manifest;
}
