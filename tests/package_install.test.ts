// flare as a dependency of another project, as a user gets it: `npm pack`, `npm install`
// of the tarball into a fresh project, `npx flare setup`, a strict TypeScript file that
// imports `flare` and `flare/vision` compiled under moduleResolution node16 and bundler,
// trained and run. And `flare setup` on machines that lack libtorch, apt or root.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ROOT } from "./helpers.js";
import { setup, type Machine } from "../src/cli/setup.js";

const bin = path.join(ROOT, "dist/src/cli/bin.js");
const ourPackage = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));

const USER_FILE = `import * as torch from "flare";
import { nn, optim, F } from "flare";
import { ops } from "flare/vision";

torch.manualSeed(0);
const net = new nn.Sequential(
  new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU(),
  new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(4, 2));
const opt = new optim.SGD(net.parameters(), { lr: 0.5 });
const x = torch.randn([16, 1, 8, 8]);
const y = torch.randint(0, 2, [16]);
const losses: number[] = [];
for (let step = 0; step < 30; step++) {
  losses.push(torch.tidy(() => {
    const loss = F.crossEntropy(net.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return loss.item();
  }));
}
const iou = ops.boxIou(torch.tensor([[0, 0, 2, 2]]), torch.tensor([[1, 1, 3, 3]]));
const init: typeof torch.distributed.initProcessGroup = torch.distributed.initProcessGroup;
console.log(JSON.stringify({ first: losses[0], last: losses[losses.length - 1], iou: iou.item(), distributed: typeof init }));
`;

/** Runs a command, failing the test with its output when it fails; returns stdout and the seconds it took. */
function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): { stdout: string; stderr: string; seconds: number } {
  const start = performance.now();
  const r = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 600_000, maxBuffer: 64 * 2 ** 20 });
  const seconds = (performance.now() - start) / 1000;
  assert.equal(r.status, 0, `\`${command} ${args.join(" ")}\` in ${cwd} failed (${r.error?.message ?? r.status}):\n${r.stdout}\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr, seconds };
}

test("npm pack → npm install in a fresh project → npx flare setup → a strict TypeScript file (node16 and bundler) trains and calls ops.boxIou", { timeout: 900_000 }, () => {
  const work = mkdtempSync(path.join(tmpdir(), "flare-package-"));
  const times: Record<string, number> = {};
  try {
    // 1. The tarball (prepack: scripts/setup.sh, quick when built, then the prebuilt addon) holds only what users need.
    const pack = sh("npm", ["pack", "--json", "--pack-destination", work], ROOT);
    times.pack = pack.seconds;
    const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("[\n"))) as { filename: string; files: { path: string }[] }[];
    const files = packed.files.map((f) => f.path);
    for (const needed of ["dist/src/index.js", "dist/src/index.d.ts", "dist/src/vision/index.d.ts", "dist/src/cli/bin.js",
      "binding.gyp", "native/ops.cc", "native/locate-libtorch.cjs", "README.md", "LICENSE", "package.json"]) {
      assert.ok(files.includes(needed), `the tarball holds ${needed}`);
    }
    assert.ok(files.some((f) => /^prebuilds\/linux-x64-libtorch-[\d.]+\/flare\.node$/.test(f)), "the tarball holds a prebuilt addon");
    const extra = files.filter((f) => /^(tests|bench|docs|assets|examples|scripts|src|build)\/|^dist\/(tests|bench|examples)\/|\.map$|\.py$/.test(f));
    assert.deepEqual(extra, [], "no tests, fixtures, benchmarks, pictures, sources maps or build folders in the tarball");

    // 2. A fresh project installs it (no install scripts to approve: flare has none).
    const project = path.join(work, "app");
    mkdirSync(path.join(project, "src"), { recursive: true });
    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }, null, 2));
    const install = sh("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", path.join(work, packed.filename),
      `typescript@${ourPackage.devDependencies.typescript}`, `@types/node@${ourPackage.devDependencies["@types/node"]}`], project);
    times.install = install.seconds;
    const installed = JSON.parse(readFileSync(path.join(project, "node_modules/flare/package.json"), "utf8"));
    assert.equal(installed.scripts?.install, undefined);
    assert.equal(installed.scripts?.postinstall, undefined);

    // 3. npx flare setup: here the prebuilt loads against Debian's libtorch; a second run is idempotent.
    const first = sh("npx", ["flare", "setup"], project);
    times.setup = first.seconds;
    assert.match(first.stderr, /ready: .*prebuilds\/linux-x64-libtorch-[\d.]+\/flare\.node loads \(libtorch \d+\.\d+/);
    assert.match(sh("npx", ["flare", "setup"], project).stderr, /ready: /);

    // 4. Strict TypeScript under node16 and bundler resolution (flare's and sharp's .d.ts checked: no skipLibCheck).
    writeFileSync(path.join(project, "src/main.ts"), USER_FILE);
    const common = { strict: true, target: "ES2022", lib: ["ES2022"], types: ["node"], skipLibCheck: false };
    writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify({
      compilerOptions: { ...common, module: "node16", moduleResolution: "node16", outDir: "out" }, include: ["src"] }));
    writeFileSync(path.join(project, "tsconfig.bundler.json"), JSON.stringify({
      compilerOptions: { ...common, module: "esnext", moduleResolution: "bundler", noEmit: true }, include: ["src"] }));
    times.tsc = sh("npx", ["tsc", "-p", "tsconfig.json"], project).seconds;
    sh("npx", ["tsc", "-p", "tsconfig.bundler.json"], project);

    // 5. It runs: the loss falls, the IoU is 1/7, torch.distributed is there.
    const run = sh("node", ["out/main.js"], project);
    times.run = run.seconds;
    const result = JSON.parse(run.stdout.trim());
    assert.ok(result.last < result.first, `loss falls: ${result.first} → ${result.last}`);
    assert.ok(Math.abs(result.iou - 1 / 7) < 1e-6, `boxIou = ${result.iou}`);
    assert.equal(result.distributed, "function");

    // 6. With no addon that loads (here: the prebuilt moved away), import and the CLI say what to run.
    const prebuilds = path.join(project, "node_modules/flare/prebuilds");
    renameSync(prebuilds, `${prebuilds}.away`);
    const imported = spawnSync("node", ["out/main.js"], { cwd: project, encoding: "utf8" });
    assert.equal(imported.status, 1);
    assert.match(imported.stderr, /FlareError: flare's native addon is not built.*npx flare setup.*FLARE_LIBTORCH=/s);
    const bogus = path.join(work, "bogus.node");
    writeFileSync(bogus, "not an addon");
    const broken = spawnSync("node", ["out/main.js"], { cwd: project, encoding: "utf8", env: { ...process.env, FLARE_ADDON: bogus } });
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /flare's native addon does not load on this machine:\n  .*bogus\.node: .*\n.*npx flare setup/);
    const info = spawnSync("npx", ["flare", "info"], { cwd: project, encoding: "utf8" });
    assert.equal(info.status, 1);
    assert.match(info.stderr, /flare: flare's native addon is not built.*npx flare setup/s);

    // 7. ... and `flare setup` then builds from source: node-gyp configures for real in the installed
    //    layout (node-gyp and node-addon-api resolved from the project); the compile itself (minutes)
    //    is recorded, not run.
    const flareRoot = path.join(project, "node_modules/flare");
    const ran: string[] = [];
    assert.throws(() => setup({ root: flareRoot, log: () => {}, machine: {
      run: (command, args, options) => {
        ran.push(args.slice(1).join(" "));
        if (args[1] === "build") return;
        const r = spawnSync(command, args, { cwd: options?.cwd, encoding: "utf8" });
        assert.equal(r.status, 0, `${command} ${args.join(" ")}: ${r.stdout}${r.stderr}`);
      } } }), /setup: the addon was built but does not load/);
    assert.deepEqual(ran.map((c) => c.split(" ")[0]), ["configure", "build"]);
    assert.match(ran[0], /--nodedir=\//);
    assert.match(readFileSync(path.join(flareRoot, "build/Makefile"), "utf8"), /flare/);
    assert.equal(JSON.parse(readFileSync(path.join(flareRoot, "build/flare-libtorch.json"), "utf8")).origin, "system");
    rmSync(path.join(flareRoot, "build"), { recursive: true });
    renameSync(`${prebuilds}.away`, prebuilds);
    process.stderr.write(`# package install, seconds: ${JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, +v.toFixed(1)])))}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("flare setup with FLARE_LIBTORCH naming no libtorch, and no apt-get on PATH: a clear message, nothing compiled", () => {
  const noApt = mkdtempSync(path.join(tmpdir(), "flare-path-"));
  symlinkSync(process.execPath, path.join(noApt, "node"));
  for (const [dir, what] of [["/nonexistent/libtorch", /does not exist/], [tmpdir(), /is not a libtorch folder \(it needs include\/torch/]] as const) {
    const r = spawnSync(process.execPath, [bin, "setup"], { encoding: "utf8", env: { PATH: noApt, HOME: process.env.HOME, FLARE_LIBTORCH: dir } });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^flare: setup: FLARE_LIBTORCH=${dir.replace(/[/.]/g, "\\$&")} `));
    assert.match(r.stderr, what);
    assert.match(r.stderr, /FLARE_LIBTORCH=\$HOME\/libtorch npx flare setup/);
    assert.doesNotMatch(r.stderr, /gyp|error:|g\+\+|\n\s+at /, "no node-gyp or compiler output, no stack trace");
  }
  rmSync(noApt, { recursive: true, force: true });
});

test("flare setup on a machine without libtorch: without apt-get, or without root, it says what is missing and how to provide it; as root with apt it installs Debian's", () => {
  const root = mkdtempSync(path.join(tmpdir(), "flare-installed-")); // an installed package: no tsconfig.json, no src/
  const commands: string[] = [];
  const bare: Partial<Machine> = {
    env: { PATH: "/nowhere" }, isRoot: false, which: () => null, sudo: () => null, dpkgInstalled: () => null,
    locateLibtorch: () => null, probeAddon: () => ({ ok: false, error: "no addon" }),
    run: (command, args) => { commands.push([command, ...args].join(" ")); },
  };
  const quiet = () => {};
  const fails = (machine: Partial<Machine>, pattern: RegExp) => assert.throws(() => setup({ root, machine, log: quiet }),
    (e: Error) => e.name === "FlareError" && pattern.test(e.message) && /FLARE_LIBTORCH=\/path\/to\/libtorch npx flare setup/.test(e.message));
  fails(bare, /libtorch \(Debian packages libtorch-dev, libgloo-dev\) is missing, and there is no apt-get on PATH.*apt-get install libtorch-dev libgloo-dev/s);
  fails({ ...bare, which: (c) => (c === "apt-get" ? "/usr/bin/apt-get" : null) }, /is missing, and it cannot be installed here: not running as root, and no sudo/);
  assert.deepEqual(commands, [], "nothing was run");
  // Root with apt-get: it installs Debian's packages (recorded here, not run); libtorch still absent → a plain message.
  fails({ ...bare, isRoot: true, which: (c) => (c === "apt-get" ? "/usr/bin/apt-get" : null) }, /no libtorch found/);
  assert.deepEqual(commands, ["/usr/bin/apt-get update -q", "/usr/bin/apt-get install -y -q --no-install-recommends libtorch-dev libgloo-dev"]);
  rmSync(root, { recursive: true, force: true });
});

test("flare setup with an unknown argument is an error; --help prints its usage", () => {
  const bad = spawnSync(process.execPath, [bin, "setup", "--bogus"], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /setup: unknown argument '--bogus'/);
  const help = execFileSync(process.execPath, [bin, "setup", "--help"], { encoding: "utf8" });
  assert.match(help, /usage: flare setup/);
});

test("flare setup says when libtorch's matrix products run on the reference BLAS, and only then", () => {
  const root = mkdtempSync(path.join(tmpdir(), "flare-installed-")); // an installed package whose addon loads
  const linesWith = (blas: string) => {
    const lines: string[] = [];
    setup({ root, log: (line) => lines.push(line), machine: { env: {}, probeAddon: () => ({ ok: true, path: "/x/flare.node", torchVersion: "1.13.0", blas }) } });
    return lines;
  };
  const reference = linesWith("reference");
  assert.match(reference[0], /^ready: \/x\/flare\.node loads \(libtorch 1\.13\.0\)$/);
  assert.match(reference[1], /reference BLAS.*apt-get install libopenblas0-openmp/);
  assert.deepEqual(linesWith("openblas"), ["ready: /x/flare.node loads (libtorch 1.13.0)"]);
  rmSync(root, { recursive: true, force: true });
});
