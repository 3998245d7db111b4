// flare/vision utils: makeGrid, drawBoundingBoxes and drawSegmentationMasks against
// torchvision 0.14 (tests/fixtures/vision_utils.safetensors, scripts/fixtures/vision_utils.py),
// pixel checks of boxes, fill and labels, label-map colouring and saveImage.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import {
  makeGrid, saveImage, drawBoundingBoxes, drawSegmentationMasks, colorizeLabelMap,
  VOC_COLORMAP, VOC_CLASSES, parseColor, defaultPalette, renderText,
} from "../src/vision/utils/index.js";
import { readImage } from "../src/vision/io.js";
import { assertClose, assertFlareError, loadFixture } from "./helpers.js";

const fx = loadFixture("vision_utils");
const get = (name: string) => { const t = fx.get(name); assert.ok(t, `fixture ${name}`); return t; };

function assertEqualTensor(actual: torch.Tensor, expected: torch.Tensor, what: string): void {
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assertClose(actual, expected, { rtol: 0, atol: 0, what });
}

test("makeGrid matches torchvision.utils.make_grid", () => torch.tidy(() => {
  const batch = get("grid_batch"), grey = get("grid_grey"), signed = get("grid_signed"), u8 = get("grid_u8");
  assertEqualTensor(makeGrid(batch, { nrow: 3 }), get("grid_a"), "nrow 3");
  assertClose(makeGrid(grey.unbind(0), { nrow: 2, padding: 1, normalize: true, padValue: 0.5 }), get("grid_b"), { what: "grey list, normalize", atol: 1e-6 });
  assertClose(makeGrid(signed, { normalize: true, valueRange: [-1, 1] }), get("grid_c"), { what: "valueRange", atol: 1e-6 });
  assertClose(makeGrid(signed, { nrow: 3, normalize: true, scaleEach: true, padding: 0 }), get("grid_d"), { what: "scaleEach", atol: 1e-6 });
  assertEqualTensor(makeGrid(u8, { padding: 3, padValue: 255 }), get("grid_e"), "uint8, padValue 255");
  assertEqualTensor(makeGrid(batch.index(0)), get("grid_f"), "single image");
}));

test("makeGrid: shapes and bad input", () => torch.tidy(() => {
  assert.deepEqual(makeGrid(torch.zeros([10, 3, 4, 5]), { nrow: 4, padding: 1 }).shape, [3, 3 * 5 + 1, 4 * 6 + 1]);
  assert.deepEqual(makeGrid(torch.zeros([2, 1, 4, 5])).shape, [3, 8, 16]);
  assert.deepEqual(makeGrid(torch.zeros([4, 5])).shape, [3, 4, 5]);
  assertFlareError(() => makeGrid([]), /empty/);
  assertFlareError(() => makeGrid([torch.zeros([3, 4, 4]), torch.zeros([3, 4, 5])]), /same shape.*image 1/, "E_SHAPE");
  assertFlareError(() => makeGrid(torch.zeros([1, 2, 3, 4, 5])), /B×C×H×W/, "E_SHAPE");
  assertFlareError(() => makeGrid(torch.zeros([2, 3, 4, 4]), { nrow: 0 }), /nrow/);
}));

test("drawBoundingBoxes matches torchvision (outline widths, clipping, fill blend, grey input)", () => torch.tidy(() => {
  const image = get("box_image"), boxes = get("boxes");
  assertEqualTensor(drawBoundingBoxes(image, boxes, { width: 2 }), get("box_a"), "width 2, default palette");
  assertEqualTensor(drawBoundingBoxes(image, boxes, { colors: ["red", [0, 255, 0], "#0000ff", "yellow"], fill: true }), get("box_b"), "fill");
  assertEqualTensor(drawBoundingBoxes(image.index("0:1"), boxes.index("0:2"), { colors: "white", width: 3 }), get("box_c"), "grey, width 3");
  // boxes as plain arrays work too
  assertEqualTensor(drawBoundingBoxes(image, boxes.tolist() as number[][], { width: 2 }), get("box_a"), "array boxes");
}));

test("drawBoundingBoxes: border pixels coloured, interior untouched unless fill, label ink inside the box", () => torch.tidy(() => {
  const image = torch.full([3, 20, 30], 7, { dtype: "uint8" });
  const out = drawBoundingBoxes(image, torch.tensor([[5, 4, 25, 15]]), { colors: [[200, 10, 20]], width: 2 });
  const px = (t: torch.Tensor, x: number, y: number) => t.index(":", y, x).tolist();
  for (const [x, y] of [[5, 4], [25, 15], [6, 5], [24, 14], [15, 4], [15, 15], [5, 10], [26 - 2, 10]]) assert.deepEqual(px(out, x, y), [200, 10, 20], `border (${x}, ${y})`);
  for (const [x, y] of [[7, 6], [23, 13], [15, 10], [4, 4], [26, 15], [5, 3], [5, 16]]) assert.deepEqual(px(out, x, y), [7, 7, 7], `not border (${x}, ${y})`);
  assert.deepEqual(px(image, 5, 4), [7, 7, 7], "the input image is not modified");

  const filled = drawBoundingBoxes(image, [[5, 4, 25, 15]], { colors: "#c80a14", fill: true });
  // PIL's blend of alpha 100: round((7·155 + c·100) / 255)
  assert.deepEqual(px(filled, 15, 10), [Math.round((7 * 155 + 200 * 100) / 255), Math.round((7 * 155 + 1000) / 255), Math.round((7 * 155 + 2000) / 255)]);
  assert.deepEqual(px(filled, 5, 4), [200, 10, 20]);
  assert.deepEqual(px(filled, 4, 10), [7, 7, 7]);

  const big = torch.zeros([3, 40, 60], { dtype: "uint8" });
  const labelled = drawBoundingBoxes(big, [[2, 3, 50, 30]], { labels: ["cat"], colors: "lime" });
  const green = labelled.index(1).gt(0);
  // the label starts at (x1 + width + 1, y1 + width + 1) = (4, 5) and is 17×7 pixels
  const text = renderText("cat");
  assert.deepEqual([text.width, text.height], [17, 7]);
  const inkInside = green.index("5:12", "4:21").sum().item();
  assert.equal(inkInside, text.mask.reduce((a, b) => a + b, 0));
  assert.equal(green.index("12:29", "4:49").sum().item(), 0, "nothing else inside the box");
  const large = drawBoundingBoxes(big, [[2, 3, 50, 30]], { labels: ["cat"], colors: "lime", fontSize: 20 });
  assert.equal(large.index(1).gt(0).index("5:19", "4:38").sum().item(), 4 * inkInside, "fontSize 20 draws at scale 2");
  // a label that runs off the image is clipped, not an error
  drawBoundingBoxes(big, [[50, 35, 59, 39]], { labels: ["long label"] });
}));

test("drawBoundingBoxes: bad input", () => torch.tidy(() => {
  const image = torch.zeros([3, 10, 10], { dtype: "uint8" });
  assertFlareError(() => drawBoundingBoxes(image, [[5, 5, 2, 8]]), /box 0.*x2 < x1/);
  assertFlareError(() => drawBoundingBoxes(image.float(), [[1, 1, 2, 2]]), /uint8/, "E_DTYPE");
  assertFlareError(() => drawBoundingBoxes(image.unsqueeze(0), [[1, 1, 2, 2]]), /one image/, "E_SHAPE");
  assertFlareError(() => drawBoundingBoxes(image, torch.zeros([2, 3])), /N×4/, "E_SHAPE");
  assertFlareError(() => drawBoundingBoxes(image, [[1, 1, 2, 2]], { labels: ["a", "b"] }), /1 boxes but 2 labels/);
  assertFlareError(() => drawBoundingBoxes(image, [[1, 1, 2, 2], [1, 1, 3, 3]], { colors: ["red"] }), /1 colours for 2/);
  assertFlareError(() => drawBoundingBoxes(image, [[1, 1, 2, 2]], { colors: "notacolour" }), /cannot read colour/);
  assert.deepEqual(drawBoundingBoxes(image, []).shape, [3, 10, 10]);
}));

test("drawSegmentationMasks matches torchvision's blend", () => torch.tidy(() => {
  const image = get("box_image"), masks = get("masks");
  assertEqualTensor(drawSegmentationMasks(image, masks, { alpha: 0.6, colors: ["red", [0, 0, 255]] }), get("mask_a"), "alpha 0.6");
  assertEqualTensor(drawSegmentationMasks(image, masks), get("mask_b"), "default alpha and palette");
  assertEqualTensor(drawSegmentationMasks(image, masks.index(0), { alpha: 0.35, colors: "#102030" }), get("mask_c"), "one H×W mask");
  const px = drawSegmentationMasks(torch.full([3, 2, 2], 100, { dtype: "uint8" }), torch.tensor([[true, false], [false, false]]), { alpha: 0.5, colors: [[200, 0, 50]] });
  assert.deepEqual(px.index(":", 0, 0).tolist(), [150, 50, 75]);
  assert.deepEqual(px.index(":", 1, 1).tolist(), [100, 100, 100]);
  assertFlareError(() => drawSegmentationMasks(image, masks.to("uint8")), /bool/, "E_DTYPE");
  assertFlareError(() => drawSegmentationMasks(image, masks.index(":", "0:5")), /masks are 5×40 but the image is 32×40/, "E_SHAPE");
  assertFlareError(() => drawSegmentationMasks(image.index("0:1"), masks), /3 channels/, "E_SHAPE");
}));

test("VOC colormap and colorizeLabelMap", () => torch.tidy(() => {
  assert.equal(VOC_COLORMAP.length, 21);
  assert.equal(VOC_CLASSES.length, 21);
  assert.deepEqual(VOC_COLORMAP[15], [192, 128, 128]); // person
  const labels = torch.tensor([[0, 1, 15], [20, 255, 2]], { dtype: "int64" });
  const rgb = colorizeLabelMap(labels);
  assert.equal(rgb.dtype, "uint8");
  assert.deepEqual(rgb.shape, [3, 2, 3]);
  assert.deepEqual(rgb.permute(1, 2, 0).tolist(), [[[0, 0, 0], [128, 0, 0], [192, 128, 128]], [[0, 64, 128], [255, 255, 255], [0, 128, 0]]]);
  const custom = colorizeLabelMap(labels.to("uint8"), { ignoreColor: [224, 224, 192] });
  assert.deepEqual(custom.index(":", 1, 1).tolist(), [224, 224, 192]);
  const batch = colorizeLabelMap(torch.stack([labels, labels]).to("int32"));
  assert.deepEqual(batch.shape, [2, 3, 2, 3]);
  assertClose(batch.index(1), rgb, { atol: 0 });
  const two = colorizeLabelMap(torch.tensor([[0, 1], [1, 9]], { dtype: "int64" }), { colormap: ["black", "#ff0000"], ignoreIndex: 9, ignoreColor: "blue" });
  assert.deepEqual(two.permute(1, 2, 0).tolist(), [[[0, 0, 0], [255, 0, 0]], [[255, 0, 0], [0, 0, 255]]]);
  assertFlareError(() => colorizeLabelMap(torch.tensor([[0, 21]], { dtype: "int64" })), /label 21 has no colour.*21 colours/);
  assertFlareError(() => colorizeLabelMap(torch.tensor([[0, -1]], { dtype: "int64" })), /label -1 is negative/);
  assertFlareError(() => colorizeLabelMap(torch.zeros([2, 2])), /integer class ids/, "E_DTYPE");
}));

test("colours: names, hex, rgb(), torchvision's default palette", () => {
  assert.deepEqual(parseColor("red"), [255, 0, 0]);
  assert.deepEqual(parseColor("#0f8"), [0, 255, 136]);
  assert.deepEqual(parseColor("#102030"), [16, 32, 48]);
  assert.deepEqual(parseColor("rgb(1, 2, 3)"), [1, 2, 3]);
  assert.deepEqual(parseColor([9, 8, 7]), [9, 8, 7]);
  assertFlareError(() => parseColor([300, 0, 0]), /0\.\.255/);
  // torchvision: [tuple((i * torch.tensor([2**25 - 1, 2**15 - 1, 2**21 - 1])) % 255) for i in range(5)]
  assert.deepEqual(defaultPalette(5), [[0, 0, 0], [1, 127, 31], [2, 254, 62], [3, 126, 93], [4, 253, 124]]);
});

test("saveImage writes makeGrid's grid as PNG, float rounded as torchvision", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-utils-"));
  try {
    const batch = torch.rand([3, 3, 8, 9]);
    const file = path.join(dir, "grid.png");
    await saveImage(batch, file, { nrow: 2, padding: 1 });
    const back = await readImage(file);
    const expected = torch.tidy(() => makeGrid(batch, { nrow: 2, padding: 1 }).mul(255).add(0.5).clamp(0, 255).to("uint8"));
    assertClose(back, expected, { atol: 0, what: "saved grid" });
    const u8 = torch.randint(0, 256, [3, 5, 6], { dtype: "uint8" });
    await saveImage(u8, path.join(dir, "one.webp"), { lossless: true });
    assertClose(await readImage(path.join(dir, "one.webp")), u8, { atol: 0, what: "uint8 saved as it is" });
    await assert.rejects(saveImage(u8, path.join(dir, "x.bmp")), (e: Error) => e.name === "FlareError" && /\.png, \.jpg/.test(e.message));
    torch.dispose([batch, back, expected, u8]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
