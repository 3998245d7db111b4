// DataParallel on CPU worker threads, side by side in one run:
//   1. the model on the main thread (no DataParallel), DataParallel over 1 worker, over 2 workers;
//   2. one of 2 workers slowed (a sleep of `slow` x the measured time per sample, like a
//      slower device): splits [0.5, 0.5] vs splits "auto" (measured over the warm-up steps)
//      vs the ideal split set by hand.
// A small convnet (2 conv + BN, 28x28x1 inputs, 10 classes), SGD, random data.
// Usage: node dist/bench/data_parallel.js [--batch 128] [--steps 10] [--rounds 2] [--slow 1]
// Prints one JSON line per configuration, then a markdown table.
import * as torch from "../src/index.js";
import { F, nn, optim } from "../src/index.js";
import { DataParallel } from "../src/nn/parallel/data_parallel.js";
import { createModel, type BenchModelArgs } from "./data_parallel_model.js";
import { numFlag } from "./flags.js";

const batch = numFlag("batch", 128), steps = numFlag("steps", 10), slow = numFlag("slow", 1), rounds = numFlag("rounds", 2);
const warmup = 4;
const replicaModule = new URL("./data_parallel_model.js", import.meta.url);

torch.manualSeed(0);
const x = torch.keep(torch.randn([batch, 1, 28, 28])), y = torch.keep(torch.randint(0, 10, [batch]));

interface Row { config: string; splits: string; medianMs: number; minMs: number; samplesPerSec: number; replicaMs: string; cpuPerWall: number }

// The process's CPU time over wall time in the timed steps, per configuration (all rounds).
const cpuRatio = new Map<string, { cpu: number; wall: number }>();
let current = "";

// The duration of each of `steps` steps after the warm-up.
function timeSteps(model: nn.Module, params: torch.Tensor[]): number[] {
  const opt = new optim.SGD(params, { lr: 0.01, momentum: 0.9 });
  const step = () => torch.tidy(() => {
    const loss = F.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  });
  for (let i = 0; i < warmup; i++) step();
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    step();
    times.push(performance.now() - start);
  }
  const cpu = process.cpuUsage(cpu0), acc = cpuRatio.get(current) ?? { cpu: 0, wall: 0 };
  cpuRatio.set(current, { cpu: acc.cpu + (cpu.user + cpu.system) / 1000, wall: acc.wall + times.reduce((a, b) => a + b, 0) });
  return times;
}

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

interface Config { config: string; workers: number; splits?: number[] | "auto"; slow?: boolean }

// One configuration once: its step times, final splits and the replicas' own time per step (median).
function runOnce(c: Config, slowMs: number): { times: number[]; splits: string; replicaMs: number[] } {
  current = c.config;
  const net = createModel();
  try {
    if (c.workers === 0) return { times: timeSteps(net, net.parameters()), splits: "-", replicaMs: [] };
    const args: BenchModelArgs = c.slow ? { slowIndex: 1, slowMsPerSample: slowMs } : {};
    const dp = new DataParallel(net, { workers: c.workers, splits: c.splits, replicaModule, replicaArgs: args, warmupSteps: 3 });
    try {
      const times = timeSteps(dp, net.parameters());
      const replicaMs = dp.timings.map((t) => t.forwardMs + t.backwardMs);
      return { times, splits: `[${dp.splits.map((r) => r.toFixed(2)).join(", ")}]`, replicaMs };
    } finally {
      dp.close();
    }
  } finally {
    net.dispose();
  }
}

const configs: Config[] = [
  { config: "main thread, no DataParallel", workers: 0 },
  { config: "DataParallel, 1 worker", workers: 1 },
  { config: "DataParallel, 2 workers", workers: 2, splits: [0.5, 0.5] },
  { config: "2 workers, worker 1 slowed, splits [0.5, 0.5]", workers: 2, splits: [0.5, 0.5], slow: true },
  { config: "2 workers, worker 1 slowed, splits auto", workers: 2, splits: "auto", slow: true },
  { config: "2 workers, worker 1 slowed, splits [0.67, 0.33] (by hand)", workers: 2, splits: [2, 1], slow: true },
];

console.log(JSON.stringify({ batch, steps, warmup, rounds, intraOpThreads: torch.getNumThreads(), note: "shared 2-core machine, loaded by other jobs: step times are medians over all rounds" }));
// The slowed worker sleeps `slow` x the main thread's median time per sample: `slow` = 1 makes it 2x slower.
const calibration = runOnce(configs[0], 0);
const slowMs = (median(calibration.times) / batch) * slow;
cpuRatio.clear();
const results = configs.map(() => ({ times: [] as number[], splits: "", replicaMs: [] as number[][] }));
// Rounds interleave the configurations, so that load changes hit all of them alike.
for (let r = 0; r < rounds; r++) {
  configs.forEach((c, i) => {
    const once = runOnce(c, slowMs);
    results[i].times.push(...once.times);
    results[i].splits = once.splits;
    results[i].replicaMs.push(once.replicaMs);
  });
}
const rows: Row[] = configs.map((c, i) => {
  const m = median(results[i].times);
  const replicaMs = c.workers === 0 ? "-" : results[i].replicaMs[0].map((_, k) => median(results[i].replicaMs.map((v) => v[k] ?? 0)).toFixed(0)).join(" / ");
  const row = { config: c.config, splits: results[i].splits, medianMs: Number(m.toFixed(1)), minMs: Number(Math.min(...results[i].times).toFixed(1)), samplesPerSec: Math.round((batch * 1000) / m), replicaMs,
    cpuPerWall: Number((cpuRatio.get(c.config)!.cpu / cpuRatio.get(c.config)!.wall).toFixed(2)) };
  console.log(JSON.stringify(row));
  return row;
});

console.log(`\n(batch ${batch}; ${rounds} rounds x ${steps} timed steps after ${warmup} warm-up steps; slowed worker: +${slowMs.toFixed(3)} ms per sample)\n`);
console.log("| configuration | splits (last round) | median ms / step | min ms / step | samples / s (median) | last step: ms per replica (fwd + bwd) | process CPU / wall |");
console.log("|---|---|---:|---:|---:|---|---:|");
for (const r of rows) console.log(`| ${r.config} | ${r.splits} | ${r.medianMs} | ${r.minMs} | ${r.samplesPerSec} | ${r.replicaMs} | ${r.cpuPerWall} |`);
torch.dispose([x, y]);
