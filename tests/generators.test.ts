// The data generators: deterministic from a seed, written in the real formats,
// and read back by the dataset loaders with the boxes, labels and label maps
// the generators reported.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { readImage } from "../src/vision/io.js";
import { BananaDetection } from "../src/vision/datasets/bananas.js";
import { VOCDetection, VOCSegmentation } from "../src/vision/datasets/voc.js";
import { CocoDetection } from "../src/vision/datasets/coco.js";
import { DataLoader, detectionCollate } from "../src/data/index.js";
import { makeBananas, drawBananaImage, makeShapes, drawShapesImage, SHAPE_CLASSES, FRUIT_CLASSES } from "../src/vision/datasets/generators/index.js";
import { loadSources, defaultAssetDir } from "../src/vision/datasets/generators/raster.js";
import { ROOT, settledTensors } from "./helpers.js";

let dir = "";
before(() => { dir = mkdtempSync(path.join(tmpdir(), "flare-generators-")); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

const ASSETS = path.join(ROOT, "assets", "images");

function ints(t: torch.Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);
}

async function rejectsFlare(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.equal(error.name, "FlareError", `expected a FlareError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

test("makeBananas round trip: d2l's layout, VOC and COCO read back with the boxes and labels the generator reported", async () => {
  const out = path.join(dir, "bananas");
  const manifest = await makeBananas({ out, count: 8, valCount: 3, seed: 7, size: 64, classes: 3, objectsPerImage: [1, 3], formats: ["banana", "voc", "coco"], backgrounds: [ASSETS] });
  assert.deepEqual(manifest.classes, ["banana", "apple", "orange"]);
  assert.equal(manifest.splits.train.length, 8);
  assert.equal(manifest.splits.val.length, 3);
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8")), JSON.parse(JSON.stringify(manifest)));
  const all = [...manifest.splits.train, ...manifest.splits.val];
  assert.ok(all.every((m) => m.boxes.length >= 1 && m.boxes.length <= 3));
  assert.ok(all.some((m) => m.boxes.length > 1), "several objects in some image");
  for (const m of all) for (const [k, [x1, y1, x2, y2]] of m.boxes.entries()) {
    assert.ok(x1 >= 0 && y1 >= 0 && x2 <= 64 && y2 <= 64 && x2 > x1 && y2 > y1, `box ${m.boxes[k]} inside the image`);
    assert.ok(m.areas[k] > 0 && m.areas[k] <= (x2 - x1) * (y2 - y1));
    assert.ok(m.labels[k] >= 0 && m.labels[k] < 3);
  }

  const start = settledTensors();
  // d2l's layout.
  const train = new BananaDetection({ root: out });
  assert.equal(train.length, 8);
  for (let i = 0; i < 8; i++) {
    const [image, target] = await train.get(i);
    const want = manifest.splits.train[i];
    assert.equal(train.entries[i].imgName, `${want.id}.png`);
    assert.deepEqual(image.shape, [3, 64, 64]);
    assert.deepEqual(target.tolist(), want.boxes.map((b, k) => [want.labels[k], ...b]));
    // PNG is lossless: the file holds exactly what the generator drew.
    const drawn = drawBananaImage(7, 0, i, { size: [64, 64], classes: 3, objects: [1, 3], scale: [0.15, 0.45], ratio: [0.5, 2], sources: await loadSources([ASSETS], "test") });
    assert.deepEqual(Buffer.from(image.dataSync() as Uint8Array), Buffer.from(drawn.pixels));
    assert.deepEqual(drawn.boxes, want.boxes);
    torch.dispose([image, target]);
  }
  const val = new BananaDetection({ root: out, train: false, normalize: true });
  const [vi, vt] = await val.get(2);
  const wantVal = manifest.splits.val[2];
  assert.deepEqual(vt.tolist(), wantVal.boxes.map((b, k) => [wantVal.labels[k], ...b.map((v) => Math.fround(v / 64))]));
  torch.dispose([vi, vt]);

  // Pascal VOC: background first, so labels are class + 1; boxes as reported.
  const voc = new VOCDetection({ root: path.join(out, manifest.paths.voc!), imageSet: "val", classes: ["background", ...manifest.classes] });
  assert.deepEqual(voc.ids, ["val_0", "val_1", "val_2"]);
  for (let i = 0; i < 3; i++) {
    const [image, target] = await voc.get(i);
    const want = manifest.splits.val[i];
    assert.deepEqual(target.boxes.tolist(), want.boxes);
    assert.deepEqual(ints(target.labels), want.labels.map((l) => l + 1));
    // JPEG (quality 90) stays close to the lossless PNG.
    const png = await readImage(path.join(out, "bananas_val", "images", `${want.id}.png`));
    const diff = torch.tidy(() => image.float().sub(png.float()).abs().mean().item() as number);
    assert.ok(diff < 12, `JPEG mean error ${diff} (textures at 64×64, 4:2:0 chroma)`);
    torch.dispose([image, png, target.boxes, target.labels, target.difficult]);
  }

  // COCO: category ids 1..n, bbox xywh.
  const coco = new CocoDetection({ root: path.join(out, manifest.paths.coco!.train.images), annFile: path.join(out, manifest.paths.coco!.train.annFile) });
  assert.equal(coco.length, 8);
  assert.deepEqual(coco.categories.map((c) => c.name), manifest.classes);
  for (let i = 0; i < 8; i++) {
    const [image, target] = await coco.get(i);
    const want = manifest.splits.train[i];
    assert.deepEqual(target.boxes.tolist(), want.boxes);
    assert.deepEqual(ints(target.labels), want.labels.map((l) => l + 1));
    assert.deepEqual(ints(target.area), want.areas);
    torch.dispose([image, target.boxes, target.labels, target.iscrowd, target.area]);
  }
  assert.equal(torch.memory().numTensors, start, "no tensors left alive");
});

test("makeBananas is deterministic: same seed, same files; a small set is the start of a larger one; another seed differs", async () => {
  const a = await makeBananas({ out: path.join(dir, "det-a"), count: 4, valCount: 1, seed: 3, size: 48 });
  const b = await makeBananas({ out: path.join(dir, "det-b"), count: 6, valCount: 1, seed: 3, size: 48 });
  const c = await makeBananas({ out: path.join(dir, "det-c"), count: 4, valCount: 1, seed: 4, size: 48 });
  assert.deepEqual(b.splits.train.slice(0, 4), a.splits.train);
  assert.deepEqual(b.splits.val, a.splits.val);
  for (let i = 0; i < 4; i++) {
    const file = (o: string) => readFileSync(path.join(dir, o, "bananas_train", "images", `${i}.png`));
    assert.ok(file("det-a").equals(file("det-b")), `image ${i} identical`);
  }
  assert.notDeepEqual(c.splits.train, a.splits.train);
  assert.deepEqual(a.classes, ["banana"]);
  assert.ok(a.splits.train.every((m) => m.boxes.length === 1 && m.labels[0] === 0), "d2l's set: one banana per image");
  assert.deepEqual(readFileSync(path.join(dir, "det-a", "bananas_train", "label.csv"), "utf8").split("\n")[0], "img_name,label,xmin,ymin,xmax,ymax");
  assert.ok(!existsSync(path.join(dir, "det-a", "voc")) && !existsSync(path.join(dir, "det-a", "coco")), "only the formats asked for");
  // Painted backgrounds only (no pictures) work too.
  const painted = await makeBananas({ out: path.join(dir, "painted"), count: 2, valCount: 0, seed: 1, size: 32, backgrounds: [] });
  assert.equal(painted.splits.train.length, 2);
  assert.deepEqual(readdirSync(path.join(dir, "painted", "bananas_val", "images")), []);
});

test("makeShapes round trip: VOC layout with palette labels that VOCSegmentation reads back exactly (255 borders), JPEG images", async () => {
  const out = path.join(dir, "shapes");
  const manifest = await makeShapes({ out, count: 6, valCount: 2, seed: 11, size: [40, 56], backgrounds: [ASSETS] });
  assert.deepEqual(manifest.classes, [...SHAPE_CLASSES]);
  const sources = await loadSources([ASSETS], "test");
  const start = settledTensors();
  const ds = new VOCSegmentation({ root: out, imageSet: "train" });
  assert.deepEqual(ds.ids, manifest.splits.train.map((m) => m.id));
  const seen = new Set<number>();
  for (let i = 0; i < 6; i++) {
    const [image, labels] = await ds.get(i);
    assert.deepEqual(image.shape, [3, 40, 56]);
    assert.deepEqual(labels.shape, [40, 56]);
    const values = ints(labels);
    const drawn = drawShapesImage(11, 0, i, { size: [40, 56], shapes: [1, 4], scale: [0.2, 0.6], ignoreBorder: 1, sources });
    assert.deepEqual(values, [...drawn.labels], "labels read back exactly");
    const histogram: Record<string, number> = {};
    for (const v of values) { histogram[v] = (histogram[v] ?? 0) + 1; seen.add(v); }
    assert.deepEqual(histogram, manifest.splits.train[i].pixels);
    for (const s of manifest.splits.train[i].shapes) assert.ok(s.label >= 1 && s.label < SHAPE_CLASSES.length);
    torch.dispose([image, labels]);
  }
  assert.ok(seen.has(0) && seen.has(255) && [...seen].some((v) => v >= 1 && v <= 5), `labels seen: ${[...seen]}`);
  const cropped = new VOCSegmentation({ root: out, imageSet: "val", crop: [32, 48], generator: new torch.Generator(1) });
  assert.equal(cropped.length, 2);
  const [ci, cl] = await cropped.get(1);
  assert.deepEqual(cl.shape, [32, 48]);
  torch.dispose([ci, cl]);
  assert.equal(torch.memory().numTensors, start, "no tensors left alive");

  const plain = await makeShapes({ out: path.join(dir, "shapes-plain"), count: 3, valCount: 0, seed: 11, size: 32, ignoreBorder: 0, shapesPerImage: 3 });
  assert.ok(plain.splits.train.every((m) => m.pixels[255] === undefined), "no border band with ignoreBorder 0");
});

test("generator options are checked", async () => {
  const out = path.join(dir, "bad");
  await rejectsFlare(makeBananas({ out, classes: 7 }), /classes must be an integer 1\.\.6/);
  await rejectsFlare(makeBananas({ out, formats: ["yolo" as "voc"] }), /formats must be a non-empty array of "banana", "voc", "coco"/);
  await rejectsFlare(makeBananas({ out, size: 8 }), /size must be an integer \(square\) or \[height, width\], each 16\.\.4096/);
  await rejectsFlare(makeBananas({ out, count: -1 }), /count must be a non-negative integer/);
  await rejectsFlare(makeBananas({ out, scale: [0.5, 0.1] }), /scale must be a number or \[min, max\]/);
  await rejectsFlare(makeBananas({ out, backgrounds: [path.join(dir, "nope.jpg")] }), /background .*nope\.jpg does not exist/);
  await rejectsFlare(makeBananas({ out: "" }), /out must be the folder to write into/);
  await rejectsFlare(makeShapes({ out, ignoreBorder: -1 }), /ignoreBorder must be an integer 0\.\.16/);
  await rejectsFlare(makeShapes({ out, seed: 1.5 }), /seed must be an integer/);
  assert.equal(FRUIT_CLASSES[0], "banana");
  assert.ok(defaultAssetDir() !== undefined, "the bundled pictures are found");
});

test("a generated set through a DataLoader with worker threads: detection batches, and a corrupt image skipped and counted", async () => {
  const out = path.join(dir, "loader");
  await makeBananas({ out, count: 10, valCount: 0, seed: 5, size: 32, backgrounds: [] });
  writeFileSync(path.join(out, "bananas_train", "images", "3.png"), Buffer.from("\x89PNG\r\n\x1a\n broken"));
  const datasetModule = new URL("../src/vision/datasets/bananas.js", import.meta.url).href;
  const workerModule = `data:text/javascript,${encodeURIComponent(`import { BananaDetection } from ${JSON.stringify(datasetModule)};
export function createDataset(args) { return new BananaDetection({ root: args.root, normalize: true }); }`)}`;
  const dataset = new BananaDetection({ root: out, normalize: true });
  const loader = new DataLoader(dataset, { batchSize: 4, numWorkers: 2, workerModule, workerArgs: { root: out }, collateFn: detectionCollate({ maxObjects: 2 }), onError: "skip" });
  let images = 0;
  for await (const [x, y] of loader as AsyncIterable<[torch.Tensor, torch.Tensor]>) {
    assert.deepEqual(x.shape.slice(1), [3, 32, 32]);
    assert.deepEqual(y.shape.slice(1), [2, 5]);
    images += x.shape[0];
    torch.dispose([x, y]);
  }
  assert.equal(images, 9);
  assert.equal(loader.skipped, 1);
  assert.equal(loader.skips[0].index, 3);
  assert.match(loader.skips[0].message, /BananaDetection: .*images\/3\.png: /);
});
