// Autograd hooks: tensor.registerHook(fn) and
// tensor.registerPostAccumulateGradHook(fn). The functions live here, in a Map
// by id; libtorch holds only the id (native/autograd.cc) and calls back through
// one dispatcher while backward() runs on this thread. When libtorch drops a
// hook (its tensor or graph freed, or remove()), the id comes back through
// native.releasedHooks() and the function is dropped too.
import { FlareError } from "../errors.js";
import { native, type Handle } from "./native.js";
import { tidy } from "./scope.js";
import { Tensor, describe } from "./tensor.js";

export type GradHook = (grad: Tensor) => Tensor | void | null | undefined;
export type PostAccumulateGradHook = (tensor: Tensor) => void;

interface Entry {
  grad?: GradHook;
  post?: PostAccumulateGradHook;
  tensor?: WeakRef<Tensor>;
}

const hooks = new Map<number, Entry>();
let nextId = 1;
// The first error a hook threw during the running backward(), rethrown from it.
let failure: { error: unknown } | null = null;

/** A registered hook; remove() unregisters it (PyTorch's RemovableHandle). */
export class RemovableHandle {
  private removed = false;
  constructor(private readonly onRemove: () => void) {}
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.onRemove();
  }
}

// Returns 0 (keep the gradient), -1 (the hook threw) or a handle of the
// replacement gradient, which native adopts and frees. The gradient's wrapper
// is freed when the hook returns: a hook that wants to keep it clones it.
function dispatch(id: number, gradHandle?: Handle): number {
  const entry = hooks.get(id);
  const grad = gradHandle === undefined ? undefined : new Tensor(gradHandle, false);
  try {
    if (!entry || failure) return 0;
    if (entry.post) {
      const tensor = entry.tensor?.deref();
      if (tensor) tidy(() => { entry.post!(tensor); });
      return 0;
    }
    return tidy(() => {
      const result = entry.grad!(grad!);
      if (result === undefined || result === null) return 0;
      if (!(result instanceof Tensor))
        throw new FlareError(`registerHook(): a hook must return a Tensor or nothing, got ${describe(result)}`, "E_TYPE");
      return native.shareHandle(result.handle);
    });
  } catch (error) {
    failure = { error };
    return -1;
  } finally {
    grad?.dispose();
  }
}
native.setHookDispatcher(dispatch);

function drainReleased(): void {
  for (const id of native.releasedHooks()) hooks.delete(id);
}

/** How many hook functions are alive (after dropping those libtorch released). For tests. */
export function liveHookCount(): number {
  drainReleased();
  return hooks.size;
}

function checkFunction(fn: unknown, what: string): void {
  if (typeof fn !== "function") throw new FlareError(`${what}: hook must be a function, got ${describe(fn)}`, "E_ARGUMENT");
}

// Stores entry under a new id and registers it natively; a registration that
// throws leaves no entry behind.
function addHook<R>(fn: unknown, what: string, entry: Entry, register: (id: number) => R): { id: number; registered: R } {
  checkFunction(fn, what);
  drainReleased();
  const id = nextId++;
  hooks.set(id, entry);
  try {
    return { id, registered: register(id) };
  } catch (error) {
    hooks.delete(id);
    throw error;
  }
}

export function registerHook(tensor: Tensor, fn: GradHook): RemovableHandle {
  const { id, registered: position } = addHook(fn, "registerHook()", { grad: fn }, (id) => native.registerHook(tensor.handle, id));
  const handle = tensor.handle;
  return new RemovableHandle(() => {
    hooks.delete(id);
    native.removeHook(handle, position);
  });
}

// Post-accumulate hooks keep libtorch's gradient accumulator alive (it holds the
// tensor): dispose() of the tensor removes them (disposeHooks).
const postHooks = new WeakMap<Tensor, Set<RemovableHandle>>();
// Whether any tensor ever had one: dispose() skips the WeakMap lookup until then.
let anyPostHooks = false;

export function registerPostAccumulateGradHook(tensor: Tensor, fn: PostAccumulateGradHook): RemovableHandle {
  const { id, registered: keeper } = addHook(fn, "registerPostAccumulateGradHook()", { post: fn, tensor: new WeakRef(tensor) }, (id) =>
    native.registerPostAccumulateGradHook(tensor.handle, id));
  const set = postHooks.get(tensor) ?? new Set<RemovableHandle>();
  postHooks.set(tensor, set);
  anyPostHooks = true;
  const handle: RemovableHandle = new RemovableHandle(() => {
    hooks.delete(id);
    set.delete(handle);
    native.removePostAccumulateGradHook(keeper);
  });
  set.add(handle);
  return handle;
}

/** Removes a tensor's post-accumulate hooks (called by Tensor.dispose()). */
export function disposeHooks(tensor: Tensor): void {
  if (!anyPostHooks) return;
  const set = postHooks.get(tensor);
  if (!set) return;
  for (const handle of [...set]) handle.remove();
  postHooks.delete(tensor);
}

/**
 * Runs a native backward pass; an error a hook threw comes out of it as that
 * error (a FlareError as it was; anything else wrapped in one).
 */
export function runBackward<T>(body: () => T): T {
  const outer = failure;
  failure = null;
  try {
    return body();
  } catch (error) {
    if (!failure) throw error;
    const cause = (failure as { error: unknown }).error;
    if (cause instanceof FlareError) throw cause;
    const wrapped = new FlareError(`backward(): a hook threw: ${cause instanceof Error ? cause.message : String(cause)}`, "E_ARGUMENT");
    (wrapped as Error & { cause?: unknown }).cause = cause;
    throw wrapped;
  } finally {
    failure = outer;
    drainReleased();
  }
}
