// End to end: the flare CLI trains on (a slice of) Fashion-MNIST, writes its run
// folder, and --resume picks a run up from its checkpoint. (Exact resume against
// an uninterrupted run, also after kill -9, is tested in engine.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { datasets } from "../src/vision/index.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const flare = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000 });
const lastJson = (out: string) => JSON.parse(out.trim().split("\n").pop()!);
const haveData = existsSync(datasets.FASHION_MNIST_ROOT);

test("flare info prints the build", () => {
  const info = JSON.parse(flare("info"));
  assert.match(info.torchVersion, /^\d+\.\d+/);
});

test("flare train classify --json writes a run; --resume continues it from its checkpoint (two runs resumed alike agree)", { skip: !haveData && "dataset-fashion-mnist is not installed" }, () => {
  const runs = mkdtempSync(path.join(tmpdir(), "flare-cli-"));
  const common = ["train", "classify", "--data", "fashion-mnist", "--width", "4", "--limit", "512", "--batch-size", "128", "--runs-dir", runs, "--json"];
  const straight = lastJson(flare(...common, "--epochs", "2", "--name", "straight"));
  assert.equal(straight.event, "done");
  assert.ok(existsSync(path.join(runs, "straight", "checkpoints", "best.safetensors")));
  flare(...common, "--epochs", "2", "--name", "split", "--limit", "512");
  // Train "split" again from its checkpoint after epoch 2 to epoch 3, and "straight" likewise: same numbers.
  const a = lastJson(flare(...common, "--epochs", "3", "--name", "straight", "--resume"));
  const b = lastJson(flare(...common, "--epochs", "3", "--name", "split", "--resume"));
  assert.equal(a.train_loss, b.train_loss);
  assert.equal(a.val_acc, b.val_acc);
  assert.ok(Number.isFinite(a.val_loss));
});

test("flare with a bad command or flag exits non-zero with a message", () => {
  assert.throws(() => flare("train", "classify", "--data", "imagenet"), (e: { status: number; stderr: string }) =>
    e.status === 1 && /unknown dataset 'imagenet'/.test(e.stderr));
  assert.throws(() => flare("frobnicate"), (e: { status: number }) => e.status === 2);
});
