// End to end: `flare stylize` on the bundled photos at a tiny size: the result,
// the intermediate images every N steps, the loss curves, --json progress with
// the three losses, several --style with --style-mix, and bad flags.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { readImage } from "../src/vision/index.js";
import { parseCommandLine, type Parsed } from "../src/cli/commands.js";
import { fixturePath } from "./helpers.js";

const cli = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));
const flare = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] });
const asset = (name: string) => fileURLToPath(new URL(`../../assets/images/${name}`, import.meta.url));

test("flare stylize parses repeated --style, --style-mix, --size and the book's defaults", () => {
  const parsed = parseCommandLine(["stylize", "--content", "c.jpg", "--style", "a.jpg", "--style", "b.jpg", "--style-mix", "0.7,0.3", "--out", "o.png"]);
  assert.equal(parsed.kind, "run");
  const { values } = (parsed as Extract<Parsed, { kind: "run" }>).flags;
  assert.deepEqual(values.style, ["a.jpg", "b.jpg"]);
  assert.deepEqual(values.styleMix, ["0.7", "0.3"]);
  // --steps and --coarse-steps have no flag default: the task picks the book's (500, 0) with --weights, the random filters' (200, 150) without.
  assert.deepEqual([values.size, values.steps, values.coarseSteps, values.lr, values.contentWeight, values.styleWeight, values.tvWeight, values.every],
    ["300x450", undefined, undefined, 0.3, 1, 1e4, 10, 50]);
});

test("flare stylize writes the result, an image every N steps and the loss curves; --json reports the three losses per step", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-stylize-"));
  const out = path.join(dir, "cat.png"), curves = path.join(dir, "losses.svg");
  const text = flare("stylize", "--content", asset("chelsea.jpg"), "--style", asset("brick.jpg"), "--out", out,
    "--size", "24x36", "--steps", "6", "--every", "2", "--curves", curves, "--json");
  const lines = text.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  const steps = lines.filter((l) => l.event === "step");
  assert.equal(steps.length, 6);
  for (const s of steps) for (const k of ["content", "style", "tv"]) assert.equal(typeof s[k], "number", `step lines carry ${k}`);
  const done = lines[lines.length - 1];
  assert.equal(done.event, "done");
  assert.deepEqual(done.intermediates, [path.join(dir, "cat.step2.png"), path.join(dir, "cat.step4.png")]);
  for (const f of [out, ...(done.intermediates as string[])]) {
    const img = await readImage(f);
    assert.deepEqual(img.shape, [3, 24, 36], f);
    img.dispose();
  }
  assert.match(readFileSync(curves, "utf8"), /<svg[^]*polyline[^]*style/);
  // The random filters' default schedule: ¾ of the steps at half size, marked on the curves.
  assert.equal(done.coarseSteps, 4);
  assert.match(readFileSync(curves, "utf8"), /half size \| full size/);
});

test("flare stylize with --weights runs the book's VGG-19 setup; several styles mix", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-stylize-"));
  const out = path.join(dir, "o.jpg");
  const text = flare("stylize", "--content", asset("coffee.jpg"), "--style", asset("grass.jpg"), "--style", asset("gravel.jpg"), "--style-mix", "0.7,0.3",
    "--weights", fixturePath("style_vgg19_w16.safetensors"), "--out", out, "--size", "32x48", "--steps", "3", "--every", "0");
  assert.match(text, /VGG-19 features \(width \/ 16\)/);
  assert.match(text, /Gram distance to the style/);
  assert.ok(existsSync(out));
});

test("flare stylize: bad input exits 1 with a message that names it", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-stylize-"));
  const out = path.join(dir, "o.png");
  const fails = (args: string[], pattern: RegExp) => assert.throws(() => flare("stylize", ...args),
    (e: { status: number; stderr: string }) => { assert.match(e.stderr, pattern); return e.status === 1 || e.status === 2; });
  const base = ["--content", asset("chelsea.jpg"), "--out", out, "--size", "16x16", "--steps", "1"];
  fails([...base, "--style", path.join(dir, "nope.jpg")], /style image .*nope\.jpg could not be read: no such file/);
  fails([...base, "--style", asset("brick.jpg"), "--style-mix", "0.7,0.3"], /--style-mix has 2 shares for 1 --style image/);
  fails([...base, "--style", asset("brick.jpg"), "--size", "0x10"], /size must be HEIGHTxWIDTH with positive integers/);
  fails([...base, "--style", asset("brick.jpg"), "--weights", fixturePath("style.safetensors")], /is not VGG-19's weights/);
});
