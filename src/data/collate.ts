// Collation: a list of samples -> one batch, as torch.utils.data's default_collate,
// and d2l's detection batches (boxes padded to a fixed count with class -1).
import { FlareError } from "../errors.js";
import { Tensor, cat, fromTypedArray, full, stack, tensor, tidy, type DType } from "../tensor/index.js";
import { native } from "../tensor/native.js";
import { checkOptions } from "../options.js";

export type CollateFn<T = unknown, B = unknown> = (samples: T[]) => B;

/**
 * How a worker thread rebuilds a built-in collate function (functions cannot be
 * posted to a thread). Internal: set on the functions this file makes.
 */
export type CollateSpec = { kind: "default" } | { kind: "unbatched" } | { kind: "detection"; options: DetectionCollateOptions }
  | { kind: "normalize"; options: NormalizeCollateOptions };
export const COLLATE_SPEC = Symbol.for("flare.data.collateSpec");

export function collateSpecOf(fn: unknown): CollateSpec | undefined {
  return typeof fn === "function" ? (fn as { [COLLATE_SPEC]?: CollateSpec })[COLLATE_SPEC] : undefined;
}

export function collateFromSpec(spec: CollateSpec): CollateFn {
  if (spec.kind === "default") return defaultCollate;
  if (spec.kind === "unbatched") return unbatched;
  if (spec.kind === "detection") return detectionCollate(spec.options);
  if (spec.kind === "normalize") return normalizeCollate(spec.options);
  throw new FlareError(`unknown collate spec ${JSON.stringify(spec)}`, "E_INTERNAL");
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Tensor) return `Tensor${JSON.stringify(value.shape)}`;
  if (Array.isArray(value)) return `array of ${value.length}`;
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function collateAt(batch: unknown[], path: string): unknown {
  const first = batch[0];
  const where = path ? ` at ${path}` : "";
  const sameKind = (test: (v: unknown) => boolean, what: string) => {
    batch.forEach((v, k) => {
      if (!test(v)) throw new FlareError(`defaultCollate(): sample ${k}${where} is ${describe(v)}, sample 0 is ${what}`, "E_TYPE");
    });
  };
  if (first instanceof Tensor) {
    sameKind((v) => v instanceof Tensor, describe(first));
    const tensors = batch as Tensor[];
    const shape = JSON.stringify(first.shape);
    tensors.forEach((t, k) => {
      if (JSON.stringify(t.shape) !== shape)
        throw new FlareError(`defaultCollate(): tensors${where} must have equal shapes to be stacked: sample 0 is ${shape}, sample ${k} is ${JSON.stringify(t.shape)}`, "E_SHAPE");
    });
    return stack(tensors, 0);
  }
  if (typeof first === "number") {
    sameKind((v) => typeof v === "number", "a number");
    const numbers = batch as number[];
    // JavaScript has one number type: integers become int64 (labels), others float32.
    return tensor(numbers, { dtype: numbers.every(Number.isInteger) ? "int64" : "float32" });
  }
  if (typeof first === "bigint") {
    sameKind((v) => typeof v === "bigint", "a bigint");
    return fromTypedArray(BigInt64Array.from(batch as bigint[]), [batch.length]);
  }
  if (typeof first === "boolean") {
    sameKind((v) => typeof v === "boolean", "a boolean");
    return tensor(batch as boolean[], { dtype: "bool" });
  }
  if (typeof first === "string") {
    sameKind((v) => typeof v === "string", "a string");
    return batch.slice();
  }
  if (ArrayBuffer.isView(first) && !(first instanceof DataView)) {
    sameKind((v) => ArrayBuffer.isView(v) && v.constructor === first.constructor, first.constructor.name);
    const arrays = batch as unknown as ArrayLike<number>[];
    const length = arrays[0].length;
    arrays.forEach((a, k) => {
      if (a.length !== length) throw new FlareError(`defaultCollate(): typed arrays${where} must have equal lengths: sample 0 has ${length}, sample ${k} has ${a.length}`, "E_SHAPE");
    });
    const Ctor = first.constructor as { new(n: number): { set(a: ArrayLike<number>, offset: number): void } };
    const joined = new Ctor(length * arrays.length);
    arrays.forEach((a, k) => joined.set(a, k * length));
    return fromTypedArray(joined as unknown as ArrayBufferView, [arrays.length, length]);
  }
  if (Array.isArray(first)) {
    sameKind(Array.isArray, "an array");
    const arrays = batch as unknown[][];
    arrays.forEach((a, k) => {
      if (a.length !== first.length) throw new FlareError(`defaultCollate(): each element in the batch should be of equal size: sample 0${where} has ${first.length} elements, sample ${k} has ${a.length}`, "E_SHAPE");
    });
    return first.map((_, j) => collateAt(arrays.map((a) => a[j]), `${path}[${j}]`));
  }
  if (first instanceof Map) {
    sameKind((v) => v instanceof Map, "a Map");
    const out = new Map<unknown, unknown>();
    for (const key of first.keys()) out.set(key, collateAt(batch.map((m, k) => {
      if (!(m as Map<unknown, unknown>).has(key)) throw new FlareError(`defaultCollate(): sample ${k}${where} has no key ${String(key)}`, "E_TYPE");
      return (m as Map<unknown, unknown>).get(key);
    }), `${path}.${String(key)}`));
    return out;
  }
  if (isPlainObject(first)) {
    sameKind(isPlainObject, "an object");
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(first)) out[key] = collateAt(batch.map((o, k) => {
      if (!(key in (o as object))) throw new FlareError(`defaultCollate(): sample ${k}${where} has no key '${key}'`, "E_TYPE");
      return (o as Record<string, unknown>)[key];
    }), path ? `${path}.${key}` : key);
    return out;
  }
  throw new FlareError(`defaultCollate(): samples${where} must be tensors, numbers, booleans, strings, typed arrays, arrays, Maps or plain objects; found ${describe(first)}`, "E_TYPE");
}

/**
 * torch.utils.data.default_collate: stacks tensors along a new first dimension,
 * turns numbers into a tensor (int64 if all are integers, else float32) and
 * booleans into a bool tensor, keeps strings as an array, and recurses into
 * arrays (position by position), Maps and plain objects (key by key).
 */
export function defaultCollate<B = unknown>(samples: unknown[]): B {
  if (!Array.isArray(samples) || samples.length === 0) throw new FlareError("defaultCollate(): needs a non-empty array of samples", "E_ARGUMENT");
  return tidy(() => collateAt(samples, "")) as B;
}
(defaultCollate as unknown as Record<symbol, CollateSpec>)[COLLATE_SPEC] = { kind: "default" };

/** The "collate" of a loader with batchSize null: the one sample as it is. */
export function unbatched<T>(samples: T[]): T { return samples[0]; }
(unbatched as unknown as Record<symbol, CollateSpec>)[COLLATE_SPEC] = { kind: "unbatched" };

export interface DetectionCollateOptions {
  /** Boxes per image after padding; default the largest count in the batch. More is an error. */
  maxObjects?: number;
  /** The value of padding rows (default -1, so class -1 marks them). */
  padValue?: number;
}

/** A detection batch made from `{boxes, labels}` targets. */
export interface DetectionBatch { images: Tensor; boxes: Tensor; labels: Tensor; counts: Tensor }

function padRows(rows: Tensor, count: number, maxObjects: number, padValue: number, dtype: DType, what: string): Tensor {
  if (count > maxObjects) throw new FlareError(`detectionCollate(): ${what} has ${count} objects, more than maxObjects = ${maxObjects}`, "E_SHAPE");
  const tail = rows.shape.slice(1);
  const body = rows.to(dtype);
  if (count === maxObjects) return body;
  return cat([body, full([maxObjects - count, ...tail], padValue, { dtype })], 0);
}

/**
 * The tensor of a target's boxes: a plain [K, 4] tensor, or the data of a
 * vision transform's BoundingBoxes (read structurally: data/ sits below
 * vision/). The batch holds xyxy boxes and the collate does no box math, so
 * other formats are an error that says how to convert.
 */
function xyxyData(boxes: unknown, k: number): unknown {
  if (boxes instanceof Tensor || boxes === null || typeof boxes !== "object") return boxes;
  const { data, format } = boxes as { data?: unknown; format?: unknown };
  if (!(data instanceof Tensor)) return boxes;
  if (format !== undefined && format !== "xyxy")
    throw new FlareError(`detectionCollate(): the boxes of sample ${k} are in ${String(format)} format, but batches hold xyxy boxes: convert them first (transforms.ConvertBoundingBoxFormat("xyxy"))`, "E_ARGUMENT");
  return data;
}

/**
 * Detection batches with a regular shape, as d2l: each sample is [image, target]
 * where target is either
 * - a K×5 tensor of rows [class, x1, y1, x2, y2] (d2l's banana labels): the batch is
 *   [images N×C×H×W, labels N×maxObjects×5] with padding rows of -1 (class -1); or
 * - an object {boxes: K×4 (a tensor, or xyxy BoundingBoxes), labels: K, ...}: the batch is {images, boxes N×M×4,
 *   labels N×M (class -1 in padding), counts N (int64: the real box count per image)}.
 * Images are stacked (they must share a size).
 */
export function detectionCollate(options: DetectionCollateOptions = {}): CollateFn<unknown, [Tensor, Tensor] | DetectionBatch> {
  const { maxObjects, padValue = -1 } = options;
  if (maxObjects !== undefined && (!Number.isInteger(maxObjects) || maxObjects < 0))
    throw new FlareError(`detectionCollate(): maxObjects must be a non-negative integer, got ${maxObjects}`, "E_ARGUMENT");
  const fn = (samples: unknown[]): [Tensor, Tensor] | DetectionBatch => tidy(() => {
    if (!Array.isArray(samples) || samples.length === 0) throw new FlareError("detectionCollate(): needs a non-empty array of samples", "E_ARGUMENT");
    const images: Tensor[] = [];
    const targets: unknown[] = [];
    samples.forEach((s, k) => {
      const [image, target] = Array.isArray(s) ? s : [(s as { image?: unknown })?.image, (s as { target?: unknown })?.target];
      if (!(image instanceof Tensor)) throw new FlareError(`detectionCollate(): sample ${k} must be [image, target] with an image tensor, got ${describe(image)}`, "E_TYPE");
      images.push(image);
      targets.push(target);
    });
    const imageBatch = collateAt(images, "image") as Tensor;
    if (targets[0] instanceof Tensor) {
      const rows = targets.map((t, k) => {
        if (!(t instanceof Tensor) || t.ndim !== 2 || t.shape[1] !== 5)
          throw new FlareError(`detectionCollate(): the target of sample ${k} must be a K×5 tensor [class, x1, y1, x2, y2], got ${describe(t)}`, "E_SHAPE");
        return t;
      });
      const m = maxObjects ?? Math.max(...rows.map((r) => r.shape[0]));
      const dtype = rows[0].dtype.startsWith("float") ? rows[0].dtype : "float32";
      const labels = stack(rows.map((r, k) => padRows(r, r.shape[0], m, padValue, dtype, `sample ${k}`)), 0);
      return [imageBatch, labels];
    }
    const parts = targets.map((t, k) => {
      const { boxes: given, labels } = (t ?? {}) as { boxes?: unknown; labels?: unknown };
      const boxes = xyxyData(given, k);
      if (!(boxes instanceof Tensor) || boxes.ndim !== 2 || boxes.shape[1] !== 4)
        throw new FlareError(`detectionCollate(): the target of sample ${k} must be a K×5 tensor or {boxes: K×4, labels: K}; boxes is ${describe(boxes)}`, "E_SHAPE");
      if (!(labels instanceof Tensor) || labels.ndim !== 1 || labels.shape[0] !== boxes.shape[0])
        throw new FlareError(`detectionCollate(): sample ${k} has ${boxes.shape[0]} boxes but labels ${describe(labels)}`, "E_SHAPE");
      return { boxes, labels };
    });
    const m = maxObjects ?? Math.max(...parts.map((p) => p.boxes.shape[0]));
    const boxDtype = parts[0].boxes.dtype.startsWith("float") ? parts[0].boxes.dtype : "float32";
    return {
      images: imageBatch,
      boxes: stack(parts.map((p, k) => padRows(p.boxes, p.boxes.shape[0], m, padValue, boxDtype, `sample ${k}`)), 0),
      labels: stack(parts.map((p, k) => padRows(p.labels, p.labels.shape[0], m, padValue, "int64", `sample ${k}`)), 0),
      counts: tensor(parts.map((p) => p.boxes.shape[0]), { dtype: "int64" }),
    };
  });
  (fn as unknown as Record<symbol, CollateSpec>)[COLLATE_SPEC] = { kind: "detection", options: { maxObjects, padValue } };
  return fn;
}

export interface NormalizeCollateOptions {
  /** Per-channel means (or one for all channels), of the [0, 1] values. */
  mean: number[];
  /** Per-channel standard deviations (or one), none zero. */
  std: number[];
}

function channelValues(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== "number" || !Number.isFinite(v)))
    throw new FlareError(`normalizeCollate(): ${what} must be a non-empty array of finite numbers, got ${Array.isArray(value) ? `[${value.join(", ")}]` : describe(value)}`, "E_ARGUMENT");
  return value.slice();
}

/**
 * defaultCollate for samples whose image is uint8 C×H×W ([image, label, ...] or
 * the image alone): the images become one float32 [N, C, H, W] batch of
 * (x / 255 - mean) / std per channel in one native pass — the values of
 * transforms' ToDtype("float32", { scale: true }) then Normalize(mean, std) and
 * a stack, without the per-image float copies. The rest of each sample is
 * collated as defaultCollate does.
 */
export function normalizeCollate(options: NormalizeCollateOptions): CollateFn {
  checkOptions(options, ["mean", "std"], "normalizeCollate()");
  if (options === undefined || options === null) throw new FlareError("normalizeCollate(): needs { mean, std }", "E_ARGUMENT");
  const mean = channelValues(options.mean, "mean"), std = channelValues(options.std, "std");
  if (std.some((v) => v === 0)) throw new FlareError(`normalizeCollate(): std must not contain zeros, got [${std.join(", ")}]`, "E_ARGUMENT");
  const fn = (samples: unknown[]): unknown => {
    if (!Array.isArray(samples) || samples.length === 0) throw new FlareError("normalizeCollate(): needs a non-empty array of samples", "E_ARGUMENT");
    const bare = samples[0] instanceof Tensor;
    const images = samples.map((s, k) => {
      const image = bare ? s : Array.isArray(s) ? s[0] : undefined;
      if (!(image instanceof Tensor))
        throw new FlareError(`normalizeCollate(): sample ${k} must be an image tensor or [image, ...], got ${describe(bare ? s : Array.isArray(s) ? s[0] : s)}`, "E_TYPE");
      if (image.dtype !== "uint8" || image.device !== "cpu" || image.ndim !== 3)
        throw new FlareError(`normalizeCollate(): the image of sample ${k} must be a uint8 C×H×W tensor on the CPU, got ${image.dtype} ${describe(image)} on ${image.device} (normalize float images with transforms.Normalize and use defaultCollate)`, "E_TYPE");
      if (image.shape[0] !== mean.length && mean.length !== 1) throw new FlareError(`normalizeCollate(): mean has ${mean.length} values but the image of sample ${k} has ${image.shape[0]} channels`, "E_SHAPE");
      if (image.shape[0] !== std.length && std.length !== 1) throw new FlareError(`normalizeCollate(): std has ${std.length} values but the image of sample ${k} has ${image.shape[0]} channels`, "E_SHAPE");
      return image;
    });
    const firstShape = JSON.stringify(images[0].shape);
    images.forEach((image, k) => {
      if (JSON.stringify(image.shape) !== firstShape)
        throw new FlareError(`normalizeCollate(): images must have equal shapes to be stacked: sample 0 is ${describe(images[0])}, sample ${k} is ${describe(image)}`, "E_SHAPE");
    });
    // Every check before the batch exists, so a bad sample leaves nothing behind.
    const width = bare ? 1 : (samples[0] as unknown[]).length;
    if (!bare) samples.forEach((s, k) => {
      if (!Array.isArray(s) || s.length !== width)
        throw new FlareError(`normalizeCollate(): each sample should have ${width} elements as sample 0, sample ${k} has ${Array.isArray(s) ? s.length : describe(s)}`, "E_SHAPE");
    });
    const batch = new Tensor(native.normalizeUint8(images.map((t) => t.handle), mean, std));
    if (bare) return batch;
    const rest = Array.from({ length: width - 1 }, (_, j) => tidy(() => collateAt(samples.map((s) => (s as unknown[])[j + 1]), `[${j + 1}]`)));
    return [batch, ...rest];
  };
  (fn as unknown as Record<symbol, CollateSpec>)[COLLATE_SPEC] = { kind: "normalize", options: { mean, std } };
  return fn;
}
