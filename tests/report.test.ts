// `flare report RUN_DIR`: one self-contained HTML page for a run folder made by a
// tiny training (numbers, inline SVG curves, pictures as data: URIs), written
// atomically; bad input (missing, a file, not a run, corrupt logs, unknown flags)
// is a FlareError naming the path; every text from the folder is escaped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { writeImage } from "../src/vision/index.js";
import { trainClassifier } from "../src/tasks/classify.js";
import { buildRunReport, writeReport, lineChart } from "../src/report/index.js";
import { parseCommandLine } from "../src/cli/commands.js";
import { assertFlareError, flareCli } from "./helpers.js";

const { flare, flareFails } = flareCli();
const tmp = () => mkdtempSync(path.join(tmpdir(), "flare-report-"));

/** The base64 payloads of the page's inline images of a MIME type. */
const inlineImages = (html: string, mime = "image/png") => [...html.matchAll(new RegExp(`data:${mime.replace("+", "\\+")};base64,([A-Za-z0-9+/=]+)`, "g"))].map((m) => Buffer.from(m[1], "base64"));
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A tiny image folder (2 classes × 4 images of 12×12) and a 2-epoch classify run on it. */
async function tinyRun(root: string): Promise<{ runDir: string; history: Record<string, number>[] }> {
  torch.manualSeed(0);
  for (const split of ["train", "test"]) {
    for (const [c, cls] of ["dark", "light"].entries()) {
      mkdirSync(path.join(root, "folder", split, cls), { recursive: true });
      for (let i = 0; i < 4; i++) {
        const image = torch.full([3, 12, 12], c === 0 ? 30 + i : 220 - i, { dtype: "uint8" });
        await writeImage(image, path.join(root, "folder", split, cls, `${i}.png`));
        image.dispose();
      }
    }
  }
  const { runDir, history } = await trainClassifier({ data: "imagefolder", dataRoot: path.join(root, "folder"), model: "resnet18-small", width: 4, size: 12,
    epochs: 2, batchSize: 4, runsDir: path.join(root, "runs"), name: "tiny", output: "silent" });
  return { runDir, history };
}

test("flare report on a classify run folder: the numbers per epoch, inline SVG curves, pictures inline, config, machine; written atomically", async () => {
  const root = tmp();
  const { runDir, history } = await tinyRun(root);
  // A picture the run wrote (classify writes none): it goes into the page as a PNG data: URI.
  const picture = torch.randint(0, 255, [3, 10, 14], { dtype: "uint8" });
  await writeImage(picture, path.join(runDir, "samples.png"));
  picture.dispose();

  const printed = flare("report", runDir).trim();
  assert.equal(printed, path.join(runDir, "report.html"));
  const html = readFileSync(printed, "utf8");
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.doesNotMatch(html, /<script|src="http|href="http/, "self-contained: no script, nothing fetched");
  assert.match(html, /<h1>flare classify: tiny<\/h1>/);
  assert.ok((html.match(/<svg /g) ?? []).length >= 2, "loss per step and per-epoch curves as inline SVG");
  assert.match(html, /training loss per step/);
  assert.match(html, /<polyline /, "the step curve is drawn");
  for (const row of history) {
    assert.ok(html.includes(`<td>${String(Number(row.val_acc.toPrecision(4)))}</td>`), `val_acc of epoch ${row.epoch + 1} (${row.val_acc}) is in the table`);
    assert.ok(html.includes(`<td>${String(Number(row.train_loss.toPrecision(4)))}</td>`), `train_loss of epoch ${row.epoch + 1}`);
  }
  const pngs = inlineImages(html);
  assert.equal(pngs.length, 1, "samples.png inline");
  assert.ok(pngs[0].subarray(0, 8).equals(PNG));
  assert.equal(pngs[0].readUInt32BE(16), 14, "its width survives");
  assert.match(html, /resnet18-small/, "the config");
  assert.match(html, /libtorch<\/th><td>\d+\.\d+/, "the libtorch version");
  assert.match(html, /cores<\/th><td>\d+/, "the machine");
  assert.doesNotMatch(html, /curves\.svg/, "curves.svg is redrawn, not embedded");

  // --out FILE; no temporary file left beside it.
  const out = path.join(root, "page.html");
  assert.equal(flare("report", runDir, "--out", out).trim(), out);
  assert.equal(readFileSync(out, "utf8").length > 1000, true);
  assert.deepEqual(readdirSync(root).filter((f) => f.endsWith(".tmp")), []);
});

test("flare report: a missing folder, a file, a folder that is not a run, corrupt logs and unknown flags are FlareErrors naming the path", () => {
  const root = tmp();
  const missing = path.join(root, "nope");
  // Through the command line once (exit status 1, the message on stderr); the rest in-process.
  assert.match(flareFails("report", missing), new RegExp(`^flare: report: ${escapeRe(missing)} does not exist`));
  const file = path.join(root, "file.txt");
  writeFileSync(file, "x");
  assertFlareError(() => writeReport(file), new RegExp(`${escapeRe(file)} is not a folder`), "E_IO");
  const plain = path.join(root, "plain");
  mkdirSync(plain);
  assertFlareError(() => writeReport(plain), new RegExp(`${escapeRe(plain)} is not a run folder: it has no config\\.json`), "E_ARGUMENT");

  const bad = path.join(root, "bad");
  mkdirSync(bad);
  writeFileSync(path.join(bad, "config.json"), "{ not json");
  assertFlareError(() => writeReport(bad), new RegExp(`${escapeRe(path.join(bad, "config.json"))} is not valid JSON`), "E_FORMAT");
  writeFileSync(path.join(bad, "config.json"), "[1, 2]");
  assertFlareError(() => writeReport(bad), /must hold a JSON object/, "E_FORMAT");
  writeFileSync(path.join(bad, "config.json"), "{}");
  writeFileSync(path.join(bad, "metrics.jsonl"), '{"epoch": 0, "loss": 1}\n{"epoch": "x"}\n');
  assertFlareError(() => writeReport(bad), new RegExp(`${escapeRe(path.join(bad, "metrics.jsonl"))} is corrupt: line 2`), "E_FORMAT");
  assert.deepEqual(readdirSync(bad).filter((f) => f.startsWith("report")), [], "nothing written on failure");

  assertFlareError(() => writeReport(plain, { outFile: "x" } as never), /outFile/);
  assertFlareError(() => parseCommandLine(["report", plain, "--colour", "red"]), /flare report: unknown flag --colour/);
  assertFlareError(() => parseCommandLine(["report"]), /RUN_DIR/);
  assertFlareError(() => parseCommandLine(["report", "a", "b"]), /flare report: unexpected argument .b./);
});

test("report: every text from the folder is escaped (config keys and values, metric names, file names)", async () => {
  const dir = path.join(tmp(), "evil");
  mkdirSync(dir);
  const evil = "<script>alert(1)</script>";
  writeFileSync(path.join(dir, "config.json"), JSON.stringify({ task: `classify${evil}`, [`key${evil}`]: evil, nested: { v: `"><img src=x onerror=alert(2)>` } }));
  writeFileSync(path.join(dir, "metrics.jsonl"), JSON.stringify({ epoch: 0, [`val_${evil}`]: 0.5 }) + "\n" + JSON.stringify({ epoch: 1, [`val_${evil}`]: 0.75 }) + "\n");
  writeFileSync(path.join(dir, "steps.jsonl"), [1, 2, 3].map((s) => JSON.stringify({ epoch: 0, step: s, [`loss${evil}`]: 1 / s })).join("\n") + "\n");
  const picture = torch.zeros([3, 4, 4], { dtype: "uint8" });
  await writeImage(picture, path.join(dir, `a<b>"c'.png`));
  picture.dispose();
  const html = buildRunReport(dir);
  assert.doesNotMatch(html, /<script/i, "no script element anywhere");
  assert.doesNotMatch(html, /<img src=x/, "no attribute breakout");
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"), "the text is shown, escaped");
  assert.ok(html.includes("a&lt;b&gt;&quot;c&#39;.png"), "the file name is escaped");
  assert.equal(inlineImages(html).length, 1);
  // The chart escapes its own labels too.
  assert.doesNotMatch(lineChart([{ name: evil, points: [[1, 1], [2, 2]] }], { title: evil }), /<script/);
});

test("report: a stylize-style folder (no metrics) shows its result numbers and its pictures, an SVG file as an <img>", async () => {
  const dir = path.join(tmp(), "style");
  mkdirSync(dir);
  writeFileSync(path.join(dir, "config.json"), JSON.stringify({ task: "stylize", steps: 3 }));
  writeFileSync(path.join(dir, "result.json"), JSON.stringify({ "content loss": 12.5, "Gram distance, end": 0.000123 }));
  writeFileSync(path.join(dir, "losses.svg"), `<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><script>alert(1)</script></svg>`);
  const picture = torch.zeros([3, 6, 6], { dtype: "uint8" });
  await writeImage(picture, path.join(dir, "stylized.png"));
  picture.dispose();
  const html = buildRunReport(dir);
  assert.match(html, /content loss<\/th><td>12\.5</);
  assert.match(html, /Gram distance, end<\/th><td>1\.230e-4</);
  assert.equal(inlineImages(html).length, 1);
  const svgs = inlineImages(html, "image/svg+xml");
  assert.equal(svgs.length, 1, "the SVG file is an <img> (its script cannot run there), not inline markup");
  assert.doesNotMatch(html, /<script/);
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
