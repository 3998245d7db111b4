// Issue 10, the command line: bounded counts (--n 1e9), nonsensical values
// (--limit 0, --batch-size 0), required weights, unknown flags, special files
// as inputs, --runs-dir that is a file — each a one-line FlareError with exit
// code 2 (command line) or 1 (the task), never a stack, a hang or a crash; and
// `flare augment ... --transform "RandomHorizontalFlip()"` works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { writeImage } from "../src/vision/index.js";

const cli = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "flare-robust-cli-"));
const photo = path.join(dir, "photo.jpg");
const haveData = existsSync("/usr/share/datasets/fashion-mnist");

function flare(...args: string[]): { status: number | null; stdout: string; stderr: string; signal: NodeJS.Signals | null } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000, cwd: dir });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/** Exit `status`, one message matching `pattern`, no JavaScript stack. */
function fails(status: number, pattern: RegExp, ...args: string[]): void {
  const r = flare(...args);
  assert.equal(r.signal, null, `flare ${args.join(" ")}: killed by ${r.signal}`);
  assert.equal(r.status, status, `flare ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
  assert.match(r.stderr, pattern, `flare ${args.join(" ")}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `flare ${args.join(" ")}: a stack trace\n${r.stderr}`);
}

test("the command line refuses unbounded or nonsensical counts and missing weights (exit 2)", { timeout: 120_000 }, () => {
  fails(2, /--n must be an integer ≤ 256 \(flare's limit\), got '1000000000'/, "augment", "x.png", "--transform", "RandomHorizontalFlip()", "--out", "y.png", "--n", "1000000000");
  fails(2, /--n must be an integer ≥ 1, got '1e9'/, "augment", "x.png", "--transform", "RandomHorizontalFlip()", "--out", "y.png", "--n", "1e9");
  fails(2, /--limit must be an integer ≥ 1, got '0'/, "train", "classify", "--data", "fashion-mnist", "--limit", "0");
  fails(2, /--batch-size must be an integer ≥ 1, got '0'/, "eval", "--weights", "w.safetensors", "--batch-size", "0");
  fails(2, /--batch-size must be an integer ≥ 1, got '-5'/, "eval", "--weights", "w.safetensors", "--batch-size=-5");
  fails(2, /--weights W\.safetensors is required/, "eval");
  fails(2, /unknown flag --bogus/, "eval", "--weights", "w.safetensors", "--bogus");
  fails(2, /--count must be an integer ≤ 1000000/, "data", "make", "bananas", "--out", "d", "--count", "999999999999");
});

test("special files and non-files as inputs: exit 1 with a FlareError naming them, no hang", { timeout: 120_000 }, () => {
  fails(1, /\/dev\/zero: is a character device/, "predict", "/dev/zero", "--weights", "/dev/zero");
  fails(1, /could not read .*\/dev\/zero: is a character device/, "augment", "/dev/zero", "--transform", "RandomHorizontalFlip()", "--out", "y.png");
  fails(1, /: is a directory/, "eval", "detect", "--gt", dir, "--dt", dir);
  fails(1, /\/dev\/zero: is a character device/, "eval", "--weights", "/dev/zero", "--limit", "1");
});

test("flare augment photo.jpg --transform \"RandomHorizontalFlip()\" --out x.png works (the pipeline may return its input)", { timeout: 120_000 }, async () => {
  await writeImage(torch.randint(0, 256, [3, 16, 20], { dtype: "uint8" }), photo);
  const r = flare("augment", photo, "--transform", "RandomHorizontalFlip()", "--out", path.join(dir, "x.png"));
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(path.join(dir, "x.png")));
  fails(1, /unknown transform 'constructor'/, "augment", photo, "--transform", "constructor()", "--out", path.join(dir, "z.png"));
  fails(1, /num_ops = 100000 is beyond the limit 100/, "augment", photo, "--transform", "RandAugment(100000)", "--out", path.join(dir, "z.png"));
});

test("--runs-dir that is a file → exit 1 naming it", { skip: !haveData && "dataset-fashion-mnist is not installed", timeout: 120_000 }, () => {
  const file = path.join(dir, "runs-file");
  writeFileSync(file, "not a folder");
  fails(1, /runs-file is a file, not a folder/, "train", "classify", "--data", "fashion-mnist", "--limit", "16", "--epochs", "1", "--width", "2", "--runs-dir", file);
});
