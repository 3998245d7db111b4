// `flare demo --quick`: every stage runs on the bundled photos and generated data
// (Fashion-MNIST's two stages only where its files are), each in its run folder,
// and report.html holds every stage's section, its numbers, inline PNG pictures
// that decode, and inline SVG curves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { decodeImage } from "../src/vision/index.js";
import { FASHION_MNIST_ROOT } from "../src/vision/datasets/fashion_mnist.js";
import { DEMO_STAGES, runDemo, type DemoSummary } from "../src/tasks/demo.js";
import { parseCommandLine } from "../src/cli/commands.js";
import { escapeHtml } from "../src/report/index.js";
import { assertFlareError, flareCli, lastJson } from "./helpers.js";

const { flare } = flareCli(process.env, 240_000);
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** What the report shows for a stage number (html.ts's formatNumber: 4 significant digits, escaped). */
function shown(v: number | string): string {
  if (typeof v === "string") return escapeHtml(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

test("flare demo --quick: six stages in their run folders, then report.html with every section, its numbers, PNGs that decode and SVG curves", { timeout: 300_000 }, async () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), "flare-demo-")), "demo");
  const hasFashion = existsSync(path.join(FASHION_MNIST_ROOT, "train-images-idx3-ubyte.gz")) || existsSync(path.join(FASHION_MNIST_ROOT, "train-images-idx3-ubyte"));
  const done = lastJson(flare("demo", "--quick", "--out", out, "--json"));
  assert.equal(done.event, "done");
  assert.equal(done.report, path.join(out, "report.html"));

  const summary = JSON.parse(readFileSync(path.join(out, "demo.json"), "utf8")) as DemoSummary;
  assert.equal(summary.kind, "flare-demo");
  assert.equal(summary.quick, true);
  assert.deepEqual(summary.stages.map((s) => s.key), ["augment", "fashion-mnist", "transfer", "detect", "segment", "stylize"]);
  for (const stage of summary.stages) {
    const expected = hasFashion || !["fashion-mnist", "transfer"].includes(stage.key) ? "done" : "skipped";
    assert.equal(stage.status, expected, `${stage.key}: ${stage.note ?? ""}`);
    if (stage.status === "done") {
      assert.ok(existsSync(path.join(out, stage.dir, "config.json")), `${stage.dir} is a run folder`);
      assert.ok(stage.seconds > 0 && stage.seconds < 120, `${stage.key} took ${stage.seconds} s`);
    } else {
      assert.match(stage.note!, /Fashion-MNIST is not in .*skipped/);
    }
  }
  assert.ok(summary.seconds >= summary.stages.reduce((a, s) => a + s.seconds, 0) - 1e-6);

  const html = readFileSync(path.join(out, "report.html"), "utf8");
  assert.doesNotMatch(html, /<script|src="http/, "self-contained");
  for (const [i, s] of DEMO_STAGES.entries()) assert.ok(html.includes(`<h2 id="${s.key}">${i + 1}. ${escapeHtml(s.title)}</h2>`), `the ${s.key} section`);
  for (const stage of summary.stages.filter((s) => s.status === "done")) {
    for (const [k, v] of Object.entries(stage.numbers)) assert.ok(html.includes(`<th>${escapeHtml(k)}</th><td>${shown(v)}</td>`), `${stage.key}: ${k} = ${v} in the page`);
  }
  if (!hasFashion) assert.match(html, /class="note">Fashion-MNIST is not in/);

  // Pictures: the four augmentation grids, the drawn detections, the masks, the stylised triptych.
  const pngs = [...html.matchAll(/data:image\/png;base64,([A-Za-z0-9+/=]+)/g)].map((m) => Buffer.from(m[1], "base64"));
  assert.ok(pngs.length >= 4 + 1 + 4 + 2, `${pngs.length} inline PNGs`);
  for (const png of pngs) {
    assert.ok(png.subarray(0, 8).equals(PNG), "a PNG signature");
    const image = await decodeImage(png);
    assert.equal(image.shape.length, 3);
    image.dispose();
  }
  for (const name of ["1-flips.png", "4-combined.png", "detections.png", "masks/val_0_overlay.png", "content-style-result.png"]) assert.ok(html.includes(`<figcaption>${name}</figcaption>`), name);
  const svgs = html.match(/<svg [^]*?<\/svg>/g) ?? [];
  assert.ok(svgs.length >= 4, `${svgs.length} inline SVG charts`);
  assert.ok(svgs.some((s) => s.includes("<polyline")), "a curve is drawn");
  assert.match(html, /libtorch<\/th><td>\d+\.\d+/);
  assert.match(html, /CPU<\/th><td>[^<]+/);

  // flare report on the demo folder rebuilds the demo's page.
  const again = path.join(out, "again.html");
  assert.equal(flare("report", out, "--out", again).trim(), again);
  assert.match(readFileSync(again, "utf8"), /<h1>flare demo \(quick\)<\/h1>/);
});

test("runDemo: an --out that is a file, and unknown options, are FlareErrors before any stage runs", async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "flare-demo-")), "taken");
  writeFileSync(file, "x");
  await assert.rejects(runDemo({ out: file, quick: true, output: "silent" }, () => {}), (e: Error) => e.name === "FlareError" && e.message.includes(`cannot make the demo folder ${file}: a file is in the way`));
  await assert.rejects(runDemo({ out: path.join(file, "sub"), quick: true, output: "silent" }, () => {}), /a file is in the way/);
  await assert.rejects(runDemo({ quick: true, fast: true } as never, () => {}), /runDemo\(\): unknown option 'fast'|fast/);
});

test("flare demo's flags: unknown ones are FlareErrors; the defaults", () => {
  assertFlareError(() => parseCommandLine(["demo", "--fast"]), /flare demo: unknown flag --fast/);
  assertFlareError(() => parseCommandLine(["demo", "extra"]), /flare demo: unexpected argument 'extra'/);
  const parsed = parseCommandLine(["demo"]);
  assert.equal(parsed.kind, "run");
  assert.equal((parsed as Extract<typeof parsed, { kind: "run" }>).flags.values.out, "runs/demo");
});
