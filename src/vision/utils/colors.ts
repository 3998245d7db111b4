// Colours for drawing: [r, g, b] triples, "#rgb" / "#rrggbb", "rgb(r, g, b)" or a
// CSS colour name (PIL's ImageColor accepts the same), and torchvision's default palette.
import { FlareError } from "../../errors.js";

export type RGB = [number, number, number];
export type Color = string | readonly [number, number, number];

const NAMED: Record<string, RGB> = {
  black: [0, 0, 0], white: [255, 255, 255], red: [255, 0, 0], lime: [0, 255, 0], blue: [0, 0, 255],
  yellow: [255, 255, 0], cyan: [0, 255, 255], aqua: [0, 255, 255], magenta: [255, 0, 255], fuchsia: [255, 0, 255],
  silver: [192, 192, 192], gray: [128, 128, 128], grey: [128, 128, 128], maroon: [128, 0, 0], olive: [128, 128, 0],
  green: [0, 128, 0], purple: [128, 0, 128], teal: [0, 128, 128], navy: [0, 0, 128], orange: [255, 165, 0],
  pink: [255, 192, 203], brown: [165, 42, 42], gold: [255, 215, 0], violet: [238, 130, 238], indigo: [75, 0, 130],
  coral: [255, 127, 80], salmon: [250, 128, 114], khaki: [240, 230, 140], orchid: [218, 112, 214],
  turquoise: [64, 224, 208], tomato: [255, 99, 71], crimson: [220, 20, 60], chocolate: [210, 105, 30],
  darkred: [139, 0, 0], darkgreen: [0, 100, 0], darkblue: [0, 0, 139], darkorange: [255, 140, 0],
  lightgray: [211, 211, 211], lightgrey: [211, 211, 211], darkgray: [169, 169, 169], darkgrey: [169, 169, 169],
  lightblue: [173, 216, 230], lightgreen: [144, 238, 144], skyblue: [135, 206, 235], steelblue: [70, 130, 180],
  royalblue: [65, 105, 225], dodgerblue: [30, 144, 255], deepskyblue: [0, 191, 255], limegreen: [50, 205, 50],
  forestgreen: [34, 139, 34], seagreen: [46, 139, 87], yellowgreen: [154, 205, 50], hotpink: [255, 105, 180],
  deeppink: [255, 20, 147], firebrick: [178, 34, 34], sienna: [160, 82, 45], tan: [210, 180, 140],
  beige: [245, 245, 220], ivory: [255, 255, 240], lavender: [230, 230, 250], plum: [221, 160, 221],
  slategray: [112, 128, 144], slategrey: [112, 128, 144],
};

/** A colour as [r, g, b] bytes. */
export function parseColor(color: Color, what = "color"): RGB {
  if (Array.isArray(color)) {
    if (color.length === 3 && color.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)) return [color[0], color[1], color[2]];
    throw new FlareError(`${what}: an [r, g, b] colour needs three integers in 0..255, got [${color.join(", ")}]`, "E_ARGUMENT");
  }
  if (typeof color === "string") {
    const text = color.trim().toLowerCase();
    if (NAMED[text]) return [...NAMED[text]];
    let m = /^#([0-9a-f]{3})$/.exec(text);
    if (m) return [0, 1, 2].map((i) => parseInt(m![1][i] + m![1][i], 16)) as RGB;
    m = /^#([0-9a-f]{6})$/.exec(text);
    if (m) return [0, 2, 4].map((i) => parseInt(m![1].slice(i, i + 2), 16)) as RGB;
    m = /^rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$/.exec(text);
    if (m && m.slice(1).every((v) => Number(v) <= 255)) return [Number(m[1]), Number(m[2]), Number(m[3])];
  }
  throw new FlareError(`${what}: cannot read colour ${JSON.stringify(color)}: use [r, g, b], "#rrggbb", "#rgb", "rgb(r, g, b)" or a CSS name such as "red"`, "E_ARGUMENT");
}

/** torchvision's default colours for n objects: (i · [2^25 − 1, 2^15 − 1, 2^21 − 1]) mod 255. */
export function defaultPalette(n: number): RGB[] {
  const base = [2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1];
  return Array.from({ length: n }, (_, i) => base.map((b) => Number((BigInt(i) * BigInt(b)) % 255n)) as RGB);
}

/** One colour per object: a list (at least n long), one colour for all, or the default palette. */
export function colorsFor(n: number, colors: Color | readonly Color[] | undefined, what: string): RGB[] {
  if (colors === undefined || colors === null) return defaultPalette(n);
  const isList = Array.isArray(colors) && (colors.length === 0 || typeof colors[0] !== "number");
  if (!isList) return Array.from({ length: n }, () => parseColor(colors as Color, what));
  const list = colors as readonly Color[];
  if (list.length < n) throw new FlareError(`${what}: ${list.length} colours for ${n} objects; give one colour per object or a single colour`, "E_ARGUMENT");
  return list.slice(0, n).map((c, i) => parseColor(c, `${what}[${i}]`));
}
