// The viewer's page, served by flare itself (nothing loads from elsewhere): one
// HTML shell, its script (plain browser JavaScript: the runs list and a run's
// live curves, images and config) and its stylesheet. Kept as strings so the
// build needs no copy step; the script is checked to parse by tests/serve_http.test.ts.

export const INDEX_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flare runs</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<div id="app"></div>
<script src="/static/app.js"></script>
</body>
</html>
`;

export const FAVICON_SVG = String.raw`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 1c1 3 5 5 5 9a5 5 0 0 1-10 0c0-2 1-3 2-4 0 2 1 3 2 3-1-3 0-6 1-8z" fill="#e8590c"/></svg>
`;

export const APP_CSS = String.raw`:root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9; --card: #fff; --accent: #e8590c; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 12px; padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
header h1 a { color: var(--accent); text-decoration: none; }
main { padding: 20px 24px; max-width: 1400px; }
a { color: #1c64d8; }
.status { color: var(--muted); font-size: 12px; margin-left: auto; }
.status.ok { color: #2b8a3e; }
.status.warn { color: #c92a2a; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #eef0f3; color: var(--muted); font-size: 12px; }
.badge.live { background: #d3f9d8; color: #2b8a3e; }
table.runs { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
table.runs th, table.runs td { text-align: left; padding: 7px 12px; border-bottom: 1px solid var(--line); }
table.runs th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; white-space: pre; }
.empty { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin-bottom: 16px; }
.card h2 { margin: 0 0 8px; font-size: 14px; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 16px; }
.charts .card { margin-bottom: 0; }
.charts { margin-bottom: 16px; }
.plot { position: relative; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { font-size: 11px; fill: var(--muted); font-family: system-ui, sans-serif; }
svg.chart .grid { stroke: #eef0f3; }
svg.chart .axis, svg.chart .tick { stroke: #98a2b3; }
svg.chart .series { fill: none; stroke-width: 1.8; stroke-linejoin: round; }
svg.chart .cursor { stroke: #98a2b3; stroke-dasharray: 3 3; }
.tip { position: absolute; top: 8px; right: 20px; background: rgba(255,255,255,.94); border: 1px solid var(--line); border-radius: 4px; padding: 4px 8px; font: 12px ui-monospace, monospace; white-space: pre; pointer-events: none; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font: 12px ui-monospace, "DejaVu Sans Mono", monospace; }
.swatch { display: inline-block; width: 12px; height: 3px; margin-right: 5px; vertical-align: middle; }
.c0 { background: #1f77b4; } .c1 { background: #ff7f0e; } .c2 { background: #2ca02c; } .c3 { background: #d62728; } .c4 { background: #9467bd; }
.c5 { background: #8c564b; } .c6 { background: #e377c2; } .c7 { background: #17becf; } .c8 { background: #bcbd22; } .c9 { background: #7f7f7f; }
table.latest th { text-align: left; font-weight: 500; color: var(--muted); padding: 2px 16px 2px 0; }
table.latest td { font-family: ui-monospace, monospace; }
.gallery { display: flex; flex-wrap: wrap; gap: 12px; }
.gallery figure { margin: 0; max-width: 420px; }
.gallery img { max-width: 100%; max-height: 360px; image-rendering: pixelated; border: 1px solid var(--line); display: block; background: #fafafa; }
.gallery figcaption { font-size: 12px; color: var(--muted); margin-top: 2px; word-break: break-all; }
pre.config { margin: 0; font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; max-height: 420px; overflow: auto; }
`;

export const APP_JS = String.raw`"use strict";
// flare serve's page: the runs list (/) and a run (/run/NAME): curves drawn as
// SVG from the rows the server streams (Server-Sent Events), images, config.
// Plain DOM, no framework, nothing loaded from elsewhere; text goes in as text.
(function () {
  var COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
  var SVG = "http://www.w3.org/2000/svg";
  var MAX_POINTS = 4000; // more rows than this are thinned when drawn
  var app = document.getElementById("app");

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    (children || []).forEach(function (c) { if (c !== null && c !== undefined) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function encodeName(name) { return name.split("/").map(encodeURIComponent).join("/"); }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v !== "number" || !isFinite(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
    if (Number.isInteger(v)) return String(v);
    return v.toPrecision(4);
  }
  function ago(ms) {
    var s = Math.max(0, (Date.now() - ms) / 1000);
    if (s < 60) return Math.round(s) + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
  }
  /** Keys that are not curves: counters, the learning rate, throughput. */
  function isCurve(k) { return k !== "epoch" && k !== "step" && k !== "lr" && !/_per_s$/.test(k) && !/^(time|seconds|elapsed)/.test(k); }

  // ---- the runs list ------------------------------------------------------
  function listPage() {
    document.title = "flare · runs";
    var status = el("span", { class: "status" }, ["loading…"]);
    var body = el("tbody");
    var table = el("table", { class: "runs" }, [
      el("thead", {}, [el("tr", {}, ["run", "state", "epochs", "last epoch", "images", "updated"].map(function (h) { return el("th", {}, [h]); }))]),
      body]);
    var empty = el("p", { class: "empty", hidden: "" });
    app.appendChild(el("header", {}, [el("h1", {}, ["flare runs"]), status]));
    app.appendChild(el("main", {}, [table, empty]));
    function render(data) {
      status.textContent = data.root;
      clear(body);
      empty.hidden = data.runs.length > 0;
      // Serving one run's own folder: its parent is the runs folder.
      empty.textContent = data.rootIsRun ? "This folder is a run itself: serve the folder that holds it (flare serve PARENT_FOLDER)."
        : "No runs yet: folders with a config.json or metrics.jsonl appear here (flare train … --runs-dir DIR).";
      data.runs.forEach(function (r) {
        var last = r.last ? Object.keys(r.last).filter(isCurve).map(function (k) { return k + " " + fmt(r.last[k]); }).join("  ") : "";
        body.appendChild(el("tr", { "data-run": r.name }, [
          el("td", {}, [el("a", { href: "/run/" + encodeName(r.name) }, [r.name])]),
          el("td", {}, [el("span", { class: r.live ? "badge live" : "badge" }, [r.live ? "training" : "idle"])]),
          el("td", { class: "num" }, [String(r.epochs)]),
          el("td", { class: "mono" }, [last]),
          el("td", { class: "num" }, [String(r.images)]),
          el("td", {}, [r.mtimeMs ? ago(r.mtimeMs) : ""])]));
      });
    }
    function refresh() {
      fetch("/api/runs").then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(render, function (e) { status.textContent = "cannot reach the server (" + e.message + ")"; });
    }
    refresh();
    setInterval(refresh, 3000);
  }

  // ---- a chart ------------------------------------------------------------
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) { hi = lo + 1; }
    var span = hi - lo, step = Math.pow(10, Math.floor(Math.log10(span / n)));
    var err = span / n / step;
    if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
    var ticks = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    ticks.step = step;
    return ticks;
  }
  /** A tick's label: as many decimals as the tick spacing needs. */
  function tickLabel(t, step) {
    if (step < 1e-4 || Math.abs(t) >= 1e6) return t.toExponential(1);
    return t.toFixed(Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9))));
  }

  /** A chart of rows' keys against row[xKey] (+ xOffset), redrawn by update(rows, keys). */
  function Chart(title, xKey, xLabel, xOffset) {
    var W = 640, H = 280, M = { l: 56, r: 16, t: 12, b: 36 };
    this.svg = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "aria-label": title, "data-chart": xKey });
    this.legend = el("div", { class: "legend" });
    this.tip = el("div", { class: "tip", hidden: "" });
    this.box = el("section", { class: "card chart-card", hidden: "" }, [el("h2", {}, [title]), el("div", { class: "plot" }, [this.svg, this.tip]), this.legend]);
    var self = this;
    this.update = function (rows, keys) {
      self.rows = rows; self.keys = keys;
      self.box.hidden = !(rows.length && keys.length);
      clear(self.svg); clear(self.legend);
      if (self.box.hidden) return;
      var xs = rows.map(function (r) { return r[xKey] + xOffset; });
      var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
      if (x1 <= x0) { x0 -= 1; x1 += 1; }
      var y0 = Infinity, y1 = -Infinity;
      rows.forEach(function (r) { keys.forEach(function (k) { var v = r[k]; if (typeof v === "number" && isFinite(v)) { if (v < y0) y0 = v; if (v > y1) y1 = v; } }); });
      if (!isFinite(y0)) { y0 = 0; y1 = 1; }
      var pad = (y1 - y0) * 0.06 || Math.abs(y0) * 0.1 || 1;
      y0 -= pad; y1 += pad;
      var px = function (x) { return M.l + (x - x0) / (x1 - x0) * (W - M.l - M.r); };
      var py = function (y) { return H - M.b - (y - y0) / (y1 - y0) * (H - M.t - M.b); };
      self.px = px; self.x0 = x0; self.x1 = x1; self.W = W; self.M = M;
      var axes = svg("g", { class: "axes" });
      var yTicks = niceTicks(y0, y1, 5), xTicks = niceTicks(x0, x1, 6);
      yTicks.forEach(function (t) {
        axes.appendChild(svg("line", { x1: M.l, x2: W - M.r, y1: py(t), y2: py(t), class: "grid" }));
        var label = svg("text", { x: M.l - 6, y: py(t) + 4, "text-anchor": "end" }); label.textContent = tickLabel(t, yTicks.step); axes.appendChild(label);
      });
      xTicks.forEach(function (t) {
        if (xKey === "epoch" && !Number.isInteger(t)) return;
        axes.appendChild(svg("line", { x1: px(t), x2: px(t), y1: H - M.b, y2: H - M.b + 4, class: "tick" }));
        var label = svg("text", { x: px(t), y: H - M.b + 16, "text-anchor": "middle" }); label.textContent = tickLabel(t, xTicks.step); axes.appendChild(label);
      });
      axes.appendChild(svg("line", { x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b, class: "axis" }));
      axes.appendChild(svg("line", { x1: M.l, x2: M.l, y1: M.t, y2: H - M.b, class: "axis" }));
      var xl = svg("text", { x: (M.l + W - M.r) / 2, y: H - 4, "text-anchor": "middle", class: "xlabel" }); xl.textContent = xLabel; axes.appendChild(xl);
      self.svg.appendChild(axes);
      var stride = Math.max(1, Math.ceil(rows.length / MAX_POINTS));
      keys.forEach(function (k, i) {
        var color = COLORS[i % COLORS.length], pts = [], lastValue = null;
        for (var j = 0; j < rows.length; j++) {
          var v = rows[j][k];
          if (typeof v !== "number" || !isFinite(v)) continue;
          lastValue = v;
          if (j % stride === 0 || j === rows.length - 1) pts.push(px(xs[j]).toFixed(1) + "," + py(v).toFixed(1));
        }
        self.svg.appendChild(svg("polyline", { points: pts.join(" "), stroke: color, class: "series", "data-key": k }));
        if (pts.length <= 60) pts.forEach(function (p) { var xy = p.split(","); self.svg.appendChild(svg("circle", { cx: xy[0], cy: xy[1], r: 2.5, fill: color })); });
        self.legend.appendChild(el("span", { class: "key" }, [el("i", { class: "swatch c" + (i % COLORS.length) }), k + " " + fmt(lastValue)]));
      });
      self.cursor = svg("line", { y1: M.t, y2: H - M.b, class: "cursor", visibility: "hidden" });
      self.svg.appendChild(self.cursor);
    };
    // Hover: the values at the nearest x.
    this.svg.addEventListener("mousemove", function (e) {
      if (!self.rows || !self.rows.length) return;
      var box = self.svg.getBoundingClientRect();
      var x = self.x0 + ((e.clientX - box.left) * self.W / box.width - self.M.l) / (self.W - self.M.l - self.M.r) * (self.x1 - self.x0);
      var best = 0, bestD = Infinity;
      for (var j = 0; j < self.rows.length; j++) { var d = Math.abs(self.rows[j][xKey] + xOffset - x); if (d < bestD) { bestD = d; best = j; } }
      var row = self.rows[best], cx = self.px(row[xKey] + xOffset);
      self.cursor.setAttribute("x1", cx); self.cursor.setAttribute("x2", cx); self.cursor.setAttribute("visibility", "visible");
      self.tip.textContent = xLabel + " " + fmt(row[xKey] + xOffset) + "\n" + self.keys.map(function (k) { return k + " " + fmt(row[k]); }).join("\n");
      self.tip.hidden = false;
    });
    this.svg.addEventListener("mouseleave", function () { self.tip.hidden = true; if (self.cursor) self.cursor.setAttribute("visibility", "hidden"); });
  }

  function curveKeys(rows) {
    var seen = {};
    rows.forEach(function (r) { for (var k in r) if (isCurve(k) && typeof r[k] === "number") seen[k] = true; });
    return Object.keys(seen);
  }

  // ---- a run --------------------------------------------------------------
  function runPage(encoded) {
    var name = encoded.split("/").map(decodeURIComponent).join("/");
    document.title = "flare · " + name;
    var badge = el("span", { class: "badge", id: "live" }, ["…"]);
    var conn = el("span", { class: "status", id: "connection" }, ["connecting…"]);
    app.appendChild(el("header", {}, [el("h1", {}, [el("a", { href: "/" }, ["runs"]), " / ", name]), badge, conn]));
    var steps = new Chart("Loss per step", "step", "step", 0);
    var epochLoss = new Chart("Loss per epoch", "epoch", "epoch", 1);
    var epochMetrics = new Chart("Metrics per epoch", "epoch", "epoch", 1);
    var latest = el("section", { class: "card", hidden: "" }, [el("h2", {}, ["Last epoch"]), el("table", { class: "latest" })]);
    var gallery = el("div", { class: "gallery" });
    var images = el("section", { class: "card", hidden: "" }, [el("h2", {}, ["Images"]), gallery]);
    var configPre = el("pre", { class: "config" });
    var config = el("section", { class: "card", hidden: "" }, [el("h2", {}, ["config.json"]), configPre]);
    app.appendChild(el("main", {}, [el("div", { class: "charts" }, [steps.box, epochLoss.box, epochMetrics.box, latest]), images, config]));

    var data = { steps: [], metrics: [] }, pending = false;
    function redraw() {
      pending = false;
      steps.update(data.steps, curveKeys(data.steps));
      var keys = curveKeys(data.metrics);
      epochLoss.update(data.metrics, keys.filter(function (k) { return /loss/.test(k); }));
      epochMetrics.update(data.metrics, keys.filter(function (k) { return !/loss/.test(k); }));
      var last = data.metrics[data.metrics.length - 1], table = latest.querySelector("table");
      clear(table);
      latest.hidden = !last;
      if (last) Object.keys(last).forEach(function (k) { table.appendChild(el("tr", {}, [el("th", {}, [k]), el("td", { class: "num" }, [fmt(k === "epoch" ? last[k] + 1 : last[k])])])); });
    }
    function later() { if (!pending) { pending = true; requestAnimationFrame(redraw); } }
    function showImages(list) {
      images.hidden = list.length === 0;
      var shown = {};
      Array.prototype.forEach.call(gallery.children, function (fig) { shown[fig.getAttribute("data-path")] = fig; });
      list.forEach(function (im) {
        var src = "/files/" + encodeName(name) + "/" + encodeName(im.path) + "?v=" + Math.round(im.mtimeMs);
        var fig = shown[im.path];
        if (fig) { delete shown[im.path]; var img = fig.querySelector("img"); if (img.getAttribute("src") !== src) img.setAttribute("src", src); return; }
        fig = el("figure", { "data-path": im.path }, [el("a", { href: src }, [el("img", { src: src, alt: im.path, loading: "lazy" })]), el("figcaption", {}, [im.path])]);
        gallery.appendChild(fig);
      });
      for (var gone in shown) gallery.removeChild(shown[gone]);
    }
    var source = new EventSource("/api/stream/" + encoded);
    source.addEventListener("open", function () { conn.textContent = "streaming"; conn.className = "status ok"; });
    source.addEventListener("error", function () { conn.textContent = "reconnecting…"; conn.className = "status warn"; });
    source.addEventListener("rows", function (e) {
      var d = JSON.parse(e.data);
      if (d.reset) data[d.file] = [];
      Array.prototype.push.apply(data[d.file], d.rows);
      later();
    });
    source.addEventListener("images", function (e) { showImages(JSON.parse(e.data)); });
    source.addEventListener("config", function (e) {
      var d = JSON.parse(e.data);
      config.hidden = d.text === null;
      var text = d.text || "";
      try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (err) { /* shown as written */ }
      configPre.textContent = text;
    });
    source.addEventListener("live", function (e) {
      var live = JSON.parse(e.data);
      badge.textContent = live ? "training" : "idle";
      badge.className = live ? "badge live" : "badge";
    });
    source.addEventListener("gone", function () { conn.textContent = "this run is gone"; conn.className = "status warn"; source.close(); });
  }

  var path = location.pathname;
  var nothing = function () { app.appendChild(el("p", {}, ["Nothing here: ", el("a", { href: "/" }, ["the runs"])])); };
  if (path === "/" || path === "/index.html") listPage();
  else if (path.indexOf("/run/") === 0 && path.length > 5) {
    var encoded = path.slice(5).replace(/\/+$/, "");
    try { encoded.split("/").map(decodeURIComponent); } catch (err) { encoded = null; }
    if (encoded) runPage(encoded); else nothing();
  } else nothing();
})();
`;
