// Images per second of a typical classification input pipeline — decode a
// ~500×375 JPEG → RandomResizedCrop 224 → horizontal flip → ColorJitter(0.4,
// 0.4, 0.4, 0.1) → normalize → batches of 64 — for flare's DataLoader with 1
// and 2 workers against torchvision (PIL images, and tensors) with
// num_workers 1 and 2, interleaved; then the batched per-sample path against
// a per-image loop on 64-image batches (224² and CIFAR-size); and the physical reference: images
// per second that flare's decodeImage (libjpeg-turbo straight into the tensor for this plain JPEG),
// sharp alone and PIL decode on one thread, for the same JPEG.
// Usage: node dist/bench/pipeline.js [--count 512] [--rounds 2]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import * as torch from "../src/index.js";
import { DataLoader } from "../src/data/index.js";
import { decodeImage } from "../src/vision/io.js";
import { Compose, RandomResizedCrop, RandomHorizontalFlip, ColorJitter } from "../src/vision/transforms/index.js";
import { createDataset, collateFn } from "./pipeline_dataset.js";
import { numFlag } from "./flags.js";

const count = numFlag("count", 512), rounds = numFlag("rounds", 2);
const jpeg = "/tmp/flare-bench-500x375.jpg";
const root = new URL("../../", import.meta.url);
await sharp(fileURLToPath(new URL("assets/images/coffee.jpg", root))).resize(500, 375, { fit: "cover" }).jpeg({ quality: 90 }).toFile(jpeg);

async function flareRate(workers: number): Promise<number> {
  const loader = new DataLoader(createDataset({ jpeg, count }), {
    batchSize: 64, collateFn, numWorkers: workers, workerModule: new URL("./pipeline_dataset.js", import.meta.url), workerArgs: { jpeg, count },
  });
  const it = loader[Symbol.asyncIterator]();
  torch.dispose((await it.next()).value); // warm-up: workers started, first batch
  const t0 = performance.now();
  let n = 0;
  for (let r = await it.next(); !r.done; r = await it.next()) { n += (r.value as torch.Tensor[])[0].shape[0]; torch.dispose(r.value); }
  await loader.close?.();
  return n / ((performance.now() - t0) / 1000);
}

function torchRate(workers: number, kind: "pil" | "tensor" | "decode"): number {
  const out = spawnSync(process.env.FLARE_BENCH_PYTHON ?? "/usr/bin/python3",
    [fileURLToPath(new URL("bench/pipeline_torch.py", root)), jpeg, String(count), String(workers), kind], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout.trim().split("\n").pop()!).images_per_s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rates: Record<string, number[]> = {};
const add = (key: string, value: number) => { (rates[key] ??= []).push(value); };
for (let r = 0; r < rounds; r++) {
  for (const workers of [1, 2]) {
    add(`flare ${workers}w`, await flareRate(workers));
    add(`torchvision PIL ${workers}w`, torchRate(workers, "pil"));
    add(`torchvision tensor ${workers}w`, torchRate(workers, "tensor"));
  }
  process.stderr.write(`round ${r + 1}/${rounds}\n`);
}

// Decode only, one image at a time on this thread (sharp's own pool limited to one thread).
async function decodeRate(decode: () => Promise<unknown>): Promise<number> {
  const n = Math.min(count, 256);
  await decode();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await decode();
  return n / ((performance.now() - t0) / 1000);
}
const bytes = (await import("node:fs")).readFileSync(jpeg);
const threads = sharp.concurrency();
sharp.concurrency(1);
for (let r = 0; r < rounds; r++) {
  add("decode sharp", await decodeRate(() => sharp(bytes).raw().toBuffer()));
  add("decode flare decodeImage", await decodeRate(async () => (await decodeImage(bytes, { mode: "rgb" })).dispose()));
  add("decode PIL", torchRate(0, "decode"));
}
sharp.concurrency(threads);

// Per-sample randomness on a batch: one batched call against a loop over images, alternating, 5 times each
// (medians): 224² crops of the JPEG, and CIFAR-size 32² crops of a 32×32 image.
const image = await decodeImage(bytes, { mode: "rgb" });
const perSample = (source: torch.Tensor, size: number) => {
  const batch = torch.keep(torch.stack(Array.from({ length: 64 }, () => source)));
  const make = () => [new RandomResizedCrop(size, { antialias: false }), new RandomHorizontalFlip(), new ColorJitter(0.4, 0.4, 0.4, 0.1)];
  const batched = new Compose(make(), { perSample: true }), single = new Compose(make());
  const timed = (fn: () => void) => { const t0 = performance.now(); torch.tidy(fn); return performance.now() - t0; };
  const b: number[] = [], l: number[] = [];
  for (let r = 0; r < 6; r++) {
    const tb = timed(() => { batched.forward(batch); }), tl = timed(() => { for (let i = 0; i < 64; i++) single.forward(batch.index(i)); });
    if (r > 0) { b.push(tb); l.push(tl); }  // the first is a warm-up
  }
  torch.dispose(batch);
  return { batchedMs: +median(b).toFixed(1), loopMs: +median(l).toFixed(1) };
};
const perSample224 = perSample(image, 224);
const perSample32 = perSample(torch.keep(torch.randint(0, 256, [3, 32, 32]).to("uint8")), 32);

const table = Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, +median(v).toFixed(1)]));
console.log(JSON.stringify({
  imagesPerSecond: table,
  ratios: {
    "1 worker vs torchvision PIL": +(table["flare 1w"] / table["torchvision PIL 1w"]).toFixed(2),
    "1 worker vs torchvision tensor": +(table["flare 1w"] / table["torchvision tensor 1w"]).toFixed(2),
    "2 workers vs torchvision PIL": +(table["flare 2w"] / table["torchvision PIL 2w"]).toFixed(2),
    "2 workers vs torchvision tensor": +(table["flare 2w"] / table["torchvision tensor 2w"]).toFixed(2),
    "flare scaling 1 -> 2 workers": +(table["flare 2w"] / table["flare 1w"]).toFixed(2),
    "torchvision PIL scaling 1 -> 2 workers": +(table["torchvision PIL 2w"] / table["torchvision PIL 1w"]).toFixed(2),
  },
  perSampleBatch64: { "224 from 500x375": perSample224, "32 from 32x32": perSample32 },
}, null, 2));
process.exit(0);
