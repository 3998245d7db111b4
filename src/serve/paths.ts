// The one gate between a request's path and the file system: a URL path is
// decoded segment by segment and turned into a file inside the runs folder, or
// refused. Refused: "..", ".", empty segments (an absolute path after the
// prefix), encoded slashes and backslashes, NUL, and anything whose real path
// (symlinks followed) lies outside the runs folder's real path.
import { constants, realpathSync } from "node:fs";
import { open, realpath, type FileHandle } from "node:fs/promises";
import * as path from "node:path";

/** Why a path was not resolved: "forbidden" (403: it tries to leave the folder) or "missing" (404). */
export type Refusal = "forbidden" | "missing" | "bad";

export type Resolved = { ok: true; file: string; segments: string[] } | { ok: false; why: Refusal };

/** Whether `p` is `root` or lies under it (both absolute and normalised). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/**
 * The decoded segments of a raw (still percent-encoded) URL path, or why not.
 * The raw path is used, not one normalised by a URL parser: a parser would turn
 * "a/%2e%2e/b" into "b" silently, and the refusal must see it.
 */
export function splitUrlPath(raw: string): { ok: true; segments: string[] } | { ok: false; why: Refusal } {
  if (raw === "") return { ok: true, segments: [] };
  const segments: string[] = [];
  for (const part of raw.split("/")) {
    let decoded: string;
    try { decoded = decodeURIComponent(part); } catch { return { ok: false, why: "bad" }; }
    if (decoded === "" || decoded === "." || decoded === ".." || /[/\\\0]/.test(decoded)) return { ok: false, why: "forbidden" };
    segments.push(decoded);
  }
  return { ok: true, segments };
}

/** The runs folder's real path (symlinks resolved once, at start). */
export function realRoot(dir: string): string {
  return realpathSync(path.resolve(dir));
}

/**
 * The real path of `segments` under `root` (a real path), or why not: a path
 * that is missing is "missing"; one whose real path leaves the root (a symlink
 * pointing out) is "forbidden".
 */
export async function resolveInside(root: string, segments: string[]): Promise<Resolved> {
  const joined = path.join(root, ...segments);
  if (!isInside(root, joined)) return { ok: false, why: "forbidden" };
  let real: string;
  try { real = await realpath(joined); } catch { return { ok: false, why: "missing" }; }
  if (!isInside(root, real)) return { ok: false, why: "forbidden" };
  return { ok: true, file: real, segments };
}

/** The real path of `file` if it exists and lies inside `root` (a real path), else undefined. */
export async function realInside(root: string, file: string): Promise<string | undefined> {
  try {
    const real = await realpath(file);
    return isInside(root, real) ? real : undefined;
  } catch { return undefined; }
}

/**
 * Opens a resolved path for reading if it is a regular file: non-blocking (a
 * FIFO swapped in cannot hang the server) and without following a symlink put
 * in its place since it was resolved. Undefined when it is anything else.
 */
export async function openRegularFile(file: string): Promise<{ handle: FileHandle; size: number; mtimeMs: number } | undefined> {
  let handle: FileHandle;
  try { handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW); } catch { return undefined; }
  try {
    const st = await handle.stat();
    if (st.isFile()) return { handle, size: st.size, mtimeMs: st.mtimeMs };
  } catch { /* fall through: closed below */ }
  await handle.close();
  return undefined;
}
