// Shared test helpers: fixture paths, closeness checks and the command line in a child process.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import * as torch from "../src/index.js";
import { Tensor, memory } from "../src/index.js";
import * as F from "../src/nn/functional.js";
import { load } from "../src/io/index.js";

/** The repository root (FLARE_ROOT overrides, for builds into another folder). */
export const ROOT = process.env.FLARE_ROOT ?? fileURLToPath(new URL("../..", import.meta.url));

/**
 * A committed fixture's path. Outputs of deep nets differ in the last bits between CPUs (oneDNN and
 * the BLAS pick kernels by instruction set), so fixtures made on another kind of machine sit in
 * tests/fixtures/kernels/<fingerprint>/ and are read first where this machine's kernels match them
 * (scripts/fixtures/kernels.py computes the same fingerprint in PyTorch).
 */
export function fixturePath(name: string): string {
  const variant = path.join(ROOT, "tests", "fixtures", "kernels", kernelFingerprint(), name);
  return existsSync(variant) ? variant : path.join(ROOT, "tests", "fixtures", name);
}

let fingerprint: string | undefined;
/** scripts/fixtures/kernels.py's fingerprint, computed by flare: which kernels this libtorch runs here. */
export function kernelFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  const values = (...shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return torch.tensor(Array.from({ length: n }, (_, i) => (((i * 7919) % 2048) - 1024) / 1024)).reshape(shape);
  };
  const hash = createHash("sha1");
  torch.tidy(() => {
    const x = values(2, 16, 12, 12), w = values(32, 16, 3, 3);
    const outs = [values(64, 96).matmul(values(96, 80)), F.conv2d(x, w, null, { padding: 1 }), F.conv2d(x, w, null, { stride: 2, dilation: 2 }),
      F.conv2d(x, values(32, 16, 1, 1)), F.linear(values(8, 200), values(50, 200))];
    for (const out of outs) {
      const data = out.contiguous().dataSync();
      hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  });
  return (fingerprint = hash.digest("hex").slice(0, 12));
}

/** The tensors of a committed golden fixture (tests/fixtures/NAME.safetensors). */
export function loadFixture(name: string): Map<string, Tensor> {
  return load(fixturePath(`${name}.safetensors`));
}

/** A getter over a loaded fixture that fails the test, naming the key, when the key is missing. */
export function fixtureGetter(fixture: Map<string, Tensor>): (key: string) => Tensor {
  return (key) => {
    const t = fixture.get(key);
    assert.ok(t, `fixture has no ${key}`);
    return t;
  };
}

/** Asserts |actual - expected| <= atol + rtol * |expected| element-wise, and equal shapes. */
export function assertClose(actual: Tensor, expected: Tensor, options: { rtol?: number; atol?: number; what?: string } = {}): void {
  const { rtol = 1e-5, atol = 1e-6, what = "tensor" } = options;
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape ${JSON.stringify(actual.shape)} != ${JSON.stringify(expected.shape)}`);
  const a = Array.from(actual.dataSync() as ArrayLike<number | bigint>, Number);
  const e = Array.from(expected.dataSync() as ArrayLike<number | bigint>, Number);
  let worst = 0, worstIndex = -1;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i] - e[i]) - (atol + rtol * Math.abs(e[i]));
    if (!(excess <= 0) && (worstIndex < 0 || excess > worst || Number.isNaN(excess))) { worst = excess; worstIndex = i; }
  }
  if (worstIndex >= 0) {
    assert.fail(`${what}: element ${worstIndex} is ${a[worstIndex]}, expected ${e[worstIndex]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Asserts that fn throws a FlareError whose message matches `pattern` (and code, if given). */
export function assertFlareError(fn: () => unknown, pattern: RegExp, code?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.equal((error as Error).name, "FlareError", `expected a FlareError, got ${String(error)}`);
    assert.match((error as Error).message, pattern);
    if (code) assert.equal((error as { code: string }).code, code);
    return true;
  });
}

v8.setFlagsFromString("--expose-gc");
/** A full, synchronous garbage collection (V8 collects lazily otherwise). */
export const collectGarbage = vm.runInNewContext("gc") as () => void;

/**
 * The live tensor count after a full collection, for a test's baseline: the GC
 * frees dropped tensors at any allocation (not only between tests), so garbage
 * left by earlier code must be gone before counts are compared. Later counts stay
 * plain torch.memory() reads, so a tensor that tidy()/dispose() should have freed
 * still shows.
 */
export function settledTensors(): number {
  collectGarbage();
  return memory().numTensors;
}

/**
 * The flare command line in a child process, with `env`: `flare(...args)` returns its stdout,
 * `flareFails(...args)` its stderr (failing the test if the command succeeds).
 */
export function flareCli(env: NodeJS.ProcessEnv = process.env, timeoutMs = 300_000): { flare: (...args: string[]) => string; flareFails: (...args: string[]) => string } {
  const cli = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));
  return {
    flare: (...args) => execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: timeoutMs, env }),
    flareFails: (...args) => {
      try { execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, env, stdio: "pipe" }); } catch (error) {
        return String((error as { stderr: string }).stderr);
      }
      assert.fail(`flare ${args.join(" ")} succeeded; expected an error`);
    },
  };
}

/** The last line of a --json run's output, parsed (as JSON.parse types it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const lastJson = (out: string): any => JSON.parse(out.trim().split("\n").pop()!);

/**
 * Writes CIFAR-10's binary layout under root/cifar (records of 1 label byte + 3072 pixel
 * bytes, label i % 10, every byte (i * 37) % 256): `perBatch` records in each of the five
 * training batches, `test` in the test batch. Returns root/cifar, what `--data cifar10` reads.
 */
export function writeTinyCifar(root: string, perBatch: number, test: number): string {
  const bin = path.join(root, "cifar", "cifar-10-batches-bin");
  mkdirSync(bin, { recursive: true });
  const records = (n: number) => Buffer.concat(Array.from({ length: n }, (_, i) => Buffer.concat([Buffer.from([i % 10]), Buffer.alloc(3072, (i * 37) % 256)])));
  for (let b = 1; b <= 5; b++) writeFileSync(path.join(bin, `data_batch_${b}.bin`), records(perBatch));
  writeFileSync(path.join(bin, "test_batch.bin"), records(test));
  writeFileSync(path.join(bin, "batches.meta.txt"), "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n");
  return path.join(root, "cifar");
}
