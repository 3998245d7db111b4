// The Optimizer base class: parameter groups with their own hyper-parameters,
// per-parameter state, zeroGrad, step, and PyTorch-shaped state dicts.
import { FlareError } from "../errors.js";
import { suggestName } from "../options.js";
import { describe } from "../validate.js";
import { Tensor, tidy, keep, noGrad, enableGrad } from "../tensor/index.js";

/** One entry of an optimizer's per-parameter state: a tensor (momentum_buffer, exp_avg, ...) or a number (step). */
export type StateValue = Tensor | number;
/** The state of one parameter, keyed by PyTorch's names (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, `step`, ...). */
export type ParamState = Record<string, StateValue>;

/**
 * A parameter group: its tensors and its hyper-parameters (lr, weightDecay, ...).
 * Schedulers add their own keys (initialLr, maxLr, ...), as in PyTorch.
 */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  [key: string]: unknown;
}

/** What a caller passes for one group: the tensors and any hyper-parameters to override. */
export type ParamGroupInput<O = Record<string, unknown>> = { params: Iterable<Tensor> | Tensor } & Partial<O> & Record<string, unknown>;

/** What an optimizer takes: tensors, or parameter groups. */
export type Params<O = Record<string, unknown>> = Iterable<Tensor> | Iterable<ParamGroupInput<O>>;

/** A saved parameter group: its hyper-parameters, and `params` as indices into the optimizer's parameter order. */
export type SavedParamGroup = { params: number[]; lr: number; [key: string]: unknown };

/**
 * An optimizer's state dict, in PyTorch's structure:
 * - `state`: parameter index → that parameter's state (tensors and numbers). Parameters are
 *   numbered across the groups in order (group 0's first is 0, ...), as PyTorch does.
 * - `paramGroups`: each group's hyper-parameters, with `params` as those indices.
 *
 * The tensors are the optimizer's own (not copies, as in PyTorch): do not dispose them, and
 * clone them to keep a snapshot while training goes on. `flattenStateDict` turns this into
 * tensors plus string metadata that `io.save` writes as safetensors; `unflattenStateDict` reverses it.
 */
export interface OptimizerStateDict {
  state: Map<number, ParamState>;
  paramGroups: SavedParamGroup[];
}

const REQUIRED = Symbol("required");
/** Marks a default that every parameter group must give (PyTorch's `required`). */
export const required = REQUIRED as unknown as number;


function isIterable(value: unknown): value is Iterable<unknown> {
  return value !== null && typeof value === "object" && typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}

function copyValue<T>(value: T): T {
  return (Array.isArray(value) ? value.map(copyValue) : value) as T;
}

/**
 * Base class of all optimizers (torch.optim.Optimizer). Subclasses give their defaults to
 * the constructor, check a group's hyper-parameters in `checkGroup`, and update one group
 * in `updateGroup`, which `step()` runs inside `tidy` and `noGrad` so its temporaries are
 * freed. State tensors are made with `keep()` so they outlive the caller's tidy scopes.
 */
export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  /** The hyper-parameters a group gets when it does not give its own. */
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly paramGroups: G[] = [];
  /** Per-parameter state, created lazily by the first step that sees a gradient. */
  state = new Map<Tensor, ParamState>();

  constructor(params: Params, defaults: Record<string, unknown>) {
    this.defaults = Object.freeze({ ...defaults });
    if (params instanceof Tensor) {
      throw new FlareError("params given to the optimizer must be an iterable of Tensors or parameter groups, not a single Tensor", "E_TYPE");
    }
    if (!isIterable(params)) {
      throw new FlareError(`params given to the optimizer must be an iterable of Tensors or parameter groups, got ${describe(params)}`, "E_TYPE");
    }
    let groups = [...(params as Iterable<unknown>)];
    if (groups.length === 0) throw new FlareError("optimizer got an empty parameter list", "E_ARGUMENT");
    if (!(groups[0] !== null && typeof groups[0] === "object" && !(groups[0] instanceof Tensor) && "params" in (groups[0] as object))) {
      groups = [{ params: groups }];
    }
    for (const group of groups) this.addParamGroup(group as ParamGroupInput);
  }

  /** Adds a group (e.g. layers unfrozen while fine-tuning); hyper-parameters it lacks come from the defaults. */
  addParamGroup(input: ParamGroupInput): void {
    if (input === null || typeof input !== "object" || input instanceof Tensor || !("params" in input)) {
      throw new FlareError(`a parameter group must be an object with a "params" list, got ${describe(input)}`, "E_TYPE");
    }
    const raw = input.params;
    let params: unknown[];
    if (raw instanceof Tensor) params = [raw];
    else if (isIterable(raw)) params = [...raw];
    else throw new FlareError(`a parameter group's "params" must be a Tensor or an iterable of Tensors, got ${describe(raw)}`, "E_TYPE");
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new FlareError(`optimizer can only optimize Tensors, but parameter ${i} of the group is ${describe(p)}`, "E_TYPE");
      if (p.isDisposed) throw new FlareError(`parameter ${i} of the group is disposed`, "E_DISPOSED");
      if (!p.isLeaf) throw new FlareError(`can't optimize a non-leaf Tensor (parameter ${i} of the group was computed by ${p.gradFn})`, "E_ARGUMENT");
    });
    const tensors = params as Tensor[];
    if (new Set(tensors).size !== tensors.length) throw new FlareError("a parameter appears twice in the same parameter group", "E_ARGUMENT");
    for (const g of this.paramGroups) {
      if (g.params.some((p) => tensors.includes(p))) throw new FlareError("some parameters appear in more than one parameter group", "E_ARGUMENT");
    }
    const group: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(this.defaults)) {
      const own = input[key];
      if (own !== undefined) group[key] = copyValue(own);
      else if (value === REQUIRED) throw new FlareError(`parameter group didn't specify a value of required optimization parameter ${key}`, "E_ARGUMENT");
      else group[key] = copyValue(value);
    }
    for (const [key, value] of Object.entries(input)) {
      if (key in group || key === "params" || value === undefined) continue;
      // Extra keys are kept (PyTorch lets a group carry its own tags), but a misspelt
      // hyper-parameter would be silently ignored: refuse names close to a default's.
      const hint = suggestName(key, Object.keys(this.defaults));
      if (hint !== undefined)
        throw new FlareError(`parameter group: unknown hyper-parameter "${key}" (did you mean "${hint}"?)`, "E_ARGUMENT");
      group[key] = copyValue(value);
    }
    group.params = tensors;
    this.checkGroup(group as G);
    this.paramGroups.push(group as G);
  }

  /** Throws a FlareError when a group's hyper-parameters are invalid. */
  protected checkGroup(group: G): void {
    checkNumber(group.lr, "lr", { min: 0 });
  }

  /** Updates the parameters of one group that have a gradient. Runs under tidy and noGrad. */
  protected abstract updateGroup(group: G): void;

  /**
   * One optimization step over every group. `closure`, if given, re-evaluates the model
   * (with gradient recording on) before the update, and its result is returned.
   */
  step<T = undefined>(closure?: () => T): T | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    tidy(() => noGrad(() => { for (const group of this.paramGroups) this.updateGroup(group); }));
    return loss;
  }

  /** Clears the gradients: to null (default, as PyTorch 2 does) or, with setToNone false, to zeros. */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    const { setToNone = true } = options;
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const grad = p.grad;
        if (grad === null) continue;
        if (setToNone) { p.grad = null; continue; }
        if (grad.gradFn !== null) grad.detach_(); else grad.requiresGrad_(false);
        grad.zero_();
      }
    }
  }

  /** The state of `param`, made empty on first use. */
  protected stateOf(param: Tensor): ParamState {
    let s = this.state.get(param);
    if (!s) { s = {}; this.state.set(param, s); }
    return s;
  }

  /** The state dict (see OptimizerStateDict): references to the live state, hyper-parameters copied. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const saved: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(group)) if (key !== "params") saved[key] = copyValue(value);
      saved.params = group.params.map((p) => { if (!index.has(p)) index.set(p, index.size); return index.get(p)!; });
      return saved as SavedParamGroup;
    });
    const entries: [number, ParamState][] = [];
    for (const [param, s] of this.state) {
      const i = index.get(param);
      if (i !== undefined) entries.push([i, { ...s }]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    return { state: new Map(entries), paramGroups };
  }

  /**
   * Loads a state dict made by stateDict() (of an optimizer over parameters of the same
   * shapes, in the same groups). Tensors are copied, cast to each parameter's dtype (if
   * floating) and device, so the caller may dispose the dict afterwards. `step` may be a
   * number or a one-element tensor (as PyTorch saves it).
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    if (stateDict === null || typeof stateDict !== "object" || !Array.isArray(stateDict.paramGroups) || !(stateDict.state instanceof Map)) {
      throw new FlareError("loadStateDict(): expected { state: Map<number, state>, paramGroups: [...] } (as stateDict() returns)", "E_STATE");
    }
    const saved = stateDict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new FlareError(`loaded state dict has ${saved.length} parameter groups, the optimizer has ${this.paramGroups.length}`, "E_STATE");
    }
    const idMap = new Map<number, Tensor>();
    saved.forEach((g, gi) => {
      const mine = this.paramGroups[gi].params;
      if (!Array.isArray(g.params) || g.params.length !== mine.length) {
        throw new FlareError(`loaded state dict's parameter group ${gi} has ${Array.isArray(g.params) ? g.params.length : "no"} parameters, the optimizer's has ${mine.length}`, "E_STATE");
      }
      g.params.forEach((id, j) => idMap.set(id, mine[j]));
    });
    const newGroups = saved.map((g, gi) => {
      // Hyper-parameters the saved group lacks keep their current values.
      const group: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(this.paramGroups[gi])) if (key !== "params") group[key] = copyValue(value);
      for (const [key, value] of Object.entries(g)) if (key !== "params") group[key] = copyValue(value);
      group.params = this.paramGroups[gi].params;
      this.checkGroup(group as G);
      return group as G;
    });
    const newState = new Map<Tensor, ParamState>();
    try {
      noGrad(() => {
        for (const [id, s] of stateDict.state) {
          const param = idMap.get(id);
          if (!param) throw new FlareError(`loaded state dict has state for parameter ${id}, which no parameter group holds`, "E_STATE");
          const copy: ParamState = {};
          newState.set(param, copy);
          for (const [key, value] of Object.entries(s)) {
            if (typeof value === "number") { copy[key] = value; continue; }
            if (!(value instanceof Tensor)) throw new FlareError(`state ${key} of parameter ${id} must be a Tensor or a number, got ${describe(value)}`, "E_STATE");
            if (key === "step") { copy[key] = value.item() as number; continue; }
            if (value.shape.join() !== param.shape.join()) {
              throw new FlareError(`state ${key} of parameter ${id} has shape [${value.shape}], the parameter has [${param.shape}]`, "E_SHAPE");
            }
            const floating = /^(float|bfloat)/.test(param.dtype);
            copy[key] = keep(value.to({ dtype: floating ? param.dtype : value.dtype, device: param.device, copy: true }));
          }
        }
      });
    } catch (error) {
      disposeState(newState);
      throw error;
    }
    disposeState(this.state);
    this.state = newState;
    this.paramGroups.splice(0, this.paramGroups.length, ...newGroups);
  }

  /** Frees the state tensors; the optimizer starts afresh (as if new) on the next step. */
  dispose(): void {
    disposeState(this.state);
    this.state = new Map();
  }
}

function disposeState(state: Map<Tensor, ParamState>): void {
  for (const s of state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
}

/** Throws a FlareError unless `value` is a finite number in [min, max) / [min, max]. */
export function checkNumber(value: unknown, name: string, range: { min?: number; max?: number; maxInclusive?: boolean } = {}): asserts value is number {
  const { min, max, maxInclusive = false } = range;
  const ok = typeof value === "number" && !Number.isNaN(value) &&
    (min === undefined || value >= min) && (max === undefined || (maxInclusive ? value <= max : value < max));
  if (!ok) {
    const bounds = min !== undefined && max !== undefined ? ` (expected a number in [${min}, ${max}${maxInclusive ? "]" : ")"})`
      : min !== undefined ? ` (expected a number >= ${min})` : "";
    throw new FlareError(`Invalid ${name} value: ${describe(value)}${bounds}`, "E_ARGUMENT");
  }
}

/** Throws a FlareError unless `value` is a boolean. */
export function checkBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== "boolean") throw new FlareError(`Invalid ${name} value: ${describe(value)} (expected true or false)`, "E_ARGUMENT");
}

/**
 * A state dict as flat tensors plus string metadata, for `io.save(tensors, path, metadata)`:
 * tensors are named `${prefix}state.${index}.${key}`; the hyper-parameters and numeric state
 * go as JSON under the metadata key `${prefix}optimizer`. The tensors are the state dict's own.
 */
export function flattenStateDict(stateDict: OptimizerStateDict, prefix = ""): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const tensors = new Map<string, Tensor>();
  const numbers: Record<string, Record<string, number>> = {};
  for (const [i, s] of stateDict.state) {
    numbers[i] = {};
    for (const [key, value] of Object.entries(s)) {
      if (value instanceof Tensor) tensors.set(`${prefix}state.${i}.${key}`, value);
      else numbers[i][key] = value;
    }
  }
  const json = JSON.stringify({ paramGroups: stateDict.paramGroups, state: numbers });
  return { tensors, metadata: { [`${prefix}optimizer`]: json } };
}

/** Rebuilds a state dict from flattenStateDict's tensors and metadata (e.g. as read back from a safetensors file). */
export function unflattenStateDict(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string>, prefix = ""): OptimizerStateDict {
  const text = metadata[`${prefix}optimizer`];
  if (typeof text !== "string") throw new FlareError(`unflattenStateDict(): the metadata has no "${prefix}optimizer" entry`, "E_FORMAT");
  let parsed: { paramGroups: SavedParamGroup[]; state: Record<string, Record<string, number>> };
  try { parsed = JSON.parse(text); } catch { throw new FlareError(`unflattenStateDict(): "${prefix}optimizer" metadata is not valid JSON`, "E_FORMAT"); }
  if (!parsed || !Array.isArray(parsed.paramGroups) || typeof parsed.state !== "object") {
    throw new FlareError(`unflattenStateDict(): "${prefix}optimizer" metadata lacks paramGroups or state`, "E_FORMAT");
  }
  const state = new Map<number, ParamState>();
  const get = (i: number) => { let s = state.get(i); if (!s) { s = {}; state.set(i, s); } return s; };
  for (const [i, values] of Object.entries(parsed.state)) Object.assign(get(Number(i)), values);
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}state\\.(\\d+)\\.(.+)$`);
  for (const [name, t] of entries) {
    const m = pattern.exec(name);
    if (m) get(Number(m[1]))[m[2]] = t;
  }
  return { state: new Map([...state].sort((a, b) => a[0] - b[0])), paramGroups: parsed.paramGroups };
}
