// torchvision parity of ResNet-18/34/50 and VGG-11/16/19 (± BN), against
// tests/fixtures/models*.{json,safetensors} from scripts/fixtures/models.py:
// state-dict keys, shapes and dtypes; the initial weights after manualSeed(0)
// (per-tensor sums: the same RNG draws in the same order); and forward outputs
// (eval and train mode), BN running statistics and gradients, bit for bit, with
// the same *formula* weights on both sides (weights too big to commit:
// models_formula.ts is the twin of formula_value in the script).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { get } from "../src/vision/models/registry.js";
import { assertClose, fixturePath, fixtureGetter, loadFixture } from "./helpers.js";
import { fillFormula, formulaTensor } from "./models_formula.js";

interface ArchSpec { keys: [string, number[], string][]; params: number; init: Record<string, [number, number]> }
const SPEC = JSON.parse(readFileSync(fixturePath("models_keys.json"), "utf8")) as Record<string, ArchSpec>;
const FX = loadFixture("models");
const fx = fixtureGetter(FX);

test("the formula twin gives the fixture script's values", () => torch.tidy(() => {
  const keys = SPEC.resnet18.keys.map(([k]) => k);
  const set = new Set(keys);
  for (const key of ["conv1.weight", "layer1.0.bn1.running_var"]) {
    const expected = fx(`formula/${key}`);
    assertClose(formulaTensor(set, keys.indexOf(key), key, expected.shape), expected, { rtol: 0, atol: 0, what: key });
  }
}));

// Bit for bit: against the fixtures' own libtorch (Debian's 1.13, the one
// scripts/setup.sh builds against) every output, running statistic and gradient
// below is exactly PyTorch's. Another libtorch build (other oneDNN, other
// kernels) may differ in the last bits; the README says which one is checked.
function assertExact(actual: Tensor, expected: Tensor, what: string): void {
  assertClose(actual, expected, { rtol: 0, atol: 0, what });
}

for (const name of Object.keys(SPEC)) {
  const spec = SPEC[name];
  test(`${name}: torchvision's state-dict keys, shapes, initial weights and forward outputs`, () => torch.tidy(() => {
    torch.manualSeed(0);
    const model = get(name, name.startsWith("vgg") ? { dropout: 0 } : {});
    try {
      // keys, shapes, dtypes, parameter count
      const sd = model.stateDict();
      assert.deepEqual([...sd].map(([k, t]) => [k, t.shape, t.dtype]), spec.keys);
      assert.equal(model.parameters().reduce((n, p) => n + p.numel(), 0), spec.params);

      // torchvision's init: the same draws from the same generator (each key in its own tidy: VGG's 100M-element head)
      for (const [key, [sum, sumAbs]] of Object.entries(spec.init)) torch.tidy(() => {
        // float64 sums, as the script's: the same draws give the same sums, exactly
        const t64 = sd.get(key)!.to("float64");
        assert.equal(t64.sum().item(), sum, `${name} init ${key}: sum`);
        assert.equal(t64.abs().sum().item(), sumAbs, `${name} init ${key}: sum |x|`);
      });

      // forward with the formula weights
      fillFormula(model);
      const x = fx("input");
      model.eval();
      torch.noGrad(() => assertExact(model.forward(x) as Tensor, fx(`${name}/eval`), `${name} eval output`));
      model.train();
      const out = model.forward(x) as Tensor;
      assertExact(out.detach(), fx(`${name}/train`), `${name} train output`);
      const after = model.stateDict();
      for (const [key, expected] of FX) {
        if (!key.startsWith(`${name}/after/`)) continue;
        const k = key.slice(`${name}/after/`.length);
        assertExact(after.get(k)!, expected, `${name} ${k} after a train step`);
      }
      const gradKeys = [...FX.keys()].filter((k) => k.startsWith(`${name}/grad/`));
      if (gradKeys.length > 0) {
        out.square().mean().backward();
        const params = new Map(model.namedParameters());
        for (const key of gradKeys) {
          const k = key.slice(`${name}/grad/`.length);
          const expected = fx(key);
          assertExact(params.get(k)!.grad!, expected, `${name} grad ${k}`);
        }
      }
    } finally {
      model.dispose();
    }
  }));
}
