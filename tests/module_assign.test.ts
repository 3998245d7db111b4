// Assignments that would shadow an nn.Module method are refused (issue 9: no silent
// surprises); PyTorch's own assignments (forward, training, submodules, parameters) still work.
import test from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { nn } from "../src/index.js";
import { assertFlareError } from "./helpers.js";

const assertRefused = (fn: () => void, pattern: RegExp): void => assertFlareError(fn, pattern, "E_ARGUMENT");

test("assigning over a Module method is a FlareError naming the class and the method", () => {
  const net = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU());
  const loose = net as unknown as Record<string, unknown>;
  assertRefused(() => { loose.parameters = 5; }, /cannot assign to Sequential\.parameters: it is a method of nn\.Module/);
  assertRefused(() => { loose.eval = false; }, /Sequential\.eval/);
  assertRefused(() => { (new nn.Linear(2, 2) as unknown as Record<string, unknown>).stateDict = {}; }, /Linear\.stateDict/);
  // the methods still work after a refused assignment
  assert.equal(net.parameters().length, 2);
  net.eval();
  assert.equal(net.training, false);
});

test("PyTorch's own assignments on modules still work: forward, training, submodules, parameters, subclass overrides", () => {
  class Net extends nn.Module {
    fc = new nn.Linear(2, 1);
    override train(mode = true): this { return super.train(mode); }
    override forward(x: torch.Tensor): torch.Tensor { return this.fc.forward(x); }
  }
  const net = new Net();
  net.training = false;
  assert.equal(net.training, false);
  net.train();
  assert.equal(net.training, true);
  net.fc = new nn.Linear(2, 1);
  assert.deepEqual([...net.stateDict().keys()], ["fc.weight", "fc.bias"]);
  net.fc.weight = new nn.Parameter(torch.ones([1, 2]));
  const forward = net.forward;
  net.forward = (x: torch.Tensor) => forward(x).mul(2);
  const y = net.forward(torch.ones([1, 2]));
  assert.equal(y.shape[1], 1);
  y.dispose();
});
