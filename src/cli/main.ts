#!/usr/bin/env node
// flare <command>: parses the command line (commands.ts, flags.ts), runs the
// command's task, prints its result. Exit codes: 0 done, 1 the task failed,
// 2 the command line is wrong (unknown command or flag, a bad value).
import { parseCommandLine, type Parsed } from "./commands.js";

async function main(argv: string[]): Promise<void> {
  let parsed: Parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    report(error);
    process.exitCode = 2;
    return;
  }
  if (parsed.kind === "help") { process.stdout.write(parsed.text); return; }
  try {
    await parsed.command.run(parsed.flags.values, parsed.flags.positionals, (line) => console.log(line));
  } catch (error) {
    report(error);
    process.exitCode = 1;
  }
}

function report(error: unknown): void {
  if ((error as Error)?.name !== "FlareError") { console.error(error); return; }
  const message = (error as Error).message;
  console.error(message.startsWith("flare") ? message : `flare: ${message}`);
}

void main(process.argv.slice(2));
