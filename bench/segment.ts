// flare vs PyTorch on the generated shapes set, side by side in one run: the
// book's FCN (fcn-resnet18, 6 classes) from the same initial weights, on the
// same images in the same batch order with the same recipe (the segment task's
// default: Adam lr 1e-3 cosine, no weight decay, batch 16; or --optimizer sgd:
// momentum 0.9, weight decay 1e-4, lr 0.05 cosine; per-pixel cross entropy with
// 255 ignored) on the set the segment task generates (SEGMENT_SHAPES). flare
// trains through `trainSegmenter` (what `flare train segment` runs); PyTorch
// through bench/segment_torch.py. Prints seconds per epoch, validation pixel
// accuracy and mIoU per epoch, and inference images per second.
// Usage: node dist/bench/segment.js [--dir /tmp/flare-shapes-160] [--epochs 8] [--size 160] [--count 1000] [--optimizer adam|sgd] [--lr L] [--skip-torch]
//        node dist/bench/segment.js --time ROUNDS [--dir ...]: seconds per training step only, flare and
//        PyTorch interleaved round by round (medians), on the first batch of a set the full run wrote.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { save } from "../src/io/index.js";
import { models, datasets } from "../src/vision/index.js";
import { makeShapes, SHAPE_CLASSES } from "../src/vision/datasets/generators/index.js";
import { trainSegmenter, SEGMENT_SHAPES, SEGMENT_COUNT, SEGMENT_RECIPE } from "../src/tasks/segment.js";
import { VOC_COLORMAP } from "../src/vision/utils/index.js";
import { flag } from "./flags.js";

const epochs = Number(flag("epochs", String(SEGMENT_RECIPE.epochs))), size = Number(flag("size", String(SEGMENT_SHAPES.size))), count = Number(flag("count", String(SEGMENT_COUNT)));
const dir = flag("dir", `/tmp/flare-shapes-${size}`);
const optimizer = flag("optimizer", SEGMENT_RECIPE.optimizer) as "adam" | "sgd";
if (optimizer !== "adam" && optimizer !== "sgd") throw new Error(`--optimizer must be adam or sgd, got ${String(optimizer)}`);
const sgd = optimizer === "sgd";
const lr = Number(flag("lr", String(sgd ? SEGMENT_RECIPE.sgdLr : SEGMENT_RECIPE.adamLr))), batchSize = SEGMENT_RECIPE.batchSize;
const momentum = sgd ? 0.9 : 0, weightDecay = sgd ? 1e-4 : 0, seed = 0;
const python = process.env.FLARE_BENCH_PYTHON ?? "/usr/bin/python3";
const script = fileURLToPath(new URL("../../bench/segment_torch.py", import.meta.url));

async function split(name: string): Promise<[torch.Tensor, torch.Tensor]> {
  const ds = new datasets.VOCSegmentation({ root: dir, imageSet: name, colormap: VOC_COLORMAP.slice(0, SHAPE_CLASSES.length) });
  const xs: torch.Tensor[] = [], ys: torch.Tensor[] = [];
  for (let i = 0; i < ds.length; i++) { const [x, y] = await ds.get(i); xs.push(x); ys.push(y); }
  const out = [torch.stack(xs), torch.stack(ys)] as [torch.Tensor, torch.Tensor];
  torch.dispose([...xs, ...ys]);
  return out;
}

async function main(): Promise<void> {
  if (!existsSync(path.join(dir, "manifest.json"))) { mkdirSync(dir, { recursive: true }); await makeShapes({ ...SEGMENT_SHAPES, out: dir, size, count, valCount: 100, seed }); }
  const work = path.join(dir, "bench");
  mkdirSync(work, { recursive: true });
  // What PyTorch needs to see the same thing: the decoded images and labels, the initial weights, the batch orders.
  const [tx, ty] = await split("train"), [vx, vy] = await split("val");
  save(new Map([["train_x", tx], ["train_y", ty], ["val_x", vx], ["val_y", vy]]), path.join(work, "data.safetensors"));
  torch.manualSeed(seed);  // trainSegmenter seeds the same way and then builds the model: the same initial weights
  const init = models.get("fcn-resnet18", { numClasses: SHAPE_CLASSES.length });
  save(init.stateDict(), path.join(work, "init.safetensors"));
  init.dispose();
  const n = tx.shape[0];
  const orders = Array.from({ length: epochs }, (_, e) => new torch.Generator(seed * 1000 + e + 1).permutation(n));
  writeFileSync(path.join(work, "orders.json"), JSON.stringify(orders));

  const { history, runDir } = await trainSegmenter({
    data: "shapes", dataRoot: dir, epochs, batchSize, optimizer, lr, ...(sgd ? { momentum } : {}), weightDecay, seed, runsDir: work, name: "flare", output: "plain",
  });
  const flare = history.map((h) => ({ epoch: h.epoch, s_per_epoch: n / h.examples_per_s, train_loss: h.train_loss, val_pixel_acc: h.val_pixel_acc, val_miou: h.val_miou }));

  // Inference: the trained model on the validation images, batches of 16 in eval mode.
  const net = models.get("fcn-resnet18", { weights: path.join(runDir, "model.safetensors") });
  net.eval();
  const start = performance.now();
  for (let i = 0; i < vx.shape[0]; i += batchSize) {
    torch.tidy(() => torch.noGrad(() => {
      const x = vx.index(`${i}:${i + batchSize}`).float().div(255).sub(torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)).div(torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1));
      (net.forward(x) as torch.Tensor).argmax(1);
    }));
  }
  const flareInference = vx.shape[0] / ((performance.now() - start) / 1000);
  net.dispose();
  torch.dispose([tx, ty, vx, vy]);

  let pytorch: unknown = "skipped";
  if (!process.argv.includes("--skip-torch")) {
    const out = spawnSync(python, [script, work, String(epochs), String(batchSize), String(lr), String(momentum), String(weightDecay), String(torch.getNumThreads()), optimizer], { encoding: "utf8", maxBuffer: 1 << 22 });
    if (out.status !== 0) throw new Error(`PyTorch side failed: ${out.stderr}`);
    pytorch = JSON.parse(out.stdout.trim().split("\n").pop()!);
  }
  console.log(JSON.stringify({ bench: "segment", threads: torch.getNumThreads(), model: "fcn-resnet18", size, train: n, epochs, batchSize, optimizer, lr, flare: { epochs: flare, inference_images_per_s: flareInference }, pytorch }));
}

/** Seconds per training step, flare then PyTorch in each round (the same batch, weights and optimizer). */
async function timeSteps(rounds: number, steps = 3): Promise<void> {
  const work = path.join(dir, "bench");
  const { load } = await import("../src/io/index.js");
  const { F, optim } = await import("../src/index.js");
  const data = load(path.join(work, "data.safetensors"));
  const x = torch.keep(data.get("train_x")!.index(`:${batchSize}`).float().div(255)
    .sub(torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)).div(torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)));
  const y = torch.keep(data.get("train_y")!.index(`:${batchSize}`));
  const result: { flare: number[]; pytorch: number[] } = { flare: [], pytorch: [] };
  for (let r = 0; r < rounds; r++) {
    const net = models.get("fcn-resnet18", { weights: path.join(work, "init.safetensors") });
    const opt = sgd ? new optim.SGD(net.parameters(), { lr, momentum, weightDecay }) : new optim.Adam(net.parameters(), { lr });
    const times: number[] = [];
    for (let i = 0; i <= steps; i++) {
      const start = performance.now();
      torch.tidy(() => { const loss = F.crossEntropy(net.forward(x) as torch.Tensor, y, { ignoreIndex: 255 }); opt.zeroGrad(); loss.backward(); opt.step(); });
      if (i > 0) times.push((performance.now() - start) / 1000);
    }
    net.dispose(); opt.dispose();
    result.flare.push(times.sort((a, b) => a - b)[times.length >> 1]);
    const out = spawnSync(python, [script, "time", work, String(steps), String(batchSize), String(lr), String(momentum), String(weightDecay), String(torch.getNumThreads()), optimizer], { encoding: "utf8" });
    if (out.status !== 0) throw new Error(`PyTorch side failed: ${out.stderr}`);
    result.pytorch.push(JSON.parse(out.stdout.trim().split("\n").pop()!).s_per_step);
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
  console.log(JSON.stringify({ bench: "segment-step", threads: torch.getNumThreads(), batch: batchSize, size, optimizer, rounds: result,
    flare_s: median(result.flare), pytorch_s: median(result.pytorch), ratio: median(result.flare) / median(result.pytorch) }));
}

if (process.argv.includes("--time")) await timeSteps(Number(flag("time", "3")));
else await main();
