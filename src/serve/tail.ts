// Reading a run's JSON-lines logs (metrics.jsonl, steps.jsonl) as they grow: a
// cursor (the file's inode and a byte offset) remembers where the last read
// stopped, so each read returns only the rows appended since. A file that
// shrank or was replaced (a resumed run rewrites its logs) starts over, and
// the caller is told to drop what it had.
import { constants } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import { isInside } from "./paths.js";

export interface Cursor { ino: number; offset: number }

export type Row = Record<string, number | null>;

export interface TailResult {
  rows: Row[];
  cursor: Cursor;
  /** The rows before these are gone (the file was rewritten or removed): drop them. */
  reset: boolean;
  /** Lines that were not JSON objects of numbers, left out. */
  skipped: number;
}

/** At most this many bytes per read; a longer backlog comes over the next reads. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** The cursor as a URL token ("ino-offset") and back. */
export function cursorToken(c: Cursor): string { return `${c.ino}-${c.offset}`; }
export function parseCursor(token: string | null | undefined): Cursor | undefined {
  const m = /^(\d{1,20})-(\d{1,16})$/.exec(token ?? "");
  if (!m) return undefined;
  const ino = Number(m[1]), offset = Number(m[2]);
  return Number.isSafeInteger(offset) ? { ino, offset } : undefined;
}

/** A row of numbers (NaN / Infinity were written as null), or undefined. */
function toRow(line: string): Row | undefined {
  let value: unknown;
  try { value = JSON.parse(line); } catch { return undefined; }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const row: Row = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === "number" || v === null) row[k] = v;
  }
  return row;
}

/**
 * The rows of `file` after `cursor` (all of them without one). Only whole lines
 * are read: a line still being appended waits for its newline. `root` bounds
 * where the file may be (checked again after a symlink swap).
 */
export async function readRows(root: string, file: string, cursor: Cursor | undefined, maxBytes = CHUNK_BYTES): Promise<TailResult> {
  let st, real: string | undefined;
  try { real = await realpath(file); st = await stat(real); } catch { st = undefined; }
  // A log that is a symlink out of the runs folder is treated as absent.
  if (!st || !real || !st.isFile() || !isInside(root, real)) {
    return { rows: [], cursor: { ino: 0, offset: 0 }, reset: cursor !== undefined && cursor.offset > 0, skipped: 0 };
  }
  const ino = Number(st.ino);
  let start = cursor?.offset ?? 0, reset = false;
  if (cursor && (cursor.ino !== ino || cursor.offset > st.size)) { start = 0; reset = cursor.offset > 0 || cursor.ino !== ino; }
  if (start >= st.size) return { rows: [], cursor: { ino, offset: start }, reset, skipped: 0 };
  const length = Math.min(st.size - start, maxBytes);
  const buffer = Buffer.alloc(length);
  let got = 0;
  const handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  try {
    while (got < length) {
      const { bytesRead } = await handle.read(buffer, got, length - got, start + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
  } finally { await handle.close(); }
  const end = buffer.subarray(0, got).lastIndexOf(0x0a);
  if (end < 0) {
    // No newline in a full chunk: a line longer than any log line flare writes; skip it.
    if (got === maxBytes) return { rows: [], cursor: { ino, offset: start + got }, reset, skipped: 1 };
    return { rows: [], cursor: { ino, offset: start }, reset, skipped: 0 };
  }
  const rows: Row[] = [];
  let skipped = 0;
  for (const line of buffer.subarray(0, end).toString("utf8").split("\n")) {
    if (line.trim() === "") continue;
    const row = toRow(line);
    if (row) rows.push(row); else skipped++;
  }
  return { rows, cursor: { ino, offset: start + end + 1 }, reset, skipped };
}
