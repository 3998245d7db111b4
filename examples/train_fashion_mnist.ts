// flare's main job until the demo lands: train a small CNN on Fashion-MNIST
// for a few hundred steps and watch the loss fall. `npm run demo`.
import * as torch from "../src/index.js";
import { nn, F, optim } from "../src/index.js";
import { datasets } from "../src/vision/index.js";

const steps = Number(process.env.STEPS ?? 400);
const batchSize = 64;
torch.manualSeed(0);

const train = datasets.loadFashionMnist({ train: true });
const test = datasets.loadFashionMnist({ train: false });
const toInput = (images: torch.Tensor) => images.float().div(255).sub(0.2860).div(0.3530); // dataset mean / std

const net = new nn.Sequential(
  new nn.Conv2d(1, 16, 3, { padding: 1 }), new nn.BatchNorm2d(16), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Conv2d(16, 32, 3, { padding: 1 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Flatten(), new nn.Linear(32 * 7 * 7, 10));
const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
const order = torch.keep(torch.randperm(train.labels.shape[0]));

console.log(`training a small CNN on Fashion-MNIST: ${steps} steps of ${batchSize} images`);
const started = Date.now();
let running = 0;
for (let step = 1; step <= steps; step++) {
  const loss = torch.tidy(() => {
    const index = order.index(`${(step - 1) * batchSize}:${step * batchSize}`);
    const x = toInput(train.images.indexSelect(0, index)), y = train.labels.indexSelect(0, index);
    const loss = F.crossEntropy(net.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return loss.item();
  });
  running += loss;
  if (step % 50 === 0) {
    console.log(`step ${String(step).padStart(4)}  loss ${(running / 50).toFixed(4)}  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    running = 0;
  }
}

net.eval();
const accuracy = torch.tidy(() => torch.noGrad(() => {
  const n = 2000;
  const logits = net.forward(toInput(test.images.index(`:${n}`)));
  return logits.argmax(1).eq(test.labels.index(`:${n}`)).float().mean().item();
}));
console.log(`test accuracy on 2000 images: ${(accuracy * 100).toFixed(1)}%`);
