// c10d over Gloo: two Node processes rendezvous on loopback and reduce.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { initProcessGroup } from "../src/distributed/index.js";
import { assertFlareError } from "./helpers.js";

const worker = fileURLToPath(new URL("./workers/allreduce_worker.js", import.meta.url));

function run(rank: number, port: number, nodeArgs: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, worker], {
      env: { ...process.env, MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), RANK: String(rank), WORLD_SIZE: "2" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`rank ${rank} timed out: ${err}`)); }, 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`rank ${rank} exited ${code}: ${err}`));
    });
  });
}

test("two ranks allreduce, broadcast and barrier over Gloo on loopback", async () => {
  assert.equal(torch.buildInfo().gloo, true, "built with Gloo");
  const port = 20000 + Math.floor(Math.random() * 20000);
  const [r0, r1] = await Promise.all([run(0, port), run(1, port)]);
  for (const out of [r0, r1]) {
    const result = JSON.parse(out);
    assert.deepEqual(result.sum, [3, 6, 9], "allreduce sums (1,2,3)*1 + (1,2,3)*2");
    assert.deepEqual(result.max, [2, 4, 6]);
    assert.deepEqual(result.broadcast, [10, 11], "broadcast from rank 1");
  }
});

test("the rendezvous survives a sampling profiler's signals (node --cpu-prof)", async () => {
  // V8's profiler interrupts the main thread with SIGPROF every interval; c10d's
  // TCPStore used to fail on the EINTR ("Interrupted system call").
  const dir = mkdtempSync(path.join(tmpdir(), "flare-prof-"));
  try {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const profile = (rank: number) => ["--cpu-prof", "--cpu-prof-interval", "20", "--cpu-prof-dir", dir, "--cpu-prof-name", `rank${rank}.cpuprofile`];
    const outs = await Promise.all([run(0, port, profile(0)), run(1, port, profile(1))]);
    for (const out of outs) assert.deepEqual(JSON.parse(out).sum, [3, 6, 9]);
    assert.deepEqual(readdirSync(dir).sort(), ["rank0.cpuprofile", "rank1.cpuprofile"], "both ranks ran under the profiler");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bad process-group settings are FlareErrors", () => {
  const saved = { ...process.env };
  delete process.env.MASTER_ADDR;
  try {
    assertFlareError(() => initProcessGroup({ masterPort: 1, rank: 0, worldSize: 1 }), /MASTER_ADDR is not set/);
    assertFlareError(() => initProcessGroup({ masterAddr: "127.0.0.1", masterPort: 1, rank: 2, worldSize: 2 }), /RANK 2 must be below WORLD_SIZE 2/);
    assertFlareError(() => initProcessGroup({ masterAddr: "127.0.0.1", masterPort: 1, rank: 0, worldSize: 1.5 }), /WORLD_SIZE must be an integer/);
  } finally {
    Object.assign(process.env, saved);
  }
});
