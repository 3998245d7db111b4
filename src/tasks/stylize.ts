// `flare stylize`: neural style transfer from files to a file, with a progress
// bar, the three losses as it goes, intermediate images every N steps and,
// optionally, the loss curves as an SVG picture.
import * as path from "node:path";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import { writeFileAtomic } from "../io/safetensors.js";
import { makeProgress, type OutputMode } from "../engine/progress.js";
import { SummaryWriter } from "../engine/tensorboard.js";
import { writeImage, formatOfPath } from "../vision/io.js";
import { styleTransfer, defaultSchedule, type StyleStep } from "../vision/style/index.js";

export interface StylizeOptions {
  content: string;
  style: string[];
  out: string;
  styleMix?: number[];
  /** "HxW" (300x450) or [h, w]. */
  size?: string | [number, number];
  /** Adam steps: the book's 500 with weights, 200 with the random filters (see RANDOM_SCHEDULE). */
  steps?: number;
  /** How many of the first steps run at half the size (0 with weights; ¾ of the steps with the random filters). */
  coarseSteps?: number;
  lr?: number;
  contentWeight?: number;
  styleWeight?: number;
  tvWeight?: number;
  weights?: string;
  seed?: number;
  /** Write the current image every N steps (0: never). */
  every?: number;
  /** The loss curves (content, style, TV per step, log scale) as SVG. */
  curves?: string;
  /** A folder for a TensorBoard event file: the losses per step (loss/content, ...) and the images. */
  tensorboard?: string;
  output?: OutputMode;
}

export const STYLIZE_OPTIONS = ["content", "style", "out", "styleMix", "size", "steps", "coarseSteps", "lr", "contentWeight", "styleWeight", "tvWeight", "weights", "seed", "every", "curves", "tensorboard", "output"];

/** "300x450" → [300, 450] (height × width). */
export function parseSize(text: string): [number, number] {
  const m = /^\s*(\d+)\s*[xX×,]\s*(\d+)\s*$/.exec(text) ?? /^\s*(\d+)\s*$/.exec(text);
  const h = m ? Number(m[1]) : NaN, w = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || !(h >= 1) || !(w >= 1)) throw new FlareError(`stylize: size must be HEIGHTxWIDTH with positive integers (e.g. 300x450), got '${text}'`, "E_ARGUMENT");
  return [h, w];
}

/** Where the image of step k goes: out.png → out.step0050.png. */
export function intermediatePath(out: string, step: number, steps: number): string {
  const ext = path.extname(out);
  return `${out.slice(0, out.length - ext.length)}.step${String(step).padStart(String(steps).length, "0")}${ext}`;
}

/**
 * The three loss curves, log-scaled as the book's Animator shows them; with
 * `fullSizeFrom` (the first step at the full size after a half-size phase) a
 * dashed line marks where the losses jump because the image and targets changed size.
 */
export function lossCurvesSvg(history: StyleStep[], width = 640, height = 300, fullSizeFrom?: number): string {
  const keys = ["content", "style", "tv"] as const;
  const colors = { content: "#1f77b4", style: "#ff7f0e", tv: "#2ca02c" };
  const m = { left: 60, right: 110, top: 20, bottom: 40 };
  const all = history.flatMap((r) => keys.map((k) => r[k])).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.floor(Math.log10(Math.min(...all, 1))), hi = Math.ceil(Math.log10(Math.max(...all, 1)));
  const n = Math.max(2, history.length);
  const px = (s: number) => m.left + ((s - 1) / (n - 1)) * (width - m.left - m.right);
  const py = (v: number) => height - m.bottom - ((Math.log10(v) - lo) / Math.max(1, hi - lo)) * (height - m.top - m.bottom);
  const grid: string[] = [];
  for (let e = lo; e <= hi; e++) {
    grid.push(`<line x1="${m.left}" y1="${py(10 ** e).toFixed(1)}" x2="${width - m.right}" y2="${py(10 ** e).toFixed(1)}" stroke="#ddd"/>` +
      `<text x="${m.left - 6}" y="${(py(10 ** e) + 4).toFixed(1)}" font-size="11" text-anchor="end" font-family="sans-serif">1e${e}</text>`);
  }
  const lines = keys.map((k, i) => {
    const points = history.filter((r) => r[k] > 0).map((r) => `${px(r.step).toFixed(1)},${py(r[k]).toFixed(1)}`).join(" ");
    return `<polyline fill="none" stroke="${colors[k]}" stroke-width="2" points="${points}"/>` +
      `<text x="${width - m.right + 10}" y="${m.top + 16 * i + 10}" fill="${colors[k]}" font-size="12" font-family="sans-serif">${k}</text>`;
  }).join("\n");
  const axes = `<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="#333"/>` +
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="#333"/>` +
    `<text x="${(width - m.right + m.left) / 2}" y="${height - 8}" font-size="12" font-family="sans-serif" text-anchor="middle">step (1..${history.length})</text>`;
  const switchLine = fullSizeFrom !== undefined && fullSizeFrom > 1 && fullSizeFrom <= history.length
    ? `\n<line x1="${px(fullSizeFrom - 0.5).toFixed(1)}" y1="${m.top}" x2="${px(fullSizeFrom - 0.5).toFixed(1)}" y2="${height - m.bottom}" stroke="#888" stroke-dasharray="4 3"/>` +
      `<text x="${(px(fullSizeFrom - 0.5) - 4).toFixed(1)}" y="${m.top + 10}" font-size="11" text-anchor="end" font-family="sans-serif" fill="#555">half size | full size</text>`
    : "";
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${grid.join("\n")}\n${axes}${switchLine}\n${lines}\n</svg>\n`;
}

export interface StylizeResult {
  out: string;
  steps: number;
  /** How many of the steps ran at half the size. */
  coarseSteps: number;
  features: string;
  final: StyleStep;
  gramDistance: { start: number; end: number; reduction: number };
  intermediates: string[];
  seconds: number;
  secondsPerStep: number;
}

/** Runs styleTransfer on image files and writes the result (and the intermediates, and the curves). */
export async function stylize(options: StylizeOptions): Promise<StylizeResult> {
  checkOptions(options, STYLIZE_OPTIONS, "stylize()");
  formatOfPath(options.out, "stylize: --out");  // an unknown extension fails before the work
  const size = typeof options.size === "string" ? parseSize(options.size) : options.size;
  const every = options.every ?? 0;
  if (!Number.isInteger(every) || every < 0) throw new FlareError(`stylize: every must be an integer ≥ 0, got ${String(every)}`, "E_ARGUMENT");
  const progress = makeProgress(options.output ?? "auto");
  const intermediates: string[] = [];
  // No file handle stays open between writes: a failed run leaves at most the unflushed queue unwritten.
  const tensorboard = options.tensorboard !== undefined ? new SummaryWriter(options.tensorboard) : undefined;
  const started = performance.now();
  const steps = defaultSchedule(options.weights !== undefined, options.steps).steps;
  progress.start(0, 1, steps);
  const result = await styleTransfer({
    content: options.content,
    style: options.style.length === 1 ? options.style[0] : options.style,
    ...(options.styleMix !== undefined ? { styleMix: options.styleMix } : {}),
    ...(size !== undefined ? { size } : {}),
    steps,
    ...(options.coarseSteps !== undefined ? { coarseSteps: options.coarseSteps } : {}),
    ...(options.lr !== undefined ? { lr: options.lr } : {}),
    ...(options.contentWeight !== undefined ? { contentWeight: options.contentWeight } : {}),
    ...(options.styleWeight !== undefined ? { styleWeight: options.styleWeight } : {}),
    ...(options.tvWeight !== undefined ? { tvWeight: options.tvWeight } : {}),
    ...(options.weights !== undefined ? { weights: options.weights } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    onStep: async (info) => {
      progress.step(info.step, { content: info.content, style: info.style, tv: info.tv });
      for (const k of ["content", "style", "tv", "total"] as const) tensorboard?.addScalar(`loss/${k}`, info[k], info.step);
      if (every > 0 && info.step % every === 0 && info.step < info.steps) {
        const file = intermediatePath(options.out, info.step, info.steps);
        const img = info.image();
        try { await writeImage(img, file); tensorboard?.addImage("image", img, info.step); } finally { img.dispose(); }
        intermediates.push(file);
        progress.message(`step ${info.step}: wrote ${file}`);
      }
    },
  });
  try {
    await writeImage(result.image, options.out);
    tensorboard?.addImage("image", result.image, steps);
  } finally {
    result.image.dispose();
  }
  if (options.curves) writeFileAtomic(options.curves, Buffer.from(lossCurvesSvg(result.history, 640, 300, result.coarseSteps > 0 ? result.coarseSteps + 1 : undefined)));
  tensorboard?.close();
  const seconds = (performance.now() - started) / 1000;
  const { start, end } = result.gramDistance;
  return {
    out: options.out, steps, coarseSteps: result.coarseSteps, features: result.features, final: result.final,
    gramDistance: { start, end, reduction: end > 0 ? start / end : Infinity },
    intermediates, seconds, secondsPerStep: steps > 0 ? seconds / steps : 0,
  };
}
