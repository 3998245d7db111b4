// `flare launch` (torchrun's job) and the --nproc flag of the train commands,
// which relaunches the same command line under the launcher.
import { FlareError } from "../errors.js";
import { launch } from "../distributed/launcher.js";
import type { Command } from "./commands.js";
import type { FlagSpecs } from "./flags.js";

export const launchCommand: Command = {
  name: "launch",
  summary: "Runs N processes of a command for data-parallel training, like torchrun: flare launch --nproc-per-node 2 -- flare train classify ... (or -- node script.js).",
  positional: { name: "-- COMMAND", min: 1, max: Number.MAX_SAFE_INTEGER, description: "what each process runs, after --: flare ..., node script.js ..., or a program" },
  flags: {
    "nproc-per-node": { type: "int", min: 1, max: 1024, required: true, description: "processes on this node" },
    nnodes: { type: "int", min: 1, max: 65_536, default: 1, description: "nodes in the run" },
    "node-rank": { type: "int", min: 0, default: 0, description: "this node's index" },
    "master-addr": { type: "string", default: "127.0.0.1", placeholder: "HOST", description: "the address of node 0 (rank 0 serves the rendezvous there)" },
    "master-port": { type: "int", min: 1, max: 65_535, description: "the rendezvous port (default: a free port on one node, 29500 on several)" },
  },
  async run(values, positionals, print) {
    const result = await launch({
      nprocPerNode: values.nprocPerNode as number, nnodes: values.nnodes as number, nodeRank: values.nodeRank as number,
      masterAddr: values.masterAddr as string, ...(values.masterPort !== undefined ? { masterPort: values.masterPort as number } : {}),
      command: positionals,
    });
    if (result.exitCode !== 0) {
      process.exitCode = result.exitCode;
      print(`flare launch: failed: ${result.message}`);
    }
  },
};

const NPROC: FlagSpecs = {
  nproc: { type: "int", min: 1, max: 1024, description: "train with N processes on this machine (DistributedDataParallel; --batch-size is the global batch)" },
};

/** Adds --nproc to a train command: with N > 1 it reruns itself under `flare launch` (unless already launched). */
export function withNproc(command: Command): Command {
  const run = command.run;
  return {
    ...command,
    flags: { ...command.flags, ...NPROC },
    async run(values, positionals, print) {
      const { nproc, ...rest } = values;
      const n = (nproc as number | undefined) ?? 1;
      const launched = process.env.WORLD_SIZE !== undefined && process.env.RANK !== undefined;
      if (n > 1 && !launched) {
        const argv = process.argv.slice(2);
        const i = argv.findIndex((a) => a === "--nproc" || a.startsWith("--nproc="));
        if (i < 0) throw new FlareError(`flare ${command.name}: --nproc given but not found on the command line`, "E_INTERNAL");
        argv.splice(i, argv[i].includes("=") ? 1 : 2);
        const result = await launch({ nprocPerNode: n, command: ["flare", ...argv] });
        if (result.exitCode !== 0) {
          process.exitCode = result.exitCode;
          throw new FlareError(`flare ${command.name} --nproc ${n}: ${result.message}`, "E_STATE");
        }
        return;
      }
      if (launched && nproc !== undefined && Number(process.env.WORLD_SIZE) !== n)
        throw new FlareError(`flare ${command.name}: --nproc ${n} but the launcher started ${process.env.WORLD_SIZE} processes; leave --nproc out under flare launch`, "E_ARGUMENT");
      // Under a launcher only rank 0 reports (as only it prints progress).
      const main = !launched || process.env.RANK === "0";
      await run(rest, positionals, main ? print : () => {});
    },
  };
}
