// The Python half of a comparison benchmark: a child process running bench/SCRIPT
// that answers one JSON line per command line.
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";

export interface PythonSide {
  child: ChildProcessByStdio<Writable, Readable, null>;
  /** Sends one command line; resolves to the reply, throws on an `error` reply or when the child exited. */
  ask(command: string): Promise<Record<string, unknown>>;
}

/** `env`: the child's environment (default this process's), e.g. bench/flags.ts's torchMallocEnv() added. */
export function pythonSide(script: string, what = "the PyTorch side", env: NodeJS.ProcessEnv = process.env): PythonSide {
  const python = process.env.FLARE_BENCH_PYTHON ?? "/usr/bin/python3";
  const child = spawn(python, [fileURLToPath(new URL(`../../bench/${script}`, import.meta.url))], { stdio: ["pipe", "pipe", "inherit"], env });
  const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  async function ask(command: string): Promise<Record<string, unknown>> {
    child.stdin.write(command + "\n");
    const { value, done } = await replies.next();
    if (done) throw new Error(`${what} exited`);
    const reply = JSON.parse(value as string) as Record<string, unknown>;
    if (reply.error) throw new Error(String(reply.error));
    return reply;
  }
  return { child, ask };
}
