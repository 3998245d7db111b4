// A shapes segmentation set in Pascal VOC's layout: textured circles,
// rectangles, triangles, stars and rings (random colours, patterns, sizes and
// turns, overlapping) over backgrounds cut from the bundled photos and
// textures, or painted. Deterministic from a seed. VOCSegmentation({root: out})
// reads it back.
//
// Labels are written as real VOC palette PNGs (SegmentationClass/<id>.png: one
// byte per pixel, class k drawn in VOC_COLORMAP[k]), not quantised by sharp:
// encodePalettePng writes the palette and the indices exactly. Like VOC, the
// outline of every shape can carry a band of 255 (VOC's (224, 224, 192)
// border, ignored by the loss) where anti-aliasing and JPEG blur make the class
// of a pixel uncertain (ignoreBorder pixels each side; 0 for none).
import * as path from "node:path";
import { FlareError } from "../../../errors.js";
import { fromTypedArray, type Generator } from "../../../tensor/index.js";
import { encodeImage } from "../../io.js";
import { encodePalettePng } from "../palette_png.js";
import { Canvas, hash01, paintBackground, randomColor, sdBox, sdCircle, sdPolygon, stamp, type Source, type Stamp } from "./raster.js";
import {
  backgroundSources, checkCount, checkOut, checkRange, checkSeed, checkSize, imageGenerator, mkdirs, Pool, SPLITS,
  writeFile, writeManifest, type Split,
} from "./common.js";
import { checkOptions, optionNames } from "../../../options.js";

/** Class k of the shapes set (0 background); its label colour is VOC_COLORMAP[k]. */
export const SHAPE_CLASSES: readonly string[] = ["background", "circle", "rectangle", "triangle", "star", "ring"];

export interface MakeShapesOptions {
  /** The VOC2012-style folder to write (made if missing). */
  out: string;
  /** Training images (default 500). */
  count?: number;
  /** Validation images (default 100). */
  valCount?: number;
  seed?: number;
  /** A side (square) or [height, width] (default 256; d2l's 320×480 crop needs at least [320, 480]). */
  size?: number | [number, number];
  /** Shapes per image: a number or [min, max] (default [1, 4]). */
  shapesPerImage?: number | [number, number];
  /** A shape's diameter as a fraction of the image's shorter side: [min, max] (default [0.2, 0.6]). */
  scale?: [number, number];
  /** Pixels of 255 (ignore) on each side of every outline, as VOC's borders (default 1; 0 for none). */
  ignoreBorder?: number;
  /**
   * Whether shapes may cover each other (default true). false: each shape is placed clear of those drawn
   * before it (their frames, less 15% each side, do not meet; 20 tries, after which the shape is left out).
   */
  overlap?: boolean;
  /** Background pictures (files or folders); default the bundled assets/images. [] paints every background. */
  backgrounds?: string[];
  /** JPEG quality (default 90). */
  quality?: number;
}

export interface GeneratedShapes {
  id: string;
  /** Per shape drawn (bottom first): its class and tight box [x1, y1, x2, y2] (x2, y2 exclusive) as drawn, before later shapes covered parts of it. */
  shapes: { label: number; box: [number, number, number, number] }[];
  /** Pixels per label value in the written label map (class ids and 255), as strings of numbers for JSON. */
  pixels: Record<string, number>;
}

export interface ShapesManifest {
  kind: "shapes";
  seed: number;
  size: [number, number];
  classes: string[];
  ignoreBorder: number;
  splits: Record<Split, GeneratedShapes[]>;
}

type Fill = (px: number, py: number, out: number[]) => void;

/** A random fill: flat with grain, stripes, checks, or a tinted cut of a texture. */
function randomFill(g: Generator, sources: readonly Source[]): Fill {
  const c0 = randomColor(g, 30, 240), c1 = randomColor(g, 30, 240);
  const seed = g.randint(0, 1 << 30);
  const kind = g.randint(0, sources.length > 0 ? 4 : 3);
  if (kind === 0) return (px, py, out) => { const n = (hash01(px, py, seed) - 0.5) * 24; for (let k = 0; k < 3; k++) out[k] = c0[k] + n; };
  if (kind === 1) {
    const a = g.uniform(0, Math.PI), period = g.uniform(4, 14), ca = Math.cos(a), sa = Math.sin(a);
    return (px, py, out) => { const t = ((px * ca + py * sa) / period) % 1; const c = (t < 0 ? t + 1 : t) < 0.5 ? c0 : c1; for (let k = 0; k < 3; k++) out[k] = c[k]; };
  }
  if (kind === 2) {
    const cell = g.randint(3, 12);
    return (px, py, out) => { const c = (Math.floor(px / cell) + Math.floor(py / cell)) % 2 === 0 ? c0 : c1; for (let k = 0; k < 3; k++) out[k] = c[k]; };
  }
  const src = sources[g.randint(0, sources.length)];
  const ox = g.randint(0, src.width), oy = g.randint(0, src.height);
  const plane = src.width * src.height;
  const tint = [c0[0] / 160, c0[1] / 160, c0[2] / 160];
  return (px, py, out) => {
    const p = ((py + oy) % src.height) * src.width + ((px + ox) % src.width);
    for (let k = 0; k < 3; k++) out[k] = src.data[k * plane + p] * tint[k];
  };
}

function star(points: number, inner: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < 2 * points; i++) {
    const r = i % 2 === 0 ? 1 : inner, a = (Math.PI * i) / points - Math.PI / 2;
    out.push([r * Math.cos(a), r * Math.sin(a)]);
  }
  return out;
}

/** The signed distance of shape class `cls` (1..5) in local units, turned by a random angle. */
function shapeSdf(cls: number, g: Generator): (u: number, v: number) => number {
  const angle = g.uniform(0, 2 * Math.PI), cos = Math.cos(angle), sin = Math.sin(angle);
  if (cls === 1) return (u, v) => sdCircle(u, v, 0, 0, 1);
  if (cls === 2) {
    // The rectangle's corners on the unit circle, so any turn stays inside the frame.
    const aspect = g.uniform(0.35, 1), norm = Math.hypot(1, aspect), bx = 1 / norm, by = aspect / norm;
    return (u, v) => sdBox(u * cos + v * sin, -u * sin + v * cos, bx, by);
  }
  // Polygons: turn the corners once instead of every pixel.
  const turn = (pts: [number, number][]) => pts.map(([a, b]): [number, number] => [a * cos - b * sin, a * sin + b * cos]);
  if (cls === 3) {
    const tri = turn([[0, -1], [0.866, 0.5], [-0.866, 0.5]]);
    return (u, v) => sdPolygon(u, v, tri);
  }
  if (cls === 4) {
    const pts = turn(star(g.randint(5, 7), g.uniform(0.4, 0.55)));
    return (u, v) => sdPolygon(u, v, pts);
  }
  const thickness = g.uniform(0.18, 0.35);
  return (u, v) => Math.abs(Math.hypot(u, v) - (1 - thickness)) - thickness;
}

/** Marks `width` pixels of 255 on each side of every boundary between labels. */
function markBorders(labels: Uint8Array, H: number, W: number, width: number): void {
  if (width <= 0) return;
  let edge = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const p = y * W + x;
    if (x + 1 < W && labels[p] !== labels[p + 1]) { edge[p] = 1; edge[p + 1] = 1; }
    if (y + 1 < H && labels[p] !== labels[p + W]) { edge[p] = 1; edge[p + W] = 1; }
  }
  for (let pass = 1; pass < width; pass++) {
    const grown = edge.slice();
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const p = y * W + x;
      if (edge[p]) continue;
      if ((x > 0 && edge[p - 1]) || (x + 1 < W && edge[p + 1]) || (y > 0 && edge[p - W]) || (y + 1 < H && edge[p + W])) grown[p] = 1;
    }
    edge = grown;
  }
  for (let p = 0; p < labels.length; p++) if (edge[p]) labels[p] = 255;
}

/** Draws one image: its pixels (planar uint8 3×H×W), label map (H×W) and shapes. */
export function drawShapesImage(seed: number, split: number, index: number, o: {
  size: [number, number]; shapes: [number, number]; scale: [number, number]; ignoreBorder: number; sources: readonly Source[]; overlap?: boolean;
}): { pixels: Uint8Array; labels: Uint8Array; shapes: GeneratedShapes["shapes"] } {
  const g = imageGenerator(seed, split, index);
  const [H, W] = o.size;
  const canvas = new Canvas(H, W);
  paintBackground(canvas, o.sources, g);
  const labels = new Uint8Array(H * W);
  const shapes: GeneratedShapes["shapes"] = [];
  const n = g.randint(o.shapes[0], o.shapes[1] + 1);
  const short = Math.min(H, W);
  const frames: [number, number, number][] = [];  // x, y, side of the shapes placed (overlap: false)
  const clear = (x: number, y: number, d: number) => frames.every(([fx, fy, fd]) => {
    const m = 0.15 * d, fm = 0.15 * fd;
    return x + d - m <= fx + fm || fx + fd - fm <= x + m || y + d - m <= fy + fm || fy + fd - fm <= y + m;
  });
  for (let k = 0; k < n; k++) {
    const cls = g.randint(1, SHAPE_CLASSES.length);
    const d = short * g.uniform(o.scale[0], o.scale[1]);
    let x = g.uniform(-d * 0.2, W - d * 0.8), y = g.uniform(-d * 0.2, H - d * 0.8); // may reach past the edges a little
    if (o.overlap === false) {
      for (let tries = 1; tries < 20 && !clear(x, y, d); tries++) { x = g.uniform(-d * 0.2, W - d * 0.8); y = g.uniform(-d * 0.2, H - d * 0.8); }
      if (!clear(x, y, d)) continue;
      frames.push([x, y, d]);
    }
    const fill = randomFill(g, o.sources);
    const s: Stamp = { x, y, w: d, h: d, sdf: shapeSdf(cls, g), color: (_u, _v, px, py, out) => fill(px, py, out) };
    const covered = stamp(canvas, s, (p) => { labels[p] = cls; });
    if (covered.box) shapes.push({ label: cls, box: covered.box });
  }
  markBorders(labels, H, W, o.ignoreBorder);
  return { pixels: canvas.toBytes(), labels, shapes };
}

/**
 * Makes the shapes segmentation set under `out` (VOC2012 layout: JPEGImages/<id>.jpg,
 * SegmentationClass/<id>.png palette labels, ImageSets/Segmentation/{train,val}.txt,
 * ids train_<i> and val_<i>) and returns its manifest (also out/manifest.json, written last).
 */
export async function makeShapes(options: MakeShapesOptions): Promise<ShapesManifest> {
  const what = "makeShapes()";
  if (options === null || typeof options !== "object") throw new FlareError(`${what}: expected options {out, count, seed, size}`, "E_ARGUMENT");
  checkOptions(options, optionNames<MakeShapesOptions>({
    out: 1, count: 1, valCount: 1, seed: 1, size: 1, shapesPerImage: 1, scale: 1, ignoreBorder: 1, overlap: 1, backgrounds: 1, quality: 1,
  }), what);
  const out = checkOut(options.out, what);
  const counts: Record<Split, number> = { train: checkCount(options.count, "count", 500, what), val: checkCount(options.valCount, "valCount", 100, what) };
  const seed = checkSeed(options.seed, what);
  const size = checkSize(options.size, 256, what);
  const shapes = checkRange(options.shapesPerImage, "shapesPerImage", [1, 4], what, 0, 64, true);
  const scale = checkRange(options.scale, "scale", [0.2, 0.6], what, 0.02, 2);
  const ignoreBorder = options.ignoreBorder ?? 1;
  if (!Number.isInteger(ignoreBorder) || ignoreBorder < 0 || ignoreBorder > 16) throw new FlareError(`${what}: ignoreBorder must be an integer 0..16, got ${JSON.stringify(options.ignoreBorder)}`, "E_ARGUMENT");
  const overlap = options.overlap ?? true;
  if (typeof overlap !== "boolean") throw new FlareError(`${what}: overlap must be true or false, got ${JSON.stringify(options.overlap)}`, "E_ARGUMENT");
  const quality = options.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new FlareError(`${what}: quality must be an integer in 1..100, got ${quality}`, "E_ARGUMENT");
  const sources = await backgroundSources(options.backgrounds, what);
  mkdirs(path.join(out, "JPEGImages"), path.join(out, "SegmentationClass"), path.join(out, "ImageSets", "Segmentation"));

  const manifest: ShapesManifest = { kind: "shapes", seed, size, classes: [...SHAPE_CLASSES], ignoreBorder, splits: { train: [], val: [] } };
  const pool = new Pool(4);
  for (const [s, split] of SPLITS.entries()) {
    const list = manifest.splits[split];
    for (let i = 0; i < counts[split]; i++) {
      const id = `${split}_${i}`;
      const drawn = drawShapesImage(seed, s, i, { size, shapes, scale, ignoreBorder, sources, overlap });
      const pixels: Record<string, number> = {};
      for (const v of drawn.labels) pixels[v] = (pixels[v] ?? 0) + 1;
      list.push({ id, shapes: drawn.shapes, pixels });
      writeFile(path.join(out, "SegmentationClass", `${id}.png`), encodePalettePng(drawn.labels, size[1], size[0]));
      await pool.add(async () => {
        const tensor = fromTypedArray(drawn.pixels, [3, size[0], size[1]]);
        try {
          writeFile(path.join(out, "JPEGImages", `${id}.jpg`), await encodeImage(tensor, "jpeg", { quality }));
        } finally {
          tensor.dispose();
        }
      });
    }
    await pool.drain();
    writeFile(path.join(out, "ImageSets", "Segmentation", `${split}.txt`), list.map((m) => `${m.id}\n`).join(""));
  }
  writeManifest(out, manifest);
  return manifest;
}
