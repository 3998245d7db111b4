// Grad mode and torch.autograd.grad.
import { native } from "./native.js";
import { Tensor } from "./tensor.js";
import { runBackward } from "./hooks.js";

export { gradcheck, type GradcheckOptions } from "./gradcheck.js";
export { RemovableHandle, type GradHook, type PostAccumulateGradHook } from "./hooks.js";

/** Runs fn with gradient recording off (torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const previous = native.setGradEnabled(false);
  try { return fn(); } finally { native.setGradEnabled(previous); }
}

/** Runs fn with gradient recording on (torch.enable_grad()). */
export function enableGrad<T>(fn: () => T): T {
  const previous = native.setGradEnabled(true);
  try { return fn(); } finally { native.setGradEnabled(previous); }
}

/** `using _ = torch.noGradGuard()` turns recording off until the end of the block. */
export function noGradGuard(): Disposable {
  const previous = native.setGradEnabled(false);
  return { [Symbol.dispose]: () => { native.setGradEnabled(previous); } };
}

export function setGradEnabled(enabled: boolean): boolean { return native.setGradEnabled(enabled); }
export function isGradEnabled(): boolean { return native.isGradEnabled(); }

export interface GradOptions {
  gradOutputs?: (Tensor | null)[];
  retainGraph?: boolean;
  createGraph?: boolean;
  allowUnused?: boolean;
}

/** torch.autograd.grad: the gradients of `outputs` with respect to `inputs`, without touching .grad. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const result = runBackward(() => native.autogradGrad(outs.map((t) => t.handle), ins.map((t) => t.handle),
    options.gradOutputs ? options.gradOutputs.map((t) => t?.handle ?? null) : null,
    options.retainGraph, options.createGraph ?? false, options.allowUnused ?? false));
  return result.map((h) => (h ? new Tensor(h) : null));
}

/** torch.autograd.backward for several outputs at once. */
export function backward(tensors: Tensor[], gradTensors?: (Tensor | null)[], options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  runBackward(() => native.backward(tensors.map((t) => t.handle), gradTensors ? gradTensors.map((t) => t?.handle ?? null) : null,
    options.retainGraph, options.createGraph ?? false, null));
}
