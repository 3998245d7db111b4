// The detector family in the detect task: a tiny COCO folder written here trains
// ssd-resnet18 and yolo-resnet18 end to end from the CLI, then flare detect and
// flare eval detect (the run's model read from its config); any registered
// model of torchvision's interface (a stand-in with minSize / maxSize, as Faster
// R-CNN's) trains through the same path; the generated `objects` set; bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { nn } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { models } from "../src/vision/index.js";
import { makeBananas } from "../src/vision/datasets/generators/index.js";
import { DefaultBoxGenerator, SSD, YOLO, ssdResnet18, yoloResnet18 } from "../src/vision/models/detection/index.js";
import { trainDetector, evaluateDetector, detectorStep } from "../src/tasks/detect.js";
import { loadDetectionData, disposeSplit } from "../src/tasks/detect_data.js";
import { flareCli, lastJson } from "./helpers.js";

const tmp = mkdtempSync(path.join(tmpdir(), "flare-detect-family-"));
const { flare, flareFails } = flareCli({ ...process.env, FLARE_CACHE: path.join(tmp, "cache") });

test("a COCO folder trains ssd-resnet18 and yolo-resnet18 from the CLI; flare detect and flare eval detect use the run's model", async () => {
  const root = path.join(tmp, "set");
  await makeBananas({ out: root, count: 8, valCount: 4, size: 64, seed: 5, classes: 2, objectsPerImage: [1, 2], formats: ["coco"] });
  const coco = path.join(root, "coco");
  const runs = path.join(tmp, "runs");
  for (const model of ["ssd-resnet18", "yolo-resnet18"]) {
    const done = lastJson(flare("train", "detect", "--data", "coco", coco, "--model", model, "--size", "64", "--epochs", "1", "--batch-size", "4",
      "--runs-dir", runs, "--name", model, "--json"));
    assert.equal(done.event, "done");
    assert.ok(Number.isFinite(done.train_loss) && done.train_loss > 0, `${model}: train_loss ${done.train_loss}`);
    // Each named loss of the model's dict is reported, and the COCO metrics of the validation pass.
    const parts = model === "ssd-resnet18" ? ["train_bbox_regression", "train_classification"] : ["train_objectness", "train_classification", "train_bbox_regression"];
    for (const key of [...parts, "val_map", "val_map50"]) assert.ok(Number.isFinite(done[key]), `${model}: ${key} = ${done[key]}`);
    const config = JSON.parse(readFileSync(path.join(runs, model, "config.json"), "utf8"));
    assert.equal(config.model, model);
    assert.deepEqual(config.classes, ["banana", "apple"]);
    const weights = path.join(runs, model, "model.safetensors");
    // No --model: the architecture comes from the run's config.json.
    // No --size either: the run's input side.
    const evaluated = JSON.parse(flare("eval", "detect", "--weights", weights, "--data", "coco", coco, "--json").trim());
    assert.equal(evaluated.numImages, 4);
    assert.ok(Math.abs(evaluated.map - done.val_map) < 1e-9, `${model}: eval detect mAP ${evaluated.map} = the run's last val_map ${done.val_map}`);
    const out = path.join(tmp, `drawn-${model}`);
    const detections = JSON.parse(flare("detect", path.join(coco, "val", "0.png"), "--weights", weights, "--out", out, "--threshold", "0", "--json").trim());
    assert.ok(Array.isArray(detections));
    for (const d of detections) {
      assert.ok(d.category_id === 1 || d.category_id === 2, `category ${d.category_id}`);
      assert.ok(d.bbox[0] >= 0 && d.bbox[1] >= 0 && d.bbox[0] + d.bbox[2] <= 64 + 1e-3 && d.bbox[1] + d.bbox[3] <= 64 + 1e-3, `box in the image: ${d.bbox}`);
    }
    assert.ok(existsSync(path.join(out, "0.png")) && existsSync(path.join(out, "detections.json")));
  }
  // The weights of one detector are not the other's.
  assert.match(flareFails("eval", "detect", "--weights", path.join(runs, "ssd-resnet18", "model.safetensors"), "--model", "yolo-resnet18", "--data", "coco", coco),
    /yolo-resnet18.*weights.*don't fit/s);
  assert.match(flareFails("train", "detect", "--data", "coco", coco, "--model", "resnet18"), /resnet18 is a classification model, not a detection one/);
  assert.match(flareFails("train", "detect", "--data", "coco", coco, "--model", "nope"), /unknown model "nope"/);
  assert.match(flareFails("train", "detect", "--data", "coco", coco, "--grad-clip", "0"), /grad-clip/);
  assert.match(flareFails("train", "detect", "--data", "things"), /objects/);
  // Model options: KEY=VALUE, not the task's own, and only the model's.
  assert.match(flareFails("train", "detect", "--data", "coco", coco, "--model", "ssd-resnet18", "--model-option", "scoreThresh"), /--model-option must be KEY=VALUE/);
  assert.match(flareFails("train", "detect", "--data", "coco", coco, "--model", "ssd-resnet18", "--model-option", "numClasses=3"), /numClasses is set by the task/);
  assert.match(flareFails("train", "detect", "--data", "coco", coco, "--model", "ssd-resnet18", "--model-option", "scoreTresh=0.5"), /scoreTresh/);
  assert.match(flareFails("train", "detect", "--data", "coco", coco, "--model", "ssd-resnet18", "--model-option", "a=1", "--model-option", "a=2"), /a is given twice/);
});

/** A stand-in of torchvision's interface: Faster R-CNN's options (minSize, maxSize), a dict of losses, fixed detections. */
class StandIn extends nn.Module {
  weight: nn.Parameter;
  seen: { minSize?: number; maxSize?: number; numClasses: number; boxBatchSizePerImage?: number };
  constructor(o: { numClasses: number; minSize?: number; maxSize?: number; boxBatchSizePerImage?: number }) {
    super();
    this.weight = new nn.Parameter(torch.zeros([1]));
    this.seen = o;
  }
  get numClasses(): number { return this.seen.numClasses; }
  override forward(images: Tensor[], targets?: { boxes: Tensor; labels: Tensor }[]): unknown {
    if (this.training) {
      // The loss pulls the weight to the mean label: proves targets arrive 1-based, in the input's pixels.
      const meanLabel = torch.cat(targets!.map((t) => t.labels.float())).mean();
      const maxBox = Math.max(...targets!.map((t) => (t.boxes.numel() ? Number(t.boxes.max().item()) : 0)));
      assert.ok(maxBox <= images[0].shape[2] + 1e-3 && Number(images[0].max().item()) <= 1, "boxes in the input's pixels, images 0..1");
      return { loss_a: this.weight.sub(meanLabel).pow(2).sum(), loss_b: this.weight.mul(0).sum() };
    }
    // The ground truth's own first box, as a detection in the input's pixels (label 1-based).
    return images.map((im) => ({ boxes: torch.tensor([[0, 0, im.shape[2], im.shape[1]]], { dtype: "float32" }), scores: torch.tensor([0.9]), labels: torch.tensor([1], { dtype: "int64" }) }));
  }
}

test("any registered model of torchvision's interface trains and evaluates through the detect task (sizes passed as minSize / maxSize)", async () => {
  let built: StandIn | undefined;
  models.register("standin-detector", {
    task: "detection", options: ["numClasses", "minSize", "maxSize", "boxBatchSizePerImage"], preset: models.info("ssd-resnet18").preset, description: "a test stand-in",
    build: (o) => (built = new StandIn(o as never)),
  }, { replace: true });
  const root = path.join(tmp, "standin");
  await makeBananas({ out: root, count: 4, valCount: 2, size: 48, seed: 2, classes: 2, formats: ["coco"] });
  const { history } = await trainDetector({ data: "coco", dataRoot: path.join(root, "coco"), model: "standin-detector", size: 48, epochs: 2, batchSize: 2, lr: 0.1,
    runsDir: path.join(tmp, "runs"), name: "standin", output: "silent", modelOptions: { boxBatchSizePerImage: 7 } });
  assert.deepEqual(built!.seen, { numClasses: 3, minSize: 48, maxSize: 48, boxBatchSizePerImage: 7 });
  assert.deepEqual(JSON.parse(readFileSync(path.join(tmp, "runs", "standin", "config.json"), "utf8")).modelOptions, { boxBatchSizePerImage: 7 });
  assert.ok(history[1].train_loss_a < history[0].train_loss_a, "the summed loss dict trains");
  assert.ok(Number.isFinite(history[1].train_loss_b) && Number.isFinite(history[1].val_map50));
  const evaluated = await evaluateDetector({ weights: path.join(tmp, "runs", "standin", "model.safetensors"), data: "coco", dataRoot: path.join(root, "coco"), size: 48 });
  assert.equal(evaluated.numImages, 2);
  assert.equal(evaluated.classErr, undefined);
  // Evaluation rebuilds the model with the run's options, as it was trained (numClasses comes from weights that tell it).
  assert.deepEqual(built!.seen, { minSize: 48, maxSize: 48, boxBatchSizePerImage: 7 });
  await assert.rejects(trainDetector({ data: "coco", dataRoot: path.join(root, "coco"), model: "standin-detector", size: 48, epochs: 1, runsDir: path.join(tmp, "runs"), name: "standin2",
    output: "silent", modelOptions: { minSize: 32 } }), /minSize is set by the task/);
  // A step that gets something else than the interface's output says so.
  const wrong = new (class extends nn.Module { override forward(): unknown { return torch.zeros([1]); } })();
  torch.tidy(() => {
    const batch = { images: torch.rand([1, 3, 16, 16]).mul(255), labels: torch.tensor([[[0, 0.1, 0.1, 0.5, 0.5]]]), sizes: torch.tensor([[16, 16]]) };
    assert.throws(() => detectorStep().trainStep(wrong, batch, { epoch: 0, index: 0 }), /dict of named losses/);
    assert.throws(() => detectorStep().evalStep!(wrong, batch, { epoch: 0, index: 0 }), /one \{ boxes, scores, labels \} per image/);
    const three = ssdResnet18({ numClasses: 2, size: 16 });
    const bad = { ...batch, labels: torch.tensor([[[1, 0.1, 0.1, 0.5, 0.5]]]) };
    assert.throws(() => detectorStep().trainStep(three, bad, { epoch: 0, index: 0 }), /labels hold a class ≥ 1, outside the model's 1 object classes/);
    three.dispose();
  });
});

test("the generated objects set: several classes, several objects per image, small, medium and large boxes by COCO's areas", async () => {
  const data = await loadDetectionData({ data: "objects", count: 24, valCount: 4, imageSize: 256, size: 32, seed: 1 });
  try {
    assert.deepEqual(data.classes, ["banana", "apple", "orange", "carrot"]);
    const rows = data.train.labels.tolist() as number[][][];
    const objects = rows.map((r) => r.filter((o) => o[0] >= 0));
    assert.ok(objects.every((o) => o.length >= 1) && objects.some((o) => o.length >= 3), "several objects per image");
    assert.equal(new Set(objects.flat().map((o) => o[0])).size, 4, "every class appears");
    const areas = objects.flat().map((o) => (o[3] - o[1]) * 256 * (o[4] - o[2]) * 256);
    assert.ok(areas.some((a) => a < 32 * 32) && areas.some((a) => a > 32 * 32 && a < 96 * 96) && areas.some((a) => a > 96 * 96),
      `small, medium and large: ${areas.map((a) => Math.round(Math.sqrt(a))).join(", ")}`);
  } finally {
    disposeSplit(data.train);
    disposeSplit(data.val);
  }
});

test("the detectors' constructors reject unknown options, naming them", () => {
  const calls: Record<string, () => unknown> = {
    ssdResnet18: () => ssdResnet18({ numClasses: 2, bogusOption: 1 } as never),
    yoloResnet18: () => yoloResnet18({ numClasses: 2, bogusOption: 1 } as never),
    DefaultBoxGenerator: () => new DefaultBoxGenerator([[2]], { bogusOption: 1 } as never),
    SSD: () => new SSD(Object.assign(new nn.Identity(), { outChannels: [4] }), new DefaultBoxGenerator([[2]]), 32, 2, { bogusOption: 1 } as never),
    YOLO: () => new YOLO(Object.assign(new nn.Identity(), { outChannels: 4 }), 2, { bogusOption: 1 } as never),
    "models.get(ssd-resnet18)": () => models.get("ssd-resnet18", { bogusOption: 1 }),
  };
  for (const [name, call] of Object.entries(calls)) assert.throws(call, (e: Error) => e.name === "FlareError" && /unknown option "bogusOption"/.test(e.message), name);
});
