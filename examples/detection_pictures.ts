// The book's object-detection pictures, made by flare (docs/*.png in the README):
//   docs/anchors-chelsea.png     d2l 14.4: the five anchors at one pixel (sizes 0.75, 0.5, 0.25; ratios 1, 2, 0.5)
//   docs/multiscale-anchors.png  d2l 14.5: anchors centred on 4×4, 2×2 and 1×1 feature maps (sizes 0.15, 0.4, 0.8)
//   docs/tinyssd-bananas.png     d2l 14.7: TinySSD's detections (score ≥ 0.9) on validation bananas
// Usage: node dist/examples/detection_pictures.js [--weights runs/NAME/model.safetensors] [--bananas DIR] [--threshold 0.9] [--out docs]
// Without --weights only the two anchor pictures are made.
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { ops, models, readImage, writeImage, utils, transforms } from "../src/vision/index.js";
import { detectionsFromOutput } from "../src/tasks/detect.js";
import { generatedBananas } from "../src/tasks/detect_data.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const root = fileURLToPath(new URL("../..", import.meta.url));
const out = arg("out") ?? path.join(root, "docs");
mkdirSync(out, { recursive: true });
const COLORS = ["blue", "green", "red", "magenta", "cyan"];

/** The anchors of an image-sized map, as [H, W, anchors, 4] in pixels (d2l's boxes.reshape(h, w, 5, 4) · bbox_scale). */
function anchorsAt(h: number, w: number, fmapH: number, fmapW: number, sizes: number[], ratios: number[]): Tensor {
  return torch.tidy(() => {
    const anchors = ops.multiboxPrior(torch.zeros([1, 3, fmapH, fmapW]), sizes, ratios);
    return anchors.reshape(fmapH, fmapW, sizes.length + ratios.length - 1, 4).mul(torch.tensor([w, h, w, h]));
  });
}

// ---- d2l 14.4: the anchors at one pixel ----
const cat = await readImage(path.join(root, "assets", "images", "chelsea.jpg"), { mode: "rgb" });
const [, h, w] = cat.shape;
const sizes = [0.75, 0.5, 0.25], ratios = [1, 2, 0.5];
const [px, py] = [190, 140];   // on the cat's face
const onePixel = torch.tidy(() => anchorsAt(h, w, h, w, sizes, ratios).select(0, py).select(0, px));
const labels = ["s=0.75, r=1", "s=0.5, r=1", "s=0.25, r=1", "s=0.75, r=2", "s=0.75, r=0.5"];
// Anchors reach past the image (drawBoundingBoxes clips what it draws), so the
// labels go into a legend: white-washed rows with each anchor's label in its colour.
const boxed = utils.drawBoundingBoxes(cat, onePixel, { colors: COLORS, width: 2 });
const rows = labels.map((_, k) => [0, 22 * k, 170, 22 * k + 21]);
const washed = utils.drawBoundingBoxes(utils.drawBoundingBoxes(boxed, rows, { colors: "white", fill: true, width: 0 }), rows, { colors: "white", fill: true, width: 0 });
const drawn = utils.drawBoundingBoxes(washed, rows, { labels, colors: COLORS, width: 0, fontSize: 20 });
await writeImage(drawn, path.join(out, "anchors-chelsea.png"));
torch.dispose([boxed, washed, drawn, onePixel]);

// ---- d2l 14.5: multiscale anchors ----
const panels: Tensor[] = [];
for (const [fmap, s] of [[4, 0.15], [2, 0.4], [1, 0.8]] as const) {
  const boxes = torch.tidy(() => anchorsAt(h, w, fmap, fmap, [s], ratios).reshape(-1, 4));
  const n = boxes.shape[0];
  panels.push(utils.drawBoundingBoxes(cat, boxes, { colors: Array.from({ length: n }, (_, i) => COLORS[i % 3]), width: 2, fontSize: 20,
    labels: Array.from({ length: n }, (_, i) => (i === 0 ? `${fmap}x${fmap} map, s=${s}` : null)) }));
  boxes.dispose();
}
await utils.saveImage(panels, path.join(out, "multiscale-anchors.png"), { nrow: 3, padding: 4, padValue: 255 });
torch.dispose([...panels, cat]);

// ---- d2l 14.7: TinySSD on validation bananas ----
const weights = arg("weights");
// The book draws the detections whose confidence is at least 0.9.
const threshold = Number(arg("threshold") ?? 0.9);
if (weights) {
  const bananas = arg("bananas") ?? await generatedBananas();
  const model = models.get("tiny-ssd", { weights });
  model.eval();
  const images: Tensor[] = [];
  for (let i = 0; i < 8; i++) {
    const image = await readImage(path.join(bananas, "bananas_val", "images", `${i}.png`), { mode: "rgb" });
    const [, ih, iw] = image.shape;
    // Small images are shown at 256 pixels (the model still sees them at their own size).
    const show = Math.max(1, Math.round(256 / Math.max(ih, iw)));
    const found = torch.tidy(() => torch.noGrad(() => {
      const [anchors, cls, bbox] = model.forward(image.float().unsqueeze(0)) as [Tensor, Tensor, Tensor];
      const [d] = detectionsFromOutput(anchors, cls, bbox, { scoreThreshold: threshold });
      const scale = torch.tensor([iw, ih, iw, ih]).mul(show);
      return { boxes: d.boxes.mul(scale).clamp(0, show * Math.max(iw, ih) - 1), scores: d.scores.tolist() as number[] };
    }));
    const big = show > 1 ? transforms.functional.resize(image, [ih * show, iw * show], { interpolation: "nearest" }) : image.clone();
    images.push(utils.drawBoundingBoxes(big, found.boxes, { labels: found.scores.map((s) => s.toFixed(2)), colors: "white", width: 2, fontSize: 20 }));
    torch.dispose([image, big, found.boxes]);
  }
  await utils.saveImage(images, path.join(out, "tinyssd-bananas.png"), { nrow: 4, padding: 4, padValue: 255 });
  torch.dispose(images);
  model.dispose();
}
console.log(`wrote the pictures to ${out}`);
