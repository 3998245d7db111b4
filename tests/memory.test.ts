// A training loop keeps a flat resident size: 2,000 steps of a small CNN with
// SGD + momentum, each step in a tidy() scope. The test prints the RSS slope.
import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import * as torch from "../src/index.js";
import { nn, F, optim } from "../src/index.js";

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return num / den;
}

// Forced collections make the samples comparable (V8 collects lazily otherwise).
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

test("2,000 training steps keep resident memory and live tensors flat", () => {
  torch.manualSeed(0);
  const net = new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(8 * 8 * 8, 10));
  const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const x = torch.randn([16, 1, 16, 16]), y = torch.randint(0, 10, [16]);
  const steps = 2000, warmup = 500;
  const xs: number[] = [], rss: number[] = [], native: number[] = [], heap: number[] = [];
  let tensorsAfterWarmup = 0;
  for (let step = 1; step <= steps; step++) {
    torch.tidy(() => {
      const loss = F.crossEntropy(net.forward(x.add(torch.randnLike(x).mul(0.01))), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.item();
    });
    if (step === warmup) tensorsAfterWarmup = torch.memory().numTensors;
    if (step >= warmup && step % 100 === 0) {
      gc();
      const m = process.memoryUsage();
      xs.push(step); rss.push(m.rss); native.push(m.rss - m.heapTotal); heap.push(m.heapUsed);
    }
  }
  const mib = (b: number) => (b / 1048576).toFixed(1);
  // V8 sizes its heap in steps (heapTotal, not heapUsed), so the resident size
  // outside the JS heap (libtorch, the addon, malloc) is the part a leak would move.
  const nativeSlope = slope(xs, native), heapSlope = slope(xs, heap), rssSlope = slope(xs, rss);
  console.log(`# steps ${warmup}-${steps}: resident outside the JS heap ${nativeSlope.toFixed(1)} bytes/step ` +
    `(${mib(native[0])} -> ${mib(native[native.length - 1])} MiB); JS heap used ${heapSlope.toFixed(1)} bytes/step; ` +
    `whole RSS ${rssSlope.toFixed(1)} bytes/step (${mib(rss[0])} -> ${mib(rss[rss.length - 1])} MiB)`);
  assert.equal(torch.memory().numTensors, tensorsAfterWarmup, "no tensor outlives its step");
  // A leak of one small activation per step (16x8x16x16 floats) would be 32,768 bytes/step.
  assert.ok(nativeSlope < 1024, `native resident memory grows ${nativeSlope.toFixed(0)} bytes per step`);
  assert.ok(heapSlope < 512, `the JS heap grows ${heapSlope.toFixed(0)} bytes per step`);
  net.dispose();
  opt.dispose();
});

test("a module's intermediate tensors are freed when its forward() returns, like a Python function's locals", () => {
  class Block extends nn.Module {
    lin = new nn.Linear(4, 4);
    stash: torch.Tensor | null = null;
    override forward(x: torch.Tensor): torch.Tensor {
      const h = this.lin.forward(x).relu().mul(2);   // three intermediates
      this.stash = torch.keep(h.detach());            // kept on purpose: survives
      return h.add(1);
    }
  }
  const block = new Block();
  const x = torch.randn([2, 4]).requiresGrad_();
  const before = torch.memory().numTensors;
  const y = block.forward(x);
  assert.equal(torch.memory().numTensors, before + 2, "only the output and the kept tensor remain");
  y.sum().backward();
  assert.deepEqual(block.lin.weight.grad!.shape, [4, 4], "autograd still had what backward needed");
  torch.dispose([x, y, block.stash]);
  block.dispose();
});
