// Segmentation models: the book's FCN (structure, keys, parameter count, output
// size, bilinear init), FCN-8s, and torchvision's fcn_resnet50 — state-dict keys
// and shapes equal to torchvision 0.14's, and its eval outputs equal to
// torchvision's with the same formula weights (tests/fixtures/segmentation.*
// from scripts/fixtures/segmentation.py; models_formula.ts is the weights' twin).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { nn } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { models } from "../src/vision/index.js";
import { save } from "../src/io/index.js";
import { assertClose, assertFlareError, fixturePath, fixtureGetter, loadFixture } from "./helpers.js";
import { fillFormula } from "./models_formula.js";

interface KeySpec { keys: [string, number[]][]; params: number }
const SPEC = JSON.parse(readFileSync(fixturePath("segmentation_keys.json"), "utf8")) as Record<string, KeySpec>;
const FX = loadFixture("segmentation");
const fx = fixtureGetter(FX);

const keysOf = (m: nn.Module) => [...m.stateDict()].map(([k, v]) => [k, v.shape]);
const paramCount = (m: nn.Module) => m.parameters().reduce((n, p) => n + p.numel(), 0);

test("the registry lists the segmentation models", () => {
  assert.deepEqual(models.list({ task: "segmentation" }), ["fcn-resnet18", "fcn8s-resnet18", "fcn-resnet50"]);
  assert.equal(models.info("fcn-resnet18").preset.cropSize, undefined, "segmentation input keeps its size");
});

test("fcn-resnet18 is the book's net: keys, 12,993,642 parameters, (1, 512, 10, 15) body, input-sized output", () => torch.tidy(() => {
  const net = models.get("fcn-resnet18") as nn.Sequential;
  assert.deepEqual(keysOf(net), SPEC.d2l_fcn.keys);
  assert.equal(paramCount(net), 12993642);
  assert.equal(SPEC.d2l_fcn.params, 12993642);
  net.eval();
  torch.noGrad(() => {
    const x = torch.randn([1, 3, 320, 480]);
    assert.deepEqual(net.slice(0, 8).forward(x).shape, [1, 512, 10, 15]);
    assert.deepEqual((net.forward(x) as Tensor).shape, [1, 21, 320, 480]);
  });
  const w = (net.getSubmodule("transpose_conv") as nn.ConvTranspose2d).weight;
  assertClose(w, nn.init.bilinearKernel(21, 21, 64), { rtol: 0, atol: 0, what: "transpose_conv.weight" });
  net.dispose();
}));

test("fcn-resnet18 equals the book's PyTorch FCN with the same weights (eval)", () => torch.tidy(() => {
  const net = models.get("fcn-resnet18", { numClasses: 3 });
  fillFormula(net);
  net.eval();
  const out = torch.noGrad(() => net.forward(fx("input")) as Tensor);
  assertClose(out, fx("d2l_fcn/out"), { rtol: 1e-4, atol: 1e-4, what: "d2l FCN" });
  net.dispose();
}));

test("fcn-resnet50 has torchvision's keys and shapes (with and without aux) and parameter count", () => torch.tidy(() => {
  for (const [aux, spec] of [[true, SPEC.fcn_resnet50], [false, SPEC.fcn_resnet50_noaux]] as const) {
    const net = models.get("fcn-resnet50", { auxLoss: aux });
    assert.deepEqual(keysOf(net), spec.keys, `auxLoss ${aux}`);
    assert.equal(paramCount(net), spec.params);
    net.dispose();
  }
}));

test("fcn-resnet50 parity: eval out and aux equal torchvision's to 1e-4 (formula weights)", () => torch.tidy(() => {
  const net = models.get("fcn-resnet50", { numClasses: 3, auxLoss: true });
  fillFormula(net);
  net.eval();
  const result = torch.noGrad(() => net.forward(fx("input"))) as { out: Tensor; aux: Tensor };
  assert.deepEqual(result.out.shape, [1, 3, 64, 64]);
  assertClose(result.out, fx("fcn_resnet50/out"), { rtol: 1e-4, atol: 1e-4, what: "out" });
  assertClose(result.aux, fx("fcn_resnet50/aux"), { rtol: 1e-4, atol: 1e-4, what: "aux" });
  net.dispose();
}));

test("fcn-resnet50: a weights file sets numClasses and auxLoss; a mismatched file names the keys", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-seg-"));
  try {
    const file = path.join(dir, "fcn.safetensors");
    const net = models.get("fcn-resnet50", { numClasses: 4, auxLoss: true });
    save(net.stateDict(), file);
    net.dispose();
    const back = models.get("fcn-resnet50", { weights: file });
    assert.ok(back.stateDict().has("aux_classifier.4.weight"));
    assert.deepEqual(back.stateDict().get("classifier.4.weight")!.shape, [4, 512, 1, 1]);
    back.dispose();
    assertFlareError(() => models.get("fcn-resnet18", { weights: file }), /don't fit this model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("fcn8s-resnet18: input-sized output, bilinear upsamplers, zero skip scores (starts as the plain FCN)", () => torch.tidy(() => {
  const net = models.get("fcn8s-resnet18", { numClasses: 6 });
  net.eval();
  const y = torch.noGrad(() => net.forward(torch.randn([2, 3, 64, 96])) as Tensor);
  assert.deepEqual(y.shape, [2, 6, 64, 96]);
  const sd = net.stateDict();
  assertClose(sd.get("up8.weight")!, nn.init.bilinearKernel(6, 6, 16), { rtol: 0, atol: 0, what: "up8" });
  assert.equal(sd.get("score8.weight")!.abs().sum().item(), 0);
  net.dispose();
}));

test("segmentation models: bad options are FlareErrors", () => {
  assertFlareError(() => models.get("fcn-resnet18", { numClasses: 0 }), /numClasses must be a positive integer/);
  assertFlareError(() => models.get("fcn-resnet18", { dropout: 0.1 }), /unknown option "dropout"/);
  assertFlareError(() => models.get("fcn-resnet50", { auxLoss: "yes" }), /auxLoss must be true or false/);
  assertFlareError(() => models.segmentation.fcnResnet18({ backbone: new nn.Linear(2, 2) as never }), /headless ResNet-18/);
});
