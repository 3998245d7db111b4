// End to end: the flare CLI trains on (a slice of) Fashion-MNIST, writes its run
// folder, and --resume picks a run up from its checkpoint. (Exact resume against
// an uninterrupted run, also after kill -9, is tested in engine.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { datasets, models, writeImage, readImage } from "../src/vision/index.js";
import { assertClose, writeTinyCifar } from "./helpers.js";

const cli = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));
const flare = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000 });
const lastJson = (out: string) => JSON.parse(out.trim().split("\n").pop()!);
const haveData = existsSync(datasets.FASHION_MNIST_ROOT);

test("flare eval detect prints COCOeval's 12 lines, or its stats as JSON, for COCO files", () => {
  const fixtures = fileURLToPath(new URL("../../tests/fixtures/cocoeval/", import.meta.url));
  const expected = JSON.parse(readFileSync(path.join(fixtures, "float_expected.json"), "utf8"));
  const files = ["--gt", path.join(fixtures, "float_gt.json"), "--dt", path.join(fixtures, "float_dt.json")];
  assert.deepEqual(flare("eval", "detect", ...files).trimEnd().split("\n"), expected.lines);
  const stats = lastJson(flare("eval", "detect", ...files, "--json")).stats as number[];
  assertClose(torch.tensor(stats, { dtype: "float64" }), torch.tensor(expected.stats, { dtype: "float64" }), { atol: 1e-12, what: "stats" });
});

test("flare info prints the build", () => {
  const info = JSON.parse(flare("info"));
  assert.match(info.torchVersion, /^\d+\.\d+/);
});

test("flare train classify --json writes a run; --resume continues it from its checkpoint (two runs resumed alike agree); eval and predict use its weights", { skip: !haveData && "dataset-fashion-mnist is not installed" }, async () => {
  const runs = mkdtempSync(path.join(tmpdir(), "flare-cli-"));
  const common = ["train", "classify", "--data", "fashion-mnist", "--width", "4", "--limit", "512", "--batch-size", "128", "--runs-dir", runs, "--json"];
  const straight = lastJson(flare(...common, "--epochs", "2", "--name", "straight"));
  assert.equal(straight.event, "done");
  assert.ok(existsSync(path.join(runs, "straight", "checkpoints", "best.safetensors")));
  // A numeric-looking run name stays a name (it once became a number and crashed).
  flare(...common, "--epochs", "2", "--name", "2", "--limit", "512");
  assert.ok(existsSync(path.join(runs, "2", "checkpoints", "last.safetensors")));
  assert.ok(readFileSync(path.join(runs, "2", "steps.jsonl"), "utf8").trim().split("\n").length === 8, "steps.jsonl: 4 steps an epoch");
  // Train "2" again from its checkpoint after epoch 2 to epoch 3, and "straight" likewise: same numbers.
  const a = lastJson(flare(...common, "--epochs", "3", "--name", "straight", "--resume"));
  const b = lastJson(flare(...common, "--epochs", "3", "--name", "2", "--resume"));
  assert.equal(a.train_loss, b.train_loss);
  assert.equal(a.val_acc, b.val_acc);
  assert.ok(Number.isFinite(a.val_loss));

  // The best weights feed `flare eval` and `flare predict`.
  const weights = path.join(runs, "straight", "model.safetensors");
  const evaluated = JSON.parse(flare("eval", "--weights", weights, "--limit", "512", "--json"));
  const rows = readFileSync(path.join(runs, "straight", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const bestValAcc = Math.max(...rows.map((r) => r.val_acc));
  assert.ok(Math.abs(evaluated.acc - bestValAcc) < 1e-9, `eval ${evaluated.acc} reproduces the best val_acc ${bestValAcc} of the saved model`);
  const image = path.join(runs, "first-test-image.png");
  const { images, labels } = datasets.loadFashionMnist({ train: false });
  await writeImage(images.index(0), image);
  torch.dispose([images, labels]);
  const predicted = JSON.parse(flare("predict", image, "--weights", weights, "--topk", "3", "--json"));
  assert.equal(predicted.file, image);
  assert.equal(predicted.top.length, 3);
  assert.ok(datasets.FASHION_MNIST_CLASSES.includes(predicted.top[0].name));
  const total = predicted.top.reduce((sum: number, t: { probability: number }) => sum + t.probability, 0);
  assert.ok(total > 0 && total <= 1.0001);
});

test("flare with a bad command or flag exits 2 with a message; a failing command exits 1; --help exits 0", () => {
  assert.throws(() => flare("train", "classify", "--data", "imagenet"), (e: { status: number; stderr: string }) =>
    e.status === 2 && e.stderr === "flare train classify: --data must be one of fashion-mnist, cifar10, imagefolder, got 'imagenet'\n");
  assert.throws(() => flare("train", "classify", "--data", "fashion-mnist", "--batch-size", "0"), (e: { status: number; stderr: string }) =>
    e.status === 2 && e.stderr === "flare train classify: --batch-size must be an integer ≥ 1, got '0'\n");
  assert.throws(() => flare("frobnicate"), (e: { status: number; stderr: string }) => e.status === 2 && e.stderr.startsWith("flare: unknown command 'frobnicate'"));
  assert.match(flare("--help"), /^usage: flare <command>/);
  assert.match(flare("predict", "--help"), /^usage: flare predict IMAGE\.\.\. --weights W\.safetensors \[flags\]/);
  assert.throws(() => flare("predict", "/nonexistent.png", "--weights", "/nonexistent.safetensors"), (e: { status: number; stderr: string }) =>
    e.status === 1 && /could not read \/nonexistent\.safetensors/.test(e.stderr));
});

test("flare finetune: new head for the folder's classes, frozen layers unchanged, the rest trained", async () => {
  const root = mkdtempSync(path.join(tmpdir(), "flare-finetune-"));
  // Two classes told apart by where the bright half is.
  for (const split of ["train", "test"]) {
    for (const [cls, top] of [["bright-top", true], ["bright-bottom", false]] as const) {
      mkdirSync(path.join(root, "data", split, cls), { recursive: true });
      for (let i = 0; i < (split === "train" ? 6 : 3); i++) {
        const image = torch.tidy(() => {
          const img = torch.randint(0, 60, [1, 32, 32], { dtype: "uint8" });
          img.indexPut_([":", top ? "0:16" : "16:"], 200 + i);
          return img;
        });
        await writeImage(image, path.join(root, "data", split, cls, `${i}.png`));
        image.dispose();
      }
    }
  }
  const pretrained = path.join(root, "pretrained.safetensors");
  torch.tidy(() => {
    torch.manualSeed(3);
    const net = models.resnet18Small(10, { width: 4 });
    torch.save(net.stateDict(), pretrained);
    net.dispose();
  });
  const before = torch.load(pretrained);
  const out = JSON.parse(flare("finetune", "--weights", pretrained, "--arch", "resnet18-small", "--data", path.join(root, "data"),
    "--freeze", "0", "--epochs", "2", "--batch-size", "4", "--runs-dir", path.join(root, "runs"), "--name", "ft", "--json").trim().split("\n").pop()!);
  assert.deepEqual(out.classes, ["bright-bottom", "bright-top"]);
  assert.ok(Number.isFinite(out.val_acc));
  const after = torch.load(path.join(root, "runs", "ft", "model.safetensors"));
  assert.deepEqual(after.get("9.weight")!.shape, [2, 32], "a new 2-class head");
  // --freeze 0 freezes module "0" (it was once silently ignored), and only it.
  assertClose(after.get("0.weight")!, before.get("0.weight")!, { rtol: 0, atol: 0, what: "frozen stem conv" });
  const bnChanged = torch.tidy(() => after.get("1.weight")!.sub(before.get("1.weight")!).abs().max().item());
  assert.ok(bnChanged > 0, "the stem BN (module 1, not frozen) was trained");
  const changed = torch.tidy(() => after.get("3.0.conv1.weight")!.sub(before.get("3.0.conv1.weight")!).abs().max().item());
  assert.ok(changed > 0, "the unfrozen body was trained (with the smaller lr)");
  torch.dispose([before, after]);
});

test("flare data make bananas|shapes writes sets that the loaders read back", async () => {
  const out = mkdtempSync(path.join(tmpdir(), "flare-data-"));
  flare("data", "make", "bananas", "--out", path.join(out, "bananas"), "--count", "6", "--seed", "2");
  const bananas = new datasets.BananaDetection({ root: path.join(out, "bananas"), train: true });
  assert.equal(bananas.length, 6);
  const [image, target] = await bananas.get(0);
  assert.deepEqual(image.shape, [3, 256, 256]);
  assert.equal(target.shape[1], 5);
  torch.dispose([image, target]);
  flare("data", "make", "shapes", "--out", path.join(out, "shapes"), "--count", "4", "--seed", "2");
  const shapes = new datasets.VOCSegmentation({ root: path.join(out, "shapes"), imageSet: "train" });
  assert.ok(shapes.length > 0);
  assert.throws(() => flare("data", "make", "cats", "--out", out), (e: { status: number; stderr: string }) => e.status === 1 && /unknown set 'cats'/.test(e.stderr));
});

test("flare augment draws an image through a transform spec as a grid; a bad spec says where it fails", async () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), "flare-aug-")), "grid.png");
  const photo = fileURLToPath(new URL("../../assets/images/chelsea.jpg", import.meta.url));
  const result = JSON.parse(flare("augment", photo, "--transform", "RandomResizedCrop(64) | RandomHorizontalFlip() | ColorJitter(0.5, 0.5, 0.5, 0.1)",
    "--n", "6", "--nrow", "3", "--out", out, "--json"));
  assert.deepEqual(result.shape, [3, 64, 64]);
  const grid = await readImage(out);
  assert.deepEqual(grid.shape, [3, 2 * 64 + 3 * 2, 3 * 64 + 4 * 2], "2 rows of 3 tiles with 2-pixel padding");
  grid.dispose();
  assert.throws(() => flare("augment", photo, "--transform", "RandomResizedCrop(64) | Flip(", "--out", out),
    (e: { status: number; stderr: string }) => e.status === 1 && /column \d+/.test(e.stderr));
});

test("flare train classify --data cifar10 DIR and --data imagefolder DIR", async () => {
  const root = mkdtempSync(path.join(tmpdir(), "flare-cls-"));
  writeTinyCifar(root, 8, 10);
  const cifar = lastJson(flare("train", "classify", "--data", "cifar10", path.join(root, "cifar"), "--width", "4", "--epochs", "1",
    "--batch-size", "16", "--runs-dir", path.join(root, "runs"), "--name", "c", "--json"));
  assert.equal(cifar.event, "done");
  assert.ok(Number.isFinite(cifar.val_loss));
  assert.deepEqual(torch.tidy(() => torch.load(path.join(root, "runs", "c", "model.safetensors")).get("0.weight")!.shape), [4, 3, 3, 3], "3 input channels");

  for (const split of ["train", "test"]) {
    for (const cls of ["a", "b", "c"]) {
      mkdirSync(path.join(root, "folder", split, cls), { recursive: true });
      for (let i = 0; i < 2; i++) {
        const image = torch.randint(0, 255, [3, 20, 24], { dtype: "uint8" });
        await writeImage(image, path.join(root, "folder", split, cls, `${i}.png`));
        image.dispose();
      }
    }
  }
  const folder = lastJson(flare("train", "classify", "--data", "imagefolder", path.join(root, "folder"), "--width", "4", "--epochs", "1",
    "--batch-size", "4", "--runs-dir", path.join(root, "runs"), "--name", "f", "--json"));
  assert.equal(folder.event, "done");
  assert.deepEqual(torch.tidy(() => torch.load(path.join(root, "runs", "f", "model.safetensors")).get("9.weight")!.shape), [3, 32], "three classes");
});
