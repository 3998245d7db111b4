// Every transform of the spec parser's registry × every target kind: boxes in
// the three formats, instance masks, a semantic mask, and batches with
// perSample. The checks are invariants that any correct transform keeps, so
// one table covers every transform:
//   - the three box formats give the same boxes (converted to xyxy);
//   - boxes stay inside the output canvas, which is the output image's size;
//   - labels and instance masks keep one entry per box;
//   - each instance mask stays inside its box (a mask filling a box at the
//     start may shrink by clipping or by nearest resampling, never leave it);
//   - a semantic mask keeps the image's size and only its class ids (or fill 0);
//   - with perSample, image i of a batch equals image i transformed alone with
//     its recorded parameters (the same pixels, the same boxes).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import * as T from "../src/vision/transforms/index.js";
import { assertClose } from "./helpers.js";

const H = 40, W = 48;
const BOXES = [[4, 6, 20, 30], [25, 2, 44, 18], [10, 22, 38, 37]];
const LABELS = [1, 2, 3];

/** One spec per registry entry (containers hold a geometric and a colour op). */
const SPECS: Record<string, string> = {
  Resize: "Resize([30, 36])",
  CenterCrop: "CenterCrop([30, 34])",
  Pad: "Pad([3, 5, 2, 1])",
  RandomCrop: "RandomCrop([30, 36], padding=4)",
  RandomResizedCrop: "RandomResizedCrop([32, 32], scale=(0.3, 1))",
  RandomHorizontalFlip: "RandomHorizontalFlip(p=1)",
  RandomVerticalFlip: "RandomVerticalFlip(p=1)",
  RandomRotation: "RandomRotation(25)",
  RandomAffine: "RandomAffine(20, translate=(0.1, 0.1), scale=(0.8, 1.1), shear=10)",
  RandomPerspective: "RandomPerspective(0.5, p=1)",
  ColorJitter: "ColorJitter(0.4, 0.4, 0.4, 0.1)",
  Grayscale: "Grayscale(3)",
  RandomGrayscale: "RandomGrayscale(p=1)",
  GaussianBlur: "GaussianBlur(5, sigma=(0.5, 2))",
  RandomErasing: "RandomErasing(p=1)",
  RandomInvert: "RandomInvert(p=1)",
  RandomPosterize: "RandomPosterize(3, p=1)",
  RandomSolarize: "RandomSolarize(128, p=1)",
  RandomAdjustSharpness: "RandomAdjustSharpness(2, p=1)",
  RandomAutocontrast: "RandomAutocontrast(p=1)",
  RandomEqualize: "RandomEqualize(p=1)",
  ToDtype: "ToDtype(torch.float32, scale=True)",
  ConvertImageDtype: "ConvertImageDtype(torch.float32)",
  Normalize: "ToDtype(torch.float32, scale=True) | Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])",
  RandomIoUCrop: "RandomIoUCrop()",
  RandomZoomOut: "RandomZoomOut(p=1, side_range=(1.5, 2))",
  SanitizeBoundingBoxes: "SanitizeBoundingBoxes(min_size=2)",
  ClampBoundingBoxes: "ClampBoundingBoxes()",
  ConvertBoundingBoxFormat: "ConvertBoundingBoxFormat('cxcywh')",
  AutoAugment: "AutoAugment()",
  RandAugment: "RandAugment()",
  TrivialAugmentWide: "TrivialAugmentWide()",
  RandomApply: "RandomApply([RandomRotation(15), ColorJitter(0.3)], p=1)",
  RandomChoice: "RandomChoice([RandomHorizontalFlip(p=1), RandomResizedCrop([32, 32])])",
  RandomOrder: "RandomOrder([RandomVerticalFlip(p=1), Resize([36, 30])])",
  Compose: "Compose([RandomHorizontalFlip(p=1), RandomCrop([32, 40])])",
};

/** The augmentation policies refuse boxes and masks, as torchvision v2's do. */
const IMAGE_ONLY = new Set(["AutoAugment", "RandAugment", "TrivialAugmentWide"]);
const SEEDS = [0, 1, 2];

function image(): torch.Tensor {
  const g = torch.arange(0, 3 * H * W, { dtype: "int64" }).remainder(251).reshape([3, H, W]);
  return g.to("uint8");
}

function instanceMasks(): torch.Tensor {
  const m = torch.zeros([BOXES.length, H, W], { dtype: "uint8" });
  BOXES.forEach(([x1, y1, x2, y2], i) => m.indexPut_([i, `${y1}:${y2}`, `${x1}:${x2}`], 1));
  return m;
}

function semanticMask(): torch.Tensor {
  const m = torch.zeros([H, W], { dtype: "int64" });
  BOXES.forEach(([x1, y1, x2, y2], i) => m.indexPut_([`${y1}:${y2}`, `${x1}:${x2}`], LABELS[i] + 4));
  return m;
}

function target(format: T.BoxFormat): T.Target {
  const xyxy = torch.tensor(BOXES);
  return {
    boxes: T.boundingBoxes(T.convertBoxFormat(xyxy, "xyxy", format), { format, canvasSize: [H, W] }),
    labels: torch.tensor(LABELS, { dtype: "int64" }),
    masks: instanceMasks(),
  };
}

/** Pixel bounds [x1, y1, x2, y2] (continuous, exclusive end) of a mask, or null when empty. */
function maskBounds(mask: number[][]): number[] | null {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  mask.forEach((row, y) => row.forEach((v, x) => {
    if (v) { x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x + 1); y2 = Math.max(y2, y + 1); }
  }));
  return x1 === Infinity ? null : [x1, y1, x2, y2];
}

function checkTarget(name: string, img: torch.Tensor, out: T.Target): void {
  const boxes = out.boxes!;
  const [h, w] = img.shape.slice(-2);
  assert.deepEqual(boxes.canvasSize, [h, w], `${name}: canvasSize follows the image`);
  const n = boxes.length;
  assert.equal((out.labels as torch.Tensor).shape[0], n, `${name}: one label per box`);
  assert.equal((out.masks as torch.Tensor).shape[0], n, `${name}: one mask per box`);
  assert.deepEqual((out.masks as torch.Tensor).shape.slice(1), [h, w], `${name}: masks follow the image`);
  const xyxy = boxes.xyxy().tolist() as number[][];
  const masks = (out.masks as torch.Tensor).tolist() as number[][][];
  xyxy.forEach(([x1, y1, x2, y2], i) => {
    const eps = 1e-3;
    assert.ok(x1 >= -eps && y1 >= -eps && x2 <= w + eps && y2 <= h + eps, `${name}: box ${i} [${xyxy[i]}] inside the ${h}x${w} canvas`);
    assert.ok(x1 <= x2 + eps && y1 <= y2 + eps, `${name}: box ${i} [${xyxy[i]}] is not inverted`);
    const bounds = maskBounds(masks[i]);
    if (bounds) {
      // Nearest resampling may round a mask edge outward by one pixel.
      const [mx1, my1, mx2, my2] = bounds;
      assert.ok(mx1 >= Math.floor(x1) - 1 && my1 >= Math.floor(y1) - 1 && mx2 <= Math.ceil(x2) + 1 && my2 <= Math.ceil(y2) + 1,
        `${name}: mask ${i} [${bounds}] stays inside its box [${xyxy[i].map((v) => v.toFixed(2))}]`);
    }
  });
}

test("the matrix covers every transform of the spec registry", () => {
  assert.deepEqual([...T.transformNames].sort(), Object.keys(SPECS).sort());
});

for (const name of Object.keys(SPECS)) {
  test(`${name}: boxes in three formats, instance and semantic masks`, () => torch.tidy(() => {
    const pipe = T.parseTransforms(SPECS[name]);
    if (IMAGE_ONLY.has(name)) {
      assert.throws(() => pipe.forward(image(), target("xyxy")), { name: "FlareError" }, `${name} refuses boxes`);
      return;
    }
    for (const seed of SEEDS) {
      torch.manualSeed(seed);
      const [img, out] = pipe.forward(image(), target("xyxy"));
      checkTarget(`${name} seed ${seed}`, img, out);
      const params = pipe.lastParams;
      const reference = out.boxes!.xyxy();
      for (const format of ["xywh", "cxcywh"] as const) {
        const [img2, out2] = pipe.replay(params, image(), target(format));
        assertClose(img2.float(), img.float(), { atol: 0, what: `${name} seed ${seed}: the ${format} run's image` });
        checkTarget(`${name} seed ${seed} ${format}`, img2, out2);
        assertClose(out2.boxes!.xyxy(), reference, { atol: 1e-4, what: `${name} seed ${seed}: ${format} boxes as xyxy` });
      }
      // A semantic mask on its own: the image's size, and only its ids or the fill 0.
      const [img3, sem] = pipe.replay(params, image(), { masks: semanticMask() });
      const mask = sem.masks as torch.Tensor;
      assert.deepEqual(mask.shape, img3.shape.slice(-2), `${name}: semantic mask follows the image`);
      const ids = new Set((mask.flatten().tolist() as number[]));
      for (const id of ids) assert.ok([0, 5, 6, 7].includes(id), `${name}: semantic mask holds id ${id}`);
    }
  }));
}

/** Random transforms that take perSample and targets. */
const PER_SAMPLE = [
  "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "RandomAffine",
  "RandomPerspective", "ColorJitter", "RandomErasing", "RandomGrayscale", "GaussianBlur",
];

test("RandomZoomOut refuses perSample: each image would get its own size", () => torch.tidy(() => {
  const zoom = new T.RandomZoomOut({ p: 1, perSample: true });
  assert.throws(() => zoom.forward(torch.stack([image(), image()]), [target("xyxy"), target("xyxy")]),
    { name: "FlareError", message: "RandomZoomOut gives each image its own size, so it cannot be used with perSample" });
}));

for (const name of PER_SAMPLE) {
  test(`${name} with perSample on a batch with targets equals each image alone`, () => torch.tidy(() => {
    const transform = T.parseTransforms(SPECS[name]).transforms[0] as T.RandomTransform<unknown>;
    transform.perSample = true;
    torch.manualSeed(3);
    const n = 4;
    const batch = torch.stack(Array.from({ length: n }, (_, i) => image().roll(i * 7, 2)));
    const formats: T.BoxFormat[] = ["xyxy", "xywh", "cxcywh", "xyxy"];
    const [out, targets] = transform.forward(batch, formats.map(target)) as [torch.Tensor, T.Target[]];
    const perSample = (transform.lastParams as T.PerSample<unknown>).perSample;
    assert.equal(perSample.length, n);
    for (let i = 0; i < n; i++) {
      const [alone, t] = transform.replay(perSample[i], batch.index(i), target(formats[i]));
      assertClose(out.index(i).float(), alone.float(), { atol: out.dtype === "uint8" ? 0 : 1e-5, what: `${name}: image ${i}` });
      checkTarget(`${name} image ${i}`, out.index(i), targets[i]);
      assertClose(targets[i].boxes!.xyxy(), t.boxes!.xyxy(), { atol: 1e-4, what: `${name}: boxes of image ${i}` });
      assert.equal(targets[i].boxes!.format, formats[i], `${name}: image ${i} keeps its box format`);
    }
  }));
}

test("perspective moves boxes: a translation and a scaling written as perspectives", () => torch.tidy(() => {
  const w = 20, h = 10;
  const corners: [number, number][] = [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]];
  const t = () => ({ boxes: T.boundingBoxes([[1, 2, 5, 7]], { canvasSize: [h, w] }) });
  const img = torch.zeros([3, h, w], { dtype: "uint8" });
  const perspective = new T.RandomPerspective();
  const shifted = corners.map(([x, y]) => [x + 2, y + 1] as [number, number]);
  const [, a] = perspective.replay({ apply: true, startpoints: corners, endpoints: shifted }, img, t());
  assertClose(a.boxes!.data, torch.tensor([[3, 3, 7, 8]]), { atol: 1e-3, what: "translated by (2, 1)" });
  const halved = corners.map(([x, y]) => [x / 2, y / 2] as [number, number]);
  const [, b] = perspective.replay({ apply: true, startpoints: corners, endpoints: halved }, img, t());
  assertClose(b.boxes!.data, torch.tensor([[0.5, 1, 2.5, 3.5]]), { atol: 1e-3, what: "scaled by 1/2" });
}));
