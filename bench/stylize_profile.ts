// Where a style-transfer step's time goes (flare): forward (features),
// losses (Gram matrices, content, TV), backward, Adam, reading the losses,
// and one intermediate image written. Medians over the steps after 2 warm-ups,
// in CPU seconds of this process (on a shared machine the wall time moves with the load).
// Usage: node dist/bench/stylize_profile.js [--steps 8] [--size 300x450] [--levels 5] [--channels 64] [--save inputs.safetensors] [--gram matmul|conv]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { readImage, writeImage, style } from "../src/vision/index.js";
import { Adam } from "../src/optim/adam.js";
import { parseSize } from "../src/tasks/stylize.js";

const arg = (name: string, fallback: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : fallback; };
const steps = Number(arg("steps", "8")), size = parseSize(arg("size", "300x450"));
const asset = (name: string) => fileURLToPath(new URL(`../../assets/images/${name}`, import.meta.url));
const contentX = style.preprocess(await readImage(asset("chelsea.jpg"), { mode: "rgb" }), size);
const styleX = style.preprocess(await readImage(asset("coffee.jpg"), { mode: "rgb" }), size);
const features = new style.RandomStyleFeatures({ levels: Number(arg("levels", "5")), channels: Number(arg("channels", "64")) });
// --gram: how the Gram matrices are computed (default: as the extractor says, "conv"; "matmul" is the book's).
const method = arg("gram", features.gramMethod ?? "matmul") as style.GramMethod;
// --save F: the inputs and filters as safetensors (the keys bench/stylize_torch.py reads), to profile PyTorch on the same.
if (process.argv.includes("--save")) torch.save(new Map([["content_X", contentX], ["style_X", styleX], ...features.stateDict()]), arg("save", ""));
const contentsY = torch.tidy(() => torch.noGrad(() => features.extract(contentX).contents));
const grams = torch.tidy(() => torch.noGrad(() => features.extract(styleX).styles.map((y) => style.gram(y, { method }))));
const image = new style.SynthesizedImage(contentX);
const optimizer = new Adam(image.parameters(), { lr: 0.3 });
const phases: Record<string, number[]> = { forward: [], gram: [], contentTv: [], backward: [], adam: [], readLosses: [], total: [] };
const dir = mkdtempSync(path.join(tmpdir(), "flare-prof-"));
const now = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
for (let s = 0; s < steps + 2; s++) {
  const t: Record<string, number> = {};
  const t0 = now();
  torch.tidy(() => {
    optimizer.zeroGrad();
    const x = image.forward();
    let a = now();
    const { contents, styles } = features.extract(x);
    t.forward = now() - a; a = now();
    const st = styles.map((y, i) => style.styleLoss(y, grams[i], { method }).mul(1e4));
    t.gram = now() - a; a = now();
    const ct = contents.map((y, i) => style.contentLoss(y, contentsY[i]));
    const tv = style.tvLoss(x).mul(10);
    let total = tv;
    for (const l of [...st, ...ct]) total = total.add(l);
    t.contentTv = now() - a; a = now();
    total.backward();
    t.backward = now() - a; a = now();
    optimizer.step();
    t.adam = now() - a; a = now();
    for (const l of [...st, ...ct, tv, total]) l.item();
    t.readLosses = now() - a;
  });
  t.total = now() - t0;
  if (s >= 2) for (const k of Object.keys(phases)) phases[k].push(t[k]);
}
const a = now();
const img = style.postprocess(image.weight);
await writeImage(img, path.join(dir, "step.png"));
const saveImage = now() - a;
img.dispose();
const median = (v: number[]) => { const s = [...v].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]; };
console.log(JSON.stringify({
  bench: "stylize_profile", extractor: features.description, gram: method, size, steps, threads: torch.getNumThreads(),
  cpuSecondsMedian: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Number(median(v).toFixed(4))])), saveImage: Number(saveImage.toFixed(4)),
}));
optimizer.zeroGrad(); optimizer.dispose(); image.dispose(); features.dispose();
torch.dispose([contentX, styleX, ...contentsY, ...grams]);
rmSync(dir, { recursive: true, force: true });
