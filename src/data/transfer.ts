// Moving batches between threads: tensors travel as released handles (no copy),
// everything else as structured-clone data. Also the bookkeeping that frees
// sample tensors once they are collated.
import { Tensor, adopt } from "../tensor/index.js";

const TAG = "__flareTensor";
type Packed = { [TAG]: number };

function isPacked(value: unknown): value is Packed {
  return typeof value === "object" && value !== null && typeof (value as Packed)[TAG] === "number" && Object.keys(value).length === 1;
}

/** Objects structured clone copies as they are (everything else is walked as a plain object). */
function isOpaque(value: object): boolean {
  return value instanceof Date || value instanceof RegExp || value instanceof ArrayBuffer || value instanceof Error;
}

/** Every tensor reachable from value through arrays, Maps, Sets and objects. */
export function tensorsIn(value: unknown, into = new Set<Tensor>(), seen = new Set<unknown>()): Set<Tensor> {
  if (value === null || typeof value !== "object" || seen.has(value)) return into;
  seen.add(value);
  if (value instanceof Tensor) { into.add(value); return into; }
  if (ArrayBuffer.isView(value)) return into;
  if (Array.isArray(value) || value instanceof Set) { for (const v of value) tensorsIn(v, into, seen); return into; }
  if (value instanceof Map) { for (const v of value.values()) tensorsIn(v, into, seen); return into; }
  for (const v of Object.values(value)) tensorsIn(v, into, seen);
  return into;
}

/** Frees the tensors of `value` that `keep` does not hold (samples after collation). */
export function disposeExcept(value: unknown, keep: unknown): void {
  const kept = tensorsIn(keep);
  for (const t of tensorsIn(value)) if (!kept.has(t) && !t.isDisposed) t.dispose();
}

/**
 * Replaces each tensor by {__flareTensor: handle}; the tensors are released
 * (their wrappers no longer free them). Returns the handles too, to take them
 * back with reclaim() if posting fails.
 */
export function pack(value: unknown): { packed: unknown; handles: number[] } {
  const handles = new Map<Tensor, number>();
  const packed = mapStructure(value, (v) => {
    if (!(v instanceof Tensor)) return undefined;
    let h = handles.get(v);
    if (h === undefined) { h = v.release() as number; handles.set(v, h); }
    return { [TAG]: h };
  });
  return { packed, handles: Array.from(handles.values()) };
}

/** Takes ownership of handles back (after a failed post). */
export function reclaim(handles: number[]): void {
  for (const h of handles) { try { adopt(h).dispose(); } catch { /* already gone */ } }
}

/** The inverse of pack(): adopts every handle (once each) on this thread. */
export function unpack(value: unknown): unknown {
  const adopted = new Map<number, Tensor>();
  return mapStructure(value, (v) => {
    if (!isPacked(v)) return undefined;
    let t = adopted.get(v[TAG]);
    if (!t) { t = adopt(v[TAG]); adopted.set(v[TAG], t); }
    return t;
  });
}

/**
 * Rebuilds arrays, Maps, Sets and plain objects around their contents; `leaf`
 * replaces the objects it recognises (returning undefined leaves them to the walk).
 */
function mapStructure(value: unknown, leaf: (v: object) => unknown): unknown {
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    const replaced = leaf(v);
    if (replaced !== undefined) return replaced;
    if (ArrayBuffer.isView(v)) return v;
    if (Array.isArray(v)) return v.map(walk);
    if (v instanceof Map) return new Map(Array.from(v, ([k, x]) => [k, walk(x)]));
    if (v instanceof Set) return new Set(Array.from(v, walk));
    if (isOpaque(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x);
    return out;
  };
  return walk(value);
}

/** The handles inside a packed value (to free a batch nobody will consume). */
export function packedHandles(value: unknown, into: number[] = []): number[] {
  if (value === null || typeof value !== "object") return into;
  if (isPacked(value)) { into.push(value[TAG]); return into; }
  if (ArrayBuffer.isView(value)) return into;
  if (Array.isArray(value) || value instanceof Set) { for (const v of value) packedHandles(v, into); return into; }
  if (value instanceof Map) { for (const v of value.values()) packedHandles(v, into); return into; }
  for (const v of Object.values(value)) packedHandles(v, into);
  return into;
}
