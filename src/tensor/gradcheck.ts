// torch.autograd.gradcheck: the analytic Jacobian (backward, one output element
// at a time) against central finite differences, in float64.
import { FlareError } from "../errors.js";
import { Tensor, describe } from "./tensor.js";
import { fromTypedArray, zeros } from "./creation.js";
import { tidy } from "./scope.js";
import { noGrad, grad } from "./autograd.js";

export interface GradcheckOptions {
  /** Finite-difference step (PyTorch's default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
  /** Throw a FlareError describing the first mismatch (default) or return false. */
  raiseException?: boolean;
}

type Fn = (...inputs: Tensor[]) => Tensor | Tensor[];

function outputsOf(result: Tensor | Tensor[]): Tensor[] {
  const list = Array.isArray(result) ? result : [result];
  for (const t of list) if (!(t instanceof Tensor)) throw new FlareError(`gradcheck(): fn must return a Tensor or an array of Tensors, got ${describe(t)}`, "E_TYPE");
  return list;
}

/**
 * Checks the gradients of fn at `inputs` (those with requiresGrad, which must
 * be float64) against finite differences: |analytic - numeric| <= atol + rtol·|numeric|
 * for every element of every output's Jacobian. Returns true, or throws
 * (returns false with raiseException: false) naming the first mismatch.
 */
export function gradcheck(fn: Fn, inputs: Tensor[], options: GradcheckOptions = {}): boolean {
  const known = new Set(["eps", "atol", "rtol", "raiseException"]);
  for (const key of Object.keys(options)) if (!known.has(key)) throw new FlareError(`gradcheck(): unknown option '${key}'`, "E_ARGUMENT");
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, raiseException = true } = options;
  if (typeof fn !== "function") throw new FlareError(`gradcheck(): fn must be a function, got ${describe(fn)}`, "E_ARGUMENT");
  if (!Array.isArray(inputs) || inputs.some((t) => !(t instanceof Tensor)))
    throw new FlareError("gradcheck(): inputs must be an array of Tensors", "E_ARGUMENT");
  const checked = inputs.map((t, i) => ({ t, i })).filter(({ t }) => t.requiresGrad);
  if (checked.length === 0) throw new FlareError("gradcheck(): no input requires grad", "E_ARGUMENT");
  for (const { t, i } of checked)
    if (t.dtype !== "float64") throw new FlareError(`gradcheck(): inputs[${i}] must be float64 (finite differences need the precision), got ${t.dtype}`, "E_DTYPE");

  return tidy(() => {
    // Analytic: one backward per output element gives one row of each Jacobian.
    const outputs = outputsOf(fn(...inputs));
    const analytic: Float64Array[][] = outputs.map((out) => checked.map(({ t }) => new Float64Array(out.numel() * t.numel())));
    outputs.forEach((out, o) => {
      for (let k = 0; k < out.numel(); k++) {
        tidy(() => {
          const seed = zeros(out.shape, { dtype: out.dtype, device: out.device });
          seed.view(-1).indexPut_([k], 1);
          const grads = grad([out], checked.map(({ t }) => t), { gradOutputs: [seed], retainGraph: true, allowUnused: true });
          grads.forEach((g, c) => {
            if (!g) return;
            const values = g.contiguous().dataSync() as Float64Array;
            analytic[o][c].set(values, k * values.length);
          });
        });
      }
    });

    // Numeric: central differences, one input element at a time.
    const numeric: Float64Array[][] = outputs.map((out) => checked.map(({ t }) => new Float64Array(out.numel() * t.numel())));
    checked.forEach(({ t, i }, c) => {
      const base = t.detach().contiguous().dataSync() as Float64Array;
      const evaluate = (j: number, delta: number): Float64Array[] => tidy(() => noGrad(() => {
        const values = base.slice();
        values[j] += delta;
        const args = inputs.slice();
        args[i] = fromTypedArray(values, t.shape, { dtype: "float64", device: t.device });
        return outputsOf(fn(...args)).map((out) => out.to("float64").contiguous().dataSync() as Float64Array);
      }));
      for (let j = 0; j < base.length; j++) {
        const plus = evaluate(j, eps), minus = evaluate(j, -eps);
        outputs.forEach((out, o) => {
          for (let k = 0; k < out.numel(); k++) numeric[o][c][k * base.length + j] = (plus[o][k] - minus[o][k]) / (2 * eps);
        });
      }
    });

    for (let o = 0; o < outputs.length; o++) {
      for (let c = 0; c < checked.length; c++) {
        const a = analytic[o][c], n = numeric[o][c], width = checked[c].t.numel();
        for (let e = 0; e < a.length; e++) {
          if (Math.abs(a[e] - n[e]) <= atol + rtol * Math.abs(n[e])) continue;
          if (!raiseException) return false;
          throw new FlareError(`gradcheck(): Jacobian mismatch for output ${o} with respect to inputs[${checked[c].i}] ` +
            `at (output element ${Math.floor(e / width)}, input element ${e % width}): numerical ${n[e]}, analytical ${a[e]}`, "E_ARGUMENT");
        }
      }
    }
    return true;
  });
}
