// What one JPEG decode costs in flare's decodeImage (libjpeg-turbo straight into
// the tensor for a plain JPEG, native/jpeg.cc), in sharp alone (flare's decoder
// for everything else) and in PIL, by image size, as CPU milliseconds per image
// on one thread (sharp's pool limited to one thread): a fixed cost per call, then
// a cost per pixel. The physical reference behind bench/pipeline.js's decode-only rates.
// Usage: node dist/bench/decode.js [--rounds 5]
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { decodeImage } from "../src/vision/io.js";
import { numFlag } from "./flags.js";

const rounds = numFlag("rounds", 5);
const root = new URL("../../", import.meta.url);
const photo = fileURLToPath(new URL("assets/images/coffee.jpg", root));
const sizes: [number, number, number][] = [[16, 16, 400], [500, 375, 100], [2000, 1500, 8]];  // width, height, decodes per round
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

sharp.concurrency(1);
const result: Record<string, { flare: number; sharp: number; pil: number }> = {};
for (const [w, h, n] of sizes) {
  const file = `/tmp/flare-bench-decode-${w}x${h}.jpg`;
  writeFileSync(file, await sharp(photo).resize(w, h, { fit: "cover" }).jpeg({ quality: 90 }).toBuffer());
  const bytes = (await import("node:fs")).readFileSync(file);
  const perDecode = async (decode: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      await decode();
      const c0 = cpuMs();
      for (let i = 0; i < n; i++) await decode();
      times.push((cpuMs() - c0) / n);
    }
    return median(times);
  };
  const flare = await perDecode(async () => (await decodeImage(bytes, { mode: "rgb" })).dispose());
  const mine = await perDecode(() => sharp(bytes).raw().toBuffer());
  const py = spawnSync(process.env.FLARE_BENCH_PYTHON ?? "/usr/bin/python3", ["-c", `
import io, json, sys, time
from PIL import Image
data = open(sys.argv[1], "rb").read()
out = []
for _ in range(int(sys.argv[3])):
    Image.open(io.BytesIO(data)).convert("RGB")
    c0 = time.process_time()
    for _ in range(int(sys.argv[2])): Image.open(io.BytesIO(data)).convert("RGB")
    out.append((time.process_time() - c0) / int(sys.argv[2]) * 1000)
print(json.dumps(sorted(out)[len(out) // 2]))`, file, String(n), String(rounds)], { encoding: "utf8" });
  if (py.status !== 0) throw new Error(py.stderr);
  result[`${w}x${h}`] = { flare: +flare.toFixed(3), sharp: +mine.toFixed(3), pil: +Number(py.stdout.trim()).toFixed(3) };
}
console.log(JSON.stringify({ cpuMsPerDecode: result }, null, 2));
