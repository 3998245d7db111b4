// The transfer experiment (d2l 14.2's hot-dog lesson without a download):
// pretrain d2l's ResNet-18 on Fashion-MNIST classes 0-4, then learn classes 5-9
// from 100 training images per class, three ways — fine-tuned (body lr 0.01,
// new head 10×), frozen body (head only), from scratch — and test on all test
// images of classes 5-9. PyTorch runs the same recipe (bench/transfer_torch.py).
// Usage: node dist/bench/transfer.js [--width 16] [--pre-epochs 2] [--ft-epochs 10] [--per-class 100]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { F, nn, optim } from "../src/index.js";
import { models, datasets } from "../src/vision/index.js";
import { replaceHead, freeze, finetuneParamGroups } from "../src/tasks/finetune.js";
import { numFlag } from "./flags.js";

const width = numFlag("width", 16), preEpochs = numFlag("pre-epochs", 2), ftEpochs = numFlag("ft-epochs", 10), perClass = numFlag("per-class", 100);
const norm = (x: torch.Tensor) => x.float().div(255).sub(0.2860).div(0.3530);

const trainSet = datasets.loadFashionMnist({ train: true }), testSet = datasets.loadFashionMnist({ train: false });
const select = (x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) => torch.tidy(() => {
  const index = mask.nonzero().flatten();
  return [x.indexSelect(0, index), y.indexSelect(0, index)] as [torch.Tensor, torch.Tensor];
});
const source = select(trainSet.images, trainSet.labels, trainSet.labels.lt(5));
const few = torch.tidy(() => {
  const index = torch.cat([5, 6, 7, 8, 9].map((c) => trainSet.labels.eq(c).nonzero().flatten().index(`:${perClass}`)));
  return [trainSet.images.indexSelect(0, index), trainSet.labels.indexSelect(0, index).sub(5)] as [torch.Tensor, torch.Tensor];
});
const test = torch.tidy(() => { const [x, y] = select(testSet.images, testSet.labels, testSet.labels.ge(5)); return [x, y.sub(5)] as [torch.Tensor, torch.Tensor]; });

function train(net: nn.Module, groups: optim.ParamGroupInput[], [x, y]: [torch.Tensor, torch.Tensor], epochs: number, batch: number, seed: number) {
  const opt = new optim.SGD(groups as never, { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 });
  const g = new torch.Generator(seed);
  const n = y.shape[0];
  for (let e = 0; e < epochs; e++) {
    net.train();
    const order = g.permutation(n);
    for (let s = 0; s < n; s += batch) {
      torch.tidy(() => {
        const i = torch.tensor(order.slice(s, s + batch), { dtype: "int64" });
        opt.zeroGrad();
        F.crossEntropy(net.forward(norm(x.indexSelect(0, i))), y.indexSelect(0, i)).backward();
        opt.step();
      });
    }
  }
  opt.dispose();
}

function accuracy(net: nn.Module, [x, y]: [torch.Tensor, torch.Tensor]): number {
  net.eval();
  let correct = 0;
  const n = y.shape[0];
  for (let s = 0; s < n; s += 1000) {
    correct += torch.tidy(() => torch.noGrad(() => net.forward(norm(x.index(`${s}:${s + 1000}`))).argmax(1).eq(y.index(`${s}:${s + 1000}`)).sum().item()));
  }
  return correct / n;
}

const t0 = performance.now();
torch.manualSeed(0);
const pre = models.resnet18Small(5, { width });
train(pre, [{ params: pre.parameters(), lr: 0.1 }], source, preEpochs, 256, 0);
const weights = new Map([...pre.stateDict()].map(([k, v]) => [k, torch.keep(v.clone())]));
process.stderr.write(`pretrained in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);

const flare: Record<string, number> = {};
for (const mode of ["finetune", "frozen", "scratch"] as const) {
  torch.manualSeed(1);
  const net = models.resnet18Small(5, { width });
  if (mode !== "scratch") { net.loadStateDict(weights); replaceHead(net, 5); }
  if (mode === "frozen") freeze(net, ["0", "1", "3", "4", "5", "6"]);
  const groups = mode === "finetune" ? finetuneParamGroups(net, 0.01, 10)
    : mode === "frozen" ? finetuneParamGroups(net, 0.1, 1) : [{ params: net.parameters(), lr: 0.1 }];
  train(net, groups, few, ftEpochs, 50, 1);
  flare[mode] = accuracy(net, test);
  net.dispose();
}
process.stderr.write(`flare done in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${JSON.stringify(flare)}\n`);
const python = process.env.FLARE_BENCH_PYTHON ?? "/usr/bin/python3";
const out = spawnSync(python, [fileURLToPath(new URL("../../bench/transfer_torch.py", import.meta.url)), String(width), String(preEpochs), String(ftEpochs), String(perClass)], { encoding: "utf8" });
if (out.status !== 0) throw new Error(out.stderr);
const pytorch = JSON.parse(out.stdout.trim().split("\n").pop()!);
console.log(JSON.stringify({ recipe: { width, preEpochs, ftEpochs, perClass, targetTest: test[1].shape[0] }, flare, pytorch }, null, 2));
