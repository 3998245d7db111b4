// A run folder, runs/<name>/: config.json, metrics.jsonl (one line per epoch),
// steps.jsonl (one line per optimizer step), checkpoints/last.safetensors and
// best.safetensors (full training state), model.safetensors (the best weights
// alone) and curves.svg. The Trainer adds TensorBoard event files (tensorboard.ts).
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import * as path from "node:path";
import { FlareError } from "../errors.js";
import { writeFileAtomic } from "../io/index.js";
import { checkPath, readTextFile } from "../io/files.js";

/** The largest run-folder log (metrics.jsonl, steps.jsonl) flare reads. */
export const MAX_RUN_FILE_BYTES = 256 * 1024 * 1024;

const LOCK = ".lock";

type Row = Record<string, number>;

/** What stands at `p`: "missing", "dir", "file" or "other" (a FIFO, a device...). */
function kindOf(p: string): "missing" | "dir" | "file" | "other" {
  try {
    const st = statSync(p);
    return st.isDirectory() ? "dir" : st.isFile() ? "file" : "other";
  } catch { return "missing"; }
}

/** Makes `dir` (and its parents) or says which part of the path is in the way. */
function makeDir(dir: string): void {
  try { mkdirSync(dir, { recursive: true }); return; } catch (error) {
    // Find the deepest existing ancestor: a file there is the problem (--runs-dir naming a file).
    for (let p = dir; ; p = path.dirname(p)) {
      const kind = kindOf(p);
      if (kind !== "missing" && kind !== "dir") throw new FlareError(`RunFolder: cannot make the run folder ${dir}: ${p} is a ${kind === "file" ? "file" : "special file"}, not a folder`, "E_IO");
      if (kind === "dir" || path.dirname(p) === p) break;
    }
    throw new FlareError(`RunFolder: cannot make the run folder ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "E_IO");
  }
}

/** Whether process `pid` is alive on this machine (EPERM: alive, someone else's). */
function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (error) { return (error as NodeJS.ErrnoException).code === "EPERM"; }
}

/** When process `pid` started (Linux: /proc/PID/stat field 22), to tell a reused pid from the lock's owner; undefined elsewhere. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch { return undefined; }
}

/** Lock files this process holds, removed on exit so they do not outlive a normal run. */
const heldLocks = new Set<string>();
let exitHook = false;
function releaseAtExit(file: string): void {
  heldLocks.add(file);
  if (exitHook) return;
  exitHook = true;
  process.on("exit", () => { for (const f of heldLocks) try { unlinkSync(f); } catch { /* gone already */ } });
}

export class RunFolder {
  readonly dir: string;
  /** Read-only folders (the other ranks of a distributed run) may read checkpoints but never write. */
  readonly readOnly: boolean;
  /** Temporary files of an interrupted earlier write that the constructor removed. */
  readonly cleaned: string[] = [];
  constructor(dir: string, { readOnly = false }: { readOnly?: boolean } = {}) {
    this.dir = checkPath(dir, "RunFolder");
    this.readOnly = readOnly;
    const kind = kindOf(dir);
    if (kind !== "missing" && kind !== "dir") throw new FlareError(`RunFolder: ${dir} is a ${kind === "file" ? "file" : "special file"}, not a run folder`, "E_IO");
    if (readOnly) return;
    makeDir(path.join(dir, "checkpoints"));
    this.lock();
    this.cleanTemporaries();
  }

  /**
   * Takes the folder's lock file (pid and host): a second run in the same
   * folder is refused while the first one lives; a lock left by a killed run
   * (its pid gone) is taken over. The same process may reopen its own folder.
   */
  private lock(): void {
    const file = path.join(this.dir, LOCK);
    const mine = JSON.stringify({ pid: process.pid, host: hostname(), start: startTime(process.pid) });
    for (let attempt = 0; attempt < 3; attempt++) {
      let fd: number | undefined;
      try {
        fd = openSync(file, "wx");
        writeSync(fd, mine + "\n");
        closeSync(fd);
        releaseAtExit(file);
        return;
      } catch (error) {
        if (fd !== undefined) closeSync(fd);
        if ((error as NodeJS.ErrnoException).code !== "EEXIST")
          throw new FlareError(`RunFolder: cannot make the lock file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "E_IO");
      }
      let holder: { pid?: unknown; host?: unknown; start?: unknown } = {};
      try { holder = JSON.parse(readTextFile(file, { maxBytes: 4096, what: "RunFolder" })) ?? {}; } catch { /* unreadable or half-written: judged stale below */ }
      const pid = holder.pid;
      if (pid === process.pid && holder.host === hostname()) { releaseAtExit(file); return; }
      // Alive and the same process (not a later one that reuses the pid).
      const same = (p: number) => alive(p) && (typeof holder.start !== "string" || startTime(p) === undefined || startTime(p) === holder.start);
      if (Number.isSafeInteger(pid) && (pid as number) > 0 && holder.host === hostname() && same(pid as number))
        throw new FlareError(`RunFolder: ${this.dir} is in use by another run (process ${pid}); wait for it, use another --name, or delete ${file} if no such run exists`, "E_STATE");
      if (Number.isSafeInteger(pid) && typeof holder.host === "string" && holder.host !== hostname())
        throw new FlareError(`RunFolder: ${this.dir} is locked by process ${pid} on host ${holder.host}; delete ${file} if that run is over`, "E_STATE");
      // Stale (its process is gone) or garbage: remove and try again.
      try { unlinkSync(file); } catch { /* another process took it first */ }
    }
    throw new FlareError(`RunFolder: could not take the lock ${file} (other processes keep taking it)`, "E_STATE");
  }

  /** Gives the folder's lock back (it is also given back when the process exits). */
  release(): void {
    const file = path.join(this.dir, LOCK);
    if (!heldLocks.delete(file)) return;
    try { unlinkSync(file); } catch { /* gone already */ }
  }

  /** Removes the *.tmp files an interrupted atomic write left (we hold the lock: nobody else is writing). */
  private cleanTemporaries(): void {
    for (const dir of [this.dir, path.join(this.dir, "checkpoints")]) {
      let names: string[];
      try { names = readdirSync(dir); } catch { continue; }
      for (const name of names) {
        if (!name.endsWith(".tmp")) continue;
        const file = path.join(dir, name);
        if (kindOf(file) !== "file") continue;
        try { unlinkSync(file); this.cleaned.push(file); } catch { /* leave it */ }
      }
    }
  }

  /** Throws unless this process may write the folder (the rank-0 guard's backstop). */
  checkWritable(what: string): void {
    if (this.readOnly) throw new FlareError(`RunFolder: ${what} in ${this.dir} from a process that is not the main one (rank 0)`, "E_STATE");
  }
  get lastCheckpoint(): string { return path.join(this.dir, "checkpoints", "last.safetensors"); }
  get bestCheckpoint(): string { return path.join(this.dir, "checkpoints", "best.safetensors"); }
  /** The best model's weights alone (a plain state dict, what models.get({weights}) loads). */
  get bestModel(): string { return path.join(this.dir, "model.safetensors"); }
  /** Whether a last checkpoint exists (something other than a file there is an error, not "no"). */
  hasCheckpoint(): boolean {
    const kind = kindOf(this.lastCheckpoint);
    if (kind === "missing") return false;
    if (kind !== "file") throw new FlareError(`RunFolder: ${this.lastCheckpoint} is a ${kind === "dir" ? "directory" : "special file"}, not a checkpoint file`, "E_IO");
    return true;
  }

  writeConfig(config: Record<string, unknown>): void {
    this.checkWritable("writing config.json");
    writeFileAtomic(path.join(this.dir, "config.json"), Buffer.from(JSON.stringify(config, null, 2) + "\n"));
  }

  /** Appends one epoch's metrics; a resumed run first drops lines past its checkpoint. */
  appendMetrics(row: Record<string, number>): void {
    this.append("metrics.jsonl", row);
  }

  readMetrics(): Record<string, number>[] { return this.readLog("metrics.jsonl", "epoch"); }

  /** Keeps the metrics of epochs up to `lastEpoch` (used when resuming). */
  truncateMetrics(lastEpoch: number): void {
    this.keepLines("metrics.jsonl", "epoch", lastEpoch);
  }

  /** Appends one optimizer step's losses, so curves exist before the first epoch ends. */
  appendStep(row: Record<string, number>): void {
    this.append("steps.jsonl", row);
  }

  readSteps(): Record<string, number>[] { return this.readLog("steps.jsonl", "step"); }

  /** Keeps the steps up to global step `lastStep` (used when resuming). */
  truncateSteps(lastStep: number): void {
    this.keepLines("steps.jsonl", "step", lastStep);
  }

  private append(name: string, row: Row): void {
    this.checkWritable(`writing ${name}`);
    const file = path.join(this.dir, name);
    try { appendFileSync(file, JSON.stringify(row) + "\n"); } catch (error) {
      throw new FlareError(`RunFolder: could not append to ${file}: ${(error as NodeJS.ErrnoException).code === "EISDIR" ? "it is a directory" : (error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "E_IO");
    }
  }

  /**
   * The one reader of the folder's JSON-lines logs. A last line without its
   * newline is what an interrupted append leaves: it is dropped with a
   * warning. Any other line that is not a JSON object of numbers (with an
   * integer `key`) is a FlareError naming the file and the line.
   */
  readLog(name: string, key: "epoch" | "step"): Row[] {
    const file = path.join(this.dir, name);
    if (kindOf(file) === "missing") return [];
    const text = readTextFile(file, { maxBytes: MAX_RUN_FILE_BYTES, what: "RunFolder" });
    const lines = text.split("\n");
    const partial = lines.pop()!; // "" when the file ends with a newline
    const rows: Row[] = [];
    const bad = (n: number, problem: string): never => {
      throw new FlareError(`RunFolder: ${file} is corrupt: line ${n}: ${problem} (fix or delete the file)`, "E_FORMAT");
    };
    lines.forEach((line, i) => {
      if (line.trim() === "") return;
      let row: unknown;
      try { row = JSON.parse(line); } catch { bad(i + 1, "not JSON"); }
      rows.push(checkRow(row, key, (problem) => bad(i + 1, problem)));
    });
    if (partial.trim() !== "") {
      // A whole row that only lacks its newline is kept; anything else is a cut-off write.
      let row: unknown;
      try { row = JSON.parse(partial); } catch { row = undefined; }
      try { rows.push(checkRow(row, key, (problem) => { throw new Error(problem); })); return rows; } catch { /* unfinished */ }
      process.emitWarning(`${file}: dropped an unfinished last line (${partial.length} characters; an interrupted write)`, { code: "FLARE_RUN_PARTIAL_LINE" });
    }
    return rows;
  }

  private keepLines(name: string, key: "epoch" | "step", last: number): void {
    this.checkWritable(`rewriting ${name}`);
    // A fresh run keeps nothing, so it never needs to read (and trust) an old log.
    const kept = last < 0 ? [] : this.readLog(name, key).filter((row) => row[key] <= last);
    writeFileAtomic(path.join(this.dir, name), Buffer.from(kept.map((r) => JSON.stringify(r) + "\n").join("")));
  }

  /** Plots every metric against the epoch as an SVG line chart. */
  writePlot(): void {
    this.checkWritable("writing curves.svg");
    writeFileAtomic(path.join(this.dir, "curves.svg"), Buffer.from(plotSvg(this.readMetrics())));
  }
}

function checkRow(row: unknown, key: "epoch" | "step", bad: (problem: string) => never): Row {
  if (row === null || typeof row !== "object" || Array.isArray(row)) return bad(`${JSON.stringify(row)} is not an object`);
  for (const [k, v] of Object.entries(row)) {
    // NaN and ±Infinity are written as null by JSON.stringify.
    if (v !== null && typeof v !== "number") bad(`"${k}" is ${JSON.stringify(v)?.slice(0, 40)}, not a number`);
  }
  const r = row as Row;
  if (!Number.isSafeInteger(r[key]) || r[key] < 0) bad(`"${key}" is ${JSON.stringify(r[key])}, not a count`);
  return r;
}

/** Text for SVG/HTML: the five characters that could open markup, escaped. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"];

export function plotSvg(rows: Record<string, number>[], width = 640, height = 360): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => k !== "epoch" && !k.endsWith("_per_s") && k !== "lr");
  const m = { left: 50, right: 150, top: 20, bottom: 40 };
  const xs = rows.map((r) => r.epoch + 1);
  const values = rows.flatMap((r) => keys.map((k) => r[k]).filter(Number.isFinite));
  const [x0, x1] = [Math.min(...xs, 1), Math.max(...xs, 2)];
  const [y0, y1] = [Math.min(0, ...values), Math.max(1, ...values)];
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0)) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - ((y - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const lines = keys.map((k, i) => {
    const points = rows.filter((r) => Number.isFinite(r[k])).map((r) => `${px(r.epoch + 1).toFixed(1)},${py(r[k]).toFixed(1)}`).join(" ");
    const color = COLORS[i % COLORS.length];
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>` +
      `<text x="${width - m.right + 10}" y="${m.top + 16 * i + 10}" fill="${color}" font-size="12" font-family="sans-serif">${escapeXml(k)}</text>`;
  }).join("\n");
  const axes = `<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="#333"/>` +
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="#333"/>` +
    `<text x="${(width - m.right + m.left) / 2}" y="${height - 8}" font-size="12" font-family="sans-serif" text-anchor="middle">epoch</text>` +
    `<text x="${m.left - 6}" y="${py(y1) + 4}" font-size="11" text-anchor="end" font-family="sans-serif">${y1.toFixed(2)}</text>` +
    `<text x="${m.left - 6}" y="${py(y0) + 4}" font-size="11" text-anchor="end" font-family="sans-serif">${y0.toFixed(2)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${axes}\n${lines}\n</svg>\n`;
}
