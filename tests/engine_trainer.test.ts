// The Trainer's options, each through the Trainer itself: accumulate, gradClip,
// schedulerInterval, monitorMode, top-k naming, the hooks, the rank-0 guard,
// progress, and the errors for options that make no sense.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { nn, optim, F } from "../src/index.js";
import {
  Trainer, supervisedStep, TopKAccuracy, loadCheckpoint, makeProgress, formatDuration, envRank,
  type Metric, type TrainerOptions,
} from "../src/engine/index.js";
import { makeProblem, parts } from "./workers/train_problem.js";
import { assertClose } from "./helpers.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "flare-trainer-"));
const ce = supervisedStep((out, target) => F.crossEntropy(out, target));
const lines = (file: string) => readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));

/** 16 fixed points with 3 classes, served in batches of `size` (fresh tensors per pass: the Trainer frees them). */
function fixedData(size: number) {
  const x = torch.keep(torch.tidy(() => { torch.manualSeed(11); return torch.randn([16, 3]); }));
  const y = torch.keep(torch.tensor(Array.from({ length: 16 }, (_, i) => (i * 7) % 3), { dtype: "int64" }));
  const data = () => Array.from({ length: 16 / size }, (_, b) => [x.index(`${b * size}:${(b + 1) * size}`).clone(), y.index(`${b * size}:${(b + 1) * size}`).clone()]);
  return { x, y, data };
}

function linear(seed: number) {
  torch.manualSeed(seed);
  return new nn.Linear(3, 3);
}

test("accumulate: 4 micro-batches of 4 with accumulate 2 give the parameters of 2 batches of 8", async () => {
  const fit = async (batchSize: number, accumulate: number) => {
    const model = linear(2);
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.5, momentum: 0.9 });
    const { data, x, y } = fixedData(batchSize);
    const trainer = new Trainer({ model, optimizer, step: ce, epochs: 2, accumulate, output: "silent" });
    const history = await trainer.fit(data);
    torch.dispose([x, y]);
    return { model, history, steps: trainer.globalStep };
  };
  const micro = await fit(4, 2), big = await fit(8, 1), plain = await fit(4, 1);
  assert.equal(micro.steps, 4, "2 optimizer steps per epoch");
  assert.equal(big.steps, 4);
  assertClose(micro.model.weight, big.model.weight, { atol: 1e-6, what: "weight" });
  assertClose(micro.model.bias!, big.model.bias!, { atol: 1e-6, what: "bias" });
  assert.ok(Math.abs(micro.history[0].train_loss - big.history[0].train_loss) < 1e-6, "the same epoch loss");
  // Without accumulation the same micro-batches take 4 steps an epoch and end elsewhere.
  const apart = torch.tidy(() => plain.model.weight.sub(big.model.weight).abs().max().item());
  assert.ok(apart > 1e-3, `stepping every micro-batch differs (${apart})`);
  for (const r of [micro, big, plain]) r.model.dispose();
});

test("gradClip clips the total gradient norm before each step", async () => {
  const run = async (gradClip?: number) => {
    const model = linear(3);
    const before = torch.tidy(() => torch.cat(model.parameters().map((p) => p.flatten())));
    const optimizer = new optim.SGD(model.parameters(), { lr: 1 });
    const step = supervisedStep((out) => out.sum().mul(100)); // a gradient far larger than the clip
    const x = torch.tidy(() => { torch.manualSeed(4); return torch.randn([8, 3]); });
    await new Trainer({ model, optimizer, step, epochs: 1, output: "silent", ...(gradClip ? { gradClip } : {}) })
      .fit([[x, torch.zeros([8], { dtype: "int64" })]]);
    const delta = torch.tidy(() => torch.cat(model.parameters().map((p) => p.flatten())).sub(before));
    before.dispose(); model.dispose();
    return delta;
  };
  const clipped = await run(0.5), free = await run();
  const norm = (t: torch.Tensor) => torch.tidy(() => t.norm().item());
  assert.ok(norm(free) > 100, `unclipped step norm ${norm(free)}`);
  assert.ok(Math.abs(norm(clipped) - 0.5) < 1e-5, `the step (lr 1) has the clip's norm: ${norm(clipped)}`);
  // One total norm for all parameters (not each clipped alone): the same direction, scaled.
  assertClose(clipped, torch.tidy(() => free.mul(0.5 / norm(free))), { atol: 1e-6, what: "the clipped step" });
  torch.dispose([clipped, free]);
});

test("schedulerInterval 'step' steps the scheduler after each optimizer step, 'epoch' after each epoch", async () => {
  const run = async (interval: "step" | "epoch", dir?: string) => {
    const model = linear(5);
    const optimizer = new optim.SGD(model.parameters(), { lr: 1 });
    const scheduler = new optim.lrScheduler.StepLR(optimizer, 1, { gamma: 0.5 });
    const { data, x, y } = fixedData(4); // 4 batches, accumulate 2: 2 optimizer steps an epoch
    const history = await new Trainer({ model, optimizer, scheduler, schedulerInterval: interval, step: ce, epochs: 2, accumulate: 2, output: "silent", runDir: dir }).fit(data);
    torch.dispose([x, y]); model.dispose();
    return history.map((m) => m.lr);
  };
  const dir = tmp();
  assert.deepEqual(await run("step", dir), [0.25, 0.0625]);
  assert.deepEqual(lines(path.join(dir, "steps.jsonl")).map((r) => r.lr), [1, 0.5, 0.25, 0.125], "the lr each step used");
  assert.deepEqual(await run("epoch"), [0.5, 0.25]);
});

/** A metric that reports scripted values, one per compute(). */
class Scripted implements Metric {
  private calls = 0;
  constructor(private readonly values: number[], readonly higherIsBetter?: boolean) {}
  update(): void {}
  compute(): Record<string, number> { return { score: this.values[this.calls++] }; }
  reset(): void {}
}

test("monitorMode picks the best checkpoint: 'max' keeps the largest value, 'min' the smallest, the default follows higherIsBetter", async () => {
  const bestEpoch = async (options: Partial<TrainerOptions>, metric: Scripted) => {
    const dir = tmp();
    const problem = makeProblem(0);
    await new Trainer({ ...parts(problem), metrics: [metric], epochs: 4, output: "silent", runDir: dir, monitor: "train_score", ...options }).fit(problem.data);
    const saved = loadCheckpoint(path.join(dir, "checkpoints", "best.safetensors"), makeProblem(1));
    const weights = torch.load(path.join(dir, "model.safetensors"));
    const bestWeight = weights.get("3.weight")!;
    // model.safetensors holds the best epoch's weights: those of the checkpoint of that epoch.
    const again = makeProblem(2);
    loadCheckpoint(path.join(dir, "checkpoints", "best.safetensors"), again);
    assertClose(bestWeight, ((again.model as nn.Sequential).get(3) as nn.Linear).weight, { rtol: 0, atol: 0, what: "best weights" });
    torch.dispose(weights);
    return { epoch: saved.epoch, extra: saved.extra };
  };
  const values = [2, 5, 1, 3];
  assert.deepEqual(await bestEpoch({ monitorMode: "max" }, new Scripted(values)), { epoch: 1, extra: { train_score: 5 } });
  assert.deepEqual(await bestEpoch({ monitorMode: "min" }, new Scripted(values)), { epoch: 2, extra: { train_score: 1 } });
  assert.equal((await bestEpoch({}, new Scripted(values, true))).epoch, 1, "higherIsBetter: max by default");
  assert.equal((await bestEpoch({}, new Scripted(values))).epoch, 2, "otherwise min");
  const problem = makeProblem(0);
  await assert.rejects(new Trainer({ ...parts(problem), epochs: 1, output: "silent", monitor: "val_accuracy" }).fit(problem.data, problem.data),
    (e: Error) => e.name === "FlareError" && e.message === "Trainer: monitor 'val_accuracy' is not among the epoch's values (train_loss, train_acc, examples_per_s, val_loss, val_acc, lr)");
});

test("top-k accuracy is reported as acc, acc_topK for train and val, with the values counted by hand", async () => {
  torch.manualSeed(8);
  const model = new nn.Linear(4, 5);
  const x = torch.randn([12, 4]);
  const y = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1], { dtype: "int64" });
  const data = () => [[x.index("0:6"), y.index("0:6")], [x.index("6:"), y.index("6:")]];
  const history = await new Trainer({
    model, optimizer: new optim.SGD(model.parameters(), { lr: 0 }), step: ce, metrics: [new TopKAccuracy([1, 3])], epochs: 1, output: "silent",
  }).fit(data, data);
  const keys = Object.keys(history[0]).filter((k) => k.includes("acc")).sort();
  assert.deepEqual(keys, ["train_acc", "train_acc_top3", "val_acc", "val_acc_top3"]);
  const logits = torch.tidy(() => model.forward(x).tolist()) as number[][];
  const labels = y.tolist() as number[];
  const hits = (k: number) => logits.filter((row, i) => row.filter((v) => v > row[labels[i]]).length < k).length / 12;
  assert.equal(history[0].val_acc, hits(1));
  assert.equal(history[0].val_acc_top3, hits(3));
  assert.equal(history[0].train_acc, hits(1), "lr 0: training saw the same model");
  assert.equal(history[0].train_acc_top3, hits(3));
  assert.ok(hits(3) > hits(1));
  torch.dispose([x, y]); model.dispose();
});

test("afterBackward sees each micro-batch's gradients and whether the optimizer steps; beforeOptimizerStep runs once per step", async () => {
  const model = linear(6);
  const { data, x, y } = fixedData(2); // 8 batches
  const seen: { index: number; willStep: boolean; hasGrad: boolean }[] = [];
  const before: number[] = [];
  await new Trainer({
    model, optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }), step: ce, epochs: 1, accumulate: 3, output: "silent",
    callbacks: {
      afterBackward: ({ index, willStep }) => { seen.push({ index, willStep, hasGrad: model.weight.grad !== null }); },
      beforeOptimizerStep: ({ step }) => { before.push(step); },
    },
  }).fit(data);
  assert.deepEqual(seen.map((s) => s.willStep), [false, false, true, false, false, true, false, true], "the last, partial accumulation steps too");
  assert.ok(seen.every((s) => s.hasGrad));
  assert.deepEqual(before, [0, 1, 2]);
  torch.dispose([x, y]); model.dispose();
});

test("only rank 0 writes the run folder; another rank resumes from it without writing", async () => {
  const dir = tmp();
  const other = path.join(tmp(), "rank1-run");
  const a = makeProblem(0);
  const out: string[] = [];
  await new Trainer({ ...parts(a), epochs: 1, runDir: other, rank: 1, output: "plain", progressStream: { write: (s: string) => out.push(s) } }).fit(a.data);
  assert.equal(existsSync(other), false, "rank 1 made no folder");
  assert.deepEqual(out, [], "rank 1 prints nothing");

  const b = makeProblem(0);
  await new Trainer({ ...parts(b), epochs: 2, runDir: dir, rank: 0, output: "silent" }).fit(b.data);
  const before = readFileSync(path.join(dir, "metrics.jsonl"), "utf8");
  const c = makeProblem(5);
  const resumed = await new Trainer({ ...parts(c), epochs: 3, runDir: dir, rank: 1, output: "silent" }).fit(c.data, undefined, { resume: true });
  assert.equal(resumed.length, 3, "rank 1 resumed after epoch 2 and trained epoch 3");
  assert.equal(readFileSync(path.join(dir, "metrics.jsonl"), "utf8"), before, "and wrote nothing");

  const saved = process.env.RANK;
  try {
    process.env.RANK = "3";
    assert.equal(new Trainer({ ...parts(c), epochs: 1 }).rank, 3, "the rank defaults from env RANK");
    assert.equal(envRank({ RANK: "" }), 0);
    process.env.RANK = "one";
    assert.throws(() => new Trainer({ ...parts(c), epochs: 1 }), (e: Error) => e.name === "FlareError" &&
      e.message === "Trainer: the environment variable RANK must be a non-negative integer, got 'one'");
  } finally {
    if (saved === undefined) delete process.env.RANK; else process.env.RANK = saved;
  }
});

test("progress: a bar with percent, rate and ETA on a terminal; plain lines; JSON lines that know the number of batches", async () => {
  let clock = 0;
  const tty: string[] = [];
  const bar = makeProgress("auto", { isTTY: true, write: (s: string) => tty.push(s) }, () => clock);
  bar.start(0, 3, 10);
  clock = 2000; bar.step(5, { loss: 0.5 });
  assert.equal(tty[0], "\repoch 1/3 [############............]  50% 5/10  2.50 it/s  ETA 0:02  loss 0.5000\x1b[K");
  clock = 2050; bar.step(6, { loss: 0.5 });
  assert.equal(tty.length, 1, "redrawn at most every 100 ms");
  assert.equal(formatDuration(3725), "1:02:05");

  const plain: string[] = [];
  const lines_ = makeProgress("auto", { isTTY: false, write: (s: string) => plain.push(s) }, () => clock);
  lines_.start(1, 3, undefined);
  clock += 4000; lines_.step(8, { loss: 0.25 });
  assert.equal(plain[0], "epoch 2/3  8  2.00 it/s  0:04  loss 0.2500\n", "no total: a count and the elapsed time");
  lines_.start(1, 3, 4, "val");
  clock += 1000; lines_.step(4, { loss: 0.5 });
  assert.equal(plain[1], "epoch 2/3 val  100% 4/4  4.00 it/s  ETA 0:00  loss 0.5000\n", "the validation pass, its last batch always shown");

  const json: string[] = [];
  const problem = makeProblem(0);
  await new Trainer({ ...parts(problem), epochs: 1, output: "json", progressStream: { write: (s: string) => json.push(s) } }).fit(problem.data, problem.data);
  const events = json.map((l) => JSON.parse(l));
  const steps = events.filter((e) => e.event === "step");
  assert.equal(steps.length, 6, "training steps only (the validation pass reports in the epoch line)");
  assert.ok(Number.isFinite(events[events.length - 1].val_acc));
  assert.deepEqual(steps.map((e) => [e.batch, e.batches]), [[1, 6], [2, 6], [3, 6], [4, 6], [5, 6], [6, 6]]);
  assert.equal(events[events.length - 1].event, "epoch");
});

test("the Trainer rejects unknown options and values that make no sense, naming them", () => {
  const problem = makeProblem(0);
  const base = { ...parts(problem), epochs: 1 };
  const rejects = (options: object, message: string) =>
    assert.throws(() => new Trainer({ ...base, ...options } as TrainerOptions), (e: Error) => e.name === "FlareError" && e.message === message);
  const known = `"model", "optimizer", "epochs", "step", "metrics", "scheduler", "schedulerInterval", "gradClip", "accumulate", "runDir", "config", "output", "progressStream", "monitor", "monitorMode", "earlyStopping", "callbacks", "disposeBatches", "rank", "distributed", "tensorboard"`;
  rejects({ topK: [1, 5] }, `Trainer(): unknown option "topK"; it takes ${known}`);
  rejects({ grad_clip: 1 }, `Trainer(): unknown option "grad_clip" (did you mean "gradClip"?); it takes ${known}`);
  rejects({ epochs: 0 }, "Trainer(): epochs must be a positive integer, got 0");
  rejects({ accumulate: 1.5 }, "Trainer(): accumulate must be a positive integer, got 1.5");
  rejects({ gradClip: -1 }, "Trainer(): gradClip must be a positive number, got -1");
  rejects({ schedulerInterval: "batch" }, `Trainer(): schedulerInterval must be "step" or "epoch", got "batch"`);
  rejects({ monitorMode: "maximum" }, `Trainer(): monitorMode must be "min" or "max", got "maximum"`);
  rejects({ step: undefined }, "Trainer(): step must be an object with trainStep(model, batch, info) (and optionally evalStep)");
  rejects({ metrics: [{ update() {} }] }, "Trainer(): metrics must be an array of objects with update(preds, target), compute() and reset()");
  rejects({ earlyStopping: { patience: 2, delta: 1 } }, `Trainer(): earlyStopping: unknown option "delta"; it takes "patience", "minDelta"`);
  rejects({ rank: -1 }, "Trainer(): rank must be a non-negative integer, got -1");
  rejects({ callbacks: { onBatchEnd: () => {} } }, `Trainer(): callbacks: unknown option "onBatchEnd" (did you mean "onEpochEnd"?); it takes "onStepEnd", "onEpochEnd", "afterBackward", "beforeOptimizerStep"`);
  rejects({ output: "loud" }, `Trainer(): output must be one of auto, tty, plain, json, silent, got "loud"`);
});

test("a step that returns no loss or a non-scalar loss is a clear error", async () => {
  const model = linear(7);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const batch = () => [[torch.randn([4, 3]), torch.zeros([4], { dtype: "int64" })]];
  await assert.rejects(new Trainer({ model, optimizer, epochs: 1, output: "silent", step: { trainStep: () => ({}) } }).fit(batch()),
    (e: Error) => e.name === "FlareError" && e.message === "trainStep: must return { loss } with a scalar tensor or a dict of them, got undefined");
  await assert.rejects(new Trainer({ model, optimizer, epochs: 1, output: "silent", step: supervisedStep((out) => out) }).fit(batch()),
    (e: Error) => e.name === "FlareError" && e.message === "trainStep: the loss must be a scalar, got shape [4, 3]");
  await assert.rejects(new Trainer({ model, optimizer, epochs: 1, output: "silent", step: ce }).fit([{ images: torch.zeros([1]) }]),
    (e: Error) => e.name === "FlareError" && e.message === "supervisedStep: a batch must be [input, target] or { input, target } tensors, got an object with keys images");
  model.dispose();
});
