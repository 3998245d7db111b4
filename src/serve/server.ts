// flare serve: a small read-only web viewer of a runs folder on Node's http
// module. Training runs in other processes and writes run folders; the server
// only reads them, so nothing it does waits on a training step. Live curves
// come from polling each watched run's logs (size and inode, see tail.ts) and
// pushing the new rows to the page as Server-Sent Events.
//
// Routes (GET and HEAD only):
//   /, /run/NAME              the page (client.ts draws the list or the run)
//   /static/app.js|app.css|favicon.svg
//   /api/runs                 the runs, as JSON
//   /api/run/NAME             a run: config, images, live
//   /api/rows/NAME?metrics=C&steps=C   rows after cursors C (JSON; for polling clients and tests)
//   /api/stream/NAME          Server-Sent Events: rows, images, config, live
//   /files/PATH               a file of a run (images, json, jsonl, txt), never outside the folder
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { isIP } from "node:net";
import * as path from "node:path";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import { APP_CSS, APP_JS, FAVICON_SVG, INDEX_HTML } from "./client.js";
import { openRegularFile, realRoot, resolveInside, splitUrlPath, type Refusal } from "./paths.js";
import { isLive, isRunDir, listImages, listRuns, readConfig, runName } from "./runs.js";
import { cursorToken, parseCursor, readRows, type Cursor } from "./tail.js";

export interface ServeOptions {
  /** TCP port (default 6006, TensorBoard's; 0 picks a free one). */
  port?: number;
  /** Address to listen on (default 127.0.0.1: this machine only). */
  host?: string;
}

export interface RunsServer {
  /** The address to open ("http://127.0.0.1:6006/"). */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The runs folder's real path. */
  readonly root: string;
  readonly server: Server;
  /** Stops listening and ends every open connection (live streams included). */
  close(): Promise<void>;
}

export const DEFAULT_PORT = 6006;
export const DEFAULT_HOST = "127.0.0.1";
/** How often a live stream looks at its run's files. */
const POLL_MS = 500;
/** A comment line this often keeps proxies and idle timers from closing a quiet stream. */
const HEARTBEAT_TICKS = 30;

/** Files /files/ serves, by extension, with their types: what a run writes for people to look at. */
const TYPES: Record<string, string> = {
  ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif",
  ".json": "application/json; charset=utf-8", ".jsonl": "text/plain; charset=utf-8", ".txt": "text/plain; charset=utf-8",
};

const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** Files are data, never a page that runs in the viewer's origin. */
const FILE_CSP = "default-src 'none'; img-src 'self'; sandbox; frame-ancestors 'none'";

const STATUS_TEXT: Record<Refusal, [number, string]> = { forbidden: [403, "forbidden"], missing: [404, "not found"], bad: [400, "bad request"] };

function checkServeOptions(dir: unknown, options: ServeOptions | undefined): { port: number; host: string } {
  const what = "serveRuns()";
  if (typeof dir !== "string" || dir === "") throw new FlareError(`${what}: the runs folder must be a non-empty string, got ${typeof dir === "string" ? "''" : typeof dir}`, "E_TYPE");
  const { port = DEFAULT_PORT, host = DEFAULT_HOST } = checkOptions(options, ["port", "host"], what);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FlareError(`${what}: port must be an integer from 0 to 65535, got ${String(port)}`, "E_ARGUMENT");
  if (typeof host !== "string" || host === "") throw new FlareError(`${what}: host must be a non-empty string (an address such as 127.0.0.1), got ${String(host)}`, "E_ARGUMENT");
  let st;
  try { st = statSync(dir); } catch { throw new FlareError(`${what}: the runs folder ${dir} does not exist (train something first, or name the folder: flare serve DIR)`, "E_IO"); }
  if (!st.isDirectory()) throw new FlareError(`${what}: ${dir} is not a folder; give the folder that holds the run folders`, "E_IO");
  return { port, host };
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);
function isLoopback(host: string): boolean { return LOOPBACK_NAMES.has(host) || host.startsWith("127.") || host.endsWith(".localhost"); }

/** The Host header's name without its port. */
function hostName(header: string | undefined): string {
  if (!header) return "";
  if (header.startsWith("[")) return header.slice(0, header.indexOf("]") + 1).toLowerCase();
  return header.replace(/:\d*$/, "").toLowerCase();
}

/**
 * Serves the viewer of the runs under `dir` until close(); resolves once it
 * listens. A port in use or an address that is not this machine's is a
 * FlareError naming it.
 */
export async function serveRuns(dir: string, options?: ServeOptions): Promise<RunsServer> {
  const { port, host } = checkServeOptions(dir, options);
  const root = realRoot(dir);
  const streams = new Set<() => void>();
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, req, 500, "text/plain; charset=utf-8", "internal error");
      else res.destroy();
    });
  });
  // A request's socket idles at most this long (a stream writes a heartbeat well within it).
  server.keepAliveTimeout = 5000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return send(res, req, 405, "text/plain; charset=utf-8", "only GET and HEAD");
    }
    // Bound to this machine, it answers only to this machine's names (a web page elsewhere
    // cannot reach it through a DNS name that points here).
    if (isLoopback(host) && !isLoopback(hostName(req.headers.host)) && hostName(req.headers.host) !== host.toLowerCase())
      return send(res, req, 403, "text/plain; charset=utf-8", "forbidden host");
    const url = req.url ?? "/";
    const q = url.search(/[?#]/);
    const raw = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? "" : url.slice(q + 1).split("#")[0]);
    if (!raw.startsWith("/")) return send(res, req, 400, "text/plain; charset=utf-8", "bad request");
    if (raw === "/" || raw === "/index.html" || raw.startsWith("/run/")) return send(res, req, 200, "text/html; charset=utf-8", INDEX_HTML, PAGE_CSP);
    if (raw === "/static/app.js") return send(res, req, 200, "text/javascript; charset=utf-8", APP_JS);
    if (raw === "/static/app.css") return send(res, req, 200, "text/css; charset=utf-8", APP_CSS);
    if (raw === "/static/favicon.svg") return send(res, req, 200, "image/svg+xml", FAVICON_SVG, FILE_CSP);
    if (raw === "/favicon.ico") { res.writeHead(204); res.end(); return; }
    if (raw === "/api/runs") return sendJson(res, req, { root, rootIsRun: await isRunDir(root), runs: await listRuns(root) });
    for (const [prefix, route] of [["/api/run/", runInfo], ["/api/rows/", rows], ["/api/stream/", stream]] as const) {
      if (!raw.startsWith(prefix)) continue;
      const run = await resolveRun(raw.slice(prefix.length));
      if (!run.ok) return refuse(res, req, run.why);
      return route(req, res, run.dir, query);
    }
    if (raw.startsWith("/files/")) return sendFile(req, res, raw.slice("/files/".length));
    return refuse(res, req, "missing");
  }

  /** A run folder named by a URL path, or why not. */
  async function resolveRun(rawName: string): Promise<{ ok: true; dir: string } | { ok: false; why: Refusal }> {
    const split = splitUrlPath(rawName.replace(/\/$/, ""));
    if (!split.ok) return split;
    if (split.segments.length === 0) return { ok: false, why: "missing" };
    const resolved = await resolveInside(root, split.segments);
    if (!resolved.ok) return resolved;
    try { if (!(await stat(resolved.file)).isDirectory()) return { ok: false, why: "missing" }; } catch { return { ok: false, why: "missing" }; }
    if (resolved.file === root || !(await isRunDir(resolved.file))) return { ok: false, why: "missing" };
    return { ok: true, dir: resolved.file };
  }

  async function runInfo(req: IncomingMessage, res: ServerResponse, runDir: string): Promise<void> {
    const config = await readConfig(root, runDir);
    sendJson(res, req, { name: runName(root, runDir), live: isLive(runDir), config: config?.text ?? null, images: await listImages(runDir) });
  }

  async function rows(req: IncomingMessage, res: ServerResponse, runDir: string, query: URLSearchParams): Promise<void> {
    const out: Record<string, unknown> = { live: isLive(runDir) };
    for (const file of ["metrics", "steps"]) {
      const token = query.get(file);
      const cursor = parseCursor(token);
      if (token !== null && token !== "" && !cursor) return send(res, req, 400, "text/plain; charset=utf-8", `bad cursor for ${file}: expected INODE-OFFSET`);
      const r = await readRows(root, path.join(runDir, `${file}.jsonl`), cursor);
      out[file] = { rows: r.rows, next: cursorToken(r.cursor), reset: r.reset, skipped: r.skipped };
    }
    sendJson(res, req, out);
  }

  /** The run as Server-Sent Events: everything so far (each log's first event resets the page's copy), then what changes. */
  async function stream(req: IncomingMessage, res: ServerResponse, runDir: string): Promise<void> {
    res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", Connection: "keep-alive" });
    if (req.method === "HEAD") { res.end(); return; }
    let closed = false, timer: NodeJS.Timeout | undefined, ticks = 0;
    const stop = () => { closed = true; if (timer) clearTimeout(timer); streams.delete(stop); if (!res.writableEnded) res.end(); };
    streams.add(stop);
    req.on("close", stop);
    res.on("error", stop);
    const cursors: Record<string, Cursor | undefined> = { metrics: undefined, steps: undefined };
    const fresh: Record<string, boolean> = { metrics: true, steps: true };
    let images = "", configMtime = -1, live: boolean | undefined;
    /** Writes one event; waits while the page is slow to read (a long backlog). */
    const emit = async (event: string, data: unknown): Promise<void> => {
      if (closed) return;
      if (res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)) return;
      await new Promise<void>((resolve) => { res.once("drain", resolve); res.once("close", resolve); });
    };
    const tick = async (): Promise<void> => {
      if (closed) return;
      try {
        try { await stat(runDir); } catch { await emit("gone", {}); stop(); return; }
        for (const file of ["metrics", "steps"]) {
          for (let chunk = 0; chunk < 64 && !closed; chunk++) {
            const r = await readRows(root, path.join(runDir, `${file}.jsonl`), cursors[file]);
            const reset = r.reset || fresh[file];
            const moved = cursors[file] === undefined || r.cursor.offset !== cursors[file]!.offset || r.cursor.ino !== cursors[file]!.ino;
            cursors[file] = r.cursor;
            if (r.rows.length || reset) await emit("rows", { file, rows: r.rows, reset });
            fresh[file] = false;
            if (!moved || r.rows.length === 0) break;
          }
        }
        const nowLive = isLive(runDir);
        if (nowLive !== live) { live = nowLive; await emit("live", live); }
        // Images and config change less often than logs: every other tick.
        if (ticks % 2 === 0) {
          const list = await listImages(runDir);
          const signature = JSON.stringify(list);
          if (signature !== images) { images = signature; await emit("images", list); }
          let mtime = 0;
          try { mtime = (await stat(path.join(runDir, "config.json"))).mtimeMs; } catch { mtime = 0; }
          if (mtime !== configMtime) {
            configMtime = mtime;
            await emit("config", { text: (await readConfig(root, runDir))?.text ?? null });
          }
        }
        if (++ticks % HEARTBEAT_TICKS === 0 && !closed) res.write(": heartbeat\n\n");
      } catch { /* a file vanished mid-read: the next tick looks again */ }
      if (!closed) timer = setTimeout(() => { void tick(); }, POLL_MS);
    };
    res.write("retry: 2000\n\n");
    await tick();
  }

  async function sendFile(req: IncomingMessage, res: ServerResponse, rawPath: string): Promise<void> {
    const split = splitUrlPath(rawPath);
    if (!split.ok) return refuse(res, req, split.why);
    const resolved = await resolveInside(root, split.segments);
    if (!resolved.ok) return refuse(res, req, resolved.why);
    const type = TYPES[path.extname(resolved.file).toLowerCase()];
    if (!type) return refuse(res, req, "missing");
    const opened = await openRegularFile(resolved.file);
    if (!opened) return refuse(res, req, "missing");
    res.writeHead(200, {
      "Content-Type": type, "Content-Length": opened.size, "Cache-Control": "no-cache",
      "Last-Modified": new Date(opened.mtimeMs).toUTCString(), "Content-Security-Policy": FILE_CSP, "X-Content-Type-Options": "nosniff",
    });
    if (req.method === "HEAD") { await opened.handle.close(); res.end(); return; }
    // At most the size stat saw: a log growing meanwhile must not overrun Content-Length.
    const body = opened.handle.createReadStream({ start: 0, end: Math.max(0, opened.size - 1), autoClose: true });
    if (opened.size === 0) { body.destroy(); res.end(); return; }
    body.on("error", () => res.destroy());
    body.pipe(res);
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, host, port));
    server.once("error", onError);
    server.listen(port, host, () => { server.off("error", onError); resolve(); });
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  const shown = isIP(host) === 6 ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${bound}/`, port: bound, host, root, server,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const stop of [...streams]) stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): FlareError {
  switch (error.code) {
    case "EADDRINUSE":
      return new FlareError(`flare serve: port ${port} on ${host} is in use (another flare serve or TensorBoard?); choose another with --port`, "E_IO");
    case "EACCES":
      return new FlareError(`flare serve: not allowed to listen on port ${port} (ports below 1024 need privileges); choose another with --port`, "E_IO");
    case "EADDRNOTAVAIL": case "ENOTFOUND": case "EAI_AGAIN":
      return new FlareError(`flare serve: cannot listen on host ${host}: not an address of this machine (${error.code}); use 127.0.0.1 or one of this machine's addresses`, "E_IO");
    default:
      return new FlareError(`flare serve: cannot listen on ${host}:${port}: ${error.code ?? error.message}`, "E_IO");
  }
}

const COMMON_HEADERS = { "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY" };

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string, csp?: string): void {
  const bytes = Buffer.from(body, "utf8");
  res.writeHead(status, { ...COMMON_HEADERS, "Content-Type": type, "Content-Length": bytes.length, "Cache-Control": "no-store", ...(csp ? { "Content-Security-Policy": csp } : {}) });
  res.end(req.method === "HEAD" ? undefined : bytes);
}

function sendJson(res: ServerResponse, req: IncomingMessage, value: unknown): void {
  send(res, req, 200, "application/json; charset=utf-8", JSON.stringify(value));
}

/** A refusal says only its status: never a path or a file's content. */
function refuse(res: ServerResponse, req: IncomingMessage, why: Refusal): void {
  const [status, text] = STATUS_TEXT[why];
  send(res, req, status, "text/plain; charset=utf-8", text);
}
