// `flare setup`: makes flare's native addon loadable on this machine, installing what is
// missing (Debian's libtorch-dev / libgloo-dev through apt-get when root or sudo allows),
// then using the prebuilt addon shipped in the package when it loads, else building from
// source with node-gyp. Nothing is fetched from outside the registries (node-gyp is given
// the machine's Node headers). Idempotent, and quick when all is there.
// It runs before the addon can load, so it imports nothing that loads it (only errors.ts).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FlareError } from "../errors.js";

/** The package root: a clone, or node_modules/flare in a user's project. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** What locate-libtorch.cjs reports about the libtorch it found. */
export interface Libtorch { origin: string; include: string[]; lib: string; abi: string; libs: string; defines: string; cuda: boolean }

/** The outcome of loading the addon in a child process. */
export type AddonProbe = { ok: true; path: string; torchVersion: string; blas?: string } | { ok: false; error: string };

/** What setup asks of the machine; tests replace parts to simulate other machines. */
export interface Machine {
  env: NodeJS.ProcessEnv;
  isRoot: boolean;
  /** sudo's path when it can be used (no password needed, or a terminal to ask on), else null. */
  sudo(): string | null;
  /** The command's path on PATH, or null. */
  which(command: string): string | null;
  /** Whether a Debian package is installed; null where there is no dpkg. */
  dpkgInstalled(pkg: string): boolean | null;
  /** The libtorch the build would use, or null when there is none (FLARE_LIBTORCH is checked before). */
  locateLibtorch(root: string): Libtorch | null;
  /** Loads the addon in a child process (loading libtorch here would pin it for this process). */
  probeAddon(root: string): AddonProbe;
  /** Runs a command with output on stderr; throws a FlareError on failure. */
  run(command: string, args: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }): void;
}

export interface SetupOptions {
  root?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  machine?: Partial<Machine>;
}

export interface SetupReport {
  /** Debian packages installed by this run. */
  installed: string[];
  /** Whether this run configured / built the addon from source. */
  built: boolean;
  /** The addon that loads now, when it was checked (always outside a clone). */
  addon?: { path: string; torchVersion: string };
}

const LIBTORCH_PACKAGES = ["libtorch-dev", "libgloo-dev"];
const BUILD_TOOLS: [command: string, pkg: string][] = [["g++", "g++"], ["make", "make"], ["python3", "python3"]];
/** libjpeg-turbo's headers, for the addon's JPEG decoder (native/jpeg.cc); its library comes with them (and with Debian's libtorch). */
const JPEG_PACKAGE = "libjpeg62-turbo-dev";
const JPEG_HEADER = "/usr/include/jpeglib.h";

function which(command: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, command);
    try { if (statSync(file).isFile()) return file; } catch { /* not here */ }
  }
  return null;
}

function realMachine(env: NodeJS.ProcessEnv): Machine {
  return {
    env,
    isRoot: typeof process.getuid === "function" && process.getuid() === 0,
    which: (command) => which(command, env),
    sudo() {
      const sudo = which("sudo", env);
      if (!sudo) return null;
      return process.stdin.isTTY || spawnSync(sudo, ["-n", "true"], { stdio: "ignore", env }).status === 0 ? sudo : null;
    },
    dpkgInstalled(pkg) {
      if (!which("dpkg-query", env)) return null;
      const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8", env });
      return r.status === 0 && r.stdout.includes("install ok installed");
    },
    locateLibtorch(root) {
      // A fresh process: the script reads the environment once, when first required.
      const r = spawnSync(process.execPath, [path.join(root, "native/locate-libtorch.cjs")], { encoding: "utf8", env });
      return r.status === 0 ? JSON.parse(r.stdout) as Libtorch : null;
    },
    probeAddon(root) {
      const url = pathToFileURL(path.join(root, "dist/src/tensor/native.js")).href;
      const blasUrl = pathToFileURL(path.join(root, "dist/src/tensor/blas.js")).href;
      const script = `const m = await import(${JSON.stringify(url)}); const b = await import(${JSON.stringify(blasUrl)});` +
        "console.log(JSON.stringify({ path: m.addonPath, torchVersion: m.native.buildInfo().torchVersion, blas: b.blasInUse().kind }));";
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env });
      if (r.status === 0) return { ok: true, ...JSON.parse(r.stdout.trim().split("\n").pop()!) };
      const message = /FlareError: ([\s\S]*?)\n\s+at /.exec(r.stderr)?.[1] ?? r.stderr.trim();
      return { ok: false, error: message };
    },
    run(command, args, options = {}) {
      const r = spawnSync(command, args, { stdio: ["inherit", 2, 2], cwd: options.cwd, env: options.env ?? env });
      if (r.status !== 0) {
        throw new FlareError(`setup: \`${[command, ...args].join(" ")}\` failed (${r.error?.message ?? `exit status ${r.status}`}); its output is above`, "E_IO");
      }
    },
  };
}

/** FLARE_LIBTORCH (or LIBTORCH) must name an unzipped libtorch: checked before anything compiles. */
function checkLibtorchFolder(variable: string, dir: string): void {
  const header = ["include/torch/csrc/api/include/torch/torch.h", "include/torch/torch.h"].find((h) => existsSync(path.join(dir, h)));
  const lib = existsSync(path.join(dir, "lib/libtorch_cpu.so")) || existsSync(path.join(dir, "lib/libtorch_cpu.dylib"));
  if (!existsSync(dir) || !header || !lib) {
    const what = !existsSync(dir) ? "does not exist" : `is not a libtorch folder (it needs ${!header ? "include/torch/csrc/api/include/torch/torch.h" : "lib/libtorch_cpu.so"})`;
    throw new FlareError(`setup: ${variable}=${dir} ${what}. Point ${variable} at an unzipped libtorch ` +
      "(pytorch.org's libtorch zip, or a pip wheel's site-packages/torch folder), e.g. " +
      "`FLARE_LIBTORCH=$HOME/libtorch npx flare setup`; or unset it to use Debian's libtorch-dev.", "E_ARGUMENT");
  }
}

const noLibtorch = () => new FlareError("setup: no libtorch found (neither FLARE_LIBTORCH, a python3 torch with headers, " +
  "nor Debian's libtorch-dev in /usr/include/torch). Install it as root: apt-get install libtorch-dev libgloo-dev, or " +
  "point flare at one: `FLARE_LIBTORCH=/path/to/libtorch npx flare setup`.", "E_IO");

/** The prefix of Node's C headers (include/node/node_api.h), so node-gyp downloads nothing. */
function nodeHeaders(env: NodeJS.ProcessEnv): string | null {
  const candidates = [env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), ".."), "/usr", "/usr/local"];
  return candidates.find((dir): dir is string => !!dir && existsSync(path.join(dir, "include/node/node_api.h"))) ?? null;
}

/** Installs Debian packages with apt-get (as root, or through sudo), or says how to provide them. */
function aptInstall(machine: Machine, packages: string[], log: (line: string) => void): void {
  if (packages.length === 0) return;
  const apt = machine.which("apt-get");
  const sudo = machine.isRoot ? null : machine.sudo();
  if (!apt || (!machine.isRoot && !sudo)) {
    const libtorch = packages.some((p) => LIBTORCH_PACKAGES.includes(p));
    const what = libtorch ? `libtorch (Debian packages ${packages.join(", ")})` : `what the build needs (Debian packages ${packages.join(", ")})`;
    const lack = !apt ? "there is no apt-get on PATH to install it" : "it cannot be installed here: not running as root, and no sudo that works without a terminal";
    throw new FlareError(`setup: ${what} is missing, and ${lack}.\n` +
      `Either install the packages as root: apt-get install ${packages.join(" ")}\n` +
      (libtorch ? "or point flare at a libtorch you have (an unzipped libtorch from pytorch.org, or a pip wheel's torch folder):\n" +
        "  FLARE_LIBTORCH=/path/to/libtorch npx flare setup\n" : "or install the same tools another way,\n") +
      "then run `npx flare setup` again.", "E_IO");
  }
  const prefix = sudo ? [sudo] : [];
  const [command, ...first] = [...prefix, apt];
  log(`installing Debian packages: ${packages.join(" ")}${sudo ? " (through sudo)" : ""}`);
  const env = { ...machine.env, DEBIAN_FRONTEND: "noninteractive" };
  machine.run(command, [...first, "update", "-q"], { env });
  machine.run(command, [...first, "install", "-y", "-q", "--no-install-recommends", ...packages], { env });
}

/** The "ready" line, and a hint when libtorch's matrix products run on the reference BLAS. */
function logReady(log: (line: string) => void, probe: { path: string; torchVersion: string; blas?: string }): void {
  log(`ready: ${probe.path} loads (libtorch ${probe.torchVersion})`);
  if (probe.blas === "reference") {
    log("note: libtorch's matrix products (nn.Linear, matmul) run on Debian's reference BLAS here, about 20× slower " +
      "than an optimised one; `apt-get install libopenblas0-openmp` selects OpenBLAS for every program (README: Which BLAS)");
  }
}

/** The newest modification time among files in `dir` whose names pass `filter` (0 if none). */
function newest(dir: string, filter: (name: string) => boolean): number {
  if (!existsSync(dir)) return 0;
  return Math.max(0, ...readdirSync(dir).filter(filter).map((f) => statSync(path.join(dir, f)).mtimeMs));
}

const mtime = (file: string) => (existsSync(file) ? statSync(file).mtimeMs : 0);

/**
 * Sets flare up on this machine (see the file comment). In a clone (tsconfig.json and src/
 * present, as `scripts/setup.sh` runs it) it also installs the tools and data the tests need and
 * rebuilds the addon whenever its sources or the libtorch found changed; in an installed package
 * it stops as soon as an addon loads.
 */
export function setup(options: SetupOptions = {}): SetupReport {
  const root = options.root ?? PACKAGE_ROOT;
  const log = options.log ?? ((line: string) => process.stderr.write(`[flare setup] ${line}\n`));
  const machine: Machine = { ...realMachine(options.machine?.env ?? process.env), ...options.machine };
  const env = machine.env;
  const clone = existsSync(path.join(root, "tsconfig.json")) && existsSync(path.join(root, "src"));
  const report: SetupReport = { installed: [], built: false };
  const explicit = env.FLARE_LIBTORCH ? "FLARE_LIBTORCH" : env.LIBTORCH ? "LIBTORCH" : null;
  if (explicit) checkLibtorchFolder(explicit, env[explicit]!);
  const stampFile = path.join(root, "build/flare-libtorch.json");

  const probe = () => {
    const result = machine.probeAddon(root);
    if (result.ok) report.addon = { path: result.path, torchVersion: result.torchVersion };
    return result;
  };
  // An installed package with no libtorch asked for: the prebuilt (or an earlier build) may just load.
  const first = !clone && !explicit ? probe() : null;
  if (first?.ok) {
    logReady(log, first);
    return report;
  }

  // 1. libtorch: Debian's, unless FLARE_LIBTORCH names one (or a pip torch with headers is found).
  let torch = machine.locateLibtorch(root);
  const wanted: string[] = [];
  if (!explicit && (!torch || torch.origin === "system")) {
    for (const pkg of LIBTORCH_PACKAGES) if (machine.dpkgInstalled(pkg) === false || (!torch && machine.dpkgInstalled(pkg) === null)) wanted.push(pkg);
  }
  if (clone && machine.dpkgInstalled("dataset-fashion-mnist") === false) wanted.push("dataset-fashion-mnist");
  // In an installed package: libtorch first, then see whether the shipped prebuilt loads against it.
  if (!clone && wanted.length > 0) {
    aptInstall(machine, wanted, log);
    report.installed.push(...wanted);
    wanted.length = 0;
    torch = machine.locateLibtorch(root);
    if (!torch) throw noLibtorch();
    const again = explicit ? null : probe();
    if (again?.ok) {
      logReady(log, again);
      return report;
    }
  }

  // 2. A from-source build: a compiler, make and python3 (node-gyp's), Node's headers, libtorch.
  for (const [command, pkg] of BUILD_TOOLS) {
    const have = clone && machine.dpkgInstalled(pkg) !== null ? machine.dpkgInstalled(pkg) : !!machine.which(command);
    if (!have) wanted.push(pkg);
  }
  if (!(machine.dpkgInstalled(JPEG_PACKAGE) ?? existsSync(JPEG_HEADER))) wanted.push(JPEG_PACKAGE);
  aptInstall(machine, wanted, log);
  report.installed.push(...wanted);
  if (wanted.some((p) => LIBTORCH_PACKAGES.includes(p))) torch = machine.locateLibtorch(root);
  if (!torch) throw noLibtorch();
  const nodedir = nodeHeaders(env);
  if (!nodedir) {
    throw new FlareError(`setup: Node's C headers (include/node/node_api.h) are not found next to ${process.execPath} ` +
      "nor in /usr; node-gyp would download them, which setup does not do. Install the headers of this Node " +
      "(Debian: apt-get install libnode-dev; the nodejs.org tarballs include them) or set npm_config_nodedir.", "E_IO");
  }
  let nodeGyp: string;
  try {
    nodeGyp = createRequire(path.join(root, "package.json")).resolve("node-gyp/bin/node-gyp.js");
  } catch {
    throw new FlareError("setup: node-gyp is not installed next to flare (it is a dependency of flare): run `npm install` in your project, then `npx flare setup`.", "E_IO");
  }

  // 3. Configure when never done or when binding.gyp, the locate script or the libtorch found changed; build when a source changed.
  const stamp = JSON.stringify(torch);
  const makefile = path.join(root, "build/Makefile");
  const stale = !existsSync(makefile) || mtime(path.join(root, "binding.gyp")) > mtime(makefile) ||
    mtime(path.join(root, "native/locate-libtorch.cjs")) > mtime(makefile) ||
    (existsSync(stampFile) ? readFileSync(stampFile, "utf8") !== stamp : clone ? false : true);
  const gyp = (args: string[]) => machine.run(process.execPath, [nodeGyp, ...args, `--nodedir=${nodedir}`], { cwd: root });
  if (stale) {
    log(`configuring the native addon (${torch.origin} libtorch in ${torch.lib})`);
    gyp(["configure"]);
    mkdirSync(path.dirname(stampFile), { recursive: true });
    writeFileSync(stampFile, stamp);
  }
  const addonFile = path.join(root, "build/Release/flare.node");
  const sources = newest(path.join(root, "native"), (f) => f.endsWith(".cc") || f.endsWith(".h"));
  if (stale || !existsSync(addonFile) || sources > mtime(addonFile)) {
    log("building the native addon (a few minutes)");
    gyp(["build", "-j", String(os.availableParallelism())]);
    report.built = true;
  }

  // 4. Check that it loads (an installed package always; a clone when it was just built).
  if (!clone || report.built) {
    const result = probe();
    if (!result.ok) throw new FlareError(`setup: the addon was built but does not load:\n${result.error}`, "E_IO");
    logReady(log, result);
  }
  return report;
}

const USAGE = `usage: flare setup

Makes flare's native addon loadable here, installing what is missing: Debian's
libtorch-dev and libgloo-dev through apt-get (as root, or through sudo), then the
prebuilt addon shipped in the package if it loads, else a build from source
(node-gyp, with this machine's compiler and Node headers; libjpeg62-turbo-dev
for the JPEG decoder). Idempotent.

environment:
  FLARE_LIBTORCH=/path/to/libtorch   build against this libtorch (unzipped from pytorch.org,
                                     or a pip wheel's torch folder) instead of Debian's
`;

/** `flare setup [--help]`: returns the exit status. */
export function runSetupCommand(args: string[]): number {
  if (args.includes("--help") || args.includes("-h")) { process.stdout.write(USAGE); return 0; }
  try {
    if (args.length > 0) throw new FlareError(`setup: unknown argument '${args[0]}'\n\n${USAGE}`, "E_ARGUMENT");
    setup();
    return 0;
  } catch (error) {
    if ((error as Error).name !== "FlareError") throw error;
    process.stderr.write(`flare: ${(error as Error).message}\n`);
    return 1;
  }
}
