// COCO detection (torchvision.datasets.CocoDetection): an images folder and an
// instances JSON ({images: [{id, file_name, width, height}], annotations:
// [{id, image_id, category_id, bbox: [x, y, w, h], area, iscrowd}],
// categories: [{id, name}]}). Samples are the images sorted by id, as
// torchvision; boxes come out as xyxy.
import * as path from "node:path";
import { FlareError } from "../../errors.js";
import { FILE_LIMITS, readTextFile } from "../../io/files.js";
import { fromTypedArray, type Tensor } from "../../tensor/index.js";
import { applyTransform, boxTensor, checkIndex, checkRoot, checkTransform, loadImage, longTensor, type DatasetTransform } from "./_common.js";
import { checkOptions, optionNames } from "../../options.js";

export interface CocoImage { id: number; file_name: string; width: number; height: number; [key: string]: unknown }
export interface CocoAnnotation { id?: number; image_id: number; category_id: number; bbox: [number, number, number, number]; area?: number; iscrowd?: number; [key: string]: unknown }
export interface CocoCategory { id: number; name: string; supercategory?: string }

/** The target of a CocoDetection sample. */
export interface CocoTarget {
  /** float32 K×4 xyxy (COCO's [x, y, w, h] converted). */
  boxes: Tensor;
  /** int64 K: COCO category ids. */
  labels: Tensor;
  /** int64 K: 1 for crowd regions. */
  iscrowd: Tensor;
  /** float32 K: the annotation's area (its segmentation's, as COCO gives it; w·h when absent). */
  area: Tensor;
  imageId: number;
}

export interface CocoDetectionOptions<U = CocoTarget> {
  /** The folder the images' file_name is relative to. */
  root: string;
  /** The instances JSON file. */
  annFile: string;
  /** (image uint8 3×H×W, target) → [image, target]. */
  transform?: DatasetTransform<CocoTarget, U>;
  /**
   * How far (pixels) a box may reach past the image edge before it is an error;
   * boxes within it are clipped to the image (default 1: COCO's float boxes
   * sometimes overshoot by a fraction of a pixel).
   */
  boxTolerance?: number;
}

function describe(value: unknown): string {
  return value === undefined ? "missing" : JSON.stringify(value)?.slice(0, 60) ?? String(value);
}

/** COCO detection: get(i) gives [image uint8 3×H×W, {boxes xyxy, labels, iscrowd, area, imageId}]. */
export class CocoDetection<U = CocoTarget> {
  readonly root: string;
  readonly annFile: string;
  /** Image ids, sorted: sample i is image ids[i]. */
  readonly ids: number[];
  readonly images: Map<number, CocoImage>;
  readonly categories: CocoCategory[];
  /** Category id → name. */
  readonly catIdToName: Map<number, string>;
  private readonly annotationsOf: Map<number, CocoAnnotation[]>;
  private readonly transform?: DatasetTransform<CocoTarget, U>;
  private readonly tolerance: number;

  constructor(options: CocoDetectionOptions<U>) {
    const what = "CocoDetection()";
    if (options === null || typeof options !== "object") throw new FlareError(`${what}: expected options {root, annFile}`, "E_ARGUMENT");
    checkOptions(options, optionNames<CocoDetectionOptions<U>>({ root: 1, annFile: 1, transform: 1, boxTolerance: 1 }), what);
    this.root = checkRoot(options.root, what);
    checkTransform(options.transform, what);
    this.transform = options.transform;
    this.tolerance = options.boxTolerance ?? 1;
    if (!(this.tolerance >= 0)) throw new FlareError(`${what}: boxTolerance must be ≥ 0, got ${options.boxTolerance}`, "E_ARGUMENT");
    if (typeof options.annFile !== "string") throw new FlareError(`${what}: annFile must be the path of an instances JSON file`, "E_ARGUMENT");
    const file = (this.annFile = options.annFile);
    const text = readTextFile(file, { maxBytes: FILE_LIMITS.json, what, role: "annotation" });
    let json: { images?: unknown; annotations?: unknown; categories?: unknown };
    try { json = JSON.parse(text); } catch (error) {
      throw new FlareError(`${what}: ${file} is not valid JSON: ${(error as Error).message}`, "E_FORMAT");
    }
    const bad = (problem: string): never => { throw new FlareError(`${what}: ${file}: ${problem}`, "E_FORMAT"); };
    if (json === null || typeof json !== "object" || Array.isArray(json)) bad("expected a JSON object with images, annotations and categories");
    if (!Array.isArray(json.images)) bad(`"images" is ${describe(json.images)}, expected an array`);
    if (json.annotations !== undefined && !Array.isArray(json.annotations)) bad(`"annotations" is ${describe(json.annotations)}, expected an array`);
    if (json.categories !== undefined && !Array.isArray(json.categories)) bad(`"categories" is ${describe(json.categories)}, expected an array`);

    this.categories = [];
    this.catIdToName = new Map();
    ((json.categories ?? []) as unknown[]).forEach((c, k) => {
      const cat = c as CocoCategory;
      if (cat === null || typeof cat !== "object" || !Number.isSafeInteger(cat.id) || typeof cat.name !== "string") bad(`categories[${k}] must have an integer id (|id| < 2^53: larger ones lose precision) and a name, got ${describe(c)}`);
      this.categories.push(cat);
      this.catIdToName.set(cat.id, cat.name);
    });
    this.images = new Map();
    (json.images as unknown[]).forEach((m, k) => {
      const image = m as CocoImage;
      if (image === null || typeof image !== "object" || !Number.isSafeInteger(image.id)) bad(`images[${k}] has id ${describe((m as CocoImage)?.id)}, expected an integer below 2^53`);
      if (typeof image.file_name !== "string" || image.file_name.length === 0) bad(`images[${k}] (id ${image.id}) has file_name ${describe(image.file_name)}`);
      if (path.isAbsolute(image.file_name) || image.file_name.split(/[\\/]/).includes("..")) bad(`images[${k}] (id ${image.id}): file_name ${JSON.stringify(image.file_name)} leaves the images folder`);
      for (const f of ["width", "height"] as const)
        if (image[f] !== undefined && !(Number.isInteger(image[f]) && image[f] > 0)) bad(`images[${k}] (id ${image.id}) has ${f} ${describe(image[f])}`);
      if (this.images.has(image.id)) bad(`image id ${image.id} appears twice in "images"`);
      this.images.set(image.id, image);
    });
    this.annotationsOf = new Map([...this.images.keys()].map((id) => [id, []]));
    ((json.annotations ?? []) as unknown[]).forEach((a, k) => {
      const ann = a as CocoAnnotation;
      const name = `annotations[${k}]${ann && typeof ann === "object" && ann.id !== undefined ? ` (id ${ann.id})` : ""}`;
      if (ann === null || typeof ann !== "object") bad(`${name} is ${describe(a)}`);
      const list = this.annotationsOf.get(ann.image_id);
      if (!list) bad(`${name} refers to image_id ${describe(ann.image_id)}, which is not in "images"`);
      if (!Number.isSafeInteger(ann.category_id)) bad(`${name} has category_id ${describe(ann.category_id)}`);
      if (this.catIdToName.size > 0 && !this.catIdToName.has(ann.category_id)) bad(`${name} has category_id ${ann.category_id}, which is not in "categories"`);
      if (!Array.isArray(ann.bbox) || ann.bbox.length !== 4 || !ann.bbox.every((v) => typeof v === "number" && Number.isFinite(v)))
        bad(`${name} has bbox ${describe(ann.bbox)}, expected [x, y, width, height]`);
      list!.push(ann);
    });
    if (this.images.size === 0) bad(`"images" is empty: no samples`);
    this.ids = [...this.images.keys()].sort((a, b) => a - b);
  }

  get length(): number { return this.ids.length; }

  /** The annotations of sample i, as in the file. */
  annotations(index: number): CocoAnnotation[] {
    return this.annotationsOf.get(this.ids[checkIndex(index, this.length, "CocoDetection.annotations()")])!;
  }

  async get(index: number): Promise<[Tensor, U]> {
    const id = this.ids[checkIndex(index, this.length, "CocoDetection.get()")];
    const info = this.images.get(id)!;
    const file = path.join(this.root, info.file_name);
    const image = await loadImage(file, `CocoDetection: image id ${id}`);
    const [, h, w] = image.shape;
    const fail = (problem: string): never => {
      image.dispose();
      throw new FlareError(`CocoDetection: ${this.annFile}: ${problem}`, "E_FORMAT");
    };
    if ((info.width !== undefined && info.width !== w) || (info.height !== undefined && info.height !== h))
      fail(`image id ${id} is ${info.width}×${info.height} in the annotations, but ${file} is ${w}×${h}`);
    const boxes: number[][] = [];
    const anns = this.annotationsOf.get(id)!;
    for (const [k, ann] of anns.entries()) {
      const [x, y, bw, bh] = ann.bbox;
      const name = `annotation ${ann.id ?? k} of image id ${id}`;
      if (bw < 0 || bh < 0) fail(`${name} has bbox [${ann.bbox.join(", ")}] with a negative width or height (x2 < x1)`);
      const t = this.tolerance;
      if (x < -t || y < -t || x + bw > w + t || y + bh > h + t) fail(`${name} has bbox [${ann.bbox.join(", ")}] outside its ${w}×${h} image`);
      boxes.push([Math.max(0, x), Math.max(0, y), Math.min(w, x + bw), Math.min(h, y + bh)]);
    }
    const target: CocoTarget = {
      boxes: boxTensor(boxes),
      labels: longTensor(anns.map((a) => a.category_id)),
      iscrowd: longTensor(anns.map((a) => (a.iscrowd ? 1 : 0))),
      area: fromTypedArray(Float32Array.from(anns.map((a) => (typeof a.area === "number" ? a.area : a.bbox[2] * a.bbox[3]))), [anns.length]),
      imageId: id,
    };
    return applyTransform(this.transform, image, target, "CocoDetection");
  }
}
