// DataParallel on CPU worker threads, side by side in one run:
//   1. the model on the main thread (no DataParallel), DataParallel over 1 worker, over 2 workers;
//   2. one of 2 workers slowed (a sleep of `slow` x its measured time per sample, like a
//      slower device): splits [0.5, 0.5] vs splits "auto" (measured over the warm-up steps).
// A small convnet (2 conv + BN, 28x28x1 inputs, 10 classes), SGD, random data.
// Usage: node dist/bench/data_parallel.js [--batch 128] [--steps 15] [--slow 1]
// Prints one JSON line per configuration, then a markdown table.
import * as torch from "../src/index.js";
import { F, nn, optim } from "../src/index.js";
import { DataParallel } from "../src/nn/parallel/data_parallel.js";
import { createModel, type BenchModelArgs } from "./data_parallel_model.js";
import { numFlag } from "./flags.js";

const batch = numFlag("batch", 128), steps = numFlag("steps", 15), slow = numFlag("slow", 1);
const warmup = 4;
const replicaModule = new URL("./data_parallel_model.js", import.meta.url);

torch.manualSeed(0);
const x = torch.keep(torch.randn([batch, 1, 28, 28])), y = torch.keep(torch.randint(0, 10, [batch]));

interface Row { config: string; workers: number; splits: string; msPerStep: number; samplesPerSec: number; replicaMs?: string }

function timeSteps(model: nn.Module, params: torch.Tensor[]): number {
  const opt = new optim.SGD(params, { lr: 0.01, momentum: 0.9 });
  const step = () => torch.tidy(() => {
    const loss = F.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  });
  for (let i = 0; i < warmup; i++) step();
  const start = performance.now();
  for (let i = 0; i < steps; i++) step();
  return (performance.now() - start) / steps;
}

const rows: Row[] = [];
function record(config: string, workers: number, splits: number[] | string, ms: number, replicaMs?: string): void {
  const row = { replicaMs, config, workers, splits: Array.isArray(splits) ? `[${splits.map((s) => s.toFixed(2)).join(", ")}]` : splits, msPerStep: Number(ms.toFixed(1)), samplesPerSec: Math.round((batch * 1000) / ms) };
  rows.push(row);
  console.log(JSON.stringify(row));
}

function dataParallel(workers: number, splits: number[] | "auto", args: BenchModelArgs): number[] {
  const net = createModel();
  const dp = new DataParallel(net, { workers, splits, replicaModule, replicaArgs: args, warmupSteps: 3 });
  try {
    const ms = timeSteps(dp, net.parameters());
    const label = args.slowIndex !== undefined ? `2 workers, worker 1 slowed, splits ${splits === "auto" ? "auto" : "[0.5, 0.5]"}` : `DataParallel, ${workers} worker${workers > 1 ? "s" : ""}`;
    // Each replica's forward + backward time on its own thread in the last step.
    const replicaMs = dp.timings.map((t) => (t.forwardMs + t.backwardMs).toFixed(0)).join(" / ");
    record(label, workers, dp.splits, ms, replicaMs);
    return dp.splits;
  } finally {
    dp.dispose();
  }
}

console.log(JSON.stringify({ batch, steps, warmup, intraOpThreads: torch.getNumThreads(), note: "shared 2-core machine, loaded by other jobs: numbers are indicative" }));
{
  const net = createModel();
  record("main thread, no DataParallel", 0, "-", timeSteps(net, net.parameters()));
  net.dispose();
}
dataParallel(1, [1], {});
dataParallel(2, [0.5, 0.5], {});
// A worker slowed by `slow` x the measured single-worker time per sample: `slow` = 1 makes it 2x slower.
const msPerSample = (rows[1].msPerStep / batch) * slow;
const slowArgs = { slowIndex: 1, slowMsPerSample: msPerSample };
dataParallel(2, [0.5, 0.5], slowArgs);
dataParallel(2, "auto", slowArgs);

console.log(`\n(batch ${batch}, ${steps} timed steps after ${warmup} warm-up steps; slowed worker: +${msPerSample.toFixed(3)} ms per sample)\n`);
console.log("| configuration | splits (final) | ms / step | samples / s | last step: ms per replica (fwd + bwd) |");
console.log("|---|---|---:|---:|---|");
for (const r of rows) console.log(`| ${r.config} | ${r.splits} | ${r.msPerStep} | ${r.samplesPerSec} | ${r.replicaMs ?? "-"} |`);
torch.dispose([x, y]);
