// The tensor layer: creation, dtypes, ops with broadcasting, reductions, shape
// ops, indexing, autograd, printing. Expected values are worked out by hand or
// are PyTorch's printed results.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { assertClose, assertFlareError, settledTensors } from "./helpers.js";

const t = (data: unknown, dtype?: torch.DType) => torch.tensor(data, dtype ? { dtype } : {});

test("creation: nested arrays, typed arrays, fills, ranges", () => torch.tidy(() => {
  const a = t([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(a.shape, [2, 3]);
  assert.equal(a.dtype, "float32");
  assert.deepEqual(a.tolist(), [[1, 2, 3], [4, 5, 6]]);
  assert.equal(t([true, false]).dtype, "bool");
  assert.equal(t(3.5).item(), 3.5);
  assert.deepEqual(t(3.5).shape, []);
  const f = torch.fromTypedArray(new Int32Array([1, 2, 3, 4]), [2, 2]);
  assert.equal(f.dtype, "int32");
  assert.deepEqual(torch.fromTypedArray(new Float64Array([1, 2]), [2], { dtype: "float32" }).tolist(), [1, 2]);
  assert.deepEqual(torch.zeros([2, 2]).tolist(), [[0, 0], [0, 0]]);
  assert.deepEqual(torch.ones([3], { dtype: "int64" }).tolist(), [1, 1, 1]);
  assert.deepEqual(torch.full([2], 7).tolist(), [7, 7]);
  assert.deepEqual(torch.arange(4).tolist(), [0, 1, 2, 3]);
  assert.equal(torch.arange(4).dtype, "int64");
  assert.deepEqual(torch.arange(3, { dtype: "float64" }).tolist(), [0, 1, 2]);
  assert.equal(torch.arange(3, { dtype: "float64" }).dtype, "float64");
  assert.deepEqual(torch.arange(1, 2, 0.25).tolist(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(torch.linspace(0, 1, 5).tolist(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(torch.eye(2).tolist(), [[1, 0], [0, 1]]);
  assert.deepEqual(torch.zerosLike(a).shape, [2, 3]);
  assert.equal(torch.onesLike(a, { dtype: "float64" }).dtype, "float64");
  assert.deepEqual(torch.emptyLike(a).shape, [2, 3]);
  assert.deepEqual(torch.fullLike(a, 2).sum().item(), 12);
}));

test("random draws are reproducible under manualSeed and have the right ranges", () => torch.tidy(() => {
  torch.manualSeed(7);
  const a = torch.randn([100]);
  torch.manualSeed(7);
  const b = torch.randn([100]);
  assert.deepEqual(a.tolist(), b.tolist());
  const u = torch.rand([1000]);
  assert.ok(u.min().item() >= 0 && u.max().item() < 1);
  const r = torch.randint(3, 6, [1000]);
  assert.equal(r.dtype, "int64");
  assert.ok(r.min().item() >= 3 && r.max().item() <= 5);
  assert.deepEqual(torch.randperm(5).sort()[0].tolist(), [0, 1, 2, 3, 4]);
  const state = torch.getRngState();
  assert.equal(state.dtype, "uint8");
  const first = torch.rand([5]).tolist();
  torch.setRngState(state);
  assert.deepEqual(torch.rand([5]).tolist(), first, "restoring the state replays the draws");
  assertFlareError(() => torch.setRngState(torch.zeros([3])), /RNG state must be a torch\.ByteTensor/);
  const g1 = new torch.Generator(3), g2 = new torch.Generator(3);
  assert.deepEqual(g1.permutation(10), g2.permutation(10));
}));

test("dtypes and devices convert; to() returns the same tensor when nothing changes", () => torch.tidy(() => {
  const a = t([1.7, -2.2]);
  assert.equal(a.to("float32"), a);
  assert.deepEqual(a.long().tolist(), [1, -2]);
  assert.deepEqual(a.to("float64").dtype, "float64");
  assert.equal(a.half().dtype, "float16");
  assert.ok(Math.abs((a.half().float().dataSync()[0] as number) - 1.7) < 1e-3);
  assert.equal(a.bfloat16().dtype, "bfloat16");
  assert.deepEqual(a.bool().tolist(), [true, true]);
  assert.equal(a.device, "cpu");
  assert.equal(a.cpu(), a);
  assert.equal(a.to({ dtype: "float64", device: "cpu" }).dtype, "float64");
  const big = torch.tensor([2 ** 40], { dtype: "int64" });
  assert.equal((big.dataSync() as BigInt64Array)[0], 2n ** 40n);
}));

test("arithmetic broadcasts like PyTorch and mixes tensors and numbers", () => torch.tidy(() => {
  const a = t([[1, 2, 3], [4, 5, 6]]);
  const row = t([10, 20, 30]);
  assert.deepEqual(a.add(row).tolist(), [[11, 22, 33], [14, 25, 36]]);
  assert.deepEqual(a.add(row, { alpha: 2 }).tolist(), [[21, 42, 63], [24, 45, 66]]);
  assert.deepEqual(a.sub(1).tolist(), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(a.mul(t([[2], [3]])).tolist(), [[2, 4, 6], [12, 15, 18]]);
  assert.deepEqual(a.div(2).tolist(), [[0.5, 1, 1.5], [2, 2.5, 3]]);
  assert.deepEqual(t([-7, 7]).div(2, { roundingMode: "floor" }).tolist(), [-4, 3]);
  assert.deepEqual(t([-7, 7]).div(2, { roundingMode: "trunc" }).tolist(), [-3, 3]);
  assert.deepEqual(a.pow(2).index(0).tolist(), [1, 4, 9]);
  assert.deepEqual(t([5, -5]).remainder(3).tolist(), [2, 1]);
  assert.deepEqual(t([1, 5]).maximum(t([3, 2])).tolist(), [3, 5]);
  assert.deepEqual(a.neg().index(0).tolist(), [-1, -2, -3]);
  assert.deepEqual(t([-1.5, 0.4]).abs().tolist(), [1.5, 0.4000000059604645]);
  assert.deepEqual(t([-2, 0, 3]).sign().tolist(), [-1, 0, 1]);
  assert.deepEqual(t([1.4, 1.6, -1.5]).floor().tolist(), [1, 1, -2]);
  assert.deepEqual(t([1.4, 1.6]).ceil().tolist(), [2, 2]);
  assert.deepEqual(t([0.5, 1.5, 2.5]).round().tolist(), [0, 2, 2]);
  assert.deepEqual((t([1.234, 5.678]).round({ decimals: 1 }).tolist() as number[]).map((v) => Math.round(v * 10)), [12, 57]);
  assert.deepEqual(t([-1, 0.5, 3]).clamp(0, 1).tolist(), [0, 0.5, 1]);
  assert.deepEqual(t([-1, 3]).clamp(null, 1).tolist(), [-1, 1]);
  assert.deepEqual(t([-1, 3]).relu().tolist(), [0, 3]);
  assertClose(t([0, 1]).exp(), t([1, Math.E]));
  assertClose(t([1, Math.E]).log(), t([0, 1]));
  assertClose(t([4, 9]).sqrt(), t([2, 3]));
  assertClose(t([4, 16]).rsqrt(), t([0.5, 0.25]));
  assertClose(t([0]).sigmoid(), t([0.5]));
  assertClose(t([0, Math.PI / 2]).sin(), t([0, 1]), { atol: 1e-6 });
  assertClose(t([0, Math.PI]).cos(), t([1, -1]), { atol: 1e-6 });
  assertClose(t([0, 100]).tanh(), t([0, 1]));
  assertClose(t([[1, 2, 3]]).softmax(1), t([[0.09003057, 0.24472847, 0.66524096]]));
  assertClose(t([[1, 2, 3]]).logSoftmax(-1), t([[-2.40760596, -1.40760596, -0.40760596]]));
  const z = t([1, 2]);
  assertClose(z.lerp(t([3, 6]), 0.5), t([2, 4]));
  assertClose(z.addcmul(t([2, 2]), t([3, 3]), { value: 0.5 }), t([4, 5]));
}));

test("comparisons and logic give bool tensors", () => torch.tidy(() => {
  const a = t([1, 2, 3]);
  assert.deepEqual(a.gt(2).tolist(), [false, false, true]);
  assert.deepEqual(a.le(t([1, 1, 1])).tolist(), [true, false, false]);
  assert.deepEqual(a.eq(2).tolist(), [false, true, false]);
  assert.deepEqual(a.ne(2).dtype, "bool");
  assert.deepEqual(a.gt(1).logicalAnd(a.lt(3)).tolist(), [false, true, false]);
  assert.deepEqual(a.gt(2).logicalOr(a.lt(2)).tolist(), [true, false, true]);
  assert.deepEqual(a.gt(2).logicalNot().tolist(), [true, true, false]);
  assert.deepEqual(t([NaN, 1]).isnan().tolist(), [true, false]);
  assert.deepEqual(t([Infinity, 1]).isfinite().tolist(), [false, true]);
}));

test("in-place ops change the tensor and return it", () => torch.tidy(() => {
  const a = t([1, 2, 3]);
  assert.equal(a.add_(1), a);
  assert.deepEqual(a.tolist(), [2, 3, 4]);
  a.mul_(t([2, 2, 2])).sub_(1, { alpha: 2 }).div_(2);
  assert.deepEqual(a.tolist(), [1, 2, 3]);
  a.clamp_(1.5, 2.5);
  assert.deepEqual(a.tolist(), [1.5, 2, 2.5]);
  a.fill_(7);
  assert.deepEqual(a.tolist(), [7, 7, 7]);
  a.copy_(t([4, 5, 6]));
  assert.deepEqual(a.tolist(), [4, 5, 6]);
  a.zero_();
  assert.deepEqual(a.tolist(), [0, 0, 0]);
  a.addcmul_(t([1, 2, 3]), t([1, 1, 1]), { value: 2 });
  assert.deepEqual(a.tolist(), [2, 4, 6]);
  a.sqrt_().pow_(2);
  assertClose(a, t([2, 4, 6]));
  a.round_();
  a.maskedFill_(a.gt(3), -1);
  assert.deepEqual(a.tolist(), [2, -1, -1]);
}));

test("reductions with dim, keepdim and (values, indices) pairs", () => torch.tidy(() => {
  const a = t([[1, 5, 3], [4, 2, 6]]);
  assert.equal(a.sum().item(), 21);
  assert.deepEqual(a.sum(0).tolist(), [5, 7, 9]);
  assert.deepEqual(a.sum(1, { keepdim: true }).shape, [2, 1]);
  assert.deepEqual(a.sum([0, 1]).item(), 21);
  assert.equal(a.mean().item(), 3.5);
  assert.deepEqual(a.mean(1).tolist(), [3, 4]);
  assert.equal(a.prod().item(), 720);
  assert.deepEqual(a.prod(1).tolist(), [15, 48]);
  const [values, indices] = a.max(1);
  assert.deepEqual(values.tolist(), [5, 6]);
  assert.deepEqual(indices.tolist(), [1, 2]);
  assert.deepEqual(a.min(0).values.tolist(), [1, 2, 3]);
  assert.equal(a.max().item(), 6);
  assert.deepEqual(a.max(t([[9, 0, 0], [0, 0, 0]])).tolist(), [[9, 5, 3], [4, 2, 6]]);
  assert.deepEqual(a.amax(1).tolist(), [5, 6]);
  assert.deepEqual(a.amin(0).tolist(), [1, 2, 3]);
  assert.equal(a.argmax().item(), 5);
  assert.deepEqual(a.argmax(1).tolist(), [1, 2]);
  assert.deepEqual(a.argmin(1, { keepdim: true }).shape, [2, 1]);
  assertClose(t([1, 2, 3, 4]).std(), t(1.2909944));
  assertClose(t([1, 2, 3, 4]).std(null, { correction: 0 }), t(1.118034));
  assertClose(t([1, 2, 3, 4]).var(), t(1.6666666));
  assertClose(t([[3, 4]]).norm(), t(5));
  assertClose(t([[3, 4], [6, 8]]).norm(2, 1), t([5, 10]));
  assertClose(t([[-3, 4]]).norm(1), t(7));
  assert.equal(t([true, false]).all().item(), false);
  assert.equal(t([true, false]).any().item(), true);
  assert.deepEqual(t([[true, false], [true, true]]).all(1).tolist(), [false, true]);
  assert.deepEqual(t([1, 2, 3]).cumsum(0).tolist(), [1, 3, 6]);
  assert.deepEqual(t([1, 2, 3]).cumprod(0).tolist(), [1, 2, 6]);
  assertClose(t([[0, Math.log(3)]]).logsumexp(1), t([Math.log(4)]));
}));

test("matmul, bmm, einsum", () => torch.tidy(() => {
  const a = t([[1, 2], [3, 4]]), b = t([[5, 6], [7, 8]]);
  assert.deepEqual(a.matmul(b).tolist(), [[19, 22], [43, 50]]);
  assert.deepEqual(a.mm(b).tolist(), [[19, 22], [43, 50]]);
  assert.deepEqual(torch.stack([a, b]).bmm(torch.stack([b, a])).shape, [2, 2, 2]);
  assert.deepEqual(t([1, 2]).dot(t([3, 4])).item(), 11);
  assert.deepEqual(t([1, 2]).outer(t([3, 4])).tolist(), [[3, 4], [6, 8]]);
  assert.deepEqual(torch.einsum("ij,jk->ik", a, b).tolist(), [[19, 22], [43, 50]]);
  assert.deepEqual(torch.einsum("ii", a).item(), 5);
  assert.deepEqual(torch.matmul(a, t([1, 1])).tolist(), [3, 7]);
}));

test("shape ops", () => torch.tidy(() => {
  const a = torch.arange(6);
  assert.deepEqual(a.reshape(2, 3).shape, [2, 3]);
  assert.deepEqual(a.reshape([3, -1]).shape, [3, 2]);
  assert.deepEqual(a.view(2, 3).t().tolist(), [[0, 3], [1, 4], [2, 5]]);
  const c = torch.zeros([2, 3, 4]);
  assert.deepEqual(c.permute(2, 0, 1).shape, [4, 2, 3]);
  assert.deepEqual(c.transpose(0, 2).shape, [4, 3, 2]);
  assert.deepEqual(c.T.shape, [4, 3, 2]);
  assert.deepEqual(c.flatten().shape, [24]);
  assert.deepEqual(c.flatten(1).shape, [2, 12]);
  assert.deepEqual(c.unflatten(2, [2, 2]).shape, [2, 3, 2, 2]);
  assert.deepEqual(torch.zeros([1, 3, 1]).squeeze().shape, [3]);
  assert.deepEqual(torch.zeros([1, 3, 1]).squeeze(0).shape, [3, 1]);
  assert.deepEqual(a.unsqueeze(0).shape, [1, 6]);
  assert.deepEqual(t([[1], [2]]).expand(2, 3).tolist(), [[1, 1, 1], [2, 2, 2]]);
  assert.deepEqual(t([1, 2]).repeat(2).tolist(), [1, 2, 1, 2]);
  assert.deepEqual(t([1, 2]).repeatInterleave(2).tolist(), [1, 1, 2, 2]);
  assert.deepEqual(t([1, 2, 3]).flip(0).tolist(), [3, 2, 1]);
  assert.deepEqual(t([1, 2, 3]).roll(1).tolist(), [3, 1, 2]);
  assert.deepEqual(torch.cat([t([1]), t([2, 3])]).tolist(), [1, 2, 3]);
  assert.deepEqual(torch.cat([t([[1]]), t([[2]])], 1).tolist(), [[1, 2]]);
  assert.deepEqual(torch.stack([t([1, 2]), t([3, 4])], 1).tolist(), [[1, 3], [2, 4]]);
  assert.deepEqual(a.split(4).map((x) => x.tolist()), [[0, 1, 2, 3], [4, 5]]);
  assert.deepEqual(a.split([1, 5]).map((x) => x.shape[0]), [1, 5]);
  assert.deepEqual(a.chunk(3).map((x) => x.tolist()), [[0, 1], [2, 3], [4, 5]]);
  assert.deepEqual(a.reshape(2, 3).unbind(1).length, 3);
  assert.deepEqual(a.narrow(0, 1, 2).tolist(), [1, 2]);
  assert.equal(a.reshape(2, 3).size(-1), 3);
  assert.equal(a.reshape(2, 3).transpose(0, 1).contiguous().stride()[1], 1);
  assert.deepEqual(t([[1, 2], [3, 4]]).tril().tolist(), [[1, 0], [3, 4]]);
}));

test("index() follows Python's slicing; indexPut_ assigns", () => torch.tidy(() => {
  const a = torch.arange(12).reshape(3, 4);
  assert.deepEqual(a.index(1).tolist(), [4, 5, 6, 7]);
  assert.deepEqual(a.index(-1, -1).item(), 11);
  assert.deepEqual(a.index(":", 1).tolist(), [1, 5, 9]);
  assert.deepEqual(a.index("1:", "::2").tolist(), [[4, 6], [8, 10]]);
  assert.deepEqual(a.index("...", -1).tolist(), [3, 7, 11]);
  assert.deepEqual(a.index(null).shape, [1, 3, 4]);
  assert.deepEqual(a.index(":", null, 0).shape, [3, 1]);
  assert.deepEqual(a.index(":-1", "-2:").tolist(), [[2, 3], [6, 7]]);
  const rows = torch.tensor([2, 0], { dtype: "int64" });
  assert.deepEqual(a.index(rows, 0).tolist(), [8, 0]);
  assert.deepEqual(a.index(a.gt(9)).tolist(), [10, 11]);
  a.indexPut_([":", 0], -1);
  assert.deepEqual(a.index(":", 0).tolist(), [-1, -1, -1]);
  a.indexPut_([0], torch.tensor([9, 9, 9, 9], { dtype: "int64" }));
  assert.deepEqual(a.index(0).tolist(), [9, 9, 9, 9]);
  a.indexPut_([a.eq(9)], 0);
  assert.equal(a.index(0).sum().item(), 0);
}));

// Expected shapes and values are PyTorch 1.13's for the same indices.
test("index() with 0-dim and mask tensors follows Python's x[...]", () => torch.tidy(() => {
  const x = torch.arange(24).reshape(2, 3, 4);
  const long = (v: number) => torch.tensor(v, { dtype: "int64" });
  const mask = torch.ones([2, 3], { dtype: "bool" });
  mask.indexPut_([0, 1], false);
  // A mask covers its dimensions for "...": x[m, ...] is [5, 4]; x[m, ..., 0] fails as in PyTorch.
  assert.deepEqual(x.index(mask, "...").shape, [5, 4]);
  assert.throws(() => x.index(mask, "...", 0), /shape of the mask \[2, 3\] at index 1 does not match/);
  // A 0-dim integer tensor selects, as a number: a view that drops the dimension.
  assert.deepEqual(x.index(long(1)).shape, [3, 4]);
  assert.deepEqual(x.index(long(1), 0).tolist(), [12, 13, 14, 15]);
  const y = torch.arange(5);
  y.index(long(2)).add_(100);
  assert.deepEqual(y.tolist(), [0, 1, 102, 3, 4]);
  // A 0-dim boolean adds a dimension it keeps or empties.
  assert.deepEqual(x.index(0, torch.tensor(true)).shape, [1, 3, 4]);
  assert.deepEqual(x.index(0, torch.tensor(false)).shape, [0, 3, 4]);
  assert.deepEqual(torch.tensor(5).index(torch.tensor(true)).tolist(), [5]);
  const w = torch.arange(6);
  w.indexPut_([torch.tensor(true)], 7);
  w.indexPut_([long(4)], -1);
  assert.deepEqual(w.tolist(), [7, 7, 7, 7, -1, 7]);
  assertFlareError(() => x.index(torch.tensor(1.0)), /must be long, byte or bool tensors/);
}));

// The number becomes a 0-dim tensor of x's dtype inside the one native call, as
// Python's valueToTensor makes it: expected values and errors are PyTorch 1.13's.
test("indexPut_ with a tensor index and a number converts it as PyTorch's x[idx] = v", () => torch.tidy(() => {
  const idx = torch.tensor([0, 2], { dtype: "int64" });
  const put = (dtype: torch.DType, value: number | boolean) => torch.zeros([4], { dtype }).indexPut_([idx], value).tolist();
  assert.deepEqual(put("int32", 7), [7, 0, 7, 0]);
  assert.deepEqual(put("int32", 2.7), [2, 0, 2, 0]);
  assert.deepEqual(put("float32", 2.5), [2.5, 0, 2.5, 0]);
  assert.deepEqual(put("bool", true), [true, false, true, false]);
  assert.deepEqual(put("uint8", 255), [255, 0, 255, 0]);
  assert.deepEqual(put("int64", 2 ** 53 + 2), [2 ** 53 + 2, 0, 2 ** 53 + 2, 0]);
  assert.throws(() => put("int8", 300), /int8_t without overflow/);
  assert.throws(() => put("float16", 70000), /Half without overflow/);
  assertFlareError(() => torch.zeros([4]).indexPut_([idx], "x" as unknown as number), /'values' of aten::index_put_ must be a Tensor or a number/, "E_ARGUMENT");
  // A tensor of values takes the other path: each index gets its own value, the later one on repeats.
  const m = torch.full([6], -1, { dtype: "int64" });
  m.indexPut_([torch.tensor([4, 1], { dtype: "int64" })], torch.arange(0, 2, { dtype: "int64" }));
  assert.deepEqual(m.tolist(), [-1, 1, -1, -1, 0, -1]);
  // Gradients flow around the assigned places.
  const w = torch.ones([4], { requiresGrad: true });
  const y = w.mul(2);
  y.indexPut_([idx], 0);
  y.sum().backward();
  assert.deepEqual(w.grad!.tolist(), [0, 2, 0, 2]);
}));

test("gather, scatter, masks, where, nonzero, topk, sort, unique, bincount", () => torch.tidy(() => {
  const a = t([[1, 2], [3, 4]]);
  const idx = torch.tensor([[0, 0], [1, 0]], { dtype: "int64" });
  assert.deepEqual(a.gather(1, idx).tolist(), [[1, 1], [4, 3]]);
  assert.deepEqual(torch.zeros([2, 2]).scatter(1, idx, 5).tolist(), [[5, 0], [5, 5]]);
  assert.deepEqual(torch.zeros([3]).scatterAdd(0, torch.tensor([0, 0, 2], { dtype: "int64" }), t([1, 2, 3])).tolist(), [3, 0, 3]);
  assert.deepEqual(a.indexSelect(0, torch.tensor([1], { dtype: "int64" })).tolist(), [[3, 4]]);
  assert.deepEqual(a.maskedFill(a.gt(2), 0).tolist(), [[1, 2], [0, 0]]);
  assert.deepEqual(a.maskedSelect(a.gt(2)).tolist(), [3, 4]);
  assert.deepEqual(torch.where(a.gt(2), a, t(0)).tolist(), [[0, 0], [3, 4]]);
  assert.deepEqual(torch.where(a.gt(2), 1, 0).tolist(), [[0, 0], [1, 1]]);
  assert.deepEqual(torch.where(a.gt(2), a, -1).tolist(), [[-1, -1], [3, 4]]);
  assert.deepEqual(a.gt(2).nonzero().tolist(), [[1, 0], [1, 1]]);
  const { values, indices } = t([3, 1, 4, 1, 5]).topk(2);
  assert.deepEqual(values.tolist(), [5, 4]);
  assert.deepEqual(indices.tolist(), [4, 2]);
  assert.deepEqual(t([3, 1, 2]).sort().values.tolist(), [1, 2, 3]);
  assert.deepEqual(t([3, 1, 2]).sort(0, { descending: true }).indices.tolist(), [0, 2, 1]);
  assert.deepEqual(t([3, 1, 2]).argsort().tolist(), [1, 2, 0]);
  assert.deepEqual((t([3, 1, 3, 2]).unique() as torch.Tensor).tolist(), [1, 2, 3]);
  const [u, inverse, counts] = t([3, 1, 3]).unique({ returnInverse: true, returnCounts: true }) as torch.Tensor[];
  assert.deepEqual([u.tolist(), inverse.tolist(), counts.tolist()], [[1, 3], [1, 0, 1], [1, 2]]);
  assert.deepEqual(torch.tensor([0, 2, 2], { dtype: "int64" }).bincount().tolist(), [1, 0, 2]);
}));

test("autograd: backward, grad accumulation, detach, noGrad, autograd.grad", () => torch.tidy(() => {
  const x = t([1, 2, 3]).requiresGrad_();
  assert.ok(x.isLeaf && x.requiresGrad);
  const y = x.mul(x).sum();
  assert.equal(y.gradFn, "SumBackward0");
  y.backward();
  assert.deepEqual(x.grad!.tolist(), [2, 4, 6]);
  assert.equal(x.grad, x.grad, "the same gradient wrapper is returned while the gradient is unchanged");
  x.mul(2).sum().backward();
  assert.deepEqual(x.grad!.tolist(), [4, 6, 8], "gradients accumulate");
  x.grad = null;
  assert.equal(x.grad, null);
  const z = x.mul(3);
  z.backward(t([1, 0, 1]));
  assert.deepEqual(x.grad!.tolist(), [3, 0, 3]);
  const w = torch.noGrad(() => x.mul(2));
  assert.equal(w.requiresGrad, false);
  assert.equal(x.detach().requiresGrad, false);
  {
    using _guard = torch.noGradGuard();
    assert.equal(torch.isGradEnabled(), false);
  }
  assert.equal(torch.isGradEnabled(), true);
  const [g] = torch.autograd.grad(x.pow(3).sum(), x);
  assert.deepEqual(g!.tolist(), [3, 12, 27]);
  const h = x.mul(2);
  h.retainGrad();
  h.sum().backward();
  assert.deepEqual(h.grad!.tolist(), [1, 1, 1]);
  // Second derivative through createGraph.
  const s = t([2]).requiresGrad_();
  const [ds] = torch.autograd.grad(s.pow(3).sum(), s, { createGraph: true });
  const [dds] = torch.autograd.grad(ds!.sum(), s);
  assert.deepEqual(dds!.tolist(), [12]);
}));

test("toString prints like PyTorch", () => torch.tidy(() => {
  assert.equal(String(t([[1, 2], [3, 4]])), "tensor([[1., 2.],\n        [3., 4.]])");
  assert.equal(String(t([0.5, 1.25])), "tensor([0.5000, 1.2500])");
  assert.equal(String(torch.arange(3)), "tensor([0, 1, 2])");
  assert.equal(String(t([true, false])), "tensor([True, False])");
  assert.equal(String(t([1, 2], "float64")), "tensor([1., 2.], dtype=torch.float64)");
  assert.equal(String(t([1, 2]).requiresGrad_()), "tensor([1., 2.], requires_grad=True)");
  assert.equal(String(t(2.5)), "tensor(2.5000)");
  assert.equal(String(t([1e-5, 1, 1000])), "tensor([1.0000e-05, 1.0000e+00, 1.0000e+03])");
  assert.match(String(torch.arange(2000)), /^tensor\(\[   0,    1,    2, \.\.\., 1997, 1998, 1999\]\)$/);
}));

test("memory: tidy frees what it does not return; dispose and using free at once", () => {
  const before = settledTensors();
  const kept = torch.tidy(() => {
    const a = torch.ones([100]);
    const b = a.mul(2);
    torch.keep(a.add(1));
    return b.sum();
  });
  assert.equal(torch.memory().numTensors, before + 2, "the returned tensor and the kept one remain");
  kept.dispose();
  assert.equal(torch.memory().numTensors, before + 1);
  {
    using scoped = torch.zeros([10]);
    assert.equal(scoped.numel(), 10);
    assert.equal(torch.memory().numTensors, before + 2);
  }
  assert.equal(torch.memory().numTensors, before + 1);
  const nested = torch.tidy(() => torch.tidy(() => torch.ones([4])).add(1));
  assert.equal(torch.memory().numTensors, before + 2);
  nested.dispose();
  const bytes = torch.memory().numBytes;
  const big = torch.zeros([1000]);
  const view = big.reshape(10, 100);
  assert.equal(torch.memory().numBytes, bytes + 4000, "a view shares its storage and is not counted twice");
  torch.dispose([big, { v: view }]);
  assert.equal(torch.memory().numBytes, bytes);
  assert.equal(big.isDisposed, true);
  big.dispose(); // twice is fine
});
