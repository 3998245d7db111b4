// The detect task's data: a detection set (the d2l bananas, Pascal VOC or COCO)
// read once into memory as the book's tensors — images uint8 [N, 3, S, S] resized
// to the model's side, labels [N, maxObjects, 5] rows (class, x1, y1, x2, y2) in
// fractions of the image, padded with class −1 — and batched in an order fixed
// by (seed, epoch), so runs resume exactly and a PyTorch bench can replay it.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { FlareError } from "../errors.js";
import * as torch from "../tensor/index.js";
import type { Tensor } from "../tensor/index.js";
import { resize } from "../vision/transforms/functional.js";
import { BananaDetection } from "../vision/datasets/bananas.js";
import { VOCDetection } from "../vision/datasets/voc.js";
import { VOC_CLASSES } from "../vision/utils/colormap.js";
import { CocoDetection } from "../vision/datasets/coco.js";
import { makeBananas } from "../vision/datasets/generators/bananas.js";
import { OBJECTS_SET } from "../vision/datasets/generators/objects.js";

export type DetectData = "bananas" | "objects" | "voc" | "coco";
export const DETECT_DATA: readonly DetectData[] = ["bananas", "objects", "voc", "coco"];

/** One split in memory. */
export interface DetectionSplit {
  /** uint8 [N, 3, S, S]: each image resized to the model's side. */
  images: Tensor;
  /** float32 [N, maxObjects, 5]: (class, x1, y1, x2, y2) in fractions of the image; class −1 pads. */
  labels: Tensor;
  /** Each image's name (file name or id) and original [height, width]. */
  names: string[];
  sizes: [number, number][];
}

export interface DetectionData { train: DetectionSplit; val: DetectionSplit; classes: string[]; root: string }

export interface DetectionDataOptions {
  data: DetectData;
  /** The data folder; for bananas without one, the set is generated into a cache folder. */
  dataRoot?: string;
  /** The side images are resized to (the model's input; 256 for TinySSD as the book). */
  size?: number;
  /** Generated bananas only: training and validation images, and the generator's image side. */
  count?: number;
  valCount?: number;
  imageSize?: number;
  seed?: number;
  /** Padding rows per image (default: the most objects any image has). */
  maxObjects?: number;
  /** Use only the first N images of each split. */
  limit?: number;
  /** Only the validation split (evaluation). */
  valOnly?: boolean;
}

/** Where generated data sets go: $FLARE_CACHE, else $XDG_CACHE_HOME/flare, else ~/.cache/flare. */
export function cacheDir(): string {
  if (process.env.FLARE_CACHE) return process.env.FLARE_CACHE;
  return path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache"), "flare");
}

/** The generated banana set for these options, made on first use (d2l's: 1000 train / 100 val of 256×256). */
export async function generatedBananas(options: { count?: number; valCount?: number; imageSize?: number; seed?: number } = {}): Promise<string> {
  const count = options.count ?? 1000, valCount = options.valCount ?? 100, size = options.imageSize ?? 256, seed = options.seed ?? 0;
  // "book": generated with BOOK_BANANAS' sizes; sets cached before that (wider sizes) are not reused.
  const dir = path.join(cacheDir(), "datasets", `bananas-book-${count}-${valCount}-${size}px-seed${seed}`);
  // The manifest is written last: its presence means the set is complete.
  if (!existsSync(path.join(dir, "manifest.json"))) await makeBananas({ out: dir, count, valCount, size, seed });
  return dir;
}

/**
 * The generated `objects` set for these options (OBJECTS_SET: 4 classes, 2..5 objects
 * per image of small, medium and large areas), made on first use; 512 train / 128 val of 256² by default.
 */
export async function generatedObjects(options: { count?: number; valCount?: number; imageSize?: number; seed?: number } = {}): Promise<string> {
  const count = options.count ?? 512, valCount = options.valCount ?? 128, size = options.imageSize ?? OBJECTS_SET.size, seed = options.seed ?? 0;
  const dir = path.join(cacheDir(), "datasets", `objects-${count}-${valCount}-${size}px-seed${seed}`);
  if (!existsSync(path.join(dir, "manifest.json"))) {
    await makeBananas({ out: dir, count, valCount, size, seed, classes: OBJECTS_SET.classes, objectsPerImage: OBJECTS_SET.objectsPerImage, scale: OBJECTS_SET.scale });
  }
  return dir;
}

interface Sample { image: Tensor; boxes: number[][]; labels: number[]; name: string }

/** Reads, resizes and pads one split; `fail` names the file in errors. */
async function collect(length: number, read: (i: number) => Promise<Sample>, options: DetectionDataOptions, numClasses: number, source: string): Promise<DetectionSplit> {
  const n = Math.min(length, options.limit ?? length);
  if (n === 0) throw new FlareError(`train detect: ${source} has no images`, "E_FORMAT");
  const side = options.size ?? 256;
  const images: Tensor[] = [];
  const rows: number[][][] = [];
  const names: string[] = [], sizes: [number, number][] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = await read(i);
      const [, h, w] = s.image.shape;
      s.labels.forEach((label, k) => {
        if (!(Number.isInteger(label) && label >= 0 && label < numClasses)) {
          s.image.dispose();
          throw new FlareError(`train detect: ${source}: image ${s.name} has an object of class ${label}, outside the ${numClasses} classes 0..${numClasses - 1}`, "E_ARGUMENT");
        }
        const b = s.boxes[k];
        if (!b.every(Number.isFinite) || b[2] < b[0] || b[3] < b[1]) {
          s.image.dispose();
          throw new FlareError(`train detect: ${source}: image ${s.name} has the box [${b.join(", ")}] (x2 < x1, y2 < y1 or not finite)`, "E_FORMAT");
        }
      });
      rows.push(s.labels.map((label, k) => [label, s.boxes[k][0] / w, s.boxes[k][1] / h, s.boxes[k][2] / w, s.boxes[k][3] / h]));
      images.push(torch.tidy(() => {
        const out = resize(s.image, [side, side], { antialias: true });
        return out === s.image ? s.image.clone() : out;
      }));
      s.image.dispose();
      names.push(s.name);
      sizes.push([h, w]);
    }
    const most = Math.max(1, ...rows.map((r) => r.length));
    const maxObjects = options.maxObjects ?? most;
    const over = rows.findIndex((r) => r.length > maxObjects);
    if (over >= 0) throw new FlareError(`train detect: ${source}: image ${names[over]} has ${rows[over].length} objects, more than maxObjects ${maxObjects}`, "E_ARGUMENT");
    const flat = new Float32Array(n * maxObjects * 5).fill(-1);
    rows.forEach((r, i) => r.forEach((row, k) => flat.set(row, (i * maxObjects + k) * 5)));
    return { images: torch.keep(torch.stack(images)), labels: torch.keep(torch.fromTypedArray(flat, [n, maxObjects, 5])), names, sizes };
  } finally {
    torch.dispose(images);
  }
}

function bananaClasses(root: string, labels: number[]): string[] {
  const manifest = path.join(root, "manifest.json");
  if (existsSync(manifest)) {
    try {
      const classes = JSON.parse(readFileSync(manifest, "utf8")).classes;
      if (Array.isArray(classes) && classes.every((c) => typeof c === "string")) return classes;
    } catch { /* fall through: a banana folder without a generator's manifest */ }
  }
  // d2l's own set has one class; others get a name per label index.
  const n = Math.max(0, ...labels) + 1;
  return n === 1 ? ["banana"] : Array.from({ length: n }, (_, i) => `class_${i}`);
}

/** Reads the detection set (both splits, or only the validation one) into memory. */
export async function loadDetectionData(options: DetectionDataOptions): Promise<DetectionData> {
  const split = async (train: boolean, read: () => Promise<DetectionSplit>): Promise<DetectionSplit> =>
    !train || !options.valOnly ? read() : { images: torch.keep(torch.zeros([0, 3, 1, 1], { dtype: "uint8" })), labels: torch.keep(torch.zeros([0, 1, 5])), names: [], sizes: [] };
  if (options.data === "bananas" || options.data === "objects") {
    // objects is a generated banana-layout set with several classes (its manifest names them).
    const root = options.dataRoot ?? await (options.data === "objects" ? generatedObjects(options) : generatedBananas(options));
    const sets = [true, false].map((train) => new BananaDetection({ root, train }));
    const classes = bananaClasses(root, sets.flatMap((s) => s.entries.flatMap((e) => e.objects.map((o) => o.label))));
    const [train, val] = await Promise.all(sets.map((set) => split(set.train, () => collect(set.length, async (i) => {
      const [image, target] = await set.get(i);
      const t = target.tolist() as number[][];
      target.dispose();
      return { image, boxes: t.map((r) => r.slice(1)), labels: t.map((r) => r[0]), name: set.entries[i].imgName };
    }, options, classes.length, path.join(set.dir, "label.csv")))));
    return { train, val, classes, root };
  }
  if (!options.dataRoot) throw new FlareError(`train detect: --data ${options.data} needs its folder (--data ${options.data} DIR)`, "E_ARGUMENT");
  const root = options.dataRoot;
  if (options.data === "voc") {
    // VOC's class list starts with the background; the detector's classes are the objects.
    const manifest = path.join(root, "..", "manifest.json");
    let classes: readonly string[] = VOC_CLASSES;
    if (existsSync(manifest)) {
      try { classes = ["background", ...JSON.parse(readFileSync(manifest, "utf8")).classes]; } catch { /* VOC's own */ }
    }
    const sets = [["train", true], ["val", false]].map(([imageSet]) => new VOCDetection({ root, imageSet: imageSet as string, classes }));
    const [train, val] = await Promise.all(sets.map((set, s) => split(s === 0, () => collect(set.length, async (i) => {
      const [image, target] = await set.get(i);
      const boxes = target.boxes.tolist() as number[][], labels = (target.labels.tolist() as number[]).map((l) => l - 1);
      torch.dispose([target.boxes, target.labels, target.difficult]);
      return { image, boxes, labels, name: target.imageId };
    }, options, classes.length - 1, `${root} (${set.imageSet})`))));
    return { train, val, classes: classes.slice(1), root };
  }
  if (options.data === "coco") {
    // The generator's layout: DIR/{train,val}/ images and DIR/annotations/instances_{train,val}.json.
    const sets = ["train", "val"].map((s) => new CocoDetection({ root: path.join(root, s), annFile: path.join(root, "annotations", `instances_${s}.json`) }));
    const catIds = sets[0].categories.map((c) => c.id).sort((a, b) => a - b);
    const index = new Map(catIds.map((id, k) => [id, k]));
    const classes = catIds.map((id) => sets[0].catIdToName.get(id)!);
    const [train, val] = await Promise.all(sets.map((set, s) => split(s === 0, () => collect(set.length, async (i) => {
      const [image, target] = await set.get(i);
      const boxes = target.boxes.tolist() as number[][];
      const ids = target.labels.tolist() as number[];
      torch.dispose([target.boxes, target.labels, target.iscrowd, target.area]);
      const unknown = ids.find((id) => !index.has(id));
      if (unknown !== undefined) {
        image.dispose();
        throw new FlareError(`train detect: ${set.annFile}: image id ${target.imageId} has category_id ${unknown}, not among the training categories (${catIds.join(", ")})`, "E_FORMAT");
      }
      const labels = ids.map((id) => index.get(id)!);
      return { image, boxes, labels, name: String(target.imageId) };
    }, options, classes.length, set.annFile))));
    return { train, val, classes, root };
  }
  throw new FlareError(`train detect: unknown dataset '${String(options.data)}' (bananas [DIR], objects [DIR], voc DIR or coco DIR)`, "E_ARGUMENT");
}

export function disposeSplit(split: DetectionSplit): void { torch.dispose([split.images, split.labels]); }

/** A detection batch: images float [B, 3, S, S] in 0..255 (the book's input), labels [B, M, 5], original sizes [B, 2]. */
export interface DetectionBatch { images: Tensor; labels: Tensor; sizes: Tensor }

/** The order of an epoch's images: a permutation from (seed, epoch) when shuffling, else 0..n−1. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): number[] {
  return shuffle ? new torch.Generator(seed * 1000 + epoch).permutation(n) : Array.from({ length: n }, (_, i) => i);
}

/** Batches of a split, made when the trainer asks for them (the length lets the progress bar draw). */
export function detectionBatches(split: DetectionSplit, batchSize: number, shuffle: boolean, seed: number) {
  const n = split.names.length;
  return (epoch: number): Iterable<DetectionBatch> & { length: number } => ({
    length: Math.ceil(n / batchSize),
    *[Symbol.iterator]() {
      const order = epochOrder(n, seed, epoch, shuffle);
      for (let start = 0; start < n; start += batchSize) {
        const part = order.slice(start, start + batchSize);
        yield torch.tidy(() => {
          const index = torch.tensor(part, { dtype: "int64" });
          return {
            images: split.images.indexSelect(0, index).float(),
            labels: split.labels.indexSelect(0, index),
            sizes: torch.tensor(part.map((i) => split.sizes[i])),
          };
        });
      }
    },
  });
}
