// distributed.KVStore: the key-value store of d2l's parameter-server section
// (MXNet's kvstore). Named tensors: init(key, value) stores a value; push(key,
// values) sums the pushed tensors (over the list, and with a process group over
// every rank, by allreduce) and hands the aggregate to the updater (by default:
// the stored value becomes the aggregate); pull(key, out?) returns the stored
// value (or copies it into out). With a group, push is a collective: every rank
// pushes the same keys in the same order, as with any allreduce.
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import { Tensor, keep, noGrad, tidy } from "../tensor/index.js";

/** What the store needs from a process group: a summing allreduce in place (a ProcessGroup, or the distributed module itself). */
export interface AllReduceGroup {
  allReduce(tensor: Tensor): unknown;
}

/** updater(key, aggregate, stored) updates `stored` in place (an optimizer step on the server). */
export type KVUpdater = (key: string | number, aggregate: Tensor, stored: Tensor) => void;

export interface KVStoreOptions {
  /** Aggregate over every rank of this group ("dist_sync"); without it the store is local to this process. */
  group?: AllReduceGroup;
}

type Key = string | number;

function keyText(key: Key): string { return typeof key === "string" ? JSON.stringify(key) : String(key); }

export class KVStore {
  readonly #values = new Map<Key, Tensor>();
  readonly #group: AllReduceGroup | null;
  #updater: KVUpdater | null = null;
  #disposed = false;

  constructor(options: KVStoreOptions = {}) {
    const o = checkOptions(options, ["group"], "KVStore()") ?? {};
    if (o.group !== undefined && (o.group === null || typeof (o.group as AllReduceGroup).allReduce !== "function"))
      throw new FlareError("KVStore(): group must be a process group (an object with allReduce(tensor))", "E_TYPE");
    this.#group = o.group ?? null;
  }

  /** "local", or "dist_sync" over a process group (MXNet's names). */
  get type(): "local" | "dist_sync" { return this.#group ? "dist_sync" : "local"; }

  #check(key: unknown, what: string): Key {
    if (this.#disposed) throw new FlareError(`KVStore.${what}(): the store was disposed`, "E_DISPOSED");
    if (!(typeof key === "string" || (typeof key === "number" && Number.isInteger(key))))
      throw new FlareError(`KVStore.${what}(): key must be a string or an integer, got ${typeof key === "number" ? key : typeof key}`, "E_TYPE");
    return key;
  }

  #stored(key: Key, what: string): Tensor {
    const value = this.#values.get(key);
    if (!value) throw new FlareError(`KVStore.${what}(): key ${keyText(key)} was not init()-ed`, "E_ARGUMENT");
    return value;
  }

  /** Stores a copy of value under key (once per key). */
  init(key: Key, value: Tensor): void {
    this.#check(key, "init");
    if (!(value instanceof Tensor)) throw new FlareError(`KVStore.init(): value for key ${keyText(key)} must be a Tensor`, "E_TYPE");
    if (this.#values.has(key)) throw new FlareError(`KVStore.init(): key ${keyText(key)} is already initialised`, "E_ARGUMENT");
    this.#values.set(key, keep(noGrad(() => value.detach().clone())));
  }

  /** Sums value (or the list of values) — over all ranks with a group — and applies the updater to the stored value. */
  push(key: Key, value: Tensor | Tensor[]): void {
    this.#check(key, "push");
    const stored = this.#stored(key, "push");
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0) throw new FlareError(`KVStore.push(): an empty list for key ${keyText(key)}`, "E_ARGUMENT");
    list.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new FlareError(`KVStore.push(): value ${i} for key ${keyText(key)} is not a Tensor`, "E_TYPE");
      if (t.shape.join() !== stored.shape.join())
        throw new FlareError(`KVStore.push(): value ${i} for key ${keyText(key)} has shape [${t.shape.join(", ")}], the stored one [${stored.shape.join(", ")}]`, "E_SHAPE");
    });
    tidy(() => noGrad(() => {
      // Summed on the stored value's device and dtype (d2l sums on one device, then broadcasts).
      let aggregate = list[0].to({ device: stored.device, dtype: stored.dtype }).clone();
      for (const t of list.slice(1)) aggregate = aggregate.add_(t.to({ device: stored.device, dtype: stored.dtype }));
      this.#group?.allReduce(aggregate);
      if (this.#updater) this.#updater(key, aggregate, stored);
      else stored.copy_(aggregate);
    }));
  }

  /** The stored value: a new tensor, or copied into out (a tensor or a list of tensors, one per device) and returned. */
  pull(key: Key, out?: Tensor | Tensor[]): Tensor {
    this.#check(key, "pull");
    const stored = this.#stored(key, "pull");
    if (out === undefined) return noGrad(() => stored.clone());
    const list = Array.isArray(out) ? out : [out];
    if (list.length === 0) throw new FlareError(`KVStore.pull(): out is an empty list for key ${keyText(key)}`, "E_ARGUMENT");
    list.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new FlareError(`KVStore.pull(): out ${i} for key ${keyText(key)} is not a Tensor`, "E_TYPE");
      if (t.shape.join() !== stored.shape.join())
        throw new FlareError(`KVStore.pull(): out ${i} for key ${keyText(key)} has shape [${t.shape.join(", ")}], the stored one [${stored.shape.join(", ")}]`, "E_SHAPE");
    });
    noGrad(() => { for (const t of list) t.copy_(stored); });
    return list[0];
  }

  /** Replaces "stored = aggregate" by updater(key, aggregate, stored) (MXNet's set_updater; d2l's server-side update). */
  setUpdater(updater: KVUpdater | null): void {
    if (updater !== null && typeof updater !== "function") throw new FlareError("KVStore.setUpdater(): updater must be a function or null", "E_TYPE");
    this.#updater = updater;
  }

  /** The keys, in init() order. */
  keys(): Key[] { return [...this.#values.keys()]; }

  dispose(): void {
    for (const t of this.#values.values()) t.dispose();
    this.#values.clear();
    this.#disposed = true;
  }
}
