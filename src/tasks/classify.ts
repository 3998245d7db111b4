// Classification training as a task: data, model, optimizer and the engine's
// Trainer put together (what `flare train classify` runs).
import * as path from "node:path";
import { FlareError } from "../errors.js";
import * as torch from "../tensor/index.js";
import type { Tensor } from "../tensor/index.js";
import { SGD } from "../optim/index.js";
import { CosineAnnealingLR } from "../optim/lr_scheduler.js";
import { Trainer, type EpochMetrics } from "../engine/index.js";
import type { OutputMode } from "../engine/progress.js";
import { loadFashionMnist, FASHION_MNIST_ROOT } from "../vision/datasets/fashion_mnist.js";
import { resnet18Small } from "../vision/models/resnet_d2l.js";

export interface ClassifyOptions {
  data: "fashion-mnist";
  dataRoot?: string;
  model?: "resnet18-small";
  width?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  /** Use only the first N training / test images (quick runs). */
  limit?: number;
  seed?: number;
  runsDir?: string;
  name?: string;
  resume?: boolean;
  output?: OutputMode;
}

/** Batches of one split, normalised, in an order fixed by (seed, epoch). */
function batches(images: Tensor, labels: Tensor, batchSize: number, shuffle: boolean, seed: number) {
  const n = labels.shape[0];
  // A generator: each batch is made when the trainer asks for it (and freed after its step).
  return function* (epoch: number): Generator<[Tensor, Tensor]> {
    const order = shuffle ? new torch.Generator(seed * 1000 + epoch).permutation(n) : Array.from({ length: n }, (_, i) => i);
    for (let start = 0; start < n; start += batchSize) {
      yield torch.tidy(() => {
        const index = torch.tensor(order.slice(start, start + batchSize), { dtype: "int64" });
        const x = images.indexSelect(0, index).float().div(255).sub(0.2860).div(0.3530);
        return [x, labels.indexSelect(0, index)] as [Tensor, Tensor];
      });
    }
  };
}

export async function trainClassifier(options: ClassifyOptions): Promise<{ history: EpochMetrics[]; runDir: string }> {
  if (options.data !== "fashion-mnist") throw new FlareError(`train classify: unknown dataset '${options.data}' (available: fashion-mnist)`, "E_ARGUMENT");
  const seed = options.seed ?? 0;
  torch.manualSeed(seed);
  const train = loadFashionMnist({ root: options.dataRoot ?? FASHION_MNIST_ROOT, train: true });
  const test = loadFashionMnist({ root: options.dataRoot ?? FASHION_MNIST_ROOT, train: false });
  const limit = (t: Tensor) => (options.limit ? t.index(`:${options.limit}`) : t);
  const [trainX, trainY, testX, testY] = [limit(train.images), limit(train.labels), limit(test.images), limit(test.labels)].map(torch.keep);
  const model = resnet18Small(10, { width: options.width ?? 64 });
  const epochs = options.epochs ?? 10;
  const optimizer = new SGD(model.parameters(), { lr: options.lr ?? 0.1, momentum: options.momentum ?? 0, weightDecay: options.weightDecay ?? 0 });
  const scheduler = new CosineAnnealingLR(optimizer, epochs);
  const runDir = path.join(options.runsDir ?? "runs", options.name ?? `classify-${options.data}`);
  const batchSize = options.batchSize ?? 256;
  const trainer = new Trainer({
    model, optimizer, scheduler, epochs, runDir, output: options.output ?? "auto", monitor: "val_acc",
    config: { task: "classify", ...options },
  });
  try {
    const history = await trainer.fit(batches(trainX, trainY, batchSize, true, seed), batches(testX, testY, batchSize, false, seed), { resume: options.resume });
    return { history, runDir };
  } finally {
    torch.dispose([trainX, trainY, testX, testY, train, test]);
    model.dispose();
    optimizer.dispose();
  }
}

/** Test accuracy and loss of saved weights on the Fashion-MNIST test split. */
export async function evaluateClassifier(options: { arch?: string; weights: string; dataRoot?: string; limit?: number; batchSize?: number }): Promise<Record<string, number>> {
  const { get } = await import("../vision/models/registry.js");
  const model = get(options.arch ?? "resnet18-small", { weights: options.weights });
  const test = loadFashionMnist({ root: options.dataRoot ?? FASHION_MNIST_ROOT, train: false });
  const [x, y] = [test.images, test.labels].map((t) => torch.keep(options.limit ? t.index(`:${options.limit}`) : t));
  try {
    const trainer = new Trainer({ model, optimizer: new SGD(model.parameters(), { lr: 0 }), epochs: 1, output: "silent" });
    return await trainer.evaluate(batches(x, y, options.batchSize ?? 500, false, 0));
  } finally {
    torch.dispose([x, y, test]);
    model.dispose();
  }
}
