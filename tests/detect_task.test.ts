// The detect task end to end on tiny generated bananas (16 training and 4
// validation images of 64×64): flare train detect → run folder → --resume
// (equal to an uninterrupted run) → flare detect → flare eval detect --weights;
// the detections' shortcut against the book's multiboxDetection; bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { ops, models, writeImage, readImage } from "../src/vision/index.js";
import { makeBananas } from "../src/vision/datasets/generators/index.js";
import { detectionStep, detectionsFromOutput, trainDetector } from "../src/tasks/detect.js";
import { detectImages } from "../src/tasks/detect_images.js";
import { assertClose, flareCli, lastJson } from "./helpers.js";

const tmp = mkdtempSync(path.join(tmpdir(), "flare-detect-"));
const { flare, flareFails } = flareCli({ ...process.env, FLARE_CACHE: path.join(tmp, "cache") });
const small = ["--data", "bananas", "--count", "16", "--val-count", "4", "--image-size", "64", "--size", "64", "--batch-size", "8"];

test("flare train detect on generated bananas: run folder, metrics, exact resume, then flare detect and flare eval detect --weights", () => {
  const runs = path.join(tmp, "runs");
  const common = ["train", "detect", ...small, "--runs-dir", runs, "--json"];
  const straight = lastJson(flare(...common, "--epochs", "3", "--name", "straight"));
  assert.equal(straight.event, "done");
  for (const file of ["config.json", "metrics.jsonl", "steps.jsonl", "model.safetensors", "checkpoints/last.safetensors", "curves.svg"])
    assert.ok(existsSync(path.join(runs, "straight", file)), `run folder has ${file}`);
  // The banana set was generated into the cache: 16 + 4 images.
  const cached = path.join(tmp, "cache", "datasets", "bananas-book-16-4-64px-seed0");
  assert.equal(readFileSync(path.join(cached, "bananas_train", "label.csv"), "utf8").trim().split("\n").length, 17);
  const config = JSON.parse(readFileSync(path.join(runs, "straight", "config.json"), "utf8"));
  assert.deepEqual(config.classes, ["banana"]);
  assert.equal(config.task, "detect");
  const rows = readFileSync(path.join(runs, "straight", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(rows.length, 3);
  for (const row of rows) {
    for (const key of ["train_loss", "train_class_err", "train_bbox_mae", "val_loss", "val_class_err", "val_bbox_mae", "val_map", "val_map50"])
      assert.ok(Number.isFinite(row[key]), `${key} is a number: ${row[key]}`);
    assert.ok(row.train_class_err >= 0 && row.train_class_err <= 1 && row.val_map50 >= 0 && row.val_map50 <= 1);
  }
  assert.ok(rows[2].train_loss < rows[0].train_loss, `the loss falls: ${rows.map((r) => r.train_loss)}`);

  // Two epochs, then --resume to three: the same numbers as the uninterrupted run.
  flare(...common, "--epochs", "2", "--name", "resumed");
  const resumed = lastJson(flare(...common, "--epochs", "3", "--name", "resumed", "--resume"));
  assert.equal(resumed.train_loss, straight.train_loss);
  assert.equal(resumed.train_class_err, straight.train_class_err);
  assert.equal(resumed.val_map50, straight.val_map50);
  assert.equal(readFileSync(path.join(runs, "resumed", "metrics.jsonl"), "utf8").trim().split("\n").length, 3);

  // flare detect: drawn images and COCO results.
  const weights = path.join(runs, "straight", "model.safetensors");
  const images = [0, 1].map((i) => path.join(cached, "bananas_val", "images", `${i}.png`));
  const out = path.join(tmp, "detected");
  const printed = JSON.parse(flare("detect", ...images, "--weights", weights, "--out", out, "--threshold", "0.01", "--json").trim());
  const written = JSON.parse(readFileSync(path.join(out, "detections.json"), "utf8"));
  assert.deepEqual(printed, written);
  assert.ok(written.length > 0, "a threshold of 0.01 keeps detections");
  for (const d of written) {
    assert.ok([1, 2].includes(d.image_id) && d.category_id === 1 && d.label === "banana");
    assert.ok(d.bbox.length === 4 && d.bbox[2] >= 0 && d.bbox[3] >= 0 && d.bbox[0] + d.bbox[2] <= 64.001 && d.score >= 0.01 && d.score <= 1);
  }
  const scores = written.filter((d: { image_id: number }) => d.image_id === 1).map((d: { score: number }) => d.score);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a), "detections by decreasing score");
  for (const i of [0, 1]) assert.ok(existsSync(path.join(out, `${i}.png`)));
  const text = flare("detect", images[0], "--weights", weights, "--out", out, "--threshold", "0.999");
  assert.match(text, /0\.png: nothing/);

  // flare eval detect --weights: the 12 numbers; mAP@0.5 is the best epoch's val_map50 (model.safetensors is the best).
  const evaluated = lastJson(flare("eval", "detect", "--weights", weights, ...small.filter((a) => a !== "--batch-size" && a !== "8"), "--json"));
  assert.equal(evaluated.stats.length, 12);
  const best = Math.max(...rows.map((r) => r.val_map50));
  assert.ok(Math.abs(evaluated.map50 - best) < 1e-9, `eval mAP@0.5 ${evaluated.map50} = the best val_map50 ${best}`);
  const lines = flare("eval", "detect", "--weights", weights, ...small).trimEnd().split("\n");
  assert.equal(lines.length, 12);
  assert.match(lines[1], /Average Precision {2}\(AP\) @\[ IoU=0\.50 {6}\| area= {3}all \| maxDets=100 \] = /);

  // Bad input at the command line.
  assert.match(flareFails("detect", images[0], "--weights", path.join(tmp, "missing.safetensors"), "--out", out), /missing\.safetensors does not exist/);
  assert.match(flareFails("detect", path.join(tmp, "nope.png"), "--weights", weights, "--out", out), /nope\.png does not exist/);
  assert.match(flareFails("eval", "detect"), /give either --gt FILE --dt FILE, or --weights W --data/);
  assert.match(flareFails("eval", "detect", "--weights", weights), /--data is missing/);
  assert.match(flareFails("eval", "detect", "--gt", "a.json", "--weights", weights), /give either/);
  assert.match(flareFails("eval", "detect", "--gt", "a.json"), /--dt is missing/);
  assert.match(flareFails("train", "detect", "--data", "voc"), /--data voc needs its folder/);
  assert.match(flareFails("train", "detect", "--data", "bananas", "--epochs", "0"), /epochs/);
});

test("images with no objects train (every anchor is background) and are scored; more objects than --max-objects is an error", async () => {
  // COCO layout, 0 to 2 fruit per image: some images have no annotation at all.
  const root = path.join(tmp, "sparse");
  const manifest = await makeBananas({ out: root, count: 8, valCount: 4, size: 64, seed: 3, formats: ["coco", "voc"], objectsPerImage: [0, 2] });
  const counts = manifest.splits.train.map((m) => m.boxes.length);
  assert.ok(counts.includes(0) && counts.some((c) => c === 2), `the set has empty and two-object images: ${counts}`);
  const { history } = await trainDetector({ data: "coco", dataRoot: path.join(root, "coco"), size: 64, epochs: 1, batchSize: 4, runsDir: path.join(tmp, "runs"), name: "sparse", output: "silent" });
  assert.ok(Number.isFinite(history[0].train_loss) && Number.isFinite(history[0].val_map50));
  // The same images through the VOC layout (JPEG, XML; the class list from the generator's manifest).
  const voc = await trainDetector({ data: "voc", dataRoot: path.join(root, "voc"), size: 64, epochs: 1, batchSize: 4, runsDir: path.join(tmp, "runs"), name: "sparse-voc", output: "silent" });
  assert.deepEqual(voc.classes, ["banana"]);
  assert.ok(Number.isFinite(voc.history[0].train_loss) && Number.isFinite(voc.history[0].val_map50));
  await assert.rejects(
    trainDetector({ data: "coco", dataRoot: path.join(root, "coco"), size: 64, epochs: 1, maxObjects: 1, runsDir: path.join(tmp, "runs"), name: "sparse2", output: "silent" }),
    /has 2 objects, more than maxObjects 1/);
  await assert.rejects(trainDetector({ data: "bananas", bogus: 1 } as never), /unknown option/i);
});

test("a label outside the classes is an error that names the file and image", async () => {
  // d2l's layout by hand: the manifest says one class, a row says class 1.
  const root = path.join(tmp, "badlabel");
  for (const split of ["bananas_train", "bananas_val"]) {
    mkdirSync(path.join(root, split, "images"), { recursive: true });
    await writeImage(torch.zeros([3, 32, 32], { dtype: "uint8" }), path.join(root, split, "images", "0.png"));
    writeFileSync(path.join(root, split, "label.csv"), `img_name,label,xmin,ymin,xmax,ymax\n0.png,${split === "bananas_train" ? 1 : 0},2,2,20,20\n`);
  }
  writeFileSync(path.join(root, "manifest.json"), JSON.stringify({ kind: "bananas", classes: ["banana"] }));
  await assert.rejects(trainDetector({ data: "bananas", dataRoot: root, size: 32, epochs: 1, output: "silent", runsDir: path.join(tmp, "runs") }),
    /bananas_train[/\\]label\.csv: image 0\.png has an object of class 1, outside the 1 classes/);
  // The step itself refuses labels past the model's classes.
  const model = models.get("tiny-ssd", { numClasses: 1 });
  torch.tidy(() => {
    const batch = { images: torch.rand([2, 3, 64, 64]).mul(255), labels: torch.tensor([[[0, 0.1, 0.1, 0.5, 0.5]], [[3, 0.1, 0.1, 0.5, 0.5]]]), sizes: torch.tensor([[64, 64], [64, 64]]) };
    assert.throws(() => detectionStep().trainStep(model, batch, { epoch: 0, index: 0 }), /labels hold a class ≥ 1, outside the model's 1 object classes/);
  });
  model.dispose();
  await assert.rejects(detectImages([], { weights: "w", out: tmp }), /at least one image/);
});

test("detectionsFromOutput is the book's multiboxDetection on the most confident anchors", () => {
  torch.manualSeed(1);
  const model = models.get("tiny-ssd", { numClasses: 2 });
  model.eval();
  torch.tidy(() => torch.noGrad(() => {
    const [anchors, cls, bbox] = model.forward(torch.rand([2, 3, 64, 64]).mul(255)) as torch.Tensor[];
    const n = anchors.shape[1];
    // All anchors as candidates: exactly the book's rows with class ≥ 0.
    const full = ops.multiboxDetection(cls.softmax(2).permute(0, 2, 1), bbox, anchors);
    const all = detectionsFromOutput(anchors, cls, bbox, { candidates: n });
    // The 30 most confident only: the book's detections among them, in the same order.
    const few = detectionsFromOutput(anchors, cls, bbox, { candidates: 30 });
    for (let b = 0; b < 2; b++) {
      const rows = full.select(0, b);
      const kept = rows.index(rows.select(1, 0).ge(0));
      assertClose(all[b].boxes, kept.narrow(1, 2, 4), { what: "boxes" });
      assertClose(all[b].scores, kept.select(1, 1), { what: "scores" });
      assert.deepEqual(all[b].labels.tolist(), kept.select(1, 0).tolist());
      const top30 = cls.softmax(2).select(0, b).narrow(1, 1, 2).amax(1).topk(30).values.min().item();
      const expected = kept.index(kept.select(1, 1).ge(top30));
      assertClose(few[b].scores, expected.select(1, 1), { what: "scores of the top-30 candidates" });
      assertClose(few[b].boxes, expected.narrow(1, 2, 4), { what: "boxes of the top-30 candidates" });
    }
  }));
  model.dispose();
});

test("flare detect keeps same-named images apart and draws on images of any size", async () => {
  const dirs = ["a", "b"].map((d) => path.join(tmp, "same", d));
  for (const d of dirs) {
    mkdirSync(d, { recursive: true });
    await writeImage(torch.full([3, 40, 90], 120, { dtype: "uint8" }), path.join(d, "x.png"));
  }
  torch.manualSeed(0);
  const model = models.get("tiny-ssd", { numClasses: 1 });
  const weights = path.join(tmp, "same", "w.safetensors");
  torch.tidy(() => torch.save(model.stateDict(), weights));
  model.dispose();
  const out = path.join(tmp, "same", "out");
  const result = await detectImages(dirs.map((d) => path.join(d, "x.png")), { weights, out, threshold: 0.01, size: 64 });
  assert.deepEqual(result.written.map((f) => path.basename(f)), ["x.png", "x-2.png"]);
  const drawn = await readImage(result.written[1]);
  assert.deepEqual(drawn.shape, [3, 40, 90]);
  drawn.dispose();
  for (const d of result.detections) assert.ok(d.bbox[0] >= 0 && d.bbox[0] + d.bbox[2] <= 90.001 && d.bbox[1] + d.bbox[3] <= 40.001);
});
