// Issue 10, files: every reader refuses what is not a regular file of plausible
// size — /dev/zero (endless), a FIFO (blocks for ever), a directory, a missing
// file — with a FlareError naming the file, quickly; non-string paths (a number
// would be a file descriptor: torch.load(0) read stdin) are refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { FlareError } from "../src/index.js";
import { safetensors, readRegularFile, FILE_LIMITS } from "../src/io/index.js";
import { readImage, datasets, metrics } from "../src/vision/index.js";
import { RunFolder, loadCheckpoint } from "../src/engine/index.js";
import { nn } from "../src/index.js";
import { assertFlareError } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "flare-robust-files-"));
const fifo = path.join(dir, "pipe");
execFileSync("mkfifo", [fifo]);
const folder = path.join(dir, "folder");
mkdirSync(folder);
const missing = path.join(dir, "missing.bin");

/** The bad paths and what each message must say. */
const BAD: [string, RegExp][] = [
  ["/dev/zero", /\/dev\/zero: is a character device, not a regular file/],
  [fifo, /pipe: is a FIFO \(named pipe\), not a regular file/],
  [folder, /folder: is a directory/],
  [missing, /missing\.bin: no such file/],
];

async function expectIo(what: string, fn: (file: string) => unknown): Promise<void> {
  for (const [file, pattern] of BAD) {
    await assert.rejects(async () => fn(file), (error: unknown) => {
      assert.ok(error instanceof FlareError, `${what}(${file}): expected a FlareError, got ${String(error)}`);
      assert.match((error as Error).message, pattern, `${what}(${file})`);
      assert.equal((error as FlareError).code, "E_IO");
      return true;
    }, `${what}(${file})`);
  }
}

// Each reader, called on a path. A hang fails by the test's timeout, /dev/zero by running out of memory.
const READERS: [string, (file: string) => unknown][] = [
  ["readRegularFile", (f) => readRegularFile(f, { maxBytes: 1024, what: "test" })],
  ["torch.load", (f) => torch.load(f)],
  ["safetensors.loadFile", (f) => safetensors.loadFile(f)],
  ["readImage", (f) => readImage(f)],
  ["readIdx", (f) => datasets.readIdx(f)],
  ["imageSizeFromHeader", (f) => datasets.imageSizeFromHeader(f)],
  ["CocoDetection annFile", (f) => new datasets.CocoDetection({ root: dir, annFile: f })],
  ["evaluateCocoFiles", (f) => metrics.evaluateCocoFiles(f, f)],
  ["loadCheckpoint", (f) => loadCheckpoint(f, { model: new nn.Linear(1, 1) })],
];

for (const [what, fn] of READERS) {
  test(`${what}: /dev/zero, a FIFO, a directory, a missing file → E_IO FlareError naming it`, { timeout: 20_000 }, async () => {
    await expectIo(what, fn);
  });
}

test("dataset files in place: VOC split list, banana CSV, CIFAR batch, Fashion-MNIST IDX as a FIFO or a directory → E_IO", { timeout: 20_000 }, async () => {
  // VOC: ImageSets/Segmentation/train.txt as a FIFO.
  const voc = path.join(dir, "voc");
  mkdirSync(path.join(voc, "ImageSets", "Segmentation"), { recursive: true });
  execFileSync("mkfifo", [path.join(voc, "ImageSets", "Segmentation", "train.txt")]);
  assertFlareError(() => new datasets.VOCSegmentation({ root: voc }), /train\.txt: is a FIFO/, "E_IO");
  // Bananas: label.csv as a directory.
  const bananas = path.join(dir, "bananas");
  mkdirSync(path.join(bananas, "bananas_train", "label.csv"), { recursive: true });
  assertFlareError(() => new datasets.BananaDetection({ root: bananas }), /label\.csv: is a directory/, "E_IO");
  // CIFAR-10: a batch as a FIFO.
  const cifar = path.join(dir, "cifar", "cifar-10-batches-bin");
  mkdirSync(cifar, { recursive: true });
  for (let i = 1; i <= 5; i++) writeFileSync(path.join(cifar, `data_batch_${i}.bin`), Buffer.alloc(3073));
  execFileSync("mkfifo", [path.join(cifar, "test_batch.bin")]);
  assertFlareError(() => new datasets.CIFAR10({ root: path.dirname(cifar), train: false }), /test_batch\.bin: is a FIFO/, "E_IO");
  // Fashion-MNIST: the images file as a FIFO.
  const fm = path.join(dir, "fm");
  mkdirSync(fm);
  execFileSync("mkfifo", [path.join(fm, "train-images-idx3-ubyte")]);
  assertFlareError(() => datasets.loadFashionMnist({ root: fm }), /train-images-idx3-ubyte: is a FIFO/, "E_IO");
});

test("a file above the reader's limit is refused before it is read", () => {
  const big = path.join(dir, "big.bin");
  writeFileSync(big, Buffer.alloc(2048));
  assertFlareError(() => readRegularFile(big, { maxBytes: 1024, what: "test" }), /big\.bin: it is 2048 bytes, more than the 1024 bytes this reader accepts/, "E_IO");
  assert.ok(FILE_LIMITS.image > 0 && FILE_LIMITS.json > 0);
});

test("non-string paths: torch.load(0) (stdin's descriptor), null, a Buffer, '' → E_ARGUMENT; no read", { timeout: 10_000 }, async () => {
  for (const bad of [0, 1, null, undefined, Buffer.from("x"), "", {}]) {
    assertFlareError(() => torch.load(bad as never), /load\(\): expected a file path/, "E_ARGUMENT");
    assertFlareError(() => safetensors.loadFile(bad as never), /expected a file path/, "E_ARGUMENT");
    assertFlareError(() => torch.save({ a: torch.ones([1]) }, bad as never), /save\(\): expected a file path/, "E_ARGUMENT");
  }
  await assert.rejects(readImage(0 as never), (e: Error) => e instanceof FlareError && /expected a file path, Buffer or Uint8Array/.test(e.message));
  await assert.rejects(readImage(null as never), (e: Error) => e instanceof FlareError);
});

test("run folder logs that are a FIFO or a directory → E_IO naming them", { timeout: 20_000 }, () => {
  const run = path.join(dir, "run-special");
  mkdirSync(run);
  execFileSync("mkfifo", [path.join(run, "metrics.jsonl")]);
  mkdirSync(path.join(run, "steps.jsonl"));
  const folder = new RunFolder(run);
  assertFlareError(() => folder.readMetrics(), /metrics\.jsonl: is a FIFO/, "E_IO");
  assertFlareError(() => folder.readSteps(), /steps\.jsonl: is a directory/, "E_IO");
  folder.release();
});
