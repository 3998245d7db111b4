// The objects of the banana-style detection set, drawn procedurally: a banana
// (d2l's class 0) and, for more classes, other fruit of distinct shapes. Each is
// a signed distance function over local coordinates u, v ∈ [-1, 1] and a
// colour function with shading, grain and per-object colour variation.
import type { Generator } from "../../../tensor/index.js";
import { hash01, sdBox, sdCircle, sdPolygon, type Stamp } from "./raster.js";

export const FRUIT_CLASSES: readonly string[] = ["banana", "apple", "orange", "carrot", "grapes", "pear"];

type Shape = { sdf: (u: number, v: number) => number; color: (u: number, v: number, px: number, py: number, out: number[]) => void };

function clamp01(x: number): number { return x < 0 ? 0 : x > 1 ? 1 : x; }

function smin(a: number, b: number, k: number): number {
  const h = clamp01(0.5 + (0.5 * (b - a)) / k);
  return b * (1 - h) + a * h - k * h * (1 - h);
}

function banana(g: Generator): Shape {
  // A crescent: inside circle A, outside circle B (both through the tips (±1, -0.6)),
  // spanning x ∈ [-1.1125, 1.1125], y ∈ [-0.6, 1]; stretched to fill the frame.
  const ca = -0.1125, ra = 1.1125, cb = -0.4598, rb = 1.0098;
  const ripe = g.random();
  const base = ripe < 0.2 ? [150 + g.uniform(0, 40), 185 + g.uniform(0, 25), 50] : [225 + g.uniform(0, 25), 190 + g.uniform(0, 30), 40 + g.uniform(0, 30)];
  const spots = ripe > 0.75 ? g.uniform(0.04, 0.15) : 0;
  const seed = g.randint(0, 1 << 30);
  const map = (u: number, v: number): [number, number] => [u * 1.1125, 0.2 + v * 0.8];
  return {
    sdf(u, v) {
      const [x, y] = map(u, v);
      return Math.max(sdCircle(x, y, 0, ca, ra), -sdCircle(x, y, 0, cb, rb));
    },
    color(u, v, px, py, out) {
      const [x, y] = map(u, v);
      const outer = -sdCircle(x, y, 0, ca, ra), inner = sdCircle(x, y, 0, cb, rb);
      const across = clamp01(outer / Math.max(outer + inner, 1e-6)); // 0 at the outer edge, 1 at the inner
      const shade = 0.72 + 0.38 * Math.sin(Math.PI * (0.15 + 0.7 * across));
      const tip = clamp01((Math.abs(x) - 0.85) / 0.2);
      const spot = spots > 0 && hash01(px >> 1, py >> 1, seed) < spots ? 0.55 : 1;
      const grain = 1 + (hash01(px, py, seed + 1) - 0.5) * 0.08;
      for (let k = 0; k < 3; k++) out[k] = (base[k] * (1 - tip) + [85, 60, 25][k] * tip) * shade * spot * grain;
    },
  };
}

function apple(g: Generator): Shape {
  const red = g.random() < 0.75;
  const body = red ? [190 + g.uniform(0, 40), 25 + g.uniform(0, 40), 30] : [120, 190 + g.uniform(0, 30), 50];
  const seed = g.randint(0, 1 << 30);
  const parts = (u: number, v: number) => {
    const x = u * 1.05, y = v * 1.0;
    return [
      smin(sdCircle(x, y, -0.3, 0.2, 0.75), sdCircle(x, y, 0.3, 0.2, 0.75), 0.2),
      sdBox(x - 0.02, y + 0.72, 0.05, 0.22),
      Math.hypot((x - 0.3) / 1.8, y + 0.78) - 0.12,
    ];
  };
  return {
    sdf(u, v) { const [a, b, c] = parts(u, v); return Math.min(a, b, c); },
    color(u, v, px, py, out) {
      const [a, b, c] = parts(u, v);
      const grain = 1 + (hash01(px, py, seed) - 0.5) * 0.1;
      if (a <= Math.min(b, c)) {
        const light = 0.75 + 0.5 * Math.exp(-((u + 0.35) ** 2 + (v + 0.1) ** 2) * 4);
        for (let k = 0; k < 3; k++) out[k] = body[k] * light * grain;
      } else if (b < c) { out[0] = 90 * grain; out[1] = 60 * grain; out[2] = 30 * grain; }
      else { out[0] = 60 * grain; out[1] = 150 * grain; out[2] = 40 * grain; }
    },
  };
}

function orange(g: Generator): Shape {
  const base = [235 + g.uniform(0, 20), 130 + g.uniform(0, 40), 15 + g.uniform(0, 20)];
  const seed = g.randint(0, 1 << 30);
  return {
    sdf: (u, v) => sdCircle(u, v, 0, 0, 0.97),
    color(u, v, px, py, out) {
      const calyx = Math.hypot(u - 0.1, v + 0.55) < 0.09;
      const light = 0.7 + 0.45 * Math.exp(-((u + 0.3) ** 2 + (v + 0.3) ** 2) * 2.5);
      const dimple = 1 + (hash01(px, py, seed) - 0.5) * 0.18;
      if (calyx) { out[0] = 70; out[1] = 90; out[2] = 30; return; }
      for (let k = 0; k < 3; k++) out[k] = base[k] * light * dimple;
    },
  };
}

function carrot(g: Generator): Shape {
  const base = [230 + g.uniform(0, 25), 105 + g.uniform(0, 35), 20 + g.uniform(0, 20)];
  const seed = g.randint(0, 1 << 30);
  const root: [number, number][] = [[-0.42, -0.5], [0.42, -0.5], [0.04, 1], [-0.04, 1]];
  const leaves: [number, number][][] = [
    [[-0.05, -0.5], [0.05, -0.5], [-0.45, -1], [-0.6, -0.95]],
    [[-0.05, -0.5], [0.05, -0.5], [0.05, -1], [-0.08, -1]],
    [[-0.05, -0.5], [0.05, -0.5], [0.6, -0.95], [0.45, -1]],
  ];
  const parts = (u: number, v: number) => [sdPolygon(u, v, root), Math.min(...leaves.map((l) => sdPolygon(u, v, l)))];
  return {
    sdf(u, v) { const [a, b] = parts(u, v); return Math.min(a, b); },
    color(u, v, px, py, out) {
      const [a, b] = parts(u, v);
      const grain = 1 + (hash01(px, py, seed) - 0.5) * 0.1;
      if (a <= b) {
        const ridge = Math.sin(v * 38 + u * 3) > 0.85 ? 0.8 : 1;
        const light = 0.8 + 0.3 * (1 - Math.abs(u) * 2);
        for (let k = 0; k < 3; k++) out[k] = base[k] * ridge * light * grain;
      } else { out[0] = 50 * grain; out[1] = 140 * grain; out[2] = 40 * grain; }
    },
  };
}

function grapes(g: Generator): Shape {
  const base = g.random() < 0.6 ? [95 + g.uniform(0, 40), 30, 110 + g.uniform(0, 40)] : [150, 195 + g.uniform(0, 30), 70];
  const centres: [number, number][] = [];
  const rows = [4, 3, 2, 1];
  rows.forEach((n, r) => { for (let i = 0; i < n; i++) centres.push([(i - (n - 1) / 2) * 0.45 + g.uniform(-0.03, 0.03), -0.72 + r * 0.48 + g.uniform(-0.03, 0.03)]); });
  const radius = 0.25;
  let which = 0; // the grape nearest to the last point asked about
  const nearest = (u: number, v: number): number => {
    let best = Infinity;
    for (let i = 0; i < centres.length; i++) {
      const dx = u - centres[i][0], dy = v - centres[i][1], d = dx * dx + dy * dy;
      if (d < best) { best = d; which = i; }
    }
    return Math.sqrt(best) - radius;
  };
  return {
    sdf: nearest,
    color(u, v, _px, _py, out) {
      nearest(u, v);
      const [cx, cy] = centres[which];
      const light = 0.65 + 0.7 * Math.exp(-(((u - cx + 0.08) ** 2 + (v - cy + 0.08) ** 2) / (radius * radius)) * 3);
      for (let k = 0; k < 3; k++) out[k] = base[k] * light;
    },
  };
}

function pear(g: Generator): Shape {
  const base = [185 + g.uniform(0, 40), 195 + g.uniform(0, 30), 60 + g.uniform(0, 30)];
  const seed = g.randint(0, 1 << 30);
  const parts = (u: number, v: number) => [smin(sdCircle(u, v, 0, 0.35, 0.62), sdCircle(u, v, 0, -0.4, 0.36), 0.35), sdBox(u - 0.03, v + 0.85, 0.04, 0.15)];
  return {
    sdf(u, v) { const [a, b] = parts(u, v); return Math.min(a, b); },
    color(u, v, px, py, out) {
      const [a, b] = parts(u, v);
      const grain = 1 + (hash01(px, py, seed) - 0.5) * 0.12;
      if (b < a) { out[0] = 90; out[1] = 65; out[2] = 30; return; }
      const light = 0.75 + 0.4 * Math.exp(-((u + 0.25) ** 2 + (v - 0.1) ** 2) * 3);
      for (let k = 0; k < 3; k++) out[k] = base[k] * light * grain;
    },
  };
}

const MAKERS = [banana, apple, orange, carrot, grapes, pear];

/**
 * A fruit of class `cls` (an index into FRUIT_CLASSES) in the frame (x, y, w, h):
 * turned by a random angle (shrunk to stay in the frame), perhaps mirrored or
 * upside down, with its colours varied.
 */
export function fruitStamp(cls: number, frame: { x: number; y: number; w: number; h: number }, g: Generator, options: { maxAngle?: number } = {}): Stamp {
  const shape = MAKERS[cls](g);
  const maxAngle = options.maxAngle ?? 0.5;
  const angle = g.uniform(-maxAngle, maxAngle);
  const cos = Math.cos(angle), sin = Math.sin(angle);
  const fit = 1 / (Math.abs(cos) + Math.abs(sin)); // the turned square stays inside the frame
  const mirror = g.random() < 0.5 ? -1 : 1;
  const flip = cls === 0 && g.random() < 0.3 ? -1 : 1; // some bananas frown
  const gains = [g.uniform(0.88, 1.12), g.uniform(0.88, 1.12), g.uniform(0.88, 1.12)];
  // Local coordinates: mirrored, flipped, turned by -angle and enlarged by 1/fit (so the shape shrinks by fit).
  const m00 = (mirror * cos) / fit, m01 = (flip * sin) / fit, m10 = (-mirror * sin) / fit, m11 = (flip * cos) / fit;
  return {
    ...frame,
    sdf: (u, v) => shape.sdf(m00 * u + m01 * v, m10 * u + m11 * v) * fit,
    color: (u, v, px, py, out) => {
      shape.color(m00 * u + m01 * v, m10 * u + m11 * v, px, py, out);
      for (let k = 0; k < 3; k++) out[k] *= gains[k];
    },
  };
}

/**
 * The generated `objects` detection set (flare train detect --data objects): several
 * objects of several classes per image, frames from 8% to 60% of a 256-pixel side,
 * so the boxes span COCO's small (< 32²), medium and large (> 96²) areas and AP by
 * size means something. makeBananas' options; no occlusion between objects.
 */
export const OBJECTS_SET = { classes: 4, objectsPerImage: [2, 5] as [number, number], scale: [0.08, 0.6] as [number, number], size: 256 };
