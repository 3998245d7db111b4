// Faster R-CNN training step, flare vs torchvision, same weights, images and
// targets, same libtorch, interleaved in one run: fasterrcnn-resnet18-fpn
// (FrozenBatchNorm2d, 3 trainable backbone layers), SGD lr 0.005 momentum 0.9,
// the RNG seeded with the step number before each step on both sides (so the
// samplers draw the same anchors and proposals and the losses can be compared).
// Prints JSON: seconds per step (median of each side), the ratio flare / torch,
// and the first step's loss on each side.
// Usage: node dist/bench/faster_rcnn.js [--images 2] [--min-size 320] [--max-size 512] [--steps 3] [--rounds 2] [--threads 2] [--torch-malloc default|keep]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { optim } from "../src/index.js";
import { models } from "../src/vision/index.js";
import { save } from "../src/io/index.js";
import { numFlag, torchMallocEnv } from "./flags.js";
import { pythonSide } from "./python_side.js";

const numImages = numFlag("images", 2), minSize = numFlag("min-size", 320), maxSize = numFlag("max-size", 512);
const steps = numFlag("steps", 3), rounds = numFlag("rounds", 2), threads = numFlag("threads", 2);
torch.setNumThreads(threads);

const dir = mkdtempSync(path.join(tmpdir(), "flare-bench-rcnn-"));
try {
  torch.manualSeed(0);
  const model = models.get("fasterrcnn-resnet18-fpn", { numClasses: 5, minSize, maxSize, trainableBackboneLayers: 3 });
  const weights = path.join(dir, "weights.safetensors");
  save(model.stateDict(), weights);
  // Images of two sizes with 2-4 boxes each.
  const data = new Map<string, torch.Tensor>();
  const images: torch.Tensor[] = [], targets: { boxes: torch.Tensor; labels: torch.Tensor }[] = [];
  for (let i = 0; i < numImages; i++) {
    const [h, w] = i % 2 === 0 ? [300, 400] : [360, 280];
    const img = torch.keep(torch.rand([3, h, w]));
    const n = 2 + (i % 3);
    const rows = Array.from({ length: n }, (_, j) => { const x = 20 + 40 * j, y = 30 + 30 * j; return [x, y, x + 60 + 10 * j, y + 80]; });
    const t = { boxes: torch.keep(torch.tensor(rows)), labels: torch.keep(torch.tensor(rows.map((_, j) => 1 + (j % 4)), { dtype: "int64" })) };
    images.push(img); targets.push(t);
    data.set(`image/${i}`, img); data.set(`boxes/${i}`, t.boxes); data.set(`labels/${i}`, t.labels);
  }
  const dataFile = path.join(dir, "data.safetensors");
  save(data, dataFile);

  const { mode: torchMalloc, env: mallocEnv } = torchMallocEnv();
  const py = pythonSide("faster_rcnn_torch.py", "torchvision's Faster R-CNN", { ...process.env, ...mallocEnv });
  await py.ask(`setup ${weights} ${dataFile} ${minSize} ${maxSize} ${threads}`);
  model.train();
  const opt = new optim.SGD(model.parameters().filter((p) => p.requiresGrad), { lr: 0.005, momentum: 0.9 });
  let step = 0;
  const flareStep = (): [number, number] => torch.tidy(() => {
    torch.manualSeed(step++);
    const t0 = performance.now();
    const losses = model.forward(images, targets) as Record<string, torch.Tensor>;
    const loss = Object.values(losses).reduce((a, b) => a.add(b));
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return [(performance.now() - t0) / 1000, loss.item() as number];
  });
  const flare: number[] = [], pt: number[] = [], flareLoss: number[] = [], ptLoss: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < steps; s++) { const [sec, loss] = flareStep(); flare.push(sec); flareLoss.push(loss); }
    const reply = await py.ask(`steps ${steps}`);
    pt.push(...(reply.seconds as number[]));
    ptLoss.push(...(reply.losses as number[]));
  }
  py.child.stdin.end();
  // The first step of each side warms up (allocator, oneDNN primitives): left out of the medians.
  const median = (v: number[]) => { const s = v.slice(1).sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  const result = {
    model: "fasterrcnn-resnet18-fpn", images: numImages, minSize, maxSize, threads, steps: steps * rounds, torchMalloc,
    flare_seconds_per_step: median(flare), torch_seconds_per_step: median(pt), ratio: median(flare) / median(pt),
    flare_seconds: flare, torch_seconds: pt, first_loss: { flare: flareLoss[0], torch: ptLoss[0] },
  };
  console.log(JSON.stringify(result, null, 1));
  model.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
