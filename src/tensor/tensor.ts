// The Tensor class: a handle to an at::Tensor plus metadata, data access,
// autograd and memory. Ops are added to its prototype by the files in ops/.
import { FlareError } from "../errors.js";
import { native, type Handle } from "./native.js";
import { aten } from "./aten.js";
import { track, type Tracked } from "./scope.js";
import { checkDtype, viewOf, type DType, type TypedArray } from "./dtype.js";
import { checkOptions } from "../options.js";
import { guardMethods } from "../validate.js";
import { formatTensor } from "./format.js";
import * as hooks from "./hooks.js";

export type Shape = number[];
export type NestedArray = number | boolean | NestedArray[];

const { detach: detachOp, detachIn: detachInPlace, clone: cloneOp, contiguous: contiguousOp, toDtypeLayout: toDtypeDevice } = aten;

export class Tensor implements Tracked, Disposable {
  /** The native handle. Internal: use the methods. */
  readonly handle: Handle;
  kept = false;
  private gradWrapper: Tensor | null = null;
  private guarded = false;
  private released = false;

  /** Wraps a native handle; the innermost tidy() scope owns the new tensor. */
  constructor(handle: Handle, tracked = true) {
    this.handle = handle;
    // A tidy() scope frees what it owns; only tensors no scope owns need the GC net.
    if (!tracked || !track(this)) this.unowned();
  }

  /**
   * Arms the GC safety net (once no tidy() scope owns this tensor): the addon
   * frees the tensor soon after this wrapper is garbage, from the collection
   * itself (no event-loop turn needed; see native/tensor.cc, GC guards). Internal.
   */
  unowned(): void {
    if (!this.guarded) { this.guarded = true; native.guard(this, this.handle); }
  }

  // ---- metadata -----------------------------------------------------------
  get shape(): Shape { return native.shape(this.handle); }
  get dtype(): DType { return native.dtype(this.handle) as DType; }
  get device(): string { return native.device(this.handle); }
  get ndim(): number { return native.dim(this.handle); }
  dim(): number { return native.dim(this.handle); }
  numel(): number { return native.numel(this.handle); }
  stride(): number[] { return native.strides(this.handle); }
  /** size() is the shape; size(d) one dimension of it (negative d counts from the end). */
  size(): Shape;
  size(dim: number): number;
  size(dim?: number): Shape | number {
    const shape = this.shape;
    if (dim === undefined) return shape;
    const d = dim < 0 ? dim + shape.length : dim;
    if (d < 0 || d >= shape.length) throw new FlareError(`dimension ${dim} is out of range for a tensor of ${shape.length} dimensions`, "E_INDEX");
    return shape[d];
  }
  get isDisposed(): boolean { return native.isDisposed(this.handle); }

  // ---- data ---------------------------------------------------------------
  /**
   * PyTorch's `t.data`: a tensor that shares this one's storage, with
   * requiresGrad false and no autograd history (and, as PyTorch's, its own
   * version counter, so `w.data.mul_(2)` does not trip autograd's in-place check).
   * Assigning `t.data = source` gives t source's values, shape, dtype and device
   * while t stays the same object (a parameter keeps its place in its module).
   */
  get data(): Tensor {
    // A fresh empty tensor of the same kind, then set_data: shares the storage
    // but keeps the fresh tensor's version counter, as PyTorch's variable_data().
    const view = new Tensor(aten.empty([0], this.dtype, null, this.device) as Handle);
    native.setData(view.handle, this.handle);
    return view;
  }
  set data(source: Tensor) {
    if (!(source instanceof Tensor)) throw new FlareError(`tensor.data = value: value must be a Tensor, got ${describe(source)} (to fill in place: t.data.fill_(v) or t.data.copy_(src))`, "E_TYPE");
    native.setData(this.handle, source.handle);
  }
  /**
   * A copy of the values as a TypedArray (int64 as BigInt64Array, float16 as
   * Float32Array). (The property `data` is PyTorch's: a tensor.)
   */
  dataSync(): TypedArray { return viewOf(native.toBuffer(this.handle), this.dtype); }
  /** The value of a one-element tensor. */
  item(): number;
  item(): number | boolean;
  item(): number | boolean { return native.item(this.handle); }
  /** The values as nested arrays of numbers (booleans for bool tensors). */
  tolist(): NestedArray {
    const values = this.dataSync();
    const dtype = this.dtype;
    const flat: (number | boolean)[] = Array.from(values as ArrayLike<number | bigint>, (v) =>
      dtype === "bool" ? v !== 0 : Number(v));
    const shape = this.shape;
    if (shape.length === 0) return flat[0];
    let offset = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? flat[offset++] : build(d + 1));
      return out;
    };
    return build(0);
  }
  toString(): string { return formatTensor(this); }
  /**
   * `${t}` and String(t) print the tensor; `t + 1`, `2 * t`, `t < u` would
   * silently give a string or NaN, so they throw and say what to write instead.
   */
  [Symbol.toPrimitive](hint: "string" | "number" | "default"): string {
    if (hint === "string") return this.toString();
    throw new FlareError("a Tensor is not a JavaScript number: JavaScript operators (+ - * / < ...) do not work on tensors. " +
      "Write t.add(1), t.mul(2), t.sub(u), t.div(u), t.lt(u), or t.item() for the number in a one-element tensor", "E_TYPE");
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string { return this.isDisposed ? "tensor(<disposed>)" : formatTensor(this); }

  // ---- conversion -----------------------------------------------------------
  /** to("float64"), to("cuda:0"), to({dtype, device}), or to(other) for other's dtype and device. */
  to(target: DType | string | Tensor | { dtype?: DType; device?: string; copy?: boolean; nonBlocking?: boolean }): Tensor {
    let dtype: string | undefined, device: string | undefined, copy = false, nonBlocking = false;
    if (target instanceof Tensor) { dtype = target.dtype; device = target.device; }
    else if (typeof target === "string") {
      if (/^(cpu|cuda|mps|meta)(:\d+)?$/.test(target)) device = target; else dtype = checkDtype(target, "to(): dtype");
    } else if (target !== null && typeof target === "object" && !Array.isArray(target)) {
      ({ dtype, device, copy = false, nonBlocking = false } = checkOptions(target, ["dtype", "device", "copy", "nonBlocking"], "to()"));
      if (dtype !== undefined) dtype = checkDtype(dtype, "to(): dtype");
    } else {
      throw new FlareError(`to(): expected a dtype ("float32", torch.float64), a device ("cuda:0"), a Tensor or { dtype, device }, got ${describe(target)}`, "E_TYPE");
    }
    const result = toDtypeDevice(this.handle, dtype ?? this.dtype, null, device ?? this.device, null, nonBlocking, copy, null) as Handle;
    // aten::to returns self when nothing changes; hand back this same object then.
    if (native.sameTensor(result, this.handle)) { native.dispose(result); return this; }
    return new Tensor(result);
  }
  float(): Tensor { return this.to("float32"); }
  double(): Tensor { return this.to("float64"); }
  half(): Tensor { return this.to("float16"); }
  bfloat16(): Tensor { return this.to("bfloat16"); }
  long(): Tensor { return this.to("int64"); }
  int(): Tensor { return this.to("int32"); }
  bool(): Tensor { return this.to("bool"); }
  byte(): Tensor { return this.to("uint8"); }
  cpu(): Tensor { return this.to("cpu"); }
  cuda(device = 0): Tensor { return this.to(`cuda:${device}`); }
  clone(): Tensor { return new Tensor(cloneOp(this.handle) as Handle); }
  contiguous(): Tensor {
    const result = contiguousOp(this.handle) as Handle;
    if (native.sameTensor(result, this.handle)) { native.dispose(result); return this; }
    return new Tensor(result);
  }

  // ---- autograd -------------------------------------------------------------
  get requiresGrad(): boolean { return native.requiresGrad(this.handle); }
  set requiresGrad(value: boolean) { native.setRequiresGrad(this.handle, value); }
  requiresGrad_(value = true): this { native.setRequiresGrad(this.handle, value); return this; }
  get isLeaf(): boolean { return native.isLeaf(this.handle); }
  /** The name of the autograd node that made this tensor (e.g. "AddBackward0"), or null. */
  get gradFn(): string | null { return native.gradFn(this.handle); }
  /**
   * The accumulated gradient, or null. The returned tensor is owned by this
   * one: it stays valid until the gradient is replaced (zeroGrad, a new
   * backward after set-to-none) or this tensor is disposed; clone() to keep it.
   */
  get grad(): Tensor | null {
    const result = native.grad(this.handle, this.gradWrapper?.handle);
    if (result === true) return this.gradWrapper;
    this.gradWrapper?.dispose();
    this.gradWrapper = result === null ? null : keepOwned(new Tensor(result, false));
    return this.gradWrapper;
  }
  set grad(value: Tensor | null) {
    native.setGrad(this.handle, value ? value.handle : null);
    this.gradWrapper?.dispose();
    this.gradWrapper = null;
  }
  /** Computes gradients of this tensor (a scalar unless `gradient` is given) into the leaves' .grad. */
  backward(gradient?: Tensor | null, options: { retainGraph?: boolean; createGraph?: boolean; inputs?: Tensor[] } = {}): void {
    hooks.runBackward(() => native.backward([this.handle], gradient ? [gradient.handle] : null, options.retainGraph,
      options.createGraph ?? false, options.inputs ? options.inputs.map((t) => t.handle) : null));
  }
  /**
   * Calls fn(grad) each time the gradient of this tensor is computed; fn may
   * return a replacement gradient. `grad` is freed when fn returns (clone() it
   * to keep it). Errors fn throws come out of backward().
   */
  registerHook(fn: hooks.GradHook): hooks.RemovableHandle { return hooks.registerHook(this, fn); }
  /** Calls fn(this) after backward() has accumulated this leaf's .grad (PyTorch 2.1). */
  registerPostAccumulateGradHook(fn: hooks.PostAccumulateGradHook): hooks.RemovableHandle {
    return hooks.registerPostAccumulateGradHook(this, fn);
  }
  retainGrad(): void { native.retainGrad(this.handle); }
  detach(): Tensor { return new Tensor(detachOp(this.handle) as Handle); }
  /** PyTorch's `t.data = source`: t keeps its identity (and requiresGrad) but takes source's values, dtype and device. */
  setData(source: Tensor): this { native.setData(this.handle, source.handle); return this; }
  detach_(): this { detachInPlace(this.handle); return this; }

  // ---- memory -----------------------------------------------------------------
  /**
   * Gives up this wrapper's ownership and returns the handle, a plain number
   * that means the same tensor in every worker thread: post it to another
   * thread and adopt() it there. This wrapper no longer frees the tensor.
   */
  release(): Handle {
    if (this.isDisposed) throw new FlareError("release(): the tensor was disposed", "E_DISPOSED");
    this.released = true;
    native.setOwner(this.handle, false);  // also disarms the GC guard
    return this.handle;
  }

  /** Frees the native tensor now. Safe to call twice; using it afterwards throws. */
  dispose(): void {
    if (this.released) return;
    if (this.gradWrapper) { this.gradWrapper.dispose(); this.gradWrapper = null; }
    hooks.disposeHooks(this);
    native.dispose(this.handle);
  }
  [Symbol.dispose](): void { this.dispose(); }
}

/**
 * Makes assignments to Tensor's methods and read-only properties throw a
 * FlareError (`t.shape = [2]`, `t.add = f` would otherwise be a TypeError, or
 * silently shadow the method). Each method becomes a getter/setter pair on the
 * prototype; called once, by src/tensor/index.ts, after ops/ added their methods.
 */
export function guardTensorPrototype(): void {
  const proto = Tensor.prototype;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const desc = Object.getOwnPropertyDescriptor(proto, name)!;
    if (desc.configurable && desc.get && !desc.set) {
      Object.defineProperty(proto, name, {
        configurable: true, enumerable: false, get: desc.get,
        set() { throw new FlareError(`Tensor.${name} is read-only`, "E_ARGUMENT"); },
      });
    }
  }
  guardMethods(proto, (_, name) => `Tensor.${name} is a method: it cannot be assigned (in-place ops end in _, e.g. t.copy_(src); t.data = src replaces the values)`);
}

function keepOwned(t: Tensor): Tensor { t.kept = true; return t; }  // already guarded: made untracked

/** Wraps the handle a native op returned in a Tensor (wrapList for a list of handles). */
/** Takes ownership of a handle released by another thread (Tensor.release()). */
export function adopt(handle: number): Tensor {
  if (!native.setOwner(handle as Handle, true)) throw new FlareError(`adopt(): ${handle} is not a live tensor handle`, "E_DISPOSED");
  return new Tensor(handle as Handle);
}

export function wrap(result: unknown): Tensor {
  return new Tensor(result as Handle);
}

export function wrapList(result: unknown): Tensor[] {
  return (result as Handle[]).map((h) => new Tensor(h));
}

export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}

/** The handle of a tensor argument, with a FlareError naming `what` for anything else. */
export function handleOf(value: unknown, what: string): Handle {
  if (value instanceof Tensor) return value.handle;
  throw new FlareError(`${what} must be a Tensor, got ${describe(value)}`, "E_ARGUMENT");
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return (value as object).constructor?.name ?? "an object";
  return `${typeof value} ${String(value)}`;
}
