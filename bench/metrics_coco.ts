// COCO bbox evaluation speed on a COCO-val-sized synthetic set: 5,000 images,
// 80 categories, ~7 ground-truth boxes and 100 detections per image.
//   (a) evaluateCocoFiles: read both JSON files, evaluate, accumulate, summarize;
//   (b) MeanAveragePrecision: update() from tensors in batches of 32, then compute().
// With --python, the same files also go through scripts/fixtures/cocoeval_reference.py
// (the Python port of pycocotools' COCOeval) and the stats are compared.
// Usage: node dist/bench/metrics_coco.js [--images 5000] [--dets 100] [--python] [--keep (leave the JSON files)]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { metrics } from "../src/vision/index.js";
import { numFlag } from "./flags.js";

const numImages = numFlag("images", 5000), detsPerImage = numFlag("dets", 100);

// A small seeded generator (mulberry32), so the set is the same every run.
let seed = 12345;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const images: { id: number; file_name: string }[] = [];
const annotations: Record<string, unknown>[] = [];
const results: { image_id: number; category_id: number; bbox: number[]; score: number }[] = [];
for (let i = 0; i < numImages; i++) {
  const id = 100000 + 7 * i;
  images.push({ id, file_name: `${id}.jpg` });
  const n = Math.floor(rand() * 15);
  const boxes: [number, number[]][] = [];
  for (let j = 0; j < n; j++) {
    const side = Math.exp(Math.log(4) + rand() * (Math.log(400) - Math.log(4)));
    const w = side * (0.5 + rand()), h = side * (0.5 + rand());
    const box = [rand() * 600, rand() * 450, w, h], cat = 1 + Math.floor(rand() * 80);
    boxes.push([cat, box]);
    annotations.push({ id: annotations.length + 1, image_id: id, category_id: cat, bbox: box, area: w * h * (0.5 + rand() / 2), iscrowd: rand() < 0.01 ? 1 : 0 });
  }
  for (let d = 0; d < detsPerImage; d++) {
    if (boxes.length > 0 && rand() < 0.3) {
      const [cat, [x, y, w, h]] = boxes[Math.floor(rand() * boxes.length)];
      results.push({ image_id: id, category_id: rand() < 0.9 ? cat : 1 + Math.floor(rand() * 80), bbox: [x + (rand() - 0.5) * 0.2 * w, y + (rand() - 0.5) * 0.2 * h, w * (0.8 + 0.4 * rand()), h * (0.8 + 0.4 * rand())], score: rand() });
    } else {
      results.push({ image_id: id, category_id: 1 + Math.floor(rand() * 80), bbox: [rand() * 600, rand() * 450, 5 + rand() * 200, 5 + rand() * 200], score: rand() * 0.5 });
    }
  }
}
const dir = mkdtempSync(path.join(tmpdir(), "flare-bench-coco-"));
const gtPath = path.join(dir, "gt.json"), dtPath = path.join(dir, "dt.json");
writeFileSync(gtPath, JSON.stringify({ images, annotations, categories: Array.from({ length: 80 }, (_, k) => ({ id: k + 1, name: `c${k + 1}` })) }));
writeFileSync(dtPath, JSON.stringify(results));

const out: Record<string, unknown> = { images: numImages, annotations: annotations.length, detections: results.length };
// Wall time, and this process's CPU time (the two differ on a shared, loaded machine).
const cpu = (since: NodeJS.CpuUsage) => { const c = process.cpuUsage(since); return (c.user + c.system) / 1e6; };
let t0 = performance.now(), c0 = process.cpuUsage();
const files = metrics.evaluateCocoFiles(gtPath, dtPath);
out.evaluateCocoFiles_s = (performance.now() - t0) / 1000;
out.evaluateCocoFiles_cpu_s = cpu(c0);
out.stats = files.stats;

// The tensor path: per image xyxy tensors, fed 32 images at a time.
const byImage = new Map<number, typeof results>(images.map((m) => [m.id, []]));
for (const r of results) byImage.get(r.image_id)!.push(r);
const gtByImage = new Map<number, typeof annotations>(images.map((m) => [m.id, []]));
for (const a of annotations) gtByImage.get(a.image_id as number)!.push(a);
const metric = new metrics.MeanAveragePrecision();
const xyxy = (b: number[]) => [b[0], b[1], b[0] + b[2], b[1] + b[3]];
let updateTime = 0;
for (let start = 0; start < images.length; start += 32) {
  torch.tidy(() => {
    const batch = images.slice(start, start + 32);
    const preds = batch.map((m) => {
      const ds = byImage.get(m.id)!;
      return { boxes: torch.tensor(ds.map((d) => xyxy(d.bbox))).reshape(-1, 4), scores: torch.tensor(ds.map((d) => d.score)), labels: torch.tensor(ds.map((d) => d.category_id), { dtype: "int64" }) };
    });
    const targets = batch.map((m) => {
      const gs = gtByImage.get(m.id)!;
      return {
        boxes: torch.tensor(gs.map((g) => xyxy(g.bbox as number[]))).reshape(-1, 4),
        labels: torch.tensor(gs.map((g) => g.category_id as number), { dtype: "int64" }),
        iscrowd: torch.tensor(gs.map((g) => g.iscrowd as number), { dtype: "int64" }),
        area: torch.tensor(gs.map((g) => g.area as number), { dtype: "float64" }),
      };
    });
    t0 = performance.now();
    metric.update(preds, targets);
    updateTime += performance.now() - t0;
  });
}
t0 = performance.now(); c0 = process.cpuUsage();
const computed = metric.compute();
out.mapUpdate_s = updateTime / 1000;
out.mapCompute_s = (performance.now() - t0) / 1000;
out.mapCompute_cpu_s = cpu(c0);
out.mapTensorPathMap = computed.map;   // float32 boxes: close to, not bit-equal with, the file path

if (process.argv.includes("--python")) {
  const script = fileURLToPath(new URL("../../scripts/fixtures/cocoeval_reference.py", import.meta.url));
  t0 = performance.now();
  const py = spawnSync(process.env.FLARE_BENCH_PYTHON ?? "/usr/bin/python3", [script, "--gt", gtPath, "--dt", dtPath], { encoding: "utf8", maxBuffer: 1 << 26 });
  out.pythonPort_s = (performance.now() - t0) / 1000;
  if (py.status !== 0) out.pythonError = py.stderr.slice(-500);
  else {
    const stats = JSON.parse(py.stdout.trim().split("\n").pop()!).stats as number[];
    out.pythonPortStats = stats;
    out.maxAbsDiffVsPythonPort = Math.max(...stats.map((v, i) => Math.abs(v - files.stats[i])));
  }
}
if (process.argv.includes("--keep")) out.files = dir; else rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(out));
