// flare's torchrun: starts nprocPerNode processes on this node with
// torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT) and cores / nprocPerNode intra-op threads each
// (unless OMP_NUM_THREADS is set, as torchrun);
// forwards SIGINT / SIGTERM; when one process fails the others are stopped,
// and the result names the rank that failed and how.
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import * as os from "node:os";
import { fileURLToPath } from "node:url";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";

export interface LaunchOptions {
  nprocPerNode: number;
  nnodes?: number;
  nodeRank?: number;
  /** Default 127.0.0.1 (one node). */
  masterAddr?: string;
  /** Default: a free port on one node, 29500 (torchrun's) on several. */
  masterPort?: number;
  /** What each process runs: ["flare", ...], ["node", "script.js", ...] or any program. */
  command: string[];
  /** Extra environment for every process. */
  env?: NodeJS.ProcessEnv;
  /** Intra-op threads per process (OMP_NUM_THREADS; default: the one in env or this process's environment, else cores / nprocPerNode, at least 1). */
  threads?: number;
  /** How long stopped processes get between SIGTERM and SIGKILL (ms, default 5000). */
  grace?: number;
  /** Where the launcher's own messages go (default: stderr). */
  log?: (line: string) => void;
}

export interface LaunchResult {
  /** 0 when every process exited 0; else the failed process's code (128 + signal number when killed). */
  exitCode: number;
  /** The first failure, in words ("rank 1 (local rank 1, pid 123) was killed by SIGKILL"). */
  message?: string;
  failedRank?: number;
}

const KEYS = ["nprocPerNode", "nnodes", "nodeRank", "masterAddr", "masterPort", "command", "env", "threads", "grace", "log"];

function positiveInt(value: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    throw new FlareError(`launch(): ${what} must be an integer ≥ ${min}${max < Number.MAX_SAFE_INTEGER ? ` and ≤ ${max}` : ""}, got ${String(value)}`, "E_ARGUMENT");
  return value as number;
}

/** A port the OS says is free now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** The program and arguments for a command: "flare" is this flare's CLI, "node" this Node. */
export function resolveCommand(command: string[]): [string, string[]] {
  const [head, ...rest] = command;
  if (head === "flare") return [process.execPath, [fileURLToPath(new URL("../cli/bin.js", import.meta.url)), ...rest]];
  if (head === "node") return [process.execPath, rest];
  return [head, rest];
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8 };

export async function launch(options: LaunchOptions): Promise<LaunchResult> {
  checkOptions(options, KEYS, "launch()");
  const nproc = positiveInt(options.nprocPerNode, "nprocPerNode", 1);
  const nnodes = positiveInt(options.nnodes ?? 1, "nnodes", 1);
  const nodeRank = positiveInt(options.nodeRank ?? 0, "nodeRank", 0);
  if (nodeRank >= nnodes) throw new FlareError(`launch(): nodeRank ${nodeRank} must be below nnodes ${nnodes}`, "E_ARGUMENT");
  if (!Array.isArray(options.command) || options.command.length === 0 || options.command.some((a) => typeof a !== "string"))
    throw new FlareError("launch(): command must be a non-empty array of strings (what each process runs)", "E_ARGUMENT");
  const masterAddr = options.masterAddr ?? "127.0.0.1";
  const masterPort = options.masterPort ?? (nnodes === 1 ? await freePort() : 29500);
  positiveInt(masterPort, "masterPort", 1, 65_535);
  const threads = options.threads !== undefined ? String(positiveInt(options.threads, "threads", 1))
    : options.env?.OMP_NUM_THREADS || process.env.OMP_NUM_THREADS || String(Math.max(1, Math.floor(os.availableParallelism() / nproc)));
  const grace = options.grace ?? 5000;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const worldSize = nnodes * nproc;
  const [program, args] = resolveCommand(options.command);

  const children: (ChildProcess | null)[] = [];
  let failure: LaunchResult | null = null;
  let stopping = false, received: NodeJS.Signals | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const child of children) if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    killTimer = setTimeout(() => {
      for (const child of children) if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }, grace);
    killTimer.unref();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    received = signal;
    log(`flare launch: ${signal}: stopping ${worldSize === nproc ? "all ranks" : "this node's ranks"}`);
    stopAll(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const exits = Array.from({ length: nproc }, (_, localRank) => new Promise<void>((resolve) => {
    const rank = nodeRank * nproc + localRank;
    const env = {
      ...process.env, ...options.env,
      RANK: String(rank), LOCAL_RANK: String(localRank), WORLD_SIZE: String(worldSize), LOCAL_WORLD_SIZE: String(nproc),
      GROUP_RANK: String(nodeRank), MASTER_ADDR: masterAddr, MASTER_PORT: String(masterPort),
      OMP_NUM_THREADS: threads,
    };
    const child = spawn(program, args, { env, stdio: ["inherit", "inherit", "pipe"] });
    children[localRank] = child;
    let tail = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    const done = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      const bad = spawnError !== undefined || code !== 0;
      if (bad && !failure && !(stopping && received)) {
        const how = spawnError ? `could not start (${spawnError.message})`
          : signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const last = tail.trim().split("\n").filter((l) => l.trim()).slice(-1)[0];
        failure = {
          exitCode: spawnError ? 127 : signal ? 128 + (SIGNALS[signal] ?? 1) : code ?? 1,
          failedRank: rank,
          message: `rank ${rank} (local rank ${localRank}, pid ${child.pid ?? "?"}) ${how}${last && !signal ? `: ${last}` : ""}`,
        };
        if (!stopping) log(`flare launch: ${failure.message}; stopping the other ranks`);
        stopAll("SIGTERM");
      }
      resolve();
    };
    child.on("error", (error) => done(null, null, error));
    child.on("exit", (code, signal) => done(code, signal));
  }));
  try {
    await Promise.all(exits);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (killTimer) clearTimeout(killTimer);
  }
  if (failure) return failure;
  if (received) return { exitCode: 128 + (SIGNALS[received] ?? 1), message: `stopped by ${received}` };
  return { exitCode: 0 };
}
