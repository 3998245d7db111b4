// safetensors: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then the raw little-endian bytes. The header is checked before any byte is
// trusted; writes are atomic (temporary file, fsync, rename).
import { closeSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import { checkPath, FILE_LIMITS, openChecked } from "./files.js";
import { Tensor, fromTypedArray, type DType } from "../tensor/index.js";

const TO_SAFETENSORS: Record<DType, string> = {
  float32: "F32", float64: "F64", float16: "F16", bfloat16: "BF16", int64: "I64", int32: "I32",
  int16: "I16", int8: "I8", uint8: "U8", bool: "BOOL",
};
const FROM_SAFETENSORS: Record<string, { dtype: DType; bytes: number }> = {
  F32: { dtype: "float32", bytes: 4 }, F64: { dtype: "float64", bytes: 8 }, F16: { dtype: "float16", bytes: 2 },
  BF16: { dtype: "bfloat16", bytes: 2 }, I64: { dtype: "int64", bytes: 8 }, I32: { dtype: "int32", bytes: 4 },
  I16: { dtype: "int16", bytes: 2 }, I8: { dtype: "int8", bytes: 1 }, U8: { dtype: "uint8", bytes: 1 },
  BOOL: { dtype: "bool", bytes: 1 },
};
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export type TensorMap = Map<string, Tensor>;
export type Metadata = Record<string, string>;

const RESERVED = "__metadata__";

/** The (name, tensor) pairs of a Map or a record: own keys only, `__proto__` included. */
function namedEntries(tensors: unknown): [string, unknown][] {
  if (tensors instanceof Map) {
    const entries = [...tensors.entries()];
    for (const [name] of entries) if (typeof name !== "string") throw new FlareError(`safetensors: tensor names must be strings, got a ${typeof name} key`, "E_ARGUMENT");
    return entries as [string, unknown][];
  }
  if (tensors === null || typeof tensors !== "object" || Array.isArray(tensors) || tensors instanceof Tensor)
    throw new FlareError(`safetensors: expected a Map or an object of named tensors, got ${tensors === null ? "null" : Array.isArray(tensors) ? "an array" : tensors instanceof Tensor ? "a single Tensor (name it: { weight: t })" : typeof tensors}`, "E_ARGUMENT");
  return Object.entries(tensors);
}

/** Checks the metadata the format allows: a flat map of strings to strings. */
function checkMetadata(metadata: unknown): [string, string][] {
  if (metadata === undefined || metadata === null) return [];
  if (typeof metadata !== "object" || Array.isArray(metadata) || metadata instanceof Map)
    throw new FlareError(`safetensors: metadata must be an object of string values, got ${Array.isArray(metadata) ? "an array" : metadata instanceof Map ? "a Map" : typeof metadata}`, "E_ARGUMENT");
  const entries = Object.entries(metadata);
  for (const [key, value] of entries)
    if (typeof value !== "string") throw new FlareError(`safetensors: metadata values must be strings (the format's rule), but '${key}' is ${value === null ? "null" : typeof value}; write String(value) or JSON.stringify(value)`, "E_ARGUMENT");
  return entries as [string, string][];
}

/** A JSON object from entries, written key by key: no key (not even "__proto__") is lost to a plain object's setters. */
function jsonObject(entries: [string, unknown][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;
}

/** Encodes named tensors as safetensors bytes. */
export function serialize(tensors: TensorMap | Record<string, Tensor>, metadata?: Metadata): Buffer {
  const entries = namedEntries(tensors);
  const meta = checkMetadata(metadata);
  const header: [string, unknown][] = [];
  if (meta.length > 0) header.push([RESERVED, jsonObject(meta)]);
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, tensor] of entries) {
    if (name === RESERVED) throw new FlareError(`safetensors: '${RESERVED}' is reserved for the file's metadata and cannot name a tensor`, "E_ARGUMENT");
    if (!(tensor instanceof Tensor)) throw new FlareError(`safetensors: '${name}' is not a Tensor`, "E_ARGUMENT");
    const dtype = tensor.dtype;
    const to = TO_SAFETENSORS[dtype];
    if (!to) throw new FlareError(`safetensors: tensor '${name}' has dtype ${dtype}, which safetensors cannot store`, "E_DTYPE");
    const bytes = rawBytes(tensor);
    header.push([name, { dtype: to, shape: tensor.shape, data_offsets: [offset, offset + bytes.length] }]);
    chunks.push(bytes);
    offset += bytes.length;
  }
  // The metadata object is already JSON text; splice it in unquoted.
  let json = `{${header.map(([k, v]) => `${JSON.stringify(k)}:${k === RESERVED ? v : JSON.stringify(v)}`).join(",")}}`;
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // keeps the data 8-byte aligned, as the reference writer does
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, "utf8"), ...chunks] as unknown as Uint8Array[]);
}

function rawBytes(tensor: Tensor): Buffer {
  const dtype = tensor.dtype;
  if (dtype === "float16" || dtype === "bfloat16") {
    // dataSync() widens these to float32; store their own 2-byte encoding instead.
    const asInt = tensor.contiguous().view(-1);
    const bits = asInt.numel() === 0 ? new Int16Array(0) : viewAsInt16(asInt);
    if (asInt !== tensor) asInt.dispose();
    return Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength);
  }
  const data = tensor.dataSync();
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function viewAsInt16(t: Tensor): Int16Array {
  const reinterpret = t.viewDtype("int16");
  const out = reinterpret.dataSync() as Int16Array;
  reinterpret.dispose();
  return out;
}

function fail(source: string, message: string): never {
  throw new FlareError(`${source}: not a valid safetensors file: ${message}`, "E_FORMAT");
}

/**
 * The first key that appears twice in one object of (already valid) JSON text,
 * or undefined. JSON.parse keeps the last silently; the format forbids them.
 * Iterative, so no nesting depth can overflow the stack.
 */
export function duplicateJsonKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = []; // one Set per open object, null per open array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) { stack.push(new Set()); expectKey = true; }
    else if (c === 0x5b /* [ */) { stack.push(null); expectKey = false; }
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) { stack.pop(); expectKey = false; }
    else if (c === 0x2c /* , */) expectKey = stack[stack.length - 1] != null;
  }
  return undefined;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** One tensor as a safetensors header describes it. */
export interface TensorInfo { dtype: DType; shape: number[]; dataOffsets: [number, number] }

/** A checked header: the tensors it describes (in the header's order), its metadata, where the data starts. */
export interface Header { tensors: Map<string, TensorInfo>; metadata: Metadata; dataStart: number }

/** The header length from the first 8 bytes, checked against the file's size. */
function headerLengthOf(first8: Uint8Array, fileLength: number, source: string): number {
  if (fileLength < 8) fail(source, `it has ${fileLength} bytes, fewer than the 8-byte header length`);
  const headerLength = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileLength)
    fail(source, `header length ${headerLength} runs past the end of the file (${fileLength} bytes)`);
  return headerLength;
}

/**
 * Checks a header's JSON bytes against the format's rules and the `dataLength`
 * bytes that follow it: every entry, then the byte ranges together. Nothing is
 * allocated for the tensors: a header claiming 10^15 elements in a small file
 * is refused here.
 */
function parseHeader(headerBytes: Uint8Array, dataLength: number, source: string): Header {
  let text: string;
  try {
    text = UTF8.decode(headerBytes);
  } catch {
    fail(source, "the header is not valid UTF-8");
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text);
  } catch (error) {
    fail(source, `the header is not JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) fail(source, "the header is not a JSON object");
  const duplicate = duplicateJsonKey(text);
  if (duplicate !== undefined) fail(source, `the header names ${JSON.stringify(duplicate)} twice`);
  const metadata = readMetadata(header, source);
  const tensors = new Map<string, TensorInfo>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === RESERVED) continue;
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) fail(source, `tensor '${name}' is described by ${JSON.stringify(entry)}, not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const kind = typeof dtype === "string" && Object.hasOwn(FROM_SAFETENSORS, dtype) ? FROM_SAFETENSORS[dtype] : undefined;
    if (!kind) fail(source, `tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) fail(source, `tensor '${name}' has a bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      fail(source, `tensor '${name}' has bad data_offsets ${JSON.stringify(offsets)}`);
    const [begin, end] = offsets as number[];
    // A float product: exact up to 2^53, and any larger count cannot match a file's byte range anyway.
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * kind.bytes;
    if (end < begin || end > dataLength) fail(source, `tensor '${name}' data [${begin}, ${end}) lies outside the ${dataLength} data bytes`);
    if (end - begin !== expected) fail(source, `tensor '${name}' has ${end - begin} bytes but ${kind.dtype}${JSON.stringify(shape)} needs ${expected}`);
    tensors.set(name, { dtype: kind.dtype, shape: shape as number[], dataOffsets: [begin, end] });
  }
  // The format's rule: the byte ranges tile the data exactly (no overlap, no gap, nothing after).
  const sorted = [...tensors].sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let at = 0;
  for (const [name, { dataOffsets: [begin, end] }] of sorted) {
    if (begin < at) fail(source, `tensor '${name}' data [${begin}, ${end}) overlaps the tensor before it (which ends at ${at})`);
    if (begin > at) fail(source, `there is a gap of ${begin - at} unused bytes before tensor '${name}' at [${begin}, ${end})`);
    at = end;
  }
  if (at !== dataLength) fail(source, `${dataLength - at} trailing bytes after the last tensor's data`);
  return { tensors, metadata, dataStart: 8 + headerBytes.length };
}

/** Expected shapes by name, from a Map or a record (own keys). */
export type ExpectedShapes = Map<string, readonly number[]> | Record<string, readonly number[]>;

/**
 * Refuses, from the header alone, a tensor whose shape differs from the one
 * `shapes` expects for its name (a model's parameters): no byte of the file's
 * data is read and no tensor allocated for a file that cannot fit.
 */
function checkShapes(header: Header, shapes: ExpectedShapes | undefined, source: string): void {
  if (shapes === undefined) return;
  if (shapes === null || typeof shapes !== "object" || Array.isArray(shapes))
    throw new FlareError(`safetensors: shapes must be a Map or an object of name → shape, got ${shapes === null ? "null" : Array.isArray(shapes) ? "an array" : typeof shapes}`, "E_ARGUMENT");
  const expected = shapes instanceof Map ? [...shapes] : Object.entries(shapes);
  const mismatches: string[] = [];
  for (const [name, shape] of expected) {
    const info = header.tensors.get(name);
    if (info && (info.shape.length !== shape.length || info.shape.some((s, i) => s !== shape[i])))
      mismatches.push(`size mismatch for ${name}: the file has shape [${info.shape.join(", ")}], expected [${shape.join(", ")}]`);
  }
  if (mismatches.length > 0)
    throw new FlareError(`${source}: the tensors do not fit (checked from the header, before loading): ${mismatches.slice(0, 10).join("; ")}${mismatches.length > 10 ? `; and ${mismatches.length - 10} more` : ""}`, "E_SHAPE");
}

/** Decodes safetensors bytes into named tensors (and the file's metadata). */
export function deserialize(bytes: Uint8Array, source = "safetensors data", options?: { shapes?: ExpectedShapes }): { tensors: TensorMap; metadata: Metadata } {
  const { shapes } = checkOptions(options, ["shapes"], "safetensors.deserialize()");
  const given: unknown = bytes;
  if (!(given instanceof Uint8Array))
    throw new FlareError(`safetensors.deserialize(): expected the file's bytes as a Buffer or Uint8Array, got ${given === null ? "null" : given instanceof ArrayBuffer ? "an ArrayBuffer (wrap it: new Uint8Array(buffer))" : typeof given}`, "E_ARGUMENT");
  const headerLength = headerLengthOf(bytes, bytes.length, source);
  const header = parseHeader(bytes.subarray(8, 8 + headerLength), bytes.length - 8 - headerLength, source);
  checkShapes(header, shapes, source);
  return { tensors: tensorsOf(header, bytes.subarray(header.dataStart)), metadata: header.metadata };
}

/** Makes the header's tensors from the data bytes (all freed if one fails). */
function tensorsOf(header: Header, data: Uint8Array): TensorMap {
  const tensors: TensorMap = new Map();
  try {
    for (const [name, { dtype, shape, dataOffsets: [begin, end] }] of header.tensors) tensors.set(name, fromBytes(data.subarray(begin, end), dtype, shape));
  } catch (error) {
    for (const t of tensors.values()) t.dispose();
    throw error;
  }
  return tensors;
}

/** Reads exactly `length` bytes at `position` of an open file (fewer: it shrank while read). */
function readAt(fd: number, length: number, position: number, path: string): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, bytes, got, length - got, position + got);
    if (n === 0) throw new FlareError(`${path}: not a valid safetensors file: it ended after ${position + got} bytes (it changed while being read)`, "E_FORMAT");
    got += n;
  }
  return bytes;
}

/** Opens a safetensors file and reads and checks its header only; `use` gets the descriptor too. */
function withHeader<R>(path: string, maxBytes: number, use: (header: Header, fd: number, size: number) => R): R {
  const [fd, size] = openChecked(path, { maxBytes, what: "safetensors" });
  try {
    const headerLength = headerLengthOf(readAt(fd, Math.min(8, size), 0, path), size, path);
    const header = parseHeader(readAt(fd, headerLength, 8, path), size - 8 - headerLength, path);
    return use(header, fd, size);
  } finally {
    closeSync(fd);
  }
}

/**
 * The header of a .safetensors file (names, dtypes, shapes, metadata), checked
 * against the file's size, without reading its data: what a loader compares
 * with a model before allocating anything.
 */
export function readHeader(path: string, options?: { maxBytes?: number }): Header {
  const { maxBytes = FILE_LIMITS.safetensors } = checkOptions(options, ["maxBytes"], "safetensors.readHeader()");
  return withHeader(path, maxBytes, (header) => header);
}

function readMetadata(header: Record<string, unknown>, source: string): Metadata {
  if (!Object.hasOwn(header, RESERVED)) return {};
  const value = header[RESERVED];
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail(source, `"${RESERVED}" must be an object of strings, got ${JSON.stringify(value)}`);
  for (const [key, v] of Object.entries(value)) if (typeof v !== "string") fail(source, `metadata '${key}' must be a string, got ${JSON.stringify(v)}`);
  return value as Metadata;
}

function fromBytes(bytes: Uint8Array, dtype: DType, shape: number[]): Tensor {
  const copy = new Uint8Array(bytes); // aligned, owned copy
  switch (dtype) {
    case "float32": return fromTypedArray(new Float32Array(copy.buffer), shape);
    case "float64": return fromTypedArray(new Float64Array(copy.buffer), shape);
    case "int64": return fromTypedArray(new BigInt64Array(copy.buffer), shape);
    case "int32": return fromTypedArray(new Int32Array(copy.buffer), shape);
    case "int16": return fromTypedArray(new Int16Array(copy.buffer), shape);
    case "int8": return fromTypedArray(new Int8Array(copy.buffer), shape);
    case "uint8": return fromTypedArray(copy, shape);
    case "bool": return fromTypedArray(copy, shape, { dtype: "bool" });
    case "float16": case "bfloat16": {
      const bits = fromTypedArray(new Int16Array(copy.buffer), shape);
      const out = bits.viewDtype(dtype).clone();
      bits.dispose();
      return out;
    }
  }
}

/** Writes bytes to `path` atomically: a temporary file beside it, fsync, rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  checkPath(path, "writeFileAtomic()");
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(temporary, "w");
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, path);
  } catch (error) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* already failing */ }
    try { unlinkSync(temporary); } catch { /* nothing to remove */ }
    throw new FlareError(`could not write ${path}: ${(error as Error).message}`, "E_IO");
  }
}

/** Saves named tensors to a .safetensors file (atomically). */
export function saveFile(tensors: TensorMap | Record<string, Tensor>, path: string, metadata?: Metadata): void {
  writeFileAtomic(path, serialize(tensors, metadata));
}

export interface LoadOptions {
  /** Upper bound on the file's size (default FILE_LIMITS.safetensors). */
  maxBytes?: number;
  /** Shapes the tensors must have, by name (e.g. a model's state dict): checked from the header, before any data is read. */
  shapes?: ExpectedShapes;
}

/** Loads a .safetensors file into named tensors. */
export function loadFile(path: string, options: LoadOptions = {}): TensorMap {
  return loadFileWithMetadata(path, options).tensors;
}

/**
 * Loads a .safetensors file: the header first (checked against the file's size
 * and `shapes`), then the data; a file that cannot fit allocates nothing.
 */
export function loadFileWithMetadata(path: string, options: LoadOptions = {}): { tensors: TensorMap; metadata: Metadata } {
  const { maxBytes = FILE_LIMITS.safetensors, shapes } = checkOptions(options, ["maxBytes", "shapes"], "safetensors.loadFile()");
  return withHeader(path, maxBytes, (header, fd, size) => {
    checkShapes(header, shapes, path);
    const data = readAt(fd, size - header.dataStart, header.dataStart, path);
    return { tensors: tensorsOf(header, data), metadata: header.metadata };
  });
}
