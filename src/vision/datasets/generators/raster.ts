// The drawing under the data generators: a planar float RGB canvas, backgrounds
// cut from photos and textures (or painted from gradients and waves), and
// shapes given by signed distance functions, blended with one pixel of
// anti-aliasing. Plain JavaScript loops over typed arrays: a 256×256 image
// takes a few milliseconds.
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { FlareError } from "../../../errors.js";
import type { Generator } from "../../../tensor/index.js";
import { readImage } from "../../io.js";

/** A decoded picture to cut backgrounds (or textures) from: planar RGB bytes. */
export interface Source { name: string; width: number; height: number; data: Uint8Array; grey: boolean }

/** A planar float RGB image, values 0..255. */
export class Canvas {
  readonly data: Float32Array;
  constructor(readonly height: number, readonly width: number) {
    this.data = new Float32Array(3 * height * width);
  }
  /** The canvas as planar uint8 bytes (3×H×W), rounded and clamped. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.data.length);
    for (let i = 0; i < out.length; i++) { const v = this.data[i] + 0.5; out[i] = v <= 0 ? 0 : v >= 255 ? 255 : v; }
    return out;
  }
}

/** Where the bundled photos and textures are: FLARE_ROOT/assets/images, or next to the package. */
export function defaultAssetDir(): string | undefined {
  const candidates = [
    process.env.FLARE_ROOT ? path.join(process.env.FLARE_ROOT, "assets", "images") : "",
    fileURLToPath(new URL("../../../../../assets/images", import.meta.url)), // dist/src/vision/datasets/generators
    fileURLToPath(new URL("../../../../assets/images", import.meta.url)), // src/vision/datasets/generators
  ];
  return candidates.find((dir) => dir && existsSync(dir));
}

const PICTURE = /\.(jpe?g|png|webp)$/i;

/** Decodes the pictures (files, or every JPEG/PNG/WebP in the folders given) as RGB sources. */
export async function loadSources(paths: readonly string[], what: string): Promise<Source[]> {
  const files: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new FlareError(`${what}: background ${p} does not exist`, "E_IO");
    try {
      files.push(...readdirSync(p).filter((f) => PICTURE.test(f)).sort().map((f) => path.join(p, f)));
    } catch {
      files.push(p); // a file
    }
  }
  const sources: Source[] = [];
  for (const file of files) {
    const image = await readImage(file, { mode: "rgb" });
    const [, height, width] = image.shape;
    const data = image.dataSync() as Uint8Array;
    image.dispose();
    let grey = true;
    const plane = height * width;
    for (let i = 0; i < plane && grey; i += 7) grey = data[i] === data[plane + i] && data[i] === data[2 * plane + i];
    sources.push({ name: path.basename(file), width, height, data, grey });
  }
  return sources;
}

/** A small integer hash of (x, y, seed) → [0, 1), for per-pixel grain. */
export function hash01(x: number, y: number, seed: number): number {
  let h = Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1) ^ Math.imul(seed, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** A random RGB colour with each channel in [low, high). */
export function randomColor(g: Generator, low = 0, high = 256): [number, number, number] {
  return [g.uniform(low, high), g.uniform(low, high), g.uniform(low, high)];
}

/**
 * Fills the canvas with a background: with probability `photo` (when there are
 * sources) a random crop of a source, resized bilinearly, mirrored at random,
 * tinted (grey textures get a colour) and brightened or darkened; otherwise a
 * two-colour gradient with soft waves. Both get a little grain.
 */
export function paintBackground(canvas: Canvas, sources: readonly Source[], g: Generator, photo = 0.75): void {
  const { height: H, width: W, data } = canvas;
  const plane = H * W;
  const grainSeed = g.randint(0, 1 << 30);
  const grain = g.uniform(0, 3);
  if (sources.length > 0 && g.random() < photo) {
    const src = sources[g.randint(0, sources.length)];
    // A crop with the canvas's aspect ratio, 30..100% of the largest that fits.
    const fit = Math.min(src.height, (src.width * H) / W);
    const ch = fit * g.uniform(0.3, 1), cw = (ch * W) / H;
    const top = g.uniform(0, src.height - ch), left = g.uniform(0, src.width - cw);
    const mirror = g.random() < 0.5;
    const gains = src.grey ? [g.uniform(0.45, 1.25), g.uniform(0.45, 1.25), g.uniform(0.45, 1.25)] : [g.uniform(0.85, 1.15), g.uniform(0.85, 1.15), g.uniform(0.85, 1.15)];
    const bright = g.uniform(0.7, 1.2);
    const sp = src.width * src.height;
    for (let y = 0; y < H; y++) {
      const sy = Math.min(Math.max(top + ((y + 0.5) * ch) / H - 0.5, 0), src.height - 1);
      const y0 = Math.floor(sy), y1 = Math.min(y0 + 1, src.height - 1), fy = sy - y0;
      for (let x = 0; x < W; x++) {
        const xx = mirror ? W - 1 - x : x;
        const sx = Math.min(Math.max(left + ((xx + 0.5) * cw) / W - 0.5, 0), src.width - 1);
        const x0 = Math.floor(sx), x1 = Math.min(x0 + 1, src.width - 1), fx = sx - x0;
        const a = y0 * src.width + x0, b = y0 * src.width + x1, c = y1 * src.width + x0, d = y1 * src.width + x1;
        const n = (hash01(x, y, grainSeed) - 0.5) * grain;
        for (let k = 0; k < 3; k++) {
          const s = src.data, o = k * sp;
          const v = (s[o + a] * (1 - fx) + s[o + b] * fx) * (1 - fy) + (s[o + c] * (1 - fx) + s[o + d] * fx) * fy;
          data[k * plane + y * W + x] = v * gains[k] * bright + n;
        }
      }
    }
    return;
  }
  const c0 = randomColor(g, 20, 235), c1 = randomColor(g, 20, 235);
  const angle = g.uniform(0, 2 * Math.PI), ca = Math.cos(angle), sa = Math.sin(angle);
  // Waves amp·sin(fx·x + fy·y + phase) = amp·(sin(fx·x + phase)·cos(fy·y) + cos(fx·x + phase)·sin(fy·y)): tables per column and row.
  const waves = [0, 1, 2].map(() => {
    const fx = g.uniform(-0.08, 0.08), fy = g.uniform(-0.08, 0.08), phase = g.uniform(0, 6.3), amp = g.uniform(4, 18);
    const sx = new Float32Array(W), cx = new Float32Array(W), sy = new Float32Array(H), cy = new Float32Array(H);
    for (let x = 0; x < W; x++) { sx[x] = amp * Math.sin(fx * x + phase); cx[x] = amp * Math.cos(fx * x + phase); }
    for (let y = 0; y < H; y++) { sy[y] = Math.sin(fy * y); cy[y] = Math.cos(fy * y); }
    return { sx, cx, sy, cy };
  });
  const half = Math.max(H, W) / 2;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const t = Math.min(Math.max(0.5 + (((x - W / 2) * ca + (y - H / 2) * sa) / half) * 0.5, 0), 1);
    let wave = 0;
    for (const w of waves) wave += w.sx[x] * w.cy[y] + w.cx[x] * w.sy[y];
    const n = (hash01(x, y, grainSeed) - 0.5) * grain + wave;
    const p = y * W + x;
    for (let k = 0; k < 3; k++) data[k * plane + p] = c0[k] * (1 - t) + c1[k] * t + n;
  }
}

/** A placed shape: its square-ish frame on the canvas and the functions that draw it. */
export interface Stamp {
  /** The frame (pixels): the shape lives in local coordinates u, v ∈ [-1, 1] over it. */
  x: number; y: number; w: number; h: number;
  /** Signed distance in local units (negative inside). */
  sdf: (u: number, v: number) => number;
  /** The colour at a point inside (local coordinates and pixel). */
  color: (u: number, v: number, px: number, py: number, out: number[]) => void;
}

/** What a stamp covered: its tight box (pixels, xyxy, x2/y2 exclusive) and the pixels with coverage ≥ 0.5. */
export interface Coverage { box: [number, number, number, number] | null; area: number }

/**
 * Blends a stamp onto the canvas (one pixel of anti-aliasing) and reports the
 * pixels it covers at least half; `mark(p)` is called for each of them (a
 * label map writes its class there).
 */
export function stamp(canvas: Canvas, s: Stamp, mark?: (p: number) => void): Coverage {
  const { height: H, width: W, data } = canvas;
  const plane = H * W;
  const x0 = Math.max(0, Math.floor(s.x)), x1 = Math.min(W, Math.ceil(s.x + s.w));
  const y0 = Math.max(0, Math.floor(s.y)), y1 = Math.min(H, Math.ceil(s.y + s.h));
  const hw = s.w / 2, hh = s.h / 2, cx = s.x + hw, cy = s.y + hh;
  const unit = Math.min(hw, hh); // pixels per local unit (for anti-aliasing)
  const rgb = [0, 0, 0];
  let minX = Infinity, minY = Infinity, maxX = -1, maxY = -1, area = 0;
  for (let py = y0; py < y1; py++) {
    const v = (py + 0.5 - cy) / hh;
    for (let px = x0; px < x1; px++) {
      const u = (px + 0.5 - cx) / hw;
      const d = s.sdf(u, v) * unit;
      if (d >= 0.5) continue;
      const alpha = d <= -0.5 ? 1 : 0.5 - d;
      s.color(u, v, px, py, rgb);
      const p = py * W + px;
      for (let k = 0; k < 3; k++) data[k * plane + p] += (rgb[k] - data[k * plane + p]) * alpha;
      if (alpha >= 0.5) {
        area++;
        if (px < minX) minX = px;
        if (px > maxX) maxX = px;
        if (py < minY) minY = py;
        if (py > maxY) maxY = py;
        mark?.(p);
      }
    }
  }
  return { box: area > 0 ? [minX, minY, maxX + 1, maxY + 1] : null, area };
}

// Signed distance functions (Inigo Quilez's), in local units.

export function sdCircle(u: number, v: number, cx: number, cy: number, r: number): number {
  return Math.hypot(u - cx, v - cy) - r;
}

export function sdBox(u: number, v: number, bx: number, by: number): number {
  const qx = Math.abs(u) - bx, qy = Math.abs(v) - by;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0);
}

/** A convex polygon given counter-clockwise or clockwise (exact distance outside, max of edge distances inside). */
export function sdPolygon(u: number, v: number, pts: readonly (readonly [number, number])[]): number {
  let d = Infinity, sign = 1;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [ix, iy] = pts[i], [jx, jy] = pts[j];
    const ex = jx - ix, ey = jy - iy, wx = u - ix, wy = v - iy;
    const t = Math.min(Math.max((wx * ex + wy * ey) / (ex * ex + ey * ey), 0), 1);
    const dx = wx - ex * t, dy = wy - ey * t;
    d = Math.min(d, dx * dx + dy * dy);
    // Winding: flip the sign each time a horizontal ray from the point crosses an edge.
    const c1 = v >= iy, c2 = v < jy, c3 = ex * wy > ey * wx;
    if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) sign = -sign;
  }
  return sign * Math.sqrt(d);
}
