// Faults: a rank killed mid-training, a wrong master address, a port in use,
// a rank slow to join, a failing rank under flare launch, and two ranks in two
// network namespaces joined by a veth pair (needs root; skipped with the reason).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { runRanks, runRank, freePort, describeRuns, WORKER } from "./distributed_helpers.js";
import { launch } from "../src/distributed/launcher.js";

test("launch(): a misspelt option or a port past 65535 is a FlareError before any process starts", async () => {
  const command = [process.execPath, "-e", ""];
  await assert.rejects(launch({ nprocPerNode: 1, command, masterPorts: 1 } as never), { name: "FlareError", message: /unknown option "masterPorts"/ });
  await assert.rejects(launch({ nprocPerNode: 1, command, masterPort: 70_000 }), { name: "FlareError", message: /masterPort must be an integer ≥ 1 and ≤ 65535, got 70000/ });
});

test("launch(): OMP_NUM_THREADS already set is kept (as torchrun); threads overrides it", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flare-launch-threads-"));
  try {
    const out = path.join(dir, "threads");
    const command = [process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(out)}, process.env.OMP_NUM_THREADS)`];
    assert.equal((await launch({ nprocPerNode: 1, command, env: { OMP_NUM_THREADS: "3" } })).exitCode, 0);
    assert.equal(fs.readFileSync(out, "utf8"), "3");
    assert.equal((await launch({ nprocPerNode: 1, command, env: { OMP_NUM_THREADS: "3" }, threads: 2 })).exitCode, 0);
    assert.equal(fs.readFileSync(out, "utf8"), "2");
    await assert.rejects(launch({ nprocPerNode: 1, command, threads: 0 }), { name: "FlareError", message: /threads must be an integer ≥ 1/ });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const BIN = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));

test("a rank killed in the middle of training: the other fails at once with an error naming it", async () => {
  const results = await runRanks("die", { victim: 1, timeout: 10_000 }, 2, { deadline: 25_000 });
  assert.equal(results[1].signal, "SIGKILL", describeRuns(results));
  const r0 = results[0];
  assert.equal(r0.code, 1, describeRuns(results));
  assert.equal(r0.json?.name, "FlareError");
  assert.match(String(r0.json?.error), /rank 1 \(pid \d+\) is gone/, describeRuns(results));
  assert.ok((r0.json?.seconds as number) < 10, `failed within the timeout (${r0.json?.seconds} s)`);
});

test("a wrong master address or port: a clear error within the timeout", async () => {
  const port = await freePort();  // nobody listens there
  const r = await runRank(1, 2, port, ["join", JSON.stringify({ timeout: 2000 })], { deadline: 20_000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(String(r.json?.error), new RegExp(`rank 1 of 2 at 127\\.0\\.0\\.1:${port}: could not rendezvous within 2 s`));
  assert.ok(r.seconds < 15, `${r.seconds} s`);
  const bad = await runRank(1, 2, port, ["join", JSON.stringify({ timeout: 2000 })], { env: { MASTER_ADDR: "no-such-host.invalid" }, deadline: 20_000 });
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(String(bad.json?.error), /no-such-host\.invalid/);
});

test("a port in use: rank 0 says so", async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const r = await runRank(0, 2, port, ["join", JSON.stringify({ timeout: 2000 })], { deadline: 20_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(String(r.json?.error), new RegExp(`port ${port} is in use`));
    assert.equal(r.json?.code, "E_IO");
  } finally {
    server.close();
  }
});

test("a rank slow to join: the others wait for it within the timeout, and fail clearly after it", async () => {
  const port = await freePort();
  const [a, b] = await Promise.all([
    runRank(0, 2, port, ["join", JSON.stringify({ timeout: 8000 })]),
    runRank(1, 2, port, ["join", JSON.stringify({ timeout: 8000 })], { delay: 1500 }),
  ]);
  assert.deepEqual([a.json?.ok, b.json?.ok], [true, true], describeRuns([a, b]));
  const alone = await runRank(0, 2, await freePort(), ["join", JSON.stringify({ timeout: 1500 })], { deadline: 20_000 });
  assert.equal(alone.code, 1, alone.stdout + alone.stderr);
  assert.match(String(alone.json?.error), /rank 0 of 2 .*could not rendezvous within 1\.5 s.*Did every rank join/);
});

test("flare launch: torchrun's environment for each rank; a failing rank stops the others and is named in the exit", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flare-launch-"));
  try {
    const script = path.join(dir, "w.cjs");
    fs.writeFileSync(script, `
const e = process.env;
console.log(JSON.stringify({ rank: e.RANK, local: e.LOCAL_RANK, world: e.WORLD_SIZE, localWorld: e.LOCAL_WORLD_SIZE, addr: e.MASTER_ADDR, port: e.MASTER_PORT, omp: e.OMP_NUM_THREADS, args: process.argv.slice(2) }));
if (process.argv[2] === "fail" && e.RANK === "1") { console.error("rank 1: giving up"); process.exit(3); }
if (process.argv[2] === "fail") setTimeout(() => {}, 60000);
`);
    const ok = spawnSync(process.execPath, [BIN, "launch", "--nproc-per-node", "2", "--master-port", "29999", "--", "node", script, "x"], { encoding: "utf8", timeout: 20_000 });
    assert.equal(ok.status, 0, ok.stderr);
    const rows = ok.stdout.trim().split("\n").map((l) => JSON.parse(l)).sort((p, q) => p.rank - q.rank);
    const omp = String(Math.max(1, Math.floor(os.availableParallelism() / 2)));
    assert.deepEqual(rows, [0, 1].map((r) => ({ rank: String(r), local: String(r), world: "2", localWorld: "2", addr: "127.0.0.1", port: "29999", omp, args: ["x"] })));
    const started = Date.now();
    const bad = spawnSync(process.execPath, [BIN, "launch", "--nproc-per-node", "2", "--", "node", script, "fail"], { encoding: "utf8", timeout: 20_000 });
    assert.equal(bad.status, 3, `the failed rank's exit code: ${bad.stderr}`);
    assert.match(bad.stderr + bad.stdout, /rank 1 \(local rank 1, pid \d+\) exited with code 3: rank 1: giving up/);
    assert.ok(Date.now() - started < 15_000, "rank 0 (waiting 60 s) was stopped");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("flare launch forwards SIGINT to every rank and exits 130", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flare-launch-"));
  try {
    const script = path.join(dir, "s.cjs");
    fs.writeFileSync(script, `process.on("SIGINT", () => { console.log("got SIGINT " + process.env.RANK); process.exit(0); });
console.log("ready " + process.env.RANK); setTimeout(() => {}, 60000);`);
    const child = spawn(process.execPath, [BIN, "launch", "--nproc-per-node", "2", "--", "node", script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on("data", (d) => {
        out += d;
        if ((out.match(/ready/g) ?? []).length === 2 && !out.includes("sent")) { out += "sent\n"; child.kill("SIGINT"); }
      });
      child.on("exit", (c) => resolve(c));
      setTimeout(() => child.kill("SIGKILL"), 20_000);
    });
    assert.equal(code, 130, out);
    assert.match(out, /got SIGINT 0/);
    assert.match(out, /got SIGINT 1/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Two network namespaces joined by a veth pair, or why they can't be made here. */
function makeNamespaces(tag: string): { ok: true; cleanup: () => void } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: "not root (ip netns needs CAP_SYS_ADMIN and CAP_NET_ADMIN)" };
  const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });
  const [a, b] = [`flare${tag}a`, `flare${tag}b`];
  const cleanup = () => { for (const ns of [a, b]) spawnSync("ip", ["netns", "del", ns]); };
  try {
    ip("netns", "add", a);
    ip("netns", "add", b);
    ip("link", "add", `v${tag}a`, "type", "veth", "peer", "name", `v${tag}b`);
    ip("link", "set", `v${tag}a`, "netns", a);
    ip("link", "set", `v${tag}b`, "netns", b);
    ip("-n", a, "addr", "add", "10.77.0.1/24", "dev", `v${tag}a`);
    ip("-n", b, "addr", "add", "10.77.0.2/24", "dev", `v${tag}b`);
    for (const [ns, dev] of [[a, `v${tag}a`], [b, `v${tag}b`]]) { ip("-n", ns, "link", "set", dev, "up"); ip("-n", ns, "link", "set", "lo", "up"); }
    return { ok: true, cleanup };
  } catch (error) {
    cleanup();
    return { ok: false, reason: `ip netns failed: ${String((error as { stderr?: Buffer }).stderr ?? error).trim().split("\n")[0]}` };
  }
}

test("across hosts: two ranks in two network namespaces joined by a veth pair train with DDP over that link", async (t) => {
  const tag = String(process.pid % 10000);
  const made = makeNamespaces(tag);
  if (!made.ok) {
    console.log(`# skipped: two network namespaces can't be made here: ${made.reason}`);
    t.skip(`network namespaces unavailable: ${made.reason}`);
    return;
  }
  try {
    const opts = JSON.stringify({ batch: 4, steps: 2 });
    const results = await Promise.all([0, 1].map((r) => runRank(r, 2, 29517, ["steps", opts], {
      command: ["ip", "netns", "exec", `flare${tag}${r === 0 ? "a" : "b"}`, process.execPath, WORKER],
      env: { MASTER_ADDR: "10.77.0.1", GLOO_SOCKET_IFNAME: `v${tag}${r === 0 ? "a" : "b"}` }, deadline: 30_000,
    })));
    for (const r of results) assert.equal(r.code, 0, describeRuns(results));
    assert.deepEqual(results[0].json!.params, results[1].json!.params, "identical replicas after allreducing over the veth link");
  } finally {
    made.cleanup();
  }
});
