// The CPU memory cache (native/cpu_cache.cc): freed large blocks come back for the
// next tensor of their size class, the limit holds, and turning it off works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as torch from "../src/index.js";
import { FlareError } from "../src/index.js";

const MiB = 1 << 20;
const stats = () => torch.cpu.memoryStats() as Required<torch.CpuMemoryStats>;

test("a freed large tensor's block serves the next tensor of that size; small ones bypass the cache", () => {
  assert.equal(torch.cpu.memoryStats().enabled, true, "on by default");
  torch.cpu.emptyCache();
  const a = torch.ones([1000, 1000]);  // 4 MB
  const before = stats();
  a.dispose();
  const freed = stats();
  const block = freed.cachedBytes - before.cachedBytes;
  assert.ok(block >= 4e6 && block <= 4e6 * 1.0625, `the 4 MB block is kept, rounded up by at most 1/16: ${block}`);
  const b = torch.zeros([1000, 1000]);
  const after = stats();
  assert.equal(after.hits, freed.hits + 1, "served from the cache");
  assert.equal(after.cachedBytes, freed.cachedBytes - block, "and taken out of it");
  assert.equal(b.sum().item(), 0, "a reused block is written like a fresh one (zeros)");
  b.dispose();
  const small = stats();
  torch.ones([100]).dispose();
  assert.equal(stats().cachedBytes, small.cachedBytes, "400 bytes are not cached");
  assert.equal(stats().hits + stats().misses, small.hits + small.misses);
});

test("emptyCache() returns every cached block; setCacheLimit() bounds what stays and frees the excess now", () => {
  const xs = [1, 2, 3].map((k) => torch.empty([k * MiB], { dtype: "uint8" }));
  for (const x of xs) x.dispose();
  assert.ok(stats().cachedBytes >= 6 * MiB);
  const limit = stats().limitBytes;
  try {
    torch.cpu.setCacheLimit(2.5 * MiB);
    assert.ok(stats().cachedBytes <= 2.5 * MiB, `lowering the limit evicts: ${stats().cachedBytes}`);
    assert.ok(stats().evictions > 0);
    torch.empty([8 * MiB], { dtype: "uint8" }).dispose();
    assert.ok(stats().cachedBytes <= 2.5 * MiB, "a block over the limit is freed, not kept");
    torch.cpu.setCacheLimit(0);
    torch.empty([MiB], { dtype: "uint8" }).dispose();
    assert.equal(stats().cachedBytes, 0);
  } finally {
    torch.cpu.setCacheLimit(limit);
  }
  torch.empty([MiB], { dtype: "uint8" }).dispose();
  assert.ok(stats().cachedBytes > 0);
  torch.cpu.emptyCache();
  assert.equal(stats().cachedBytes, 0);
});

test("a training step's blocks are reused from the second step on", () => {
  const net = new torch.nn.Sequential(new torch.nn.Conv2d(3, 16, 3, { padding: 1 }), new torch.nn.ReLU(), new torch.nn.Conv2d(16, 4, 3, { padding: 1 }));
  const opt = new torch.optim.SGD(net.parameters(), { lr: 0.01 });
  const x = torch.rand([8, 3, 64, 64]);
  const step = () => torch.tidy(() => { opt.zeroGrad(); net.forward(x).square().mean().backward(); opt.step(); });
  step();
  const warm = stats();
  step(); step();
  const later = stats();
  assert.equal(later.misses, warm.misses, "no new system allocation after the first step");
  assert.ok(later.hits > warm.hits);
  net.dispose(); opt.dispose(); x.dispose();
});

test("setCacheLimit() checks its argument", () => {
  for (const bad of [-1, 1.5, Number.NaN, "1" as unknown as number]) {
    assert.throws(() => torch.cpu.setCacheLimit(bad), (e: unknown) => e instanceof FlareError && e.code === "E_ARGUMENT" && /setCacheLimit\(\): bytes/.test(e.message));
  }
});

test("FLARE_CPU_CACHE=0 keeps libtorch's own allocator; FLARE_CPU_CACHE_LIMIT_MB sets the limit", () => {
  const script = `import("${new URL("../src/index.js", import.meta.url).href}").then((t) => { const x = t.ones([1000, 1000]); x.dispose(); console.log(JSON.stringify(t.cpu.memoryStats())); })`;
  const run = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", env: { ...process.env, ...env } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim()) as torch.CpuMemoryStats;
  };
  assert.deepEqual(run({ FLARE_CPU_CACHE: "0" }), { enabled: false });
  const limited = run({ FLARE_CPU_CACHE_LIMIT_MB: "3" });
  assert.equal(limited.limitBytes, 3 * MiB);
  assert.equal(limited.cachedBytes, 0, "the 4 MB block is over a 3 MiB limit, so it was freed");
});

test("a FLARE_CPU_CACHE or FLARE_CPU_CACHE_LIMIT_MB the addon would not understand is a FlareError at import, not the default", () => {
  const script = `import("${new URL("../src/index.js", import.meta.url).href}").then(() => console.log("loaded"), (e) => { console.log(e.name + " " + e.code + ": " + e.message); })`;
  const run = (env: Record<string, string>) => spawnSync(process.execPath, ["-e", script], { encoding: "utf8", env: { ...process.env, ...env } }).stdout.trim();
  assert.match(run({ FLARE_CPU_CACHE: "off" }), /^FlareError E_ARGUMENT: FLARE_CPU_CACHE must be 0 .* or 1 .*, got "off"$/);
  for (const bad of ["-5", "1.5", "64MB", "", "99999999999"])
    assert.match(run({ FLARE_CPU_CACHE_LIMIT_MB: bad }), /^FlareError E_ARGUMENT: FLARE_CPU_CACHE_LIMIT_MB must be a whole number of MiB/, bad);
  assert.equal(run({ FLARE_CPU_CACHE: "1", FLARE_CPU_CACHE_LIMIT_MB: "0" }), "loaded");
});

test("small tensors' blocks are kept per thread by 64-byte class and reused; values stay right", async () => {
  torch.cpu.emptyCache();
  assert.equal(stats().smallCachedBytes, 0, "emptyCache() frees this thread's small blocks");
  torch.empty([10]).dispose();  // 40 bytes of float32: a 64-byte block
  assert.equal(stats().smallCachedBytes, 64);
  const y = torch.empty([100]);  // 400 bytes: a 448-byte block, not the 64-byte one
  assert.equal(stats().smallCachedBytes, 64);
  y.dispose();
  assert.equal(stats().smallCachedBytes, 64 + 448);
  const z = torch.empty([3]);  // takes the 64-byte block
  assert.equal(stats().smallCachedBytes, 448);
  z.fill_(2.5);
  assert.deepEqual(z.tolist(), [2.5, 2.5, 2.5], "a reused block holds the new values");
  z.dispose();
  // Many sizes across the boundary (4096 bytes), kept alive and freed out of order: none overwrites another.
  const sizes = Array.from({ length: 300 }, (_, i) => 1 + ((i * 37) % 1100));
  for (let round = 0; round < 3; round++) {
    const xs = sizes.map((n, i) => torch.full([n], i + round));
    for (let i = 0; i < xs.length; i += 2) xs[i].dispose();
    const more = sizes.map((n, i) => torch.full([n], -i));
    for (let i = 1; i < xs.length; i += 2) assert.ok(xs[i].eq(i + round).all().item(), `tensor ${i} of ${sizes[i]} floats kept its values`);
    more.forEach((m, i) => assert.ok(m.eq(-i).all().item()));
    torch.dispose([...xs.filter((_, i) => i % 2 === 1), ...more]);
  }
  assert.ok(stats().smallCachedBytes <= 16 * MiB, "bounded");
  // A worker thread makes and frees small tensors, then exits (its cache is freed with it).
  const { Worker } = await import("node:worker_threads");
  const code = `import * as torch from ${JSON.stringify(new URL("../src/index.js", import.meta.url).href)};
    for (let i = 0; i < 2000; i++) torch.ones([1 + (i % 900)]).add(1).dispose();
    const s = torch.cpu.memoryStats().smallCachedBytes;
    (await import("node:worker_threads")).parentPort.postMessage(s);`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
  let workerBytes: number | undefined;
  worker.on("message", (bytes: number) => { workerBytes = bytes; });
  // Its exit (and so its cache's release) comes before the main thread goes on.
  await new Promise<void>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("exit", (code) => (code === 0 && workerBytes !== undefined ? resolve() : reject(new Error(`worker exited with ${code} before reporting`))));
  });
  assert.ok(workerBytes! > 0, `the worker kept its own small blocks (${workerBytes} bytes)`);
  assert.equal(torch.ones([5]).add(1).sum().item(), 10, "the main thread goes on after the worker's exit");
});
