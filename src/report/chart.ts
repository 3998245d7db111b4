// Line charts as inline SVG for the report: one chart, several named series
// against a shared x (steps or epochs), linear or log y, ticks, a legend.
import { escapeHtml, formatNumber } from "./html.js";

export interface Series { name: string; points: [number, number][] }

export interface ChartOptions { title?: string; xLabel?: string; logY?: boolean; width?: number; height?: number }

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

/** Evenly spaced tick values covering [lo, hi] at a round step. */
function ticks(lo: number, hi: number, count = 5): number[] {
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / count, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** An SVG line chart of the series (points with a non-finite value, or ≤ 0 on a log axis, are left out). */
export function lineChart(series: Series[], options: ChartOptions = {}): string {
  const width = options.width ?? 520, height = options.height ?? 260;
  const logY = options.logY ?? false;
  const m = { left: 58, right: 140, top: options.title ? 26 : 12, bottom: 38 };
  const usable = series.map((s) => ({ name: s.name, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)) }))
    .filter((s) => s.points.length > 0);
  const xs = usable.flatMap((s) => s.points.map((p) => p[0]));
  const ys = usable.flatMap((s) => s.points.map((p) => (logY ? Math.log10(p[1]) : p[1])));
  let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { const d = Math.abs(y0) * 0.1 || 1; y0 -= d; y1 += d; }
  if (logY) { y0 = Math.floor(y0); y1 = Math.ceil(y1); }
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0)) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - (((logY ? Math.log10(y) : y) - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const text = (x: number, y: number, s: string, extra = "") => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="11" font-family="sans-serif"${extra}>${escapeHtml(s)}</text>`;
  const parts: string[] = [`<rect width="100%" height="100%" fill="white"/>`];
  if (options.title) parts.push(text(m.left, 16, options.title, ` font-weight="bold"`));
  const yTicks = logY ? Array.from({ length: y1 - y0 + 1 }, (_, i) => 10 ** (y0 + i)) : ticks(y0, y1);
  for (const v of yTicks) {
    parts.push(`<line x1="${m.left}" y1="${py(v).toFixed(1)}" x2="${width - m.right}" y2="${py(v).toFixed(1)}" stroke="#eee"/>`, text(m.left - 5, py(v) + 4, logY ? `1e${Math.round(Math.log10(v))}` : formatNumber(v), ` text-anchor="end"`));
  }
  const wholeX = xs.every(Number.isInteger);  // steps and epochs: no tick between two of them
  for (const v of ticks(x0, x1).filter((v) => !wholeX || Number.isInteger(v))) {
    parts.push(text(px(v), height - m.bottom + 14, formatNumber(v), ` text-anchor="middle"`));
  }
  parts.push(`<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="#333"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="#333"/>`);
  if (options.xLabel) parts.push(text((m.left + width - m.right) / 2, height - 6, options.xLabel, ` text-anchor="middle"`));
  usable.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    parts.push(pts.length > 1 ? `<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${pts.join(" ")}"/>` : "");
    // Few points (epochs): mark each one, so a one-epoch run still shows its value.
    if (pts.length <= 20) for (const p of pts) { const [cx, cy] = p.split(","); parts.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`); }
    parts.push(text(width - m.right + 10, m.top + 14 * i + 8, s.name, ` fill="${color}"`));
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${parts.join("")}</svg>`;
}
