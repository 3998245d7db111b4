// A rank's share of a batch for data-parallel training: every tensor split
// along dim 0 into worldSize near-equal row ranges (as torch.tensor_split: the
// first rows % worldSize ranks get one row more, DataParallel's shardSizes),
// inside arrays and plain objects; other values pass through.
import { FlareError } from "../errors.js";
import { Tensor } from "../tensor/index.js";
import { shardSizes } from "../nn/parallel/data_parallel.js";

function rows(value: unknown, found: Set<number>): void {
  if (value instanceof Tensor) { if (value.shape.length) found.add(value.shape[0]); return; }
  if (Array.isArray(value)) { for (const v of value) rows(v, found); return; }
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) rows(v, found);
}

/** The rows of a batch (the first size its tensors share). */
export function batchRows(batch: unknown): number {
  const sizes = new Set<number>();
  rows(batch, sizes);
  return sizes.size ? [...sizes][0] : 0;
}

export function shardBatch(batch: unknown, rank: number, worldSize: number): unknown {
  if (worldSize === 1) return batch;
  const sizes = new Set<number>();
  rows(batch, sizes);
  if (sizes.size !== 1) throw new FlareError(`data-parallel training splits each batch along dim 0, but its tensors have ${sizes.size ? `different first sizes (${[...sizes].join(", ")})` : "no batch dimension"}`, "E_SHAPE");
  const n = [...sizes][0];
  if (n < worldSize) throw new FlareError(`data-parallel training: a batch of ${n} rows can't be split over ${worldSize} processes (use a batch size of at least ${worldSize}, or drop the last batch)`, "E_SHAPE");
  const shares = shardSizes(n, Array<number>(worldSize).fill(1));
  const lo = shares.slice(0, rank).reduce((a, b) => a + b, 0), hi = lo + shares[rank];
  const cut = (value: unknown): unknown => {
    if (value instanceof Tensor) return value.shape.length ? value.narrow(0, lo, hi - lo) : value;
    if (Array.isArray(value)) return value.map(cut);
    if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cut(v)]));
    return value;
  };
  return cut(batch);
}
