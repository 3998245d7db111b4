// nn.parallel.DataParallel on CPU worker threads: with any split of the batch, a
// step through the replicas is the single-device step (the gradients are the
// full batch's, summed over replicas), and bad use is a FlareError.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { nn, optim, F } from "../src/index.js";
import { DataParallel, shardSizes } from "../src/nn/parallel/data_parallel.js";
import { Trainer, supervisedStep } from "../src/engine/index.js";
import { createModel, type ModelArgs } from "./workers/data_parallel_model.js";
import { assertClose, assertFlareError } from "./helpers.js";

const replicaModule = new URL("./workers/data_parallel_model.js", import.meta.url);

function pair(args: ModelArgs = {}): { net: nn.Module; ref: nn.Module } {
  const net = createModel(args), ref = createModel(args);
  ref.loadStateDict(net.stateDict());
  return { net, ref };
}

function step(model: nn.Module, opt: optim.Optimizer, x: torch.Tensor, y: torch.Tensor): number {
  return torch.tidy(() => {
    const loss = F.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return loss.item() as number;
  });
}

function assertSameParameters(a: nn.Module, b: nn.Module): void {
  const pb = new Map(b.namedParameters());
  for (const [name, p] of a.namedParameters()) assertClose(p, pb.get(name)!, { rtol: 1e-5, atol: 1e-5, what: name });
}

test("shardSizes splits a batch by ratios, leftovers to the largest remainders", () => {
  assert.deepEqual(shardSizes(10, [0.6, 0.4]), [6, 4]);
  assert.deepEqual(shardSizes(10, [0.5, 0.2, 0.3]), [5, 2, 3]);
  assert.deepEqual(shardSizes(7, [1, 1]), [4, 3]);
  assert.deepEqual(shardSizes(1, [1, 1]), [1, 0]);
  assert.deepEqual(shardSizes(5, [0, 1]), [0, 5]);
});

test("uneven splits over 3 CPU workers: K SGD steps equal the single-device steps (1e-5)", () => {
  torch.manualSeed(1);
  const { net, ref } = pair();
  const dp = new DataParallel(net, { devices: ["cpu:0", "cpu:1", "cpu:2"], splits: [0.5, 0.2, 0.3], replicaModule });
  try {
    const opt = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
    const refOpt = new optim.SGD(ref.parameters(), { lr: 0.1, momentum: 0.9 });
    const x = torch.randn([10, 1, 6, 6]), y = torch.randint(0, 3, [10]);
    const settled: number[] = [];
    for (let k = 0; k < 5; k++) {
      const a = step(dp, opt, x, y), b = step(ref, refOpt, x, y);
      assert.ok(Math.abs(a - b) < 1e-5, `step ${k}: loss ${a} vs ${b}`);
      settled.push(torch.memory().numTensors);
    }
    assertSameParameters(net, ref);
    assert.deepEqual(dp.timings.map((t) => [t.device, t.samples]), [["cpu:0", 5], ["cpu:1", 2], ["cpu:2", 3]]);
    assert.ok(dp.timings.every((t) => t.forwardMs > 0 && t.backwardMs > 0));
    assert.equal(settled[4], settled[1], "no tensors leak per step");
    assert.deepEqual(dp.parameters().length, net.parameters().length, "dp.parameters() are the module's");
    assert.ok([...dp.stateDict().keys()].every((k) => k.startsWith("module.")), "state-dict keys are PyTorch's module.*");
    torch.dispose([x, y]);
  } finally {
    dp.close();
  }
});

test("splits 'auto' measures the warm-up steps, then splits by speed; the steps still equal single-device ones", () => {
  torch.manualSeed(2);
  const { net, ref } = pair();
  const dp = new DataParallel(net, { workers: 2, splits: "auto", warmupSteps: 3, replicaModule });
  try {
    assert.deepEqual(dp.splits, [0.5, 0.5]);
    assert.equal(dp.tuning, true);
    const opt = new optim.Adam(net.parameters(), { lr: 0.01 });
    const refOpt = new optim.Adam(ref.parameters(), { lr: 0.01 });
    const x = torch.randn([12, 1, 6, 6]), y = torch.randint(0, 3, [12]);
    for (let k = 0; k < 6; k++) { step(dp, opt, x, y); step(ref, refOpt, x, y); }
    assert.equal(dp.tuning, false);
    const s = dp.splits;
    assert.ok(Math.abs(s[0] + s[1] - 1) < 1e-9 && s.every((r) => r > 0), `splits ${s}`);
    assertSameParameters(net, ref);
    torch.dispose([x, y]);
  } finally {
    dp.close();
  }
});

test("no-grad / eval forward equals the module's; BatchNorm statistics come from the first replica's shard (PyTorch's rule)", () => {
  torch.manualSeed(3);
  const { net, ref } = pair({ kind: "bn" });
  const dp = new DataParallel(net, { workers: 2, splits: [0.75, 0.25], replicaModule, replicaArgs: { kind: "bn" } });
  try {
    const x = torch.randn([8, 1, 6, 6]);
    torch.tidy(() => {
      dp.forward(x);
      ref.forward(x.narrow(0, 0, 6));
      const rm = new Map(ref.namedBuffers());
      for (const [name, b] of net.namedBuffers()) assertClose(b, rm.get(name)!, { what: name });
    });
    dp.eval(); ref.eval();
    assert.equal(net.training, false, "eval() reaches the wrapped module");
    torch.tidy(() => torch.noGrad(() => {
      const out = dp.forward(x);
      assert.equal(out.requiresGrad, false);
      assertClose(out, ref.forward(x), { what: "eval output" });
    }));
    // A batch smaller than the number of devices leaves a device idle.
    torch.tidy(() => assertClose(dp.forward(x.narrow(0, 0, 1)), ref.forward(x.narrow(0, 0, 1)), { what: "1-sample output" }));
    x.dispose();
  } finally {
    dp.close();
  }
});

test("frozen parameters stay without gradient; a float64 module; gradients accumulate over two backward passes", () => {
  torch.manualSeed(4);
  const { net, ref } = pair();
  net.to("float64"); ref.to("float64");
  for (const m of [net, ref]) (m as nn.Sequential)[0].requiresGrad_(false);
  const dp = new DataParallel(net, { workers: 2, splits: [0.4, 0.6], replicaModule });
  try {
    torch.tidy(() => {
      const x = torch.randn([6, 1, 6, 6], { dtype: "float64" }), y = torch.randint(0, 3, [6]);
      for (let k = 0; k < 2; k++) {
        F.crossEntropy(dp.forward(x), y).backward();
        F.crossEntropy(ref.forward(x), y).backward();
      }
      const rp = new Map(ref.namedParameters());
      for (const [name, p] of net.namedParameters()) {
        if (name.startsWith("0.")) { assert.equal(p.grad, null, `${name} is frozen`); continue; }
        assert.equal(p.grad!.dtype, "float64");
        assertClose(p.grad!, rp.get(name)!.grad!, { rtol: 1e-10, atol: 1e-12, what: `${name}.grad` });
      }
    });
  } finally {
    dp.close();
  }
});

test("the Trainer trains through DataParallel (with gradient accumulation) as through the module itself", async () => {
  torch.manualSeed(5);
  const { net, ref } = pair();
  const dp = new DataParallel(net, { workers: 2, splits: [0.6, 0.4], replicaModule });
  try {
    const x = torch.randn([16, 1, 6, 6]), y = torch.randint(0, 3, [16]);
    // The Trainer frees each batch after its step: fresh views every epoch.
    const data = () => [0, 4, 8, 12].map((i) => [x.narrow(0, i, 4), y.narrow(0, i, 4)]);
    const step = supervisedStep((out, target) => F.crossEntropy(out, target));
    const fit = (model: nn.Module, params: nn.Module) =>
      new Trainer({ model, optimizer: new optim.SGD(params.parameters(), { lr: 0.1, momentum: 0.9 }), step, epochs: 2, accumulate: 2, output: "silent" }).fit(data);
    const [a, b] = [await fit(dp, net), await fit(ref, ref)];
    assert.ok(Math.abs(a[1].train_loss - b[1].train_loss) < 1e-5, `epoch loss ${a[1].train_loss} vs ${b[1].train_loss}`);
    assertSameParameters(net, ref);
    torch.dispose([x, y]);
  } finally {
    dp.close();
  }
});

test("bad DataParallel use is a FlareError", () => {
  const net = createModel();
  assertFlareError(() => new DataParallel(net, {} as never), /replicaModule is required/);
  assertFlareError(() => new DataParallel(net, { workers: 2, replicaModule, split: [1, 1] } as never), /split/);
  assertFlareError(() => new DataParallel(net, { workers: 2, splits: [1], replicaModule }), /splits must be "auto" or 2 non-negative numbers/);
  assertFlareError(() => new DataParallel(net, { devices: ["gpu0"], replicaModule }), /devices\[0\] must be "cpu:N" or "cuda:N"/);
  assertFlareError(() => new DataParallel(net, { workers: 0, replicaModule }), /workers must be a positive integer/);
  assertFlareError(() => new DataParallel({} as never, { workers: 1, replicaModule }), /module must be an nn.Module/);
  assertFlareError(() => new DataParallel(net, { workers: 1, replicaModule, replicaExport: "broken" }), /replica on cpu:0 failed: no model today/);
  assertFlareError(() => new DataParallel(net, { workers: 1, replicaModule, replicaExport: "nothing" }), /has no function export 'nothing'/);
  assertFlareError(() => new DataParallel(createModel({ kind: "wide" }), { workers: 1, replicaModule }), /has other parameters than the module.*same architecture/);

  const dp = new DataParallel(net, { workers: 2, replicaModule });
  try {
    torch.tidy(() => {
      const x = torch.randn([4, 1, 6, 6]);
      assertFlareError(() => dp.forward(x, torch.zeros([3])), /argument 1 has 3 rows in dim 0 but the first tensor has 4/);
      assertFlareError(() => dp.forward(x, { a: 1 }), /argument 1 is a object/);
      assertFlareError(() => dp.forward(3), /needs at least one Tensor/);
      const first = dp.forward(x), second = dp.forward(x);
      assertFlareError(() => first.sum().backward(), /earlier forward\(\)/);
      second.sum().backward();
      assert.ok(net.parameters().every((p) => p.grad !== null), "the module got gradients");
    });
  } finally {
    dp.close();
  }
  assertFlareError(() => torch.tidy(() => dp.forward(torch.zeros([2, 1, 6, 6]))), /it was closed/);
  net.dispose();
});

test("a replica thread that dies or does not answer in time: a FlareError, and the DataParallel closes", () => {
  const net = createModel();
  for (const [replicaExport, timeoutMs, message] of [["exiting", 60_000, /replica on cpu:1 failed: its thread exited during forward\(\); DataParallel is closed/],
    ["sleepy", 1000, /replica on cpu:1 failed: no answer to forward\(\) within 1000 ms; DataParallel is closed/]] as const) {
    const dp = new DataParallel(net, { workers: 2, replicaModule, replicaExport, timeoutMs });
    try {
      torch.tidy(() => {
        assertFlareError(() => dp.forward(torch.randn([4, 1, 6, 6])), message);
        assertFlareError(() => dp.forward(torch.randn([4, 1, 6, 6])), /it was closed/);
      });
    } finally {
      dp.close();
    }
  }
  net.dispose();
});
