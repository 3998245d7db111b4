// Pascal VOC 2012: semantic segmentation (JPEGImages/*.jpg with
// SegmentationClass/*.png palette labels, d2l's VOCSegDataset) and detection
// (Annotations/*.xml, torchvision's VOCDetection). Split lists live in
// ImageSets/Segmentation/<set>.txt and ImageSets/Main/<set>.txt.
import * as path from "node:path";
import { FlareError } from "../../errors.js";
import { FILE_LIMITS, readTextFile } from "../../io/files.js";
import { defaultGenerator, fromTypedArray, tidy, type Generator, type Tensor } from "../../tensor/index.js";
import { VOC_CLASSES, VOC_COLORMAP } from "../utils/colormap.js";
import {
  applyTransform, checkIndex, checkOnError, checkRoot, checkTransform, findDir, imageSizeFromHeader, isFile, loadImage,
  longTensor, Problems, readIdList, type DatasetTransform, type OnError, type Skipped,
} from "./_common.js";
import { child, childrenNamed, childText, parseXml } from "./xml.js";
import { checkOptions, optionNames } from "../../options.js";

/** The colour of VOC's object borders and "difficult" regions, read as ignoreIndex. */
export const VOC_IGNORE_COLOR: readonly [number, number, number] = [224, 224, 192];

/** The VOC2012 folder under root: root itself, root/VOCdevkit/VOC2012 or root/VOC2012. */
function vocDir(root: string, marker: string): string {
  return findDir([root, path.join(root, "VOCdevkit", "VOC2012"), path.join(root, "VOC2012")], marker) ?? root;
}

function readSplit(file: string, what: string): string[] {
  const text = readTextFile(file, { maxBytes: FILE_LIMITS.text, what, role: "split list" });
  const ids = readIdList(text);
  if (ids.length === 0) throw new FlareError(`${what}: the split list ${file} names no images`, "E_FORMAT");
  for (const id of ids) if (id.includes("/") || id.includes("\\") || id === "..") throw new FlareError(`${what}: ${file}: "${id}" is not an image id`, "E_FORMAT");
  return ids;
}

function checkImageSet(value: unknown, what: string): string {
  const set = value ?? "train";
  if (typeof set !== "string" || !/^[A-Za-z0-9_.-]+$/.test(set)) throw new FlareError(`${what}: imageSet must be a split name such as "train" or "val", got ${JSON.stringify(value)}`, "E_ARGUMENT");
  return set;
}

export interface LabelIndicesOptions {
  /** The colour of class k (default VOC_COLORMAP). */
  colormap?: readonly (readonly number[])[];
  /** The colour read as ignoreIndex (default VOC's border colour (224, 224, 192)); null for none. */
  ignoreColor?: readonly number[] | null;
  /** Default 255. */
  ignoreIndex?: number;
  /** Names the label file in errors. */
  source?: string;
}

/**
 * d2l's voc_label_indices: an RGB label image (planar bytes, 3×H×W) → one class
 * id per pixel (H×W bytes). A colour that is neither in the colormap nor the
 * ignore colour is an error naming the pixel.
 */
export function vocLabelIndices(rgb: Uint8Array, height: number, width: number, options: LabelIndicesOptions = {}): Uint8Array {
  const colormap = options.colormap ?? VOC_COLORMAP;
  const ignoreColor = options.ignoreColor === undefined ? VOC_IGNORE_COLOR : options.ignoreColor;
  const ignoreIndex = options.ignoreIndex ?? 255;
  const source = options.source ?? "label image";
  const plane = height * width;
  if (rgb.length !== 3 * plane) throw new FlareError(`vocLabelIndices(): ${source}: ${rgb.length} bytes for a 3×${height}×${width} image`, "E_SHAPE");
  if (colormap.length > 255) throw new FlareError("vocLabelIndices(): at most 255 classes", "E_ARGUMENT");
  const colours: [readonly number[], number][] = colormap.map((c, k) => [c, k]);
  if (ignoreColor) colours.push([ignoreColor, ignoreIndex]);
  // Each channel's values → a slot; the label of a colour sits at its slots' cell.
  const slots = [new Int16Array(256).fill(-1), new Int16Array(256).fill(-1), new Int16Array(256).fill(-1)];
  const counts = [0, 0, 0];
  for (const [c] of colours) for (let ch = 0; ch < 3; ch++) if (slots[ch][c[ch]] < 0) slots[ch][c[ch]] = counts[ch]++;
  const table = new Int16Array(counts[0] * counts[1] * counts[2]).fill(-1);
  for (const [c, k] of colours) {
    const cell = (slots[0][c[0]] * counts[1] + slots[1][c[1]]) * counts[2] + slots[2][c[2]];
    if (table[cell] < 0) table[cell] = k;
  }
  const [sr, sg, sb] = slots;
  const n1 = counts[1], n2 = counts[2];
  const out = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) {
    const a = sr[rgb[p]], b = sg[rgb[plane + p]], c = sb[rgb[2 * plane + p]];
    const label = a < 0 || b < 0 || c < 0 ? -1 : table[(a * n1 + b) * n2 + c];
    if (label < 0) {
      const y = Math.floor(p / width), x = p % width;
      throw new FlareError(`${source}: pixel (x=${x}, y=${y}) has colour (${rgb[p]}, ${rgb[plane + p]}, ${rgb[2 * plane + p]}), which is not in the colormap (${colormap.length} class colours${ignoreColor ? ` and the ignore colour (${ignoreColor.join(", ")})` : ""})`, "E_FORMAT");
    }
    out[p] = label;
  }
  return out;
}

/** One-channel class ids: each must be a class (below `classes`) or 255. */
function checkIds(ids: Uint8Array, width: number, classes: number, source: string): Uint8Array {
  for (let p = 0; p < ids.length; p++) {
    const v = ids[p];
    if (v >= classes && v !== 255)
      throw new FlareError(`${source}: pixel (x=${p % width}, y=${Math.floor(p / width)}) has value ${v}, which is not a class id (0..${classes - 1}) or 255 (ignore)`, "E_FORMAT");
  }
  return ids;
}

export interface VOCSegmentationOptions<U = Tensor> {
  /** The VOC2012 folder (holding JPEGImages, SegmentationClass, ImageSets), or a folder holding VOCdevkit/VOC2012. */
  root: string;
  /** The split list ImageSets/Segmentation/<imageSet>.txt (default "train"). */
  imageSet?: "train" | "val" | "trainval" | string;
  /**
   * [height, width] of d2l's joint random crop (the same window for the image and
   * its labels); images smaller than it are left out (listed in `filtered`).
   * Without it samples come whole.
   */
  crop?: [number, number];
  /** Draws the crop windows (default torch.defaultGenerator, which manualSeed and DataLoader workers seed). */
  generator?: Generator;
  /** The colour of class k (default VOC_COLORMAP, 21 classes). */
  colormap?: readonly (readonly number[])[];
  /**
   * How label files hold classes: "color" (default, d2l's voc_label_indices): RGB or
   * palette PNGs coloured with the colormap; "index": one-channel PNGs whose values
   * are the class ids (SegmentationClassAug's style), 255 = ignore.
   */
  labelMode?: "color" | "index";
  /** (image uint8 3×H×W, labels int64 H×W) → [image, target]. */
  transform?: DatasetTransform<Tensor, U>;
  /** A listed image or label file that is missing or has no image header: "raise" (default) or "skip" (recorded in `skipped`). */
  onError?: OnError;
}

/**
 * VOC semantic segmentation: get(i) gives [image uint8 3×H×W, labels int64 H×W]
 * with class ids 0..20 and 255 where VOC marks borders (ignore them in the loss).
 */
export class VOCSegmentation<U = Tensor> {
  readonly root: string;
  readonly imageSet: string;
  readonly crop?: [number, number];
  /** The image ids kept, in split order. */
  readonly ids: string[];
  /** Ids left out for being smaller than the crop (d2l's filter). */
  readonly filtered: string[] = [];
  readonly skipped: Skipped[];
  private readonly generator?: Generator;
  private readonly colormap: readonly (readonly number[])[];
  private readonly labelMode: "color" | "index";
  private readonly transform?: DatasetTransform<Tensor, U>;

  constructor(options: VOCSegmentationOptions<U>) {
    const what = "VOCSegmentation()";
    if (options === null || typeof options !== "object") throw new FlareError(`${what}: expected options {root, imageSet, crop}`, "E_ARGUMENT");
    checkOptions(options, optionNames<VOCSegmentationOptions<U>>({ root: 1, imageSet: 1, crop: 1, generator: 1, colormap: 1, labelMode: 1, transform: 1, onError: 1 }), what);
    this.root = vocDir(checkRoot(options.root, what), "SegmentationClass");
    this.imageSet = checkImageSet(options.imageSet, what);
    checkTransform(options.transform, what);
    this.transform = options.transform;
    this.generator = options.generator;
    this.colormap = options.colormap ?? VOC_COLORMAP;
    this.labelMode = options.labelMode ?? "color";
    if (this.labelMode !== "color" && this.labelMode !== "index") throw new FlareError(`${what}: labelMode must be "color" or "index", got ${JSON.stringify(options.labelMode)}`, "E_ARGUMENT");
    if (options.crop !== undefined) {
      const c = options.crop;
      if (!Array.isArray(c) || c.length !== 2 || !c.every((v) => Number.isInteger(v) && v > 0))
        throw new FlareError(`${what}: crop must be [height, width] in pixels, got ${JSON.stringify(c)}`, "E_ARGUMENT");
      this.crop = [c[0], c[1]];
    }
    const problems = new Problems(checkOnError(options.onError, what), what);
    this.skipped = problems.skipped;
    this.ids = [];
    for (const id of readSplit(path.join(this.root, "ImageSets", "Segmentation", `${this.imageSet}.txt`), what)) {
      const image = this.imagePath(id), mask = this.maskPath(id);
      if (!isFile(image)) { problems.report(image, "no such image (listed in the split)", "E_IO"); continue; }
      if (!isFile(mask)) { problems.report(mask, "no such label file (listed in the split)", "E_IO"); continue; }
      if (this.crop) {
        let size: [number, number];
        try { size = imageSizeFromHeader(image); } catch (error) {
          problems.report(image, (error as Error).message.replace(`${image}: `, ""));
          continue;
        }
        if (size[1] < this.crop[0] || size[0] < this.crop[1]) { this.filtered.push(id); continue; }
      }
      this.ids.push(id);
    }
    if (this.ids.length === 0 && this.filtered.length > 0)
      throw new FlareError(`${what}: all ${this.filtered.length} images of ${this.imageSet} are smaller than the ${this.crop![1]}×${this.crop![0]} (width×height) crop`, "E_ARGUMENT");
  }

  get length(): number { return this.ids.length; }

  imagePath(id: string): string { return path.join(this.root, "JPEGImages", `${id}.jpg`); }
  maskPath(id: string): string { return path.join(this.root, "SegmentationClass", `${id}.png`); }

  async get(index: number): Promise<[Tensor, U]> {
    const id = this.ids[checkIndex(index, this.length, "VOCSegmentation.get()")];
    const imageFile = this.imagePath(id), maskFile = this.maskPath(id);
    const [image, mask] = await Promise.allSettled([loadImage(imageFile, "VOCSegmentation"), loadImage(maskFile, "VOCSegmentation", this.labelMode === "color" ? "rgb" : "unchanged")]);
    if (image.status === "rejected" || mask.status === "rejected") {
      if (image.status === "fulfilled") image.value.dispose();
      if (mask.status === "fulfilled") mask.value.dispose();
      throw (image.status === "rejected" ? image.reason : (mask as PromiseRejectedResult).reason);
    }
    let img = image.value;
    const [, h, w] = img.shape;
    const [mc, mh, mw] = mask.value.shape;
    const rgb = mask.value.dataSync() as Uint8Array;
    mask.value.dispose();
    if (this.labelMode === "index" && mc !== 1) {
      img.dispose();
      throw new FlareError(`VOCSegmentation: ${maskFile} has ${mc} channels; labelMode "index" needs one-channel label images whose values are class ids (use labelMode "color" for palette or RGB labels)`, "E_FORMAT");
    }
    if (mh !== h || mw !== w) {
      img.dispose();
      throw new FlareError(`VOCSegmentation: label ${maskFile} is ${mw}×${mh} but its image ${imageFile} is ${w}×${h}`, "E_SHAPE");
    }
    let labels: Uint8Array;
    try {
      labels = this.labelMode === "color" ? vocLabelIndices(rgb, h, w, { colormap: this.colormap, source: `VOCSegmentation: ${maskFile}` }) : checkIds(rgb, w, this.colormap.length, `VOCSegmentation: ${maskFile}`);
    } catch (error) {
      img.dispose();
      throw error;
    }
    let [lh, lw] = [h, w];
    if (this.crop) {
      const [th, tw] = this.crop;
      if (h < th || w < tw) {
        img.dispose();
        throw new FlareError(`VOCSegmentation: ${imageFile} is ${w}×${h}, smaller than the ${tw}×${th} crop`, "E_SHAPE");
      }
      // torchvision's RandomCrop.get_params: top in [0, h - th], left in [0, w - tw].
      const g = this.generator ?? defaultGenerator;
      const top = g.randint(0, h - th + 1), left = g.randint(0, w - tw + 1);
      const cropped = new Uint8Array(th * tw);
      for (let y = 0; y < th; y++) cropped.set(labels.subarray((top + y) * w + left, (top + y) * w + left + tw), y * tw);
      labels = cropped;
      [lh, lw] = [th, tw];
      const full = img;
      img = tidy(() => full.index(":", `${top}:${top + th}`, `${left}:${left + tw}`).contiguous());
      full.dispose();
    }
    const target = fromTypedArray(labels, [lh, lw], { dtype: "int64" });
    return applyTransform(this.transform, img, target, "VOCSegmentation");
  }
}

/** One object of a VOC annotation. */
export interface VocObject {
  name: string;
  /** Index in the class list. */
  label: number;
  /** [xmin, ymin, xmax, ymax] as written in the file. */
  box: [number, number, number, number];
  difficult: boolean;
  truncated: boolean;
}

export interface VocAnnotation {
  filename?: string;
  /** From <size>, when present. */
  width?: number;
  height?: number;
  objects: VocObject[];
}

function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[\s/_-]+/g, "");
}

/**
 * Parses and checks a VOC annotation (XML text): each object's class must be in
 * `classes` (compared without case, spaces or slashes, so "tvmonitor" is
 * "tv/monitor"), its box must have xmin ≤ xmax, ymin ≤ ymax and lie inside the
 * <size> of the image. Errors name `source` and the object.
 */
export function parseVocAnnotation(text: string, source: string, classes: readonly string[] = VOC_CLASSES): VocAnnotation {
  const root = parseXml(text, { source });
  if (root.name !== "annotation") throw new FlareError(`${source}: the root element is <${root.name}>, expected <annotation>`, "E_FORMAT");
  const lookup = new Map(classes.map((c, i) => [normaliseName(c), i]));
  const number = (value: string | undefined, what: string): number => {
    const v = value === undefined || value === "" ? NaN : Number(value);
    if (!Number.isFinite(v)) throw new FlareError(`${source}: ${what} is ${value === undefined ? "missing" : JSON.stringify(value)}, expected a number`, "E_FORMAT");
    return v;
  };
  const annotation: VocAnnotation = { filename: childText(root, "filename"), objects: [] };
  const size = child(root, "size");
  if (size) {
    annotation.width = number(childText(size, "width"), "<size><width>");
    annotation.height = number(childText(size, "height"), "<size><height>");
    if (annotation.width <= 0 || annotation.height <= 0) throw new FlareError(`${source}: <size> is ${annotation.width}×${annotation.height}`, "E_FORMAT");
  }
  childrenNamed(root, "object").forEach((object, k) => {
    const name = childText(object, "name");
    if (!name) throw new FlareError(`${source}: object ${k} has no <name>`, "E_FORMAT");
    const label = lookup.get(normaliseName(name));
    if (label === undefined) throw new FlareError(`${source}: object ${k} has class "${name}", which is not one of the ${classes.length} classes (${classes.slice(0, 6).join(", ")}${classes.length > 6 ? ", ..." : ""})`, "E_FORMAT");
    const bndbox = child(object, "bndbox");
    if (!bndbox) throw new FlareError(`${source}: object ${k} ("${name}") has no <bndbox>`, "E_FORMAT");
    const box = (["xmin", "ymin", "xmax", "ymax"] as const).map((f) => number(childText(bndbox, f), `object ${k} ("${name}") <${f}>`)) as [number, number, number, number];
    const [x1, y1, x2, y2] = box;
    if (x2 < x1 || y2 < y1) throw new FlareError(`${source}: object ${k} ("${name}") has box [${box.join(", ")}] with xmax < xmin or ymax < ymin`, "E_FORMAT");
    if (x1 < 0 || y1 < 0 || (annotation.width !== undefined && x2 > annotation.width) || (annotation.height !== undefined && y2 > annotation.height))
      throw new FlareError(`${source}: object ${k} ("${name}") has box [${box.join(", ")}] outside its ${annotation.width}×${annotation.height} image`, "E_FORMAT");
    const flag = (f: string) => { const t = childText(object, f); return t !== undefined && t !== "" && Number(t) !== 0; };
    annotation.objects.push({ name, label, box, difficult: flag("difficult"), truncated: flag("truncated") });
  });
  return annotation;
}

/** The target of a VOCDetection sample. */
export interface VOCDetectionTarget {
  /** float32 K×4, [xmin, ymin, xmax, ymax] as in the file. */
  boxes: Tensor;
  /** int64 K: indices into the class list (VOC_CLASSES: 0 is background, so objects are 1..20). */
  labels: Tensor;
  /** bool K: VOC's "difficult" flag. */
  difficult: Tensor;
  /** The image id (file stem). */
  imageId: string;
}

export interface VOCDetectionOptions<U = VOCDetectionTarget> {
  /** The VOC2012 folder (holding JPEGImages, Annotations, ImageSets), or a folder holding VOCdevkit/VOC2012. */
  root: string;
  /** The split list ImageSets/Main/<imageSet>.txt (default "train"). */
  imageSet?: "train" | "val" | "trainval" | string;
  /** Class names; a label is a position in this list (default VOC_CLASSES, background first). */
  classes?: readonly string[];
  /** Keep objects marked difficult (default true, flagged in target.difficult). */
  keepDifficult?: boolean;
  /** (image uint8 3×H×W, target) → [image, target]. */
  transform?: DatasetTransform<VOCDetectionTarget, U>;
  /** A listed image or annotation file that is missing: "raise" (default) or "skip" (recorded in `skipped`). */
  onError?: OnError;
}

/** VOC detection: get(i) gives [image uint8 3×H×W, {boxes, labels, difficult, imageId}]. */
export class VOCDetection<U = VOCDetectionTarget> {
  readonly root: string;
  readonly imageSet: string;
  readonly classes: readonly string[];
  readonly ids: string[];
  readonly skipped: Skipped[];
  private readonly keepDifficult: boolean;
  private readonly transform?: DatasetTransform<VOCDetectionTarget, U>;

  constructor(options: VOCDetectionOptions<U>) {
    const what = "VOCDetection()";
    if (options === null || typeof options !== "object") throw new FlareError(`${what}: expected options {root, imageSet}`, "E_ARGUMENT");
    checkOptions(options, optionNames<VOCDetectionOptions<U>>({ root: 1, imageSet: 1, classes: 1, keepDifficult: 1, transform: 1, onError: 1 }), what);
    this.root = vocDir(checkRoot(options.root, what), "Annotations");
    this.imageSet = checkImageSet(options.imageSet, what);
    this.classes = options.classes ?? VOC_CLASSES;
    if (!Array.isArray(this.classes) || this.classes.length === 0 || !this.classes.every((c) => typeof c === "string"))
      throw new FlareError(`${what}: classes must be a non-empty array of names`, "E_ARGUMENT");
    this.keepDifficult = options.keepDifficult ?? true;
    checkTransform(options.transform, what);
    this.transform = options.transform;
    const problems = new Problems(checkOnError(options.onError, what), what);
    this.skipped = problems.skipped;
    this.ids = [];
    for (const id of readSplit(path.join(this.root, "ImageSets", "Main", `${this.imageSet}.txt`), what)) {
      const image = this.imagePath(id), annotation = this.annotationPath(id);
      if (!isFile(image)) { problems.report(image, "no such image (listed in the split)", "E_IO"); continue; }
      if (!isFile(annotation)) { problems.report(annotation, "no such annotation file (listed in the split)", "E_IO"); continue; }
      this.ids.push(id);
    }
  }

  get length(): number { return this.ids.length; }

  imagePath(id: string): string { return path.join(this.root, "JPEGImages", `${id}.jpg`); }
  annotationPath(id: string): string { return path.join(this.root, "Annotations", `${id}.xml`); }

  /** The parsed, checked annotation of sample i (no image read). */
  annotation(index: number): VocAnnotation {
    const file = this.annotationPath(this.ids[checkIndex(index, this.length, "VOCDetection.annotation()")]);
    const text = readTextFile(file, { maxBytes: FILE_LIMITS.xml, what: "VOCDetection" });
    return parseVocAnnotation(text, `VOCDetection: ${file}`, this.classes);
  }

  async get(index: number): Promise<[Tensor, U]> {
    const i = checkIndex(index, this.length, "VOCDetection.get()");
    const id = this.ids[i];
    const annotation = this.annotation(i);
    const imageFile = this.imagePath(id);
    const image = await loadImage(imageFile, "VOCDetection");
    const [, h, w] = image.shape;
    if ((annotation.width !== undefined && annotation.width !== w) || (annotation.height !== undefined && annotation.height !== h)) {
      image.dispose();
      throw new FlareError(`VOCDetection: ${this.annotationPath(id)} gives the image size ${annotation.width}×${annotation.height}, but ${imageFile} is ${w}×${h}`, "E_FORMAT");
    }
    const objects = annotation.objects.filter((o) => this.keepDifficult || !o.difficult);
    for (const [k, o] of objects.entries()) {
      if (o.box[2] > w || o.box[3] > h) {
        image.dispose();
        throw new FlareError(`VOCDetection: ${this.annotationPath(id)}: object ${k} ("${o.name}") has box [${o.box.join(", ")}] outside its ${w}×${h} image`, "E_FORMAT");
      }
    }
    const target: VOCDetectionTarget = {
      boxes: fromTypedArray(Float32Array.from(objects.flatMap((o) => o.box)), [objects.length, 4]),
      labels: longTensor(objects.map((o) => o.label)),
      difficult: fromTypedArray(Uint8Array.from(objects.map((o) => (o.difficult ? 1 : 0))), [objects.length], { dtype: "bool" }),
      imageId: id,
    };
    return applyTransform(this.transform, image, target, "VOCDetection");
  }
}
