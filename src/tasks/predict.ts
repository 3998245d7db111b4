// Inference as a task: load a model by name with its weights, preprocess images
// the way it was trained, and report the top-k classes (what `flare predict` runs).
import { FlareError } from "../errors.js";
import { FILE_LIMITS, readTextFile } from "../io/files.js";
import * as torch from "../tensor/index.js";
import type { Tensor } from "../tensor/index.js";
import { readImage } from "../vision/io.js";
import { resize, centerCrop, normalize } from "../vision/transforms/functional.js";
import { get as getModel } from "../vision/models/registry.js";
import { presetFor, type Preset } from "./presets.js";

export interface PredictOptions {
  arch: string;
  weights: string;
  topk?: number;
  /** A JSON file with the class names (an array), else the preset's, else indices. */
  classesFile?: string;
}

export interface Prediction { file: string; top: { index: number; name: string; probability: number }[] }

/** Decodes and preprocesses one image into a 1×C×H×W float batch. */
export async function preprocess(file: string, preset: Preset): Promise<Tensor> {
  const image = await readImage(file, { mode: preset.gray ? "gray" : "rgb" });
  try {
    return torch.tidy(() => {
      const resized = resize(image.float().div(255), preset.resize, { antialias: true });
      return normalize(centerCrop(resized, preset.crop), preset.mean, preset.std).unsqueeze(0);
    });
  } finally {
    image.dispose();
  }
}

export async function predict(files: string[], options: PredictOptions): Promise<Prediction[]> {
  if (files.length === 0) throw new FlareError("predict: give at least one image", "E_ARGUMENT");
  const preset = presetFor(options.arch);
  let classes = preset.classes;
  if (options.classesFile) {
    const text = readTextFile(options.classesFile, { maxBytes: FILE_LIMITS.json, what: "predict", role: "class names" });
    try { classes = JSON.parse(text); } catch (error) {
      throw new FlareError(`predict: cannot read class names from ${options.classesFile}: ${(error as Error).message}`, "E_IO");
    }
  }
  const model = getModel(options.arch, { weights: options.weights });
  model.eval();
  try {
    const results: Prediction[] = [];
    for (const file of files) {
      const input = await preprocess(file, preset);
      const top = torch.tidy(() => torch.noGrad(() => {
        const probs = model.forward(input).softmax(1).index(0);
        const { values, indices } = probs.topk(Math.min(options.topk ?? 5, probs.shape[0]));
        const p = values.tolist() as number[], i = indices.tolist() as number[];
        return i.map((index, k) => ({ index, name: classes?.[index] ?? String(index), probability: p[k] }));
      }));
      input.dispose();
      results.push({ file, top });
    }
    return results;
  } finally {
    model.dispose();
  }
}
