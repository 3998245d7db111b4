// Detection on image files (what `flare detect` runs): each image resized to
// the model's side, the detections above a threshold scaled back to the
// image's pixels, drawn with their labels and scores, and listed in COCO's
// results format ([{ image_id, category_id, bbox: [x, y, w, h], score }]).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import * as torch from "../tensor/index.js";
import { readImage, writeImage } from "../vision/io.js";
import { resize } from "../vision/transforms/functional.js";
import { drawBoundingBoxes } from "../vision/utils/draw.js";
import type { Tensor } from "../tensor/index.js";
import { detectionsFromOutput, isBookDetector, loadTrainedDetector, runConfig, type Detections } from "./detect.js";

export interface DetectImagesOptions {
  weights: string;
  /** Where the drawn images and detections.json go. */
  out: string;
  /** The weights' architecture (default: the run's config.json next to the weights, else tiny-ssd). */
  model?: string;
  /** Draw and list detections at least this confident (default 0.5). */
  threshold?: number;
  nmsThreshold?: number;
  /** A JSON array of class names; default the run folder's config.json next to the weights, else indices. */
  classesFile?: string;
  /** The side images are resized to (default the run's, else 256). */
  size?: number;
}

export interface CocoResult { image_id: number; category_id: number; bbox: [number, number, number, number]; score: number; file_name: string; label: string }

export const DETECT_IMAGES_OPTIONS = ["weights", "out", "model", "threshold", "nmsThreshold", "classesFile", "size"];

function readJson(file: string, what: string): unknown {
  try { return JSON.parse(readFileSync(file, "utf8")); } catch (error) {
    throw new FlareError(`detect: cannot read ${what} from ${file}: ${(error as Error).message}`, "E_IO");
  }
}

/** Detects objects in image files; writes OUT/<name> (boxes drawn) and OUT/detections.json; returns the detections. */
export async function detectImages(files: string[], options: DetectImagesOptions): Promise<{ detections: CocoResult[]; written: string[]; json: string }> {
  checkOptions(options, DETECT_IMAGES_OPTIONS, "detectImages()");
  if (!Array.isArray(files) || files.length === 0) throw new FlareError("detect: give at least one image", "E_ARGUMENT");
  const threshold = options.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) throw new FlareError(`detect: threshold must be in [0, 1], got ${threshold}`, "E_ARGUMENT");
  if (!existsSync(options.weights)) throw new FlareError(`detect: the weights file ${options.weights} does not exist`, "E_IO");
  for (const file of files) if (!existsSync(file)) throw new FlareError(`detect: the image ${file} does not exist`, "E_IO");
  const config = runConfig(options.weights, "detect");
  let classes = Array.isArray(config.classes) ? config.classes as string[] : undefined;
  if (options.classesFile) {
    const names = readJson(options.classesFile, "class names");
    if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) throw new FlareError(`detect: ${options.classesFile} must hold a JSON array of class names`, "E_FORMAT");
    classes = names;
  }
  const { model, size: side } = loadTrainedDetector(options.weights, options, "detect", config);
  model.eval();
  const book = isBookDetector(model);
  mkdirSync(options.out, { recursive: true });
  const detections: CocoResult[] = [];
  const written: string[] = [];
  const used = new Set<string>();
  try {
    for (const [i, file] of files.entries()) {
      const image = await readImage(file, { mode: "rgb" });
      try {
        const [, h, w] = image.shape;
        const found = torch.tidy(() => torch.noGrad(() => {
          const x = resize(image, [side, side], { antialias: true }).float().unsqueeze(0);
          let boxes: Tensor, d: Detections;
          if (book) {
            const [anchors, cls, bbox] = model.forward(x) as [Tensor, Tensor, Tensor];
            [d] = detectionsFromOutput(anchors, cls, bbox, { scoreThreshold: threshold, ...(options.nmsThreshold !== undefined ? { nmsThreshold: options.nmsThreshold } : {}) });
            boxes = d.boxes.mul(torch.tensor([w, h, w, h]));
          } else {
            // torchvision's interface: 0..1 images in, boxes in the input's pixels and 1-based labels out (the model's own NMS).
            const [found] = model.forward([x.select(0, 0).div(255)]) as unknown as Detections[];
            const keep = found.scores.ge(threshold);
            d = { boxes: found.boxes.index(keep), scores: found.scores.index(keep), labels: found.labels.index(keep).to("int64").sub(1) };
            boxes = d.boxes.mul(torch.tensor([w / side, h / side, w / side, h / side]));
          }
          boxes = boxes.clamp(0).minimum(torch.tensor([w, h, w, h]));
          return { boxes: boxes.tolist() as number[][], scores: d.scores.tolist() as number[], labels: d.labels.tolist() as number[] };
        }));
        const names = found.labels.map((l) => classes?.[l] ?? String(l));
        found.boxes.forEach((b, k) => detections.push({
          image_id: i + 1, category_id: found.labels[k] + 1, bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]], score: found.scores[k],
          file_name: path.basename(file), label: names[k],
        }));
        const drawn = drawBoundingBoxes(image, found.boxes.length ? found.boxes : torch.zeros([0, 4]) as never, {
          labels: names.map((n, k) => `${n} ${found.scores[k].toFixed(2)}`), width: Math.max(1, Math.round(Math.min(h, w) / 128)),
          fontSize: Math.min(h, w) >= 256 ? 20 : 10,
        });
        // Same-named inputs from different folders get a numbered name instead of overwriting each other.
        const ext = [".png", ".jpg", ".jpeg", ".webp"].includes(path.extname(file).toLowerCase()) ? path.extname(file) : ".png";
        let name = path.basename(file, path.extname(file)) + ext;
        for (let n = 2; used.has(name); n++) name = `${path.basename(file, path.extname(file))}-${n}${ext}`;
        used.add(name);
        const target = path.join(options.out, name);
        try { await writeImage(drawn, target); } finally { drawn.dispose(); }
        written.push(target);
      } finally {
        image.dispose();
      }
    }
  } finally {
    model.dispose();
  }
  const json = path.join(options.out, "detections.json");
  writeFileSync(json, JSON.stringify(detections, null, 1) + "\n");
  return { detections, written, json };
}
