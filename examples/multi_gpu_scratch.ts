// d2l 13.5, "Training on Multiple GPUs" from scratch, line by line in flare:
// LeNet written with F, a copy of the parameters per device, the minibatch
// split across the devices, a forward and backward pass per device, the
// gradients summed on the first device and copied back (allreduce), and the
// same SGD update on every copy, so the copies stay identical.
//
// Without GPUs the "devices" are two copies on the CPU, run one after another:
// the structure of the book's code, not its speed (DataParallel runs them on
// threads: examples/multi_gpu_concise.ts).
//
//   node dist/examples/multi_gpu_scratch.js                  # d2l's settings (10 epochs)
//   FLARE_EXAMPLE_TINY=1 node dist/examples/multi_gpu_scratch.js   # a few batches, for CI
import * as torch from "../src/index.js";
import { F } from "../src/index.js";
import { datasets } from "../src/vision/index.js";

type Tensor = torch.Tensor;
const tiny = process.env.FLARE_EXAMPLE_TINY === "1";

// Model parameters, initialised as in the book.
torch.manualSeed(0);
const scale = 0.01;
const params = [
  torch.randn([20, 1, 3, 3]).mul(scale), torch.zeros([20]),
  torch.randn([50, 20, 5, 5]).mul(scale), torch.zeros([50]),
  torch.randn([800, 128]).mul(scale), torch.zeros([128]),
  torch.randn([128, 10]).mul(scale), torch.zeros([10]),
].map(torch.keep);

function lenet(X: Tensor, p: Tensor[]): Tensor {
  const h1 = F.relu(F.conv2d(X, p[0], p[1]));
  const h1_2 = F.avgPool2d(h1, [2, 2], { stride: [2, 2] });
  const h2 = F.relu(F.conv2d(h1_2, p[2], p[3]));
  const h2_2 = F.avgPool2d(h2, [2, 2], { stride: [2, 2] }).reshape(h2.shape[0], -1);
  const h3 = F.relu(h2_2.matmul(p[4]).add(p[5]));
  return h3.matmul(p[6]).add(p[7]);
}

const loss = (yHat: Tensor, y: Tensor) => F.crossEntropy(yHat, y, { reduction: "none" });

/** A copy of the parameters on `device`, each a leaf that records its gradient. */
function getParams(ps: Tensor[], device: string): Tensor[] {
  return ps.map((p) => torch.keep(torch.noGrad(() => p.to(device).clone()).requiresGrad_()));
}

/** Sums the tensors into the first (on its device), then copies the sum back to the others. */
function allreduce(data: Tensor[]): void {
  for (let i = 1; i < data.length; i++) data[0].add_(data[i].to(data[0].device));
  for (let i = 1; i < data.length; i++) data[i].copy_(data[0].to(data[i].device));
}

/** Splits X and y along dim 0, one shard per device. */
function splitBatch(X: Tensor, y: Tensor, devices: string[]): [Tensor[], Tensor[]] {
  if (X.shape[0] !== y.shape[0]) throw new Error("X and y have different batch sizes");
  const xs = X.chunk(devices.length, 0), ys = y.chunk(devices.length, 0);
  return [xs.map((x, i) => x.to(devices[i])), ys.map((t, i) => t.to(devices[i]))];
}

/** Minibatch SGD on one device's parameters (d2l.sgd): p -= lr * grad / batchSize. */
function sgd(ps: Tensor[], lr: number, batchSize: number): void {
  torch.noGrad(() => {
    for (const p of ps) { p.sub_(p.grad!.mul(lr / batchSize)); p.grad!.zero_(); }
  });
}

function trainBatch(X: Tensor, y: Tensor, deviceParams: Tensor[][], devices: string[], lr: number): void {
  torch.tidy(() => {
    const [xShards, yShards] = splitBatch(X, y, devices);
    // Loss is calculated separately on each device.
    const ls = xShards.map((xs, i) => loss(lenet(xs, deviceParams[i]), yShards[i]).sum());
    for (const l of ls) l.backward();  // Backpropagation is performed separately on each device
    // Sum all gradients from each device and broadcast them to all devices.
    torch.noGrad(() => {
      for (let i = 0; i < deviceParams[0].length; i++) allreduce(deviceParams.map((ps) => ps[i].grad!));
    });
    // The model parameters are updated separately on each device.
    for (const ps of deviceParams) sgd(ps, lr, X.shape[0]);
  });
}

/** Up to n GPUs, else n copies on the CPU (d2l.try_all_gpus with a CPU stand-in). */
function tryAllGpus(n: number): string[] {
  const count = torch.cuda.deviceCount();
  return count > 0 ? Array.from({ length: Math.min(n, count) }, (_, i) => `cuda:${i}`) : Array.from({ length: n }, () => "cpu");
}

function accuracy(p: Tensor[], images: Tensor, labels: Tensor, device: string): number {
  return torch.tidy(() => torch.noGrad(() => {
    const yHat = lenet(images.float().div(255).to(device), p);
    return yHat.argmax(1).eq(labels.to(device)).float().mean().item() as number;
  }));
}

function train(numGpus: number, batchSize: number, lr: number, epochs: number, limit: number, testLimit: number): void {
  const devices = tryAllGpus(numGpus);
  // Copy the model parameters to each device.
  const deviceParams = devices.map((d) => getParams(params, d));
  const trainSet = datasets.loadFashionMnist({ train: true }), testSet = datasets.loadFashionMnist({ train: false });
  const n = Math.min(limit, trainSet.labels.shape[0]);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const start = Date.now();
    const order = torch.randperm(trainSet.labels.shape[0]);
    for (let first = 0; first + batchSize <= n; first += batchSize) {
      torch.tidy(() => {
        const index = order.index(`${first}:${first + batchSize}`);
        trainBatch(trainSet.images.indexSelect(0, index).float().div(255), trainSet.labels.indexSelect(0, index), deviceParams, devices, lr);
      });
    }
    order.dispose();
    const seconds = (Date.now() - start) / 1000;
    // Evaluate the model on the first device.
    const acc = accuracy(deviceParams[0], testSet.images.index(`:${testLimit}`), testSet.labels.index(`:${testLimit}`), devices[0]);
    console.log(`epoch ${epoch + 1}: test acc ${acc.toFixed(3)}, ${seconds.toFixed(1)} sec/epoch on ${devices.join(", ")}`);
  }
  // Every device made the same updates from the same summed gradients.
  const identical = deviceParams[0].every((p, i) => deviceParams.every((ps) => torch.tidy(() => Boolean(ps[i].to(p.device).eq(p).all().item()))));
  console.log(`replicas identical after training: ${identical}`);
  if (!identical) process.exitCode = 1;
  torch.dispose([deviceParams, trainSet.images, trainSet.labels, testSet.images, testSet.labels]);
}

if (tiny) train(2, 32, 0.2, 1, 96, 64);
else train(2, 256, 0.2, Number(process.env.EPOCHS ?? 10), Infinity, 10_000);
