// flare serve in a real browser (Debian's chromium, headless, driven by
// playwright-core): a Fashion-MNIST training runs in a child process while the
// viewer shows it; the test checks that the curves gain points while it trains,
// that the run's images render, that the page logs no errors, and keeps a
// screenshot in test-output/serve.png. CI installs chromium (.ci/run); without
// it this test fails and says how to install it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { serveRuns, type RunsServer } from "../src/serve/index.js";

const CHROMIUM = process.env.FLARE_CHROMIUM ?? "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OUTPUT = path.join(ROOT, "test-output");

/** Waits until `check` returns a truthy value (polled), or fails naming `what`. */
async function until<T>(what: string, check: () => Promise<T> | T, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l.endsWith("}")).length : 0);

/** Points drawn in the charts of `chart` ("step" or "epoch"): the polylines' vertices, as the browser parsed them. */
// (Page code goes as strings: this project compiles without the DOM's types.)
const plotted = (page: Page, chart: string): Promise<number> => page.evaluate(`Array.from(document.querySelectorAll('svg[data-chart="${chart}"] polyline'))
  .reduce((n, p) => n + p.points.numberOfItems, 0)`);

test("flare serve in headless Chromium: live curves grow while a run trains, images render, no console errors", { timeout: 240_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `the viewer's browser test needs Chromium at ${CHROMIUM}: install it with 'apt-get install -y chromium' (Debian; CI does this in .ci/run), or point FLARE_CHROMIUM at a Chromium binary`);
  const base = mkdtempSync(path.join(tmpdir(), "flare-serve-browser-"));
  const runs = path.join(base, "runs"), runDir = path.join(runs, "fashion");
  mkdirSync(runs, { recursive: true });
  let trainer: ChildProcess | undefined, server: RunsServer | undefined, browser: Browser | undefined;
  try {
    server = await serveRuns(runs, { port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], headless: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => { if (!r.url().includes("/api/stream/")) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`); });
    page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    // The browser is up and the list open before the training starts, so the training's time is all for watching.
    await page.goto(server.url);
    await page.locator("p.empty").waitFor({ timeout: 10_000 });
    assert.match(await page.locator("p.empty").textContent() ?? "", /No runs yet/);

    // 6 epochs of 32 steps, each step paced to >= 40 ms: about 10-20 s of training.
    trainer = spawn(process.execPath, [fileURLToPath(new URL("./workers/serve_train.js", import.meta.url)), runDir, "6", "1024", "40"], { stdio: ["ignore", "ignore", "pipe"] });
    let trainerErr = "";
    trainer.stderr!.on("data", (c: Buffer) => { trainerErr += c; });
    const trained = new Promise<number | null>((resolve) => trainer!.on("exit", resolve));

    // The list shows the run as training and links to it.
    const row = page.locator('tr[data-run="fashion"]');
    await until("the run in the list", async () => (await row.count()) > 0 || (trainer!.exitCode !== null && assert.fail(`the training exited (${trainer!.exitCode}): ${trainerErr}`)), 30_000);
    await until("the run listed as training", async () => (await row.locator(".badge").textContent()) === "training", 10_000);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, "serve-list.png") });
    await row.locator("a").click();
    await page.waitForURL(/\/run\/fashion$/);

    // Curves grow while it trains.
    const first = await until("points on the step chart", () => plotted(page, "step"));
    assert.equal(trainer.exitCode, null, "still training when the first points are counted");
    const grown = await until("the step chart to gain points", async () => { const n = await plotted(page, "step"); return n > first ? n : 0; }, 30_000);
    assert.ok(grown > first, `${first} -> ${grown} points`);
    const epochPoints = await until("points on the epoch charts", () => plotted(page, "epoch"), 60_000);
    assert.equal(await page.locator("#live").textContent(), trainer.exitCode === null ? "training" : "idle");
    const during = { steps: grown, epochs: epochPoints, live: trainer.exitCode === null };

    // Images render: the samples at once, the predictions after the first epoch.
    for (const name of ["samples.png", "predictions.png"]) {
      const width = await until(`${name} to render`, () => page.evaluate<number>(`(() => {
        const img = document.querySelector('figure[data-path="${name}"] img');
        return img && img.complete ? img.naturalWidth : 0;
      })()`), 60_000);
      assert.ok(width > 0, `${name}: naturalWidth ${width}`);
    }

    // When the run ends, every logged row is drawn and the run shows as idle.
    assert.equal(await trained, 0, `the training failed: ${trainerErr}`);
    const allSteps = lines(path.join(runDir, "steps.jsonl")), allEpochs = lines(path.join(runDir, "metrics.jsonl"));
    assert.equal(allSteps, 6 * 32);
    await until("every step drawn", async () => (await plotted(page, "step")) === allSteps, 15_000);
    // Loss per epoch: train_loss and val_loss; metrics per epoch: train_acc and val_acc.
    await until("every epoch drawn", async () => (await plotted(page, "epoch")) === allEpochs * 4, 15_000);
    await until("the run shown as idle", async () => (await page.locator("#live").textContent()) === "idle", 15_000);
    assert.match(await page.locator("pre.config").textContent() ?? "", /"task": "classify"/);
    // The last epoch's predictions.png, not an earlier one (its URL carries the file's mtime).
    const final = `v=${Math.round(statSync(path.join(runDir, "predictions.png")).mtimeMs)}`;
    await until("the last predictions.png shown", () => page.evaluate<boolean>(`(() => {
      const img = document.querySelector('figure[data-path="predictions.png"] img');
      return !!img && img.complete && img.naturalWidth > 0 && img.getAttribute("src").endsWith(${JSON.stringify(final)});
    })()`), 15_000);

    await page.screenshot({ path: path.join(OUTPUT, "serve.png"), fullPage: true });
    assert.deepEqual(problems, [], "the page logged no errors or warnings and every request succeeded");
    assert.ok(during.live, "the curves grew while the run was training");
    console.log(JSON.stringify({ pointsWhileTraining: during, stepsLogged: allSteps, epochsLogged: allEpochs, screenshot: path.join(OUTPUT, "serve.png") }));
  } finally {
    await browser?.close();
    await server?.close();
    if (trainer && trainer.exitCode === null) trainer.kill("SIGKILL");
    rmSync(base, { recursive: true, force: true });
  }
});
