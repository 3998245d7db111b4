// The one way flare reads a file: the path must be a string naming a regular
// file no larger than the reader's limit. Special files (/dev/zero, a FIFO, a
// socket) and directories are refused before a byte is read, so a bad path is
// a FlareError, never an endless read or a hang. The file is opened
// non-blocking (a FIFO swapped in after the check cannot block the open) and
// checked again on the open descriptor.
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { constants as bufferConstants } from "node:buffer";
import { FlareError } from "../errors.js";

export const KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

/** The largest file any reader accepts: what one Buffer can hold. */
export const MAX_FILE_BYTES = Math.min(bufferConstants.MAX_LENGTH, 16 * GiB);

/** Default limits of flare's readers (documented in the README's reliability section). */
export const FILE_LIMITS = {
  safetensors: MAX_FILE_BYTES,
  image: 512 * MiB,
  /** JSON (COCO annotations, checkpoint-adjacent files): V8's largest string is about 512 MiB. */
  json: 512 * MiB,
  xml: 64 * MiB,
  text: 256 * MiB,
  idx: 2 * GiB,
  cifar: 256 * MiB,
} as const;

export interface ReadFileOptions {
  /** Upper bound on the file's size in bytes. */
  maxBytes: number;
  /** Who reads, for messages ("readImage()", "CocoDetection()"). */
  what: string;
  /** What the file is, for messages: "annotation" gives "could not read the annotation file F". */
  role?: string;
  /** Appended to "no such file" (where the file was expected to come from). */
  missingHint?: string;
}

function kind(stats: Stats): string {
  if (stats.isDirectory()) return "is a directory";
  if (stats.isCharacterDevice()) return "is a character device, not a regular file";
  if (stats.isBlockDevice()) return "is a block device, not a regular file";
  if (stats.isFIFO()) return "is a FIFO (named pipe), not a regular file";
  if (stats.isSocket()) return "is a socket, not a regular file";
  return "is not a regular file";
}

function describeBytes(n: number): string {
  return n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${n} bytes`;
}

function named(file: string, options: ReadFileOptions): string {
  return `${options.role ? `the ${options.role} file ` : ""}${file}`;
}

function errnoText(error: unknown, options?: ReadFileOptions): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return `no such file${options?.missingHint ? ` ${options.missingHint}` : ""}`;
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOTDIR") return "a part of the path is not a directory";
  if (code === "ELOOP") return "too many symbolic links";
  if (code === "ENAMETOOLONG") return "the path is too long";
  return code ?? (error as Error).message;
}

/** Checks that `file` is a path string (no file descriptor numbers, no Buffers, no empty string). */
export function checkPath(file: unknown, what: string): string {
  if (typeof file !== "string" || file.length === 0)
    throw new FlareError(`${what}: expected a file path (a non-empty string), got ${file === null ? "null" : typeof file === "string" ? "an empty string" : typeof file}`, "E_ARGUMENT");
  if (file.includes("\0")) throw new FlareError(`${what}: the file path contains a NUL character`, "E_ARGUMENT");
  return file;
}

function checkStats(file: string, stats: Stats, options: ReadFileOptions): number {
  const { maxBytes, what } = options;
  if (!stats.isFile()) throw new FlareError(`${what}: could not read ${named(file, options)}: ${kind(stats)}`, "E_IO");
  if (stats.size > maxBytes)
    throw new FlareError(`${what}: could not read ${named(file, options)}: it is ${describeBytes(stats.size)}, more than the ${describeBytes(maxBytes)} this reader accepts`, "E_IO");
  return stats.size;
}

/** Stats `file` and checks it is a regular file within `maxBytes`; returns its size. */
export function checkRegularFile(file: unknown, options: ReadFileOptions): number {
  const p = checkPath(file, options.what);
  let stats: Stats;
  try { stats = statSync(p); } catch (error) {
    throw new FlareError(`${options.what}: could not read ${named(p, options)}: ${errnoText(error, options)}`, "E_IO");
  }
  return checkStats(p, stats, options);
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** The descriptor and size of a checked regular file, opened for reading (the caller closes it). */
export function openChecked(file: unknown, options: ReadFileOptions): [fd: number, size: number] {
  checkRegularFile(file, options);
  const p = file as string;
  let fd: number;
  try { fd = openSync(p, OPEN_FLAGS); } catch (error) {
    throw new FlareError(`${options.what}: could not read ${named(p, options)}: ${errnoText(error, options)}`, "E_IO");
  }
  try {
    return [fd, checkStats(p, fstatSync(fd), options)];
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Opens a regular file of at most `maxBytes` bytes for reading; returns the descriptor (the caller closes it). */
export function openRegularFile(file: unknown, options: ReadFileOptions): number {
  return openChecked(file, options)[0];
}

/** Reads a whole regular file of at most `maxBytes` bytes (synchronously). */
export function readRegularFile(file: unknown, options: ReadFileOptions): Buffer {
  const [fd, size] = openChecked(file, options);
  try {
    const bytes = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, got);
      if (n === 0) break; // shrank while being read
      got += n;
    }
    return got === size ? bytes : bytes.subarray(0, got);
  } catch (error) {
    throw new FlareError(`${options.what}: could not read ${named(file as string, options)}: ${errnoText(error, options)}`, "E_IO");
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole regular file of at most `maxBytes` bytes, without blocking the event loop. */
export async function readRegularFileAsync(file: unknown, options: ReadFileOptions): Promise<Buffer> {
  const p = checkPath(file, options.what);
  let handle;
  try {
    handle = await open(p, OPEN_FLAGS);
  } catch (error) {
    throw new FlareError(`${options.what}: could not read ${named(p, options)}: ${errnoText(error, options)}`, "E_IO");
  }
  try {
    const size = checkStats(p, await handle.stat(), options);
    const bytes = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await handle.read(bytes, got, size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === size ? bytes : bytes.subarray(0, got);
  } catch (error) {
    if (error instanceof FlareError) throw error;
    throw new FlareError(`${options.what}: could not read ${named(p, options)}: ${errnoText(error, options)}`, "E_IO");
  } finally {
    await handle.close();
  }
}

/** Reads a regular text file as UTF-8 (a leading byte-order mark dropped). */
export function readTextFile(file: unknown, options: ReadFileOptions): string {
  const text = readRegularFile(file, options).toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
