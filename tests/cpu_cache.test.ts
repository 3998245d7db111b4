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
