// npm pack's prepack step (after scripts/setup.sh): ships the addon just built as a
// prebuilt, prebuilds/<platform>-<arch>-libtorch-<major.minor>/flare.node, which
// src/tensor/native.ts loads where no local build exists. Only a build against the
// system's libtorch (Debian's libtorch-dev) is shipped: its rpath points where every
// Debian/Ubuntu machine with that libtorch has it; a build against a libtorch in a
// private folder would not load elsewhere.
import { copyFileSync, mkdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
const say = (line) => process.stderr.write(`[prebuild] ${line}\n`);
const prebuilds = path.join(root, "prebuilds");
rmSync(prebuilds, { recursive: true, force: true });

const torch = require("../native/locate-libtorch.cjs");
if (torch.origin !== "system") {
  say(`no prebuilt shipped: the addon is built against the ${torch.origin} libtorch in ${torch.lib}, not the system's`);
  process.exit(0);
}
delete process.env.FLARE_ADDON;
const { native, addonPath } = await import("../dist/src/tensor/native.js");
const built = path.join(root, "build/Release/flare.node");
if (addonPath !== built) throw new Error(`prebuild: expected the local build ${built} to load, got ${addonPath}`);
const [major, minor] = native.buildInfo().torchVersion.split(".");
const dir = path.join(prebuilds, `${process.platform}-${process.arch}-libtorch-${major}.${minor}`);
mkdirSync(dir, { recursive: true });
const file = path.join(dir, "flare.node");
copyFileSync(built, file);
// Debug symbols are most of the file; users need none of them.
if (spawnSync("strip", ["--strip-unneeded", file], { stdio: "inherit" }).status !== 0) say("strip failed; shipping unstripped");
say(`${path.relative(root, file)} (${(statSync(file).size / 2 ** 20).toFixed(1)} MiB)`);
