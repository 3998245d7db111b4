// The segment task learns: a short run of the default recipe (the book's FCN from
// scratch, Adam) on a tiny generated set lifts mIoU on those images well above
// what predicting background everywhere scores (chance for this metric).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { makeShapes } from "../src/vision/datasets/generators/index.js";
import { trainSegmenter } from "../src/tasks/segment.js";

const tmp = mkdtempSync(path.join(tmpdir(), "flare-segment-learning-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("a short run on tiny generated data lifts mIoU on its images far above all-background", async (t) => {
  const root = path.join(tmp, "shapes");
  // One large shape per 64×64 image (the 2×2 score map of a 1/32 net can draw it); validation = the training images.
  const manifest = await makeShapes({ out: root, size: 64, count: 8, valCount: 1, seed: 5, scale: [0.7, 0.95], shapesPerImage: 1, ignoreBorder: 1, overlap: false });
  copyFileSync(path.join(root, "ImageSets", "Segmentation", "train.txt"), path.join(root, "ImageSets", "Segmentation", "val.txt"));
  // Chance: background predicted everywhere scores background's IoU (its pixel share) over the classes present.
  let background = 0, labelled = 0;
  const present = new Set<number>([0]);
  for (const image of manifest.splits.train) for (const [k, n] of Object.entries(image.pixels)) {
    if (k === "255") continue;
    labelled += n;
    if (k === "0") background += n; else present.add(Number(k));
  }
  const chance = background / labelled / present.size;
  // augment "none": the validation images are the training ones, so this measures fitting them as they are.
  const { history } = await trainSegmenter({ data: "shapes", dataRoot: root, epochs: 12, batchSize: 4, schedule: "constant", augment: "none", runsDir: tmp, name: "learn", output: "silent" });
  t.diagnostic(`val mIoU per epoch ${history.map((h) => h.val_miou.toFixed(3)).join(" ")}; chance ${chance.toFixed(3)}`);
  const first = history[0].val_miou, last = history[history.length - 1].val_miou, best = Math.max(...history.map((h) => h.val_miou));
  assert.ok(best > 3 * chance && best > 0.4, `val mIoU ${history.map((h) => h.val_miou.toFixed(3)).join(" ")} vs chance ${chance.toFixed(3)}`);
  assert.ok(last > first, `mIoU went from ${first} to ${last}`);
  assert.equal(JSON.parse(readFileSync(path.join(tmp, "learn", "config.json"), "utf8")).task, "segment");
});
