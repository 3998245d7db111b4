// The IoU family (generalized, distance, complete) and the detection losses
// against torchvision 0.14: values and gradients (fixtures from scripts/fixtures/ops.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { ops } from "../src/vision/index.js";
import { assertClose, assertFlareError, loadFixture } from "./helpers.js";

const fixture = loadFixture("ops");
const get = (key: string) => fixture.get(key)!;

const FAMILY = { iou: ops.boxIou, giou: ops.generalizedBoxIou, diou: ops.distanceBoxIou, ciou: ops.completeBoxIou };

for (const [name, fn] of Object.entries(FAMILY)) {
  test(`${name}: the pairwise matrix and its gradients equal torchvision's`, () => torch.tidy(() => {
    const b1 = get("family.boxes1").clone().requiresGrad_(), b2 = get("family.boxes2").clone().requiresGrad_();
    const value = fn(b1, b2);
    assertClose(value, get(`family.${name}`), { what: name });
    value.mul(get("family.weights")).sum().backward();
    assertClose(b1.grad!, get(`family.${name}.grad1`), { what: `${name} grad boxes1`, atol: 1e-6 });
    assertClose(b2.grad!, get(`family.${name}.grad2`), { what: `${name} grad boxes2`, atol: 1e-6 });
  }));
}

const LOSSES = { giou: ops.generalizedBoxIouLoss, diou: ops.distanceBoxIouLoss, ciou: ops.completeBoxIouLoss };

for (const [name, fn] of Object.entries(LOSSES)) {
  test(`${name} loss: every reduction, eps and gradients equal torchvision's`, () => torch.tidy(() => {
    const p1 = get("loss.boxes1"), p2 = get("loss.boxes2");
    for (const reduction of ["none", "mean", "sum"] as const)
      assertClose(fn(p1, p2, { reduction }), get(`loss.${name}.${reduction}`), { what: `${name} ${reduction}` });
    assertClose(fn(p1, p2), get(`loss.${name}.none`), { what: `${name} default reduction` });
    assertClose(fn(p1, p2, { eps: 1e-3 }), get(`loss.${name}.eps`), { what: `${name} eps` });
    const x1 = p1.clone().requiresGrad_(), x2 = p2.clone().requiresGrad_();
    fn(x1, x2).mul(get("loss.weights")).sum().backward();
    assertClose(x1.grad!, get(`loss.${name}.grad1`), { what: `${name} grad boxes1` });
    assertClose(x2.grad!, get(`loss.${name}.grad2`), { what: `${name} grad boxes2` });
    const empty = fn(torch.zeros([0, 4]), torch.zeros([0, 4]), { reduction: "mean" });
    assertClose(empty, get(`loss.${name}.empty_mean`), { what: `${name} mean of nothing` });
    // One pair as [4].
    assertClose(fn(p1.select(0, 2), p2.select(0, 2)), get(`loss.${name}.none`).select(0, 2), { what: `${name} on [4]` });
  }));
}

test("sigmoidFocalLoss: values for alpha, gamma and reductions, and gradients, equal torchvision's", () => torch.tidy(() => {
  const x = get("focal.inputs"), y = get("focal.targets");
  assertClose(ops.sigmoidFocalLoss(x, y), get("focal.default"), { what: "default" });
  assertClose(ops.sigmoidFocalLoss(x, y, { alpha: -1, gamma: 1.5 }), get("focal.noalpha"), { what: "alpha -1" });
  assertClose(ops.sigmoidFocalLoss(x, y, { reduction: "mean" }), get("focal.mean"), { what: "mean" });
  assertClose(ops.sigmoidFocalLoss(x, y, { alpha: 0.5, gamma: 0, reduction: "sum" }), get("focal.sum"), { what: "sum" });
  const xg = x.clone().requiresGrad_();
  ops.sigmoidFocalLoss(xg, y, { reduction: "sum" }).backward();
  assertClose(xg.grad!, get("focal.grad"), { what: "gradient" });
}));

test("the losses and the IoU family reject bad input with a FlareError", () => torch.tidy(() => {
  const a = torch.tensor([[0, 0, 1, 1]]), b = torch.tensor([[0, 0, 2, 2], [1, 1, 2, 2]]);
  assertFlareError(() => ops.generalizedBoxIouLoss(a, b), /^generalizedBoxIouLoss\(\): boxes1 \[1, 4\] and boxes2 \[2, 4\] must have the same shape/, "E_SHAPE");
  assertFlareError(() => ops.distanceBoxIouLoss(a, a, { reduction: "avg" as never }), /^distanceBoxIouLoss\(\): reduction must be "none", "mean" or "sum", got string avg$/, "E_ARGUMENT");
  assertFlareError(() => ops.completeBoxIouLoss(a, a, { epsilon: 1 } as never), /^completeBoxIouLoss\(\): unknown option 'epsilon' \(known: reduction, eps\)$/, "E_ARGUMENT");
  assertFlareError(() => ops.completeBoxIou(a, torch.zeros([2, 3])), /^completeBoxIou\(\): boxes2 must have shape \[N, 4\], got \[2, 3\]$/, "E_SHAPE");
  assertFlareError(() => ops.distanceBoxIou(a, b, { eps: "x" } as never), /^distanceBoxIou\(\): eps must be a number, got string x$/, "E_ARGUMENT");
  assertFlareError(() => ops.sigmoidFocalLoss(torch.zeros([2, 3]), torch.zeros([3, 2])), /^sigmoidFocalLoss\(\): targets \[3, 2\] must have the shape of inputs \[2, 3\]$/, "E_SHAPE");
  assertFlareError(() => ops.sigmoidFocalLoss(torch.zeros([2]), torch.zeros([2]), { beta: 1 } as never), /^sigmoidFocalLoss\(\): unknown option 'beta'/, "E_ARGUMENT");
}));

test("the losses leave no tensors behind", () => {
  const p1 = get("loss.boxes1"), p2 = get("loss.boxes2");
  const run = () => {
    for (const fn of Object.values(LOSSES)) fn(p1, p2, { reduction: "mean" }).dispose();
    for (const fn of Object.values(FAMILY)) fn(p1, p2).dispose();
    ops.sigmoidFocalLoss(get("focal.inputs"), get("focal.targets")).dispose();
  };
  run();
  const before = torch.memory().numTensors;
  for (let i = 0; i < 5; i++) run();
  assert.equal(torch.memory().numTensors, before);
});
