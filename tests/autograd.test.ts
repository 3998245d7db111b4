// Autograd extension points: the native kernel pattern (the cube example),
// gradcheck, tensor hooks and post-accumulate-grad hooks.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { nn } from "../src/index.js";
import { native } from "../src/tensor/native.js";
import { liveHookCount } from "../src/tensor/hooks.js";
import { assertClose, assertFlareError, settledTensors } from "./helpers.js";

const cube = (x: torch.Tensor): torch.Tensor => new torch.Tensor(native.exampleCube(x.handle));
const values = (t: torch.Tensor | null): number[] => Array.from(t!.dataSync() as Float64Array | Float32Array, Number);

test("the native example kernel: forward x³, backward 3x², a grad_fn like any ATen op", () => {
  torch.tidy(() => {
    const x = torch.tensor([-2, -0.5, 0, 1.5, 3], { dtype: "float64" }).requiresGrad_();
    const y = cube(x);
    assert.deepEqual(values(y), [-8, -0.125, 0, 3.375, 27]);
    assert.ok(y.requiresGrad);
    assert.equal(y.gradFn, "torch::autograd::CppNode<flare::CubeFunction>");
    y.mul(2).sum().backward();
    assert.deepEqual(values(x.grad), [24, 1.5, 0, 13.5, 54]);
  });
});

test("the example kernel in a larger graph: float32, chained with ATen ops", () => {
  torch.tidy(() => {
    const x = torch.randn([3, 4]).requiresGrad_();
    cube(x.mul(0.5)).sum().backward();
    assertClose(x.grad!, x.detach().pow(2).mul(0.375), { what: "d/dx (x/2)^3 = 3/8 x^2" });
  });
});

test("gradcheck passes for the example kernel in float64", () => {
  torch.tidy(() => {
    const x = torch.randn([2, 3], { dtype: "float64" }).requiresGrad_();
    assert.equal(torch.autograd.gradcheck(cube, [x]), true);
    const a = torch.randn([4], { dtype: "float64" }).requiresGrad_();
    const b = torch.randn([4], { dtype: "float64" }).requiresGrad_();
    assert.equal(torch.autograd.gradcheck((p, q) => [cube(p).mul(q), p.add(q)], [a, b]), true);
  });
});

test("gradcheck fails on a wrong gradient: with a FlareError, or false with raiseException: false", () => {
  torch.tidy(() => {
    // A hook doubles the analytic gradient; the finite differences do not see it.
    const wrong = (x: torch.Tensor) => {
      const y = x.mul(1);
      if (y.requiresGrad) y.registerHook((g) => g.mul(2));
      return y.sum();
    };
    const x = torch.randn([3], { dtype: "float64" }).requiresGrad_();
    assert.equal(torch.autograd.gradcheck(wrong, [x], { raiseException: false }), false);
    assertFlareError(() => torch.autograd.gradcheck(wrong, [x]), /^gradcheck\(\): Jacobian mismatch for output 0 with respect to inputs\[0\] at \(output element 0, input element 0\): numerical (1\.0000000\d*|0\.9999999\d*), analytical 2$/);
  });
});

test("gradcheck checks its arguments", () => {
  torch.tidy(() => {
    const f32 = torch.randn([2]).requiresGrad_();
    assertFlareError(() => torch.autograd.gradcheck(cube, [f32]), /^gradcheck\(\): inputs\[0\] must be float64/, "E_DTYPE");
    assertFlareError(() => torch.autograd.gradcheck(cube, [torch.randn([2], { dtype: "float64" })]), /^gradcheck\(\): no input requires grad$/);
    const x = torch.randn([2], { dtype: "float64" }).requiresGrad_();
    assertFlareError(() => torch.autograd.gradcheck(cube, [x], { epsilon: 1 } as never), /^gradcheck\(\): unknown option 'epsilon'$/);
  });
});

test("the example kernel refuses double backward and bad input with FlareErrors", () => {
  torch.tidy(() => {
    const x = torch.randn([3], { dtype: "float64" }).requiresGrad_();
    const y = cube(x).sum();
    assertFlareError(() => torch.autograd.grad(y, x, { createGraph: true }), /^cube: double backward \(createGraph: true\) is not supported$/, "E_ARGUMENT");
    assertFlareError(() => cube(torch.tensor([1, 2], { dtype: "int64" })), /^cube\(\): input must be float32 or float64, got int64$/, "E_DTYPE");
  });
});

test("registerHook: the hook sees the gradient and may replace it; remove() stops it", () => {
  torch.tidy(() => {
    const x = torch.tensor([1, 2, 3]).requiresGrad_();
    const seen: number[][] = [];
    const handle = x.registerHook((g) => { seen.push(values(g)); return g.mul(10); });
    x.mul(2).sum().backward();
    assert.deepEqual(seen, [[2, 2, 2]]);
    assert.deepEqual(values(x.grad), [20, 20, 20]);
    handle.remove();
    handle.remove();  // twice is harmless
    x.grad = null;
    x.mul(2).sum().backward();
    assert.deepEqual(seen.length, 1);
    assert.deepEqual(values(x.grad), [2, 2, 2]);
  });
});

test("registerHook on an intermediate tensor changes what flows to the leaves; returning nothing keeps the gradient", () => {
  torch.tidy(() => {
    const x = torch.tensor([1, 2]).requiresGrad_();
    const y = x.mul(3);
    let calls = 0;
    y.registerHook(() => { calls++; });
    y.registerHook((g) => g.add(1));
    y.sum().backward();
    assert.equal(calls, 1);
    assert.deepEqual(values(x.grad), [6, 6]);  // (1 + 1) * 3
  });
});

test("an error thrown inside a hook comes out of backward() as a FlareError, and autograd keeps working", () => {
  torch.tidy(() => {
    const x = torch.tensor([1, 2]).requiresGrad_();
    const handle = x.registerHook(() => { throw new Error("boom"); });
    assertFlareError(() => x.sum().backward(), /^backward\(\): a hook threw: boom$/, "E_ARGUMENT");
    handle.remove();
    // (libtorch 1.13 runs no hooks of autograd.grad's inputs themselves: hook an intermediate)
    const y = x.mul(2);
    y.registerHook(() => { throw new torch.FlareError("my own error", "E_STATE"); });
    assertFlareError(() => torch.autograd.grad(y.sum(), x), /^my own error$/, "E_STATE");
    const bad = x.registerHook(() => 42 as never);
    assertFlareError(() => x.sum().backward(), /^registerHook\(\): a hook must return a Tensor or nothing, got number 42$/, "E_TYPE");
    bad.remove();
    x.grad = null;
    x.sum().backward();
    assert.deepEqual(values(x.grad), [1, 1]);
  });
});

test("registerHook checks its arguments", () => {
  torch.tidy(() => {
    assertFlareError(() => torch.tensor([1]).registerHook(() => undefined),
      /^registerHook\(\): cannot register a hook on a tensor that does not require grad$/, "E_STATE");
    assertFlareError(() => torch.tensor([1]).requiresGrad_().registerHook(3 as never), /^registerHook\(\): hook must be a function, got number 3$/);
  });
});

test("hook functions are freed with their tensor (and with the graph that holds them)", () => {
  const before = liveHookCount();
  const x = torch.tensor([1, 2]).requiresGrad_();
  x.registerHook((g) => g);
  const y = torch.tidy(() => x.mul(2));
  y.registerHook((g) => g);
  assert.equal(liveHookCount(), before + 2);
  y.dispose();
  assert.equal(liveHookCount(), before + 1, "the intermediate's hook goes with it and its graph");
  x.dispose();  // (y's graph held x too, through its gradient accumulator)
  assert.equal(liveHookCount(), before, "the leaf's hook goes with the leaf");
});

test("hooks in a training loop leak neither tensors nor hook functions", () => {
  const x = torch.randn([4]).requiresGrad_();
  const run = () => torch.tidy(() => {
    const y = x.mul(2);
    y.registerHook((g) => g.mul(0.5));
    y.sum().backward();
  });
  run();
  const tensors = settledTensors(), hooks = liveHookCount();
  for (let i = 0; i < 20; i++) run();
  assert.equal(torch.memory().numTensors, tensors);
  assert.equal(liveHookCount(), hooks);
  x.dispose();
});

test("registerPostAccumulateGradHook runs after .grad is updated, once per backward, on the parameter", () => {
  const linear = new nn.Linear(3, 2);
  try {
    const seen: number[] = [];
    const handle = linear.weight.registerPostAccumulateGradHook((p) => {
      assert.equal(p, linear.weight);
      seen.push(p.grad!.sum().item());
    });
    torch.tidy(() => {
      const input = torch.ones([1, 3]);
      linear.forward(input).sum().backward();
      linear.forward(input).sum().backward();  // accumulates: the hook sees the sum
    });
    assert.deepEqual(seen, [6, 12]);
    handle.remove();
    torch.tidy(() => linear.forward(torch.ones([1, 3])).sum().backward());
    assert.equal(seen.length, 2);
  } finally {
    linear.dispose();
  }
});

test("post-accumulate hooks survive graphs being freed, and errors in them surface from backward()", () => {
  const w = torch.randn([2]).requiresGrad_();
  let calls = 0;
  w.registerPostAccumulateGradHook(() => { calls++; });
  for (let i = 0; i < 3; i++) torch.tidy(() => w.mul(2).sum().backward());
  assert.equal(calls, 3);
  const failing = w.registerPostAccumulateGradHook(() => { throw new RangeError("bad bucket"); });
  assertFlareError(() => torch.tidy(() => w.sum().backward()), /^backward\(\): a hook threw: bad bucket$/);
  failing.remove();
  const before = liveHookCount();
  w.dispose();
  assert.equal(liveHookCount(), before - 1, "dispose() drops the tensor's post-accumulate hooks");
});

test("registerPostAccumulateGradHook needs a leaf that requires grad", () => {
  torch.tidy(() => {
    const x = torch.tensor([1]).requiresGrad_();
    assertFlareError(() => x.mul(2).registerPostAccumulateGradHook(() => undefined),
      /^registerPostAccumulateGradHook\(\): only leaf tensors that require grad accumulate gradients$/, "E_STATE");
  });
});
