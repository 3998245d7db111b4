// safetensors: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then the raw little-endian bytes. The header is checked before any byte is
// trusted; writes are atomic (temporary file, fsync, rename).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { FlareError } from "../errors.js";
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

/** Encodes named tensors as safetensors bytes. */
export function serialize(tensors: TensorMap | Record<string, Tensor>, metadata?: Metadata): Buffer {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, tensor] of entries) {
    if (!(tensor instanceof Tensor)) throw new FlareError(`safetensors: '${name}' is not a Tensor`, "E_ARGUMENT");
    const dtype = tensor.dtype;
    const bytes = rawBytes(tensor);
    header[name] = { dtype: TO_SAFETENSORS[dtype], shape: tensor.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // keeps the data 8-byte aligned, as the reference writer does
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, "utf8"), ...chunks] as unknown as Uint8Array[]);
}

function rawBytes(tensor: Tensor): Buffer {
  const dtype = tensor.dtype;
  if (dtype === "float16" || dtype === "bfloat16") {
    // data() widens these to float32; store their own 2-byte encoding instead.
    const asInt = tensor.contiguous().view(-1);
    const bits = asInt.numel() === 0 ? new Int16Array(0) : viewAsInt16(asInt);
    if (asInt !== tensor) asInt.dispose();
    return Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength);
  }
  const data = tensor.data();
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function viewAsInt16(t: Tensor): Int16Array {
  const reinterpret = t.viewDtype("int16");
  const out = reinterpret.data() as Int16Array;
  reinterpret.dispose();
  return out;
}

function fail(source: string, message: string): never {
  throw new FlareError(`${source}: not a valid safetensors file: ${message}`, "E_FORMAT");
}

/** Decodes safetensors bytes into named tensors (and the file's metadata). */
export function deserialize(bytes: Uint8Array, source = "safetensors data"): { tensors: TensorMap; metadata: Metadata } {
  if (bytes.length < 8) fail(source, `it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length)
    fail(source, `header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString("utf8"));
  } catch (error) {
    fail(source, `the header is not JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) fail(source, "the header is not a JSON object");
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors: TensorMap = new Map();
  const metadata = (header.__metadata__ ?? {}) as Metadata;
  try {
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: string; shape?: unknown; data_offsets?: unknown };
      const kind = FROM_SAFETENSORS[dtype ?? ""];
      if (!kind) fail(source, `tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
      if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= 0)) fail(source, `tensor '${name}' has a bad shape ${JSON.stringify(shape)}`);
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0))
        fail(source, `tensor '${name}' has bad data_offsets ${JSON.stringify(offsets)}`);
      const [begin, end] = offsets as number[];
      const expected = (shape as number[]).reduce((a, b) => a * b, 1) * kind.bytes;
      if (end < begin || end > dataLength) fail(source, `tensor '${name}' data [${begin}, ${end}) lies outside the ${dataLength} data bytes`);
      if (end - begin !== expected) fail(source, `tensor '${name}' has ${end - begin} bytes but ${kind.dtype}${JSON.stringify(shape)} needs ${expected}`);
      tensors.set(name, fromBytes(bytes.subarray(dataStart + begin, dataStart + end), kind.dtype, shape as number[]));
    }
  } catch (error) {
    for (const t of tensors.values()) t.dispose();
    throw error;
  }
  return { tensors, metadata };
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

/** Loads a .safetensors file into named tensors. */
export function loadFile(path: string): TensorMap {
  return loadFileWithMetadata(path).tensors;
}

export function loadFileWithMetadata(path: string): { tensors: TensorMap; metadata: Metadata } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new FlareError(`could not read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "E_IO");
  }
  return deserialize(bytes, path);
}
