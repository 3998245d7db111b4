// `flare train classify --nproc 2` and `flare launch -- flare train classify`:
// the run trains through DDP, only rank 0 prints and writes the run folder,
// and the result is close to the single-process run (not equal: resnet18-small's
// batch norm sees each rank's half of the batch).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));
const TRAIN = ["train", "classify", "--data", "fashion-mnist", "--width", "4", "--epochs", "1", "--limit", "128", "--batch-size", "32", "--json"];

function flare(args: string[]): { status: number | null; done: Record<string, number>[]; stderr: string } {
  const out = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, OMP_NUM_THREADS: "1" } });
  const done = out.stdout.split("\n").filter((l) => l.includes('"event":"done"')).map((l) => JSON.parse(l));
  return { status: out.status, done, stderr: out.stderr };
}

test("flare train classify --nproc 2 and flare launch -- flare train classify train through DDP like one process", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flare-ddp-cli-"));
  try {
    const one = flare([...TRAIN, "--runs-dir", dir, "--name", "one"]);
    assert.equal(one.status, 0, one.stderr);
    const two = flare([...TRAIN, "--runs-dir", dir, "--name", "two", "--nproc", "2"]);
    assert.equal(two.status, 0, two.stderr);
    const launched = flare(["launch", "--nproc-per-node", "2", "--", "flare", ...TRAIN, "--runs-dir", dir, "--name", "launched"]);
    assert.equal(launched.status, 0, launched.stderr);
    assert.equal(two.done.length, 1, "only rank 0 reports");
    assert.equal(launched.done.length, 1, "only rank 0 reports");
    assert.deepEqual(two.done[0].val_loss, launched.done[0].val_loss, "--nproc 2 is flare launch --nproc-per-node 2");
    assert.ok(Math.abs(two.done[0].val_loss - one.done[0].val_loss) < 0.05, `val_loss ${two.done[0].val_loss} vs ${one.done[0].val_loss} in one process`);
    for (const name of ["two", "launched"]) {
      const rows = fs.readFileSync(path.join(dir, name, "metrics.jsonl"), "utf8").trim().split("\n");
      assert.equal(rows.length, 1, "one epoch, one row: rank 1 wrote nothing");
      assert.ok(fs.existsSync(path.join(dir, name, "checkpoints", "last.safetensors")));
    }
    const bad = flare([...TRAIN, "--runs-dir", dir, "--name", "bad", "--nproc", "0"]);
    assert.equal(bad.status, 2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
