// A short real training for the viewer's tests (tests/serve_browser.test.ts):
// a small CNN on the first LIMIT Fashion-MNIST images with the engine's Trainer
// writing RUN_DIR (config.json, steps.jsonl, metrics.jsonl), plus the pictures a
// task writes: samples.png at the start and predictions.png (green: right,
// red: wrong) after each epoch. STEP_MS paces each step (a sleep) so the run
// lasts long enough to watch on any machine; 0 trains at full speed.
//   node dist/tests/workers/serve_train.js RUN_DIR [EPOCHS] [LIMIT] [STEP_MS]
import * as path from "node:path";
import * as torch from "../../src/index.js";
import { nn, optim, F } from "../../src/index.js";
import { Trainer } from "../../src/engine/index.js";
import { classificationStep, classificationMetrics } from "../../src/tasks/classify.js";
import { loadFashionMnist } from "../../src/vision/datasets/fashion_mnist.js";
import { makeGrid } from "../../src/vision/utils/grid.js";
import { drawBoundingBoxes } from "../../src/vision/utils/draw.js";
import { writeImage } from "../../src/vision/io.js";

const [runDir, epochsArg = "6", limitArg = "1024", stepMsArg = "40"] = process.argv.slice(2);
if (!runDir) throw new Error("usage: serve_train.js RUN_DIR [EPOCHS] [LIMIT] [STEP_MS]");
const epochs = Number(epochsArg), limit = Number(limitArg), stepMs = Number(stepMsArg), batchSize = 32;

torch.manualSeed(0);
const all = loadFashionMnist({ train: true });
const images = all.images.narrow(0, 0, limit), labels = all.labels.narrow(0, 0, limit);
const testImages = all.images.narrow(0, limit, 256), testLabels = all.labels.narrow(0, limit, 256);
const toInput = (x: torch.Tensor) => x.float().div(255).sub(0.286).div(0.353);
const batches = (x: torch.Tensor, y: torch.Tensor, shuffle: boolean) => (epoch: number) => ({
  length: Math.ceil(y.shape[0] / batchSize),
  *[Symbol.iterator]() {
    const n = y.shape[0];
    const order = shuffle ? new torch.Generator(epoch).permutation(n) : Array.from({ length: n }, (_, i) => i);
    for (let s = 0; s < n; s += batchSize) {
      yield torch.tidy(() => {
        const index = torch.tensor(order.slice(s, s + batchSize), { dtype: "int64" });
        return [toInput(x.indexSelect(0, index)), y.indexSelect(0, index)] as [torch.Tensor, torch.Tensor];
      });
    }
  },
});

const model = new nn.Sequential(
  new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Conv2d(8, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(16, 10));
const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });

/** 16 test images, 3× larger, each framed green when predicted right and red when wrong. */
function predictionGrid(): torch.Tensor {
  return torch.tidy(() => torch.noGrad(() => {
    const x = testImages.narrow(0, 0, 16), y = testLabels.narrow(0, 0, 16).tolist() as number[];
    const predicted = model.forward(toInput(x)).argmax(1).tolist() as number[];
    const big = F.interpolate(x.float(), { scaleFactor: 3, mode: "nearest" }).to("uint8");
    const framed = predicted.map((p, i) => drawBoundingBoxes(big.select(0, i), [[0, 0, 83, 83]], { colors: p === y[i] ? "#2ca02c" : "#d62728", width: 3 }));
    return torch.keep(makeGrid(framed, { nrow: 8, padValue: 255 }));
  }));
}

const writes: Promise<void>[] = [];
const save = (image: torch.Tensor, name: string) => {
  writes.push(writeImage(image, path.join(runDir, name)).finally(() => image.dispose()));
};
const pause = new Int32Array(new SharedArrayBuffer(4));
const trainer = new Trainer({
  model, optimizer, epochs, runDir, output: "silent", monitor: "val_acc",
  step: classificationStep(), metrics: classificationMetrics([1]),
  config: { task: "classify", data: "fashion-mnist", limit, epochs, batchSize, lr: 0.1, momentum: 0.9, model: "small-cnn" },
  callbacks: {
    onStepEnd: () => { if (stepMs > 0) Atomics.wait(pause, 0, 0, stepMs); },
    onEpochEnd: () => { save(predictionGrid(), "predictions.png"); },
  },
});
save(torch.tidy(() => makeGrid(F.interpolate(images.narrow(0, 0, 32).float(), { scaleFactor: 2, mode: "nearest" }).to("uint8"), { nrow: 8, padValue: 255 })), "samples.png");
// Written before the first step: the paced steps keep the event loop busy until an epoch ends.
await Promise.all(writes);
await trainer.fit(batches(images, labels, true), batches(testImages, testLabels, false));
await Promise.all(writes);
torch.dispose([all.images, all.labels]);
model.dispose();
