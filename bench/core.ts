// flare against PyTorch on the same libtorch, interleaved in one run:
//   (a) a training step of d2l's small ResNet-18 on 1×28×28 inputs,
//   (b) a small CNN training step (batch 64, 3×32×32),
//   (c) 10,000 tiny tensor ops (per-op overhead), in tidy() scopes, without
//       (each result left to the garbage collector, as a PyTorch user writes it),
//       and with an explicit dispose() of each result,
//   (d) 10,000 tiny indexing ops (x[idx], x[:, 0], s[idx] = 0, x[:, 1] = 1), in tidy().
// PyTorch runs in a child process (bench/torch_side.py) that takes one command
// at a time, so the two sides alternate round by round on the same machine.
// Usage: node dist/bench/core.js [--rounds 5] [--resnet-batch 64] [--resnet-steps 3] [--cnn-steps 10] [--ops 10000]
import * as torch from "../src/index.js";
import { nn, F, optim } from "../src/index.js";
import { models } from "../src/vision/index.js";
import { numFlag } from "./flags.js";
import { pythonSide } from "./python_side.js";

const rounds = numFlag("rounds", 5), resnetBatch = numFlag("resnet-batch", 64), resnetSteps = numFlag("resnet-steps", 3);
const cnnSteps = numFlag("cnn-steps", 10), opsCount = numFlag("ops", 10000);

// ---- the PyTorch side -----------------------------------------------------------
const { child, ask } = pythonSide("torch_side.py");

// ---- the flare side -------------------------------------------------------------
function smallCnn(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(3, 32, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(64 * 8 * 8, 128), new nn.ReLU(), new nn.Linear(128, 10));
}

function trainStepTimer(net: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: number): () => number {
  const opt = new optim.SGD(net.parameters(), { lr, momentum: 0.9 });
  return () => {
    const t0 = performance.now();
    torch.tidy(() => {
      opt.zeroGrad();
      const loss = F.crossEntropy(net.forward(x), y);
      loss.backward();
      opt.step();
      return loss.item();
    });
    return (performance.now() - t0) / 1000;
  };
}

function tinyOps(n: number): number {
  const a = torch.ones([4]), b = torch.ones([4]);
  const t0 = performance.now();
  torch.tidy(() => {
    for (let i = 0; i < n / 4; i++) {
      torch.tidy(() => { a.add(b); a.mul(2); a.exp(); a.sum(); });
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  a.dispose(); b.dispose();
  return seconds;
}

function tinyOpsUntidy(n: number): number {
  const a = torch.ones([4]), b = torch.ones([4]);
  const t0 = performance.now();
  for (let i = 0; i < n / 4; i++) { a.add(b); a.mul(2); a.exp(); a.sum(); }
  const seconds = (performance.now() - t0) / 1000;
  a.dispose(); b.dispose();
  return seconds;
}

function tinyOpsDispose(n: number): number {
  const a = torch.ones([4]), b = torch.ones([4]);
  const t0 = performance.now();
  for (let i = 0; i < n / 4; i++) { a.add(b).dispose(); a.mul(2).dispose(); a.exp().dispose(); a.sum().dispose(); }
  const seconds = (performance.now() - t0) / 1000;
  a.dispose(); b.dispose();
  return seconds;
}

// Detection bookkeeping's kind of op: gathers and masked writes on small tensors.
function tinyIndexOps(n: number): number {
  const x = torch.ones([8, 4]), s = torch.ones([8]), idx = torch.tensor([0, 2, 5], { dtype: "int64" });
  const t0 = performance.now();
  torch.tidy(() => {
    for (let i = 0; i < n / 4; i++) {
      torch.tidy(() => { x.index(idx); x.index(":", 0); s.indexPut_([idx], 0); x.indexPut_([":", 1], 1); });
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  x.dispose(); s.dispose(); idx.dispose();
  return seconds;
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const info = await ask(`setup ${resnetBatch}`);
  torch.manualSeed(0);
  const resnet = trainStepTimer(models.resnet18Small(10), torch.randn([resnetBatch, 1, 28, 28]), torch.randint(0, 10, [resnetBatch]), 0.1);
  const cnn = trainStepTimer(smallCnn(), torch.randn([64, 3, 32, 32]), torch.randint(0, 10, [64]), 0.05);
  resnet(); cnn(); tinyOps(opsCount); tinyOpsUntidy(opsCount); tinyOpsDispose(opsCount); tinyIndexOps(opsCount); // warm up both sides once
  await ask("resnet 1"); await ask("cnn 1"); await ask(`ops ${opsCount}`); await ask(`index ${opsCount}`);

  const times = { resnet: { flare: [] as number[], torch: [] as number[] }, cnn: { flare: [] as number[], torch: [] as number[] }, ops: { flare: [] as number[], torch: [] as number[] }, opsUntidy: { flare: [] as number[], torch: [] as number[] }, opsDispose: { flare: [] as number[], torch: [] as number[] }, index: { flare: [] as number[], torch: [] as number[] } };
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < resnetSteps; i++) times.resnet.flare.push(resnet());
    times.resnet.torch.push(...((await ask(`resnet ${resnetSteps}`)).times as number[]));
    for (let i = 0; i < cnnSteps; i++) times.cnn.flare.push(cnn());
    times.cnn.torch.push(...((await ask(`cnn ${cnnSteps}`)).times as number[]));
    times.ops.flare.push(tinyOps(opsCount));
    times.ops.torch.push((await ask(`ops ${opsCount}`)).seconds as number);
    times.opsUntidy.flare.push(tinyOpsUntidy(opsCount));
    times.opsUntidy.torch.push(times.ops.torch[times.ops.torch.length - 1]);  // PyTorch has one way
    times.opsDispose.flare.push(tinyOpsDispose(opsCount));
    times.opsDispose.torch.push(times.ops.torch[times.ops.torch.length - 1]);
    times.index.flare.push(tinyIndexOps(opsCount));
    times.index.torch.push((await ask(`index ${opsCount}`)).seconds as number);
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  await ask("quit").catch(() => undefined);
  child.kill();

  const row = (name: string, unit: string, scale: number, t: { flare: number[]; torch: number[] }) => {
    const f = median(t.flare) * scale, p = median(t.torch) * scale;
    return { benchmark: name, unit, flare: +f.toFixed(3), pytorch: +p.toFixed(3), ratio: +(f / p).toFixed(3) };
  };
  const results = [
    row(`d2l ResNet-18 train step, batch ${resnetBatch}x1x28x28`, "ms/step", 1000, times.resnet),
    row("small CNN train step, batch 64x3x32x32", "ms/step", 1000, times.cnn),
    row(`${opsCount} tiny ops (add, mul, exp, sum on 4 floats)`, "us/op", 1e6 / opsCount, times.ops),
    row(`${opsCount} tiny ops, no tidy (results left to the GC)`, "us/op", 1e6 / opsCount, times.opsUntidy),
    row(`${opsCount} tiny ops, each result dispose()d`, "us/op", 1e6 / opsCount, times.opsDispose),
    row(`${opsCount} tiny indexing ops (x[idx], x[:, 0], s[idx] = 0, x[:, 1] = 1 on 8x4)`, "us/op", 1e6 / opsCount, times.index),
  ];
  console.log(JSON.stringify({
    machine: { cores: (await import("node:os")).cpus().length, torchThreads: torch.getNumThreads(), pytorchThreads: info.threads },
    libtorch: torch.buildInfo().torchVersion, pytorch: info.version, rounds, results,
  }, null, 2));
}

main().catch((error) => { console.error(error); child.kill(); process.exit(1); });
