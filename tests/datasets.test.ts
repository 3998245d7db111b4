// flare/vision datasets on small files the tests write in each format's real
// layout: CIFAR-10 binary, ImageFolder, VOC segmentation and detection, COCO,
// d2l's bananas; and the bad inputs (each a FlareError naming the file).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { encodeImage, readImage } from "../src/vision/io.js";
import { VOC_COLORMAP } from "../src/vision/utils/colormap.js";
import { CIFAR10 } from "../src/vision/datasets/cifar.js";
import { ImageFolder } from "../src/vision/datasets/image_folder.js";
import { VOCSegmentation, VOCDetection, vocLabelIndices, parseVocAnnotation } from "../src/vision/datasets/voc.js";
import { CocoDetection } from "../src/vision/datasets/coco.js";
import { BananaDetection } from "../src/vision/datasets/bananas.js";
import { encodePalettePng, vocPalette } from "../src/vision/datasets/palette_png.js";
import { parseXml } from "../src/vision/datasets/xml.js";
import { imageSizeFromHeader } from "../src/vision/datasets/_common.js";
import { DataLoader, detectionCollate } from "../src/data/index.js";
import { assertFlareError, settledTensors } from "./helpers.js";

let dir = "";
before(() => { dir = mkdtempSync(path.join(tmpdir(), "flare-datasets-")); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

function folder(...parts: string[]): string {
  const d = path.join(dir, ...parts);
  mkdirSync(d, { recursive: true });
  return d;
}

async function rejectsFlare(promise: Promise<unknown>, pattern: RegExp, code?: string): Promise<void> {
  await assert.rejects(promise, (error: Error & { code?: string }) => {
    assert.equal(error.name, "FlareError", `expected a FlareError, got ${String(error)}`);
    assert.match(error.message, pattern);
    if (code) assert.equal(error.code, code);
    return true;
  });
}

/** A uint8 3×h×w image with a flat colour (survives JPEG within a few levels). */
function flat(h: number, w: number, rgb: [number, number, number]): torch.Tensor {
  return torch.tidy(() => torch.tensor(rgb, { dtype: "uint8" }).view(3, 1, 1).expand(3, h, w).contiguous());
}

/** Encodes an image to a file and frees it. */
async function writePng(file: string, image: torch.Tensor): Promise<void> {
  writeFileSync(file, await encodeOnce(image, "png"));
}

async function writeJpeg(file: string, image: torch.Tensor): Promise<void> {
  writeFileSync(file, await encodeOnce(image, "jpeg"));
}

async function encodeOnce(image: torch.Tensor, format: "png" | "jpeg"): Promise<Buffer> {
  try { return await encodeImage(image, format, format === "jpeg" ? { quality: 95 } : {}); } finally { image.dispose(); }
}

function sameTensor(a: torch.Tensor, b: torch.Tensor): boolean {
  const bytes = (t: torch.Tensor) => { const d = t.dataSync() as Uint8Array; return Buffer.from(d.buffer, d.byteOffset, d.byteLength); };
  return JSON.stringify(a.shape) === JSON.stringify(b.shape) && a.dtype === b.dtype && bytes(a).equals(bytes(b));
}

function leakCheck(): () => void {
  const before = settledTensors();
  return () => assert.equal(torch.memory().numTensors, before, "tensors left alive");
}

// ---------------------------------------------------------------- CIFAR-10

function cifarRecord(label: number, seed: number): Buffer {
  const record = Buffer.alloc(3073);
  record[0] = label;
  for (let i = 1; i < 3073; i++) record[i] = (i * 7 + seed * 31) & 0xff;
  return record;
}

test("CIFAR10 reads the binary batches: 1 label byte + 3072 planar pixels per record, class names from batches.meta.txt", async () => {
  const root = folder("cifar");
  const bin = folder("cifar", "cifar-10-batches-bin");
  for (let b = 1; b <= 5; b++) writeFileSync(path.join(bin, `data_batch_${b}.bin`), Buffer.concat([cifarRecord(b, b * 10), cifarRecord(9 - b, b * 10 + 1)]));
  writeFileSync(path.join(bin, "test_batch.bin"), Buffer.concat([cifarRecord(3, 100), cifarRecord(0, 101), cifarRecord(7, 102)]));
  writeFileSync(path.join(bin, "batches.meta.txt"), "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");

  const done = leakCheck();
  const train = new CIFAR10({ root });
  assert.equal(train.length, 10);
  assert.deepEqual([...train.targets], [1, 8, 2, 7, 3, 6, 4, 5, 5, 4]);
  assert.equal(train.classes[3], "cat");
  const [image, label] = await train.get(3); // batch 2, second record
  assert.equal(label, 7);
  assert.deepEqual(image.shape, [3, 32, 32]);
  assert.equal(image.dtype, "uint8");
  const expected = cifarRecord(7, 21).subarray(1);
  assert.deepEqual(Buffer.from(image.dataSync() as Uint8Array), expected);
  // Planar: channel 1 (green) starts at byte 1024, pixel (row 2, col 5) of red is byte 2*32+5.
  assert.equal(torch.tidy(() => image.index(1, 0, 0).item()), expected[1024]);
  assert.equal(torch.tidy(() => image.index(0, 2, 5).item()), expected[69]);
  image.dispose();

  const test = new CIFAR10({ root: bin, train: false }); // the batches folder itself works too
  assert.equal(test.length, 3);
  const [lastImage, last] = await test.get(-1);
  assert.equal(last, 7);
  lastImage.dispose();
  const { images, labels } = test.tensors();
  assert.deepEqual(images.shape, [3, 3, 32, 32]);
  assert.deepEqual(Array.from(labels.dataSync() as BigInt64Array, Number), [3, 0, 7]);
  torch.dispose([images, labels]);

  // A transform sees (image, label); returning the image alone keeps the label.
  const flipped = new CIFAR10({ root, transform: (img) => torch.tidy(() => img.flip(2)) });
  const [f, fl] = await flipped.get(0);
  assert.equal(fl, 1);
  assert.equal(torch.tidy(() => f.index(0, 0, 31).item()), cifarRecord(1, 10)[1]);
  f.dispose();
  done();
  await rejectsFlare(train.get(10), /out of range/, "E_INDEX");
});

test("CIFAR10 bad input: truncated batch, missing batch, label beyond the classes", () => {
  const bin = folder("cifar-bad", "cifar-10-batches-bin");
  for (let b = 1; b <= 5; b++) writeFileSync(path.join(bin, `data_batch_${b}.bin`), cifarRecord(1, b));
  writeFileSync(path.join(bin, "data_batch_4.bin"), Buffer.concat([cifarRecord(1, 4), cifarRecord(2, 4).subarray(0, 100)]));
  assertFlareError(() => new CIFAR10({ root: path.dirname(bin) }), /data_batch_4\.bin has 3173 bytes.*truncated/, "E_FORMAT");
  writeFileSync(path.join(bin, "data_batch_4.bin"), cifarRecord(12, 4));
  assertFlareError(() => new CIFAR10({ root: path.dirname(bin) }), /data_batch_4\.bin: record 0 has label 12/, "E_FORMAT");
  rmSync(path.join(bin, "data_batch_4.bin"));
  assertFlareError(() => new CIFAR10({ root: path.dirname(bin) }), /data_batch_4\.bin: no such file/, "E_IO");
  assertFlareError(() => new CIFAR10({ root: path.join(dir, "nowhere") }), /root folder .*nowhere does not exist/, "E_IO");
});

// ---------------------------------------------------------------- ImageFolder

test("ImageFolder: sorted class folders, torchvision's file order (recursive), lazy RGB reads, transforms", async () => {
  const root = folder("hotdog", "train");
  folder("hotdog", "train", "not-hotdog", "deeper");
  folder("hotdog", "train", "hotdog");
  await writePng(path.join(root, "hotdog", "b.png"), flat(6, 5, [200, 10, 10]));
  await writeJpeg(path.join(root, "hotdog", "a.JPG"), flat(8, 8, [10, 200, 10]));
  writeFileSync(path.join(root, "hotdog", "notes.txt"), "not an image");
  const grey = await encodeOnce(torch.full([1, 4, 4], 77, { dtype: "uint8" }), "png");
  writeFileSync(path.join(root, "not-hotdog", "z.png"), grey);
  await writePng(path.join(root, "not-hotdog", "deeper", "c.png"), flat(3, 3, [1, 2, 3]));
  writeFileSync(path.join(root, "README"), "a file at the top is not a class");

  const done = leakCheck();
  const ds = new ImageFolder({ root });
  assert.deepEqual(ds.classes, ["hotdog", "not-hotdog"]);
  assert.deepEqual(ds.classToIdx, { hotdog: 0, "not-hotdog": 1 });
  // torchvision: sorted(os.walk(...)) then sorted names: root's own files before deeper/.
  assert.deepEqual(ds.samples.map(([f, c]) => [path.relative(root, f), c]),
    [["hotdog/a.JPG", 0], ["hotdog/b.png", 0], ["not-hotdog/z.png", 1], ["not-hotdog/deeper/c.png", 1]]);
  assert.deepEqual(ds.targets, [0, 0, 1, 1]);
  const [img, label] = await ds.get(2);
  assert.equal(label, 1);
  assert.deepEqual(img.shape, [3, 4, 4], "grey files come out RGB");
  assert.equal(torch.tidy(() => img.index(2, 3, 3).item()), 77);
  img.dispose();

  const onlyPng = new ImageFolder({ root, extensions: [".png"], transform: (x, y) => [torch.tidy(() => x.float().div(255)), y + 10] });
  assert.equal(onlyPng.length, 3);
  const [x, y] = await onlyPng.get(0);
  assert.equal(y, 10);
  assert.equal(x.dtype, "float32");
  assert.ok(Math.abs(torch.tidy(() => x.index(0, 0, 0).item() as number) - 200 / 255) < 1e-6);
  x.dispose();
  done();
});

test("ImageFolder bad input: empty root, empty class folder (or skipped), unreadable file (at get, or up front with verify)", async () => {
  const empty = folder("if-empty");
  assertFlareError(() => new ImageFolder({ root: empty }), /if-empty has no class folders/, "E_IO");
  const root = folder("if-bad");
  folder("if-bad", "cats");
  folder("if-bad", "dogs");
  await writePng(path.join(root, "dogs", "1.png"), flat(4, 4, [9, 9, 9]));
  writeFileSync(path.join(root, "dogs", "2.png"), Buffer.from("this is text, not a PNG"));
  writeFileSync(path.join(root, "cats", "readme.md"), "no images here");
  assertFlareError(() => new ImageFolder({ root }), /if-bad\/cats: class folder "cats" has no images/, "E_IO");

  const skipping = new ImageFolder({ root, onError: "skip" });
  assert.deepEqual(skipping.classes, ["cats", "dogs"], "an empty class keeps its index");
  assert.equal(skipping.length, 2);
  assert.equal(skipping.skipped.length, 1);
  assert.match(skipping.skipped[0].file, /cats$/);
  await rejectsFlare(skipping.get(1), /ImageFolder: .*dogs\/2\.png: .*not an image/, "E_FORMAT");

  assertFlareError(() => new ImageFolder({ root, verify: true, onError: "raise" }), /cats/);
  const verified = new ImageFolder({ root, verify: true, onError: "skip" });
  assert.equal(verified.length, 1);
  assert.deepEqual(verified.skipped.map((s) => path.basename(s.file)).sort(), ["2.png", "cats"]);
  assert.match(verified.skipped.find((s) => s.file.endsWith("2.png"))!.problem, /not an image/);
  const [ok] = await verified.get(0);
  ok.dispose();

  // A truncated image: the header is fine, the pixels are cut off.
  const full = await encodeOnce(torch.randint(0, 256, [3, 64, 64], { dtype: "uint8" }), "png");
  writeFileSync(path.join(root, "dogs", "2.png"), full.subarray(0, full.length >> 1));
  const truncated = new ImageFolder({ root, onError: "skip", verify: true });
  assert.equal(truncated.length, 2);
  await rejectsFlare(truncated.get(1), /dogs\/2\.png: truncated or corrupt/, "E_FORMAT");
  assertFlareError(() => new ImageFolder({ root, onError: "maybe" as "skip" }), /onError must be "raise" or "skip"/);
});

// ---------------------------------------------------------------- VOC segmentation

/** Label ids for an h×w image: background, a class-k block, a border of 255 around it. */
function labelMap(h: number, w: number, k: number, seed: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const inside = x >= 4 + seed && x < w - 3 && y >= 3 && y < h - 4;
    const edge = inside && (x === 4 + seed || y === 3);
    out[y * w + x] = edge ? 255 : inside ? k : (x + y + seed) % 7 === 0 ? 15 : 0;
  }
  return out;
}

async function writeVocSegmentation(root: string, items: { id: string; h: number; w: number; k: number }[], split: string): Promise<Map<string, Uint8Array>> {
  for (const d of ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"]) mkdirSync(path.join(root, d), { recursive: true });
  const labels = new Map<string, Uint8Array>();
  for (const [n, { id, h, w, k }] of items.entries()) {
    const ids = labelMap(h, w, k, n);
    labels.set(id, ids);
    writeFileSync(path.join(root, "SegmentationClass", `${id}.png`), encodePalettePng(ids, w, h));
    const image = torch.tidy(() => torch.arange(3 * h * w).view(3, h, w).remainder(251).to("uint8"));
    await writeJpeg(path.join(root, "JPEGImages", `${id}.jpg`), image);
  }
  writeFileSync(path.join(root, "ImageSets", "Segmentation", `${split}.txt`), items.map((i) => i.id).join("\n") + "\n");
  return labels;
}

test("palette PNGs: VOC's 256-colour palette starts with VOC_COLORMAP and ends with the border colour; sharp reads them back as those colours", async () => {
  const palette = vocPalette();
  assert.deepEqual(palette.slice(0, 21), VOC_COLORMAP.map((c) => [...c]));
  assert.deepEqual(palette[255], [224, 224, 192]);
  const ids = labelMap(9, 11, 12, 1);
  const png = encodePalettePng(ids, 11, 9);
  writeFileSync(path.join(dir, "p.png"), png);
  assert.deepEqual(imageSizeFromHeader(path.join(dir, "p.png")), [11, 9]);
  const rgb = await readImage(png, { mode: "rgb" });
  assert.deepEqual(rgb.shape, [3, 9, 11]);
  const back = vocLabelIndices(rgb.dataSync() as Uint8Array, 9, 11);
  assert.deepEqual([...back], [...ids]);
  rgb.dispose();
});

test("VOCSegmentation: palette labels → class ids (255 border = ignore), d2l's filter and seeded joint random crop", async () => {
  const root = folder("voc-seg", "VOCdevkit", "VOC2012");
  const labels = await writeVocSegmentation(root, [
    { id: "2007_000032", h: 30, w: 40, k: 1 }, { id: "2007_000033", h: 20, w: 16, k: 12 }, { id: "2007_000039", h: 24, w: 36, k: 20 },
  ], "train");

  const done = leakCheck();
  const whole = new VOCSegmentation({ root: path.join(dir, "voc-seg") }); // finds VOCdevkit/VOC2012
  assert.equal(whole.length, 3);
  const [img, lab] = await whole.get(1);
  assert.deepEqual(img.shape, [3, 20, 16]);
  assert.deepEqual(lab.shape, [20, 16]);
  assert.equal(lab.dtype, "int64");
  assert.deepEqual(Array.from(lab.dataSync() as BigInt64Array, Number), [...labels.get("2007_000033")!]);
  torch.dispose([img, lab]);

  const crop: [number, number] = [18, 24];
  const a = new VOCSegmentation({ root, crop, generator: new torch.Generator(5) });
  const b = new VOCSegmentation({ root, crop, generator: new torch.Generator(5) });
  assert.deepEqual(a.ids, ["2007_000032", "2007_000039"], "the 16-wide image is smaller than the crop");
  assert.deepEqual(a.filtered, ["2007_000033"]);
  const fullImage = await readImage(path.join(root, "JPEGImages", "2007_000032.jpg"), { mode: "rgb" });
  const seen = new Set<string>();
  for (let round = 0; round < 6; round++) {
    const [ci, cl] = await a.get(0);
    const [di, dl] = await b.get(0);
    assert.deepEqual(ci.shape, [3, 18, 24]);
    assert.deepEqual(cl.shape, [18, 24]);
    assert.ok(sameTensor(ci, di) && sameTensor(cl, dl), "same seed, same windows");
    // Find the window: the image crop equals exactly one window of the full image, and the labels match there.
    let found = 0;
    for (let top = 0; top <= 12; top++) for (let left = 0; left <= 16; left++) {
      if (!torch.tidy(() => sameTensor(fullImage.index(":", `${top}:${top + 18}`, `${left}:${left + 24}`), ci))) continue;
      found++;
      seen.add(`${top},${left}`);
      const full = labels.get("2007_000032")!;
      const want: number[] = [];
      for (let y = 0; y < 18; y++) for (let x = 0; x < 24; x++) want.push(full[(top + y) * 40 + left + x]);
      assert.deepEqual(Array.from(cl.dataSync() as BigInt64Array, Number), want, "labels cropped with the image's window");
    }
    assert.ok(found >= 1, "the crop is a window of the image");
    torch.dispose([ci, cl, di, dl]);
  }
  assert.ok(seen.size > 1, "windows vary");
  fullImage.dispose();
  done();
});

test("VOCSegmentation bad input: colour outside the colormap, label size differs from its image, missing files, RGB labels", async () => {
  const root = folder("voc-seg-bad");
  await writeVocSegmentation(root, [{ id: "a", h: 12, w: 10, k: 3 }, { id: "b", h: 12, w: 10, k: 4 }], "val");
  // Palette index 30 is a real VOC palette colour but not one of the 21 classes.
  const ids = labelMap(12, 10, 3, 0);
  ids[5 * 10 + 7] = 30;
  writeFileSync(path.join(root, "SegmentationClass", "a.png"), encodePalettePng(ids, 10, 12));
  writeFileSync(path.join(root, "SegmentationClass", "b.png"), encodePalettePng(labelMap(11, 10, 4, 1), 10, 11));
  const ds = new VOCSegmentation({ root, imageSet: "val" });
  const p30 = vocPalette()[30];
  await rejectsFlare(ds.get(0), new RegExp(`SegmentationClass/a\\.png: pixel \\(x=7, y=5\\) has colour \\(${p30.join(", ")}\\), which is not in the colormap`), "E_FORMAT");
  await rejectsFlare(ds.get(1), /label .*b\.png is 10×11 but its image .*b\.jpg is 10×12/, "E_SHAPE");

  // Labels written as RGB with the VOC colours read the same as palette files.
  const plain = labelMap(12, 10, 4, 1).map((v) => (v === 255 ? 0 : v));
  const planes = new Uint8Array(3 * 120);
  plain.forEach((v, p) => { for (let c = 0; c < 3; c++) planes[c * 120 + p] = VOC_COLORMAP[v][c]; });
  const rgbLabels = torch.fromTypedArray(planes, [3, 12, 10]);
  await writePng(path.join(root, "SegmentationClass", "b.png"), rgbLabels);
  const [ib, lb] = await ds.get(1);
  assert.deepEqual(Array.from(lb.dataSync() as BigInt64Array, Number), [...plain]);
  torch.dispose([ib, lb]);

  // labelMode "index": one-channel PNGs of class ids (SegmentationClassAug).
  const idsB = labelMap(12, 10, 4, 1);
  await writePng(path.join(root, "SegmentationClass", "b.png"), torch.fromTypedArray(idsB, [1, 12, 10]));
  const byIndex = new VOCSegmentation({ root, imageSet: "val", labelMode: "index" });
  const [ix, lx] = await byIndex.get(1);
  assert.deepEqual(Array.from(lx.dataSync() as BigInt64Array, Number), [...idsB]);
  torch.dispose([ix, lx]);
  await rejectsFlare(ds.get(1), /b\.png: pixel \(x=6, y=0\) has colour \(15, 15, 15\), which is not in the colormap/, "E_FORMAT");
  idsB[3] = 40;
  await writePng(path.join(root, "SegmentationClass", "b.png"), torch.fromTypedArray(idsB, [1, 12, 10]));
  await rejectsFlare(byIndex.get(1), /b\.png: pixel \(x=3, y=0\) has value 40, which is not a class id \(0\.\.20\) or 255/, "E_FORMAT");
  await rejectsFlare(byIndex.get(0), /a\.png has 3 channels; labelMode "index" needs one-channel label images/, "E_FORMAT");

  rmSync(path.join(root, "SegmentationClass", "a.png"));
  assertFlareError(() => new VOCSegmentation({ root, imageSet: "val" }), /SegmentationClass\/a\.png: no such label file/, "E_IO");
  const skipping = new VOCSegmentation({ root, imageSet: "val", onError: "skip" });
  assert.deepEqual(skipping.ids, ["b"]);
  assert.equal(skipping.skipped.length, 1);
  assertFlareError(() => new VOCSegmentation({ root, imageSet: "test" }), /ImageSets\/Segmentation\/test\.txt: no such file/, "E_IO");
  assertFlareError(() => new VOCSegmentation({ root, imageSet: "val", crop: [0, 5] }), /crop must be \[height, width\]/);
  assertFlareError(() => new VOCSegmentation({ root, imageSet: "val", crop: [13, 10], onError: "skip" }), /all 1 images of val are smaller than the 10×13 \(width×height\) crop/);
  writeFileSync(path.join(root, "ImageSets", "Segmentation", "empty.txt"), "\n\n");
  assertFlareError(() => new VOCSegmentation({ root, imageSet: "empty" }), /split list .*empty\.txt names no images/, "E_FORMAT");
  // A JPEG whose header is cut short is found when the crop filter reads its size.
  writeFileSync(path.join(root, "JPEGImages", "b.jpg"), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00]));
  const headerless = new VOCSegmentation({ root, imageSet: "val", crop: [4, 4], onError: "skip" });
  assert.equal(headerless.length, 0);
  assert.match(headerless.skipped[1].file, /b\.jpg$/);
  assert.match(headerless.skipped[1].problem, /truncated header/);
});

// ---------------------------------------------------------------- VOC detection

function vocXml(file: string, size: [number, number] | null, objects: { name: string; box: number[]; difficult?: number }[], extra = ""): string {
  return `<?xml version="1.0"?>
<!-- written by the test -->
${extra}<annotation>
  <folder>VOC2012</folder>
  <filename>${file}</filename>
  <source><database>The VOC2007 Database</database></source>
  ${size ? `<size><width>${size[0]}</width><height>${size[1]}</height><depth>3</depth></size>` : ""}
  <segmented>0</segmented>
${objects.map((o) => `  <object>
    <name>${o.name}</name><pose>Left</pose><truncated>1</truncated><difficult>${o.difficult ?? 0}</difficult>
    <bndbox><xmin>${o.box[0]}</xmin><ymin>${o.box[1]}</ymin><xmax>${o.box[2]}</xmax><ymax>${o.box[3]}</ymax></bndbox>
    <part><name>head</name><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>999</xmax><ymax>999</ymax></bndbox></part>
  </object>`).join("\n")}
</annotation>
`;
}

async function writeVocDetection(root: string): Promise<void> {
  for (const d of ["JPEGImages", "Annotations", "ImageSets/Main"]) mkdirSync(path.join(root, d), { recursive: true });
  for (const [id, w, h] of [["2008_000001", 48, 32], ["2008_000002", 20, 20]] as const) {
    const image = flat(h, w, [90, 120, 30]);
    await writeJpeg(path.join(root, "JPEGImages", `${id}.jpg`), image);
  }
  writeFileSync(path.join(root, "Annotations", "2008_000001.xml"), vocXml("2008_000001.jpg", [48, 32], [
    { name: "dog", box: [1, 2, 30, 31] }, { name: "person", box: [10.5, 0, 48, 20], difficult: 1 }, { name: "tvmonitor", box: [3, 3, 3, 9] },
  ]));
  writeFileSync(path.join(root, "Annotations", "2008_000002.xml"), vocXml("2008_000002.jpg", [20, 20], []));
  writeFileSync(path.join(root, "ImageSets", "Main", "train.txt"), "2008_000001\n2008_000002\n");
}

test("VOCDetection: XML → boxes (float32 xyxy as in the file), VOC class indices, difficult flags; custom classes", async () => {
  const root = folder("voc-det");
  await writeVocDetection(root);
  const done = leakCheck();
  const ds = new VOCDetection({ root });
  assert.equal(ds.length, 2);
  const [image, target] = await ds.get(0);
  assert.deepEqual(image.shape, [3, 32, 48]);
  assert.equal(target.imageId, "2008_000001");
  assert.equal(target.boxes.dtype, "float32");
  assert.deepEqual(target.boxes.tolist(), [[1, 2, 30, 31], [10.5, 0, 48, 20], [3, 3, 3, 9]]);
  assert.deepEqual(Array.from(target.labels.dataSync() as BigInt64Array, Number), [12, 15, 20], "dog, person, tv/monitor");
  assert.deepEqual(Array.from(target.difficult.dataSync() as Uint8Array), [0, 1, 0]);
  torch.dispose([image, target.boxes, target.labels, target.difficult]);
  const [empty, none] = await ds.get(1);
  assert.deepEqual(none.boxes.shape, [0, 4]);
  torch.dispose([empty, none.boxes, none.labels, none.difficult]);

  const easy = new VOCDetection({ root, keepDifficult: false });
  const [i2, t2] = await easy.get(0);
  assert.deepEqual(Array.from(t2.labels.dataSync() as BigInt64Array, Number), [12, 20]);
  torch.dispose([i2, t2.boxes, t2.labels, t2.difficult]);
  done();
  assertFlareError(() => parseVocAnnotation(vocXml("x.jpg", [9, 9], [{ name: "dog", box: [1, 1, 5, 5] }]), "x.xml", ["background", "cat"]),
    /x\.xml: object 0 has class "dog", which is not one of the 2 classes/, "E_FORMAT");
  const mine = parseVocAnnotation(vocXml("x.jpg", [9, 9], [{ name: "banana", box: [1, 1, 5, 5] }]), "x.xml", ["background", "banana"]);
  assert.deepEqual(mine.objects.map((o) => [o.label, o.box, o.truncated]), [[1, [1, 1, 5, 5], true]]);
});

test("VOCDetection bad input: box outside the image or x2 < x1, malformed XML, DOCTYPE/ENTITY refused, missing annotation, size mismatch", async () => {
  const root = folder("voc-det-bad");
  await writeVocDetection(root);
  const ds = new VOCDetection({ root });
  const ann = path.join(root, "Annotations", "2008_000001.xml");
  const cases: [string, RegExp][] = [
    [vocXml("a.jpg", [48, 32], [{ name: "dog", box: [1, 2, 49, 31] }]), /2008_000001\.xml: object 0 \("dog"\) has box \[1, 2, 49, 31\] outside its 48×32 image/],
    [vocXml("a.jpg", [48, 32], [{ name: "cat", box: [5, 2, 30, 31] }, { name: "dog", box: [20, 2, 10, 31] }]), /object 1 \("dog"\) has box \[20, 2, 10, 31\] with xmax < xmin/],
    [vocXml("a.jpg", [48, 32], [{ name: "dog", box: [-1, 2, 10, 31] }]), /outside its 48×32 image/],
    [vocXml("a.jpg", [48, 32], [{ name: "dog", box: [1, 2, 10, 31] }]).replace("<xmax>10</xmax>", "<xmax>ten</xmax>"), /object 0 \("dog"\) <xmax> is "ten", expected a number/],
    [vocXml("a.jpg", [48, 32], [{ name: "dog", box: [1, 2, 10, 31] }]).replace("</bndbox>", ""), /malformed XML at line \d+: closing tag <\/object> does not match <bndbox>/],
    ["<annotation><object>", /malformed XML at line 1: <object> is not closed/],
    ["", /no root element/],
    [vocXml("a.jpg", [48, 32], [], `<!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n`), /<!DOCTYPE is refused: .*no external entities/],
    ["<annotation><filename>&xxe;</filename></annotation>", /unknown entity &xxe;/],
    ["<annotation>a < b</annotation>", /does not start a tag/],
    ["<notes/>", /root element is <notes>, expected <annotation>/],
    [vocXml("a.jpg", [50, 32], []), /gives the image size 50×32, but .*2008_000001\.jpg is 48×32/],
  ];
  for (const [xml, pattern] of cases) {
    writeFileSync(ann, xml);
    await rejectsFlare(ds.get(0), pattern, "E_FORMAT");
    await rejectsFlare(ds.get(0), /^VOCDetection: .*Annotations\/2008_000001\.xml/, "E_FORMAT");
  }
  // Without <size>, the decoded image is the bound.
  writeFileSync(ann, vocXml("a.jpg", null, [{ name: "dog", box: [0, 0, 49, 31] }]));
  await rejectsFlare(ds.get(0), /object 0 \("dog"\) has box \[0, 0, 49, 31\] outside its 48×32 image/, "E_FORMAT");
  rmSync(ann);
  await rejectsFlare(ds.get(0), /could not read .*2008_000001\.xml: no such file/, "E_IO");
  assertFlareError(() => new VOCDetection({ root }), /Annotations\/2008_000001\.xml: no such annotation file/, "E_IO");
  const skipping = new VOCDetection({ root, onError: "skip" });
  assert.deepEqual(skipping.ids, ["2008_000002"]);
  // A corrupt image behind a good annotation.
  writeFileSync(path.join(root, "JPEGImages", "2008_000002.jpg"), Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0, 4, 1, 2, 3, 4, 5]));
  await rejectsFlare(skipping.get(0), /VOCDetection: .*2008_000002\.jpg: /, "E_FORMAT");
});

test("the XML reader: attributes, entities, character references, CDATA, comments; no entity expansion", () => {
  const root = parseXml(`<?xml version="1.0" encoding="UTF-8"?>\n<a x="1" y='two &amp; &#51;'><!-- c --><b>T&lt;&#x41;&gt;</b><c/><![CDATA[<raw & text>]]>tail</a>`);
  assert.equal(root.name, "a");
  assert.deepEqual(root.attributes, { x: "1", y: "two & 3" });
  assert.equal(root.children[0].text, "T<A>");
  assert.equal(root.children[1].name, "c");
  assert.equal(root.text, "<raw & text>tail");
  assertFlareError(() => parseXml(`<!ENTITY a "b"><a/>`, { source: "e.xml" }), /e\.xml: malformed XML at line 1: <!ENTITY is refused/, "E_FORMAT");
  assertFlareError(() => parseXml(`<a x="1" x="2"/>`), /attribute x repeated/);
  assertFlareError(() => parseXml(`<a>&#0;</a>`), /bad character reference/);
  assertFlareError(() => parseXml(`<a/><b/>`), /a second root element/);
  assertFlareError(() => parseXml(`<a>\n\n</b>`), /line 3: closing tag <\/b> does not match <a>/);
  assertFlareError(() => parseXml("<a>" + "<b>".repeat(300)), /nested deeper than 256/);
});

// ---------------------------------------------------------------- COCO

async function writeCoco(root: string, annotations: unknown): Promise<string> {
  mkdirSync(path.join(root, "images"), { recursive: true });
  for (const [name, w, h] of [["000000000003.jpg", 40, 30], ["000000000001.jpg", 20, 10], ["sub/2.png", 8, 8]] as const) {
    mkdirSync(path.dirname(path.join(root, "images", name)), { recursive: true });
    const image = flat(h, w, [100, 50, 25]);
    writeFileSync(path.join(root, "images", name), await encodeImage(image, name.endsWith(".png") ? "png" : "jpeg"));
    image.dispose();
  }
  const file = path.join(root, "instances.json");
  writeFileSync(file, typeof annotations === "string" ? annotations : JSON.stringify(annotations));
  return file;
}

function cocoJson() {
  return {
    info: { description: "test" },
    images: [
      { id: 3, file_name: "000000000003.jpg", width: 40, height: 30 },
      { id: 1, file_name: "000000000001.jpg", width: 20, height: 10 },
      { id: 2, file_name: "sub/2.png", width: 8, height: 8 },
    ],
    annotations: [
      { id: 10, image_id: 3, category_id: 18, bbox: [1.5, 2, 10, 20.5], area: 150.25, iscrowd: 0, segmentation: [[1, 2, 3, 4]] },
      { id: 11, image_id: 1, category_id: 1, bbox: [0, 0, 20, 10], area: 200, iscrowd: 1 },
      { id: 12, image_id: 3, category_id: 1, bbox: [30, 20, 10.4, 10], iscrowd: 0 },
    ],
    categories: [{ id: 1, name: "person", supercategory: "person" }, { id: 18, name: "dog", supercategory: "animal" }],
  };
}

test("CocoDetection: images sorted by id, xywh → xyxy, category ids, iscrowd, area; boxes within a pixel are clipped", async () => {
  const root = folder("coco");
  const annFile = await writeCoco(root, cocoJson());
  const done = leakCheck();
  const ds = new CocoDetection({ root: path.join(root, "images"), annFile });
  assert.deepEqual(ds.ids, [1, 2, 3]);
  assert.equal(ds.catIdToName.get(18), "dog");
  const [image, target] = await ds.get(2);
  assert.deepEqual(image.shape, [3, 30, 40]);
  assert.equal(target.imageId, 3);
  const boxes = target.boxes.tolist() as number[][];
  assert.deepEqual(boxes[0], [1.5, 2, 11.5, 22.5]);
  assert.deepEqual(boxes[1], [30, 20, 40, 30], "10.4 wide from x=30 overshoots a 40-wide image by 0.4: clipped");
  assert.deepEqual(Array.from(target.labels.dataSync() as BigInt64Array, Number), [18, 1]);
  assert.deepEqual(Array.from(target.iscrowd.dataSync() as BigInt64Array, Number), [0, 0]);
  assert.deepEqual(Array.from(target.area.dataSync() as Float32Array), [150.25, 104]);
  torch.dispose([image, target.boxes, target.labels, target.iscrowd, target.area]);
  const [first, t1] = await ds.get(0);
  assert.deepEqual(Array.from(t1.iscrowd.dataSync() as BigInt64Array, Number), [1]);
  const [second, t2] = await ds.get(1);
  assert.deepEqual(t2.boxes.shape, [0, 4], "an image without annotations");
  torch.dispose([first, second, t1.boxes, t1.labels, t1.iscrowd, t1.area, t2.boxes, t2.labels, t2.iscrowd, t2.area]);
  done();
});

test("CocoDetection bad input: malformed JSON, wrong structure, box outside / negative size, missing or mismatched image", async () => {
  const root = folder("coco-bad");
  const images = path.join(root, "images");
  let annFile = await writeCoco(root, "{\"images\": [1, 2,");
  assertFlareError(() => new CocoDetection({ root: images, annFile }), /instances\.json is not valid JSON/, "E_FORMAT");
  assertFlareError(() => new CocoDetection({ root: images, annFile: path.join(root, "none.json") }), /annotation file .*none\.json: no such file/, "E_IO");
  const structural: [(j: ReturnType<typeof cocoJson>) => unknown, RegExp][] = [
    [(j) => ({ ...j, images: {} }), /"images" is \{\}, expected an array/],
    [(j) => { j.annotations[1].image_id = 99; return j; }, /annotations\[1\] \(id 11\) refers to image_id 99, which is not in "images"/],
    [(j) => { j.annotations[0].category_id = 5; return j; }, /annotations\[0\] \(id 10\) has category_id 5, which is not in "categories"/],
    [(j) => { (j.annotations[2] as { bbox: unknown }).bbox = [1, 2, 3]; return j; }, /annotations\[2\] \(id 12\) has bbox \[1,2,3\], expected \[x, y, width, height\]/],
    [(j) => { j.images[1].file_name = "../../etc/passwd"; return j; }, /images\[1\] \(id 1\): file_name "\.\.\/\.\.\/etc\/passwd" leaves the images folder/],
    [(j) => { j.images.push({ ...j.images[0] }); return j; }, /image id 3 appears twice/],
    [(j) => ({ ...j, images: [], annotations: [] }), /"images" is empty: no samples/],
  ];
  for (const [edit, pattern] of structural) {
    annFile = await writeCoco(root, edit(cocoJson()));
    assertFlareError(() => new CocoDetection({ root: images, annFile }), new RegExp(`instances\\.json: (.*: )?${pattern.source}`), "E_FORMAT");
  }
  const perImage: [(j: ReturnType<typeof cocoJson>) => unknown, number, RegExp][] = [
    [(j) => { j.annotations[0].bbox = [35, 2, 10, 5]; return j; }, 2, /annotation 10 of image id 3 has bbox \[35, 2, 10, 5\] outside its 40×30 image/],
    [(j) => { j.annotations[0].bbox = [5, 2, -3, 5]; return j; }, 2, /annotation 10 of image id 3 has bbox \[5, 2, -3, 5\] with a negative width or height/],
    [(j) => { j.images[1].width = 21; return j; }, 0, /image id 1 is 21×10 in the annotations, but .*000000000001\.jpg is 20×10/],
  ];
  for (const [edit, index, pattern] of perImage) {
    annFile = await writeCoco(root, edit(cocoJson()));
    await rejectsFlare(new CocoDetection({ root: images, annFile }).get(index), pattern, "E_FORMAT");
  }
  annFile = await writeCoco(root, cocoJson());
  rmSync(path.join(images, "sub", "2.png"));
  await rejectsFlare(new CocoDetection({ root: images, annFile }).get(1), /CocoDetection: image id 2: .*sub\/2\.png: no such file/, "E_IO");
});

// ---------------------------------------------------------------- bananas

async function writeBananas(root: string, split: string, rows: string, images: string[]): Promise<void> {
  mkdirSync(path.join(root, split, "images"), { recursive: true });
  for (const name of images) {
    const image = flat(32, 32, [30, 160, 60]);
    await writePng(path.join(root, split, "images", name), image);
  }
  writeFileSync(path.join(root, split, "label.csv"), rows);
}

test("BananaDetection: d2l's layout → [image, target K×5 [class, x1, y1, x2, y2]], normalize divides by the image size; collates with detectionCollate", async () => {
  const root = folder("bananas");
  await writeBananas(root, "bananas_train", "img_name,label,xmin,ymin,xmax,ymax\n0.png,0,4,5,20,30\n1.png,0,0,0,32,32\n1.png,1,8,8,16,24\n", ["0.png", "1.png"]);
  await writeBananas(root, "bananas_val", ",img_name,label,xmin,ymin,xmax,ymax\r\n0,v.png,0,1,2,3,4\r\n", ["v.png"]);
  const done = leakCheck();
  const train = new BananaDetection({ root });
  assert.equal(train.length, 2);
  const [image, target] = await train.get(1);
  assert.deepEqual(image.shape, [3, 32, 32]);
  assert.equal(target.dtype, "float32");
  assert.deepEqual(target.tolist(), [[0, 0, 0, 32, 32], [1, 8, 8, 16, 24]]);
  torch.dispose([image, target]);
  const scaled = new BananaDetection({ root, normalize: true });
  const [i0, t0] = await scaled.get(0);
  assert.deepEqual(t0.tolist(), [[0, 4 / 32, 5 / 32, 20 / 32, 30 / 32]].map((r) => r.map((v) => Math.fround(v))));
  torch.dispose([i0, t0]);
  const val = new BananaDetection({ root, train: false });
  assert.equal(val.entries[0].imgName, "v.png");

  const loader = new DataLoader(train, { batchSize: 2, collateFn: detectionCollate() });
  for await (const [images, labels] of loader as AsyncIterable<[torch.Tensor, torch.Tensor]>) {
    assert.deepEqual(images.shape, [2, 3, 32, 32]);
    assert.deepEqual(labels.tolist(), [[[0, 4, 5, 20, 30], [-1, -1, -1, -1, -1]], [[0, 0, 0, 32, 32], [1, 8, 8, 16, 24]]]);
    torch.dispose([images, labels]);
  }
  done();
});

test("BananaDetection bad input: header, fields, numbers, x2 < x1, box outside the image, missing image or csv", async () => {
  const root = folder("bananas-bad");
  const cases: [string, RegExp][] = [
    ["name,label,xmin,ymin,xmax,ymax\n", /label\.csv: line 1 is "name,label,xmin,ymin,xmax,ymax", expected the header/],
    ["img_name,label,xmin,ymin,xmax,ymax\n0.png,0,1,2,3\n", /label\.csv: line 2 has 5 fields, expected 6/],
    ["img_name,label,xmin,ymin,xmax,ymax\n0.png,0,1,2,3,4\n0.png,0,1,x,3,4\n", /label\.csv: line 3: ymin is "x", expected a number/],
    ["img_name,label,xmin,ymin,xmax,ymax\n0.png,0,10,2,3,4\n", /label\.csv: line 2: box \[10, 2, 3, 4\] has xmax < xmin/],
    ["img_name,label,xmin,ymin,xmax,ymax\n0.png,-1,1,2,3,4\n", /line 2: label -1 is not a class index/],
    ["img_name,label,xmin,ymin,xmax,ymax\n", /lists no images/],
  ];
  for (const [csv, pattern] of cases) {
    await writeBananas(root, "bananas_train", csv, ["0.png"]);
    assertFlareError(() => new BananaDetection({ root }), pattern, "E_FORMAT");
  }
  await writeBananas(root, "bananas_train", "img_name,label,xmin,ymin,xmax,ymax\n0.png,0,1,2,33,4\n", ["0.png"]);
  await rejectsFlare(new BananaDetection({ root }).get(0), /label\.csv: box \[1, 2, 33, 4\] of 0\.png is outside its 32×32 image/, "E_FORMAT");
  await writeBananas(root, "bananas_train", "img_name,label,xmin,ymin,xmax,ymax\n0.png,0,1,2,3,4\n9.png,0,1,2,3,4\n", ["0.png"]);
  assertFlareError(() => new BananaDetection({ root }), /images\/9\.png: no such image \(named in .*label\.csv\)/, "E_IO");
  assert.equal(new BananaDetection({ root, onError: "skip" }).length, 1);
  assertFlareError(() => new BananaDetection({ root, train: false }), /bananas_val\/label\.csv: no such file/, "E_IO");
});
