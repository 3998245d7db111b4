// A transform pipeline written as text, for the command line:
//
//   parseTransforms("RandomResizedCrop(224, scale=(0.5, 1)) | RandomHorizontalFlip() | ColorJitter(0.4, 0.4, 0.4, 0.1)")
//
// Each stage is a transform class with torchvision's argument order;
// keywords in snake_case or camelCase; values are numbers (also 3/4),
// strings, True/False/None, tuples/lists, torchvision enum names
// (InterpolationMode.BILINEAR, torch.float32) and nested transforms
// (RandomApply([ColorJitter(0.4)], p=0.8)). A spec that does not parse gives
// a FlareError that says where, with a caret under the place.
import { FlareError } from "../../errors.js";
import { Transform } from "./transform.js";
import { Compose, RandomApply, RandomChoice, RandomOrder } from "./classes/containers.js";
import {
  Resize, CenterCrop, Pad, RandomCrop, RandomResizedCrop, RandomHorizontalFlip, RandomVerticalFlip,
  RandomRotation, RandomAffine, RandomPerspective,
} from "./classes/geometric.js";
import {
  ToDtype, ConvertImageDtype, Normalize, Grayscale, ColorJitter, RandomGrayscale, RandomInvert, RandomPosterize,
  RandomSolarize, RandomAdjustSharpness, RandomAutocontrast, RandomEqualize, GaussianBlur, RandomErasing,
} from "./classes/photometric.js";
import { RandomIoUCrop, RandomZoomOut, SanitizeBoundingBoxes, ClampBoundingBoxes, ConvertBoundingBoxFormat } from "./classes/detection.js";
import { AutoAugment, RandAugment, TrivialAugmentWide } from "./classes/autoaugment.js";

type Value = number | string | boolean | null | Value[] | Transform;

interface Entry {
  /** torchvision's parameter names in order (snake_case); the first `required` are positional in flare's constructor. */
  params: string[];
  required: number;
  make: (required: Value[], options: Record<string, Value>) => Transform;
}

const NEW = <A extends unknown[]>(C: new (...a: A) => Transform) => (req: Value[], opts: Record<string, Value>) => new C(...([...req, opts] as unknown as A));

const REGISTRY: Record<string, Entry> = {
  Resize: { params: ["size", "interpolation", "max_size", "antialias"], required: 1, make: NEW(Resize) },
  CenterCrop: { params: ["size"], required: 1, make: (r) => new CenterCrop(r[0] as number) },
  Pad: { params: ["padding", "fill", "padding_mode"], required: 1, make: NEW(Pad) },
  RandomCrop: { params: ["size", "padding", "pad_if_needed", "fill", "padding_mode"], required: 1, make: NEW(RandomCrop) },
  RandomResizedCrop: { params: ["size", "scale", "ratio", "interpolation", "antialias"], required: 1, make: NEW(RandomResizedCrop) },
  RandomHorizontalFlip: { params: ["p"], required: 0, make: NEW(RandomHorizontalFlip) },
  RandomVerticalFlip: { params: ["p"], required: 0, make: NEW(RandomVerticalFlip) },
  RandomRotation: { params: ["degrees", "interpolation", "expand", "center", "fill"], required: 1, make: NEW(RandomRotation) },
  RandomAffine: { params: ["degrees", "translate", "scale", "shear", "interpolation", "fill", "center"], required: 1, make: NEW(RandomAffine) },
  RandomPerspective: { params: ["distortion_scale", "p", "interpolation", "fill"], required: 0, make: NEW(RandomPerspective) },
  ColorJitter: {
    params: ["brightness", "contrast", "saturation", "hue"], required: 0,
    make: (_r, o) => { const { brightness = 0, contrast = 0, saturation = 0, hue = 0, ...rest } = o; return new ColorJitter(brightness as number, contrast as number, saturation as number, hue as number, rest); },
  },
  Grayscale: { params: ["num_output_channels"], required: 0, make: NEW(Grayscale) },
  RandomGrayscale: { params: ["p"], required: 0, make: NEW(RandomGrayscale) },
  GaussianBlur: { params: ["kernel_size", "sigma"], required: 1, make: NEW(GaussianBlur) },
  RandomErasing: { params: ["p", "scale", "ratio", "value", "inplace"], required: 0, make: NEW(RandomErasing) },
  RandomInvert: { params: ["p"], required: 0, make: NEW(RandomInvert) },
  RandomPosterize: { params: ["bits", "p"], required: 1, make: NEW(RandomPosterize) },
  RandomSolarize: { params: ["threshold", "p"], required: 1, make: NEW(RandomSolarize) },
  RandomAdjustSharpness: { params: ["sharpness_factor", "p"], required: 1, make: NEW(RandomAdjustSharpness) },
  RandomAutocontrast: { params: ["p"], required: 0, make: NEW(RandomAutocontrast) },
  RandomEqualize: { params: ["p"], required: 0, make: NEW(RandomEqualize) },
  ToDtype: { params: ["dtype", "scale"], required: 1, make: NEW(ToDtype) },
  ConvertImageDtype: { params: ["dtype"], required: 0, make: (_r, o) => new ConvertImageDtype((o.dtype ?? "float32") as never) },
  Normalize: { params: ["mean", "std", "inplace"], required: 2, make: NEW(Normalize) },
  RandomIoUCrop: { params: ["min_scale", "max_scale", "min_aspect_ratio", "max_aspect_ratio", "sampler_options", "trials"], required: 0, make: NEW(RandomIoUCrop) },
  RandomZoomOut: { params: ["fill", "side_range", "p"], required: 0, make: NEW(RandomZoomOut) },
  SanitizeBoundingBoxes: { params: ["min_size", "min_area", "min_visibility"], required: 0, make: NEW(SanitizeBoundingBoxes) },
  ClampBoundingBoxes: { params: [], required: 0, make: () => new ClampBoundingBoxes() },
  ConvertBoundingBoxFormat: { params: ["format"], required: 1, make: (r) => new ConvertBoundingBoxFormat(r[0] as never) },
  AutoAugment: { params: ["policy", "interpolation", "fill"], required: 0, make: NEW(AutoAugment) },
  RandAugment: { params: ["num_ops", "magnitude", "num_magnitude_bins", "interpolation", "fill"], required: 0, make: NEW(RandAugment) },
  TrivialAugmentWide: { params: ["num_magnitude_bins", "interpolation", "fill"], required: 0, make: NEW(TrivialAugmentWide) },
  RandomApply: { params: ["transforms", "p"], required: 1, make: NEW(RandomApply) },
  RandomChoice: { params: ["transforms", "p"], required: 1, make: NEW(RandomChoice) },
  RandomOrder: { params: ["transforms"], required: 1, make: NEW(RandomOrder) },
  Compose: { params: ["transforms"], required: 1, make: NEW(Compose) },
};

/** A registry entry by its own name only: `constructor`, `__proto__`, `toString` are unknown transforms, not Object's members. */
function lookup(name: string): Entry | undefined {
  return Object.hasOwn(REGISTRY, name) ? REGISTRY[name] : undefined;
}

/** How deep transforms, tuples and lists may nest in a spec (a bound on the parser's recursion). */
export const MAX_SPEC_DEPTH = 64;

/** The longest spec parseTransforms reads, in characters. */
export const MAX_SPEC_LENGTH = 1_000_000;

/** The largest image side a spec may ask for (sharp's own default bound on input images). */
export const MAX_SPEC_SIDE = 16384;

/**
 * Bounds on the spec's counts and sizes (by torchvision's parameter name), so a
 * typo such as RandAugment(100000) is a clear error, not a process that grows
 * until it dies. Every number inside the value (a tuple too) is checked.
 */
export const SPEC_BOUNDS: Readonly<Record<string, number>> = {
  size: MAX_SPEC_SIDE, max_size: MAX_SPEC_SIDE, padding: MAX_SPEC_SIDE, kernel_size: 1023,
  num_ops: 100, num_magnitude_bins: 1024, trials: 10_000, num_output_channels: 4, bits: 8,
};

function checkBound(key: string, value: Value, fail: (message: string) => never): void {
  if (!Object.hasOwn(SPEC_BOUNDS, key)) return;
  const bound = SPEC_BOUNDS[key];
  const visit = (v: Value): void => {
    if (typeof v === "number" && !(Math.abs(v) <= bound)) fail(`${key} = ${v} is beyond the limit ${bound}`);
    if (Array.isArray(v)) v.forEach(visit);
  };
  visit(value);
}

/** Options every random transform takes besides torchvision's. */
const EXTRA = ["per_sample"];

/** The names parseTransforms knows. */
export const transformNames: readonly string[] = Object.keys(REGISTRY);

type Tok = { kind: "ident" | "number" | "string" | "punct" | "end"; text: string; value?: number | string; pos: number };

function tokenize(src: string, fail: (pos: number, msg: string) => never): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_.]/.test(src[i])) i++;
      toks.push({ kind: "ident", text: src.slice(start, i), pos: start });
    } else if (/[0-9.]/.test(c)) {
      const m = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i));
      if (!m) fail(i, `'${c}' does not start a number`);
      i += m[0].length;
      toks.push({ kind: "number", text: m[0], value: Number(m[0]), pos: start });
    } else if (c === "'" || c === '"') {
      i++;
      while (i < src.length && src[i] !== c) i++;
      if (i >= src.length) fail(start, "unterminated string");
      toks.push({ kind: "string", text: src.slice(start, i + 1), value: src.slice(start + 1, i), pos: start });
      i++;
    } else if ("()[],=|/*-+".includes(c)) {
      toks.push({ kind: "punct", text: c, pos: start });
      i++;
    } else fail(i, `unexpected character '${c}'`);
  }
  toks.push({ kind: "end", text: "end of the spec", pos: src.length });
  return toks;
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Identifier values: Python constants, torchvision enum names and dtypes become plain values. */
function identValue(name: string): Value {
  if (name === "True" || name === "true") return true;
  if (name === "False" || name === "false") return false;
  if (name === "None" || name === "null") return null;
  const last = name.split(".").pop()!;
  if (/^(torch\.)?(float|float32)$/.test(name)) return "float32";
  if (name.startsWith("torch.")) {
    const aliases: Record<string, string> = { double: "float64", half: "float16", uint8: "uint8", long: "int64", int: "int32" };
    return Object.hasOwn(aliases, last) ? aliases[last] : last;
  }
  if (name.startsWith("InterpolationMode.") || name.startsWith("AutoAugmentPolicy.")) return last.toLowerCase();
  return name;
}

/**
 * Parses a pipeline spec ("A(...) | B(...)") into a Compose.
 * Throws a FlareError naming the place and the problem when it does not parse.
 */
export function parseTransforms(spec: string): Compose {
  if (typeof spec !== "string") throw new FlareError(`parseTransforms(): spec must be a string, got ${typeof spec}`, "E_ARGUMENT");
  if (spec.length > MAX_SPEC_LENGTH) throw new FlareError(`parseTransforms(): the spec is ${spec.length} characters long, more than the ${MAX_SPEC_LENGTH} allowed`, "E_ARGUMENT");
  const fail = (pos: number, msg: string): never => {
    throw new FlareError(`parseTransforms(): ${msg} at column ${pos + 1}:\n  ${spec}\n  ${" ".repeat(pos)}^`, "E_FORMAT");
  };
  const toks = tokenize(spec, fail);
  let k = 0;
  let depth = 0;
  const enter = (pos: number): void => {
    if (++depth > MAX_SPEC_DEPTH) fail(pos, `the spec nests deeper than ${MAX_SPEC_DEPTH} levels`);
  };
  const peek = () => toks[k];
  const next = () => toks[k++];

  function parseNumber(): number {
    let sign = 1;
    while (peek().text === "-" || peek().text === "+") { if (next().text === "-") sign = -sign; }
    const t = next();
    if (t.kind !== "number") fail(t.pos, `expected a number, found ${t.kind === "end" ? t.text : `'${t.text}'`}`);
    return sign * (t.value as number);
  }

  function parseValue(): Value {
    const t = peek();
    if (t.kind === "number" || t.text === "-" || t.text === "+") {
      let v = parseNumber();
      while (peek().text === "/" || peek().text === "*") {
        const op = next();
        const w = parseNumber();
        if (op.text === "/") { if (w === 0) fail(op.pos, "division by zero"); v /= w; } else v *= w;
      }
      return v;
    }
    if (t.kind === "string") { next(); return t.value as string; }
    if (t.text === "(" || t.text === "[") {
      enter(t.pos);
      next();
      const close = t.text === "(" ? ")" : "]";
      const items: Value[] = [];
      while (peek().text !== close) {
        items.push(parseValue());
        if (peek().text === ",") next();
        else if (peek().text !== close) fail(peek().pos, `expected ',' or '${close}' in a ${close === ")" ? "tuple" : "list"}, found ${peek().kind === "end" ? peek().text : `'${peek().text}'`}`);
      }
      next();
      depth--;
      return items;
    }
    if (t.kind === "ident") {
      if (toks[k + 1]?.text === "(" && lookup(t.text)) return parseTransform();
      if (toks[k + 1]?.text === "(") fail(t.pos, `unknown transform '${t.text}'${suggest(t.text)}`);
      next();
      return identValue(t.text);
    }
    return fail(t.pos, `expected a value, found ${t.kind === "end" ? t.text : `'${t.text}'`}`);
  }

  function parseTransform(): Transform {
    const nameTok = next();
    if (nameTok.kind !== "ident") fail(nameTok.pos, `expected a transform name, found ${nameTok.kind === "end" ? "the end of the spec" : `'${nameTok.text}'`}`);
    const entry: Entry = lookup(nameTok.text) ?? fail(nameTok.pos, `unknown transform '${nameTok.text}'${suggest(nameTok.text)}`);
    enter(nameTok.pos);
    const positional: Value[] = [];
    const keywords: Record<string, Value> = {};
    if (peek().text === "(") {
      const open = next();
      while (peek().text !== ")") {
        const t = peek();
        if (t.kind === "end") fail(t.pos, `expected ')' to close ${nameTok.text}( opened at column ${open.pos + 1}`);
        if (t.kind === "ident" && toks[k + 1]?.text === "=") {
          next(); next();
          const key = snake(t.text);
          if (!entry.params.includes(key) && !EXTRA.includes(key))
            fail(t.pos, `${nameTok.text} has no argument '${t.text}' (it takes ${[...entry.params, ...EXTRA].join(", ") || "no arguments"})`);
          const at = entry.params.indexOf(key);
          if (key in keywords || (at >= 0 && at < positional.length)) fail(t.pos, `${nameTok.text}: argument '${t.text}' given twice`);
          keywords[key] = parseValue();
        } else {
          if (Object.keys(keywords).length > 0) fail(t.pos, `${nameTok.text}: a positional argument after keyword arguments`);
          if (positional.length >= entry.params.length) fail(t.pos, `${nameTok.text} takes at most ${entry.params.length} positional argument${entry.params.length === 1 ? "" : "s"}`);
          positional.push(parseValue());
        }
        if (peek().text === ",") next();
        else if (peek().text !== ")") fail(peek().pos, `expected ',' or ')' in the arguments of ${nameTok.text}, found ${peek().kind === "end" ? peek().text : `'${peek().text}'`}`);
      }
      next();
    }
    const all: Record<string, Value> = { ...keywords };
    positional.forEach((v, i) => { all[entry.params[i]] = v; });
    for (const [key, v] of Object.entries(all)) checkBound(key, v, (message) => fail(nameTok.pos, `${nameTok.text}: ${message}`));
    const required: Value[] = [];
    for (let i = 0; i < entry.required; i++) {
      const key = entry.params[i];
      if (!(key in all)) fail(nameTok.pos, `${nameTok.text} needs its argument '${key}'`);
      required.push(all[key]);
      delete all[key];
    }
    const options: Record<string, Value> = {};
    for (const [key, v] of Object.entries(all)) if (v !== null) options[camel(key)] = v;
    depth--;
    try {
      return entry.make(required, options);
    } catch (error) {
      if (error instanceof FlareError) fail(nameTok.pos, error.message);
      throw error;
    }
  }

  const stages: Transform[] = [];
  if (peek().kind === "end") fail(0, "the spec is empty");
  for (;;) {
    stages.push(parseTransform());
    const t = next();
    if (t.kind === "end") break;
    if (t.text !== "|") fail(t.pos, `expected '|' between transforms, found '${t.text}'`);
  }
  return new Compose(stages);
}

function suggest(name: string): string {
  const lower = name.toLowerCase();
  const close = transformNames.filter((n) => n.toLowerCase() === lower || n.toLowerCase().includes(lower) || lower.includes(n.toLowerCase()));
  return close.length ? ` (did you mean ${close.slice(0, 3).join(", ")}?)` : "";
}
