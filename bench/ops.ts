// flare's box ops against torchvision's on the same boxes, side by side in one run:
//   nms on N random boxes (flare's native kernel vs torchvision's CPU kernel),
//   boxIou of 1,000 × 1,000 boxes.
// torchvision runs in a child process (bench/ops_torch.py) that reads the boxes
// this side writes, one command at a time, so the two sides alternate round by
// round; the kept indices are compared too.
// Usage: node dist/bench/ops.js [--rounds 3] [--sizes 10000,20000] [--threshold 0.5] [--iou-reps 10]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { ops } from "../src/vision/index.js";
import { flag } from "./flags.js";
import { pythonSide } from "./python_side.js";

const rounds = Number(flag("rounds", "3"));
const sizes = flag("sizes", "10000,20000").split(",").map(Number);
const threshold = Number(flag("threshold", "0.5"));
const iouReps = Number(flag("iou-reps", "10"));

const { child, ask } = pythonSide("ops_torch.py", "the torchvision side");

/** N boxes with corners uniform in [0, 1000) and sides in [10, 110): mostly apart, so nearly every pair's IoU is computed. */
function randomBoxes(n: number): torch.Tensor {
  return torch.tidy(() => {
    const xy = torch.rand([n, 2]).mul(1000), wh = torch.rand([n, 2]).mul(100).add(10);
    return torch.cat([xy, xy.add(wh)], 1);
  });
}

function write(file: string, tensors: torch.Tensor[]): void {
  const parts = tensors.map((t) => Buffer.from((t.contiguous().dataSync() as Float32Array).slice().buffer));
  writeFileSync(file, Buffer.concat(parts));
}

function timed<T>(fn: () => T, reps: number): { times: number[]; result: T } {
  const times: number[] = [];
  let result!: T;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    result = fn();
    times.push((performance.now() - t0) / 1000);
    if (i < reps - 1 && result instanceof torch.Tensor) result.dispose();
  }
  return { times, result };
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const info = await ask("setup");
  const dir = mkdtempSync(path.join(tmpdir(), "flare-bench-ops-"));
  torch.manualSeed(0);
  const results: Record<string, unknown>[] = [];
  try {
    for (const n of sizes) {
      const boxes = randomBoxes(n), scores = torch.rand([n]);
      const file = path.join(dir, `nms${n}.bin`);
      write(file, [boxes, scores]);
      ops.nms(boxes, scores, threshold).dispose(); // warm up
      const flare: number[] = [], tv: number[] = [];
      let same = true, kept = 0;
      for (let round = 0; round < rounds; round++) {
        const { times, result } = timed(() => ops.nms(boxes, scores, threshold), 1);
        flare.push(...times);
        const reply = await ask(`nms ${file} ${n} ${threshold} 1`);
        tv.push(...(reply.times as number[]));
        const mine = result.tolist() as number[];
        same &&= JSON.stringify(mine) === JSON.stringify(reply.kept);
        kept = mine.length;
        result.dispose();
      }
      results.push({
        benchmark: `nms, ${n} random boxes, iouThreshold ${threshold}`, unit: "ms",
        flare: +(median(flare) * 1000).toFixed(1), torchvision: +(median(tv) * 1000).toFixed(1),
        ratio: +(median(flare) / median(tv)).toFixed(3), kept, sameKeptIndices: same,
      });
      boxes.dispose(); scores.dispose();
      process.stderr.write(`nms ${n} done\n`);
    }
    const b1 = randomBoxes(1000), b2 = randomBoxes(1000);
    const file = path.join(dir, "iou.bin");
    write(file, [b1, b2]);
    ops.boxIou(b1, b2).dispose();
    const flare: number[] = [], tv: number[] = [];
    let flareSum = 0, tvSum = 0;
    for (let round = 0; round < rounds; round++) {
      const { times, result } = timed(() => ops.boxIou(b1, b2), iouReps);
      flare.push(...times);
      flareSum = torch.tidy(() => result.to("float64").sum().item() as number);
      result.dispose();
      const reply = await ask(`iou ${file} 1000 1000 ${iouReps}`);
      tv.push(...(reply.times as number[]));
      tvSum = reply.sum as number;
    }
    results.push({
      benchmark: "boxIou, 1000 x 1000 boxes", unit: "ms",
      flare: +(median(flare) * 1000).toFixed(3), torchvision: +(median(tv) * 1000).toFixed(3),
      ratio: +(median(flare) / median(tv)).toFixed(3), sameSum: Math.abs(flareSum - tvSum) <= 1e-6 * Math.abs(tvSum),
    });
    b1.dispose(); b2.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await ask("quit").catch(() => undefined);
    child.kill();
  }
  console.log(JSON.stringify({
    machine: { cores: cpus().length, torchThreads: torch.getNumThreads(), pytorchThreads: info.threads },
    libtorch: torch.buildInfo().torchVersion, pytorch: info.version, torchvision: info.torchvision, rounds, results,
  }, null, 2));
}

main().catch((error) => { console.error(error); child.kill(); process.exit(1); });
