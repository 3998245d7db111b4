// Resident memory and live tensors of the training loops people write, no
// tidy() and no dispose() unless the style says so, on a tiny CNN (batch
// 16×1×16×16, SGD with momentum), side by side with PyTorch's RSS on the same
// model and loops (bench/memory_torch.py):
//   plain    a synchronous loop over one in-memory batch (the book's loop)
//   await    for await over an in-process DataLoader (microtasks only)
//   workers  for await over a DataLoader with one worker thread
//   tidy     for await over an in-process DataLoader, the step in torch.tidy()
// Each style runs in its own process. RSS is sampled every 100 steps without
// forced collections (a user's loop makes none); the slope is a least-squares
// fit from --from to --steps, the growth the difference of the means of the
// first and last five samples of that window.
// Usage: node dist/bench/memory.js [--steps 10000] [--from 1000] [--styles plain,await,workers,tidy] [--no-torch]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { nn, F, optim } from "../src/index.js";
import { DataLoader } from "../src/data/index.js";
import { createDataset } from "./memory_dataset.js";
import { flag } from "./flags.js";

const steps = Number(flag("steps", "10000")), from = Number(flag("from", "1000"));
const styles = flag("styles", "plain,await,workers,tidy").split(",");
const sampleEvery = 100;

export function tinyCnn(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(8 * 8 * 8, 10));
}

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return num / den;
}

interface Samples { step: number[]; rss: number[]; tensors: number[] }

function summary(style: string, s: Samples, seconds: number) {
  const window = s.step.map((st, i) => i).filter((i) => s.step[i] >= from);
  const xs = window.map((i) => s.step[i]), rss = window.map((i) => s.rss[i]);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mib = (b: number) => +(b / 1048576).toFixed(1);
  const tensors = window.map((i) => s.tensors[i]);
  return {
    style, steps, from,
    rssFromMiB: mib(mean(rss.slice(0, 5))), rssToMiB: mib(mean(rss.slice(-5))),
    growthMiB: mib(mean(rss.slice(-5)) - mean(rss.slice(0, 5))),
    slopeBytesPerStep: +slope(xs, rss).toFixed(1),
    liveTensorsMax: Math.max(...tensors), liveTensorsEnd: tensors[tensors.length - 1],
    msPerStep: +(seconds * 1000 / steps).toFixed(3),
  };
}

async function runStyle(style: string) {
  torch.manualSeed(0);
  const net = tinyCnn();
  const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const s: Samples = { step: [], rss: [], tensors: [] };
  const record = (step: number) => {
    if (step % sampleEvery !== 0) return;
    s.step.push(step); s.rss.push(process.memoryUsage.rss()); s.tensors.push(torch.memory().numTensors);
  };
  const t0 = performance.now();
  if (style === "plain") {
    const X = torch.randn([16, 1, 16, 16]), y = torch.randint(0, 10, [16]);
    for (let step = 1; step <= steps; step++) {
      const loss = F.crossEntropy(net.forward(X), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      record(step);
    }
  } else {
    const loader = new DataLoader(createDataset({ count: 1024 }), {
      batchSize: 16, shuffle: true, numWorkers: style === "workers" ? 1 : 0,
      workerModule: new URL("./memory_dataset.js", import.meta.url), workerArgs: { count: 1024 },
      persistentWorkers: style === "workers",
    });
    let step = 0;
    while (step < steps) {
      for await (const [X, y] of loader) {
        if (style === "tidy") {
          torch.tidy(() => {
            const loss = F.crossEntropy(net.forward(X), y);
            opt.zeroGrad();
            loss.backward();
            opt.step();
          });
        } else {
          const loss = F.crossEntropy(net.forward(X), y);
          opt.zeroGrad();
          loss.backward();
          opt.step();
        }
        record(++step);
        if (step >= steps) break;
      }
    }
    await loader.close();
  }
  return summary(style, s, (performance.now() - t0) / 1000);
}

const child = flag("child", "");
if (child) {
  console.log(JSON.stringify(await runStyle(child)));
} else {
  const self = fileURLToPath(import.meta.url);
  const python = process.env.FLARE_BENCH_PYTHON ?? "/usr/bin/python3";
  const torchScript = fileURLToPath(new URL("../../bench/memory_torch.py", import.meta.url));
  const torchStyle: Record<string, string | null> = { plain: "plain", await: "loader", workers: "workers", tidy: null };
  const rows = [];
  for (const style of styles) {
    const run = (cmd: string, args: string[]) => {
      const out = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
      if (out.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${out.status})`);
      return JSON.parse(out.stdout.trim().split("\n").pop()!);
    };
    const flare = run(process.execPath, [self, "--child", style, "--steps", String(steps), "--from", String(from)]);
    const pyStyle = torchStyle[style];
    const pytorch = pyStyle && !process.argv.includes("--no-torch")
      ? run(python, [torchScript, pyStyle, String(steps), String(from)]) : null;
    rows.push({ style, flare, pytorch });
    process.stderr.write(`${style}: flare ${flare.growthMiB} MiB, ${flare.slopeBytesPerStep} B/step, ` +
      `${flare.liveTensorsMax} tensors max` + (pytorch ? `; pytorch ${pytorch.growthMiB} MiB, ${pytorch.slopeBytesPerStep} B/step` : "") + "\n");
  }
  console.log(JSON.stringify({ node: process.version, libtorch: torch.buildInfo().torchVersion, steps, from, rows }, null, 2));
}
