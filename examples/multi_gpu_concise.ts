// d2l 13.6, "Concise Implementation for Multiple GPUs": d2l's ResNet-18 (a
// narrower copy: `width` channels in the stem instead of 64, so that it trains
// on CPUs) on Fashion-MNIST, first on one device, then wrapped in DataParallel
// over two. Without GPUs the devices are CPU worker threads.
//
// DataParallel builds each replica in its own thread from a module that exports
// createModel(): this file is that module too (its training code runs only on
// the main thread).
//
//   node dist/examples/multi_gpu_concise.js                       # 10 epochs as the book, WIDTH=16
//   FLARE_EXAMPLE_TINY=1 node dist/examples/multi_gpu_concise.js  # a few batches, for CI
import { isMainThread } from "node:worker_threads";
import * as torch from "../src/index.js";
import { nn, optim } from "../src/index.js";
import { models, datasets } from "../src/vision/index.js";
import { DataParallel } from "../src/nn/parallel/data_parallel.js";

const tiny = process.env.FLARE_EXAMPLE_TINY === "1";
const width = Number(process.env.WIDTH ?? (tiny ? 4 : 16));

/** d2l.resnet18(10, in_channels=1), narrower. Also the replica factory DataParallel calls in each thread. */
export function createModel(): nn.Module {
  return models.resnet18Small(10, { inChannels: 1, width });
}

type Tensor = torch.Tensor;

function evaluateAccuracy(net: nn.Module, images: Tensor, labels: Tensor, batchSize: number): number {
  net.eval();
  let correct = 0;
  for (let first = 0; first < labels.shape[0]; first += batchSize) {
    correct += torch.tidy(() => torch.noGrad(() => {
      const n = Math.min(batchSize, labels.shape[0] - first);
      const X = images.narrow(0, first, n).float().div(255);
      return net.forward(X).argmax(1).eq(labels.narrow(0, first, n)).sum().item() as number;
    }));
  }
  return correct / labels.shape[0];
}

function train(numGpus: number, batchSize: number, lr: number, epochs: number, limit: number, testLimit: number): void {
  torch.manualSeed(0);
  const net = createModel();
  net.apply((module) => {
    if (module instanceof nn.Linear || module instanceof nn.Conv2d) nn.init.normal_(module.weight, { std: 0.01 });
  });
  const devices = torch.cuda.deviceCount() >= numGpus
    ? Array.from({ length: numGpus }, (_, i) => `cuda:${i}`)
    : Array.from({ length: numGpus }, (_, i) => `cpu:${i}`);
  if (devices[0].startsWith("cuda")) net.to(devices[0]);
  // Set the model on multiple devices.
  const model = new DataParallel(net, { devices, replicaModule: new URL(import.meta.url) });
  const trainer = new optim.SGD(model.parameters(), { lr });
  const loss = new nn.CrossEntropyLoss();
  const trainSet = datasets.loadFashionMnist({ train: true }), testSet = datasets.loadFashionMnist({ train: false });
  const n = Math.min(limit, trainSet.labels.shape[0]);
  let seconds = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    model.train();
    const start = Date.now();
    const order = torch.randperm(trainSet.labels.shape[0]);
    for (let first = 0; first + batchSize <= n; first += batchSize) {
      torch.tidy(() => {
        const index = order.index(`${first}:${first + batchSize}`);
        const X = trainSet.images.indexSelect(0, index).float().div(255).to(devices[0]);
        const y = trainSet.labels.indexSelect(0, index).to(devices[0]);
        trainer.zeroGrad();
        const l = loss.forward(model.forward(X), y);
        l.backward();
        trainer.step();
      });
    }
    order.dispose();
    seconds += (Date.now() - start) / 1000;
  }
  const acc = evaluateAccuracy(model, testSet.images.narrow(0, 0, testLimit), testSet.labels.narrow(0, 0, testLimit), batchSize);
  console.log(`test acc: ${acc.toFixed(2)}, ${(seconds / epochs).toFixed(1)} sec/epoch on ${devices.join(", ")}`);
  model.dispose();
  torch.dispose([trainSet.images, trainSet.labels, testSet.images, testSet.labels]);
}

if (isMainThread) {
  if (tiny) {
    train(1, 32, 0.1, 1, 64, 64);
    train(2, 64, 0.2, 1, 128, 64);
  } else {
    const epochs = Number(process.env.EPOCHS ?? 10);
    train(1, 256, 0.1, epochs, Infinity, 10_000);
    train(2, 512, 0.2, epochs, Infinity, 10_000);
  }
}
