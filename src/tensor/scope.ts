// Deterministic memory: tidy() scopes free every tensor made inside them except
// what the function returns or keep()s. The GC finalizer is only a safety net.
import { FlareError } from "../errors.js";

/** What a scope needs to know of a tensor; Tensor implements it. */
export interface Tracked {
  readonly isDisposed: boolean;
  kept: boolean;
  dispose(): void;
  /** Called when no scope owns the tensor any more: it arms the GC safety net. */
  unowned(): void;
}

const scopes: Tracked[][] = [];

/** Called by every new Tensor: the innermost scope owns it. False if there is no scope. */
export function track(tensor: Tracked): boolean {
  if (scopes.length === 0) return false;
  scopes[scopes.length - 1].push(tensor);
  return true;
}

function collect(value: unknown, into: Set<Tracked>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (isTracked(value)) { into.add(value); return; }
  if (Array.isArray(value)) { for (const v of value) collect(v, into, seen); return; }
  if (value instanceof Map) { for (const v of value.values()) collect(v, into, seen); return; }
  if (value instanceof Set) { for (const v of value) collect(v, into, seen); return; }
  if (ArrayBuffer.isView(value)) return;
  for (const v of Object.values(value)) collect(v, into, seen); // plain and class objects alike
}

function isTracked(value: object): value is Tracked {
  return typeof (value as Tracked).dispose === "function" && "kept" in value;
}

function disposeUnkept(scope: Tracked[]): void {
  for (const t of scope) if (!t.kept) t.dispose();
}

/**
 * Runs `fn` and frees every tensor it created, except those in its result
 * (which move to the enclosing scope) and those passed to keep().
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== "function") throw new FlareError(`tidy(fn): fn must be a function, got ${fn === null ? "null" : typeof fn}`, "E_TYPE");
  const scope: Tracked[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    disposeUnkept(scope);
    throw error;
  }
  scopes.pop();
  if (isThenable(result)) {
    // The abandoned async function may still reject (it uses tensors freed here);
    // that rejection is handled here, so it cannot crash the process later.
    Promise.resolve(result).catch(() => undefined);
    disposeUnkept(scope);
    throw new FlareError("tidy() needs a synchronous function: an async one would free tensors still in use (await first, then tidy() the synchronous part, or dispose() tensors yourself)", "E_ARGUMENT");
  }
  // Most scopes return nothing or a number: no survivors to look for.
  if (result === null || typeof result !== "object") {
    disposeUnkept(scope);
    return result;
  }
  const survivors = new Set<Tracked>();
  collect(result, survivors);
  const outer = scopes[scopes.length - 1];
  for (const t of scope) {
    if (t.kept) continue;
    if (!survivors.has(t)) t.dispose();
    else if (outer) outer.push(t);
    else t.unowned();
  }
  return result;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value instanceof Promise || (value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function");
}

/** Exempts a tensor from every tidy() scope; free it yourself with dispose(). */
export function keep<T extends Tracked>(tensor: T): T {
  if (tensor === null || typeof tensor !== "object" || !isTracked(tensor))
    throw new FlareError(`keep(tensor): tensor must be a Tensor, got ${tensor === null ? "null" : typeof tensor}`, "E_TYPE");
  if (!tensor.kept) { tensor.kept = true; tensor.unowned(); }
  return tensor;
}

/** Disposes every tensor found in a value (a tensor, an array, a plain object, a Map). */
export function dispose(value: unknown): void {
  const found = new Set<Tracked>();
  collect(value, found);
  for (const t of found) t.dispose();
}
