// `flare finetune`: d2l 14.2 on an image folder (DATA/train/<class>/..., DATA/test/<class>/...):
// pretrained weights, a new head for the folder's classes, the source's
// normalisation and augmentation, a frozen or slower body, fewer epochs.
import * as path from "node:path";
import * as torch from "../tensor/index.js";
import { checkOptions } from "../options.js";
import { SGD } from "../optim/index.js";
import { Trainer, type EpochMetrics } from "../engine/index.js";
import { classificationStep, classificationMetrics } from "./classify.js";
import type { SgdRunOptions } from "./run_options.js";
import { get as getModel } from "../vision/models/registry.js";
import { presetFor } from "./presets.js";
import { folderLoaders } from "./folder_data.js";
import { replaceHead, freeze, finetuneParamGroups } from "./finetune.js";

/** The shared SGD run options (less momentum: fine-tuning's SGD takes none), and what fine-tuning adds. */
export interface FinetuneOptions extends Omit<SgdRunOptions, "momentum"> {
  weights: string;
  arch: string;
  data: string;
  headLrMult?: number;
  freeze?: string[];
}

/** The options finetuneClassifier takes (anything else is an error). */
export const FINETUNE_OPTIONS = ["weights", "arch", "data", "headLrMult", "freeze", "lr", "epochs", "batchSize", "weightDecay", "seed", "runsDir", "name", "resume", "tensorboard", "output"];

export async function finetuneClassifier(options: FinetuneOptions): Promise<{ history: EpochMetrics[]; runDir: string; classes: string[] }> {
  checkOptions(options, FINETUNE_OPTIONS, "finetuneClassifier()");
  const seed = options.seed ?? 0;
  torch.manualSeed(seed);
  torch.defaultGenerator.manualSeed(seed);
  const preset = presetFor(options.arch);
  const data = folderLoaders(options.data, preset, preset.crop, options.batchSize ?? 32, seed);
  const classes = data.classes;

  const model = getModel(options.arch, { weights: options.weights });
  replaceHead(model, classes.length);
  if (options.freeze?.length) freeze(model, options.freeze);
  const lr = options.lr ?? 5e-4;
  const optimizer = new SGD(finetuneParamGroups(model, lr, options.headLrMult ?? 10) as never, { lr, weightDecay: options.weightDecay ?? 1e-3 });
  const runDir = path.join(options.runsDir ?? "runs", options.name ?? `finetune-${options.arch}`);
  const trainer = new Trainer({
    model, optimizer, epochs: options.epochs ?? 5, runDir, tensorboard: options.tensorboard !== false, output: options.output ?? "auto", monitor: "val_acc",
    step: classificationStep(), metrics: classificationMetrics([1]),
    config: { task: "finetune", ...options, classes },
  });
  try {
    const history = await trainer.fit(data.train, data.test, { resume: options.resume });
    return { history, runDir, classes };
  } finally {
    await data.close();
    model.dispose();
    optimizer.dispose();
  }
}
