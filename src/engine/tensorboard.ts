// TensorBoard event files, written by hand (no protobuf dependency): PyTorch's
// torch.utils.tensorboard.SummaryWriter in camelCase, for scalars and images.
// A file is TFRecord framing (uint64 length LE, masked CRC32C of the length, the
// bytes, masked CRC32C of the bytes) around serialized tensorboard.Event
// messages (event.proto, summary.proto). Fields are written in field-number
// order and proto3 defaults (0, "") are left out, as Python's protobuf does.
import { closeSync, mkdirSync, openSync, readdirSync, readSync, statSync, truncateSync, unlinkSync, writeSync, appendFileSync, fstatSync } from "node:fs";
import { hostname } from "node:os";
import * as path from "node:path";
import { deflateSync } from "node:zlib";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import { isTensor, type Tensor } from "../tensor/index.js";

// ---- CRC32C (Castagnoli), as TFRecord frames use it ----

function crcTable(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? poly ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}
const CRC32C_TABLE = crcTable(0x82f63b78);
const CRC32_TABLE = crcTable(0xedb88320); // PNG chunks use the plain CRC-32

function crc(table: Uint32Array, bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32C (Castagnoli) of `bytes`. */
export function crc32c(bytes: Uint8Array): number { return crc(CRC32C_TABLE, bytes); }

/** TFRecord's masked CRC: rotated right by 15 bits plus a constant (so a CRC of CRCs is not trivial). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its masked CRC, the data, the data's masked CRC. */
export function encodeRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(16 + data.length);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

// ---- protobuf wire format (just what Event needs) ----

function varint(value: bigint): Buffer {
  let v = BigInt.asUintN(64, value); // negative int64s are ten bytes of two's complement
  const bytes: number[] = [];
  while (v >= 0x80n) { bytes.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
  bytes.push(Number(v));
  return Buffer.from(bytes);
}
const key = (field: number, wire: number): Buffer => varint(BigInt((field << 3) | wire));
const varintField = (field: number, value: number | bigint): Buffer => Buffer.concat([key(field, 0), varint(BigInt(value))]);
const bytesField = (field: number, bytes: Uint8Array): Buffer => Buffer.concat([key(field, 2), varint(BigInt(bytes.length)), bytes]);
function doubleField(field: number, value: number): Buffer {
  const b = Buffer.alloc(8); b.writeDoubleLE(value);
  return Buffer.concat([key(field, 1), b]);
}
function floatField(field: number, value: number): Buffer {
  const b = Buffer.alloc(4); b.writeFloatLE(value);
  return Buffer.concat([key(field, 5), b]);
}

/** Summary.Image (summary.proto): colorspace 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
export interface SummaryImage { height: number; width: number; colorspace: number; encodedImageString: Uint8Array }
/** Summary.Value: a tag with a simple_value (float32) or an image. */
export type SummaryValue = { tag: string; simpleValue: number } | { tag: string; image: SummaryImage };

/** The Event fields flare writes (event.proto): one of fileVersion, summary, sessionLog. */
export interface EventFields {
  wallTime: number;
  step?: number;
  fileVersion?: string;
  summary?: SummaryValue[];
  /** SessionLog.status: 1 START (TensorBoard purges the events at and after this step). */
  sessionLog?: { status: number };
}

function encodeValue(value: SummaryValue): Buffer {
  const parts = [bytesField(1, Buffer.from(value.tag, "utf8"))];
  if ("simpleValue" in value) {
    // A member of the oneof `value`: written even when 0.
    parts.push(floatField(2, value.simpleValue));
  } else {
    const { height, width, colorspace, encodedImageString } = value.image;
    const image = Buffer.concat(<Buffer[]>[
      ...(height ? [varintField(1, height)] : []), ...(width ? [varintField(2, width)] : []),
      ...(colorspace ? [varintField(3, colorspace)] : []), ...(encodedImageString.length ? [bytesField(4, encodedImageString)] : []),
    ]);
    parts.push(bytesField(4, image));
  }
  return Buffer.concat(parts);
}

/** A serialized tensorboard.Event. */
export function encodeEvent(event: EventFields): Buffer {
  const parts: Buffer[] = [];
  if (event.wallTime !== 0) parts.push(doubleField(1, event.wallTime));
  if (event.step) parts.push(varintField(2, BigInt(event.step)));
  if (event.fileVersion !== undefined) parts.push(bytesField(3, Buffer.from(event.fileVersion, "utf8")));
  if (event.summary !== undefined) parts.push(bytesField(5, Buffer.concat(event.summary.map((v) => bytesField(1, encodeValue(v))))));
  if (event.sessionLog !== undefined) parts.push(bytesField(7, event.sessionLog.status ? varintField(1, event.sessionLog.status) : Buffer.alloc(0)));
  return Buffer.concat(parts);
}

// ---- PNG (for images given as tensors) ----

function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(crc(CRC32_TABLE, out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** An 8-bit PNG of interleaved HWC pixels with 1, 2, 3 or 4 channels. */
function encodePng(pixels: Uint8Array, height: number, width: number, channels: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, [0, 0, 4, 2, 6][channels], 0, 0, 0], 8); // depth 8; grey, grey+alpha, RGB, RGBA
  const row = width * channels;
  const raw = new Uint8Array((row + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * row, (y + 1) * row), y * (row + 1) + 1); // filter 0
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", header), pngChunk("IDAT", deflateSync(raw)), pngChunk("IEND", new Uint8Array(0))]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG's size and TensorBoard colorspace from its IHDR chunk. */
function pngImage(png: Uint8Array, what: string): SummaryImage {
  const b = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (b.length < 33 || !b.subarray(0, 8).equals(PNG_SIGNATURE) || b.toString("latin1", 12, 16) !== "IHDR")
    throw new FlareError(`${what}: the image bytes are not a PNG (give a PNG buffer or a uint8 CHW tensor)`, "E_FORMAT");
  const colorType = b[25];
  // Palette PNGs decode to RGB, or RGBA with a tRNS chunk: TensorBoard shows the picture either way.
  const colorspace = ({ 0: 1, 4: 2, 2: 3, 6: 4, 3: 3 } as Record<number, number>)[colorType];
  if (colorspace === undefined) throw new FlareError(`${what}: PNG colour type ${colorType} is not valid`, "E_FORMAT");
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), colorspace, encodedImageString: b };
}

/** A CHW (or HW) tensor as a PNG: uint8 as is, floating point in [0, 1] scaled by 255 (PyTorch's add_image). */
function tensorImage(img: Tensor, what: string): SummaryImage {
  const shape = img.shape;
  if (shape.length !== 2 && shape.length !== 3) throw new FlareError(`${what}: the image tensor must be CHW (or HW), got shape [${shape.join(", ")}]`, "E_SHAPE");
  const [c, h, w] = shape.length === 2 ? [1, shape[0], shape[1]] : shape;
  if (![1, 2, 3, 4].includes(c)) throw new FlareError(`${what}: the image tensor must have 1, 2, 3 or 4 channels (CHW), got shape [${shape.join(", ")}]`, "E_SHAPE");
  if (h < 1 || w < 1) throw new FlareError(`${what}: the image tensor is empty (shape [${shape.join(", ")}])`, "E_SHAPE");
  const float = img.dtype === "float32" || img.dtype === "float64" || img.dtype === "float16" || img.dtype === "bfloat16";
  if (img.dtype !== "uint8" && !float) throw new FlareError(`${what}: the image tensor must be uint8 (0..255) or floating point (0..1), got ${img.dtype}`, "E_DTYPE");
  const data = img.dataSync() as ArrayLike<number>;
  const hwc = new Uint8Array(h * w * c);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h * w; i++) {
      const v = data[ch * h * w + i];
      hwc[i * c + ch] = float ? Math.min(255, Math.max(0, Math.round(v * 255))) || 0 : v;
    }
  }
  return { height: h, width: w, colorspace: c, encodedImageString: encodePng(hwc, h, w, c) };
}

// ---- the writer ----

export interface SummaryWriterOptions {
  /** Events kept in memory before a write (PyTorch's max_queue, default 10). */
  maxQueue?: number;
  /** A write at the next event once this many seconds passed since the last (PyTorch's flush_secs, default 120). */
  flushSecs?: number;
  /** Appended to the file name. */
  filenameSuffix?: string;
  /**
   * A resumed run's first new step (PyTorch's purge_step): the file starts with
   * a SessionLog START at this step, so TensorBoard drops older files' events at
   * and after it.
   */
  purgeStep?: number;
}

const WRITER_OPTIONS = ["maxQueue", "flushSecs", "filenameSuffix", "purgeStep"];
/** The file names TensorBoard reads in a folder. */
export const EVENT_FILE_PREFIX = "events.out.tfevents.";
/** Per process, so two writers of one second get their own files (tensorboard's _global_uid). */
let fileCounter = 0;

function checkStep(step: unknown, what: string): void {
  if (step !== undefined && !Number.isSafeInteger(step)) throw new FlareError(`${what}: globalStep must be an integer, got ${String(step)}`, "E_ARGUMENT");
}
function checkWallTime(walltime: unknown, what: string): void {
  if (walltime !== undefined && !(typeof walltime === "number" && Number.isFinite(walltime))) throw new FlareError(`${what}: walltime must be a finite number of seconds since the epoch, got ${String(walltime)}`, "E_ARGUMENT");
}
function checkTag(tag: unknown, what: string): asserts tag is string {
  if (typeof tag !== "string" || tag === "") throw new FlareError(`${what}: tag must be a non-empty string, got ${JSON.stringify(tag)}`, "E_ARGUMENT");
}

/** Writes one event file in `logDir` (made if missing): events.out.tfevents.<secs>.<host>.<pid>.<n>. */
export class SummaryWriter {
  readonly logDir: string;
  /** The event file's path. */
  readonly file: string;
  private readonly maxQueue: number;
  private readonly flushSecs: number;
  private queue: Buffer[] = [];
  private lastFlush = Date.now();
  private closed = false;

  constructor(logDir: string, options: SummaryWriterOptions = {}) {
    const what = "SummaryWriter()";
    if (typeof logDir !== "string" || logDir === "") throw new FlareError(`${what}: logDir must be a folder path, got ${JSON.stringify(logDir)}`, "E_ARGUMENT");
    const { maxQueue = 10, flushSecs = 120, filenameSuffix = "", purgeStep } = checkOptions(options, WRITER_OPTIONS, what);
    if (!Number.isSafeInteger(maxQueue) || maxQueue < 1) throw new FlareError(`${what}: maxQueue must be a positive integer, got ${maxQueue}`, "E_ARGUMENT");
    if (!(typeof flushSecs === "number" && flushSecs >= 0)) throw new FlareError(`${what}: flushSecs must be a non-negative number, got ${flushSecs}`, "E_ARGUMENT");
    if (typeof filenameSuffix !== "string" || filenameSuffix.includes("/") || filenameSuffix.includes("\0")) throw new FlareError(`${what}: filenameSuffix must be a string without '/', got ${JSON.stringify(filenameSuffix)}`, "E_ARGUMENT");
    checkStep(purgeStep, what);
    this.logDir = logDir;
    this.maxQueue = maxQueue;
    this.flushSecs = flushSecs;
    try { mkdirSync(logDir, { recursive: true }); } catch (error) {
      throw new FlareError(`${what}: cannot make the folder ${logDir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "E_IO");
    }
    // The first event names the format; it is on disk before the constructor returns (as in PyTorch).
    const first = encodeRecord(encodeEvent({ wallTime: Date.now() / 1000, fileVersion: "brain.Event:2" }));
    const secs = String(Math.floor(Date.now() / 1000)).padStart(10, "0");
    for (;;) {
      const file = path.join(logDir, `${EVENT_FILE_PREFIX}${secs}.${hostname()}.${process.pid}.${fileCounter++}${filenameSuffix}`);
      let fd: number | undefined;
      try {
        fd = openSync(file, "wx"); // never appends to another writer's file
        writeSync(fd, first);
        this.file = file;
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw new FlareError(`${what}: cannot write the event file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "E_IO");
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
    if (purgeStep !== undefined) {
      this.addEvent({ wallTime: Date.now() / 1000, step: purgeStep, fileVersion: "brain.Event:2" });
      this.addEvent({ wallTime: Date.now() / 1000, step: purgeStep, sessionLog: { status: 1 } });
    }
  }

  /** The folder the event file is in. */
  getLogdir(): string { return this.logDir; }

  /** Queues one event; writes the queue when it is full or flushSecs have passed. */
  addEvent(event: EventFields): void {
    if (this.closed) throw new FlareError(`SummaryWriter: ${this.file} is closed`, "E_STATE");
    this.queue.push(encodeRecord(encodeEvent(event)));
    if (this.queue.length >= this.maxQueue || Date.now() - this.lastFlush >= this.flushSecs * 1000) this.flush();
  }

  /** A scalar (a number or a one-element tensor) at `globalStep`; stored as float32, as TensorBoard's simple_value. */
  addScalar(tag: string, scalarValue: number | Tensor, globalStep?: number, walltime?: number): void {
    const what = "SummaryWriter.addScalar()";
    checkTag(tag, what);
    let value: unknown = scalarValue;
    if (isTensor(scalarValue)) {
      if (scalarValue.numel() !== 1) throw new FlareError(`${what}: '${tag}' must be a number or a one-element tensor, got shape [${scalarValue.shape.join(", ")}]`, "E_SHAPE");
      value = Number(scalarValue.item());
    }
    if (typeof value !== "number") throw new FlareError(`${what}: '${tag}' must be a number or a one-element tensor, got ${typeof value}`, "E_TYPE");
    checkStep(globalStep, what);
    checkWallTime(walltime, what);
    this.addEvent({ wallTime: walltime ?? Date.now() / 1000, ...(globalStep !== undefined ? { step: globalStep } : {}), summary: [{ tag, simpleValue: value }] });
  }

  /** An image: PNG bytes, or a CHW tensor (uint8 0..255, or floating point 0..1; 1 grey, 2 grey + alpha, 3 RGB or 4 RGBA channels). */
  addImage(tag: string, img: Uint8Array | Tensor, globalStep?: number, walltime?: number): void {
    const what = "SummaryWriter.addImage()";
    checkTag(tag, what);
    checkStep(globalStep, what);
    checkWallTime(walltime, what);
    const image = isTensor(img) ? tensorImage(img, `${what} '${tag}'`)
      : img instanceof Uint8Array ? pngImage(img, `${what} '${tag}'`)
      : (() => { throw new FlareError(`${what}: '${tag}' must be PNG bytes (a Buffer) or a CHW tensor`, "E_TYPE"); })();
    this.addEvent({ wallTime: walltime ?? Date.now() / 1000, ...(globalStep !== undefined ? { step: globalStep } : {}), summary: [{ tag, image }] });
  }

  /** Writes the queued events to the file (one append; a crash mid-write leaves a truncated last record, which TensorBoard skips). */
  flush(): void {
    this.lastFlush = Date.now();
    if (this.queue.length === 0) return;
    const data = Buffer.concat(this.queue);
    this.queue = []; // dropped even when the write fails: no unbounded growth
    try { appendFileSync(this.file, data); } catch (error) {
      throw new FlareError(`SummaryWriter: could not write the event file ${this.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "E_IO");
    }
  }

  /** Flushes and closes; later adds are errors. Closing twice is harmless. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
  }
}

// ---- resume: cutting event files back to a checkpoint ----

/**
 * The step of a serialized Event (field 2, 0 when absent) and whether it is only
 * a marker (wall_time, step, file_version, session_log, source_metadata: no
 * summary or graph); undefined when the bytes are not an Event.
 */
function eventStep(data: Buffer): { step: number; marker: boolean } | undefined {
  let i = 0, step = 0, marker = true;
  const readVarint = (): bigint | undefined => {
    let v = 0n, shift = 0n;
    for (;;) {
      if (i >= data.length || shift > 63n) return undefined;
      const b = data[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < data.length) {
    const k = readVarint();
    if (k === undefined) return undefined;
    const field = Number(k >> 3n), wire = Number(k & 7n);
    if (![1, 2, 3, 7, 10].includes(field)) marker = false;
    if (wire === 0) {
      const v = readVarint();
      if (v === undefined) return undefined;
      if (field === 2) step = Number(BigInt.asIntN(64, v));
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const n = readVarint();
      if (n === undefined) return undefined;
      i += Number(n);
    } else return undefined;
    if (i > data.length) return undefined;
  }
  return { step, marker };
}

/**
 * The leading records of `file` whose step is ≤ lastStep (stops at a damaged or
 * cut-off record): their byte length, and whether any of them holds more than
 * the file_version / SessionLog markers.
 */
function keptLength(file: string, lastStep: number): { length: number; data: boolean } {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const header = Buffer.alloc(12);
    let offset = 0, hasData = false;
    while (offset + 12 <= size) {
      if (readSync(fd, header, 0, 12, offset) !== 12) break;
      const length = header.readBigUInt64LE(0);
      if (header.readUInt32LE(8) !== maskedCrc32c(header.subarray(0, 8)) || length > BigInt(size - offset - 16)) break;
      const body = Buffer.alloc(Number(length) + 4);
      if (readSync(fd, body, 0, body.length, offset + 12) !== body.length) break;
      const data = body.subarray(0, body.length - 4);
      if (body.readUInt32LE(data.length) !== maskedCrc32c(data)) break;
      const step = eventStep(data);
      if (step === undefined || step.step > lastStep) break;
      if (!step.marker) hasData = true;
      offset += 16 + data.length;
    }
    return { length: offset, data: hasData };
  } finally {
    closeSync(fd);
  }
}

/**
 * Cuts every event file in `dir` back to its events at steps ≤ `lastStep`, as
 * the run folder's logs are on resume (files left empty are removed; a
 * negative lastStep removes them all, for a fresh run). Returns the files changed.
 */
export function truncateEventFiles(dir: string, lastStep: number): string[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  const changed: string[] = [];
  for (const name of names.filter((n) => n.startsWith(EVENT_FILE_PREFIX)).sort()) {
    const file = path.join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      const keep = lastStep < 0 ? { length: 0, data: false } : keptLength(file, lastStep);
      if (!keep.data) unlinkSync(file); // nothing left but the file's header
      else if (keep.length < statSync(file).size) truncateSync(file, keep.length);
      else continue;
      changed.push(file);
    } catch (error) {
      throw new FlareError(`SummaryWriter: could not cut the event file ${file} back to step ${lastStep}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "E_IO");
    }
  }
  return changed;
}

/**
 * The Trainer's tag for a run-folder log column: a steps.jsonl column is
 * "step/<name>"; a metrics.jsonl column train_x / val_x is "train/x" / "val/x",
 * and the others (lr, examples_per_s) are "epoch/<name>".
 */
export function runTag(name: string, log: "step" | "epoch"): string {
  if (log === "step") return `step/${name}`;
  const m = /^(train|val)_(.+)$/.exec(name);
  return m ? `${m[1]}/${m[2]}` : `epoch/${name}`;
}
