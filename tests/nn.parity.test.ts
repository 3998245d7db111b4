// Parity with PyTorch 1.13 for every layer, functional and loss: the golden
// cases of tests/fixtures/nn.safetensors (written by scripts/fixtures/nn.py,
// which also describes each case in the file's metadata) are rebuilt here,
// loaded with loadStateDict, run forward and backward, and compared.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import * as nn from "../src/nn/index.js";
import * as F from "../src/nn/functional.js";
import { loadFileWithMetadata } from "../src/io/safetensors.js";
import { assertClose, fixturePath } from "./helpers.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Case {
  kind: "module" | "functional" | "net";
  name: string;
  cls?: string;
  fn?: string;
  args?: Json[];
  kwargs?: Record<string, Json>;
  inputs: Json[];
  tkwargs?: Record<string, Json>;
  train?: boolean;
  dtype?: string;
  fargs?: Json[];
  nograd?: boolean;
  grad_inputs?: number[];
  check_inputs_after?: number[];
}
interface InitCase { name: string; seed: number; cls?: string; fn?: string; args?: Json[]; shape?: number[]; kwargs: Record<string, Json> }

const { tensors, metadata } = loadFileWithMetadata(fixturePath("nn.safetensors"));
const cases = JSON.parse(metadata.cases) as Case[];
const inits = JSON.parse(metadata.inits) as InitCase[];
const gains = JSON.parse(metadata.gains) as [nn.init.Nonlinearity, number | null, number][];

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const camelKeys = (o: Record<string, Json> = {}) => Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v]));

/** The fixture tensors of one case, by the part of the key after "<case>/". */
function entries(prefix: string): Map<string, torch.Tensor> {
  const out = new Map<string, torch.Tensor>();
  for (const [key, value] of tensors) if (key.startsWith(prefix)) out.set(key.slice(prefix.length), value);
  return out;
}

// float32 results come from the same libtorch kernels as PyTorch's, so they
// agree to rounding; float64 much tighter.
function tolerance(dtype: string | undefined) {
  return dtype === "float64" ? { rtol: 1e-10, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-6 };
}

function smallCnn(): nn.Module {
  return new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Sequential(new nn.Conv2d(4, 4, 3, { padding: 1, bias: false }), new nn.GroupNorm(2, 4), new nn.GELU()),
    new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Dropout(0.0), new nn.Linear(4, 3));
}

function build(c: Case): nn.Module {
  if (c.kind === "net") return smallCnn();
  const Cls = (nn as unknown as Record<string, new (...args: unknown[]) => nn.Module>)[c.cls!];
  assert.ok(Cls, `nn.${c.cls} exists`);
  return new Cls(...(c.args ?? []), camelKeys(c.kwargs));
}

function compare(actual: torch.Tensor | null | undefined, expected: torch.Tensor, what: string, tol: { rtol: number; atol: number }) {
  assert.ok(actual, `${what}: missing (null)`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assertClose(actual, expected, { ...tol, what });
}

for (const c of cases) {
  test(`parity: ${c.name}`, () => {
    const fixture = entries(`${c.name}/`);
    const tol = tolerance(c.dtype);
    let module: nn.Module | null = null;
    try {
      torch.tidy(() => {
        if (c.kind !== "functional") {
          module = build(c);
          if (c.dtype === "float64") module.to("float64");
          module.train(c.train ?? true);
          const sd = entries(`${c.name}/sd/`);
          // stateDict keys and order are PyTorch's
          assert.deepEqual([...module.stateDict().keys()], [...sd.keys()], "stateDict keys");
          const result = module.loadStateDict(sd);
          assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
        }
        const inputs = c.inputs.map((_, i) => fixture.get(`in/${i}`)!.clone());
        const gradInputs = c.nograd ? [] : c.grad_inputs ?? [0];
        for (const i of gradInputs) inputs[i].requiresGrad_(true);
        let out: torch.Tensor | torch.Tensor[];
        if (c.kind === "functional") {
          const fn = (F as unknown as Record<string, (...args: unknown[]) => torch.Tensor>)[camel(c.fn!)];
          assert.ok(fn, `F.${camel(c.fn!)} exists`);
          const options = { ...camelKeys(c.kwargs), ...Object.fromEntries(Object.keys(c.tkwargs ?? {}).map((k) => [camel(k), fixture.get(`t/${k}`)])) };
          const args: unknown[] = [...inputs, ...(c.args ?? [])];
          if (Object.keys(options).length > 0) args.push(options);
          out = fn(...args);
        } else {
          out = module!.forward(...inputs, ...(c.fargs ?? []));
        }
        let y: torch.Tensor;
        if (Array.isArray(out)) {
          out.forEach((t, i) => compare(t, fixture.get(`out/${i}`)!, `out[${i}]`, tol));
          y = out[0];
        } else {
          compare(out, fixture.get("out")!, "out", tol);
          y = out;
        }
        if (gradInputs.length > 0) {
          y.backward(fixture.get("gout")!);
          for (const i of gradInputs) compare(inputs[i].grad, fixture.get(`grad_in/${i}`)!, `grad of input ${i}`, tol);
        }
        if (module) {
          const m = module as nn.Module;
          const grads = entries(`${c.name}/grad/`);
          const named = m.namedParameters();
          assert.deepEqual(named.filter(([, p]) => p.grad !== null).map(([k]) => k), [...grads.keys()], "parameters with gradients");
          for (const [k, p] of named) if (grads.has(k)) compare(p.grad, grads.get(k)!, `grad of ${k}`, tol);
          const after = entries(`${c.name}/after/`);
          assert.deepEqual(m.namedBuffers().map(([k]) => k), [...after.keys()], "buffers");
          for (const [k, b] of m.namedBuffers()) compare(b, after.get(k)!, `buffer ${k} after forward`, tol);
        }
        for (const i of c.check_inputs_after ?? []) compare(inputs[i], fixture.get(`after_in/${i}`)!, `input ${i} after forward`, tol);
      });
    } finally {
      (module as nn.Module | null)?.dispose();
    }
  });
}

for (const c of inits) {
  test(`init parity (same seed, same values): ${c.name}`, () => {
    torch.tidy(() => {
      torch.manualSeed(c.seed);
      if (c.cls) {
        const Cls = (nn as unknown as Record<string, new (...args: unknown[]) => nn.Module>)[c.cls];
        const module = new Cls(...(c.args ?? []), camelKeys(c.kwargs));
        const expected = entries(`init/${c.name}/`);
        const sd = module.stateDict();
        assert.deepEqual([...sd.keys()], [...expected.keys()]);
        // The same draws from the same generator; bounds computed in the same
        // double arithmetic, so the values agree to float32 rounding.
        for (const [k, v] of sd) compare(v, expected.get(k)!, k, { rtol: 1e-6, atol: 0 });
        module.dispose();
      } else {
        const t = torch.empty(c.shape!);
        const fn = (nn.init as unknown as Record<string, (t: torch.Tensor, ...args: unknown[]) => torch.Tensor>)[camel(c.fn!)];
        const result = c.fn === "constant_" ? fn(t, c.kwargs.val) : fn(t, camelKeys(c.kwargs));
        assert.equal(result, t, "returns the tensor it filled");
        compare(t, tensors.get(`init/${c.name}/tensor`)!, c.name, { rtol: 1e-6, atol: 0 });
      }
    });
  });
}

test("init parity: calculateGain", () => {
  for (const [name, param, expected] of gains) {
    assert.ok(Math.abs(nn.init.calculateGain(name, param) - expected) <= 1e-15 * Math.abs(expected), `${name}(${param})`);
  }
});
