// `flare finetune`: d2l 14.2 on an image folder (DATA/train/<class>/..., DATA/test/<class>/...):
// pretrained weights, a new head for the folder's classes, the source's
// normalisation and augmentation, a frozen or slower body, fewer epochs.
import * as path from "node:path";
import * as torch from "../tensor/index.js";
import type { Tensor } from "../tensor/index.js";
import { SGD } from "../optim/index.js";
import { Trainer, type EpochMetrics } from "../engine/index.js";
import type { OutputMode } from "../engine/progress.js";
import { DataLoader } from "../data/index.js";
import { ImageFolder } from "../vision/datasets/image_folder.js";
import { get as getModel } from "../vision/models/registry.js";
import { Compose, RandomResizedCrop, RandomHorizontalFlip, Resize, CenterCrop, ToDtype, Normalize } from "../vision/transforms/index.js";
import type { Transform } from "../vision/transforms/index.js";
import { presetFor } from "./predict.js";
import { replaceHead, freeze, finetuneParamGroups } from "./finetune.js";

export interface FinetuneOptions {
  weights: string;
  arch: string;
  data: string;
  headLrMult?: number;
  freeze?: string[];
  lr?: number;
  epochs?: number;
  batchSize?: number;
  weightDecay?: number;
  seed?: number;
  runsDir?: string;
  name?: string;
  resume?: boolean;
  output?: OutputMode;
}

/** The folder's images as [image, label] batches through a transform pipeline. */
function loader(root: string, mode: "rgb" | "gray", pipeline: Transform, batchSize: number, shuffle: boolean, seed: number) {
  const dataset = new ImageFolder<number>({
    root, mode,
    transform: (image: Tensor, label: number) => { const out = torch.tidy(() => pipeline.forward(image)); image.dispose(); return [out, label]; },
  });
  return { dataset, loader: new DataLoader(dataset, { batchSize, shuffle, generator: new torch.Generator(seed) }) };
}

export async function finetuneClassifier(options: FinetuneOptions): Promise<{ history: EpochMetrics[]; runDir: string; classes: string[] }> {
  const seed = options.seed ?? 0;
  torch.manualSeed(seed);
  torch.defaultGenerator.manualSeed(seed);
  const preset = presetFor(options.arch);
  const mode = preset.gray ? "gray" : "rgb";
  // The source model's normalisation and augmentation (d2l: RandomResizedCrop + flip for training; resize + centre crop for testing).
  const train = loader(path.join(options.data, "train"), mode, new Compose([
    new ToDtype("float32", { scale: true }), new RandomResizedCrop(preset.crop), new RandomHorizontalFlip(),
    new Normalize(preset.mean, preset.std)]), options.batchSize ?? 32, true, seed);
  const test = loader(path.join(options.data, "test"), mode, new Compose([
    new ToDtype("float32", { scale: true }), new Resize(preset.resize), new CenterCrop(preset.crop),
    new Normalize(preset.mean, preset.std)]), options.batchSize ?? 32, false, seed);
  const classes = train.dataset.classes;

  const model = getModel(options.arch, { weights: options.weights });
  replaceHead(model, classes.length);
  if (options.freeze?.length) freeze(model, options.freeze);
  const lr = options.lr ?? 5e-4;
  const optimizer = new SGD(finetuneParamGroups(model, lr, options.headLrMult ?? 10) as never, { lr, weightDecay: options.weightDecay ?? 1e-3 });
  const runDir = path.join(options.runsDir ?? "runs", options.name ?? `finetune-${options.arch}`);
  const trainer = new Trainer({
    model, optimizer, epochs: options.epochs ?? 5, runDir, output: options.output ?? "auto", monitor: "val_acc", topK: [1],
    config: { task: "finetune", ...options, classes },
  });
  try {
    const history = await trainer.fit(train.loader as never, test.loader as never, { resume: options.resume });
    return { history, runDir, classes };
  } finally {
    await Promise.all([train.loader.close?.(), test.loader.close?.()]);
    model.dispose();
    optimizer.dispose();
  }
}
