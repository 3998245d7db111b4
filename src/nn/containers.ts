// Containers: Sequential, ModuleList and ModuleDict. Their children live in an
// ordered Map (so "0", "1", ... and any other names keep insertion order) and
// are reached with get(i) / get(key) rather than brackets.
import { FlareError } from "../errors.js";
import { describe } from "../validate.js";
import { Module } from "./module.js";

function checkModule(value: unknown, what: string): Module {
  if (!(value instanceof Module)) throw new FlareError(`${what} must be a Module, got ${describe(value)}`, "E_TYPE");
  return value;
}

function checkKey(name: unknown, what: string): string {
  if (typeof name !== "string") throw new FlareError(`${what}: a module name must be a string, got ${describe(name)}`, "E_ARGUMENT");
  if (name === "" || name.includes(".")) throw new FlareError(`${what}: module name can't be empty or contain ".", got "${name}"`, "E_ARGUMENT");
  return name;
}

/** Children kept in an ordered Map; the shared part of the three containers. */
abstract class Container extends Module {
  protected readonly items = new Map<string, Module>();

  protected override *members(): Generator<[string, unknown]> {
    for (const entry of super.members()) if (entry[0] !== "items") yield entry;
    yield* this.items;
  }

  override addModule(name: string, module: Module | null): void {
    checkKey(name, `${this.constructor.name}.addModule()`);
    if (module === null) { this.items.delete(name); return; }
    this.items.set(name, checkModule(module, `${this.constructor.name}.addModule(): module`));
  }

  get length(): number { return this.items.size; }

  protected position(index: number, what: string): number {
    const n = this.items.size;
    if (typeof index !== "number" || !Number.isInteger(index)) throw new FlareError(`${what}: index must be an integer, got ${describe(index)}`, "E_INDEX");
    if (index < -n || index >= n) throw new FlareError(`${what}: index ${index} is out of range for a ${this.constructor.name} of length ${n}`, "E_INDEX");
    return index < 0 ? index + n : index;
  }

  protected keyAt(index: number, what: string): string {
    return [...this.items.keys()][this.position(index, what)];
  }

  protected renumber(modules: Module[]): void {
    this.items.clear();
    modules.forEach((m, i) => this.items.set(String(i), m));
  }
}

/** Sequential and ModuleList: children named "0", "1", ... by position. */
abstract class NumberedContainer extends Container {
  /** Replaces the module at a position, keeping its name. */
  set(index: number, module: Module): void {
    const what = `${this.constructor.name}.set()`;
    this.items.set(this.keyAt(index, what), checkModule(module, `${what}: module`));
  }
  /** Removes the module at a position; the rest are renumbered "0", "1", ... as in PyTorch. */
  delete(index: number): void {
    this.items.delete(this.keyAt(index, `${this.constructor.name}.delete()`));
    this.renumber([...this.items.values()]);
  }
  append(module: Module): this {
    this.addModule(String(this.items.size), checkModule(module, `${this.constructor.name}.append(): module`));
    return this;
  }
  extend(modules: Iterable<Module>): this { for (const m of modules) this.append(m); return this; }
  insert(index: number, module: Module): this {
    checkModule(module, `${this.constructor.name}.insert(): module`);
    const n = this.items.size;
    const at = index < 0 ? Math.max(0, index + n) : Math.min(index, n);
    const list = [...this.items.values()];
    list.splice(at, 0, module);
    this.renumber(list);
    return this;
  }
}

/** Layers applied one after the other: new Sequential(a, b, c) or new Sequential(new Map([["conv", a], ...])). */
export class Sequential extends NumberedContainer {
  /** net[i] (negative counts from the end; out of range is a FlareError) and net[i] = module, as in PyTorch. */
  [index: number]: Module;

  constructor(...modules: Module[] | [Map<string, Module>] | [Record<string, Module>]) {
    super();
    const first = modules[0] as unknown;
    if (modules.length === 1 && first instanceof Map) {
      for (const [name, m] of first) this.addModule(name, checkModule(m, `Sequential(): module "${String(name)}"`));
    } else if (modules.length === 1 && first !== null && typeof first === "object" && !(first instanceof Module)) {
      for (const [name, m] of Object.entries(first)) this.addModule(name, checkModule(m, `Sequential(): module "${name}"`));
    } else {
      (modules as unknown[]).forEach((m, i) => this.addModule(String(i), checkModule(m, `Sequential(): argument ${i}`)));
    }
  }

  /** The module at a position (negative counts from the end), like net[i] in PyTorch. */
  get(index: number): Module { return this.items.get(this.keyAt(index, "Sequential.get()"))!; }
  /** net[start:end]: a Sequential of the same modules under their names. */
  slice(start = 0, end = this.items.size): Sequential {
    return new Sequential(new Map([...this.items].slice(start, end)));
  }
  [Symbol.iterator](): Iterator<Module> { return this.items.values(); }

  /** Feeds the input through each module in turn. */
  override forward<T = unknown>(input: T): T {
    let x: unknown = input;
    for (const m of this.items.values()) x = m.forward(x);
    return x as T;
  }
}

/** A list of modules, registered as children "0", "1", ... (no forward). */
export class ModuleList extends NumberedContainer {
  /** list[i] (negative counts from the end; out of range is a FlareError) and list[i] = module, as in PyTorch. */
  [index: number]: Module;

  constructor(modules: Iterable<Module> = []) {
    super();
    let i = 0;
    for (const m of modules) { this.addModule(String(i), checkModule(m, `ModuleList(): modules[${i}]`)); i++; }
  }
  get(index: number): Module { return this.items.get(this.keyAt(index, "ModuleList.get()"))!; }
  /** list[start:end]: a new ModuleList of those modules, numbered from 0. */
  slice(start = 0, end = this.items.size): ModuleList { return new ModuleList([...this.items.values()].slice(start, end)); }
  [Symbol.iterator](): Iterator<Module> { return this.items.values(); }
}

/** Modules by name, in insertion order. Iterating yields the keys, as a Python dict. */
export class ModuleDict extends Container {
  constructor(modules: Map<string, Module> | Record<string, Module> | Iterable<[string, Module]> = {}) {
    super();
    this.update(modules);
  }
  get(key: string): Module | undefined { return this.items.get(key); }
  set(key: string, module: Module): void { this.addModule(key, checkModule(module, `ModuleDict.set("${key}"): module`)); }
  has(key: string): boolean { return this.items.has(key); }
  delete(key: string): boolean { return this.items.delete(key); }
  pop(key: string): Module {
    const m = this.items.get(key);
    if (!m) throw new FlareError(`ModuleDict.pop(): no module named "${key}"`, "E_ARGUMENT");
    this.items.delete(key);
    return m;
  }
  clear(): void { this.items.clear(); }
  keys(): string[] { return [...this.items.keys()]; }
  values(): Module[] { return [...this.items.values()]; }
  entries(): [string, Module][] { return [...this.items]; }
  get size(): number { return this.items.size; }
  update(modules: Map<string, Module> | Record<string, Module> | Iterable<[string, Module]>): this {
    const entries: Iterable<[string, unknown]> = modules instanceof Map || Symbol.iterator in Object(modules)
      ? (modules as Iterable<[string, Module]>) : Object.entries(modules);
    for (const [key, m] of entries) this.set(key, m as Module);
    return this;
  }
  [Symbol.iterator](): Iterator<string> { return this.items.keys(); }
}

const INDEX = /^-?(0|[1-9][0-9]*)$/;

/**
 * net[0], net[-1] and net[0] = m on Sequential and ModuleList. A Proxy sits in
 * the prototype chain, just above the class's own prototype, rather than around
 * each instance: only a name that neither the instance nor the class has reaches
 * it (a numeric key, or an inherited method), the instance stays a plain object
 * (its private fields work), and forward(), found on the class itself, never
 * passes through it. Out-of-range indices are FlareErrors rather than undefined.
 */
function indexable(cls: typeof Sequential | typeof ModuleList): void {
  const parent = Object.getPrototypeOf(cls.prototype) as object;
  Object.setPrototypeOf(cls.prototype, new Proxy(parent, {
    get(target, key, receiver) {
      if (typeof key === "string" && INDEX.test(key)) return (receiver as Sequential | ModuleList).get(Number(key));
      return Reflect.get(target, key, receiver);
    },
    set(target, key, value, receiver) {
      if (typeof key === "string" && INDEX.test(key)) { (receiver as NumberedContainer).set(Number(key), value as Module); return true; }
      return Reflect.set(target, key, value, receiver);
    },
  }));
}
indexable(Sequential);
indexable(ModuleList);

