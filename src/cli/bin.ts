#!/usr/bin/env node
// The `flare` command. `flare setup` is handled here, before anything loads the native
// addon (which may not be loadable yet: setup is what makes it so); every other command
// is main.ts, imported only then.
const [command, ...rest] = process.argv.slice(2);
if (command === "setup") {
  const { runSetupCommand } = await import("./setup.js");
  process.exitCode = runSetupCommand(rest);
} else {
  try {
    await import("./main.js");
  } catch (error) {
    // The addon failed to load: its FlareError says what to run.
    if ((error as Error).name !== "FlareError") throw error;
    process.stderr.write(`flare: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
