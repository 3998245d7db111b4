// torchvision parity of ResNet-18/34/50 and VGG-11/16/19 (± BN), against
// tests/fixtures/models*.{json,safetensors} from scripts/fixtures/models.py:
// state-dict keys, shapes and dtypes; the initial weights after manualSeed(0)
// (per-tensor sums: the same RNG draws in the same order); and forward outputs
// (eval and train mode), BN running statistics and gradients with the same
// *formula* weights on both sides (weights too big to commit: formulaTensor is
// the twin of formula_value in the script).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as torch from "../src/index.js";
import type { Tensor, nn } from "../src/index.js";
import { get } from "../src/vision/models/registry.js";
import { assertClose, fixturePath, loadFixture } from "./helpers.js";

interface ArchSpec { keys: [string, number[], string][]; params: number; init: Record<string, [number, number]> }
const SPEC = JSON.parse(readFileSync(fixturePath("models_keys.json"), "utf8")) as Record<string, ArchSpec>;
const FX = loadFixture("models");
const fx = (key: string): Tensor => {
  const t = FX.get(key);
  assert.ok(t, `fixture has no ${key}`);
  return t;
};

// ---- the formula (twin: formula_value in scripts/fixtures/models.py) ----------------------
const PERIOD = 65521;

function fmix32(h: number): number {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The value of state-dict entry number idx: u in [0, 1) hashed from (idx, position mod PERIOD), mapped by the entry's role. */
export function formulaTensor(keys: Set<string>, idx: number, key: string, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const p = Math.min(n, PERIOD);
  const dot = key.lastIndexOf(".");
  const prefix = key.slice(0, Math.max(dot, 0)), last = key.slice(dot + 1);
  const isBn = keys.has(`${prefix}.running_mean`);
  const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 0;
  const values = new Float32Array(p);
  for (let m = 0; m < p; m++) {
    const u = fmix32(((idx + 1) * 65537 + m) >>> 0) / 4294967296;
    const s = 2.0 * u - 1.0;
    let v: number;
    if (last === "weight" && shape.length >= 2) v = s * Math.sqrt(6.0 / fanIn);
    else if (isBn && last === "weight") v = 1.0 + 0.2 * s;
    else if (last === "bias" || last === "running_mean") v = 0.1 * s;
    else if (last === "running_var") v = 0.5 + u;
    else throw new Error(`no formula for ${key}`);
    values[m] = v;
  }
  return torch.fromTypedArray(values, [p]).repeat(Math.ceil(n / p)).narrow(0, 0, n).reshape(shape);
}

/** Fills every floating parameter and buffer with its formula value (num_batches_tracked keeps 0). */
function fillFormula(model: nn.Module): void {
  const sd = model.stateDict();
  const keys = new Set(sd.keys());
  let idx = 0;
  torch.noGrad(() => {
    for (const [key, t] of sd) {
      if (t.dtype !== "int64") torch.tidy(() => { t.copy_(formulaTensor(keys, idx, key, t.shape)); });
      idx++;
    }
  });
}

test("the formula twin gives the fixture script's values", () => torch.tidy(() => {
  const keys = SPEC.resnet18.keys.map(([k]) => k);
  const set = new Set(keys);
  for (const key of ["conv1.weight", "layer1.0.bn1.running_var"]) {
    const expected = fx(`formula/${key}`);
    assertClose(formulaTensor(set, keys.indexOf(key), key, expected.shape), expected, { rtol: 0, atol: 0, what: key });
  }
}));

// The worst |flare - torch| / max|torch| is printed. On Debian's libtorch 1.13 (the
// fixture's own) the outputs are bitwise equal; the bound allows other builds,
// thread counts and oneDNN versions (deep nets accumulate float error).
const OUT_RTOL = 1e-4;

function assertOutput(actual: Tensor, expected: Tensor, what: string): number {
  const scale = expected.abs().max().item() as number;
  const worst = (actual.sub(expected).abs().max().item() as number) / scale;
  assertClose(actual, expected, { rtol: OUT_RTOL, atol: OUT_RTOL * scale, what });
  return worst;
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

      // torchvision's init: the same draws from the same generator
      for (const [key, [sum, sumAbs]] of Object.entries(spec.init)) torch.tidy(() => {
        const t = sd.get(key)!;
        // float32 sums (fast on 100M elements) against torchvision's float64 ones
        const s = t.sum().item() as number;
        const a = t.abs().sum().item() as number;
        assert.ok(Math.abs(s - sum) <= 1e-5 * sumAbs + 1e-6, `${name} init ${key}: sum ${s}, torchvision ${sum}`);
        assert.ok(Math.abs(a - sumAbs) <= 1e-5 * sumAbs + 1e-6, `${name} init ${key}: sum |x| ${a}, torchvision ${sumAbs}`);
      });

      // forward with the formula weights
      fillFormula(model);
      const x = fx("input");
      model.eval();
      const worstEval = torch.noGrad(() => assertOutput(model.forward(x) as Tensor, fx(`${name}/eval`), `${name} eval output`));
      model.train();
      const out = model.forward(x) as Tensor;
      const worstTrain = assertOutput(out.detach(), fx(`${name}/train`), `${name} train output`);
      const after = model.stateDict();
      for (const [key, expected] of FX) {
        if (!key.startsWith(`${name}/after/`)) continue;
        const k = key.slice(`${name}/after/`.length);
        assertClose(after.get(k)!, expected, { rtol: 1e-4, atol: 1e-5 * (expected.abs().max().item() as number), what: `${name} ${k} after a train step` });
      }
      const gradKeys = [...FX.keys()].filter((k) => k.startsWith(`${name}/grad/`));
      if (gradKeys.length > 0) {
        out.square().mean().backward();
        const params = new Map(model.namedParameters());
        for (const key of gradKeys) {
          const k = key.slice(`${name}/grad/`.length);
          const expected = fx(key);
          assertClose(params.get(k)!.grad!, expected, { rtol: 1e-3, atol: 1e-3 * (expected.abs().max().item() as number), what: `${name} grad ${k}` });
        }
      }
      console.log(`# ${name}: worst |flare - torch| / max|torch|: eval ${worstEval.toExponential(1)}, train ${worstTrain.toExponential(1)}`);
    } finally {
      model.dispose();
    }
  }));
}
