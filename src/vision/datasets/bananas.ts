// d2l's banana detection set: root/bananas_train (and bananas_val) each hold
// images/<img_name> and label.csv with the header img_name,label,xmin,ymin,xmax,ymax
// (pixel coordinates). d2l's set has one banana per image; rows that share an
// img_name are several objects of one image.
import * as path from "node:path";
import { FlareError } from "../../errors.js";
import { FILE_LIMITS, readTextFile } from "../../io/files.js";
import { fromTypedArray, type Tensor } from "../../tensor/index.js";
import {
  applyTransform, checkIndex, checkOnError, checkRoot, isFile, loadImage, Problems,
  type DatasetTransform, type OnError, type Skipped,
} from "./_common.js";
import { datasetOptions } from "./_options.js";
import { optionNames } from "../../options.js";
import { datasetTransform, type TransformArg } from "./_transform.js";
import { Transform } from "../transforms/transform.js";

export const BANANA_CSV_HEADER = ["img_name", "label", "xmin", "ymin", "xmax", "ymax"] as const;

export interface BananaDetectionOptions<U = Tensor> {
  /** The folder holding bananas_train and bananas_val (d2l's banana-detection); or pass it first. */
  root?: string;
  /** bananas_train (default) or bananas_val. */
  train?: boolean;
  /** Divide x by the image width and y by its height (d2l's loader divides by 256 on its 256×256 images). */
  normalize?: boolean;
  /**
   * (image uint8 3×H×W, target float32 K×5) → [image, target], or a transforms.Transform
   * (a Compose, ...), which moves the boxes with the image (pixel boxes: not with normalize).
   */
  transform?: TransformArg<Tensor, U>;
  /** torchvision's target_transform: K×5 target → target. */
  targetTransform?: (target: Tensor) => U;
  /** A csv row whose image is missing: "raise" (default) or "skip" (recorded in `skipped`). */
  onError?: OnError;
}

/** One image's rows of label.csv. */
export interface BananaEntry { imgName: string; objects: { label: number; box: [number, number, number, number] }[] }

/** Parses d2l's label.csv; errors name the file and line. */
export function parseBananaCsv(text: string, source: string): BananaEntry[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").replace(/^\ufeff/, "").split(",").map((s) => s.trim());
  // pandas' to_csv writes a leading unnamed index column; accept it.
  const offset = header.length === 7 && header[0] === "" ? 1 : 0;
  if (header.slice(offset).join(",") !== BANANA_CSV_HEADER.join(","))
    throw new FlareError(`${source}: line 1 is "${lines[0]}", expected the header ${BANANA_CSV_HEADER.join(",")}`, "E_FORMAT");
  const entries = new Map<string, BananaEntry>();
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === "") continue;
    const fields = line.split(",").map((s) => s.trim());
    if (fields.length !== 6 + offset) throw new FlareError(`${source}: line ${n + 1} has ${fields.length} fields, expected ${6 + offset} (${BANANA_CSV_HEADER.join(",")})`, "E_FORMAT");
    const [imgName, ...rest] = fields.slice(offset);
    if (imgName === "" || imgName.includes("/") || imgName.includes("\\") || imgName === "..")
      throw new FlareError(`${source}: line ${n + 1}: img_name ${JSON.stringify(imgName)} is not a file name`, "E_FORMAT");
    const values = rest.map(Number);
    rest.forEach((raw, k) => {
      if (raw === "" || !Number.isFinite(values[k])) throw new FlareError(`${source}: line ${n + 1}: ${BANANA_CSV_HEADER[k + 1]} is ${JSON.stringify(raw)}, expected a number`, "E_FORMAT");
    });
    const [label, x1, y1, x2, y2] = values;
    if (!Number.isInteger(label) || label < 0) throw new FlareError(`${source}: line ${n + 1}: label ${label} is not a class index (0, 1, ...)`, "E_FORMAT");
    if (x2 < x1 || y2 < y1) throw new FlareError(`${source}: line ${n + 1}: box [${x1}, ${y1}, ${x2}, ${y2}] has xmax < xmin or ymax < ymin`, "E_FORMAT");
    if (x1 < 0 || y1 < 0) throw new FlareError(`${source}: line ${n + 1}: box [${x1}, ${y1}, ${x2}, ${y2}] is outside its image (negative coordinates)`, "E_FORMAT");
    let entry = entries.get(imgName);
    if (!entry) entries.set(imgName, (entry = { imgName, objects: [] }));
    entry.objects.push({ label, box: [x1, y1, x2, y2] });
  }
  return [...entries.values()];
}

/**
 * d2l's BananasDataset: get(i) gives [image uint8 3×H×W, target float32 K×5 of rows
 * [class, x1, y1, x2, y2]] (pixels, or fractions of the image with normalize).
 */
export class BananaDetection<U = Tensor> {
  readonly root: string;
  readonly train: boolean;
  readonly normalize: boolean;
  /** The folder of the split (root/bananas_train or root/bananas_val). */
  readonly dir: string;
  readonly entries: BananaEntry[];
  readonly skipped: Skipped[];
  private readonly csv: string;
  private readonly transform?: DatasetTransform<Tensor, U>;

  /** new BananaDetection(root, { train: false }); new BananaDetection({ root, train }) works too. */
  constructor(options: BananaDetectionOptions<U> & { root: string });
  constructor(root: string, options?: Omit<BananaDetectionOptions<U>, "root">);
  constructor(rootOrOptions: string | BananaDetectionOptions<U>, maybeOptions?: Omit<BananaDetectionOptions<U>, "root">) {
    const what = "BananaDetection()";
    const options = datasetOptions<BananaDetectionOptions<U>>(rootOrOptions, maybeOptions, optionNames<BananaDetectionOptions<U>>({ root: 1, train: 1, normalize: 1, transform: 1, targetTransform: 1, onError: 1 }), what);
    this.root = checkRoot(options.root, what);
    this.train = options.train ?? true;
    this.normalize = options.normalize ?? false;
    if (options.transform instanceof Transform && this.normalize)
      throw new FlareError(`${what}: a transforms.Transform moves boxes in pixels; use normalize: false with it (or normalize in a targetTransform)`, "E_ARGUMENT");
    this.transform = datasetTransform(options.transform, options.targetTransform, "boxes", what);
    this.dir = path.join(this.root, this.train ? "bananas_train" : "bananas_val");
    this.csv = path.join(this.dir, "label.csv");
    const text = readTextFile(this.csv, { maxBytes: FILE_LIMITS.text, what, missingHint: "(expected d2l's layout: bananas_train/label.csv and bananas_train/images/)" });
    const problems = new Problems(checkOnError(options.onError, what), what);
    this.skipped = problems.skipped;
    this.entries = parseBananaCsv(text, `${what}: ${this.csv}`).filter((e) => {
      const file = this.imagePath(e.imgName);
      if (isFile(file)) return true;
      problems.report(file, `no such image (named in ${this.csv})`, "E_IO");
      return false;
    });
    if (this.entries.length === 0 && problems.skipped.length === 0) throw new FlareError(`${what}: ${this.csv} lists no images`, "E_FORMAT");
  }

  get length(): number { return this.entries.length; }

  imagePath(name: string): string { return path.join(this.dir, "images", name); }

  async get(index: number): Promise<[Tensor, U]> {
    const entry = this.entries[checkIndex(index, this.length, "BananaDetection.get()")];
    const file = this.imagePath(entry.imgName);
    const image = await loadImage(file, "BananaDetection");
    const [, h, w] = image.shape;
    const rows = new Float32Array(entry.objects.length * 5);
    for (const [k, { label, box }] of entry.objects.entries()) {
      if (box[2] > w || box[3] > h) {
        image.dispose();
        throw new FlareError(`BananaDetection: ${this.csv}: box [${box.join(", ")}] of ${entry.imgName} is outside its ${w}×${h} image`, "E_FORMAT");
      }
      const [sx, sy] = this.normalize ? [w, h] : [1, 1];
      rows.set([label, box[0] / sx, box[1] / sy, box[2] / sx, box[3] / sy], 5 * k);
    }
    return applyTransform(this.transform, image, fromTypedArray(rows, [entry.objects.length, 5]), "BananaDetection");
  }
}
