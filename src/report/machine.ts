// The machine and versions a report names: CPU model, cores, memory, load, and
// Node's, libtorch's and flare's versions.
import { readFileSync } from "node:fs";
import * as os from "node:os";
import { fileURLToPath } from "node:url";
import { buildInfo, getNumThreads } from "../tensor/index.js";

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  /** 1, 5 and 15-minute load averages when the report was made. */
  load: number[];
  platform: string;
  node: string;
  libtorch: string;
  flare: string;
  /** libtorch's intra-op threads. */
  threads: number;
}

/** flare's version from its package.json (dist/src/report or src/report → the package root). */
export function flareVersion(): string {
  for (const rel of ["../../../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "flare" && typeof pkg.version === "string") return pkg.version;
    } catch { /* try the next */ }
  }
  return "unknown";
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() || "unknown", cores: cpus.length, memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    load: os.loadavg().map((v) => Number(v.toFixed(2))), platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version, libtorch: String(buildInfo().torchVersion), flare: flareVersion(), threads: getNumThreads(),
  };
}
