// Classification as a task: its step (cross-entropy on [images, labels]) and
// metrics (top-k accuracy) for the engine's Trainer, and the data, model and
// optimizer put together (what `flare train classify` runs).
import * as path from "node:path";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import * as torch from "../tensor/index.js";
import type { Tensor } from "../tensor/index.js";
import { SGD } from "../optim/index.js";
import { CosineAnnealingLR } from "../optim/lr_scheduler.js";
import { crossEntropy, type CrossEntropyOptions } from "../nn/functional.js";
import { Trainer, TopKAccuracy, supervisedStep, type Step, type EpochMetrics, type DataSource } from "../engine/index.js";
import { loadFashionMnist, FASHION_MNIST_ROOT, FASHION_MNIST_CLASSES } from "../vision/datasets/fashion_mnist.js";
import { CIFAR10 } from "../vision/datasets/cifar.js";
import { get as getModel } from "../vision/models/registry.js";
import { presetFor, DATASET_STATS } from "./presets.js";
import { normalize } from "../vision/transforms/functional.js";
import { folderLoaders } from "./folder_data.js";
import type { SgdRunOptions } from "./run_options.js";

export type ClassifyData = "fashion-mnist" | "cifar10" | "imagefolder";

export interface ClassifyOptions extends SgdRunOptions {
  data: ClassifyData;
  /** The dataset folder: Fashion-MNIST's IDX files, CIFAR-10's binary batches, or DIR/train|test/<class>/ images. */
  dataRoot?: string;
  /** A name models.get knows (resnet18-small by default). */
  model?: string;
  width?: number;
  /** Image side for imagefolder data (default 224; 28 for resnet18-small). */
  size?: number;
  /** Use only the first N training / test images (quick runs; tensor datasets). */
  limit?: number;
}


/** The classification step: cross-entropy of the model's logits against the labels, on [images, labels] batches. */
export function classificationStep(options: CrossEntropyOptions = {}): Step {
  return supervisedStep((logits, labels) => crossEntropy(logits, labels, options));
}

/** Classification's metrics: top-1 accuracy ("acc") and top-k ("acc_top5", ...). */
export function classificationMetrics(topK: number[] = [1, 5]): TopKAccuracy[] {
  return [new TopKAccuracy(topK)];
}

/** Batches of a tensor split (uint8 N×C×H×W), normalised, in an order fixed by (seed, epoch). */
function batches(images: Tensor, labels: Tensor, batchSize: number, shuffle: boolean, seed: number, stats = DATASET_STATS["fashion-mnist"]) {
  const n = labels.shape[0];
  // Each batch is made when the trainer asks for it (and freed after its step);
  // the length lets the progress bar draw.
  return (epoch: number): Iterable<[Tensor, Tensor]> & { length: number } => ({
    length: Math.ceil(n / batchSize),
    *[Symbol.iterator]() {
      const order = shuffle ? new torch.Generator(seed * 1000 + epoch).permutation(n) : Array.from({ length: n }, (_, i) => i);
      for (let start = 0; start < n; start += batchSize) {
        yield torch.tidy(() => {
          const index = torch.tensor(order.slice(start, start + batchSize), { dtype: "int64" });
          const x = normalize(images.indexSelect(0, index).float().div(255), stats.mean, stats.std);
          return [x, labels.indexSelect(0, index)] as [Tensor, Tensor];
        });
      }
    },
  });
}

/** The first `limit` rows of t (all of it without a limit), kept out of tidy scopes. */
function limited(t: Tensor, limit: number | undefined): Tensor {
  return torch.keep(limit ? t.index(`:${limit}`).clone() : t);
}

/** The train and test splits of a tensor dataset, limited to `limit` images. */
function tensorSplits(options: ClassifyOptions): { train: [Tensor, Tensor]; test: [Tensor, Tensor]; classes: string[]; channels: number } {
  const limit = (t: Tensor) => limited(t, options.limit);
  if (options.data === "fashion-mnist") {
    const root = options.dataRoot ?? FASHION_MNIST_ROOT;
    return torch.tidy(() => {
      const train = loadFashionMnist({ root, train: true }), test = loadFashionMnist({ root, train: false });
      return { train: [limit(train.images), limit(train.labels)], test: [limit(test.images), limit(test.labels)], classes: FASHION_MNIST_CLASSES, channels: 1 };
    }) as never;
  }
  if (!options.dataRoot) throw new FlareError("train classify: cifar10 needs its folder (--data cifar10 DIR)", "E_ARGUMENT");
  const train = new CIFAR10({ root: options.dataRoot, train: true }), test = new CIFAR10({ root: options.dataRoot, train: false });
  return torch.tidy(() => {
    const a = train.tensors(), b = test.tensors();
    return { train: [limit(a.images), limit(a.labels)], test: [limit(b.images), limit(b.labels)], classes: train.classes, channels: 3 };
  }) as never;
}

/** The options trainClassifier takes (anything else is an error). */
export const CLASSIFY_OPTIONS = ["data", "dataRoot", "model", "width", "size", "epochs", "batchSize", "lr", "momentum", "weightDecay", "limit", "seed", "runsDir", "name", "resume", "tensorboard", "output"];

export async function trainClassifier(options: ClassifyOptions): Promise<{ history: EpochMetrics[]; runDir: string; classes: string[] }> {
  checkOptions(options, CLASSIFY_OPTIONS, "trainClassifier()");
  if (!["fashion-mnist", "cifar10", "imagefolder"].includes(options.data))
    throw new FlareError(`train classify: unknown dataset '${options.data}' (fashion-mnist, cifar10 DIR or imagefolder DIR)`, "E_ARGUMENT");
  const seed = options.seed ?? 0;
  torch.manualSeed(seed);
  const batchSize = options.batchSize ?? 256;
  const arch = options.model ?? "resnet18-small";
  let train: DataSource, test: DataSource, classes: string[], channels: number, owned: Tensor[] = [];
  const closers: (() => Promise<void> | undefined)[] = [];
  if (options.data === "imagefolder") {
    if (!options.dataRoot) throw new FlareError("train classify: imagefolder needs its folder (--data imagefolder DIR)", "E_ARGUMENT");
    const preset = presetFor(arch);
    const size = options.size ?? preset.crop;
    const folders = folderLoaders(options.dataRoot, preset, size, batchSize, seed);
    [train, test, classes, channels] = [folders.train, folders.test, folders.classes, preset.gray ? 1 : 3];
    closers.push(folders.close);
  } else {
    const splits = tensorSplits(options);
    owned = [...splits.train, ...splits.test];
    const stats = DATASET_STATS[options.data];
    train = batches(splits.train[0], splits.train[1], batchSize, true, seed, stats);
    test = batches(splits.test[0], splits.test[1], batchSize, false, seed, stats);
    [classes, channels] = [splits.classes, splits.channels];
  }
  const model = getModel(arch, { numClasses: classes.length, inChannels: channels, ...(options.width !== undefined ? { width: options.width } : {}) });
  const epochs = options.epochs ?? 10;
  const optimizer = new SGD(model.parameters(), { lr: options.lr ?? 0.1, momentum: options.momentum ?? 0, weightDecay: options.weightDecay ?? 0 });
  const scheduler = new CosineAnnealingLR(optimizer, epochs);
  const runDir = path.join(options.runsDir ?? "runs", options.name ?? `classify-${options.data}`);
  const trainer = new Trainer({
    model, optimizer, scheduler, epochs, runDir, tensorboard: options.tensorboard !== false, output: options.output ?? "auto", monitor: "val_acc",
    step: classificationStep(), metrics: classificationMetrics(),
    config: { task: "classify", ...options, model: arch, classes },
  });
  try {
    const history = await trainer.fit(train, test, { resume: options.resume });
    return { history, runDir, classes };
  } finally {
    torch.dispose(owned);
    await Promise.all(closers.map((close) => close()));
    model.dispose();
    optimizer.dispose();
  }
}

export const EVALUATE_OPTIONS = ["arch", "weights", "dataRoot", "limit", "batchSize"];

/** Test accuracy and loss of saved weights on the Fashion-MNIST test split. */
export async function evaluateClassifier(options: { arch?: string; weights: string; dataRoot?: string; limit?: number; batchSize?: number }): Promise<Record<string, number>> {
  checkOptions(options, EVALUATE_OPTIONS, "evaluateClassifier()");
  const model = getModel(options.arch ?? "resnet18-small", { weights: options.weights });
  const [x, y] = torch.tidy(() => {
    const test = loadFashionMnist({ root: options.dataRoot ?? FASHION_MNIST_ROOT, train: false });
    return [limited(test.images, options.limit), limited(test.labels, options.limit)];
  });
  try {
    const trainer = new Trainer({ model, optimizer: new SGD(model.parameters(), { lr: 0 }), epochs: 1, output: "silent", step: classificationStep(), metrics: classificationMetrics() });
    return await trainer.evaluate(batches(x, y, options.batchSize ?? 500, false, 0, DATASET_STATS["fashion-mnist"]));
  } finally {
    torch.dispose([x, y]);
    model.dispose();
  }
}
