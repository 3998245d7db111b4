// The segment task end to end on tiny generated data: `flare train segment`
// (run folder, per-epoch pixel accuracy and mIoU, exact resume), `flare eval
// segment`, `flare segment` (label maps and overlays), the book's VOC recipe on
// a tiny written VOC folder (crop filter counted), the step's losses, and bad input.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { F } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { models, readImage, writeImage } from "../src/vision/index.js";
import { encodePalettePng } from "../src/vision/datasets/palette_png.js";
import { segmentationStep, trainSegmenter, segmentImages, evaluateSegmenter } from "../src/tasks/segment.js";
import { assertClose } from "./helpers.js";

const cli = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));
const flare = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 300_000 });
const lastJson = (out: string) => JSON.parse(out.trim().split("\n").pop()!);
const epochLines = (out: string) => out.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.event === "epoch");

const tmp = mkdtempSync(path.join(tmpdir(), "flare-segment-"));
const shapes = path.join(tmp, "shapes"), runs = path.join(tmp, "runs");

before(() => {
  flare("data", "make", "shapes", "--out", shapes, "--count", "8", "--val-count", "4", "--size", "64", "--seed", "3", "--json");
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test("flare train segment: a run folder with per-epoch pixel_acc and miou; --resume continues exactly; eval and segment use its weights", async () => {
  const common = ["train", "segment", shapes, "--epochs", "2", "--batch-size", "4", "--optimizer", "sgd", "--lr", "0.02", "--schedule", "constant", "--runs-dir", runs, "--json"];
  const straightOut = flare(...common, "--name", "straight");
  const straight = lastJson(straightOut);
  assert.equal(straight.event, "done");
  const epochs = epochLines(straightOut);
  assert.equal(epochs.length, 2);
  for (const e of epochs) for (const k of ["train_loss", "val_loss", "train_pixel_acc", "val_pixel_acc", "train_miou", "val_miou"]) {
    assert.ok(Number.isFinite(e[k]) && e[k] >= 0, `${k} = ${e[k]}`);
    if (k !== "train_loss" && k !== "val_loss") assert.ok(e[k] <= 1, `${k} = ${e[k]}`);
  }
  const dir = path.join(runs, "straight");
  for (const f of ["config.json", "metrics.jsonl", "model.safetensors", "checkpoints/last.safetensors"]) assert.ok(existsSync(path.join(dir, f)), f);
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8")).classes, ["background", "circle", "rectangle", "triangle", "star", "ring"]);

  // One epoch, then --resume to two (a constant lr: a cosine schedule's length would differ): the same numbers as the straight run.
  flare(...common.map((a) => (a === "2" ? "1" : a)), "--name", "resumed");
  const resumed = lastJson(flare(...common, "--name", "resumed", "--resume"));
  for (const k of ["train_loss", "val_loss", "val_pixel_acc", "val_miou"]) assert.equal(resumed[k], straight[k], k);

  // eval segment on the best weights gives the best epoch's validation numbers.
  const weights = path.join(dir, "model.safetensors");
  const best = epochs.reduce((a, b) => (b.val_miou > a.val_miou ? b : a));
  const evaluated = lastJson(flare("eval", "segment", shapes, "--weights", weights, "--json"));
  assert.ok(Math.abs(evaluated.miou - best.val_miou) < 1e-9, `eval miou ${evaluated.miou} vs ${best.val_miou}`);
  assert.ok(Math.abs(evaluated.pixel_acc - best.val_pixel_acc) < 1e-9);

  // flare segment: a label map and an overlay per image, the image's size (40×50: padded to 64 inside, cropped back).
  const image = path.join(tmp, "odd.png");
  const val0 = await readImage(path.join(shapes, "JPEGImages", "val_0.jpg"));
  await writeImage(val0.index(":", ":40", ":50").contiguous(), image);
  val0.dispose();
  const out = path.join(tmp, "pred");
  const lines = flare("segment", image, path.join(shapes, "JPEGImages", "val_1.jpg"), "--weights", weights, "--out", out, "--json").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.equal(lines[0].width, 50); assert.equal(lines[0].height, 40);
  assert.equal(Object.values(lines[0].pixels as Record<string, number>).reduce((a, b) => a + b, 0), 2000);
  assert.deepEqual(Object.keys(lines[1].pixels), ["background", "circle", "rectangle", "triangle", "star", "ring"]);
  for (const l of lines) for (const f of [l.labels, l.overlay]) {
    const t = await readImage(f);
    assert.deepEqual(t.shape, [3, l.height, l.width]);
    t.dispose();
  }
});

/** A tiny VOC2012 folder: two images of 40×60 and one of 20×30 (smaller than the crop), palette labels. */
async function writeVoc(root: string, bad?: "size" | "class"): Promise<void> {
  for (const d of ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"]) mkdirSync(path.join(root, d), { recursive: true });
  const ids = ["a", "b", "small"];
  for (const [i, id] of ids.entries()) {
    const [h, w] = id === "small" ? [20, 30] : [40, 60];
    const image = torch.randint(0, 256, [3, h, w], { dtype: "uint8" });
    await writeImage(image, path.join(root, "JPEGImages", `${id}.jpg`));
    image.dispose();
    // Left half background, right half person (15) or dog (12).
    const labels = new Uint8Array(h * w).map((_, p) => (p % w < w / 2 ? 0 : i === 0 ? 15 : 12));
    if (bad === "class" && id === "b") labels[5] = 40;
    const png = bad === "size" && id === "b" ? encodePalettePng(new Uint8Array((h + 2) * w), w, h + 2) : encodePalettePng(labels, w, h);
    writeFileSync(path.join(root, "SegmentationClass", `${id}.png`), png);
  }
  for (const split of ["train", "val"]) writeFileSync(path.join(root, "ImageSets", "Segmentation", `${split}.txt`), ids.join("\n") + "\n");
}

test("the book's VOC recipe runs on a tiny VOC folder: crop, images smaller than it skipped and counted, 21 classes", async () => {
  const voc = path.join(tmp, "voc");
  await writeVoc(voc);
  const out = flare("train", "segment", "--data", "voc", voc, "--crop", "32,32", "--batch-size", "2", "--optimizer", "sgd", "--lr", "0.001", "--weight-decay", "0.001",
    "--momentum", "0", "--schedule", "constant", "--loss", "book", "--epochs", "1", "--runs-dir", runs, "--name", "voc", "--json");
  const done = lastJson(out);
  assert.deepEqual(done.filtered, { train: 1, val: 1 });
  assert.ok(done.val_pixel_acc >= 0 && done.val_pixel_acc <= 1);
  const config = JSON.parse(readFileSync(path.join(runs, "voc", "config.json"), "utf8"));
  assert.equal(config.classes.length, 21);
});

test("bad VOC input: a label of another size, a colour beyond the classes, a crop larger than every image", async () => {
  for (const bad of ["size", "class"] as const) {
    const voc = path.join(tmp, `voc-${bad}`);
    await writeVoc(voc, bad);
    await assert.rejects(trainSegmenter({ data: "voc", dataRoot: voc, crop: [32, 32], batchSize: 2, epochs: 1, runsDir: runs, name: `bad-${bad}`, output: "silent" }),
      bad === "size" ? /label .* is 60×42 but its image .* is 60×40/ : /not in the colormap/);
  }
  await assert.rejects(trainSegmenter({ data: "voc", dataRoot: path.join(tmp, "voc"), crop: [400, 400], output: "silent", runsDir: runs }), /smaller than the 400×400/);
  await assert.rejects(trainSegmenter({ data: "shapes", dataRoot: shapes, model: "resnet18", output: "silent", runsDir: runs }), /resnet18 is a classification model/);
  await assert.rejects(trainSegmenter({ data: "shapes", dataRoot: shapes, epoch: 3 } as never), /unknown option/);
  await assert.rejects(trainSegmenter({ data: "shapes", dataRoot: shapes, momentum: 0.9, output: "silent", runsDir: runs }), /momentum is SGD's/);
  await assert.rejects(trainSegmenter({ data: "shapes", dataRoot: shapes, optimizer: "rmsprop" as never, output: "silent", runsDir: runs }), /optimizer must be "adam" or "sgd"/);
  await assert.rejects(segmentImages([], { weights: "x", out: tmp }), /at least one image/);
  await assert.rejects(evaluateSegmenter({ weights: "x", data: "shapes" }), /give the shapes folder/);
  assert.throws(() => flare("train", "segment", shapes, "--crop", "32"), /--crop must be two positive integers/);
  const { makeShapes } = await import("../src/vision/datasets/generators/index.js");
  await assert.rejects(makeShapes({ out: path.join(tmp, "bad-shapes"), overlap: "no" as never }), /overlap must be true or false/);
});

test("segmentationStep: cross entropy ignoring 255; torchvision's aux head weighted 0.5; the book's reduction", () => torch.tidy(() => {
  torch.manualSeed(0);
  const x = torch.randn([2, 3, 32, 32]);
  const y = torch.randint(0, 3, [2, 32, 32]);
  y.index(0, ":4").fill_(255);
  const net = models.get("fcn-resnet50", { numClasses: 3, auxLoss: true });
  net.eval();
  const result = torch.noGrad(() => segmentationStep().trainStep(net, [x, y], { epoch: 0, index: 0 }));
  const both = torch.noGrad(() => net.forward(x)) as { out: Tensor; aux: Tensor };
  const expected = F.crossEntropy(both.out, y, { ignoreIndex: 255 }).add(F.crossEntropy(both.aux, y, { ignoreIndex: 255 }).mul(0.5));
  assertClose(result.loss as Tensor, expected, { atol: 1e-5, what: "aux loss" });
  net.dispose();
  const fcn = models.get("fcn-resnet18", { numClasses: 3 });
  const book = torch.noGrad(() => segmentationStep({ reduction: "book" }).trainStep(fcn, [x, y], { epoch: 0, index: 0 }));
  const logits = torch.noGrad(() => fcn.forward(x) as Tensor);
  const perImage = F.crossEntropy(logits, y, { ignoreIndex: 255, reduction: "none" }).mean([1, 2]).sum();
  assertClose(book.loss as Tensor, perImage, { atol: 1e-5, what: "book loss" });
  assert.throws(() => segmentationStep().trainStep(fcn, [x, y.narrow(1, 0, 16)], { epoch: 0, index: 0 }), /same N, H, W/);
  assert.throws(() => segmentationStep().trainStep(fcn, [x.narrow(2, 0, 20), y.narrow(1, 0, 20)], { epoch: 0, index: 0 }), /multiples of 32/);
  fcn.dispose();
}));

test("every flag of train segment and eval segment reaches its task", async () => {
  const { COMMANDS } = await import("../src/cli/commands.js");
  const { camelCase } = await import("../src/cli/flags.js");
  const { SEGMENT_OPTIONS, EVALUATE_SEGMENT_OPTIONS } = await import("../src/tasks/segment.js");
  for (const [name, allowed] of [["train segment", [...SEGMENT_OPTIONS, "crop"]], ["eval segment", EVALUATE_SEGMENT_OPTIONS]] as const) {
    const flags = Object.keys(COMMANDS.find((c) => c.name === name)!.flags).map(camelCase).filter((f) => f !== "json" && f !== "nproc")  // --nproc: the CLI relaunches under flare launch
      .map((f) => (f === "noTensorboard" ? "tensorboard" : f));  // --no-tensorboard is the task's tensorboard: false
    for (const flag of flags) assert.ok(allowed.includes(flag), `${name}: --${flag} reaches the task`);
  }
});

test("without a folder, train segment generates the shapes set under the runs dir (and reuses it)", () => {
  const dir = path.join(tmp, "default-runs");
  const args = ["train", "segment", "--size", "64", "--count", "4", "--val-count", "2", "--epochs", "1", "--batch-size", "2", "--runs-dir", dir, "--json"];
  const done = lastJson(flare(...args, "--name", "first"));
  assert.equal(done.event, "done");
  const manifest = JSON.parse(readFileSync(path.join(dir, "segment-shapes-64", "manifest.json"), "utf8"));
  assert.equal(manifest.splits.train.length, 4);
  assert.deepEqual(manifest.size, [64, 64]);
  assert.equal(manifest.ignoreBorder, 2);  // the task's recipe (SEGMENT_SHAPES), not makeShapes' defaults
  assert.ok(manifest.splits.train.every((m: { shapes: unknown[] }) => m.shapes.length <= 2));
  assert.equal(JSON.parse(readFileSync(path.join(dir, "first", "config.json"), "utf8")).dataRoot, path.join(dir, "segment-shapes-64"));
});

test("augment: each training image and its labels turn by one of the 8 symmetries, drawn again the same for (seed, epoch); voc and crops take none", async () => {
  const { segmentationData } = await import("../src/tasks/segment.js");
  const open = (augment: "dihedral" | "none" | "hflip") => segmentationData({ data: "shapes", dataRoot: shapes, batchSize: 4, seed: 1, augment });
  const [plain, turned, again, mirrored] = await Promise.all([open("none"), open("dihedral"), open("dihedral"), open("hflip")]);
  const turns = (t: Tensor) => [0, 1, 2, 3, 4, 5, 6, 7].map((c) => {
    let u = c & 1 ? t.flip(-1) : t;
    if (c & 2) u = u.flip(-2);
    return c & 4 ? u.transpose(-1, -2) : u;
  });
  const codesOf = async (splits: typeof plain, epoch: number) => {
    const codes: number[] = [];
    const base: [Tensor, Tensor][] = [];
    for await (const batch of plain.train(epoch)) base.push(batch);
    let b = 0;
    for await (const [x, y] of splits.train(epoch)) {
      const [x0, y0] = base[b++];
      for (let k = 0; k < x.shape[0]; k++) {
        const code = turns(x0.select(0, k)).findIndex((t) => t.equal(x.select(0, k)));
        assert.ok(code >= 0, `image ${k} of batch ${b} is a symmetry of the plain one`);
        assert.ok(turns(y0.select(0, k))[code].equal(y.select(0, k)), "its labels turned the same way");
        codes.push(code);
      }
      torch.dispose([x, y]);
    }
    torch.dispose(base.flat());
    return codes;
  };
  try {
    const epoch0 = await codesOf(turned, 0);
    assert.equal(epoch0.length, 8);
    assert.ok(new Set(epoch0).size > 1, `several symmetries drawn: ${epoch0}`);
    assert.deepEqual(await codesOf(again, 0), epoch0, "the same draws for the same seed and epoch (exact resume)");
    assert.notDeepEqual(await codesOf(turned, 1), epoch0, "another epoch, other draws");
    // A symmetric image may match a lower code first, so hflip's codes are 0 or 1 up to that.
    assert.ok((await codesOf(mirrored, 0)).every((c) => c <= 1), "hflip only mirrors left-right");
  } finally {
    for (const s of [plain, turned, again, mirrored]) s.dispose();
  }
  await assert.rejects(segmentationData({ data: "shapes", dataRoot: shapes, crop: [32, 32], augment: "dihedral" }), /augment "dihedral" works on whole images/);
  await assert.rejects(segmentationData({ data: "shapes", dataRoot: shapes, augment: "rot" as "none" }), /augment must be "dihedral", "hflip", "none"/);
});
