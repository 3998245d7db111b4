// flare vs PyTorch on d2l's Fashion-MNIST recipe (batch 256, SGD lr 0.1), same
// batch order on both sides:
//   time  — seconds per training step of the full d2l ResNet-18 (width 64), interleaved;
//   train — test accuracy after 2 epochs of the narrower copy (width 16 = channels / 4),
//           and seconds per epoch.
// Usage: node dist/bench/classify.js [--width 16] [--epochs 2] [--time-steps 3] [--rounds 2]
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { F, optim } from "../src/index.js";
import { models, datasets } from "../src/vision/index.js";
import { numFlag } from "./flags.js";

const width = numFlag("width", 16), epochs = numFlag("epochs", 2), timeSteps = numFlag("time-steps", 3), rounds = numFlag("rounds", 2);
const batch = 256, lr = 0.1;
const python = process.env.FLARE_BENCH_PYTHON ?? "/usr/bin/python3";
const script = fileURLToPath(new URL("../../bench/classify_torch.py", import.meta.url));

function pytorch(...args: (string | number)[]): Record<string, unknown> {
  const out = spawnSync(python, [script, ...args.map(String)], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (out.status !== 0) throw new Error(`PyTorch side failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").pop()!);
}

const train = datasets.loadFashionMnist({ train: true });
const test = datasets.loadFashionMnist({ train: false });
const norm = (x: torch.Tensor) => x.float().div(255).sub(0.2860).div(0.3530);

function flareTimes(steps: number): number[] {
  torch.manualSeed(0);
  const net = models.resnet18Small(10, { width: 64 });
  const opt = new optim.SGD(net.parameters(), { lr });
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    torch.tidy(() => {
      const xb = norm(train.images.index(`${i * batch}:${(i + 1) * batch}`)), yb = train.labels.index(`${i * batch}:${(i + 1) * batch}`);
      const t0 = performance.now();
      opt.zeroGrad();
      F.crossEntropy(net.forward(xb), yb).backward();
      opt.step();
      times.push((performance.now() - t0) / 1000);
    });
  }
  net.dispose();
  return times;
}

function flareTrain(): { test_acc: number; epoch_seconds: number[] } {
  torch.manualSeed(0);
  const net = models.resnet18Small(10, { width });
  const opt = new optim.SGD(net.parameters(), { lr });
  const n = train.labels.shape[0];
  const epochSeconds: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = torch.keep(torch.tensor(new torch.Generator(epoch).permutation(n), { dtype: "int64" }));
    net.train();
    const t0 = performance.now();
    for (let start = 0; start < n; start += batch) {
      torch.tidy(() => {
        const index = order.index(`${start}:${start + batch}`);
        opt.zeroGrad();
        F.crossEntropy(net.forward(norm(train.images.indexSelect(0, index))), train.labels.indexSelect(0, index)).backward();
        opt.step();
      });
    }
    epochSeconds.push((performance.now() - t0) / 1000);
    order.dispose();
  }
  net.eval();
  let correct = 0;
  torch.noGrad(() => {
    for (let start = 0; start < 10000; start += 1000) {
      correct += torch.tidy(() => net.forward(norm(test.images.index(`${start}:${start + 1000}`))).argmax(1)
        .eq(test.labels.index(`${start}:${start + 1000}`)).sum().item());
    }
  });
  net.dispose();
  return { test_acc: correct / 10000, epoch_seconds: epochSeconds };
}

// The batch order of each epoch, shared with the PyTorch side as .npy files.
function writeOrders(): void {
  const n = train.labels.shape[0];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = new torch.Generator(epoch).permutation(n);
    const header = `{'descr': '<i8', 'fortran_order': False, 'shape': (${n},), }`;
    const padded = header + " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
    const head = Buffer.alloc(10);
    head.write("\x93NUMPY", 0, "latin1"); head[6] = 1; head[7] = 0; head.writeUInt16LE(padded.length, 8);
    writeFileSync(`/tmp/flare-bench-order-${epoch}.npy`, Buffer.concat([head, Buffer.from(padded, "latin1"), Buffer.from(BigInt64Array.from(order, BigInt).buffer)]));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const flareStep: number[] = [], torchStep: number[] = [];
for (let r = 0; r < rounds; r++) {
  flareStep.push(...flareTimes(timeSteps).slice(1));
  torchStep.push(...(pytorch("time", 64, 0, batch, lr, timeSteps).times as number[]).slice(1));
  process.stderr.write(`timing round ${r + 1}/${rounds}\n`);
}
writeOrders();
const f = flareTrain();
process.stderr.write("flare training done\n");
const p = pytorch("train", width, epochs, batch, lr, 0) as { test_acc: number; epoch_seconds: number[] };
console.log(JSON.stringify({
  fullResnetStep: { flare: median(flareStep), pytorch: median(torchStep), ratio: median(flareStep) / median(torchStep), batch },
  narrowTraining: { width, epochs, flareTestAcc: f.test_acc, pytorchTestAcc: p.test_acc,
    flareEpochSeconds: median(f.epoch_seconds), pytorchEpochSeconds: median(p.epoch_seconds),
    epochRatio: median(f.epoch_seconds) / median(p.epoch_seconds) },
}, null, 2));
