// The fuzz harness: runs generated cases in child processes with a per-case
// timeout and a memory cap (ulimit -v for the address space, an RSS watch, and
// V8's --max-old-space-size), and classifies each case: ok (accepted), flare
// (a FlareError), other (another error), lost (data changed silently), crash
// (the process died), hang (no result in time), memory (a memory blow-up).
// Many cases share a process; when one kills it, the rest run in a new one.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { makeCase, TARGETS, type Case, type Target } from "./cases.js";
import type { Outcome, Result } from "./runner.js";

export const OUTCOMES: readonly Outcome[] = ["ok", "flare", "other", "lost", "crash", "hang", "memory"];

export interface FuzzOptions {
  seed: number;
  /** Cases per target. */
  counts: Partial<Record<Target, number>>;
  /** Only these case indices (replaying a finding). */
  only?: number[];
  /** Case families left out ("target:kind"), e.g. known hangs that would spend the budget on timeouts. */
  skipKinds?: readonly string[];
  /** Per case, after the process has started (default 10 s). */
  timeoutMs?: number;
  /** Resident memory cap per process (default 1500 MiB). */
  rssMb?: number;
  /** Address-space cap per process, ulimit -v (default 6 GiB: libtorch and V8 reserve much more than they use). */
  vmMb?: number;
  /** Children at a time (default 2). */
  concurrency?: number;
  log?: (line: string) => void;
}

export interface Finding extends Result { target: Target; kind: string; label: string }

export interface FuzzReport {
  seed: number;
  findings: Finding[];
  /** Per target, the number of cases of each outcome. */
  counts: Record<string, Record<Outcome, number>>;
  total: number;
  seconds: number;
}

const runner = fileURLToPath(new URL("./runner.js", import.meta.url));

function rssMbOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch { return 0; }
}

/** Runs `indices` of a target in one child; returns the results it wrote and how it ended. */
function runChild(target: Target, seed: number, indices: number[], options: Required<Pick<FuzzOptions, "timeoutMs" | "rssMb" | "vmMb">>):
  Promise<{ results: Result[]; ended: "done" | "hang" | "memory" | "crash"; detail: string }> {
  return new Promise((resolve) => {
    const script = `ulimit -v ${options.vmMb * 1024} 2>/dev/null; exec "$0" "$@"`;
    const child = spawn("bash", ["-c", script, process.execPath, "--max-old-space-size=1024", runner, target, String(seed), indices.join(",")], { stdio: ["ignore", "pipe", "pipe"] });
    const results: Result[] = [];
    let buffer = "", stderr = "", killedFor: "hang" | "memory" | undefined;
    // The first case also waits for the process to start (libtorch loads).
    let deadline = Date.now() + options.timeoutMs + 60_000;
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try { results.push(JSON.parse(line) as Result); deadline = Date.now() + options.timeoutMs; } catch { /* not a result line */ }
      }
    });
    child.stderr.on("data", (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
    const watch = setInterval(() => {
      if (child.pid === undefined || child.exitCode !== null) return;
      if (rssMbOf(child.pid) > options.rssMb) { killedFor = "memory"; child.kill("SIGKILL"); }
      else if (Date.now() > deadline) { killedFor = "hang"; child.kill("SIGKILL"); }
    }, 100);
    child.on("close", (code, signal) => {
      clearInterval(watch);
      if (killedFor) return resolve({ results, ended: killedFor, detail: killedFor === "hang" ? `no result within ${options.timeoutMs} ms` : `resident memory above ${options.rssMb} MiB` });
      if (code === 0 && results.length === indices.length) return resolve({ results, ended: "done", detail: "" });
      const memory = /heap out of memory|bad_alloc|Cannot allocate memory|out of memory/i.test(stderr);
      resolve({ results, ended: memory ? "memory" : "crash", detail: `exit ${code ?? signal}: ${stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 300)}` });
    });
  });
}

/** Runs the cases of one target: batched, isolated ones alone; a case that kills its process is recorded and the rest go on. */
async function runTarget(target: Target, cases: Case[], seed: number, options: Required<Pick<FuzzOptions, "timeoutMs" | "rssMb" | "vmMb">>): Promise<Finding[]> {
  const byIndex = new Map(cases.map((c) => [c.index, c]));
  const findings: Finding[] = [];
  const groups = [cases.filter((c) => !c.isolate).map((c) => c.index), ...cases.filter((c) => c.isolate).map((c) => [c.index])].filter((g) => g.length > 0);
  for (let pending of groups) {
    while (pending.length > 0) {
      const { results, ended, detail } = await runChild(target, seed, pending, options);
      for (const r of results) { const c = byIndex.get(r.index)!; findings.push({ ...r, target, kind: c.kind, label: c.label }); }
      const done = new Set(results.map((r) => r.index));
      const rest = pending.filter((i) => !done.has(i));
      if (rest.length === 0) break;
      // The first case without a result is the one that ended the process.
      const culprit = byIndex.get(rest[0])!;
      findings.push({ index: culprit.index, outcome: ended === "done" ? "crash" : ended, message: detail, target, kind: culprit.kind, label: culprit.label });
      pending = rest.slice(1);
    }
  }
  return findings;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const start = Date.now();
  const settings = { timeoutMs: options.timeoutMs ?? 10_000, rssMb: options.rssMb ?? 1500, vmMb: options.vmMb ?? 6144 };
  const jobs = TARGETS.filter((t) => (options.counts[t] ?? 0) > 0).map((target) => {
    const indices = options.only ?? Array.from({ length: options.counts[target]! }, (_, i) => i);
    const cases = indices.map((i) => makeCase(target, options.seed, i)).filter((c) => !options.skipKinds?.includes(`${c.target}:${c.kind}`));
    return { target, cases };
  });
  const findings: Finding[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (job.cases.length === 0) continue;
      const t0 = Date.now();
      const found = await runTarget(job.target, job.cases, options.seed, settings);
      findings.push(...found);
      options.log?.(`${job.target}: ${found.length} cases in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
  const counts: Record<string, Record<Outcome, number>> = {};
  for (const f of findings) {
    counts[f.target] ??= Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
    counts[f.target][f.outcome]++;
  }
  findings.sort((a, b) => a.target.localeCompare(b.target) || a.index - b.index);
  return { seed: options.seed, findings, counts, total: findings.length, seconds: (Date.now() - start) / 1000 };
}

/** The outcomes that break issue 10's promise. */
export const BAD_OUTCOMES: readonly Outcome[] = ["other", "lost", "crash", "hang", "memory"];
