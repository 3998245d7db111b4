// Parity with PyTorch 1.13: optimizer steps on a small MLP and lr scheduler sequences
// (fixtures made by scripts/fixtures/optim.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as torch from "../src/index.js";
import * as optim from "../src/optim/index.js";
import { assertClose, fixtureGetter, loadFixture, fixturePath } from "./helpers.js";

const { SGD, Adam, AdamW, lrScheduler } = optim;
type Tensor = torch.Tensor;
type Net = Record<"w1" | "b1" | "w2" | "b2", Tensor>;
const NAMES = ["w1", "b1", "w2", "b2"] as const;
const STEPS = 5;

const fixture = loadFixture("optim");
const get = fixtureGetter(fixture);

function freshNet(): Net {
  const net = {} as Net;
  for (const k of NAMES) net[k] = get(`init.${k}`).clone().requiresGrad_();
  return net;
}

function lossOf(p: Net): Tensor {
  const x = get("x"), y = get("y");
  const h = x.matmul(p.w1).add(p.b1).relu();
  return h.matmul(p.w2).add(p.b2).sub(y).pow(2).mean();
}

const all = (p: Net) => NAMES.map((k) => p[k]);
const bodyHead = (p: Net, head: Record<string, unknown>) => [{ params: [p.w1, p.b1] }, { params: [p.w2, p.b2], ...head }];

const CASES: Record<string, (p: Net) => optim.Optimizer> = {
  sgd_momentum_wd: (p) => new SGD(all(p), { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 }),
  sgd_nesterov: (p) => new SGD(all(p), { lr: 0.05, momentum: 0.9, nesterov: true }),
  sgd_dampening: (p) => new SGD(all(p), { lr: 0.05, momentum: 0.8, dampening: 0.3 }),
  sgd_maximize: (p) => new SGD(all(p), { lr: 0.01, maximize: true }),
  adam_wd: (p) => new Adam(all(p), { lr: 0.01, weightDecay: 1e-3 }),
  adam_amsgrad: (p) => new Adam(all(p), { lr: 0.01, betas: [0.8, 0.99], amsgrad: true }),
  adamw_wd: (p) => new AdamW(all(p), { lr: 0.01, weightDecay: 0.01 }),
  adamw_amsgrad_maximize: (p) => new AdamW(all(p), { lr: 0.01, amsgrad: true, maximize: true }),
  sgd_groups: (p) => new SGD(bodyHead(p, { lr: 0.1, weightDecay: 1e-3 }), { lr: 0.01, momentum: 0.9 }),
  adam_groups: (p) => new Adam(bodyHead(p, { lr: 0.01 }), { lr: 0.001 }),
};

for (const [name, make] of Object.entries(CASES)) {
  test(`optimizer parity: ${name} matches PyTorch after each of ${STEPS} steps`, () => {
    const net = freshNet();
    const opt = make(net);
    for (let step = 0; step < STEPS; step++) {
      torch.tidy(() => {
        opt.zeroGrad();
        lossOf(net).backward();
        opt.step();
      });
      for (const k of NAMES) assertClose(net[k], get(`${name}.${step}.${k}`), { rtol: 1e-5, atol: 1e-7, what: `${name} step ${step} ${k}` });
    }
    opt.dispose();
    torch.dispose(Object.values(net));
  });
}

// ---- schedulers ---------------------------------------------------------------------

interface Schedule { kind: "sgd" | "adam"; lrs: number[][]; momentum: number[][] }
const schedules = JSON.parse(readFileSync(fixturePath("lr_schedules.json"), "utf8")) as { lrs: number[]; steps: number; schedules: Record<string, Schedule> };

type Opt = optim.Optimizer;
const S = lrScheduler;
const SCHEDULERS: Record<string, (o: Opt) => optim.lrScheduler.LRScheduler> = {
  step: (o) => new S.StepLR(o, 7, { gamma: 0.5 }),
  step_default: (o) => new S.StepLR(o, 3),
  multistep: (o) => new S.MultiStepLR(o, [5, 12, 12, 20], { gamma: 0.3 }),
  exponential: (o) => new S.ExponentialLR(o, 0.9),
  cosine: (o) => new S.CosineAnnealingLR(o, 10, { etaMin: 0.001 }),
  cosine_long: (o) => new S.CosineAnnealingLR(o, 30),
  lambda: (o) => new S.LambdaLR(o, (e) => 0.95 ** e),
  lambda_list: (o) => new S.LambdaLR(o, [(e) => 1 / (e + 1), (e) => 0.9 ** e, (e) => Math.min(1.0, (e + 1) / 10)]),
  linear: (o) => new S.LinearLR(o),
  linear_warmup: (o) => new S.LinearLR(o, { startFactor: 0.1, endFactor: 1.0, totalIters: 8 }),
  onecycle: (o) => new S.OneCycleLR(o, [1.0, 0.1, 0.5], { totalSteps: 30 }),
  onecycle_epochs_linear: (o) => new S.OneCycleLR(o, 0.3, { epochs: 5, stepsPerEpoch: 6, annealStrategy: "linear", pctStart: 0.25 }),
  onecycle_three_phase: (o) => new S.OneCycleLR(o, 0.3, { totalSteps: 31, threePhase: true, divFactor: 10.0, finalDivFactor: 100.0 }),
  warmup_cosine: (o) => new S.SequentialLR(o, [new S.LinearLR(o, { startFactor: 0.1, totalIters: 5 }), new S.CosineAnnealingLR(o, 25)], [5]),
  warmup_step_exp: (o) => new S.SequentialLR(o, [new S.LinearLR(o, { startFactor: 0.5, totalIters: 4 }), new S.StepLR(o, 5, { gamma: 0.5 }), new S.ExponentialLR(o, 0.95)], [4, 15]),
  warmup_lambda: (o) => new S.SequentialLR(o, [new S.LambdaLR(o, (e) => (e + 1) / 5), new S.MultiStepLR(o, [10, 20])], [5]),
  onecycle_adam: (o) => new S.OneCycleLR(o, [1.0, 0.1, 0.5], { totalSteps: 30, baseMomentum: 0.8, maxMomentum: 0.9 }),
};

/** The three-group optimizer of the fixture script (one zero-gradient-free parameter per group). */
function scheduleOptimizer(kind: "sgd" | "adam"): { opt: Opt; params: Tensor[] } {
  const params = schedules.lrs.map(() => torch.keep(torch.zeros([1]).requiresGrad_()));
  const groups = params.map((p, i) => ({ params: [p], lr: schedules.lrs[i] }));
  const opt = kind === "adam" ? new Adam(groups) : new SGD(groups, { lr: 0.1, momentum: 0.9 });
  return { opt, params };
}

function assertNear(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => {
    const e = expected[i];
    assert.ok(Math.abs(a - e) <= 1e-12 * Math.abs(e) + 1e-15, `${what}[${i}]: ${a} != ${e}`);
  });
}

test("scheduler fixtures cover every scheduler case", () => {
  assert.deepEqual(Object.keys(SCHEDULERS).sort(), Object.keys(schedules.schedules).sort());
});

for (const [name, make] of Object.entries(SCHEDULERS)) {
  test(`lr scheduler parity: ${name} matches PyTorch over ${schedules.steps} steps`, () => {
    const expected = schedules.schedules[name];
    const { opt, params } = scheduleOptimizer(expected.kind);
    const momentum = () => opt.paramGroups.map((g) => (expected.kind === "adam" ? (g.betas as number[])[0] : g.momentum as number));
    const sched = make(opt);
    assertNear(sched.getLastLr(), expected.lrs[0], `${name} lr at 0`);
    assertNear(momentum(), expected.momentum[0], `${name} momentum at 0`);
    for (let i = 1; i <= schedules.steps; i++) {
      opt.step();
      sched.step();
      assertNear(sched.getLastLr(), expected.lrs[i], `${name} lr at ${i}`);
      assertNear(opt.paramGroups.map((g) => g.lr), expected.lrs[i], `${name} group lr at ${i}`);
      assertNear(momentum(), expected.momentum[i], `${name} momentum at ${i}`);
    }
    torch.dispose(params);
  });
}
