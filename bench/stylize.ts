// Seconds per style-transfer step, flare against PyTorch running the same loop
// (bench/stylize_torch.py: the book's train() with the same extractor, the
// same preprocessed images and the same filters or weights), one run side by
// side. The extractor: the default random multi-scale filters, or VGG-19 (the
// book's; --weights W, else seeded random VGG-19 weights, since the speed does
// not depend on their values). Prints one JSON line.
// The PyTorch side computes Gram matrices as flare's extractor does (features.gramMethod);
// --book-gram also runs it with the book's matmul Gram (pytorchBookGram), for reference.
// Usage: node dist/bench/stylize.js [--extractor random|vgg19] [--weights W] [--steps 20] [--size 300x450] [--book-gram]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { models, readImage, style } from "../src/vision/index.js";
import { parseSize } from "../src/tasks/stylize.js";

const arg = (name: string, fallback: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : fallback; };
const extractor = arg("extractor", "random"), steps = Number(arg("steps", "20")), size = parseSize(arg("size", "300x450"));
const asset = (name: string) => fileURLToPath(new URL(`../../assets/images/${name}`, import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "flare-bench-style-"));
const file = path.join(dir, "inputs.safetensors");

const contentX = style.preprocess(await readImage(asset("chelsea.jpg"), { mode: "rgb" }), size);
const styleX = style.preprocess(await readImage(asset("brick.jpg"), { mode: "rgb" }), size);
let features: style.StyleFeatures;
const tensors = new Map<string, torch.Tensor>([["content_X", contentX], ["style_X", styleX]]);
if (extractor === "random") {
  const random = new style.RandomStyleFeatures();
  for (const [k, v] of random.stateDict()) tensors.set(k, v);
  features = random;
} else {
  let weights = process.argv.includes("--weights") ? arg("weights", "") : "";
  if (!weights) {
    torch.manualSeed(0);
    const f = models.makeLayers(models.cfgs.E);
    weights = path.join(dir, "vgg19.safetensors");
    torch.save(f.stateDict({ prefix: "features." }), weights);
    f.dispose();
  }
  features = style.vgg19StyleFeatures(weights);
  process.env.FLARE_BENCH_WEIGHTS = weights;
}
torch.save(tensors, file);

// flare: the loop of styleTransfer (synthesize), timed per step after 2 warm-up steps.
// CPU seconds too: on a shared machine wall time moves with the load, the CPU time much less.
const times: number[] = [], cpuTimes: number[] = [];
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
let last = performance.now(), lastCpu = cpu();
const { x, history } = await style.synthesize(contentX, [styleX], features, {
  steps,
  onStep: () => {
    const now = performance.now(), nowCpu = cpu();
    times.push((now - last) / 1000); cpuTimes.push(nowCpu - lastCpu);
    last = now; lastCpu = nowCpu;
  },
});
x.dispose();
const median = (a: number[]) => { const s = [...a].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]; };
const flare = { secondsPerStep: median(times.slice(2)), cpuSecondsPerStep: median(cpuTimes.slice(2)), firstLoss: history[0].total, lastLoss: history[history.length - 1].total };

type TorchResult = { gram: string; secondsPerStep: number; cpuSecondsPerStep: number; firstLoss: number; lastLoss: number };
function runTorch(gramMethod: string): TorchResult {
  const run = spawnSync(process.env.FLARE_BENCH_PYTHON ?? "/usr/bin/python3", [fileURLToPath(new URL("../../bench/stylize_torch.py", import.meta.url)),
    extractor, file, String(steps), String(torch.getNumThreads()), process.env.FLARE_BENCH_WEIGHTS ?? "", gramMethod], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`stylize_torch.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").pop()!) as TorchResult;
}
const gramMethod = features.gramMethod ?? "matmul";
const pytorch = runTorch(gramMethod);
const pytorchBookGram = process.argv.includes("--book-gram") && gramMethod !== "matmul" ? runTorch("matmul") : undefined;
console.log(JSON.stringify({
  bench: "stylize", extractor: features.description, gram: gramMethod, size, steps, threads: torch.getNumThreads(),
  flare, pytorch, ratio: flare.secondsPerStep / pytorch.secondsPerStep, cpuRatio: flare.cpuSecondsPerStep / pytorch.cpuSecondsPerStep,
  ...(pytorchBookGram ? { pytorchBookGram, ratioToBookGram: flare.secondsPerStep / pytorchBookGram.secondsPerStep } : {}),
}));
features.dispose();
torch.dispose([contentX, styleX]);
rmSync(dir, { recursive: true, force: true });
