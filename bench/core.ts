// flare against PyTorch on the same libtorch, interleaved in one run:
//   (a) a training step of d2l's small ResNet-18 on 1×28×28 inputs,
//   (b) a small CNN training step (batch 64, 3×32×32),
//   (c) 100,000 tiny tensor ops (per-op overhead), in tidy() scopes, without
//       (each result left to the garbage collector, as a PyTorch user writes it),
//       and with an explicit dispose() of each result,
//   (d) 100,000 tiny indexing ops (x[idx], x[:, 0], s[idx] = 0, x[:, 1] = 1), in tidy().
// Each tiny-op row gives wall time (the ratio) and CPU time (cpuRatio) per op.
// Each chain runs 100,000 ops a round by default: with 10,000 (20 ms) V8 often
// recompiled the chain's closures inside the timed region (a TurboFan job and its
// zone memory's page faults each round), which Python, having no JIT, never pays.
// The no-tidy chain runs last in a round: the thousands of tensors its collection
// frees at once leave glibc's heap fragmented, and the chain after it paid for that
// (dispose: 1.44-1.83 us/op after it against 1.21 alone, pinned).
// On a 2-vCPU VM run it pinned, `setarch -R taskset -c 1 node dist/bench/core.js`:
// both processes then share one core (they never run at once), and repeated runs
// agree within a few percent instead of +-40%.
// PyTorch runs in a child process (bench/torch_side.py) that takes one command
// at a time, so the two sides alternate round by round on the same machine.
// Usage: node dist/bench/core.js [--rounds 5] [--resnet-batch 64] [--resnet-steps 3] [--cnn-steps 10] [--ops 100000] [--warmup 5]
import * as torch from "../src/index.js";
import { nn, F, optim } from "../src/index.js";
import { models } from "../src/vision/index.js";
import { numFlag } from "./flags.js";
import { pythonSide } from "./python_side.js";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const rounds = numFlag("rounds", 5), resnetBatch = numFlag("resnet-batch", 64), resnetSteps = numFlag("resnet-steps", 3);
const cnnSteps = numFlag("cnn-steps", 10), opsCount = numFlag("ops", 100000), warmup = numFlag("warmup", 5);

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

// V8's gc() on demand (gc({ type: "minor" }) is a scavenge), exposed without a node flag.
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as (options: { type: "minor" | "major" }) => void;

// Wall and CPU seconds of fn (CPU: this process's, all threads, GC ones included;
// it does not count waiting for a core on a shared machine). The no-tidy chain
// pays for collecting the tensors it dropped (`settle`): a scavenge, then freeing
// the tensors of the dead wrappers (torch.memory() frees them), inside its timed
// region. Without it they were collected during whichever chain ran next (the
// indexing row paid for it: 5.0 us/op after the no-tidy chain, 2.2-3.3 after the
// others). Python frees each result at once, within its own time. The other
// chains drop no tensors; a forced scavenge would only add one that V8 would not
// have made.
interface Timing { seconds: number; cpuSeconds: number }
function timed(fn: () => void, settle = false): Timing {
  const c0 = process.cpuUsage(), t0 = performance.now();
  fn();
  if (settle) { collect({ type: "minor" }); torch.memory(); }
  const seconds = (performance.now() - t0) / 1000, c = process.cpuUsage(c0);
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6 };
}

function tinyOps(n: number): Timing {
  const a = torch.ones([4]), b = torch.ones([4]);
  const t = timed(() => torch.tidy(() => {
    for (let i = 0; i < n / 4; i++) {
      torch.tidy(() => { a.add(b); a.mul(2); a.exp(); a.sum(); });
    }
  }));
  a.dispose(); b.dispose();
  return t;
}

function tinyOpsUntidy(n: number): Timing {
  const a = torch.ones([4]), b = torch.ones([4]);
  const t = timed(() => { for (let i = 0; i < n / 4; i++) { a.add(b); a.mul(2); a.exp(); a.sum(); } }, true);
  a.dispose(); b.dispose();
  return t;
}

function tinyOpsDispose(n: number): Timing {
  const a = torch.ones([4]), b = torch.ones([4]);
  const t = timed(() => { for (let i = 0; i < n / 4; i++) { a.add(b).dispose(); a.mul(2).dispose(); a.exp().dispose(); a.sum().dispose(); } });
  a.dispose(); b.dispose();
  return t;
}

// Detection bookkeeping's kind of op: gathers and masked writes on small tensors.
function tinyIndexOps(n: number): Timing {
  const x = torch.ones([8, 4]), s = torch.ones([8]), idx = torch.tensor([0, 2, 5], { dtype: "int64" });
  const t = timed(() => torch.tidy(() => {
    for (let i = 0; i < n / 4; i++) {
      torch.tidy(() => { x.index(idx); x.index(":", 0); s.indexPut_([idx], 0); x.indexPut_([":", 1], 1); });
    }
  }));
  x.dispose(); s.dispose(); idx.dispose();
  return t;
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const info = await ask(`setup ${resnetBatch}`);
  torch.manualSeed(0);
  const resnet = trainStepTimer(models.resnet18Small(10), torch.randn([resnetBatch, 1, 28, 28]), torch.randint(0, 10, [resnetBatch]), 0.1);
  const cnn = trainStepTimer(smallCnn(), torch.randn([64, 3, 32, 32]), torch.randint(0, 10, [64]), 0.05);
  // Warm up both sides: the training steps once, the tiny-op chains `warmup` times
  // each, as V8 compiles them in tiers (the first runs of 10,000 ops cost up to
  // 3x the steady state, its compiler thread's CPU included).
  resnet(); cnn();
  await ask("resnet 1"); await ask("cnn 1");
  for (let i = 0; i < warmup; i++) {
    tinyOps(opsCount); tinyOpsDispose(opsCount); tinyIndexOps(opsCount); tinyOpsUntidy(opsCount);
    await ask(`ops ${opsCount}`); await ask(`index ${opsCount}`);
  }

  const series = () => ({ flare: [] as number[], torch: [] as number[] });
  const times = { resnet: series(), cnn: series(), ops: series(), opsUntidy: series(), opsDispose: series(), index: series() };
  const cpu = { ops: series(), opsUntidy: series(), opsDispose: series(), index: series() };
  const record = (key: keyof typeof cpu, flare: Timing, torchReply: Record<string, unknown>) => {
    times[key].flare.push(flare.seconds); times[key].torch.push(torchReply.seconds as number);
    cpu[key].flare.push(flare.cpuSeconds); cpu[key].torch.push(torchReply.cpuSeconds as number);
  };
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < resnetSteps; i++) times.resnet.flare.push(resnet());
    times.resnet.torch.push(...((await ask(`resnet ${resnetSteps}`)).times as number[]));
    for (let i = 0; i < cnnSteps; i++) times.cnn.flare.push(cnn());
    // The training steps' JS allocations start V8's incremental marking, whose
    // mark-compact (~5 ms) would land in the next timed chain: run it here, in no
    // timing, and let its concurrent sweeping finish while PyTorch's steps run.
    collect({ type: "major" });
    times.cnn.torch.push(...((await ask(`cnn ${cnnSteps}`)).times as number[]));
    // PyTorch has one way to run the chain: each of flare's three ways is set against its own PyTorch run.
    record("ops", tinyOps(opsCount), await ask(`ops ${opsCount}`));
    record("opsDispose", tinyOpsDispose(opsCount), await ask(`ops ${opsCount}`));
    record("index", tinyIndexOps(opsCount), await ask(`index ${opsCount}`));
    record("opsUntidy", tinyOpsUntidy(opsCount), await ask(`ops ${opsCount}`));
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  await ask("quit").catch(() => undefined);
  child.kill();

  type Series = { flare: number[]; torch: number[] };
  const row = (name: string, unit: string, scale: number, t: Series, c?: Series) => {
    const f = median(t.flare) * scale, p = median(t.torch) * scale;
    const out: Record<string, unknown> = { benchmark: name, unit, flare: +f.toFixed(3), pytorch: +p.toFixed(3), ratio: +(f / p).toFixed(3) };
    if (c) {
      const fc = median(c.flare) * scale, pc = median(c.torch) * scale;
      Object.assign(out, { flareCpu: +fc.toFixed(3), pytorchCpu: +pc.toFixed(3), cpuRatio: +(fc / pc).toFixed(3) });
    }
    return out;
  };
  const results = [
    row(`d2l ResNet-18 train step, batch ${resnetBatch}x1x28x28`, "ms/step", 1000, times.resnet),
    row("small CNN train step, batch 64x3x32x32", "ms/step", 1000, times.cnn),
    row(`${opsCount} tiny ops (add, mul, exp, sum on 4 floats)`, "us/op", 1e6 / opsCount, times.ops, cpu.ops),
    row(`${opsCount} tiny ops, no tidy (results left to the GC)`, "us/op", 1e6 / opsCount, times.opsUntidy, cpu.opsUntidy),
    row(`${opsCount} tiny ops, each result dispose()d`, "us/op", 1e6 / opsCount, times.opsDispose, cpu.opsDispose),
    row(`${opsCount} tiny indexing ops (x[idx], x[:, 0], s[idx] = 0, x[:, 1] = 1 on 8x4)`, "us/op", 1e6 / opsCount, times.index, cpu.index),
  ];
  console.log(JSON.stringify({
    machine: { cores: (await import("node:os")).cpus().length, torchThreads: torch.getNumThreads(), pytorchThreads: info.threads },
    libtorch: torch.buildInfo().torchVersion, pytorch: info.version, rounds, results,
  }, null, 2));
}

main().catch((error) => { console.error(error); child.kill(); process.exit(1); });
