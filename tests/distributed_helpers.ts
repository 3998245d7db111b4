// Spawning ranks for the distributed tests: child processes on loopback,
// each with torchrun's environment, killed if they outlive a deadline.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

import { freePort } from "../src/distributed/launcher.js";

// A port free now: the launcher's own finder.
export { freePort };

export const WORKER = fileURLToPath(new URL("./workers/ddp_worker.js", import.meta.url));

export interface RankResult { rank: number; code: number | null; signal: string | null; stdout: string; stderr: string; json: Record<string, unknown> | null; seconds: number }

export function runRank(rank: number, world: number, port: number, args: string[], options: { env?: NodeJS.ProcessEnv; deadline?: number; delay?: number; command?: string[] } = {}): Promise<RankResult> {
  return new Promise((resolve) => {
    const start = () => {
      const started = Date.now();
      const [program, ...rest] = options.command ?? [process.execPath, WORKER];
      const child = spawn(program, [...rest, ...args], {
        env: { ...process.env, MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), RANK: String(rank), WORLD_SIZE: String(world), OMP_NUM_THREADS: "1", ...options.env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "", stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), options.deadline ?? 30_000);
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        const last = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
        let json: Record<string, unknown> | null = null;
        try { json = last ? JSON.parse(last) : null; } catch { json = null; }
        resolve({ rank, code, signal, stdout, stderr, json, seconds: (Date.now() - started) / 1000 });
      });
    };
    if (options.delay) setTimeout(start, options.delay); else start();
  });
}

/** Runs `world` ranks of the worker in `mode` with `opts`. */
export async function runRanks(mode: string, opts: Record<string, unknown>, world = 2, options: { env?: NodeJS.ProcessEnv; deadline?: number } = {}): Promise<RankResult[]> {
  const port = await freePort();
  return Promise.all(Array.from({ length: world }, (_, r) => runRank(r, world, port, [mode, JSON.stringify(opts)], options)));
}

export function describeRuns(results: RankResult[]): string {
  return results.map((r) => `rank ${r.rank}: code ${r.code} signal ${r.signal}\n${r.stdout}\n${r.stderr}`).join("\n---\n");
}
