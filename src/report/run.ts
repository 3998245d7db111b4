// A run folder as the report reads it: config.json (required: it is what makes a
// folder a run), metrics.jsonl, steps.jsonl, result.json, the pictures it wrote, and
// the run folders inside it (the transfer stage's pretrain / finetune / scratch),
// and its HTML section (numbers, curves, pictures, config).
import { existsSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { FlareError } from "../errors.js";
import { checkPath, readRegularFile, readTextFile, FILE_LIMITS } from "../io/files.js";
import { RunFolder } from "../engine/run.js";
import { escapeHtml, formatNumber, imageMime, inlineImage, keyValueTable, table } from "./html.js";
import { lineChart, type Series } from "./chart.js";

/** The most pictures and bytes one run puts into the page (a folder of thousands of images stays readable). */
export const REPORT_LIMITS = { imagesPerRun: 16, imageBytes: 4 * 1024 * 1024, depth: 2 };

/** Folders that hold data or checkpoints, not the run's pictures. */
const SKIP_DIRS = new Set(["checkpoints", "data", "node_modules"]);

export interface RunPicture { file: string; bytes: Buffer; mime: string }

export interface RunData {
  dir: string;
  config: Record<string, unknown>;
  metrics: Record<string, number>[];
  steps: Record<string, number>[];
  result?: Record<string, unknown>;
  pictures: RunPicture[];
  /** Pictures left out (over the count or size limits). */
  leftOut: number;
  children: RunData[];
}

function readJsonObject(file: string, what: string): Record<string, unknown> {
  const text = readTextFile(file, { maxBytes: FILE_LIMITS.json, what });
  let value: unknown;
  try { value = JSON.parse(text); } catch (error) {
    throw new FlareError(`${what}: ${file} is not valid JSON (${(error as Error).message})`, "E_FORMAT");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new FlareError(`${what}: ${file} must hold a JSON object`, "E_FORMAT");
  return value as Record<string, unknown>;
}

function isDir(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

/** Checks that dir is an existing folder with a config.json, or says what it is instead. */
export function checkRunFolder(dir: unknown, what = "report"): string {
  const d = checkPath(dir, what);
  if (!existsSync(d)) throw new FlareError(`${what}: ${d} does not exist (give a run folder, such as runs/classify-fashion-mnist)`, "E_IO");
  if (!isDir(d)) throw new FlareError(`${what}: ${d} is not a folder (give a run folder, such as runs/classify-fashion-mnist)`, "E_IO");
  if (!existsSync(path.join(d, "config.json")))
    throw new FlareError(`${what}: ${d} is not a run folder: it has no config.json (flare train, finetune and demo write one)`, "E_ARGUMENT");
  return d;
}

/** The pictures under dir (subfolders to `depth`, not data, checkpoints or nested runs), sorted by path. */
function findPictures(dir: string, depth: number, isRun: (d: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (d: string, level: number) => {
    let names: string[];
    try { names = readdirSync(d).sort(); } catch { return; }
    for (const name of names) {
      const p = path.join(d, name);
      if (isDir(p)) {
        if (level < depth && !SKIP_DIRS.has(name) && !name.startsWith(".") && !isRun(p)) walk(p, level + 1);
      } else if (imageMime(name) && name !== "curves.svg") {
        found.push(p);  // curves.svg is redrawn from metrics.jsonl
      }
    }
  };
  walk(dir, 0);
  return found;
}

/** Reads a run folder (and the run folders directly inside it). */
export function readRun(dir: string, what = "report", nested = 0): RunData {
  const d = checkRunFolder(dir, what);
  const config = readJsonObject(path.join(d, "config.json"), what);
  const folder = new RunFolder(d, { readOnly: true });
  const metrics = folder.readMetrics(), steps = folder.readSteps();
  const resultFile = path.join(d, "result.json");
  const result = existsSync(resultFile) ? readJsonObject(resultFile, what) : undefined;
  const isRun = (p: string) => existsSync(path.join(p, "config.json"));
  const children = nested > 0 ? [] : readdirSync(d).sort().map((n) => path.join(d, n)).filter((p) => isDir(p) && isRun(p)).map((p) => readRun(p, what, nested + 1));
  const pictures: RunPicture[] = [];
  let leftOut = 0;
  for (const file of findPictures(d, REPORT_LIMITS.depth, isRun)) {
    if (pictures.length >= REPORT_LIMITS.imagesPerRun || statSync(file).size > REPORT_LIMITS.imageBytes) { leftOut++; continue; }
    pictures.push({ file: path.relative(d, file), bytes: readRegularFile(file, { maxBytes: REPORT_LIMITS.imageBytes, what }), mime: imageMime(file)! });
  }
  return { dir: d, config, metrics, steps, ...(result ? { result } : {}), pictures, leftOut, children };
}

/** Keys of the rows to plot: everything numeric but the x, the learning rate and throughputs. */
function plotKeys(rows: Record<string, number>[], x: string): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => k !== x && k !== "epoch" && k !== "step" && k !== "lr" && !k.endsWith("_per_s"));
}

/** The run's curves: loss per optimizer step, and per epoch its losses and its scores (accuracy, mAP, mIoU) on two charts. */
export function runCharts(run: RunData): string[] {
  const charts: string[] = [];
  const series = (rows: Record<string, number>[], x: string, keys: string[], shift = 0): Series[] =>
    keys.map((k) => ({ name: k, points: rows.map((r) => [r[x] + shift, r[k]] as [number, number]) }));
  if (run.steps.length > 1) {
    const keys = plotKeys(run.steps, "step");
    const values = run.steps.flatMap((r) => keys.map((k) => r[k])).filter(Number.isFinite);
    // Log scale when the loss falls by decades (as the book's style-transfer plots), linear otherwise.
    const logY = values.length > 0 && values.every((v) => v > 0) && Math.max(...values) / Math.min(...values) > 30;
    charts.push(lineChart(series(run.steps, "step", keys), { title: "training loss per step", xLabel: "step", logY }));
  }
  if (run.metrics.length) {
    const keys = plotKeys(run.metrics, "epoch");
    const losses = keys.filter((k) => /loss|err|mae/.test(k)), scores = keys.filter((k) => !losses.includes(k));
    if (losses.length) charts.push(lineChart(series(run.metrics, "epoch", losses, 1), { title: "losses per epoch", xLabel: "epoch" }));
    if (scores.length) charts.push(lineChart(series(run.metrics, "epoch", scores, 1), { title: "scores per epoch", xLabel: "epoch" }));
  }
  // Runs inside this one (the transfer stage's): their validation scores side by side.
  const compared = run.children.filter((c) => c.metrics.length > 0);
  const score = ["val_acc", "val_map50", "val_miou"].find((k) => compared.some((c) => c.metrics.some((r) => Number.isFinite(r[k]))));
  if (compared.length > 1 && score) {
    charts.push(lineChart(compared.map((c) => ({ name: path.basename(c.dir), points: c.metrics.map((r) => [r.epoch + 1, r[score]] as [number, number]) })),
      { title: `${score} per epoch`, xLabel: "epoch" }));
  }
  return charts;
}

/** A config value in one line (long ones cut). */
function configValue(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 240 ? `${s.slice(0, 240)}…` : s;
}

/** The run's HTML: numbers per epoch, result, curves, pictures, config (every text escaped). */
export function runSection(run: RunData, options: { heading?: string; level?: number; showResult?: boolean } = {}): string {
  const h = `h${options.level ?? 2}`;
  const parts: string[] = [];
  if (options.heading !== undefined) parts.push(`<${h}>${escapeHtml(options.heading)}</${h}>`);
  parts.push(`<p class="muted">run folder ${escapeHtml(run.dir)}${typeof run.config.task === "string" ? ` · task ${escapeHtml(run.config.task)}` : ""}</p>`);
  if (run.result && options.showResult !== false) parts.push(keyValueTable(Object.entries(run.result)));
  if (run.metrics.length) {
    const keys = [...new Set(run.metrics.flatMap((r) => Object.keys(r)))].filter((k) => k !== "epoch" && k !== "lr");
    const shown = run.metrics.slice(-20);
    parts.push(`<p>per epoch${shown.length < run.metrics.length ? ` (the last ${shown.length} of ${run.metrics.length})` : ""}:</p>`,
      table(["epoch", ...keys], shown.map((r) => [r.epoch + 1, ...keys.map((k) => (r[k] === undefined ? "" : r[k] === null ? "NaN" : formatNumber(r[k])))])));
  }
  const charts = runCharts(run);
  if (charts.length) parts.push(`<div class="charts">${charts.join("\n")}</div>`);
  if (run.pictures.length) parts.push(`<div class="pictures">${run.pictures.map((p) => inlineImage(p.bytes, p.mime, p.file)).join("\n")}</div>`);
  if (run.leftOut) parts.push(`<p class="muted">${run.leftOut} more picture(s) in the folder are not shown (at most ${REPORT_LIMITS.imagesPerRun}, each under ${REPORT_LIMITS.imageBytes / 1024 / 1024} MiB).</p>`);
  // Runs inside this one, folded: their own numbers, curves and pictures.
  for (const child of run.children) parts.push(`<details><summary>run ${escapeHtml(path.basename(child.dir))}</summary>${runSection(child, { level: Math.min(6, (options.level ?? 2) + 1) })}</details>`);
  parts.push(`<details><summary>config.json</summary>${keyValueTable(Object.entries(run.config).map(([k, v]) => [k, configValue(v)]))}</details>`);
  return parts.join("\n");
}
