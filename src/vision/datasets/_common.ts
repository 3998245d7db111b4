// What the dataset classes share: the transform hook (and the freeing of the
// tensors a transform replaced), the construction-time error policy, image
// sizes read from file headers, and small file helpers.
import { closeSync, existsSync, readSync, statSync } from "node:fs";
import { FILE_LIMITS, openRegularFile } from "../../io/files.js";
import * as path from "node:path";
import { FlareError } from "../../errors.js";
import { fromTypedArray, Tensor } from "../../tensor/index.js";
import { readImage } from "../io.js";

/**
 * A dataset's transform: called with the sample's image and target, returns
 * `[image, target]` (or a Promise of it). Returning only a tensor replaces the
 * image and keeps the target, so `(img) => aug.forward(img)` works for
 * classification; a flare/vision transform with targets is
 * `(img, t) => aug.forward(img, t)`.
 */
export type DatasetTransform<T, U = T> = (image: Tensor, target: T) => [Tensor, U] | Tensor | Promise<[Tensor, U] | Tensor>;

/**
 * What a dataset does with a problem it finds while it is built (a missing
 * file, an empty class folder, a header that is not an image): "raise" (the
 * default) throws a FlareError naming the file; "skip" leaves the sample out
 * and records it in the dataset's `skipped` list. Problems found while a sample
 * is read (corrupt pixels, a bad box) always throw: the DataLoader's own
 * `onError: "skip"` counts those.
 */
export type OnError = "raise" | "skip";

export interface Skipped { file: string; problem: string }

export function checkOnError(value: unknown, what: string): OnError {
  if (value === undefined) return "raise";
  if (value !== "raise" && value !== "skip") throw new FlareError(`${what}: onError must be "raise" or "skip", got ${JSON.stringify(value)}`, "E_ARGUMENT");
  return value;
}

/** Collects construction-time problems: throws under "raise", records under "skip". */
export class Problems {
  readonly skipped: Skipped[] = [];
  constructor(readonly onError: OnError, readonly what: string) {}
  report(file: string, problem: string, code: "E_IO" | "E_FORMAT" = "E_FORMAT"): void {
    if (this.onError === "raise") throw new FlareError(`${this.what}: ${file}: ${problem}`, code);
    this.skipped.push({ file, problem });
  }
}

/** Every tensor reachable from a value (arrays, plain objects, and objects' own fields), a few levels deep. */
function collect(value: unknown, into: Set<Tensor>, depth = 0): Set<Tensor> {
  if (depth > 4 || value === null || typeof value !== "object") return into;
  if (value instanceof Tensor) { into.add(value); return into; }
  if (Array.isArray(value)) { for (const v of value) collect(v, into, depth + 1); return into; }
  for (const v of Object.values(value)) collect(v, into, depth + 1);
  return into;
}

/**
 * Runs a dataset transform on a sample. The tensors of the input that the
 * output no longer holds are freed (a sample belongs to its caller, who only
 * sees the output); when the transform throws, the input is freed too.
 */
export async function applyTransform<T, U>(transform: DatasetTransform<T, U> | undefined, image: Tensor, target: T, what: string): Promise<[Tensor, U]> {
  if (!transform) return [image, target as unknown as U];
  const inputs = collect([image, target], new Set());
  let result: [Tensor, U] | Tensor;
  try {
    result = await transform(image, target);
  } catch (error) {
    for (const t of inputs) if (!t.isDisposed) t.dispose();
    throw error;
  }
  let out: [Tensor, U];
  if (result instanceof Tensor) out = [result, target as unknown as U];
  else if (Array.isArray(result) && result.length === 2 && result[0] instanceof Tensor) out = result;
  else {
    for (const t of inputs) if (!t.isDisposed) t.dispose();
    throw new FlareError(`${what}: transform must return [image, target] or an image tensor, got ${result === null ? "null" : Array.isArray(result) ? `an array of ${(result as unknown[]).length}` : typeof result}`, "E_TYPE");
  }
  const kept = collect(out, new Set());
  for (const t of inputs) if (!kept.has(t) && !t.isDisposed) t.dispose();
  return out;
}

export function checkTransform(value: unknown, what: string): void {
  if (value !== undefined && typeof value !== "function") throw new FlareError(`${what}: transform must be a function (image, target) => [image, target], got ${typeof value}`, "E_ARGUMENT");
}

export function checkRoot(root: unknown, what: string): string {
  if (typeof root !== "string" || root.length === 0) throw new FlareError(`${what}: root must be a folder path, got ${root === undefined ? "nothing" : JSON.stringify(root)}`, "E_ARGUMENT");
  let stats;
  try { stats = statSync(root); } catch {
    throw new FlareError(`${what}: root folder ${root} does not exist`, "E_IO");
  }
  if (!stats.isDirectory()) throw new FlareError(`${what}: root ${root} is not a folder`, "E_IO");
  return root;
}

export function isFile(file: string): boolean {
  try { return statSync(file).isFile(); } catch { return false; }
}

export function isDir(file: string): boolean {
  try { return statSync(file).isDirectory(); } catch { return false; }
}

/** The first of `candidates` that is a folder holding `marker` (a relative path), or undefined. */
export function findDir(candidates: string[], marker: string): string | undefined {
  return candidates.find((dir) => existsSync(path.join(dir, marker)));
}

/** Reads an image (uint8 C×H×W), prefixing any error with the dataset's name. */
export async function loadImage(file: string, what: string, mode: "rgb" | "gray" | "rgba" | "unchanged" = "rgb"): Promise<Tensor> {
  try {
    return await readImage(file, { mode });
  } catch (error) {
    if (error instanceof FlareError) throw new FlareError(`${what}: ${error.message}`, error.code);
    throw error;
  }
}

/** The integers (or numbers) of a split file such as ImageSets/Segmentation/train.txt: one id a line. */
export function readIdList(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.trim().split(/\s+/)[0]).filter((id) => id.length > 0);
}

/**
 * The [width, height] of an image read from its file header (PNG, JPEG, GIF,
 * BMP, WebP), without decoding it; throws a FlareError naming the file when the
 * header is missing, truncated or of an unknown format.
 */
export function imageSizeFromHeader(file: string): [number, number] {
  const fd = openRegularFile(file, { maxBytes: FILE_LIMITS.image, what: "imageSizeFromHeader()" });
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    const n = readSync(fd, head, 0, head.length, 0);
    const size = sizeFromBytes(head.subarray(0, n), fd, n < HEADER_BYTES);
    if (!size) throw new FlareError(`${file}: ${n === 0 ? "empty file, not an image" : "not an image (no PNG, JPEG, GIF, BMP or WebP header) or a truncated header"}`, "E_FORMAT");
    return size;
  } finally {
    closeSync(fd);
  }
}

const HEADER_BYTES = 64 * 1024;

function sizeFromBytes(b: Buffer, fd: number, whole: boolean): [number, number] | undefined {
  // PNG: signature, then IHDR with width and height.
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString("latin1", 12, 16) === "IHDR") return [b.readUInt32BE(16), b.readUInt32BE(20)];
  // GIF: logical screen size.
  if (b.length >= 10 && b.toString("latin1", 0, 3) === "GIF") return [b.readUInt16LE(6), b.readUInt16LE(8)];
  // BMP: BITMAPINFOHEADER width and (signed) height.
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) return [Math.abs(b.readInt32LE(18)), Math.abs(b.readInt32LE(22))];
  // WebP: VP8 (lossy), VP8L (lossless) or VP8X (extended) chunk.
  if (b.length >= 30 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") {
    const chunk = b.toString("latin1", 12, 16);
    if (chunk === "VP8 ") return [b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff];
    if (chunk === "VP8L") { const bits = b.readUInt32LE(21); return [(bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1]; }
    if (chunk === "VP8X") return [1 + b.readUIntLE(24, 3), 1 + b.readUIntLE(27, 3)];
    return undefined;
  }
  // JPEG: walk the markers to a start-of-frame.
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let buf = b, offset = 2;
    for (;;) {
      if (offset + 9 > buf.length) {
        // A large APP segment (EXIF thumbnail) can push the frame header past the first read.
        if (whole || buf.length >= 16 * 1024 * 1024) return undefined;
        const more = Buffer.alloc(buf.length * 4);
        const n = readSync(fd, more, 0, more.length, 0);
        whole = n < more.length;
        if (n <= buf.length) return undefined;
        buf = more.subarray(0, n);
        continue;
      }
      if (buf[offset] !== 0xff) return undefined;
      const marker = buf[offset + 1];
      if (marker === 0xff) { offset++; continue; }
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { offset += 2; continue; }
      if (marker === 0xd9 || marker === 0xda) return undefined;
      const length = buf.readUInt16BE(offset + 2);
      const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (sof) {
        const height = buf.readUInt16BE(offset + 5), width = buf.readUInt16BE(offset + 7);
        return width > 0 && height > 0 ? [width, height] : undefined;
      }
      offset += 2 + length;
    }
  }
  return undefined;
}

/** An index checked against a length (negative counts from the end, as Python). */
export function checkIndex(index: number, length: number, what: string): number {
  if (!Number.isInteger(index)) throw new FlareError(`${what}: index ${index} is not an integer`, "E_INDEX");
  const i = index < 0 ? index + length : index;
  if (i < 0 || i >= length) throw new FlareError(`${what}: index ${index} is out of range for a dataset of ${length} samples`, "E_INDEX");
  return i;
}

/** An int64 tensor of integers. */
export function longTensor(values: readonly number[]): Tensor {
  return fromTypedArray(BigInt64Array.from(values, (v) => BigInt(v)), [values.length]);
}

/** A float32 K×4 tensor of boxes (0×4 for none). */
export function boxTensor(boxes: readonly (readonly number[])[]): Tensor {
  return fromTypedArray(Float32Array.from(boxes.flat()), [boxes.length, 4]);
}
