// The book's sections as examples (examples/*.ts, d2l 14.1–14.12) run to the end
// with tiny settings (FLARE_EXAMPLE_TINY=1), one after another, and print the
// book's worked numbers; where an example trains, its loss falls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { datasets } from "../src/vision/index.js";

const noFashionMnist = !existsSync(datasets.FASHION_MNIST_ROOT) && "dataset-fashion-mnist is not installed";
const outDir = mkdtempSync(path.join(tmpdir(), "flare-examples-"));
test.after(() => rmSync(outDir, { recursive: true, force: true }));

function runExample(name: string, args: string[] = []): Promise<string> {
  const file = fileURLToPath(new URL(`../examples/${name}.js`, import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file, ...args], { env: { ...process.env, FLARE_EXAMPLE_TINY: "1", FLARE_EXAMPLE_OUT: outDir }, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${name} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The numbers of the tensor printed after `label` (its repr: tensor([...])), flattened. */
function tensorAfter(out: string, label: string): number[] {
  const at = out.indexOf(label);
  assert.ok(at >= 0, `no "${label}" in:\n${out}`);
  const open = out.indexOf("tensor(", at);
  let depth = 0, end = open + "tensor".length;
  for (; end < out.length; end++) {
    if (out[end] === "(") depth++;
    else if (out[end] === ")" && --depth === 0) break;
  }
  const body = out.slice(out.indexOf("[", open), out.lastIndexOf("]", end) + 1);
  return (body.match(/-?\d+(\.\d*)?(e[+-]?\d+)?|True|False/g) ?? []).map((s) => (s === "True" ? 1 : s === "False" ? 0 : Number(s)));
}

function assertClose(actual: number[], expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual} vs ${expected}`);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tolerance, `${what}[${i}]: ${v} vs ${expected[i]}`));
}

/** The number captured by `pattern` (its first group) on each line that matches, in order. */
function series(out: string, pattern: RegExp): number[] {
  return [...out.matchAll(new RegExp(pattern, "gm"))].map((m) => Number(m[1]));
}

function assertFalls(values: number[], what: string): void {
  assert.ok(values.length >= 2 && values.every(Number.isFinite), `${what}: ${values}`);
  assert.ok(values[values.length - 1] < values[0], `${what} should fall: ${values}`);
}

const wrote = (file: string) => assert.ok(existsSync(path.join(outDir, file)), `${file} written`);

test("image_augmentation (14.1): the seven augmentations drawn; training with flips lowers the loss", { skip: noFashionMnist, timeout: 90_000 }, async () => {
  const out = await runExample("image_augmentation");
  assert.equal(series(out, /^row (\d+): /).length, 7);
  assert.match(out, /^row 3: shape_aug: RandomResizedCrop\(\(200, 200\), scale=\(0\.1, 1\), ratio=\(0\.5, 2\)\)$/m);
  wrote("image-augmentation.png");
  assertFalls(series(out, /^epoch \d+: loss ([\d.]+), train acc/), "training loss");
  assert.match(out, /^loss [\d.]+, train acc [\d.]+, test acc [\d.]+$/m);
  assert.match(out, /^[\d.]+ examples\/sec on cpu$/m);
});

test("fine_tuning (14.2): a 10x head on a pretrained body, against the same network from scratch", { skip: noFashionMnist, timeout: 90_000 }, async () => {
  const out = await runExample("fine_tuning");
  assert.match(out, /^pretrained_net\.fc = Linear\(in_features=64, out_features=5, bias=True\)$/m);
  assert.match(out, /^target set: 64 training images \(sneaker, ankle boot\), 200 test images$/m);
  assertFalls(series(out, /^finetune_net epoch \d+: loss ([\d.]+)/), "fine-tuning loss");
  assertFalls(series(out, /^scratch_net epoch \d+: loss ([\d.]+)/), "scratch loss");
  assert.match(out, /^finetune_net: loss [\d.]+, train acc [\d.]+, test acc [\d.]+$/m);
  assert.match(out, /^scratch_net: loss [\d.]+, train acc [\d.]+, test acc [\d.]+$/m);
});

test("bounding_boxes (14.3): corners to centres and back, as the book's dog and cat boxes", { timeout: 90_000 }, async () => {
  const out = await runExample("bounding_boxes");
  assert.deepEqual(tensorAfter(out, "box_corner_to_center(boxes) ="), [219, 280.5, 318, 471, 527.5, 302.5, 255, 381]);
  assert.match(out, /agrees: True$/m);
  assert.deepEqual(tensorAfter(out, "== boxes:"), Array(8).fill(1));
  wrote("bounding-boxes.png");
});

test("anchor_boxes (14.4): the book's anchor count, anchor, IoU, labels and NMS output", { timeout: 90_000 }, async () => {
  const out = await runExample("anchor_boxes");
  assert.match(out, /^561 728$/m);
  assert.match(out, /^Y\.shape = \[1, 2042040, 4\]$/m);
  // The book prints [0.06, 0.07, 0.63, 0.82]; the reference's float32 values to 6 decimals.
  assertClose(tensorAfter(out, "boxes[250, 250, 0, :] ="), [0.055117, 0.071524, 0.633070, 0.821524], 1e-4, "anchor");
  assertClose(tensorAfter(out, "box_iou(anchors, ground_truth[:, 1:]) ="), [0.053648, 0, 0.141723, 0, 0, 0.565724, 0, 0.205882, 0, 0.745908], 1e-4, "IoU");
  assert.deepEqual(tensorAfter(out, "labels[2] ="), [0, 1, 2, 0, 2]);
  assert.deepEqual(tensorAfter(out, "labels[1] ="), [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1]);
  const offsets = [0, 0, 0, 0, 1.4, 9.999999, 2.593971, 7.175424, -1.199999, 0.2688176, 1.682364, -1.565452, 0, 0, 0, 0, -0.571428, -1, 4.172324e-6, 0.6258205];
  const printed = tensorAfter(out, "labels[0] =");
  assert.equal(printed.length, offsets.length, `labels[0]: ${printed}`);
  printed.forEach((v, i) => assert.ok(Math.abs(v - offsets[i]) <= 1e-4 * Math.max(1, Math.abs(offsets[i])) + 1e-9, `offset ${i}: ${v} vs ${offsets[i]}`));
  assertClose(tensorAfter(out, "output ="), [0, 0.9, 0.1, 0.08, 0.52, 0.92, 1, 0.9, 0.55, 0.2, 0.9, 0.88, -1, 0.8, 0.08, 0.2, 0.56, 0.95, -1, 0.7, 0.15, 0.3, 0.62, 0.91], 1e-4, "multibox_detection");
  assert.match(out, /^dog=0\.9\ncat=0\.9$/m);
  wrote("anchor-boxes.png");
});

test("multiscale_detection (14.5): 3 anchors per centre of 4x4, 2x2 and 1x1 maps", { timeout: 90_000 }, async () => {
  const out = await runExample("multiscale_detection");
  assert.match(out, /^h, w = \(300, 451\)$/m);
  assert.match(out, /^fmap 4x4, s=0\.15: 48 anchors on 16 centres; the first centred at \(56\.4, 37\.5\)$/m);
  assert.match(out, /^fmap 2x2, s=0\.4: 12 anchors on 4 centres/m);
  assert.match(out, /^fmap 1x1, s=0\.8: 3 anchors on 1 centres; the first centred at \(225\.5, 150\.0\)$/m);
  wrote("multiscale-detection.png");
});

test("banana_data (14.6): a generated set in the book's layout, batched as the book's", { timeout: 90_000 }, async () => {
  const out = await runExample("banana_data");
  assert.match(out, /^read 40 training examples$/m);
  assert.match(out, /^read 10 validation examples$/m);
  assert.match(out, /^batch: \(\[32, 3, 256, 256\], \[32, 1, 5\]\)$/m);
  wrote("banana-data.png");
});

test("ssd (14.7): the blocks' shapes, 5444 anchors, and TinySSD's loss falls on bananas", { timeout: 90_000 }, async () => {
  const out = await runExample("ssd");
  assert.match(out, /^Y1\.shape = \[2, 55, 20, 20\], Y2\.shape = \[2, 33, 10, 10\]$/m);
  assert.match(out, /^concat_preds\(\[Y1, Y2\]\)\.shape = \[2, 25300\]$/m);
  assert.match(out, /^down_sample_blk\(3, 10\) on \[2, 3, 20, 20\]: \[2, 10, 10, 10\]$/m);
  assert.match(out, /^base_net\(\) on \[2, 3, 256, 256\]: \[2, 64, 32, 32\]$/m);
  assert.match(out, /^output anchors: \[1, 5444, 4\]$/m);
  assert.match(out, /^output class preds: \[2, 5444, 2\]$/m);
  assert.match(out, /^output bbox preds: \[2, 21776\]$/m);
  assertFalls(series(out, /^epoch \d+: loss ([\d.]+), class err/), "TinySSD loss");
  assert.match(out, /^class err \d\.\d\de-\d\d, bbox mae \d\.\d\de-\d\d$/m);
  assert.match(out, /^prediction: \d+ boxes kept by NMS/m);
  wrote("ssd-bananas.png");
});

test("rcnn_roi_pooling (14.8): the book's RoI pooling output (and RoI align as torchvision's)", { timeout: 90_000 }, async () => {
  const out = await runExample("rcnn_roi_pooling");
  assert.deepEqual(tensorAfter(out, "roi_pool("), [5, 6, 9, 10, 9, 11, 13, 15]);
  // torchvision 0.14: roi_align(X, rois, (2, 2), spatial_scale=0.1, sampling_ratio=2).
  assert.deepEqual(tensorAfter(out, "roi_align("), [2.5, 3.5, 6.5, 7.5, 6.75, 8.25, 10.75, 12.25]);
});

test("voc_segmentation (14.9): a written VOC folder read, colours mapped to classes, cropped, filtered and batched", { timeout: 90_000 }, async () => {
  const out = await runExample("voc_segmentation");
  assert.match(out, /^read 6 training images and labels$/m);
  // The first image's disc (centre (150, 175), radius 58, class 1) over rows 105..114, columns 130..139: its edge, 0s and 1s.
  const expected: number[] = [];
  for (let y = 105; y < 115; y++) for (let x = 130; x < 140; x++) expected.push((y - 150) ** 2 + (x - 175) ** 2 <= 58 * 58 ? 1 : 0);
  assert.deepEqual(tensorAfter(out, "y[105:115, 130:140] ="), expected);
  assert.match(out, /^VOC_CLASSES\[1\] = aeroplane$/m);
  assert.match(out, /^read 5 examples \(1 smaller than the crop left out\)$/m);
  assert.match(out, /^read 2 examples$/m);
  assert.match(out, /^X\.shape = \[4, 3, 320, 480\], Y\.shape = \[4, 320, 480\] int64$/m);
  wrote("voc-images-labels.png");
  wrote("voc-random-crops.png");
});

test("transposed_conv (14.10): the book's outputs by hand, by layer, with padding and stride, and as matrices", { timeout: 90_000 }, async () => {
  const out = await runExample("transposed_conv");
  assert.deepEqual(tensorAfter(out, "trans_conv(X, K) ="), [0, 0, 1, 0, 4, 6, 4, 12, 9]);
  assert.deepEqual(tensorAfter(out, "ConvTranspose2d(1, 1, 2) ="), [0, 0, 1, 0, 4, 6, 4, 12, 9]);
  assert.deepEqual(tensorAfter(out, "padding=1:"), [4]);
  assert.deepEqual(tensorAfter(out, "stride=2:"), [0, 0, 0, 1, 0, 0, 2, 3, 0, 2, 0, 3, 4, 6, 6, 9]);
  assert.match(out, /^tconv\(conv\(X\)\)\.shape == X\.shape: True \(\[1, 10, 16, 16\]\)$/m);
  assert.deepEqual(tensorAfter(out, "corr2d(X, K) ="), [27, 37, 57, 67]);
  assert.deepEqual(tensorAfter(out, "kernel2matrix(K) ="), [1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4]);
  assert.match(out, /^Y == matmul\(W, X\.reshape\(-1\)\)\.reshape\(2, 2\): True$/m);
  assert.match(out, /^trans_conv\(Y, K\) == matmul\(W\.T, Y\.reshape\(-1\)\)\.reshape\(3, 3\): True$/m);
});

test("fcn (14.11): the body's 1/32 map, bilinear x2 upsampling, and the FCN's loss falls", { timeout: 90_000 }, async () => {
  const out = await runExample("fcn");
  assert.match(out, /^last children: layer4, avgpool, fc$/m);
  assert.match(out, /^net\(X\)\.shape for X of \[1, 3, 320, 480\]: \[1, 512, 10, 15\]$/m);
  assert.match(out, /^input image shape: \[300, 451, 3\]$/m);
  assert.match(out, /^output image shape: \[600, 902, 3\]$/m);
  assertFalls(series(out, /^epoch \d+: loss ([\d.]+), train acc/), "FCN loss");
  assert.match(out, /^epoch 3: loss [\d.]+, train acc [\d.]+, test acc [\d.]+$/m);
  wrote("fcn-bilinear-x2.png");
  wrote("fcn-predictions.png");
});

test("style_transfer (14.12): the synthesised image's total loss falls", { timeout: 90_000 }, async () => {
  const out = await runExample("style_transfer");
  assert.match(out, /^features: random multi-scale filters/m);
  const totals = series(out, /^epoch \d+: content [\d.]+, style [\d.]+, TV [\d.]+, total ([\d.]+)$/);
  assert.equal(totals.length, 5, out);
  assertFalls(totals, "style transfer loss");
  wrote("style-transfer.png");
});
