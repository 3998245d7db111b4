// The training engine: fit, the run folder, exact resume (also after kill -9),
// NaN loss, early stopping, checkpoints. (The Trainer's options one by one are
// in engine_trainer.test.ts; toy tasks of other shapes in engine_tasks.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { nn, optim } from "../src/index.js";
import { Trainer, saveCheckpoint, loadCheckpoint, supervisedStep } from "../src/engine/index.js";
import { makeProblem, parts } from "./workers/train_problem.js";
import { assertClose } from "./helpers.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "flare-engine-"));

test("fit learns, writes the run folder and reports metrics", async () => {
  const dir = tmp();
  const problem = makeProblem(0);
  const { model, optimizer, data } = problem;
  const trainer = new Trainer({ ...parts(problem), epochs: 4, runDir: dir, output: "silent", config: { task: "test" } });
  const history = await trainer.fit(data, data);
  assert.equal(history.length, 4);
  assert.ok(history[3].train_loss < history[0].train_loss, "the loss falls");
  assert.ok(history[3].val_acc > 0.9, `val accuracy ${history[3].val_acc}`);
  assert.ok(history[0].examples_per_s > 0);
  for (const f of ["config.json", "metrics.jsonl", "steps.jsonl", "curves.svg", "checkpoints/last.safetensors", "checkpoints/best.safetensors"])
    assert.ok(existsSync(path.join(dir, f)), f);
  assert.equal(readFileSync(path.join(dir, "metrics.jsonl"), "utf8").trim().split("\n").length, 4);
  assert.match(readFileSync(path.join(dir, "curves.svg"), "utf8"), /<polyline/);
  assert.equal(JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8")).task, "test");
  // A new (not resumed) run in the same folder starts its own metrics.
  const again = await new Trainer({ model, optimizer, step: problem.step, epochs: 1, runDir: dir, output: "silent" }).fit(data);
  assert.equal(again.length, 1);
  assert.equal(readFileSync(path.join(dir, "metrics.jsonl"), "utf8").trim().split("\n").length, 1);
  assert.equal(readFileSync(path.join(dir, "steps.jsonl"), "utf8").trim().split("\n").length, 6, "one line per optimizer step of the new run");
  model.dispose(); optimizer.dispose();
});

test("resume continues exactly where the run stopped: the same losses as an uninterrupted run", async () => {
  const full = makeProblem(0);
  const uninterrupted = await new Trainer({ ...parts(full), epochs: 4, output: "silent" }).fit(full.data);
  const dir = tmp();
  const first = makeProblem(0);
  await new Trainer({ ...parts(first), epochs: 2, runDir: dir, output: "silent" }).fit(first.data);
  const second = makeProblem(123); // other initial weights and RNG: the checkpoint must restore them
  const resumed = await new Trainer({ ...parts(second), epochs: 4, runDir: dir, output: "silent" }).fit(second.data, undefined, { resume: true });
  assert.deepEqual(resumed.map((m) => m.train_loss), uninterrupted.map((m) => m.train_loss));
  assert.deepEqual(resumed.map((m) => m.train_acc), uninterrupted.map((m) => m.train_acc));
  const steps = readFileSync(path.join(dir, "steps.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(steps.map((r) => r.step), Array.from({ length: 24 }, (_, i) => i + 1), "steps.jsonl holds each optimizer step once");
  const reference = new Map(full.model.namedParameters());
  for (const [name, p] of second.model.namedParameters()) assertClose(p, reference.get(name)!, { rtol: 0, atol: 0, what: name });
  for (const p of [full, first, second]) { p.model.dispose(); p.optimizer.dispose(); }
});

test("kill -9 in the middle of an epoch, then --resume: no checkpoint lost, the same losses", async () => {
  const dir = tmp();
  const worker = fileURLToPath(new URL("./workers/train_worker.js", import.meta.url));
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [worker, dir, "4", "13"], { stdio: "ignore" });
    child.on("exit", (c, signal) => resolve(signal === "SIGKILL" ? -9 : c));
  });
  assert.equal(code, -9, "the worker was killed mid-epoch");
  const problem = makeProblem(0);
  const { model, optimizer, scheduler, data } = problem;
  const saved = loadCheckpoint(path.join(dir, "checkpoints", "last.safetensors"), { model, optimizer, scheduler });
  assert.equal(saved.epoch, 1, "epochs 1 and 2 finished before the kill (step 13 is in epoch 3)");
  const stepsBefore = readFileSync(path.join(dir, "steps.jsonl"), "utf8").trim().split("\n").length;
  assert.ok(stepsBefore >= 12, `the killed run logged its steps as it went (${stepsBefore} lines)`);
  const resumed = await new Trainer({ ...parts(problem), epochs: 4, runDir: dir, output: "silent" }).fit(data, undefined, { resume: true });
  const reference = makeProblem(0);
  const uninterrupted = await new Trainer({ ...parts(reference), epochs: 4, output: "silent" }).fit(reference.data);
  assert.deepEqual(resumed.map((m) => m.train_loss), uninterrupted.map((m) => m.train_loss));
  assert.equal(readFileSync(path.join(dir, "metrics.jsonl"), "utf8").trim().split("\n").length, 4);
  const steps = readFileSync(path.join(dir, "steps.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(steps.map((r) => r.step), Array.from({ length: 24 }, (_, i) => i + 1), "the steps after the checkpoint were dropped and logged again once");
});

test("a NaN loss stops training with a clear message and keeps the last good checkpoint", async () => {
  const dir = tmp();
  const { model, optimizer, data } = makeProblem(0);
  let calls = 0;
  const trainer = new Trainer({
    model, optimizer, epochs: 3, runDir: dir, output: "silent",
    step: supervisedStep((out, target) => { calls++; const l = torch.F.crossEntropy(out, target); return calls > 8 ? l.mul(NaN) : l; }),
  });
  await assert.rejects(trainer.fit(data), (e: Error) => e.name === "FlareError" && /loss became NaN at epoch 2, batch 3; the last good checkpoint is .*last\.safetensors/.test(e.message));
  const saved = loadCheckpoint(path.join(dir, "checkpoints", "last.safetensors"), makeProblem(0));
  assert.equal(saved.epoch, 0);
});

test("a failure while saving leaves the previous checkpoint intact", () => {
  const dir = tmp();
  const file = path.join(dir, "ckpt.safetensors");
  const { model, optimizer } = makeProblem(0);
  saveCheckpoint(file, { model, optimizer }, { epoch: 5, globalStep: 50 });
  const before = readFileSync(file);
  const broken = new nn.Linear(2, 2);
  broken.weight.dispose(); // serialising it fails half-way
  assert.throws(() => saveCheckpoint(file, { model: broken }, { epoch: 6, globalStep: 60 }), /disposed/);
  assert.deepEqual(readFileSync(file), before);
  assert.equal(loadCheckpoint(file, makeProblem(0)).epoch, 5);
});

test("early stopping and callbacks", async () => {
  const { data } = makeProblem(0);
  const model = new nn.Linear(2, 3);
  const frozen = new optim.SGD(model.parameters(), { lr: 0 }); // nothing improves
  const epochsSeen: number[] = [];
  const history = await new Trainer({
    model, optimizer: frozen, epochs: 10, output: "silent", earlyStopping: { patience: 1, minDelta: 1e-6 }, step: makeProblem(0).step,
    callbacks: { onEpochEnd: (m) => { epochsSeen.push(m.epoch); } },
  }).fit(data);
  assert.equal(history.length, 3, "epoch 1 sets the best, epochs 2 and 3 do not improve: stop");
  assert.deepEqual(epochsSeen, [0, 1, 2]);
});

test("clipGradNorm_ scales the gradients to the given total norm", () => {
  const w = torch.tensor([3, 4]).requiresGrad_();
  w.mul(w).sum().div(2).backward(); // grad = w = (3, 4), norm 5
  const norm = nn.clipGradNorm_([w], 1);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  assertClose(w.grad!, torch.tensor([0.6, 0.8]), { atol: 1e-5 });
});
