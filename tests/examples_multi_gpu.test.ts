// The d2l multi-GPU examples (13.5 from scratch, 13.6 with DataParallel) run to
// the end with tiny settings, and say what they should.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { datasets } from "../src/vision/index.js";

const skip = !existsSync(datasets.FASHION_MNIST_ROOT) && "dataset-fashion-mnist is not installed";

function runExample(name: string): Promise<string> {
  const file = fileURLToPath(new URL(`../examples/${name}.js`, import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file], { env: { ...process.env, FLARE_EXAMPLE_TINY: "1" }, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${name} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

test("multi_gpu_scratch: split, per-device backward, allreduce, identical replicas", { skip, timeout: 90_000 }, async () => {
  const out = await runExample("multi_gpu_scratch");
  assert.match(out, /^epoch 1: test acc \d\.\d{3}, [\d.]+ sec\/epoch on cpu, cpu$/m);
  assert.match(out, /^replicas identical after training: true$/m);
});

test("multi_gpu_concise: ResNet-18 (narrow) trains on 1 then 2 devices through DataParallel", { skip, timeout: 90_000 }, async () => {
  const out = await runExample("multi_gpu_concise");
  const lines = out.trim().split("\n");
  assert.equal(lines.length, 2, out);
  assert.match(lines[0], /^test acc: \d\.\d\d, [\d.]+ sec\/epoch on cpu:0$/);
  assert.match(lines[1], /^test acc: \d\.\d\d, [\d.]+ sec\/epoch on cpu:0, cpu:1$/);
});
