// d2l 14.11's picture, made by flare: validation images of the shapes set (top
// row), the model's predictions (middle) and the ground truth (bottom), label
// maps in the VOC palette (255, the ignored borders, in white).
// Usage: node dist/bench/segment_figure.js --weights W --data DIR [--n 6] [--model fcn-resnet18] [--out docs/segment-shapes.png]
import * as torch from "../src/index.js";
import { models, datasets, utils } from "../src/vision/index.js";
import { SHAPE_CLASSES } from "../src/vision/datasets/generators/index.js";
import { segmentImage } from "../src/tasks/segment.js";

function flag(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
}

const n = Number(flag("n", "6")), out = flag("out", "docs/segment-shapes.png");
const net = models.get(flag("model", "fcn-resnet18"), { weights: flag("weights") });
net.eval();
const ds = new datasets.VOCSegmentation({ root: flag("data"), imageSet: "val", colormap: utils.VOC_COLORMAP.slice(0, SHAPE_CLASSES.length) });
const images: torch.Tensor[] = [], preds: torch.Tensor[] = [], truths: torch.Tensor[] = [];
for (let i = 0; i < n; i++) {
  const [x, y] = await ds.get(i);
  images.push(x);
  preds.push(torch.tidy(() => utils.colorizeLabelMap(segmentImage(net, x))));
  truths.push(utils.colorizeLabelMap(y));
  y.dispose();
}
await utils.saveImage([...images, ...preds, ...truths], out, { nrow: n, padding: 4, padValue: 255 });
torch.dispose([...images, ...preds, ...truths]);
net.dispose();
console.log(`wrote ${out}`);
