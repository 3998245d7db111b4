// Bad input never crashes the process: every case below must raise a FlareError
// with a message that says what is wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { assertFlareError } from "./helpers.js";

test("libtorch errors arrive as FlareError with libtorch's plain message and no C++ backtrace", () => torch.tidy(() => {
  assertFlareError(() => torch.ones([2, 3]).matmul(torch.ones([4, 5])), /^mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)$/, "E_TORCH");
  assertFlareError(() => torch.ones([2]).add(torch.ones([5])), /The size of tensor a \(2\) must match the size of tensor b \(5\) at non-singleton dimension 0/);
  assertFlareError(() => torch.ones([2, 3]).reshape(4, 2), /shape '\[4, 2\]' is invalid for input of size 6/);
  assertFlareError(() => torch.ones([2]).view(3), /invalid for input of size 2/);
  assertFlareError(() => torch.ones([2, 2]).index(5), /index 5 out of range for tensor of size \[2, 2\] at dimension 0/, "E_INDEX");
  assertFlareError(() => torch.ones([2]).sum(3), /Dimension out of range/, "E_INDEX");
  try {
    torch.ones([2, 3]).matmul(torch.ones([4, 5]));
  } catch (error) {
    assert.doesNotMatch((error as Error).message, /Exception raised from|frame #|\.cpp/);
    assert.ok(error instanceof torch.FlareError);
  }
}));

for (const [i, [fn, pattern, code]] of ([
  [() => torch.zeros([2, 1.5]), /shape\[1\] must be a non-negative integer, got 1.5/],
  [() => torch.zeros([2, -1]), /shape\[1\] must be a non-negative integer, got -1/],
  [() => torch.zeros("3" as never), /shape must be an array of sizes/],
  [() => torch.ones([4]).reshape(2, 2.5), /argument 'shape' of aten::reshape must be an array of integers/],
  [() => torch.ones([4]).sum(0.5), /argument 'dim' of aten::sum\.dim_IntList must be an array of integers, got 0\.5/],
  [() => torch.ones([4]).add("x" as never), /argument 'other' of aten::add.Scalar must be a number, got x/],
  [() => torch.ones([4]).matmul({} as never), /matmul\(\): other must be a Tensor/],
  [() => torch.cat([torch.ones([1]), 3 as never]), /cat\(\): tensors\[1\] must be a Tensor/],
  [() => torch.tensor([[1, 2], [3]]), /ragged nested array/, "E_SHAPE"],
  [() => torch.tensor(["a"]), /elements must be numbers or booleans/],
  [() => torch.ones([2]).index("1:2:0"), /slice step must be positive/, "E_INDEX"],
  [() => torch.ones([2]).index(0, 0), /too many indices/, "E_INDEX"],
  [() => torch.fromTypedArray(new Float32Array(3), [2, 2]), /data has 12 bytes but shape \[2, 2\] of float32 needs 16/, "E_SHAPE"],
  [() => torch.arange(0, 1, 0), /step must be nonzero/],
  [() => torch.tidy(async () => 1 as never), /tidy\(\) needs a synchronous function/],
] as [() => unknown, RegExp, string?][]).entries()) {
  test(`bad arguments from JavaScript #${i + 1}: ${pattern.source.slice(0, 60)}`, () => torch.tidy(() => assertFlareError(fn, pattern, code)));
}

for (const [i, [fn, pattern, code]] of ([
  [() => torch.zeros([2], { dtype: "float8" as never }), /unknown dtype 'float8'/],
  [() => torch.tensor([1], { dtype: "complex64" as never }), /dtype must be one of/, "E_DTYPE"],
  // Without CUDA only (where it is there, the copy works).
  ...(torch.cuda.isAvailable() ? [] : [[() => torch.ones([2]).to("cuda:0"), /^the CUDA backend is not available in this libtorch \(aten::empty_strided has no CUDA kernel here\); torch\.cuda\.isAvailable\(\) is false/, "E_DEVICE"]]),
  [() => torch.ones([2]).to({ device: "tpu" }), /unknown device 'tpu'/],
  [() => torch.ones([2], { dtype: "int64" }).bitwiseAnd(torch.ones([2])), /"bitwise_and_cpu" not implemented for 'Float'/, "E_TORCH"],
  [() => torch.ones([2, 2], { dtype: "int64" }).mean(), /mean\(\): could not infer output dtype\. Input dtype must be either a floating point or complex dtype\. Got: Long/, "E_TORCH"],
] as [() => unknown, RegExp, string?][]).entries()) {
  test(`dtypes and devices #${i + 1}: ${pattern.source.slice(0, 60)}`, () => torch.tidy(() => assertFlareError(fn, pattern, code)));
}

test("a disposed tensor cannot be used, by ops or by metadata", () => {
  const a = torch.ones([2]);
  a.dispose();
  assertFlareError(() => a.add(1), /argument 'self' of aten::add.Scalar was disposed/, "E_DISPOSED");
  assertFlareError(() => torch.ones([2]).add(a), /argument 'other' of aten::add.Tensor was disposed/, "E_DISPOSED");
  assertFlareError(() => a.shape, /was disposed/, "E_DISPOSED");
  assertFlareError(() => a.dataSync(), /was disposed/, "E_DISPOSED");
  assertFlareError(() => torch.cat([torch.ones([1]), a]), /was disposed/, "E_DISPOSED");
  // A new tensor that reuses the freed slot does not revive the old handle.
  const b = torch.zeros([2]);
  assertFlareError(() => a.sum(), /was disposed/, "E_DISPOSED");
  b.dispose();
});

test("autograd misuse", () => torch.tidy(() => {
  assertFlareError(() => torch.ones([2]).sum().backward(), /does not require grad/);
  const x = torch.ones([2]).requiresGrad_();
  assertFlareError(() => x.mul(2).backward(), /grad can be implicitly created only for scalar outputs/);
  const y = x.exp().sum();
  y.backward(null, { retainGraph: false });
  assertFlareError(() => y.backward(), /Trying to backward through the graph a second time/);
  assertFlareError(() => torch.ones([2], { dtype: "int64" }).requiresGrad_(), /Only Tensors of floating point/);
}));

test("safetensors: a truncated file, a bad header and a missing file are FlareErrors naming the file", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-"));
  const good = path.join(dir, "good.safetensors");
  torch.tidy(() => torch.save({ w: torch.ones([4, 4]) }, good));
  const bytes = readFileSync(good);
  const truncated = path.join(dir, "truncated.safetensors");
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 10));
  assertFlareError(() => torch.load(truncated), /truncated\.safetensors: not a valid safetensors file: tensor 'w' data \[0, 64\) lies outside/, "E_FORMAT");
  const short = path.join(dir, "short.safetensors");
  writeFileSync(short, bytes.subarray(0, 5));
  assertFlareError(() => torch.load(short), /short\.safetensors: .*fewer than the 8-byte header length/, "E_FORMAT");
  const huge = Buffer.from(bytes);
  huge.writeBigUInt64LE(10n ** 12n);
  const hugePath = path.join(dir, "huge.safetensors");
  writeFileSync(hugePath, huge);
  assertFlareError(() => torch.load(hugePath), /header length .* runs past the end of the file/, "E_FORMAT");
  const notJson = Buffer.from(bytes);
  notJson[9] = 0x7b; notJson[10] = 0x7b;
  const notJsonPath = path.join(dir, "notjson.safetensors");
  writeFileSync(notJsonPath, notJson);
  assertFlareError(() => torch.load(notJsonPath), /the header is not JSON/, "E_FORMAT");
  assertFlareError(() => torch.load(path.join(dir, "missing.safetensors")), /could not read .*missing\.safetensors: no such file/, "E_IO");
  assertFlareError(() => torch.save({ w: torch.ones([1]) }, path.join(dir, "no-such-dir", "x.safetensors")), /could not write/, "E_IO");
});

test("runtime settings: bad values are FlareErrors, and a libtorch check in any binding cannot abort the process", () => {
  assertFlareError(() => torch.manualSeed("x" as never), /manualSeed\(\): seed must be a non-negative integer, got x/);
  assertFlareError(() => torch.manualSeed(1.5), /seed must be a non-negative integer/);
  assertFlareError(() => torch.setNumThreads(0), /setNumThreads\(\): n must be a positive integer, got 0/);
  // Straight to the addon, past the JS checks: libtorch's own check becomes a FlareError.
  assertFlareError(() => torch.native.setNumThreads(-1), /Expected positive number of threads/, "E_TORCH");
});
