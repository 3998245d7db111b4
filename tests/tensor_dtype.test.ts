// The one rule for JavaScript numbers and dtypes (README "Numbers and dtypes"),
// its errors, and the fixes libtorch's dtype errors now carry.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { F } from "../src/index.js";
import { assertFlareError } from "./helpers.js";
import { native } from "../src/tensor/native.js";

test("torch.tensor of numbers is float32, of booleans bool, unless dtype says otherwise", () => {
  assert.equal(torch.tensor([1, 2]).dtype, "float32");
  assert.equal(torch.tensor(3).dtype, "float32");
  assert.equal(torch.tensor([true, false]).dtype, "bool");
  assert.equal(torch.tensor([1, 2], { dtype: "int64" }).dtype, "int64");
  assert.equal(torch.tensor([1, 2], { dtype: torch.long }).dtype, "int64");
  assert.deepEqual(torch.tensor([1.7, -1.7], { dtype: "int64" }).tolist(), [1, -1], "truncated toward zero, as PyTorch");
});

test("arange and full infer PyTorch's dtype, a whole number acting as a Python int", () => {
  // torch 1.13: arange(4) int64, arange(0, 1, 0.25) float32, full([2], 7) int64, full([2], 7.5) float32, full([2], True) bool
  assert.equal(torch.arange(4).dtype, "int64");
  assert.equal(torch.arange(0, 1, 0.25).dtype, "float32");
  assert.deepEqual(torch.arange(0, 1, 0.25).tolist(), [0, 0.25, 0.5, 0.75]);
  assert.equal(torch.arange(4, { dtype: "float32" }).dtype, "float32");
  assert.equal(torch.full([2], 7).dtype, "int64");
  assert.equal(torch.full([2], 7.5).dtype, "float32");
  assert.equal(torch.full([2], true).dtype, "bool");
  assert.equal(torch.full([2], 7, { dtype: torch.float32 }).dtype, "float32");
  assert.equal(torch.fullLike(torch.zeros([2]), 7).dtype, "float32", "fullLike keeps the tensor's dtype");
  assert.equal(torch.linspace(0, 10, 5).dtype, "float32");
  assert.equal(torch.zeros([2]).dtype, "float32");
  assert.equal(torch.ones([2]).dtype, "float32");
  assert.equal(torch.empty([2]).dtype, "float32");
});

test("requiresGrad: true with no dtype picks float32 where PyTorch would infer an integer dtype", () => {
  const x = torch.arange(4, { requiresGrad: true });
  assert.equal(x.dtype, "float32");
  assert.equal(x.requiresGrad, true);
  assert.equal(torch.full([2], 3, { requiresGrad: true }).dtype, "float32");
  assertFlareError(() => torch.arange(4, { dtype: "int64", requiresGrad: true }), /only floating-point tensors can require gradients.*dtype: "float32"/, "E_DTYPE");
});

test("scalars in ops: a whole number keeps an integer tensor integer, a fraction makes it float32 (PyTorch's promotion)", () => {
  const i = torch.tensor([1, 2], { dtype: "int64" });
  assert.equal(i.mul(2).dtype, "int64");
  assert.equal(i.add(2.5).dtype, "float32");
  assert.equal(torch.pow(2, i).dtype, "int64");
  assert.equal(torch.pow(2.5, i).dtype, "float32");
});

test("NaN, Infinity and out-of-range values into an integer dtype are a FlareError, as PyTorch's overflow error", () => {
  for (const v of [NaN, Infinity, -Infinity, 1e300])
    assertFlareError(() => torch.tensor([1, v], { dtype: "int64" }), /element 1: .* cannot be converted to int64 without overflow/, "E_DTYPE");
  assertFlareError(() => torch.tensor([300], { dtype: "uint8" }), /300 cannot be converted to uint8/, "E_DTYPE");
  assertFlareError(() => torch.tensor([-1], { dtype: "uint8" }), /cannot be converted to uint8/);
  assertFlareError(() => torch.tensor([2 ** 31], { dtype: "int32" }), /cannot be converted to int32/);
  assertFlareError(() => torch.full([2], NaN, { dtype: "int64" }), /full\(\): value: NaN cannot be converted to int64/);
  assert.deepEqual(torch.tensor([255, 0], { dtype: "uint8" }).tolist(), [255, 0]);
  assert.deepEqual(torch.tensor([-(2 ** 62)], { dtype: "int64" }).tolist(), [-(2 ** 62)]);
});

test("libtorch's dtype errors carry the fix", () => {
  assertFlareError(() => torch.arange(4).requiresGrad_(), /floating point.*fix: .*\.float\(\).*dtype: "float32"/);
  assertFlareError(() => torch.ones([2]).dot(torch.arange(2)), /same dtype.*fix: give both the same dtype/);
  assertFlareError(() => F.crossEntropy(torch.ones([2, 3]), torch.tensor([0, 1])), /expected scalar type Long but found Float.*fix: convert the Float tensor with \.long\(\) \(or create it with \{ dtype: "int64" \}\)/);
  assertFlareError(() => torch.arange(2).add_(0.5), /can't be cast.*fix: .*\.float\(\)/);
  assertFlareError(() => torch.arange(4).mean(), /could not infer output dtype.*fix: convert with \.float\(\)/);
  // Other errors are left as they are.
  assertFlareError(() => torch.ones([2, 3]).matmul(torch.ones([4, 5])), /^mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)$/);
});

test("dtype constants work wherever a dtype does", () => {
  assert.equal(torch.float32, "float32"); assert.equal(torch.float, "float32"); assert.equal(torch.double, "float64");
  assert.equal(torch.long, "int64"); assert.equal(torch.int, "int32"); assert.equal(torch.half, "float16"); assert.equal(torch.bool, "bool");
  const x = torch.ones([2]);
  assert.equal(x.to(torch.float64).dtype, "float64");
  assert.equal(x.dtype === torch.float32, true);
  assert.equal(torch.zeros([1], { dtype: torch.uint8 }).dtype, "uint8");
  assert.equal(torch.zeros([1], { dtype: "long" as never }).dtype, "int64", "PyTorch's other names are accepted");
  assertFlareError(() => torch.zeros([1], { dtype: "torch.long" as never }), /unknown dtype 'torch\.long'.*did you mean "int64"/, "E_DTYPE");
  assertFlareError(() => torch.zeros([1], { dtype: "float8" as never }), /zeros\(\): dtype must be one of .*: unknown dtype 'float8'/, "E_DTYPE");
  assertFlareError(() => x.to(undefined as never), /to\(\): expected a dtype/, "E_TYPE");
  assertFlareError(() => x.to("floaty" as never), /to\(\): dtype must be one of .*: unknown dtype 'floaty'/, "E_DTYPE");
  // Object's own property names are not dtype names either: no "did you mean" built from Object.prototype.
  for (const name of ["constructor", "torch.toString", "__proto__"])
    assertFlareError(() => torch.zeros([1], { dtype: name as never }), new RegExp(`unknown dtype '${name.replace(".", "\\.")}'$`), "E_DTYPE");
});

test("creation functions reject unknown options and bad option values", () => {
  assertFlareError(() => torch.zeros([2], { requires_grad: true } as never), /zeros\(\): unknown option "requires_grad" \(did you mean "requiresGrad"\?\)/);
  assertFlareError(() => torch.tensor([1], { dtyp: "int64" } as never), /tensor\(\): unknown option "dtyp" \(did you mean "dtype"\?\)/);
  assertFlareError(() => torch.arange(3, { requiresGrad: 1 } as never), /requiresGrad must be true or false/, "E_TYPE");
  assertFlareError(() => torch.randn([2], { dtype: "int64" }), /randn\(\): dtype must be a floating-point dtype/);
  assertFlareError(() => torch.arange(NaN), /arange\(\): end must be a number, got number NaN/);
  assertFlareError(() => torch.arange(Infinity), /must be finite/);
});

test("reductions take PyTorch's positions: x.sum(0, true) keeps the dim; unknown options are refused", () => {
  const x = torch.tensor([[1, 2], [3, 4]]);
  assert.deepEqual(x.sum(0, true).shape, [1, 2]);                // torch: x.sum(0, True).shape == (1, 2)
  assert.deepEqual(x.mean(1, true).tolist(), [[1.5], [3.5]]);
  assert.deepEqual(x.max(1, true).values.tolist(), [[2], [4]]);
  assert.deepEqual(x.argmax(1, true).shape, [2, 1]);
  assert.deepEqual(x.amax(0, true).shape, [1, 2]);
  assert.deepEqual(x.std(0, false, true).tolist(), [[1, 1]]);   // torch: x.std(0, False, True) == [[1., 1.]]
  assert.deepEqual(x.var(0, { unbiased: false }).tolist(), [1, 1]);
  assert.deepEqual(x.norm(2, 1, true).shape, [2, 1]);
  assert.equal(x.sum({ dtype: "float64" }).dtype, "float64");
  assert.deepEqual(torch.sum(x, 1, true).shape, [2, 1]);
  assert.deepEqual(x.sum(0, { keepdim: true }).shape, [1, 2]);
  assertFlareError(() => x.sum(0, { keep_dim: true } as never), /sum\(\): unknown option "keep_dim" \(did you mean "keepdim"\?\)/);
  assertFlareError(() => x.sum(0, true, { keepdim: true }), /"keepdim" given both by position and in the options/);
  assertFlareError(() => x.cumsum(0, { dtyp: "float64" } as never), /cumsum\(\): unknown option "dtyp"/);
});

// native/ops.cc passes the number of x.mul(2) as a 0-dim tensor of x's dtype where
// that gives the same values, instead of libtorch's int64/double one that its
// TensorIterator casts on every call. Every result must be libtorch's own.
test("a binary op with a number gives libtorch's own dtype and values on every dtype", () => torch.tidy(() => {
  const dtypes = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"] as const;
  const numbers = [2, -3, 0, 2.5, -0.1, 1e10, 300, 70000, 2 ** 40, NaN, Infinity, true];
  type Run = (x: torch.Tensor, v: number | boolean) => torch.Tensor;
  const ops: [string, Run][] = [
    ...["add", "sub", "mul", "div", "eq", "ne", "lt", "le", "gt", "ge"].map((name): [string, Run] =>
      [name, (x, v) => (x as unknown as Record<string, (v: number | boolean) => torch.Tensor>)[name](v)]),
    ["add alpha", (x, v) => x.add(v, { alpha: 3 })],
    ...["add_", "sub_", "mul_", "div_"].map((name): [string, Run] =>
      [name, (x, v) => (x.clone() as unknown as Record<string, (v: number | boolean) => torch.Tensor>)[name](v)]),
  ];
  const outcome = (run: Run, x: torch.Tensor, v: number | boolean) => {
    try {
      const y = run(x, v);
      return { dtype: y.dtype, values: Array.from(y.dataSync() as ArrayLike<number | bigint>, (e) => typeof e === "bigint" ? e.toString() : Object.is(e, -0) ? "-0" : String(e)) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };
  let compared = 0;
  for (const dtype of dtypes) {
    const x = torch.tensor([0, 1.5, 2.25, 100, 7, 3]).to(dtype);
    for (const v of numbers) {
      for (const [name, run] of ops) {
        const fast = outcome(run, x, v);
        native.setScalarAsTensor(false);
        let reference;
        try { reference = outcome(run, x, v); } finally { native.setScalarAsTensor(true); }
        assert.deepEqual(fast, reference, `${dtype} ${name} ${v}`);
        compared++;
      }
    }
  }
  assert.equal(compared, dtypes.length * numbers.length * 15);
  // The number went in as a tensor: autograd names the Tensor overload's node, as PyTorch's Python does.
  const w = torch.ones([2], { requiresGrad: true });
  assert.equal(w.mul(2).gradFn, "MulBackward0");
  native.setScalarAsTensor(false);
  try { assert.equal(w.mul(2).gradFn, "MulBackward1"); } finally { native.setScalarAsTensor(true); }
  const y = w.mul(2.5).add(1).sum();
  y.backward();
  assert.deepEqual(w.grad!.tolist(), [2.5, 2.5]);
}));
