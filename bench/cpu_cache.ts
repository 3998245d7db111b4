// What the CPU memory cache (native/cpu_cache.cc) buys: training steps of three models
// with the cache on and off (FLARE_CPU_CACHE=0), each in its own process, alternating,
// with the minor page faults per step (getrusage) that explain the difference.
// Usage: node dist/bench/cpu_cache.js [--steps 3] [--rounds 2] [--threads 2]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { models } from "../src/vision/index.js";
import { SGD } from "../src/optim/index.js";
import { detectionStep } from "../src/tasks/detect.js";
import { segmentationStep } from "../src/tasks/segment.js";
import { flag, numFlag } from "./flags.js";

const steps = numFlag("steps", 3), rounds = numFlag("rounds", 2), threads = numFlag("threads", 2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The workloads: the book's TinySSD step (batch 32 at 256²), its FCN (batch 8 at 160²), a ResNet-18 classifier (batch 32 at 224²).
const WORKLOADS: Record<string, () => { step: () => void; dispose: () => void }> = {
  "tiny-ssd": () => {
    const net = models.get("tiny-ssd", { numClasses: 1 }), opt = new SGD(net.parameters(), { lr: 0.2, weightDecay: 5e-4 });
    const images = torch.rand([32, 3, 256, 256]).mul(255), labels = torch.tensor(Array.from({ length: 32 }, () => [[0, 0.3, 0.3, 0.5, 0.5]]));
    const step = detectionStep();
    return {
      step: () => torch.tidy(() => { opt.zeroGrad(); (step.trainStep(net, { images, labels }, { epoch: 0, index: 0 }).loss as Tensor).backward(); opt.step(); }),
      dispose: () => { net.dispose(); opt.dispose(); torch.dispose([images, labels]); },
    };
  },
  "fcn-resnet18": () => {
    const net = models.get("fcn-resnet18", { numClasses: 6 }), opt = new torch.optim.Adam(net.parameters(), { lr: 1e-3 });
    const x = torch.randn([8, 3, 160, 160]), y = torch.randint(0, 6, [8, 160, 160]);
    const step = segmentationStep();
    return {
      step: () => torch.tidy(() => { opt.zeroGrad(); (step.trainStep(net, [x, y], { epoch: 0, index: 0 }).loss as Tensor).backward(); opt.step(); }),
      dispose: () => { net.dispose(); opt.dispose(); torch.dispose([x, y]); },
    };
  },
  "resnet18": () => {
    const net = models.get("resnet18", { numClasses: 10 }), opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    const x = torch.randn([32, 3, 224, 224]), y = torch.randint(0, 10, [32]);
    return {
      step: () => torch.tidy(() => { opt.zeroGrad(); torch.F.crossEntropy(net.forward(x) as Tensor, y).backward(); opt.step(); }),
      dispose: () => { net.dispose(); opt.dispose(); torch.dispose([x, y]); },
    };
  },
};

const child = flag("child", "");
if (child) {
  torch.setNumThreads(threads);
  torch.manualSeed(0);
  const work = WORKLOADS[child]();
  work.step();  // warm-up: the first step fills the cache
  const seconds: number[] = [], faults: number[] = [];
  for (let i = 0; i < steps; i++) {
    const f0 = process.resourceUsage().minorPageFault, t0 = performance.now();
    work.step();
    seconds.push((performance.now() - t0) / 1000);
    faults.push(process.resourceUsage().minorPageFault - f0);
  }
  work.dispose();
  console.log(JSON.stringify({ seconds, faults, cache: torch.cpu.memoryStats() }));
} else {
  const self = fileURLToPath(import.meta.url);
  const result: Record<string, Record<string, { stepSeconds: number; faultsPerStep: number; raw: number[] }>> = {};
  for (const name of Object.keys(WORKLOADS)) {
    const runs: Record<string, { seconds: number[]; faults: number[] }> = { on: { seconds: [], faults: [] }, off: { seconds: [], faults: [] } };
    for (let r = 0; r < rounds; r++) {
      for (const mode of ["on", "off"] as const) {
        const out = spawnSync(process.execPath, [self, "--child", name, "--steps", String(steps), "--threads", String(threads)], {
          encoding: "utf8", env: { ...process.env, FLARE_CPU_CACHE: mode === "on" ? "1" : "0", OMP_NUM_THREADS: String(threads) }, stdio: ["ignore", "pipe", "inherit"],
        });
        if (out.status !== 0) throw new Error(`${name} (cache ${mode}) failed with status ${out.status}`);
        const r1 = JSON.parse(out.stdout.trim().split("\n").pop()!) as { seconds: number[]; faults: number[] };
        runs[mode].seconds.push(...r1.seconds); runs[mode].faults.push(...r1.faults);
        process.stderr.write(`${name} cache ${mode}: ${r1.seconds.map((s) => s.toFixed(2)).join(", ")} s, ${r1.faults.join(", ")} faults\n`);
      }
    }
    result[name] = Object.fromEntries(Object.entries(runs).map(([mode, v]) => [mode, { stepSeconds: median(v.seconds), faultsPerStep: median(v.faults), raw: v.seconds }]));
  }
  const ratios = Object.fromEntries(Object.entries(result).map(([name, v]) => [name, Number((v.off.stepSeconds / v.on.stepSeconds).toFixed(2))]));
  console.log(JSON.stringify({ steps, rounds, threads, speedupWithCache: ratios, result }, null, 2));
}
