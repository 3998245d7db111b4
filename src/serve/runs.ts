// What the viewer shows of a runs folder: the runs in it (any folder, nested or
// not, holding a config.json, metrics.jsonl or steps.jsonl) and, for one run, its
// config, its images and whether it is training now. Read-only: nothing here
// writes, and symlinked folders are not walked (they could loop or lead out).
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { hostname } from "node:os";
import * as path from "node:path";
import { openRegularFile, realInside } from "./paths.js";

/** The files that make a folder a run. */
export const RUN_MARKERS = ["config.json", "metrics.jsonl", "steps.jsonl"];
/** Images the viewer shows (what flare's tasks write: PNG, JPEG, WebP). */
export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".webp", ".gif"];
/** Folders never walked: checkpoints hold weights, dot folders are someone's tooling. */
const SKIP = new Set(["checkpoints", "node_modules"]);
/** Bounds on a walk, so a huge or deep tree cannot stall the server. */
const MAX_DEPTH = 6, MAX_DIRS = 5000, MAX_IMAGES = 500, IMAGE_DEPTH = 3;
/** The largest config.json sent to the page. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface RunSummary {
  /** The run's path under the runs folder, "/"-separated ("demo/classify"). */
  name: string;
  /** Last modification of its logs or config (ms since the epoch). */
  mtimeMs: number;
  /** Whether a live process holds the run's lock (training now). */
  live: boolean;
  /** Its last epoch row (metrics.jsonl), if any. */
  last?: Record<string, number | null>;
  epochs: number;
  images: number;
}

export interface ImageEntry { path: string; bytes: number; mtimeMs: number }

/** Whether a process on this host holds the run folder's .lock (RunFolder's lock file). */
export function isLive(dir: string): boolean {
  let holder: { pid?: unknown; host?: unknown };
  let fd: number | undefined;
  try {
    // Non-blocking and not through a symlink: a FIFO or a link put there cannot stall or mislead the server.
    fd = openSync(path.join(dir, ".lock"), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    if (!fstatSync(fd).isFile()) return false;
    const buffer = Buffer.alloc(4096);
    holder = JSON.parse(buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString("utf8"));
  } catch { return false; } finally { if (fd !== undefined) closeSync(fd); }
  if (!Number.isSafeInteger(holder?.pid) || (holder.pid as number) <= 0 || holder.host !== hostname()) return false;
  try { process.kill(holder.pid as number, 0); return true; } catch (error) { return (error as NodeJS.ErrnoException).code === "EPERM"; }
}

/** Every run folder under `root` (a real path), by name. */
export async function listRuns(root: string): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  const queue: { dir: string; depth: number }[] = [{ dir: root, depth: 0 }];
  let visited = 0;
  while (queue.length && visited < MAX_DIRS) {
    const { dir, depth } = queue.shift()!;
    visited++;
    let entries;
    try { entries = await readdir(dir, { withFileTypes: true }); } catch { continue; }
    const files = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    if (dir !== root && RUN_MARKERS.some((m) => files.has(m))) runs.push(await summarise(root, dir, files));
    if (depth >= MAX_DEPTH) continue;
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith(".") && !SKIP.has(e.name)) queue.push({ dir: path.join(dir, e.name), depth: depth + 1 });
    }
  }
  return runs.sort((a, b) => a.name.localeCompare(b.name));
}

/** The "/"-separated name of a run folder under root. */
export function runName(root: string, dir: string): string {
  return path.relative(root, dir).split(path.sep).join("/");
}

async function summarise(root: string, dir: string, files: Set<string>): Promise<RunSummary> {
  let mtimeMs = 0;
  for (const m of RUN_MARKERS) {
    if (!files.has(m)) continue;
    try { mtimeMs = Math.max(mtimeMs, (await stat(path.join(dir, m))).mtimeMs); } catch { /* gone since */ }
  }
  const epochs = files.has("metrics.jsonl") ? await lastLines(root, path.join(dir, "metrics.jsonl")) : { count: 0 };
  const images = [...files].filter((f) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase())).length;
  return { name: runName(root, dir), mtimeMs, live: isLive(dir), ...(epochs.last ? { last: epochs.last } : {}), epochs: epochs.count, images };
}

/** The number of lines of a small log and its last row (at most 1 MiB read: the list stays quick). */
async function lastLines(root: string, file: string): Promise<{ count: number; last?: Record<string, number | null> }> {
  const real = await realInside(root, file);
  const opened = real ? await openRegularFile(real) : undefined;
  if (!opened) return { count: 0 };
  let text: string;
  try {
    const buffer = Buffer.alloc(Math.min(opened.size, 1024 * 1024));
    const { bytesRead } = await opened.handle.read(buffer, 0, buffer.length, 0);
    text = buffer.subarray(0, bytesRead).toString("utf8");
  } catch { return { count: 0 }; } finally { await opened.handle.close(); }
  const lines = text.split("\n").filter((l) => l.trim().startsWith("{") && l.trim().endsWith("}"));
  let last: Record<string, number | null> | undefined;
  try { last = JSON.parse(lines[lines.length - 1] ?? "null") ?? undefined; } catch { last = undefined; }
  return { count: lines.length, ...(last && typeof last === "object" ? { last } : {}) };
}

/** The images of a run (in it and up to IMAGE_DEPTH folders down, not in nested runs), newest last. */
export async function listImages(runDir: string): Promise<ImageEntry[]> {
  const found: ImageEntry[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; }
    if (dir !== runDir && entries.some((e) => e.isFile() && RUN_MARKERS.includes(e.name))) return; // a nested run shows on its own
    for (const e of entries) {
      if (found.length >= MAX_IMAGES) return;
      const p = path.join(dir, e.name);
      if (e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) {
        try {
          const st = await stat(p);
          found.push({ path: path.relative(runDir, p).split(path.sep).join("/"), bytes: st.size, mtimeMs: st.mtimeMs });
        } catch { /* gone since */ }
      } else if (e.isDirectory() && depth < IMAGE_DEPTH && !e.name.startsWith(".") && !SKIP.has(e.name)) {
        await walk(p, depth + 1);
      }
    }
  };
  await walk(runDir, 0);
  return found.sort((a, b) => a.mtimeMs - b.mtimeMs || a.path.localeCompare(b.path));
}

/** A run's config.json as text (undefined if absent, not a regular file, or too large). */
export async function readConfig(root: string, runDir: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  const real = await realInside(root, path.join(runDir, "config.json"));
  const opened = real ? await openRegularFile(real) : undefined;
  if (!opened) return undefined;
  try {
    if (opened.size > MAX_CONFIG_BYTES) return undefined;
    return { text: (await opened.handle.readFile()).toString("utf8"), mtimeMs: opened.mtimeMs };
  } catch { return undefined; } finally { await opened.handle.close(); }
}

/** Whether `dir` is a run folder (holds one of RUN_MARKERS). */
export async function isRunDir(dir: string): Promise<boolean> {
  for (const m of RUN_MARKERS) {
    try { if ((await stat(path.join(dir, m))).isFile()) return true; } catch { /* try the next */ }
  }
  return false;
}
