// flare serve over plain HTTP (no browser): the runs list, the refusal of every
// path that leaves the runs folder, GET/HEAD only, the polling and streaming
// endpoints returning rows appended after they were asked, and clear errors for
// bad options, bad flags and a port in use.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { serveRuns, type RunsServer } from "../src/serve/index.js";
import { APP_JS } from "../src/serve/client.js";
import { parseCommandLine } from "../src/cli/commands.js";

const SECRET = "top-secret-outside-the-runs-folder";
const PNG_1x1 = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

let base: string, runs: string, server: RunsServer;

before(async () => {
  base = mkdtempSync(path.join(tmpdir(), "flare-serve-"));
  runs = path.join(base, "runs");
  writeFileSync(path.join(base, "secret.txt"), SECRET);
  writeFileSync(path.join(base, "secret.png"), SECRET);
  // runs/a: a classify-like run; runs/demo/b: a nested run (runs/demo itself is not one).
  mkdirSync(path.join(runs, "a", "checkpoints"), { recursive: true });
  mkdirSync(path.join(runs, "demo", "b", "images"), { recursive: true });
  writeFileSync(path.join(runs, "a", "config.json"), JSON.stringify({ task: "classify", lr: 0.1 }));
  writeFileSync(path.join(runs, "a", "metrics.jsonl"), '{"epoch":0,"train_loss":1.5,"val_acc":0.4}\n');
  writeFileSync(path.join(runs, "a", "steps.jsonl"), '{"epoch":0,"step":1,"loss":2.3,"lr":0.1}\n{"epoch":0,"step":2,"loss":2.1,"lr":0.1}\n');
  writeFileSync(path.join(runs, "a", "checkpoints", "config.json"), "{}"); // not a run: checkpoints are not walked
  writeFileSync(path.join(runs, "a", "grid.png"), PNG_1x1);
  writeFileSync(path.join(runs, "demo", "b", "steps.jsonl"), '{"epoch":0,"step":1,"loss":0.9}\n');
  writeFileSync(path.join(runs, "demo", "b", "images", "mask.png"), PNG_1x1);
  writeFileSync(path.join(runs, "demo", "report.html"), "<p>report</p>");
  mkdirSync(path.join(runs, "odd name #1?"));
  writeFileSync(path.join(runs, "odd name #1?", "config.json"), "{}");
  // A run held by a live process (this one) is "live"; a FIFO as a lock file must not stall the server.
  writeFileSync(path.join(runs, "odd name #1?", ".lock"), JSON.stringify({ pid: process.pid, host: hostname() }));
  execFileSync("mkfifo", [path.join(runs, "demo", "b", ".lock")]);
  // Symlinks pointing out of the runs folder (a file and a folder) and one pointing inside.
  symlinkSync(path.join(base, "secret.txt"), path.join(runs, "a", "leak.txt"));
  symlinkSync(path.join(base, "secret.png"), path.join(runs, "a", "leak.png"));
  symlinkSync(base, path.join(runs, "a", "out"));
  symlinkSync(base, path.join(runs, "escape"));
  symlinkSync(path.join(runs, "a", "config.json"), path.join(runs, "a", "alias.json"));
  execFileSync("mkfifo", [path.join(runs, "a", "fifo.png")]);
  server = await serveRuns(runs, { port: 0 });
});

after(async () => {
  await server?.close();
  rmSync(base, { recursive: true, force: true });
});

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One request with the path sent exactly as written (fetch and URL would normalise "../" away). */
function get(rawPath: string, options: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.port, path: rawPath, method: options.method ?? "GET", headers: options.host ? { host: options.host } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${rawPath}: no answer in 5 s`)));
    req.on("error", reject);
    req.end();
  });
}

test("serve: the runs list holds every run folder, nested ones too, and nothing else", async () => {
  const reply = await get("/api/runs");
  assert.equal(reply.status, 200);
  const { runs: list } = JSON.parse(reply.body) as { runs: { name: string; epochs: number; images: number; live: boolean; last?: Record<string, number> }[] };
  assert.deepEqual(list.map((r) => r.name), ["a", "demo/b", "odd name #1?"], "symlinked folders and checkpoints/ are not walked, demo/ is not a run");
  const a = list[0];
  assert.equal(a.epochs, 1);
  assert.equal(a.last?.val_acc, 0.4);
  assert.equal(a.images, 1, "grid.png (the symlinked leak.png and the FIFO are not images of the run)");
  assert.equal(a.live, false);
  assert.deepEqual(list.map((r) => r.live), [false, false, true], "only the run whose lock names a live process on this host");
  const info = JSON.parse((await get("/api/run/demo/b")).body) as { name: string; images: { path: string }[]; config: string | null };
  assert.equal(info.name, "demo/b");
  assert.deepEqual(info.images.map((i) => i.path), ["images/mask.png"]);
  assert.equal(info.config, null);
  const odd = await get(`/api/run/${encodeURIComponent("odd name #1?")}`);
  assert.equal(JSON.parse(odd.body).name, "odd name #1?", "names are percent-decoded once");
  assert.equal((await get(`/files/${encodeURIComponent("odd name #1?")}/config.json`)).body, "{}");
  const page = await get("/");
  assert.equal(page.status, 200);
  assert.match(page.body, /<script src="\/static\/app\.js"><\/script>/);
  assert.match(String(page.headers["content-security-policy"]), /script-src 'self'/, "the page may load scripts only from flare");
  assert.doesNotMatch(page.body, /https?:\/\//, "nothing loads from elsewhere");
  assert.equal((await get("/static/app.js")).status, 200);
  assert.doesNotThrow(() => new vm.Script(APP_JS), "the page script parses");
});

test("serve: files inside the runs folder are served; every path that leaves it is refused without content", async () => {
  const inside = await get("/files/a/config.json");
  assert.equal(inside.status, 200);
  assert.match(inside.body, /"classify"/);
  assert.equal((await get("/files/a/alias.json")).status, 200, "a symlink that stays inside is followed");
  const png = await get("/files/demo/b/images/mask.png");
  assert.equal(png.status, 200);
  assert.equal(png.headers["content-type"], "image/png");
  const attempts = [
    "/files/../secret.txt", "/files/a/../../secret.txt", "/files/%2e%2e/secret.txt", "/files/a/%2E%2E/%2e%2e/secret.txt",
    "/files/a/..%2f..%2fsecret.txt", "/files/a/%2e%2e%2f%2e%2e%2fsecret.txt", "/files/..%5csecret.txt", "/files/a\\..\\..\\secret.txt",
    `/files/${path.join(base, "secret.txt")}`, `/files//${path.join(base, "secret.txt")}`, `/files/${encodeURIComponent(path.join(base, "secret.txt"))}`,
    "/files//etc/passwd", "/files/%2fetc%2fpasswd", "/files/a/leak.txt", "/files/a/leak.png", "/files/a/out/secret.txt", "/files/escape/secret.txt",
    "/files/a/config.json%00.png", "/files/a/fifo.png", "/files/a/checkpoints/../../../secret.txt", "/files/%ZZ",
    "/api/run/..", "/api/run/%2e%2e", "/api/run/escape", "/api/rows/../a", "/api/stream/%2e%2e/runs/a", "/api/run/a/out",
  ];
  for (const attempt of attempts) {
    const reply = await get(attempt);
    assert.ok([400, 403, 404].includes(reply.status), `${attempt}: status ${reply.status}`);
    assert.ok(!reply.body.includes(SECRET) && !reply.body.includes("root:"), `${attempt}: the body leaks a file: ${reply.body.slice(0, 80)}`);
    assert.ok(reply.body.length < 40, `${attempt}: a refusal says only its status, got ${reply.body.slice(0, 80)}`);
  }
  assert.equal((await get("/files/../secret.txt")).status, 403);
  assert.equal((await get("/files/a/leak.txt")).status, 403, "a symlink out is forbidden");
  assert.equal((await get("/files/a/nothing.png")).status, 404);
  assert.equal((await get("/files/a/steps.jsonl")).status, 200);
  assert.equal((await get("/files/demo/report.html")).status, 404, "only the kinds of files the viewer shows");
});

test("serve: only GET and HEAD, and only this machine's host names", async () => {
  for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
    const reply = await get("/api/runs", { method });
    assert.equal(reply.status, 405, method);
    assert.equal(reply.headers.allow, "GET, HEAD");
  }
  const head = await get("/files/a/grid.png", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers["content-length"], String(PNG_1x1.length));
  assert.equal(head.body, "");
  assert.equal((await get("/api/runs", { host: "attacker.example:80" })).status, 403, "a DNS name pointing here is not this machine");
  assert.equal((await get("/api/runs", { host: `localhost:${server.port}` })).status, 200);
});

test("serve: the polling endpoint returns the rows appended since its cursor, and starts over when a log is rewritten", async () => {
  const first = JSON.parse((await get("/api/rows/a")).body);
  assert.deepEqual(first.steps.rows.map((r: { step: number }) => r.step), [1, 2]);
  assert.equal(first.metrics.rows.length, 1);
  const steps = path.join(runs, "a", "steps.jsonl");
  appendFileSync(steps, '{"epoch":0,"step":3,"loss":1.9,"lr":0.1}\n{"epoch":0,"step":4,"loss":1.8');
  const second = JSON.parse((await get(`/api/rows/a?steps=${first.steps.next}&metrics=${first.metrics.next}`)).body);
  assert.deepEqual(second.steps.rows.map((r: { step: number }) => r.step), [3], "only the new whole line; the unfinished one waits");
  assert.equal(second.steps.reset, false);
  assert.deepEqual(second.metrics.rows, []);
  appendFileSync(steps, ',"lr":0.1}\n');
  const third = JSON.parse((await get(`/api/rows/a?steps=${second.steps.next}`)).body);
  assert.deepEqual(third.steps.rows.map((r: { step: number }) => r.step), [4]);
  // A resumed run rewrites its logs shorter: the cursor is past the end, so it starts over.
  writeFileSync(steps, '{"epoch":0,"step":1,"loss":2.3,"lr":0.1}\n');
  const fourth = JSON.parse((await get(`/api/rows/a?steps=${third.steps.next}`)).body);
  assert.equal(fourth.steps.reset, true);
  assert.deepEqual(fourth.steps.rows.map((r: { step: number }) => r.step), [1]);
  assert.equal((await get("/api/rows/a?steps=nonsense")).status, 400);
});

test("serve: the event stream pushes rows appended while it is open", async () => {
  const metrics = path.join(runs, "demo", "b", "metrics.jsonl");
  const events: { event: string; data: unknown }[] = [];
  let buffered = "";
  const req = request({ host: "127.0.0.1", port: server.port, path: "/api/stream/demo/b" });
  const seen = (predicate: (e: { event: string; data: unknown }) => boolean, what: string) => new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const look = () => {
      if (events.some(predicate)) return resolve();
      if (Date.now() > deadline) return reject(new Error(`no ${what} within 10 s; events: ${JSON.stringify(events).slice(0, 400)}`));
      setTimeout(look, 50);
    };
    look();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      req.on("response", (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let end;
          while ((end = buffered.indexOf("\n\n")) >= 0) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1], data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data !== undefined) events.push({ event, data: JSON.parse(data) });
          }
        });
        resolve();
      });
      req.on("error", reject);
      req.end();
    });
    type Rows = { file: string; rows: { epoch: number; step?: number }[]; reset: boolean };
    await seen((e) => e.event === "rows" && (e.data as Rows).file === "steps" && (e.data as Rows).reset && (e.data as Rows).rows.length === 1, "first steps rows");
    await seen((e) => e.event === "images", "the image list");
    assert.ok(!events.some((e) => e.event === "rows" && (e.data as Rows).file === "metrics" && (e.data as Rows).rows.length > 0), "no metrics yet");
    writeFileSync(metrics, '{"epoch":0,"train_loss":0.7}\n');
    await seen((e) => e.event === "rows" && (e.data as Rows).file === "metrics" && (e.data as Rows).rows.some((r) => r.epoch === 0), "the appended epoch 0");
    appendFileSync(metrics, '{"epoch":1,"train_loss":0.5}\n');
    await seen((e) => e.event === "rows" && (e.data as Rows).file === "metrics" && (e.data as Rows).rows.some((r) => r.epoch === 1), "the appended epoch 1");
    const metricRows = events.filter((e) => e.event === "rows" && (e.data as Rows).file === "metrics").flatMap((e) => (e.data as Rows).rows);
    assert.deepEqual(metricRows.map((r) => r.epoch), [0, 1], "each row once");
  } finally {
    req.destroy();
  }
});

test("serveRuns: bad arguments and a port in use are FlareErrors that say what to fix", async () => {
  const fails = async (fn: () => Promise<unknown>, pattern: RegExp) => {
    await assert.rejects(fn, (error: Error) => {
      assert.equal(error.name, "FlareError", String(error));
      assert.match(error.message, pattern);
      return true;
    });
  };
  await fails(() => serveRuns(runs, { port: server.port }), new RegExp(`port ${server.port} on 127\\.0\\.0\\.1 is in use`));
  await fails(() => serveRuns(runs, { port: 70000 }), /port must be an integer from 0 to 65535/);
  await fails(() => serveRuns(runs, { ports: 1 } as never), /unknown option "ports" \(did you mean "port"\?\)/);
  await fails(() => serveRuns(path.join(base, "missing")), /runs folder .*missing does not exist/);
  await fails(() => serveRuns(path.join(base, "secret.txt"), { port: 0 }), /is not a folder/);
  await fails(() => serveRuns(runs, { port: 0, host: "203.0.113.7" }), /cannot listen on host 203\.0\.113\.7/);
  const bad = (args: string[], pattern: RegExp) => assert.throws(() => parseCommandLine(args), (error: Error) => error.name === "FlareError" && pattern.test(error.message));
  bad(["serve", "--port", "http"], /--port must be an integer/);
  bad(["serve", "--port", "65536"], /--port must be an integer ≤ 65535/);
  bad(["serve", "--ports", "1"], /unknown flag --ports \(did you mean --port\?\)/);
  bad(["serve", "a", "b"], /unexpected argument 'b'/);
  bad(["serve", "--host"], /--host needs a value/);
});

test("flare serve: prints its address, serves, stops on SIGTERM; a port in use fails naming it", async () => {
  const cli = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));
  const busy = spawn(process.execPath, [cli, "serve", runs, "--port", String(server.port)], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  busy.stderr.on("data", (c: Buffer) => { stderr += c; });
  const busyCode = await new Promise<number | null>((resolve) => busy.on("exit", resolve));
  assert.equal(busyCode, 1);
  assert.match(stderr, new RegExp(`flare serve: port ${server.port} on 127\\.0\\.0\\.1 is in use`));
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");

  const child = spawn(process.execPath, [cli, "serve", runs, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`no address printed in 60 s: ${out}`)), 60_000);
      child.stdout.on("data", (c: Buffer) => {
        out += c;
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m) { clearTimeout(timer); resolve(m[0]); }
      });
      child.on("exit", (code) => reject(new Error(`flare serve exited (${code}): ${out}`)));
    });
    const reply = await fetch(`${url}api/runs`);
    assert.equal(reply.status, 200);
    assert.deepEqual(((await reply.json()) as { runs: { name: string }[] }).runs.map((r) => r.name), ["a", "demo/b", "odd name #1?"]);
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    child.kill("SIGTERM");
    assert.equal(await exited, 0, "a clean stop");
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
