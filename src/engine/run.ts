// A run folder, runs/<name>/: config.json, metrics.jsonl (one line per epoch),
// steps.jsonl (one line per optimizer step), checkpoints/last.safetensors and
// best.safetensors (full training state), model.safetensors (the best weights
// alone) and curves.svg.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { FlareError } from "../errors.js";
import { writeFileAtomic } from "../io/index.js";

export class RunFolder {
  readonly dir: string;
  /** Read-only folders (the other ranks of a distributed run) may read checkpoints but never write. */
  readonly readOnly: boolean;
  constructor(dir: string, { readOnly = false }: { readOnly?: boolean } = {}) {
    this.dir = dir;
    this.readOnly = readOnly;
    if (!readOnly) mkdirSync(path.join(dir, "checkpoints"), { recursive: true });
  }
  /** Throws unless this process may write the folder (the rank-0 guard's backstop). */
  checkWritable(what: string): void {
    if (this.readOnly) throw new FlareError(`RunFolder: ${what} in ${this.dir} from a process that is not the main one (rank 0)`, "E_STATE");
  }
  get lastCheckpoint(): string { return path.join(this.dir, "checkpoints", "last.safetensors"); }
  get bestCheckpoint(): string { return path.join(this.dir, "checkpoints", "best.safetensors"); }
  /** The best model's weights alone (a plain state dict, what models.get({weights}) loads). */
  get bestModel(): string { return path.join(this.dir, "model.safetensors"); }
  hasCheckpoint(): boolean { return existsSync(this.lastCheckpoint); }

  writeConfig(config: Record<string, unknown>): void {
    this.checkWritable("writing config.json");
    writeFileAtomic(path.join(this.dir, "config.json"), Buffer.from(JSON.stringify(config, null, 2) + "\n"));
  }

  /** Appends one epoch's metrics; a resumed run first drops lines past its checkpoint. */
  appendMetrics(row: Record<string, number>): void {
    this.checkWritable("writing metrics.jsonl");
    appendFileSync(path.join(this.dir, "metrics.jsonl"), JSON.stringify(row) + "\n");
  }

  readMetrics(): Record<string, number>[] { return this.readLines("metrics.jsonl"); }

  /** Keeps the metrics of epochs up to `lastEpoch` (used when resuming). */
  truncateMetrics(lastEpoch: number): void {
    this.checkWritable("rewriting metrics.jsonl");
    this.keepLines("metrics.jsonl", (row) => row.epoch <= lastEpoch);
  }

  /** Appends one optimizer step's losses, so curves exist before the first epoch ends. */
  appendStep(row: Record<string, number>): void {
    this.checkWritable("writing steps.jsonl");
    appendFileSync(path.join(this.dir, "steps.jsonl"), JSON.stringify(row) + "\n");
  }

  readSteps(): Record<string, number>[] { return this.readLines("steps.jsonl"); }

  /** Keeps the steps up to global step `lastStep` (used when resuming). */
  truncateSteps(lastStep: number): void {
    this.checkWritable("rewriting steps.jsonl");
    this.keepLines("steps.jsonl", (row) => row.step <= lastStep);
  }

  private readLines(name: string): Record<string, number>[] {
    const file = path.join(this.dir, name);
    if (!existsSync(file)) return [];
    // A line cut short by kill -9 in the middle of an append is dropped.
    return readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).flatMap((l) => {
      try { return [JSON.parse(l)]; } catch { return []; }
    });
  }

  private keepLines(name: string, keep: (row: Record<string, number>) => boolean): void {
    const kept = this.readLines(name).filter(keep);
    writeFileAtomic(path.join(this.dir, name), Buffer.from(kept.map((r) => JSON.stringify(r) + "\n").join("")));
  }

  /** Plots every metric against the epoch as an SVG line chart. */
  writePlot(): void {
    this.checkWritable("writing curves.svg");
    writeFileAtomic(path.join(this.dir, "curves.svg"), Buffer.from(plotSvg(this.readMetrics())));
  }
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
      `<text x="${width - m.right + 10}" y="${m.top + 16 * i + 10}" fill="${color}" font-size="12" font-family="sans-serif">${k}</text>`;
  }).join("\n");
  const axes = `<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="#333"/>` +
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="#333"/>` +
    `<text x="${(width - m.right + m.left) / 2}" y="${height - 8}" font-size="12" font-family="sans-serif" text-anchor="middle">epoch</text>` +
    `<text x="${m.left - 6}" y="${py(y1) + 4}" font-size="11" text-anchor="end" font-family="sans-serif">${y1.toFixed(2)}</text>` +
    `<text x="${m.left - 6}" y="${py(y0) + 4}" font-size="11" text-anchor="end" font-family="sans-serif">${y0.toFixed(2)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${axes}\n${lines}\n</svg>\n`;
}
