// Names PyTorch code uses that flare lacked (values from torch 1.13, in the comments).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { assertFlareError } from "./helpers.js";

const long = (v: number[]) => torch.tensor(v, { dtype: "int64" });

test("torch.max / torch.min as functions: all, with dim → (values, indices), and element-wise", () => {
  const x = torch.tensor([[1, 5], [4, 2]]);
  assert.equal(torch.max(x).item(), 5);
  const { values, indices } = torch.max(x, 1);  // values [5, 4], indices [1, 0]
  assert.deepEqual(values.tolist(), [5, 4]);
  assert.deepEqual(indices.tolist(), [1, 0]);
  const [mv, mi] = torch.min(x, 0, true);        // PyTorch's positional keepdim: [[1, 2]], [[0, 1]]
  assert.deepEqual(mv.tolist(), [[1, 2]]);
  assert.deepEqual(mi.tolist(), [[0, 1]]);
  assert.deepEqual(torch.min(x, 0, { keepdim: true }).values.tolist(), [[1, 2]]);
  assert.deepEqual(torch.max(x, torch.full([2, 2], 3.5)).tolist(), [[3.5, 5], [4, 3.5]]);
  assertFlareError(() => torch.max(x, "1" as never), /max\(\): the second argument must be a dim/);
});

test("a number first: torch.pow(2, x), sub, div, remainder, add, mul", () => {
  assert.deepEqual(torch.pow(2, torch.tensor([1, 2])).tolist(), [2, 4]);
  assert.deepEqual(torch.sub(1, long([1, 2])).tolist(), [0, -1]);            // tensor([ 0, -1])
  const q = torch.div(2, long([4, 8]));                                         // tensor([0.5000, 0.2500])
  assert.equal(q.dtype, "float32");
  assert.deepEqual(q.tolist(), [0.5, 0.25]);
  assert.deepEqual(torch.remainder(5, long([3, 2])).tolist(), [2, 1]);
  assert.deepEqual(torch.add(2, torch.tensor([1, 2]), { alpha: 3 }).tolist(), [5, 8]);
  assert.deepEqual(torch.mul(3, torch.tensor([1, 2])).tolist(), [3, 6]);
  assert.equal(torch.add(1, long([1])).dtype, "int64");
  assertFlareError(() => torch.add(1 as never, 2 as never), /add\(\): at least one of input and other must be a Tensor/, "E_TYPE");
});

test("torch.equal, torch.allclose (and the methods)", () => {
  assert.equal(torch.equal(long([1, 2]), long([1, 2])), true);
  assert.equal(torch.equal(long([1, 2]), long([1, 3])), false);
  assert.equal(torch.tensor([1, 2]).equal(torch.tensor([1, 2])), true);
  assert.equal(torch.allclose(torch.tensor([1, 2]), torch.tensor([1, 2 + 1e-6])), true);
  assert.equal(torch.allclose(torch.tensor([1]), torch.tensor([1.1])), false);
  assert.equal(torch.allclose(torch.tensor([1]), torch.tensor([1.1]), { atol: 0.2 }), true);
  assert.equal(torch.tensor([NaN]).allclose(torch.tensor([NaN]), { equalNan: true }), true);
  assertFlareError(() => torch.allclose(torch.tensor([1]), torch.tensor([1]), { equal_nan: true } as never), /unknown option "equal_nan" \(did you mean "equalNan"\?\)/);
  assertFlareError(() => torch.equal(torch.tensor([1]), [1] as never), /equal\(\): other must be a Tensor/);
});

test("x.type() names the type; x.type(dtype) converts", () => {
  const x = torch.tensor([1.5]);
  assert.equal(x.type(), "torch.FloatTensor");
  assert.equal(x.long().type(), "torch.LongTensor");
  assert.equal(x.type(torch.int32).dtype, "int32");
  assert.equal(x.type("torch.DoubleTensor").dtype, "float64");
  assertFlareError(() => x.type("torch.FooTensor"), /unknown tensor type/);
  assertFlareError(() => x.type("floaty"), /type\(\): dtype must be one of .*unknown dtype 'floaty'/, "E_DTYPE");
});

test("torch.normal(mean, std, size) and its tensor forms follow the seed", () => {
  torch.manualSeed(0);
  const a = torch.normal(0, 1, [3]);
  torch.manualSeed(0);
  const b = torch.randn([3]);
  assert.equal(a.dtype, "float32");
  assert.deepEqual(a.tolist(), b.tolist(), "normal(0, 1, size) draws as randn(size)");
  assert.deepEqual(torch.normal(2, 3, [2, 4]).shape, [2, 4]);
  const m = torch.normal(torch.zeros([5]), 1e-12);
  assert.deepEqual(m.shape, [5]);
  assert.ok((m.abs().max().item() as number) < 1e-9);
  assert.deepEqual(torch.normal(torch.full([2], 10.5), torch.full([2], 1e-12)).round().tolist(), [10, 10]);
  assert.deepEqual(torch.normal(3, torch.zeros([2])).tolist(), [3, 3]);
  assertFlareError(() => torch.normal(0, 1), /pass the size/);
  assertFlareError(() => torch.normal(torch.zeros([2]), 1, [2]), /size is taken only when mean and std are numbers/);
});

test("torch.mv, torch.numel, repeatInterleave with a tensor of repeats", () => {
  assert.deepEqual(torch.mv(torch.ones([2, 2]), torch.tensor([1, 2])).tolist(), [3, 3]);
  assert.deepEqual(torch.ones([2, 2]).mv(torch.tensor([1, 2])).tolist(), [3, 3]);
  assert.equal(torch.numel(torch.zeros([2, 3, 4])), 24);
  assert.deepEqual(long([1, 2]).repeatInterleave(long([2, 1])).tolist(), [1, 1, 2]);
  assert.deepEqual(torch.repeatInterleave(long([1, 2, 3, 4]).view(2, 2), long([1, 2]), 0).tolist(), [[1, 2], [3, 4], [3, 4]]);
  assert.deepEqual(long([1, 2]).repeatInterleave(2).tolist(), [1, 1, 2, 2]);
});

test("torch.save / torch.load of a single tensor", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-save-"));
  try {
    const file = path.join(dir, "x.safetensors");
    const x = torch.tensor([[1, 2], [3, 4]]);
    torch.save(x, file);
    const back = torch.load<torch.Tensor>(file);
    assert.ok(back instanceof torch.Tensor, "a single tensor comes back as a tensor");
    assert.deepEqual((back as torch.Tensor).tolist(), [[1, 2], [3, 4]]);
    const dict = torch.load(path.join(dir, "x.safetensors"));
    assert.ok(dict instanceof torch.Tensor);
    torch.save({ a: x }, path.join(dir, "d.safetensors"));
    assert.ok(torch.load(path.join(dir, "d.safetensors")) instanceof Map, "a dict still loads as a Map");
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
