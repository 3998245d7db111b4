// Which BLAS libtorch's matrix products run on, read from the process's mapped libraries.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { blasInUse } from "../src/tensor/blas.js";

const map = (...files: string[]) => files.map((f, i) => `7f00000${i}000-7f00000${i}fff r-xp 00000000 fe:01 ${100 + i}   ${f}`).join("\n");

test("blasInUse names the library and its kind from /proc/self/maps lines", () => {
  const torchLib = "/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13";
  assert.deepEqual(blasInUse(map(torchLib, "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0")),
    { library: "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", kind: "reference" });
  assert.deepEqual(blasInUse(map(torchLib, "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so")),
    { library: "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so", kind: "openblas" });
  assert.equal(blasInUse(map("/opt/venv/torch/lib/libmkl_intel_lp64.so.2")).kind, "mkl");
  assert.deepEqual(blasInUse(map(torchLib, "[heap]")), { library: null, kind: "unknown" }, "no BLAS mapped");
  assert.deepEqual(blasInUse(null), { library: null, kind: "unknown" }, "no /proc");
});

test("buildInfo() reports the BLAS this process loaded", () => {
  const { blas } = torch.buildInfo();
  assert.ok(blas.library === null || blas.library.startsWith("/"), String(blas.library));
  assert.ok(["reference", "openblas", "blis", "mkl", "atlas", "unknown"].includes(blas.kind), blas.kind);
  if (process.platform === "linux") assert.notEqual(blas.library, null, "libtorch links a BLAS and /proc/self/maps shows it");
});
