// COCO evaluation on files: a COCO instances JSON (the ground truth) and a COCO
// results list ([{image_id, category_id, bbox: [x, y, w, h], score}]), read and
// checked, then evaluated as pycocotools' COCO.loadRes + COCOeval("bbox") do.
// What the CLI (`flare eval detect --gt --dt [--json]`) needs: the 12 stats and
// COCOeval's printed text.
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";
import { FILE_LIMITS, readTextFile } from "../../io/files.js";
import { evaluateCoco, type CocoEvalParams, type CocoEvalResult } from "./coco_eval.js";
import { summarizeCoco, type CocoSummary } from "./coco_summary.js";

export interface CocoFileEvaluation extends CocoSummary {
  /** The precision / recall arrays behind the stats. */
  eval: CocoEvalResult;
  /** Counts, for a report: images and categories evaluated, annotations and detections read. */
  numImages: number;
  numCategories: number;
  numAnnotations: number;
  numDetections: number;
}

function describe(value: unknown): string {
  if (value === undefined) return "missing";
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function readJson(file: unknown, what: string, role: string): unknown {
  if (typeof file !== "string" || file.length === 0) throw new FlareError(`${what}: ${role} must be a file path, got ${describe(file)}`, "E_ARGUMENT");
  const text = readTextFile(file, { maxBytes: FILE_LIMITS.json, what, role });
  try { return JSON.parse(text); } catch (error) {
    // Python's json.dump writes NaN / Infinity for non-finite floats; JSON has no such values.
    const hint = /\b(NaN|Infinity)\b/.test(text) ? " (it contains NaN or Infinity, which JSON does not allow: a box or score is not a finite number)" : "";
    throw new FlareError(`${what}: ${file} (${role}) is not valid JSON: ${(error as Error).message}${hint}`, "E_FORMAT");
  }
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Checks a [x, y, w, h] box: four finite numbers, w and h ≥ 0. Returns a problem or null. */
function boxProblem(bbox: unknown): string | null {
  if (!Array.isArray(bbox) || bbox.length !== 4) return `has bbox ${describe(bbox)}, expected [x, y, width, height]`;
  if (!bbox.every(isNumber)) return `has bbox ${describe(bbox)} with a value that is not a finite number (NaN, Infinity or not a number)`;
  if (bbox[2] < 0 || bbox[3] < 0) return `has bbox ${describe(bbox)} with a negative width or height`;
  return null;
}

interface ParsedGroundTruth {
  imgIds: number[];
  catIds: number[];
  gt: { ids: Float64Array; imageIds: Float64Array; categoryIds: Float64Array; boxes: Float64Array; areas: Float64Array; iscrowd: Uint8Array };
}

/**
 * Reads a COCO instances JSON for evaluation. Every image and category is
 * evaluated (as COCOeval's default params); an annotation's `area` is its
 * `area` field when present (COCO gives the segment's area there), else w·h.
 */
export function readCocoGroundTruth(file: string, what = "evaluateCocoFiles()"): ParsedGroundTruth {
  const json = readJson(file, what, "ground truth") as Record<string, unknown>;
  const bad = (problem: string): never => { throw new FlareError(`${what}: ${file} (ground truth): ${problem}`, "E_FORMAT"); };
  if (json === null || typeof json !== "object" || Array.isArray(json)) bad("expected a COCO instances object with images, annotations and categories");
  for (const key of ["images", "annotations", "categories"])
    if (!Array.isArray(json[key])) bad(`"${key}" is ${describe(json[key])}, expected an array`);
  const images = json.images as unknown[], annotations = json.annotations as unknown[], categories = json.categories as unknown[];
  const imgIds = new Set<number>(), catIds = new Set<number>();
  images.forEach((m, k) => {
    const id = (m as { id?: unknown } | null)?.id;
    if (typeof id !== "number" || !Number.isSafeInteger(id)) bad(`images[${k}] has id ${describe(id)}, expected an integer below 2^53`);
    if (imgIds.has(id as number)) bad(`image id ${id} appears twice in "images"`);
    imgIds.add(id as number);
  });
  categories.forEach((c, k) => {
    const id = (c as { id?: unknown } | null)?.id;
    if (typeof id !== "number" || !Number.isSafeInteger(id)) bad(`categories[${k}] has id ${describe(id)}, expected an integer below 2^53`);
    if (catIds.has(id as number)) bad(`category id ${id} appears twice in "categories"`);
    catIds.add(id as number);
  });
  const n = annotations.length;
  const gt = { ids: new Float64Array(n), imageIds: new Float64Array(n), categoryIds: new Float64Array(n), boxes: new Float64Array(4 * n), areas: new Float64Array(n), iscrowd: new Uint8Array(n) };
  const annIds = new Set<number>();
  annotations.forEach((x, k) => {
    const ann = x as Record<string, unknown>;
    if (ann === null || typeof ann !== "object" || Array.isArray(ann)) bad(`annotations[${k}] is ${describe(x)}, expected an object`);
    const name = `annotations[${k}]${ann.id !== undefined ? ` (id ${describe(ann.id)})` : ""}`;
    // pycocotools indexes annotations by id: a missing or repeated id loses annotations there.
    if (typeof ann.id !== "number" || !Number.isSafeInteger(ann.id)) bad(`${name} has no integer id`);
    if (annIds.has(ann.id as number)) bad(`annotation id ${ann.id} appears twice`);
    annIds.add(ann.id as number);
    if (!imgIds.has(ann.image_id as number)) bad(`${name} has image_id ${describe(ann.image_id)}, which is not in "images"`);
    if (!catIds.has(ann.category_id as number)) bad(`${name} has category_id ${describe(ann.category_id)}, which is not in "categories"`);
    const problem = boxProblem(ann.bbox);
    if (problem) bad(`${name} ${problem}`);
    const bbox = ann.bbox as number[];
    if (ann.area !== undefined && !(isNumber(ann.area) && ann.area >= 0)) bad(`${name} has area ${describe(ann.area)}, expected a number ≥ 0`);
    if (ann.iscrowd !== undefined && ann.iscrowd !== 0 && ann.iscrowd !== 1 && typeof ann.iscrowd !== "boolean") bad(`${name} has iscrowd ${describe(ann.iscrowd)}, expected 0 or 1`);
    gt.ids[k] = ann.id as number;
    gt.imageIds[k] = ann.image_id as number;
    gt.categoryIds[k] = ann.category_id as number;
    gt.boxes.set(bbox, 4 * k);
    gt.areas[k] = ann.area === undefined ? bbox[2] * bbox[3] : (ann.area as number);
    gt.iscrowd[k] = ann.iscrowd ? 1 : 0;
  });
  return { imgIds: [...imgIds], catIds: [...catIds], gt };
}

/**
 * Reads a COCO results list against its ground truth, as COCO.loadRes does:
 * each detection's area is w·h. A detection whose image or category is not in
 * the ground truth is an error (pycocotools asserts on the image and silently
 * drops the category; both are almost always a mismatched file).
 */
export function readCocoResults(file: string, imgIds: Set<number>, catIds: Set<number>, what = "evaluateCocoFiles()") {
  const json = readJson(file, what, "results");
  const bad = (problem: string): never => { throw new FlareError(`${what}: ${file} (results): ${problem}`, "E_FORMAT"); };
  if (!Array.isArray(json)) bad(`expected a JSON array of detections [{image_id, category_id, bbox, score}], got ${json === null ? "null" : typeof json}`);
  const list = json as unknown[];
  const n = list.length;
  const dt = { imageIds: new Float64Array(n), categoryIds: new Float64Array(n), boxes: new Float64Array(4 * n), scores: new Float64Array(n), areas: new Float64Array(n) };
  list.forEach((x, k) => {
    const det = x as Record<string, unknown>;
    if (det === null || typeof det !== "object" || Array.isArray(det)) bad(`detection [${k}] is ${describe(x)}, expected an object`);
    const name = `detection [${k}]`;
    if (!imgIds.has(det.image_id as number)) bad(`${name} names image_id ${describe(det.image_id)}, which is not an image of the ground truth`);
    if (!catIds.has(det.category_id as number)) bad(`${name} names category_id ${describe(det.category_id)}, which is not a category of the ground truth`);
    const problem = boxProblem(det.bbox);
    if (problem) bad(`${name} ${problem}`);
    if (!isNumber(det.score)) bad(`${name} has score ${describe(det.score)}, expected a finite number`);
    const bbox = det.bbox as number[];
    dt.imageIds[k] = det.image_id as number;
    dt.categoryIds[k] = det.category_id as number;
    dt.boxes.set(bbox, 4 * k);
    dt.scores[k] = det.score as number;
    dt.areas[k] = bbox[2] * bbox[3];
  });
  return dt;
}

/**
 * pycocotools' `COCOeval(coco, coco.loadRes(dtPath), "bbox")` then evaluate(),
 * accumulate(), summarize(): the 12 stats and the text COCOeval prints.
 * An empty results list gives 0 wherever there is ground truth (pycocotools
 * itself fails on an empty list).
 */
export function evaluateCocoFiles(gtPath: string, dtPath: string, options: { params?: CocoEvalParams } = {}): CocoFileEvaluation {
  const what = "evaluateCocoFiles()";
  options = checkOptions(options, ["params"], what);
  const { imgIds, catIds, gt } = readCocoGroundTruth(gtPath, what);
  const dt = readCocoResults(dtPath, new Set(imgIds), new Set(catIds), what);
  const result = evaluateCoco({ imgIds, catIds, gt, dt }, options.params);
  return {
    ...summarizeCoco(result),
    eval: result,
    numImages: result.imgIds.length,
    numCategories: result.catIds.length,
    numAnnotations: gt.ids.length,
    numDetections: dt.scores.length,
  };
}

/**
 * What `flare eval detect --json` prints: the 12 stats in COCOeval's order, the
 * same by name, and the counts (not the large precision array).
 */
export function cocoEvaluationJson(evaluation: CocoFileEvaluation): { stats: number[]; numImages: number; numCategories: number; numAnnotations: number; numDetections: number } & Record<string, number | number[]> {
  const { stats, named, numImages, numCategories, numAnnotations, numDetections } = evaluation;
  return { stats, ...named, numImages, numCategories, numAnnotations, numDetections };
}
