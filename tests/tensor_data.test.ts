// PyTorch's `.data` (a detached tensor sharing storage; assignment swaps the
// values in), the TypedArray under dataSync(), read-only and method names, and
// JavaScript operators on tensors.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { nn } from "../src/index.js";
import { assertFlareError } from "./helpers.js";

test(".data shares storage, is detached, and in-place ops on it change the parameter (net[0].weight.data.normal_())", () => {
  const lin = new nn.Linear(3, 2);
  const d = lin.weight.data;
  assert.ok(d instanceof torch.Tensor);
  assert.equal(d.requiresGrad, false);
  assert.equal(d.gradFn, null);
  d.fill_(0.5);
  assert.deepEqual(Array.from(lin.weight.dataSync() as Float32Array), [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
  lin.weight.data.normal_(0, 0.01);
  const w = Array.from(lin.weight.dataSync() as Float32Array);
  assert.ok(w.every((v) => Math.abs(v) < 0.1) && w.some((v) => v !== 0.5));
  assert.equal(lin.weight.requiresGrad, true);
});

test(".data in-place after the weight was saved for backward does not trip autograd's version check (PyTorch's semantics)", () => {
  const w = torch.ones([2], { requiresGrad: true });
  const y = w.mul(w).sum();
  w.data.mul_(2);  // PyTorch: w.data does not share w's version counter
  y.backward();
  assert.deepEqual(w.grad!.tolist(), [4, 4], "grad = 2·w with the modified w, as PyTorch gives");
});

test("assigning .data replaces the values and keeps the parameter in its module (conv.weight.data = K)", () => {
  const conv = new nn.Conv2d(1, 1, [1, 2], { bias: false });
  const K = torch.tensor([[[[1, -1]]]]);
  const before = conv.weight;
  conv.weight.data = K;
  assert.equal(conv.weight, before, "the same Parameter object");
  assert.deepEqual(conv.weight.tolist(), [[[[1, -1]]]]);
  assert.equal(conv.weight.requiresGrad, true);
  assert.match(String(conv.weight), /1\., -1\./, "still prints");
  const out = conv.forward(torch.tensor([[[[1, 3, 6]]]]));
  assert.deepEqual(out.tolist(), [[[[-2, -3]]]]);
  assertFlareError(() => { (conv.weight as { data: unknown }).data = [1, 2]; }, /data = value: value must be a Tensor/, "E_TYPE");
});

test("dataSync() is the TypedArray copy that data() used to be", () => {
  const t = torch.tensor([1, 2, 3]);
  const a = t.dataSync();
  assert.ok(a instanceof Float32Array);
  assert.deepEqual(Array.from(a), [1, 2, 3]);
  assert.ok(torch.tensor([1], { dtype: "int64" }).dataSync() instanceof BigInt64Array);
});

test("assignments to methods and read-only properties of a tensor throw a FlareError", () => {
  const t = torch.zeros([2]);
  assertFlareError(() => { (t as unknown as { shape: number[] }).shape = [3]; }, /Tensor\.shape is read-only/);
  assertFlareError(() => { (t as unknown as { dtype: string }).dtype = "int64"; }, /Tensor\.dtype is read-only/);
  assertFlareError(() => { (t as unknown as { add: unknown }).add = () => 0; }, /Tensor\.add is a method: it cannot be assigned/);
  assertFlareError(() => { (t as unknown as { item: unknown }).item = 1; }, /Tensor\.item is a method/);
  assert.deepEqual(t.add(1).tolist(), [1, 1], "the method is still there");
  t.requiresGrad = true;  // settable properties stay settable
  assert.equal(t.requiresGrad, true);
});

test("JavaScript operators on a tensor throw and say what to write; string conversion still prints", () => {
  const x = torch.tensor([1, 2, 3]);
  assertFlareError(() => (x as unknown as number) + 1, /JavaScript operators .* do not work on tensors.*t\.add\(1\).*t\.mul\(2\).*item\(\)/, "E_TYPE");
  assertFlareError(() => 2 * (x as unknown as number), /not a JavaScript number/);
  assertFlareError(() => (x as unknown as number) < 3, /not a JavaScript number/);
  assert.equal(String(x), "tensor([1., 2., 3.])");
  assert.equal(`${x}`, "tensor([1., 2., 3.])");
  assert.equal(`${new nn.Parameter(torch.zeros([1]))}`, "Parameter containing:\ntensor([0.], requires_grad=True)");
});

test("the book's initialisation lines port as written: net[0].weight.data.normal_(0, 0.01); net[0].bias.data.fill_(0)", () => {
  torch.manualSeed(1);
  const net = new nn.Sequential(new nn.Linear(4, 1));
  const first = (net as unknown as Record<number, nn.Linear>)[0];
  first.weight.data.normal_(0, 0.01);
  first.bias!.data.fill_(0);
  const w = first.weight.dataSync() as Float32Array;
  assert.ok(Array.from(w).every((v) => Math.abs(v) < 0.05));
  assert.deepEqual(first.bias!.tolist(), [0]);
  assert.equal(first.weight.requiresGrad, true);
  assert.equal(net.parameters()[0], first.weight, "still the module's parameter");
});
