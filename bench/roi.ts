// roiAlign forward + backward: flare's native kernel against torchvision's, on
// the same seeded input and boxes, interleaved round by round in one run.
// A Faster R-CNN box head's shape: features [N, C, H, W] at stride 16, K RoIs,
// 7×7 bins, sampling ratio 2. torchvision runs in a child process
// (bench/roi_torch.py); both sides use --threads intra-op threads.
// Usage: node dist/bench/roi.js [--rounds 5] [--reps 3] [--n 2] [--c 256] [--h 50] [--w 68] [--k 512] [--threads 2]
import * as torch from "../src/index.js";
import { ops } from "../src/vision/index.js";
import { numFlag } from "./flags.js";
import { pythonSide } from "./python_side.js";

const rounds = numFlag("rounds", 5), reps = numFlag("reps", 3);
const n = numFlag("n", 2), c = numFlag("c", 256), h = numFlag("h", 50), w = numFlag("w", 68), k = numFlag("k", 512);
const size = 7, ratio = 2, threads = numFlag("threads", torch.getNumThreads());

const { child, ask } = pythonSide("roi_torch.py");

// The same construction as roi_torch.py's make(), on the same seeded generator.
function make(): { x: torch.Tensor; rois: torch.Tensor } {
  torch.manualSeed(0);
  const x = torch.randn([n, c, h, w]);
  const xy = torch.rand([k, 2]).mul(torch.tensor([w * 16.0, h * 16.0]));
  const wh = torch.rand([k, 2]).mul(240).add(16);
  const ids = torch.randint(0, n, [k, 1]).float();
  return { x, rois: torch.cat([ids, xy, xy.add(wh)], 1) };
}

torch.setNumThreads(threads);
const { x, rois } = make();
x.requiresGrad_();
const step = () => torch.tidy(() => {
  x.grad = null;
  ops.roiAlign(x, rois, size, { spatialScale: 1 / 16, samplingRatio: ratio }).sum().backward();
});

const check = torch.tidy(() => {
  const y = ops.roiAlign(x, rois, size, { spatialScale: 1 / 16, samplingRatio: ratio });
  y.sum().backward();
  return { outSum: y.sum().item(), gradSum: x.grad!.abs().sum().item() };
});
const reference = await ask(`setup ${n} ${c} ${h} ${w} ${k} ${size} ${ratio} ${threads}`);

const flareTimes: number[] = [], torchTimes: number[] = [];
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    step();
    flareTimes.push((performance.now() - t0) / 1000);
  }
  torchTimes.push(...((await ask(`run ${reps}`)).times as number[]));
}
child.stdin.end();

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const result = {
  benchmark: "roiAlign forward + backward",
  shape: { input: [n, c, h, w], rois: k, outputSize: [size, size], samplingRatio: ratio, spatialScale: 1 / 16 },
  threads, rounds, reps,
  flare: { medianSeconds: median(flareTimes), outSum: check.outSum, gradAbsSum: check.gradSum },
  torchvision: { medianSeconds: median(torchTimes), outSum: reference.out_sum, gradAbsSum: reference.grad_sum, torch: reference.torch },
  ratio: median(flareTimes) / median(torchTimes),
};
console.log(JSON.stringify(result, null, 2));
x.dispose();
rois.dispose();
