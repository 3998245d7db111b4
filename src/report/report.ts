// `flare report RUN_DIR` and the demo's report.html: one self-contained page
// (pictures as data: URIs, curves as inline SVG, no script, nothing fetched) for a
// run folder, or for a demo folder (demo.json and its stages' run folders),
// written atomically.
import { existsSync } from "node:fs";
import * as path from "node:path";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import { checkPath, readTextFile, FILE_LIMITS } from "../io/files.js";
import { writeFileAtomic } from "../io/index.js";
import type { DemoSummary, StageResult } from "../tasks/demo.js";
import { escapeHtml, formatNumber, keyValueTable, page, table } from "./html.js";
import { machineInfo, type MachineInfo } from "./machine.js";
import { readRun, runSection, checkRunFolder } from "./run.js";

function machineTable(m: MachineInfo, extra: [string, unknown][] = []): string {
  return keyValueTable([
    ["CPU", m.cpu], ["cores", m.cores], ["memory", `${m.memoryGiB} GiB`], ["load average (1, 5, 15 min) now", m.load.join(", ")], ...extra,
    ["platform", m.platform], ["Node", m.node], ["libtorch", m.libtorch], ["libtorch intra-op threads", m.threads], ["flare", m.flare],
  ]);
}

function footer(): string {
  return `<p class="muted">made by flare ${escapeHtml(machineInfo().flare)} on ${escapeHtml(new Date().toISOString())}</p>`;
}

/** The page for one run folder. */
export function buildRunReport(dir: string): string {
  const run = readRun(dir);
  const task = typeof run.config.task === "string" ? run.config.task : "run";
  const title = `flare ${task}: ${path.basename(path.resolve(run.dir))}`;
  return page(title, `<h1>${escapeHtml(title)}</h1>\n${runSection(run)}\n<h2>Machine</h2>\n${machineTable(machineInfo())}\n${footer()}`);
}

function readDemoSummary(dir: string): DemoSummary {
  const file = path.join(dir, "demo.json");
  let value: unknown;
  try { value = JSON.parse(readTextFile(file, { maxBytes: FILE_LIMITS.json, what: "report" })); } catch (error) {
    if ((error as Error).name === "FlareError") throw error;
    throw new FlareError(`report: ${file} is not valid JSON (${(error as Error).message})`, "E_FORMAT");
  }
  const s = value as DemoSummary;
  if (!s || s.kind !== "flare-demo" || !Array.isArray(s.stages) || typeof s.seconds !== "number")
    throw new FlareError(`report: ${file} is not a flare demo summary (expected kind "flare-demo", stages and seconds)`, "E_FORMAT");
  return s;
}

function stageSection(dir: string, stage: StageResult, index: number): string {
  const parts = [`<h2 id="${escapeHtml(stage.key)}">${index + 1}. ${escapeHtml(stage.title)}</h2>`,
    `<p class="muted">${stage.status === "done" ? `${escapeHtml(stage.seconds.toFixed(1))} s` : "skipped"}</p>`];
  if (stage.note) parts.push(`<p class="note">${escapeHtml(stage.note)}</p>`);
  if (stage.status === "done") {
    parts.push(keyValueTable(Object.entries(stage.numbers)));
    const runDir = path.join(dir, String(stage.dir));
    if (existsSync(path.join(runDir, "config.json"))) parts.push(runSection(readRun(runDir), { showResult: false }));  // its result.json is the stage's numbers above
    else parts.push(`<p class="note">its run folder ${escapeHtml(runDir)} is missing</p>`);
  }
  return parts.join("\n");
}

/** The page for a demo folder: the machine, the stages' times and numbers, then each stage's run. */
export function buildDemoReport(dir: string): string {
  const summary = readDemoSummary(dir);
  const m = machineInfo();
  const body = [
    `<h1>flare demo${summary.quick ? " (quick)" : ""}</h1>`,
    `<p>Every task of flare on bundled photos and generated data, d2l's computer-vision chapter in small: ` +
      `${escapeHtml(summary.stages.filter((s) => s.status === "done").length)} of ${escapeHtml(summary.stages.length)} stages ran in ` +
      `<b>${escapeHtml(formatNumber(Number(summary.seconds.toFixed(1))))} s</b> (started ${escapeHtml(summary.started)}).</p>`,
    table(["stage", "time (s)", "status"], summary.stages.map((s, i) => [`${i + 1}. ${s.title}`, s.status === "done" ? s.seconds.toFixed(1) : "", s.status])),
    `<h2>Machine</h2>`,
    machineTable(m, Array.isArray(summary.load) ? [["load average (1, 5, 15 min) at the demo's start and end", summary.load.map((l) => l.join(", ")).join(" → ")]] : []),
    ...summary.stages.map((s, i) => stageSection(dir, s, i)),
    footer(),
  ];
  return page(`flare demo${summary.quick ? " (quick)" : ""}`, body.join("\n"));
}

/** Whether dir is a demo folder (it holds demo.json). */
export function isDemoFolder(dir: string): boolean {
  return existsSync(path.join(dir, "demo.json"));
}

/** Builds the page for a run folder or a demo folder and writes it atomically (default DIR/report.html); returns its path. */
export function writeReport(dir: string, options: { out?: string } = {}): string {
  checkOptions(options, ["out"], "writeReport()");
  checkPath(dir, "report");
  const demo = isDemoFolder(dir);
  if (!demo) checkRunFolder(dir);
  const html = demo ? buildDemoReport(dir) : buildRunReport(dir);
  const out = options.out ?? path.join(dir, "report.html");
  checkPath(out, "report: --out");
  writeFileAtomic(out, Buffer.from(html));
  return out;
}
