// Data-parallel scaling, flare vs PyTorch, side by side in one run: d2l's
// ResNet-18 (narrow copy, --width) on Fashion-MNIST (the first --limit train
// and test images), global batch 256, SGD lr 0.1 with a cosine schedule:
//   1 process × 1 thread  vs  2 processes × 1 thread (flare launch / torchrun),
// images per second of training, scaling efficiency = speedup / 2, and test
// accuracy after the same epochs. Then the overlap of flare's gradient
// allreduce with backward (the reducer's own accounting).
// --repeats K runs the four rows K times, round by round, and reports each cell's median
// (and every round): on 2 cores identical runs spread as much as the sides differ.
// Usage: node dist/bench/ddp.js [--width 16] [--epochs 2] [--limit 6000] [--overlap-steps 6] [--repeats 1] [--torch-malloc default|keep]
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { numFlag, torchMallocEnv } from "./flags.js";

const width = numFlag("width", 16), epochs = numFlag("epochs", 2), limit = numFlag("limit", 6000), overlapSteps = numFlag("overlap-steps", 6);
const repeats = numFlag("repeats", 1);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a whole number of at least 1, got ${repeats}`);
const batch = 256;
const torchMalloc = torchMallocEnv();
const bin = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));
const python = process.env.FLARE_BENCH_PYTHON ?? "/usr/bin/python3";
const torchScript = fileURLToPath(new URL("../../bench/ddp_torch.py", import.meta.url));

if (process.argv.includes("--overlap-rank")) {
  // One rank of the overlap measurement (under flare launch).
  const torch = await import("../src/index.js");
  const { F, optim } = torch;
  const { models } = await import("../src/vision/index.js");
  const dist = await import("../src/distributed/index.js");
  const { DistributedDataParallel } = await import("../src/nn/parallel/index.js");
  dist.initProcessGroup();
  torch.manualSeed(0);
  const net = models.resnet18Small(10, { width });
  const ddp = new DistributedDataParallel(net, { bucketCapMb: numFlag("bucket-cap-mb", 25) });
  const opt = new optim.SGD(ddp.parameters(), { lr: 0.1 });
  const x = torch.randn([batch / 2, 1, 28, 28]), y = torch.randint(0, 10, [batch / 2]);
  const t0 = performance.now();
  for (let i = 0; i < overlapSteps; i++) torch.tidy(() => { opt.zeroGrad(); F.crossEntropy(ddp.forward(x), y).backward(); opt.step(); });
  const s = ddp.stats();
  if (dist.getRank() === 0) console.log(JSON.stringify({ ...s, stepMs: (performance.now() - t0) / overlapSteps, bucketNames: undefined }));
  ddp.dispose();
  dist.destroyProcessGroup();
  process.exit(0);
}

function run(program: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const out = spawnSync(program, args, { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  if (out.status !== 0) throw new Error(`${program} ${args.join(" ")} failed (${out.status}):\n${out.stderr}`);
  return out.stdout;
}

interface Row { side: string; processes: number; images_per_s: number; test_acc: number; train_seconds: number }

function flare(processes: number, dir: string): Row {
  const name = `p${processes}`;
  const train = ["train", "classify", "--data", "fashion-mnist", "--width", String(width), "--epochs", String(epochs), "--limit", String(limit),
    "--batch-size", String(batch), "--runs-dir", dir, "--name", name, "--json"];
  const args = processes === 1 ? [bin, ...train] : [bin, "launch", "--nproc-per-node", String(processes), "--", "flare", ...train];
  run(process.execPath, args, { OMP_NUM_THREADS: "1" });
  const rows = fs.readFileSync(path.join(dir, name, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  // examples_per_s: whole batches (every rank's rows) per second of training.
  const seconds = rows.reduce((s, r) => s + limit / r.examples_per_s, 0);
  return { side: "flare", processes, images_per_s: (epochs * limit) / seconds, test_acc: rows[rows.length - 1].val_acc, train_seconds: seconds };
}

function pytorch(processes: number): Row {
  const args = [String(width), String(epochs), String(batch), String(limit)];
  const out = processes === 1 ? run(python, [torchScript, ...args], { OMP_NUM_THREADS: "1", ...torchMalloc.env })
    // --redirects/--tee 2: Debian's torchrun 1.13 under Python ≥ 3.11 fails on its default "0" (Std.NONE is not iterated).
    : run(python, ["-m", "torch.distributed.run", "--nproc_per_node", String(processes), "--redirects", "2", "--tee", "2", "--master_port", String(29400 + (process.pid % 500)), torchScript, ...args], { OMP_NUM_THREADS: "1", ...torchMalloc.env });
  const j = JSON.parse(out.trim().split("\n").pop()!);
  return { side: "pytorch", processes, images_per_s: j.images_per_s, test_acc: j.test_acc, train_seconds: j.train_seconds };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flare-bench-ddp-"));
try {
  const rounds: Row[][] = [];
  for (let r = 0; r < repeats; r++) rounds.push([flare(1, dir), pytorch(1), flare(2, dir), pytorch(2)]);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const efficiency = (rows: Row[], side: string) =>
    rows.find((o) => o.side === side && o.processes === 2)!.images_per_s / (2 * rows.find((o) => o.side === side && o.processes === 1)!.images_per_s);
  const table = rounds[0].map((r, i) => ({
    side: r.side, processes: r.processes,
    images_per_s: median(rounds.map((rows) => rows[i].images_per_s)),
    test_acc: median(rounds.map((rows) => rows[i].test_acc)),
    // Each round's efficiency from its own pair of runs; the median of those.
    efficiency: r.processes === 1 ? 1 : median(rounds.map((rows) => efficiency(rows, r.side))),
  }));
  const perRound = rounds.map((rows) => ({ flare: efficiency(rows, "flare"), pytorch: efficiency(rows, "pytorch"),
    images_per_s: rows.map((r) => `${r.side} ${r.processes}: ${r.images_per_s.toFixed(1)}`) }));
  const overlap = JSON.parse(run(process.execPath, [bin, "launch", "--nproc-per-node", "2", "--", "node", fileURLToPath(import.meta.url), "--overlap-rank",
    "--width", String(width), "--overlap-steps", String(overlapSteps)]).trim().split("\n").pop()!);
  console.log(JSON.stringify({ width, epochs, limit, batch, torchMalloc: torchMalloc.mode, cores: os.availableParallelism(), loadavg: os.loadavg(), table, rounds: perRound, overlap }, null, 1));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
