// The formula weights of the model fixtures: the twin of formula_value in
// scripts/fixtures/models.py (ResNet-18 is 45 MB and VGG-16 550 MB, too big to
// commit, so both sides fill the models with the same deterministic values).
import * as torch from "../src/index.js";
import type { Tensor, nn } from "../src/index.js";

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
export function fillFormula(model: nn.Module): void {
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

