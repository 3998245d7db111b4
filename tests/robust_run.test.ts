// Issue 10, run folders: one reader that names a corrupted file (a partial last
// line — what an interrupted append leaves — dropped with a warning; garbage a
// FlareError), checkpoint metadata checked before anything is restored, a file
// where a folder belongs (and the other way round) refused, one run per folder
// (a lock a killed run does not leave stale), *.tmp leftovers cleaned, and
// metric names escaped in curves.svg.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { nn, FlareError } from "../src/index.js";
import { safetensors } from "../src/io/index.js";
import { RunFolder, Trainer, saveCheckpoint, loadCheckpoint, plotSvg } from "../src/engine/index.js";
import { makeProblem, parts } from "./workers/train_problem.js";
import { assertFlareError } from "./helpers.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "flare-robust-run-"));
const runModule = fileURLToPath(new URL("../src/engine/run.js", import.meta.url));

/** Collects the process warnings `fn` emits. */
async function warnings(fn: () => unknown): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error) => seen.push(w.message);
  process.on("warning", listener);
  try { fn(); await new Promise((r) => setImmediate(r)); } finally { process.off("warning", listener); }
  return seen;
}

test("metrics.jsonl ending in a partial line: the line is dropped with a warning; a whole last line without newline is kept", async () => {
  const dir = tmp();
  const run = new RunFolder(dir);
  writeFileSync(path.join(dir, "metrics.jsonl"), '{"epoch":0,"loss":1}\n{"epoch":1,"loss":0.5}\n{"epoch":2,"lo');
  let rows: Record<string, number>[] = [];
  const seen = await warnings(() => { rows = run.readMetrics(); });
  assert.deepEqual(rows.map((r) => r.epoch), [0, 1]);
  assert.ok(seen.some((w) => /metrics\.jsonl: dropped an unfinished last line/.test(w)), `warnings: ${seen.join("; ")}`);
  writeFileSync(path.join(dir, "steps.jsonl"), '{"epoch":0,"step":1,"loss":1}\n{"epoch":0,"step":2,"loss":1}');
  assert.deepEqual(run.readSteps().map((r) => r.step), [1, 2]);
  // Resuming rewrites the log, so the cut-off line never has the next append glued to it.
  run.truncateMetrics(1);
  assert.equal(readFileSync(path.join(dir, "metrics.jsonl"), "utf8"), '{"epoch":0,"loss":1}\n{"epoch":1,"loss":0.5}\n');
  run.release();
});

test("garbage in metrics.jsonl is a FlareError naming the file and line; a fresh run in that folder still starts", () => {
  const dir = tmp();
  const run = new RunFolder(dir);
  const cases: [string, RegExp][] = [
    ['{"epoch":0}\nnot json\n{"epoch":1}\n', /metrics\.jsonl is corrupt: line 2: not JSON/],
    ['null\n', /line 1: null is not an object/],
    ['[1,2]\n', /line 1: \[1,2\] is not an object/],
    ['{"epoch":"x"}\n', /line 1: "epoch" is "x", not a number/],
    ['{"loss":1}\n', /line 1: "epoch" is undefined, not a count/],
    ['{"epoch":0,"loss":"<script>"}\n', /"loss" is "<script>", not a number/],
  ];
  for (const [text, pattern] of cases) {
    writeFileSync(path.join(dir, "metrics.jsonl"), text);
    assertFlareError(() => run.readMetrics(), pattern, "E_FORMAT");
  }
  // A fresh run's truncation keeps nothing and reads nothing.
  run.truncateMetrics(-1);
  assert.equal(readFileSync(path.join(dir, "metrics.jsonl"), "utf8"), "");
  run.release();
});

test("a fresh Trainer run in a folder with a garbage metrics.jsonl trains; resuming from it names the file", async () => {
  const dir = tmp();
  writeFileSync(path.join(dir, "metrics.jsonl"), "\u0000garbage\n");
  const a = makeProblem(0);
  await new Trainer({ ...parts(a), epochs: 1, runDir: dir, output: "silent" }).fit(a.data);
  assert.equal(readFileSync(path.join(dir, "metrics.jsonl"), "utf8").trim().split("\n").length, 1);
  writeFileSync(path.join(dir, "metrics.jsonl"), "garbage\n");
  const b = makeProblem(0);
  await assert.rejects(new Trainer({ ...parts(b), epochs: 2, runDir: dir, output: "silent" }).fit(b.data, undefined, { resume: true }),
    (e: Error) => e instanceof FlareError && /metrics\.jsonl is corrupt: line 1/.test(e.message));
});

test("checkpoint metadata that is garbage, null, an array, or epoch \"x\" → E_FORMAT; nothing restored, the file kept", () => {
  const dir = tmp();
  torch.manualSeed(0);
  const model = new nn.Linear(2, 2);
  const good = path.join(dir, "good.safetensors");
  saveCheckpoint(good, { model }, { epoch: 3, globalStep: 12 });
  const { tensors, metadata } = safetensors.loadFileWithMetadata(good);
  const meta = JSON.parse(metadata["flare.checkpoint"]);
  const bad: [string, RegExp][] = [
    ["garbage{", /metadata is not JSON/],
    ["null", /metadata is null, not an object/],
    ["[1]", /metadata is \[1\], not an object/],
    [JSON.stringify({ ...meta, epoch: "x" }), /epoch is "x", not an epoch number/],
    [JSON.stringify({ ...meta, epoch: 1.5 }), /epoch is 1\.5/],
    [JSON.stringify({ ...meta, globalStep: null }), /globalStep is null/],
    [JSON.stringify({ ...meta, scheduler: "s" }), /scheduler is "s"/],
    [JSON.stringify({ ...meta, jsGenerator: "g" }), /jsGenerator is "g"/],
  ];
  const fresh = new nn.Linear(2, 2);
  const before = fresh.weight.dataSync();
  for (const [text, pattern] of bad) {
    const file = path.join(dir, "bad.safetensors");
    safetensors.saveFile(tensors, file, { ...metadata, "flare.checkpoint": text });
    assertFlareError(() => loadCheckpoint(file, { model: fresh }), new RegExp(`bad\\.safetensors: corrupt checkpoint: .*${pattern.source}`), "E_FORMAT");
    assert.deepEqual(fresh.weight.dataSync(), before, "nothing was restored");
    assert.ok(existsSync(file));
  }
  // The good checkpoint is still usable.
  assert.deepEqual(loadCheckpoint(good, { model: fresh }), { epoch: 3, globalStep: 12, extra: undefined });
  torch.dispose([...tensors.values()]);
});

test("a Trainer resuming from a checkpoint with epoch \"x\" fails with a FlareError (not 'resumed after epoch NaN'), metrics untouched", async () => {
  const dir = tmp();
  const a = makeProblem(0);
  await new Trainer({ ...parts(a), epochs: 1, runDir: dir, output: "silent" }).fit(a.data);
  const last = path.join(dir, "checkpoints", "last.safetensors");
  const { tensors, metadata } = safetensors.loadFileWithMetadata(last);
  const meta = JSON.parse(metadata["flare.checkpoint"]);
  safetensors.saveFile(tensors, last, { ...metadata, "flare.checkpoint": JSON.stringify({ ...meta, epoch: "x" }) });
  torch.dispose([...tensors.values()]);
  const metrics = readFileSync(path.join(dir, "metrics.jsonl"), "utf8");
  const b = makeProblem(0);
  await assert.rejects(new Trainer({ ...parts(b), epochs: 2, runDir: dir, output: "silent" }).fit(b.data, undefined, { resume: true }),
    (e: Error) => e instanceof FlareError && /last\.safetensors: corrupt checkpoint: epoch is "x"/.test(e.message));
  assert.equal(readFileSync(path.join(dir, "metrics.jsonl"), "utf8"), metrics);
});

test("a file where the run folder (or --runs-dir) belongs, a directory where a file belongs → E_IO", () => {
  const base = tmp();
  const runsFile = path.join(base, "runs");
  writeFileSync(runsFile, "I am a file");
  assertFlareError(() => new RunFolder(path.join(runsFile, "name")), /runs is a file, not a folder/, "E_IO");
  assertFlareError(() => new RunFolder(runsFile), /runs is a file, not a run folder/, "E_IO");
  const dir = path.join(base, "run");
  mkdirSync(path.join(dir, "checkpoints", "last.safetensors"), { recursive: true });
  mkdirSync(path.join(dir, "metrics.jsonl"));
  const run = new RunFolder(dir);
  assertFlareError(() => run.hasCheckpoint(), /last\.safetensors is a directory, not a checkpoint file/, "E_IO");
  assertFlareError(() => run.appendMetrics({ epoch: 0 }), /could not append to .*metrics\.jsonl: it is a directory/, "E_IO");
  assertFlareError(() => run.truncateMetrics(-1), /could not write .*metrics\.jsonl/, "E_IO");
  run.release();
  const checkpointsFile = path.join(base, "run2");
  mkdirSync(checkpointsFile);
  writeFileSync(path.join(checkpointsFile, "checkpoints"), "");
  assertFlareError(() => new RunFolder(checkpointsFile), /checkpoints is a file, not a folder/, "E_IO");
});

/** A child process that opens the run folder and waits; resolves once it holds the lock. */
function holder(dir: string, exit = false): Promise<ReturnType<typeof spawn>> {
  const code = `const { RunFolder } = await import(${JSON.stringify(runModule)}); new RunFolder(process.env.RUN_DIR); console.log("locked"); ${exit ? "process.exitCode = 0;" : "setInterval(() => {}, 1000);"}`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], { env: { ...process.env, RUN_DIR: dir }, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => { if (d.toString().includes("locked")) resolve(child); });
    if (!exit) child.on("exit", (c) => reject(new Error(`holder exited with ${c}`)));
  });
}

const exited = (child: ReturnType<typeof spawn>) => new Promise((r) => child.on("exit", r));

test("a second run in the same folder is refused while the first lives; a killed run's lock is taken over; a finished run's lock is gone", { timeout: 60_000 }, async () => {
  const dir = tmp();
  const first = await holder(dir);
  assertFlareError(() => new RunFolder(dir), new RegExp(`in use by another run \\(process ${first.pid}\\)`), "E_STATE");
  // The Trainer opens its folder the same way: two trainings cannot interleave their logs.
  const a = makeProblem(0);
  assert.throws(() => new Trainer({ ...parts(a), epochs: 1, runDir: dir, output: "silent" }), /in use by another run/);
  // Another rank (read-only) may still read it.
  assert.equal(new RunFolder(dir, { readOnly: true }).hasCheckpoint(), false);
  first.kill("SIGKILL");
  await exited(first);
  assert.ok(existsSync(path.join(dir, ".lock")), "kill -9 left the lock file");
  const run = new RunFolder(dir); // stale: its pid is gone
  assert.equal(JSON.parse(readFileSync(path.join(dir, ".lock"), "utf8")).pid, process.pid);
  run.release();
  assert.equal(existsSync(path.join(dir, ".lock")), false, "release() gives the lock back");
  // A run that ends normally removes its lock at exit.
  const done = await holder(dir, true);
  await exited(done);
  assert.equal(existsSync(path.join(dir, ".lock")), false, "a finished run leaves no lock");
  const second = await holder(dir);
  second.kill("SIGTERM");
  await exited(second);
  // SIGTERM skips 'exit' handlers; its lock is stale and is taken over.
  new RunFolder(dir).release();
  // A live pid that started at another time is a reused pid, not the lock's owner.
  writeFileSync(path.join(dir, ".lock"), JSON.stringify({ pid: process.ppid, host: hostname(), start: "1" }));
  new RunFolder(dir).release();
  // A live pid with no start time recorded counts as the owner.
  writeFileSync(path.join(dir, ".lock"), JSON.stringify({ pid: process.ppid, host: hostname() }));
  assertFlareError(() => new RunFolder(dir), /in use by another run/, "E_STATE");
  // Garbage in the lock file is not a live run.
  writeFileSync(path.join(dir, ".lock"), "garbage");
  new RunFolder(dir).release();
});

test("*.tmp files left by an interrupted write are removed when a run opens its folder", () => {
  const dir = tmp();
  mkdirSync(path.join(dir, "checkpoints"));
  writeFileSync(path.join(dir, "metrics.jsonl.1234.1700000000000.tmp"), "partial");
  writeFileSync(path.join(dir, "checkpoints", "last.safetensors.1234.1700000000000.tmp"), "partial");
  writeFileSync(path.join(dir, "keep.txt"), "mine");
  const run = new RunFolder(dir);
  assert.equal(run.cleaned.length, 2);
  assert.equal(existsSync(path.join(dir, "metrics.jsonl.1234.1700000000000.tmp")), false);
  assert.equal(existsSync(path.join(dir, "checkpoints", "last.safetensors.1234.1700000000000.tmp")), false);
  assert.ok(existsSync(path.join(dir, "keep.txt")));
  run.release();
});

test("metric names go into curves.svg escaped", () => {
  const svg = plotSvg([{ epoch: 0, "<script>alert(1)</script>": 0.5, 'a"b&c': 0.2 }]);
  assert.ok(!svg.includes("<script>"), "no raw markup from a metric name");
  assert.ok(svg.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(svg.includes("a&quot;b&amp;c"));
});
