// Issue 10, the native half: thread counts bounded, tensors used from the thread
// that released them, the raw native object given wrong arguments, complex
// tensors, allocations libtorch cannot satisfy, and safetensors headers checked
// before anything is allocated. Whatever could crash runs in a child process,
// so a crash fails the test instead of killing the runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { assertFlareError, collectGarbage, settledTensors } from "./helpers.js";
import { native } from "../src/tensor/native.js";
import { safetensors } from "../src/io/index.js";

const index = new URL("../src/index.js", import.meta.url).href;
const nativeUrl = new URL("../src/tensor/native.js", import.meta.url).href;

/** Runs an ES module body in a fresh node (ulimit -v caps its address space); returns its exit and output. */
function child(body: string, { vmGiB = 8, timeout = 60_000 } = {}): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const source = `import * as torch from ${JSON.stringify(index)};\nimport { native } from ${JSON.stringify(nativeUrl)};\n${body}`;
  const result = spawnSync("bash", ["-c", `ulimit -v ${vmGiB * 1024 * 1024}; exec "$0" --input-type=module -e "$1"`, process.execPath, source], { encoding: "utf8", timeout });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** helpers.ts's assertFlareError, with the code first (as this file's calls read). */
const assertFlare = (fn: () => unknown, code: string, pattern: RegExp): void => assertFlareError(fn, pattern, code);

test("setNumThreads: above the documented limit (4 × hardware threads, at most 256) is a FlareError, below it works", () => {
  const limit = torch.maxNumThreads();
  assert.ok(limit >= 4 && limit <= 256, `limit ${limit}`);
  const before = torch.getNumThreads();
  try {
    assertFlare(() => torch.setNumThreads(2048), "E_ARGUMENT", /2048 threads is above the limit of \d+/);
    assertFlare(() => torch.setNumThreads(limit + 1), "E_ARGUMENT", /above the limit/);
    assertFlare(() => torch.setNumThreads(1e9), "E_ARGUMENT", /above the limit/);
    assertFlare(() => torch.setNumThreads(1.5), "E_ARGUMENT", /positive integer/);
    assertFlare(() => torch.setNumThreads("4" as never), "E_ARGUMENT", /positive integer, got string/);
    // The raw binding holds the same bound (a caller of `native` cannot stall every op either).
    assertFlare(() => native.setNumThreads(2048), "E_ARGUMENT", /above the limit/);
    torch.setNumThreads(1);
    assert.equal(torch.getNumThreads(), 1);
    torch.setNumThreads(2);
    assert.equal(torch.getNumThreads(), 2);
  } finally {
    torch.setNumThreads(before);
  }
});

test("setNumInteropThreads: bounded, once before parallel work; a second call is an E_STATE FlareError", () => {
  const out = child(`
    const { FlareError } = torch;
    const codeOf = (fn) => { try { fn(); return "ok"; } catch (e) { return e instanceof FlareError ? e.code + ": " + e.message : "OTHER " + e; } };
    console.log(JSON.stringify({
      huge: codeOf(() => torch.setNumInteropThreads(2048)),
      zero: codeOf(() => torch.setNumInteropThreads(0)),
      first: codeOf(() => torch.setNumInteropThreads(2)),
      got: torch.getNumInteropThreads(),
      second: codeOf(() => torch.setNumInteropThreads(3)),
    }));`);
  assert.equal(out.status, 0, out.stderr);
  const r = JSON.parse(out.stdout);
  assert.match(r.huge, /^E_ARGUMENT: .*2048 threads is above the limit/);
  assert.match(r.zero, /^E_ARGUMENT: .*positive integer/);
  assert.equal(r.first, "ok");
  assert.equal(r.got, 2);
  assert.match(r.second, /^E_STATE: .*already started/);
});

test("a tensor released to a worker thread: using it on the giving thread is a FlareError, while the worker computes with it", () => {
  // Before: t.setData() here while the worker ran matmuls on t segfaulted inside OpenBLAS.
  const out = child(`
    import { Worker } from "node:worker_threads";
    const url = ${JSON.stringify(index)};
    const worker = new Worker(\`
      const { parentPort } = require("node:worker_threads");
      import(\${JSON.stringify(url)}).then((torch) => {
        parentPort.on("message", (h) => {
          const t = torch.adopt(h);
          parentPort.postMessage("adopted");
          let sum = 0;
          for (let i = 0; i < 200; i++) torch.tidy(() => { sum += t.matmul(t).sum().item(); });
          t.dispose();
          const back = torch.tensor([sum]);
          parentPort.postMessage({ back: back.release() });
        });
        parentPort.postMessage("ready");
      });\`, { eval: true, execArgv: [] });
    const inbox = [];
    let wake = null;
    worker.on("message", (m) => { inbox.push(m); if (wake) { wake(); wake = null; } });
    const next = async () => { while (!inbox.length) await new Promise((r) => (wake = r)); return inbox.shift(); };
    await next();
    const t = torch.randn([128, 128]);
    const h = t.release();
    worker.postMessage(h);
    await next();
    const tries = {
      add: () => t.add(1), setData: () => t.setData(torch.zeros([128, 128])), shape: () => t.shape, data: () => t.dataSync(),
      rawDispose: () => native.dispose(h), adoptHere: () => torch.adopt(h), releaseAgain: () => t.release(),
    };
    const results = {};
    for (let round = 0; round < 20; round++)
      for (const [name, fn] of Object.entries(tries)) {
        try { fn(); results[name] = "ok"; } catch (e) { results[name] = e instanceof torch.FlareError ? e.code + ": " + e.message : "OTHER " + e; }
      }
    results.isDisposed = t.isDisposed;
    t.dispose();  // a released wrapper's dispose() is a no-op
    const { back } = await next();
    const b = torch.adopt(back);
    results.workerSum = Number.isFinite(b.item());
    b.dispose();
    await worker.terminate();
    console.log(JSON.stringify(results));`);
  assert.equal(out.status, 0, `exit ${out.status} ${out.signal}: ${out.stderr.slice(-2000)}`);
  const r = JSON.parse(out.stdout);
  for (const name of ["add", "setData", "shape", "data", "rawDispose", "releaseAgain"])
    assert.match(r[name], /^E_DISPOSED: .*transferred to another thread/, name);
  assert.match(r.adoptHere, /^E_DISPOSED: adopt\(\): the tensor is owned by another thread/);
  assert.equal(r.isDisposed, false);
  assert.equal(r.workerSum, true);
});

test("the raw native object: every function with wrong argument counts and types gives a FlareError, never a crash", () => {
  const out = child(`
    const { FlareError } = torch;
    const live = () => torch.randn([2, 3]).handle;
    const values = [undefined, null, 0, -1, 1.5, NaN, 2 ** 60, "x", "", {}, [], [2, 3], [-2, 3], true, 12n, Symbol("s"),
      new Uint8Array(12), new Float32Array(6), new Proxy([1, 2], { get() { throw new Error("hostile"); } })];
    const skip = new Set(["newGroup"]);  // opens a TCP rendezvous (its own tests cover it)
    const counts = { ok: 0, flare: 0 };
    const others = [];
    for (const name of Object.keys(native).sort()) {
      if (skip.has(name) || typeof native[name] !== "function") continue;
      const argLists = [[], ...values.map((v) => [v]), ...values.map((v) => [live(), v]), ...values.map((v) => [v, v, v, v, v, v, v, v]), [live(), live(), live(), live(), live()]];
      for (const args of argLists) {
        try { native[name](...args); counts.ok++; }
        catch (e) { if (e instanceof FlareError) counts.flare++; else others.push(name + ": " + String(e).slice(0, 120)); }
        native.setGradEnabled(true);
        if (torch.getNumThreads() > 4) torch.setNumThreads(2);
      }
    }
    console.log(JSON.stringify({ counts, others }));`, { timeout: 120_000 });
  assert.equal(out.status, 0, `exit ${out.status} ${out.signal}: ${out.stderr.slice(-2000)}`);
  const r = JSON.parse(out.stdout.trim().split("\n").pop()!);
  assert.deepEqual(r.others, []);
  assert.ok(r.counts.flare > 1000, JSON.stringify(r.counts));
});

test("complex tensors from libtorch: dtype complex64 / complex128; reading them is a FlareError naming the dtype", () => {
  const pairs = torch.tensor([[1, 2], [3, 4]]);
  const z = new torch.Tensor(torch.native.call(torch.native.op("aten::view_as_complex"), pairs.handle) as never);
  try {
    assert.equal(z.dtype, "complex64");
    assert.deepEqual(z.shape, [2]);
    assertFlare(() => z.dataSync(), "E_DTYPE", /dtype complex64, which JS cannot hold; read torch.viewAsReal/);
    assertFlare(() => z.index(0).item(), "E_DTYPE", /complex64/);
    assertFlare(() => safetensors.serialize({ z }), "E_DTYPE", /complex64/);
    const abs = z.abs();
    assert.deepEqual(Array.from(abs.dataSync() as Float32Array).map((v) => Number(v.toFixed(4))), [2.2361, 5]);
    abs.dispose();
    // .to() takes only the real dtypes, so complex128 comes from float64 pairs.
    assertFlare(() => z.to("complex128" as never), "E_DTYPE", /unknown dtype 'complex128'/);
    const pairs64 = torch.tensor([[1, 2], [3, 4]], { dtype: "float64" });
    const z128 = new torch.Tensor(torch.native.call(torch.native.op("aten::view_as_complex"), pairs64.handle) as never);
    assert.equal(z128.dtype, "complex128");
    assertFlare(() => z128.dataSync(), "E_DTYPE", /complex128/);
    z128.dispose();
    pairs64.dispose();
  } finally {
    z.dispose();
    pairs.dispose();
  }
});

test("an allocation libtorch cannot satisfy is an E_OUT_OF_MEMORY FlareError naming the op, shape and bytes, not an abort", () => {
  const out = child(`
    const tries = {
      zeros: () => torch.zeros([1e12]),
      empty: () => torch.empty([2 ** 40]),
      ones2d: () => torch.ones([1e6, 1e6]),
      overflow: () => torch.zeros([2 ** 40, 2 ** 40]),
      fromTypedArray: () => torch.fromTypedArray(new Float32Array(4), [1e6, 1e6]),
      // A view of 8 GiB costs nothing, but no JS array can hold its values (V8 would abort).
      dataOfHugeView: () => torch.zeros([1]).expand([2 ** 31]).dataSync(),
    };
    const results = {};
    for (const [name, fn] of Object.entries(tries)) {
      try { fn(); results[name] = "ok"; } catch (e) { results[name] = e instanceof torch.FlareError ? e.code + ": " + e.message : "OTHER " + e; }
    }
    // Still working afterwards.
    results.after = torch.ones([3]).sum().item();
    console.log(JSON.stringify(results));`, { vmGiB: 6 });
  assert.equal(out.status, 0, `exit ${out.status} ${out.signal}: ${out.stderr.slice(-2000)}`);
  const r = JSON.parse(out.stdout);
  assert.match(r.zeros, /^E_OUT_OF_MEMORY: out of memory: aten::zeros of size \[1000000000000\].* needs 4000000000000 bytes \(3\.6 TiB\)/);
  assert.match(r.empty, /^E_OUT_OF_MEMORY: out of memory: aten::empty.* of size \[1099511627776\].* needs 4398046511104 bytes/);
  assert.match(r.ones2d, /^E_OUT_OF_MEMORY: .*size \[1000000, 1000000\].*needs 4000000000000 bytes/);
  assert.match(r.overflow, /^E_(OUT_OF_MEMORY|ARGUMENT|SHAPE): /);
  assert.match(r.fromTypedArray, /^E_SHAPE: data has 16 bytes but shape \[1000000, 1000000\]/);
  assert.match(r.dataOfHugeView, /^E_OUT_OF_MEMORY: data\(\): the tensor of shape \[2147483648\] has 8589934592 bytes \(8\.0 GiB\), more than the 4 GiB/);
  assert.equal(r.after, 3);
});

test("safetensors: a header claiming 10^15 elements in a tiny file is refused from the header, allocating nothing", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-robust-native-"));
  try {
    const file = path.join(dir, "huge.safetensors");
    const header = Buffer.from(JSON.stringify({ w: { dtype: "F32", shape: [1e15], data_offsets: [0, 4e15] } }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(file, Buffer.concat([length, header, Buffer.alloc(16)] as unknown as Uint8Array[]));
    collectGarbage();  // earlier tests' dropped tensors must not be freed (by their finalizers) during the count
    const before = torch.memory().numBytes;
    assertFlare(() => safetensors.loadFile(file), "E_FORMAT", /tensor 'w' data \[0, 4000000000000000\) lies outside the 16 data bytes/);
    assertFlare(() => safetensors.readHeader(file), "E_FORMAT", /lies outside the 16 data bytes/);
    assertFlare(() => torch.load(file), "E_FORMAT", /lies outside/);
    assert.equal(torch.memory().numBytes, before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("safetensors: shapes that do not fit the model are refused from the header (loadFile / torch.load { shapes })", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-robust-native-"));
  const model = new torch.nn.Linear(3, 2);
  try {
    const file = path.join(dir, "w.safetensors");
    const big = { weight: torch.zeros([64, 3]), bias: torch.zeros([64]) };
    safetensors.saveFile(big, file);
    torch.dispose(Object.values(big));
    const header = safetensors.readHeader(file);
    assert.deepEqual([...header.tensors.keys()].sort(), ["bias", "weight"]);
    assert.deepEqual(header.tensors.get("weight")!.shape, [64, 3]);
    const shapes = new Map([...model.stateDict()].map(([k, v]) => [k, v.shape]));
    const live = settledTensors();
    assertFlare(() => torch.load(file, { shapes }), "E_SHAPE",
      /checked from the header, before loading\): size mismatch for weight: the file has shape \[64, 3\], expected \[2, 3\]; size mismatch for bias/);
    assert.equal(torch.memory().numTensors, live, "no tensor was made");
    assertFlare(() => safetensors.loadFile(file, { bogus: 1 } as never), "E_ARGUMENT", /unknown option "bogus"/);
    // readHeader's and deserialize's options too: a misspelt key is refused, not ignored.
    assertFlare(() => safetensors.readHeader(file, { maxbytes: 1 } as never), "E_ARGUMENT", /readHeader\(\): unknown option "maxbytes" \(did you mean "maxBytes"\?\)/);
    assertFlare(() => safetensors.deserialize(readFileSync(file), file, { shape: {} } as never), "E_ARGUMENT", /deserialize\(\): unknown option "shape" \(did you mean "shapes"\?\)/);
    // Matching shapes load as before.
    const ok = torch.load(file, { shapes: { weight: [64, 3], bias: [64] } });
    assert.deepEqual(ok.get("weight")!.shape, [64, 3]);
    torch.dispose([...ok.values()]);
  } finally {
    model.dispose?.();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("libtorch's plain C++ errors get the right codes: view(4, -1) of 6 elements is E_SHAPE; integers beyond ±2^62 are E_ARGUMENT", () => {
  const x = torch.arange(0, 6);
  try {
    assertFlare(() => x.view(4, -1), "E_SHAPE", /shape '\[4, -1\]' is invalid for input of size 6/);
    assertFlare(() => x.view(-1, -1), "E_SHAPE", /only one dimension can be inferred/);
    // Before: libtorch's internal "Expected !is_symbolic() to be true" (the cast to int64 was undefined).
    assertFlare(() => x.index(`${2 ** 62}:`), "E_ARGUMENT", /argument 'start' of aten::slice\.Tensor must be an integer within ±2\^62/);
    assertFlare(() => x.index(`:-${2 ** 63}`), "E_ARGUMENT", /within ±2\^62/);
    assertFlare(() => x.index(2 ** 70), "E_ARGUMENT", /argument 'index' of aten::select\.int must be an integer within ±2\^62/);
    const empty = x.index(`${2 ** 61}:`);  // within range: Python's empty slice
    assert.deepEqual(empty.shape, [0]);
    empty.dispose();
  } finally {
    x.dispose();
  }
});
