// Unit tests of optim: zeroGrad, parameter groups, state dicts, skipped gradients,
// option checks, memory, and the schedulers' state and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import * as optim from "../src/optim/index.js";
import { save, safetensors } from "../src/io/index.js";
import { assertClose, assertFlareError, settledTensors } from "./helpers.js";

const { SGD, Adam, AdamW, lrScheduler: S } = optim;
type Tensor = torch.Tensor;

/** A small seeded regression problem over raw-tensor parameters. */
function problem(seed = 1) {
  torch.manualSeed(seed);
  const x = torch.keep(torch.randn([12, 5])), y = torch.keep(torch.randn([12, 3]));
  const params = [torch.randn([5, 7]).mul(0.4), torch.zeros([7]), torch.randn([7, 3]).mul(0.4), torch.zeros([3])]
    .map((t) => torch.keep(t.requiresGrad_()));
  const loss = (p: Tensor[] = params) => x.matmul(p[0]).add(p[1]).relu().matmul(p[2]).add(p[3]).sub(y).pow(2).mean();
  const free = () => torch.dispose([x, y, ...params]);
  return { x, y, params, loss, free };
}

function train(opt: optim.Optimizer, loss: () => Tensor, steps: number): void {
  for (let i = 0; i < steps; i++) torch.tidy(() => { opt.zeroGrad(); loss().backward(); opt.step(); });
}

const copies = (ts: Tensor[]) => ts.map((t) => torch.keep(t.detach().clone().requiresGrad_()));

test("zeroGrad sets gradients to null by default, or to zeros with setToNone false", () => {
  const { params, loss, free } = problem();
  const opt = new SGD(params, { lr: 0.1 });
  torch.tidy(() => loss().backward());
  assert.ok(params.every((p) => p.grad !== null));
  opt.zeroGrad({ setToNone: false });
  for (const p of params) {
    const g = p.grad;
    assert.ok(g !== null);
    assert.deepEqual(g.shape, p.shape);
    assert.equal(g.abs().sum().item(), 0);
    assert.equal(g.requiresGrad, false);
  }
  // zeroed gradients accumulate afresh
  torch.tidy(() => loss().backward());
  const once = params.map((p) => p.grad!.clone());
  opt.zeroGrad();
  assert.ok(params.every((p) => p.grad === null));
  torch.tidy(() => loss().backward());
  params.forEach((p, i) => assertClose(p.grad!, once[i]));
  torch.dispose(once);
  free();
});

test("parameter groups take defaults, override them, and each step uses its group's lr", () => {
  const a = torch.keep(torch.ones([3]).requiresGrad_()), b = torch.keep(torch.ones([2]).requiresGrad_());
  const opt = new SGD([{ params: [a] }, { params: b, lr: 0.5, weightDecay: 0.1 }], { lr: 0.1, momentum: 0 });
  assert.equal(opt.paramGroups.length, 2);
  assert.deepEqual(opt.paramGroups.map((g) => g.lr), [0.1, 0.5]);
  assert.deepEqual(opt.paramGroups.map((g) => g.weightDecay), [0, 0.1]);
  assert.equal(opt.paramGroups[1].params[0], b);
  torch.tidy(() => { a.sum().backward(); b.sum().backward(); opt.step(); });
  assertClose(a, torch.full([3], 0.9));
  assertClose(b, torch.full([2], 1 - 0.5 * (1 + 0.1)));
  // a group added later, with its own momentum
  const c = torch.keep(torch.ones([1]).requiresGrad_());
  opt.addParamGroup({ params: [c], momentum: 0.9 });
  assert.equal(opt.paramGroups[2].momentum, 0.9);
  assert.equal(opt.paramGroups[2].lr, 0.1);
  assertFlareError(() => opt.addParamGroup({ params: [a] }), /more than one parameter group/);
  // the group's hyper-parameters are read at each step: changing lr changes the update
  opt.paramGroups[0].lr = 1;
  opt.zeroGrad();
  torch.tidy(() => { a.sum().backward(); opt.step(); });
  assertClose(a, torch.full([3], -0.1));
  opt.dispose();
  torch.dispose([a, b, c]);
});

test("AdamW defaults to weightDecay 1e-2, Adam to 0; SGD takes lr from its groups", () => {
  const p = torch.keep(torch.ones([2]).requiresGrad_());
  assert.equal(new AdamW([p]).paramGroups[0].weightDecay, 1e-2);
  const adam = new Adam([p]);
  assert.deepEqual(adam.paramGroups[0].betas, [0.9, 0.999]);
  assert.equal(adam.paramGroups[0].weightDecay, 0);
  assert.equal(adam.paramGroups[0].lr, 1e-3);
  assert.equal(new SGD([{ params: [p], lr: 0.3 }]).paramGroups[0].lr, 0.3);
  assertFlareError(() => new SGD([p]), /required optimization parameter lr/);
  p.dispose();
});

test("parameters whose grad is null are skipped and get no state", () => {
  const used = torch.keep(torch.ones([2]).requiresGrad_()), unused = torch.keep(torch.ones([2]).requiresGrad_());
  for (const opt of [new SGD([used, unused], { lr: 0.1, momentum: 0.9 }), new Adam([used, unused], { lr: 0.1 }), new AdamW([used, unused], { lr: 0.1 })]) {
    opt.zeroGrad();
    torch.tidy(() => { used.sum().backward(); opt.step(); });
    assert.ok(opt.state.has(used));
    assert.ok(!opt.state.has(unused));
    assert.deepEqual(unused.tolist(), [1, 1]);
    assert.deepEqual([...opt.stateDict().state.keys()], [0]);
    opt.dispose();
  }
  torch.dispose([used, unused]);
});

test("stateDict has PyTorch's structure: state by parameter index, groups with indices", () => {
  const { params, loss, free } = problem();
  const opt = new Adam([{ params: params.slice(0, 2) }, { params: params.slice(2), lr: 0.01, amsgrad: true }], { lr: 1e-3 });
  train(opt, loss, 3);
  const sd = opt.stateDict();
  assert.deepEqual(sd.paramGroups.map((g) => g.params), [[0, 1], [2, 3]]);
  assert.deepEqual(sd.paramGroups[1], { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [2, 3] });
  assert.deepEqual([...sd.state.keys()], [0, 1, 2, 3]);
  assert.deepEqual(Object.keys(sd.state.get(0)!).sort(), ["exp_avg", "exp_avg_sq", "step"]);
  assert.deepEqual(Object.keys(sd.state.get(2)!).sort(), ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]);
  assert.equal(sd.state.get(3)!.step, 3);
  assert.deepEqual((sd.state.get(1)!.exp_avg as Tensor).shape, [7]);
  // the groups are copies: editing them does not touch the optimizer
  (sd.paramGroups[0].betas as number[])[0] = 0.5;
  assert.deepEqual(opt.paramGroups[0].betas, [0.9, 0.999]);
  opt.dispose();
  free();
});

for (const [name, make] of [
  ["SGD momentum", (p: Tensor[]) => new SGD([{ params: p.slice(0, 2) }, { params: p.slice(2), lr: 0.2 }], { lr: 0.02, momentum: 0.9, weightDecay: 1e-3 })],
  ["Adam amsgrad", (p: Tensor[]) => new Adam(p, { lr: 0.01, amsgrad: true, weightDecay: 1e-3 })],
  ["AdamW", (p: Tensor[]) => new AdamW([{ params: p.slice(0, 2) }, { params: p.slice(2), lr: 0.05 }], { lr: 0.01 })],
] as const) {
  test(`stateDict round trip through safetensors (${name}): save, new optimizer, load, continue = uninterrupted`, () => {
    const { params, loss, free } = problem(7);
    const straight = copies(params);
    const optA = make(straight);
    train(optA, () => loss(straight), 6);

    const optB = make(params);
    train(optB, () => loss(params), 3);
    const dir = mkdtempSync(path.join(tmpdir(), "flare-optim-"));
    const file = path.join(dir, "opt.safetensors");
    const { tensors, metadata } = optim.flattenStateDict(optB.stateDict(), "optimizer.");
    save(tensors, file, metadata);
    optB.dispose();

    const resumedParams = copies(params);
    const optC = make(resumedParams);
    const loaded = safetensors.loadFileWithMetadata(file);
    optC.loadStateDict(optim.unflattenStateDict(loaded.tensors, loaded.metadata, "optimizer."));
    torch.dispose([...loaded.tensors.values()]);
    rmSync(dir, { recursive: true });
    train(optC, () => loss(resumedParams), 3);
    resumedParams.forEach((p, i) => assertClose(p, straight[i], { rtol: 0, atol: 0, what: `${name} param ${i}` }));
    for (const o of [optA, optC]) o.dispose();
    torch.dispose([...straight, ...resumedParams]);
    free();
  });
}

test("loadStateDict copies the tensors, keeps step numbers, and rejects mismatched dicts", () => {
  const { params, loss, free } = problem();
  const opt = new Adam(params, { lr: 0.01 });
  train(opt, loss, 2);
  const other = new Adam(copies(params), { lr: 0.5 });
  const sd = opt.stateDict();
  other.loadStateDict(sd);
  assert.equal(other.paramGroups[0].lr, 0.01);
  const mine = other.state.get(other.paramGroups[0].params[0])!;
  assert.equal(mine.step, 2);
  assert.notEqual(mine.exp_avg, sd.state.get(0)!.exp_avg);
  assertClose(mine.exp_avg as Tensor, sd.state.get(0)!.exp_avg as Tensor, { rtol: 0, atol: 0 });
  // step saved as a tensor (as PyTorch saves it) becomes a number
  const withTensorStep = { state: new Map([[0, { ...sd.state.get(0)!, step: torch.tensor(2) }]]), paramGroups: sd.paramGroups };
  other.loadStateDict(withTensorStep);
  assert.equal(other.state.get(other.paramGroups[0].params[0])!.step, 2);

  const twoGroups = new Adam([{ params: copies(params.slice(0, 2)) }, { params: copies(params.slice(2)) }]);
  assertFlareError(() => twoGroups.loadStateDict(sd), /parameter groups/, "E_STATE");
  const fewer = new Adam(copies(params.slice(1)));
  assertFlareError(() => fewer.loadStateDict(sd), /has 4 parameters/, "E_STATE");
  const shuffled = new Adam(copies([params[1], params[0], params[2], params[3]]));
  assertFlareError(() => shuffled.loadStateDict(sd), /shape/, "E_SHAPE");
  assertFlareError(() => other.loadStateDict({} as optim.OptimizerStateDict), /expected/, "E_STATE");
  for (const o of [opt, other, twoGroups, fewer, shuffled]) { torch.dispose(o.paramGroups.flatMap((g) => g.params).filter((p) => !params.includes(p))); o.dispose(); }
  free();
});

test("bad options and params throw FlareError", () => {
  const p = torch.keep(torch.ones([2]).requiresGrad_());
  assertFlareError(() => new SGD([p], { lr: -0.1 }), /Invalid lr/);
  assertFlareError(() => new Adam([p], { lr: -1 }), /Invalid lr/);
  assertFlareError(() => new SGD([p], { lr: 0.1, momentum: -0.5 }), /Invalid momentum/);
  assertFlareError(() => new SGD([p], { lr: 0.1, weightDecay: -1 }), /Invalid weightDecay/);
  assertFlareError(() => new SGD([p], { lr: 0.1, nesterov: true }), /Nesterov momentum requires a momentum and zero dampening/);
  assertFlareError(() => new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /Nesterov/);
  assertFlareError(() => new Adam([p], { betas: [1.0, 0.999] }), /beta parameter at index 0/);
  assertFlareError(() => new Adam([p], { betas: [-0.1, 0.999] }), /beta parameter at index 0/);
  assertFlareError(() => new AdamW([p], { betas: [0.9, 1] }), /beta parameter at index 1/);
  assertFlareError(() => new Adam([p], { betas: [0.9] as unknown as [number, number] }), /betas/);
  assertFlareError(() => new Adam([p], { eps: -1e-8 }), /Invalid eps/);
  assertFlareError(() => new AdamW([p], { weightDecay: -0.01 }), /Invalid weightDecay/);
  assertFlareError(() => new Adam([{ params: [p], lr: -1 }]), /Invalid lr/);
  assertFlareError(() => new Adam([p], { lr: Number.NaN }), /Invalid lr/);
  assertFlareError(() => new SGD([], { lr: 0.1 }), /empty parameter list/);
  assertFlareError(() => new SGD(p as unknown as Tensor[], { lr: 0.1 }), /not a single Tensor/, "E_TYPE");
  assertFlareError(() => new SGD([1, 2] as unknown as Tensor[], { lr: 0.1 }), /only optimize Tensors/, "E_TYPE");
  assertFlareError(() => new SGD([p, "w" as unknown as Tensor], { lr: 0.1 }), /only optimize Tensors.*string/, "E_TYPE");
  assertFlareError(() => new SGD(42 as unknown as Tensor[], { lr: 0.1 }), /iterable/, "E_TYPE");
  assertFlareError(() => new SGD([{ params: 3 as unknown as Tensor }], { lr: 0.1 }), /params/, "E_TYPE");
  assertFlareError(() => new SGD([p, p], { lr: 0.1 }), /twice/);
  const nonLeaf = torch.tidy(() => torch.keep(p.mul(2)));
  assertFlareError(() => new SGD([nonLeaf], { lr: 0.1 }), /non-leaf/);
  // a Set and a generator are ordered iterables: accepted
  assert.equal(new SGD(new Set([p]), { lr: 0.1 }).paramGroups[0].params.length, 1);
  assert.equal(new SGD((function* () { yield p; })(), { lr: 0.1 }).paramGroups[0].params.length, 1);
  torch.dispose([p, nonLeaf]);
});

test("step(closure) re-evaluates the loss with gradients on and returns it", () => {
  const { params, loss, free } = problem();
  const opt = new SGD(params, { lr: 0.1 });
  const value = torch.tidy(() => torch.noGrad(() => opt.step(() => { opt.zeroGrad(); const l = loss(); l.backward(); return l.item(); })));
  assert.equal(typeof value, "number");
  assert.ok(torch.tidy(() => loss().item()) < (value as number));
  free();
});

for (const [name, make] of [
  ["SGD nesterov + weight decay", (p: Tensor[]) => new SGD(p, { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })],
  ["Adam amsgrad + weight decay", (p: Tensor[]) => new Adam(p, { lr: 0.001, amsgrad: true, weightDecay: 1e-4, maximize: false })],
  ["AdamW", (p: Tensor[]) => new AdamW(p, { lr: 0.001 })],
] as const) {
  test(`memory: 200 steps of ${name} inside torch.tidy keep the live tensor count constant; dispose frees the state`, () => {
    const { params, loss, free } = problem();
    const before = settledTensors();
    const opt = make(params);
    train(opt, loss, 2);
    const afterWarmup = settledTensors();
    assert.ok(afterWarmup > before, "the state was created");
    train(opt, loss, 200);
    assert.equal(torch.memory().numTensors, afterWarmup);
    opt.zeroGrad();
    opt.dispose();
    assert.equal(opt.state.size, 0);
    assert.equal(torch.memory().numTensors, before);
    free();
  });
}

test("schedulers: getLastLr, lastEpoch, state dict round trip, and resuming", () => {
  const p = torch.keep(torch.zeros([1]).requiresGrad_());
  const make = () => {
    const opt = new SGD([{ params: [p], lr: 0.1 }], { momentum: 0.9 });
    const warm = new S.LinearLR(opt, { startFactor: 0.1, totalIters: 3 });
    const cos = new S.CosineAnnealingLR(opt, 10, { etaMin: 0.001 });
    return { opt, sched: new S.SequentialLR(opt, [warm, cos], [3]) };
  };
  const a = make();
  assert.equal(a.sched.lastEpoch, 0);
  const lrs: number[] = [];
  for (let i = 0; i < 8; i++) { a.opt.step(); a.sched.step(); lrs.push(a.sched.getLastLr()[0]); }
  assert.equal(a.sched.lastEpoch, 8);

  const b = make();
  for (let i = 0; i < 4; i++) { b.opt.step(); b.sched.step(); }
  const saved = JSON.parse(JSON.stringify({ opt: b.opt.stateDict().paramGroups, sched: b.sched.stateDict() }));
  const c = make();
  c.opt.loadStateDict({ state: new Map(), paramGroups: saved.opt });
  c.sched.loadStateDict(saved.sched);
  assert.equal(c.sched.lastEpoch, 4);
  assert.deepEqual(c.sched.getLastLr(), [lrs[3]]);
  const resumed: number[] = [];
  for (let i = 0; i < 4; i++) { c.opt.step(); c.sched.step(); resumed.push(c.sched.getLastLr()[0]); }
  assert.deepEqual(resumed, lrs.slice(4));

  // LambdaLR leaves its functions out of the state dict
  const lam = new S.LambdaLR(a.opt, (e) => 0.5 ** e);
  assert.ok(!("lrLambdas" in lam.stateDict()));
  assert.equal(lam.stateDict().lastEpoch, 0);
  assertFlareError(() => lam.loadStateDict({ nonsense: 1 }), /no state "nonsense"/, "E_STATE");
  p.dispose();
});

test("scheduler options are checked", () => {
  const p = torch.keep(torch.zeros([1]).requiresGrad_());
  const opt = new SGD([p], { lr: 0.1 });
  assertFlareError(() => new S.StepLR({} as optim.Optimizer, 3), /expected an Optimizer/, "E_TYPE");
  assertFlareError(() => new S.StepLR(opt, 0), /stepSize/);
  assertFlareError(() => new S.CosineAnnealingLR(opt, -1), /tMax/);
  assertFlareError(() => new S.LinearLR(opt, { startFactor: 0 }), /startFactor/);
  assertFlareError(() => new S.LinearLR(opt, { endFactor: 1.5 }), /endFactor/);
  assertFlareError(() => new S.LambdaLR(opt, [(e) => e, (e) => e]), /Expected 1 lrLambdas/);
  assertFlareError(() => new S.OneCycleLR(opt, 1), /totalSteps OR/);
  assertFlareError(() => new S.OneCycleLR(opt, 1, { totalSteps: 0 }), /totalSteps/);
  assertFlareError(() => new S.OneCycleLR(opt, 1, { epochs: 2 }), /stepsPerEpoch/);
  assertFlareError(() => new S.OneCycleLR(opt, 1, { totalSteps: 5, pctStart: 1.5 }), /pctStart/);
  assertFlareError(() => new S.OneCycleLR(opt, 1, { totalSteps: 5, annealStrategy: "exp" as "cos" }), /annealStrategy/);
  assertFlareError(() => new S.OneCycleLR(opt, [1, 2], { totalSteps: 5 }), /expected 1 values for maxLr/);
  const other = new SGD([p], { lr: 0.1 });
  assertFlareError(() => new S.SequentialLR(opt, [new S.StepLR(other, 2)], []), /same optimizer/);
  assertFlareError(() => new S.SequentialLR(opt, [new S.StepLR(opt, 2), new S.StepLR(opt, 2)], []), /one milestone fewer/);
  assertFlareError(() => new S.StepLR(new SGD([p], { lr: 0.1 }), 2, { lastEpoch: 4 }), /initialLr/, "E_STATE");
  const adamNoMomentum = new SGD([p], { lr: 0.1 });
  const cycle = new S.OneCycleLR(adamNoMomentum, 1, { totalSteps: 3 });
  for (let i = 0; i < 3; i++) cycle.step();
  assertFlareError(() => cycle.step(), /tried to step 5 times/, "E_STATE");
  p.dispose();
});
