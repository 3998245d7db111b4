// Module: the base of every layer and model, as torch.nn.Module.
//
// Registration is by assignment: a module's own enumerable properties are
// walked in insertion order; a Parameter is a parameter, a Module is a child.
// Buffers are registered with registerBuffer(name, tensor), which turns the
// property into an accessor whose setter keeps the new tensor a buffer (and
// exempt from tidy), so `this.running_mean = t` keeps working. Declare buffer
// fields with `declare` in TypeScript so no class field shadows the accessor.
// Modules kept in arrays or plain objects are not registered (as in PyTorch):
// use ModuleList / ModuleDict.
import { FlareError } from "../errors.js";
import { guardMethods } from "../validate.js";
import { Tensor, describe } from "../tensor/tensor.js";
import { noGrad } from "../tensor/autograd.js";
import { keep, tidy } from "../tensor/scope.js";
import { isFloating, type DType } from "../tensor/dtype.js";
import { Parameter } from "./parameter.js";

export type StateDict = Map<string, Tensor>;
export type ToTarget = DType | string | { dtype?: DType; device?: string };

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

const DEVICE = /^(cpu|cuda|mps|meta)(:\d+)?$/;

function checkName(name: unknown, kind: string, owner: Module): string {
  if (typeof name !== "string") throw new FlareError(`${kind} name must be a string, got ${describe(name)}`, "E_ARGUMENT");
  if (name === "") throw new FlareError(`${kind} name can't be empty`, "E_ARGUMENT");
  if (name.includes(".")) throw new FlareError(`${kind} name can't contain ".", got "${name}"`, "E_ARGUMENT");
  if (name in Module.prototype || (name in owner && typeof (owner as unknown as Record<string, unknown>)[name] === "function"))
    throw new FlareError(`${kind} name "${name}" clashes with a method of ${owner.constructor.name}`, "E_ARGUMENT");
  return name;
}

function shapeText(shape: number[]): string { return `[${shape.join(", ")}]`; }

export class Module {
  /** Whether the module is in training mode (train()) or evaluation mode (eval()). */
  training = true;
  readonly #buffers = new Map<string, Tensor | null>();
  readonly #nonPersistent = new Set<string>();

  constructor() {
    // Each forward() call is its own tidy() scope, as a Python function's locals
    // die when it returns: a module's intermediate tensors are freed as soon as
    // it returns (autograd keeps what backward needs), so peak memory and the
    // allocator's work match PyTorch's. Tensors a forward() stores on the
    // module must be keep()-ed (buffers are, by registerBuffer).
    const forward = this.forward;
    Object.defineProperty(this, "forward", {
      value: (...args: unknown[]) => tidy(() => forward.apply(this, args)),
      enumerable: false, writable: true, configurable: true,
    });
  }

  /** The computation. Subclasses override it; users call net.forward(x). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(...args: any[]): any {
    void args;
    throw new FlareError(`${this.constructor.name} has no forward(): override it in the subclass`, "E_NOT_IMPLEMENTED");
  }

  // ---- registration --------------------------------------------------------

  /**
   * The (name, value) pairs that may be parameters, buffers or children, in
   * registration order. Containers override it to add their own children.
   */
  protected *members(): Generator<[string, unknown]> {
    const self = this as unknown as Record<string, unknown>;
    for (const key of Object.keys(this)) yield [key, self[key]];
  }

  /** Registers a buffer: state that is not a parameter (running statistics). null registers an empty slot. */
  registerBuffer(name: string, tensor: Tensor | null, options: { persistent?: boolean } = {}): void {
    checkName(name, "buffer", this);
    if (!this.#buffers.has(name)) {
      const current = (this as unknown as Record<string, unknown>)[name];
      if (current instanceof Parameter || current instanceof Module)
        throw new FlareError(`attribute "${name}" of ${this.constructor.name} is already a ${current instanceof Module ? "submodule" : "parameter"}`, "E_ARGUMENT");
      Object.defineProperty(this, name, {
        enumerable: true,
        configurable: true,
        get: () => this.#buffers.get(name) ?? null,
        set: (value: unknown) => this.#setBuffer(name, value),
      });
    }
    this.#setBuffer(name, tensor);
    if (options.persistent ?? true) this.#nonPersistent.delete(name); else this.#nonPersistent.add(name);
  }

  #setBuffer(name: string, value: unknown): void {
    if (value !== null && !(value instanceof Tensor))
      throw new FlareError(`cannot assign ${describe(value)} as buffer "${name}" of ${this.constructor.name} (a Tensor or null is required)`, "E_TYPE");
    if (value) keep(value);
    this.#buffers.set(name, value);
  }

  /** Registers a parameter (or null, an empty slot), as `this[name] = param`. */
  registerParameter(name: string, param: Parameter | null): void {
    checkName(name, "parameter", this);
    if (param !== null && !(param instanceof Parameter))
      throw new FlareError(`cannot assign ${describe(param)} as parameter "${name}" (a Parameter or null is required)`, "E_TYPE");
    if (this.#buffers.has(name)) throw new FlareError(`attribute "${name}" of ${this.constructor.name} is already a buffer`, "E_ARGUMENT");
    (this as unknown as Record<string, unknown>)[name] = param;
  }

  /** Adds a child module, as `this[name] = module`. */
  addModule(name: string, module: Module | null): void {
    checkName(name, "module", this);
    if (module !== null && !(module instanceof Module))
      throw new FlareError(`${describe(module)} is not a Module subclass`, "E_TYPE");
    (this as unknown as Record<string, unknown>)[name] = module;
  }
  registerModule(name: string, module: Module | null): void { this.addModule(name, module); }

  // ---- traversal -----------------------------------------------------------

  #localParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [name, value] of this.members()) if (value instanceof Parameter) out.push([name, value]);
    return out;
  }

  #localBuffers(persistentOnly = false): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, value] of this.#buffers) {
      if (value && !(persistentOnly && this.#nonPersistent.has(name))) out.push([name, value]);
    }
    return out;
  }

  /** Immediate children, with duplicates (the same module under two names) once. */
  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    for (const [name, value] of this.members()) {
      if (value instanceof Module && !seen.has(value)) { seen.add(value); out.push([name, value]); }
    }
    return out;
  }
  children(): Module[] { return this.namedChildren().map(([, m]) => m); }

  /** This module and every descendant, depth first, with dotted names ("" for this one). */
  namedModules(options: { prefix?: string; removeDuplicate?: boolean } = {}): [string, Module][] {
    const { prefix = "", removeDuplicate = true } = options;
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    const visit = (module: Module, name: string) => {
      if (removeDuplicate) { if (seen.has(module)) return; seen.add(module); }
      out.push([name, module]);
      for (const [childName, value] of module.members()) {
        if (value instanceof Module) visit(value, name ? `${name}.${childName}` : childName);
      }
    };
    visit(this, prefix);
    return out;
  }
  modules(): Module[] { return this.namedModules().map(([, m]) => m); }

  #namedTensors<T extends Tensor>(local: (m: Module) => [string, T][], options: { prefix?: string; recurse?: boolean; removeDuplicate?: boolean }): [string, T][] {
    const { prefix = "", recurse = true, removeDuplicate = true } = options;
    const modules: [string, Module][] = recurse ? this.namedModules({ prefix, removeDuplicate }) : [[prefix, this]];
    const seen = new Set<Tensor>();
    const out: [string, T][] = [];
    for (const [modulePrefix, module] of modules) {
      for (const [name, t] of local(module)) {
        if (seen.has(t)) continue;
        if (removeDuplicate) seen.add(t);
        out.push([modulePrefix ? `${modulePrefix}.${name}` : name, t]);
      }
    }
    return out;
  }

  /** Parameters with PyTorch's dotted names (`layer1.0.bn1.weight`), shared ones once. */
  namedParameters(options: { prefix?: string; recurse?: boolean; removeDuplicate?: boolean } = {}): [string, Parameter][] {
    return this.#namedTensors((m) => m.#localParameters(), options);
  }
  parameters(options: { recurse?: boolean } = {}): Parameter[] { return this.namedParameters(options).map(([, p]) => p); }

  /** Buffers (non-persistent ones included) with dotted names. */
  namedBuffers(options: { prefix?: string; recurse?: boolean; removeDuplicate?: boolean } = {}): [string, Tensor][] {
    return this.#namedTensors((m) => m.#localBuffers(), options);
  }
  buffers(options: { recurse?: boolean } = {}): Tensor[] { return this.namedBuffers(options).map(([, b]) => b); }

  /** The module at a dotted path ("layer1.0.conv1"); "" is this module. */
  getSubmodule(target: string): Module {
    if (target === "") return this;
    return target.split(".").reduce<Module>((module, part) => {
      const child = module.#child(part);
      if (!child) throw new FlareError(`${module.constructor.name} has no submodule "${part}" (looking up "${target}")`, "E_ARGUMENT");
      return child;
    }, this);
  }

  #child(name: string): Module | undefined {
    for (const [key, value] of this.members()) if (key === name && value instanceof Module) return value;
    return undefined;
  }

  // ---- modes and bulk operations -------------------------------------------

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    if (typeof mode !== "boolean") throw new FlareError(`train(): mode must be true or false, got ${describe(mode)}`, "E_ARGUMENT");
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  /** Evaluation mode (dropout off, batch norm uses running statistics). */
  eval(): this { return this.train(false); }

  /** Calls fn on every descendant (children first) and then on this module. */
  apply(fn: (module: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Sets every parameter's requiresGrad (freezing with false). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** Clears the gradients: to null (PyTorch 2's default), or to zeros with setToNone false. */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    const setToNone = options.setToNone ?? true;
    for (const p of this.parameters()) {
      if (setToNone) { p.grad = null; continue; }
      const g = p.grad;
      if (g) noGrad(() => { g.detach_(); g.requiresGrad_(false); g.zero_(); });
    }
  }

  /**
   * Moves and/or casts parameters and buffers in place: to("float64"),
   * to("cuda:0"), to({ dtype, device }). The Parameter and buffer objects stay
   * the same (their data is replaced, as PyTorch's param.data = ...), so an
   * optimizer made before keeps working. dtype casts touch floating tensors only.
   */
  to(target: ToTarget): this {
    let dtype: string | undefined, device: string | undefined;
    if (typeof target === "string") { if (DEVICE.test(target)) device = target; else dtype = target; }
    else if (target && typeof target === "object") ({ dtype, device } = target);
    else throw new FlareError(`to(): expected a dtype, a device or { dtype, device }, got ${describe(target)}`, "E_ARGUMENT");
    if (dtype !== undefined && !isFloating(dtype as DType))
      throw new FlareError(`Module.to() only accepts floating point dtypes, but got dtype=${dtype}`, "E_DTYPE");
    const convert = (t: Tensor) => {
      const options = { dtype: dtype !== undefined && isFloating(t.dtype) ? (dtype as DType) : undefined, device };
      const converted = t.to(options);
      if (converted !== t) { t.setData(converted); converted.dispose(); }
      const grad = t.grad;
      if (grad) {
        const convertedGrad = grad.to(options);
        if (convertedGrad !== grad) { t.grad = convertedGrad; convertedGrad.dispose(); }
      }
    };
    noGrad(() => {
      const seen = new Set<Tensor>();
      for (const m of this.modules()) {
        for (const [, t] of [...m.#localParameters(), ...m.#localBuffers()]) {
          if (!seen.has(t)) { seen.add(t); convert(t); }
        }
      }
    });
    return this;
  }
  float(): this { return this.to("float32"); }
  double(): this { return this.to("float64"); }
  half(): this { return this.to("float16"); }
  cpu(): this { return this.to("cpu"); }
  cuda(device = 0): this { return this.to(`cuda:${device}`); }

  /** Frees every parameter and buffer of this module and its descendants now. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const [, p] of m.#localParameters()) p.dispose();
      for (const [, b] of m.#localBuffers()) b.dispose();
    }
  }
  [Symbol.dispose](): void { this.dispose(); }

  // ---- state dict -----------------------------------------------------------

  /**
   * PyTorch's state dict: per module its parameters, then its persistent
   * buffers, then its children's entries recursively, with dotted keys. The
   * values are detached tensors sharing the module's storage (with keepVars,
   * the Parameter and buffer objects themselves).
   */
  stateDict(options: { prefix?: string; keepVars?: boolean } = {}): StateDict {
    const out: StateDict = new Map();
    const keepVars = options.keepVars ?? false;
    const visit = (module: Module, prefix: string) => {
      for (const [name, t] of [...module.#localParameters(), ...module.#localBuffers(true)]) {
        out.set(prefix + name, keepVars ? t : t.detach());
      }
      for (const [name, value] of module.members()) if (value instanceof Module) visit(value, `${prefix}${name}.`);
    };
    visit(this, options.prefix ?? "");
    return out;
  }

  /**
   * Copies a state dict's values into this module's parameters and buffers
   * (in place, without recording gradients). All checks run first: a shape
   * mismatch, a non-tensor value or (with strict, the default) a missing or
   * unexpected key throws a FlareError naming all of them, and nothing is
   * copied. Returns the missing and unexpected keys.
   */
  loadStateDict(stateDict: Map<string, Tensor> | Record<string, Tensor>, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    if (stateDict === null || typeof stateDict !== "object")
      throw new FlareError(`loadStateDict(): expected a Map or an object of tensors, got ${describe(stateDict)}`, "E_ARGUMENT");
    // A copy: a module's loadStateDictPreHook may drop keys (as PyTorch's load_state_dict copies too).
    const entries: Map<string, unknown> = new Map(stateDict instanceof Map ? stateDict : Object.entries(stateDict));
    const missingKeys: string[] = [], unexpectedKeys: string[] = [], errors: string[] = [];
    const copies: [Tensor, Tensor][] = [];
    const visit = (module: Module, prefix: string) => {
      module.loadStateDictPreHook(entries, prefix);
      const local = new Map([...module.#localParameters(), ...module.#localBuffers(true)]);
      for (const [name, target] of local) {
        const key = prefix + name;
        if (!entries.has(key)) { missingKeys.push(key); continue; }
        const value = entries.get(key);
        if (!(value instanceof Tensor)) {
          errors.push(`While copying the parameter named "${key}", expected a Tensor from checkpoint but received ${describe(value)}`);
        } else if (value.isDisposed) {
          errors.push(`the checkpoint's tensor for "${key}" has been disposed`);
        } else if (shapeText(value.shape) !== shapeText(target.shape)) {
          errors.push(`size mismatch for ${key}: copying a param with shape ${shapeText(value.shape)} from checkpoint, the shape in current model is ${shapeText(target.shape)}.`);
        } else {
          copies.push([target, value]);
        }
      }
      const children = new Set<string>();
      for (const [name, value] of module.members()) if (value instanceof Module) children.add(name);
      for (const key of entries.keys()) {
        if (!key.startsWith(prefix)) continue;
        const head = key.slice(prefix.length).split(".", 1)[0];
        if (!children.has(head) && !local.has(head)) unexpectedKeys.push(key);
      }
      for (const [name, value] of module.members()) if (value instanceof Module) visit(value, `${prefix}${name}.`);
    };
    visit(this, "");
    if (strict) {
      if (unexpectedKeys.length > 0) errors.unshift(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}.`);
      if (missingKeys.length > 0) errors.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(", ")}.`);
    }
    if (errors.length > 0)
      throw new FlareError(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join("\n\t")}`, errors.some((e) => e.startsWith("size")) ? "E_SHAPE" : "E_ARGUMENT");
    noGrad(() => { for (const [target, value] of copies) target.copy_(value); });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Called by loadStateDict() on each module before its keys (prefix + name) are
   * matched, with a private copy of the state dict: PyTorch's _load_from_state_dict
   * override point (FrozenBatchNorm2d drops `num_batches_tracked` here).
   */
  protected loadStateDictPreHook(stateDict: Map<string, unknown>, prefix: string): void { void stateDict; void prefix; }

  // ---- printing -------------------------------------------------------------

  /** The text inside this module's parentheses in its repr (PyTorch's extra_repr). */
  extraRepr(): string { return ""; }

  /** PyTorch's repr: the module tree with each layer's settings. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split("\n") : [];
    const childLines: string[] = [];
    for (const [name, value] of this.members()) {
      if (!(value instanceof Module)) continue;
      const text = value.toString().split("\n").map((l, i) => (i === 0 ? l : `  ${l}`)).join("\n");
      childLines.push(`(${name}): ${text}`);
    }
    const lines = [...extraLines, ...childLines];
    let text = `${this.constructor.name}(`;
    if (extraLines.length === 1 && childLines.length === 0) text += extraLines[0];
    else if (lines.length > 0) text += `\n  ${lines.join("\n  ")}\n`;
    return `${text})`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string { return this.toString(); }
}

// Assigning over a Module method (`net.parameters = ...`, `net.eval = false`) would
// silently shadow it for that instance: PyTorch allows it, flare refuses it with a
// FlareError. `forward` stays assignable (each instance owns it, see the constructor),
// and subclasses still override methods in their class bodies.
guardMethods(Module.prototype,
  (self, name) => `cannot assign to ${self.constructor.name}.${name}: it is a method of nn.Module; store the value under another name`, ["forward"]);
