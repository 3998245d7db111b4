// Fuzz case generators: pure, seeded functions (no flare, no I/O). Case i of
// a target under a seed is always the same input, so any finding is replayed
// with `npm run fuzz -- --target T --seed S --case I`.

import { nativeCase } from "./native_cases.js";

export type Target = "safetensors" | "image" | "voc" | "coco" | "spec" | "run" | "cli" | "tensor" | "dataloader" | "native";
export const TARGETS: readonly Target[] = ["safetensors", "image", "voc", "coco", "spec", "run", "cli", "tensor", "dataloader", "native"];

export interface Case {
  target: Target;
  index: number;
  /** The family of input (for counts and known failures). */
  kind: string;
  /** What was tried, briefly (for reports). */
  label: string;
  /** The input, as JSON (the runner interprets it). */
  input: unknown;
  /** Run alone in its own process (inputs that may crash or blow up memory). */
  isolate?: boolean;
}

/** mulberry32: small, fast, good enough for test inputs. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo)); }
  pick<T>(items: readonly T[]): T { return items[Math.floor(this.next() * items.length)]; }
  chance(p: number): boolean { return this.next() < p; }
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const SPECIAL_PATHS = ["/dev/zero", "/dev/null", "/dev/urandom", "@fifo", "@dir", "@missing", "", "/"];
const WEIRD_NUMBERS = [0, -1, 1.5, 1e9, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, Number.MIN_VALUE];
const WEIRD_VALUES: unknown[] = [null, "x", "", -1, 0, 1.5, 1e300, true, [], {}, [[[]]], { __proto__: 1 }, "<script>", "\u0000", "é"];

// ---------- safetensors ----------

/** A valid safetensors file (a: F32[2,2], b: I64[3], c: U8[0], metadata) as bytes. */
export function baseSafetensors(): number[] {
  const header = JSON.stringify({
    __metadata__: { format: "pt", note: "base" },
    a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] },
    b: { dtype: "I64", shape: [3], data_offsets: [16, 40] },
    c: { dtype: "U8", shape: [0], data_offsets: [40, 40] },
  });
  return withHeader(header, Array.from({ length: 40 }, (_, i) => (i * 37) & 0xff));
}

function withHeader(header: string | number[], data: number[], lengthOverride?: number): number[] {
  const text = typeof header === "string" ? Array.from(Buffer.from(header, "utf8")) : header;
  const length = lengthOverride ?? text.length;
  const head: number[] = [];
  let n = BigInt(length);
  for (let i = 0; i < 8; i++) { head.push(Number(n & 0xffn)); n >>= 8n; }
  return [...head, ...text, ...data];
}

const DTYPES = ["F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "C64", "toString", "", "f32", "__proto__"];
const NAMES = ["a", "b", "__proto__", "constructor", "toString", "__metadata__", "", "é€", "x".repeat(300), "\u0000", "a.b.c", "hasOwnProperty", "😀"];

function randomShape(rng: Rng): unknown {
  if (rng.chance(0.1)) return rng.pick(WEIRD_VALUES);
  return Array.from({ length: rng.int(0, 4) }, () => (rng.chance(0.85) ? rng.int(0, 5) : rng.pick(WEIRD_NUMBERS)));
}

function safetensorsCase(rng: Rng): Omit<Case, "target" | "index"> {
  const kind = rng.pick(["bitflip", "truncate", "header", "header", "utf8", "length", "roundtrip", "roundtrip", "input", "file"]);
  const base = baseSafetensors();
  switch (kind) {
    case "bitflip": {
      const bytes = [...base];
      const n = rng.int(1, 9);
      const headerEnd = 8 + Number(Buffer.from(base.slice(0, 8)).readBigUInt64LE(0));
      for (let k = 0; k < n; k++) {
        const at = rng.chance(0.8) ? rng.int(0, headerEnd) : rng.int(0, bytes.length);
        bytes[at] = rng.chance(0.5) ? bytes[at] ^ (1 << rng.int(0, 8)) : rng.int(0, 256);
      }
      return { kind, label: `${n} flipped bytes`, input: { bytes } };
    }
    case "truncate": {
      const at = rng.int(0, base.length);
      return { kind, label: `cut at ${at}`, input: { bytes: base.slice(0, at) } };
    }
    case "length": {
      const header = Array.from(Buffer.from(JSON.stringify({ a: { dtype: "U8", shape: [1], data_offsets: [0, 1] } })));
      const length = rng.pick([0, 1, header.length - 1, header.length + 1, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER, 100 * 1024 * 1024 + 1]);
      return { kind, label: `header length ${length}`, input: { bytes: withHeader(header, [7], length) } };
    }
    case "header": {
      const entries: string[] = [];
      let offset = 0;
      const count = rng.int(0, 5);
      for (let k = 0; k < count; k++) {
        const name = rng.pick(NAMES);
        const dtype = rng.pick(DTYPES);
        const shape = randomShape(rng);
        const size = Array.isArray(shape) && shape.every((s) => typeof s === "number") ? (shape as number[]).reduce((a, b) => a * b, 1) * 4 : 4;
        let offsets: unknown = [offset, offset + (Number.isFinite(size) ? size : 4)];
        if (rng.chance(0.3)) offsets = rng.pick([[0, 0], [offset + 1, offset], [-1, 4], [0, 2 ** 60], [0.5, 4], "0,4", [0], [0, 4, 8], null, [offset, offset + 4]]);
        const value = rng.chance(0.08) ? JSON.stringify(rng.pick(WEIRD_VALUES)) : `{"dtype":${JSON.stringify(dtype)},"shape":${JSON.stringify(shape)},"data_offsets":${JSON.stringify(offsets)}}`;
        entries.push(`${JSON.stringify(name)}:${value}`);
        if (Array.isArray(offsets) && typeof offsets[1] === "number") offset = offsets[1];
      }
      if (rng.chance(0.4)) entries.push(`"__metadata__":${JSON.stringify(rng.pick([{ k: "v" }, { k: 1 }, null, "meta", [], { __proto__: "x" }, { nested: { a: "b" } }]))}`);
      if (rng.chance(0.15) && entries.length) entries.push(entries[0]); // a duplicate key
      const header = rng.chance(0.05) ? rng.pick(["[]", "null", "1", '"s"', "{", "{}", "[".repeat(100_000)]) : `{${entries.join(",")}}`;
      const dataLength = Math.max(0, Math.min(offset, 4096)) + (rng.chance(0.2) ? rng.int(1, 9) : 0);
      return { kind, label: header.slice(0, 120), input: { bytes: withHeader(header, Array.from({ length: dataLength }, () => rng.int(0, 256))) } };
    }
    case "utf8": {
      const header = Array.from(Buffer.from('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'));
      header.splice(rng.int(1, header.length - 1), 0, ...rng.pick([[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]]));
      return { kind, label: "invalid UTF-8 in the header", input: { bytes: withHeader(header, [1]) } };
    }
    case "roundtrip": {
      const names = Array.from({ length: rng.int(1, 5) }, () => rng.pick(NAMES));
      const metadata = rng.chance(0.5) ? Object.fromEntries(Array.from({ length: rng.int(0, 3) }, () => [rng.pick(NAMES), rng.chance(0.8) ? rng.pick(["v", "", "é", "1"]) : rng.pick(WEIRD_VALUES)])) : undefined;
      return { kind, label: `names ${JSON.stringify(names)} metadata ${JSON.stringify(metadata)}`, input: { names, map: rng.chance(0.5), metadata, dtype: rng.pick(["float32", "int64", "uint8", "float16", "bool"]) } };
    }
    case "input": {
      const value = rng.pick(["string", "arraybuffer", "null", "number", "array", "object", "undefined"]);
      return { kind, label: `deserialize(${value})`, input: { value } };
    }
    default: {
      const file = rng.pick(SPECIAL_PATHS);
      return { kind: "file", label: `loadFile(${file})`, input: { file } };
    }
  }
}

// ---------- images ----------

function imageCase(rng: Rng): Omit<Case, "target" | "index"> {
  const mode = rng.chance(0.9) ? rng.pick(["unchanged", "gray", "rgb", "rgba"]) : rng.pick(["RGB", "", "constructor"]);
  const kind = rng.pick(["bitflip", "bitflip", "truncate", "random", "path", "huge"]);
  const format = rng.pick(["png", "jpeg", "webp", "gif"]);
  if (kind === "path") return { kind, label: `readImage(${mode})`, input: { file: rng.pick(SPECIAL_PATHS), mode } };
  if (kind === "random") return { kind, label: "random bytes", input: { random: Array.from({ length: rng.int(0, 200) }, () => rng.int(0, 256)), mode } };
  if (kind === "huge") return { kind, label: "a PNG header claiming 2^30 × 2^30 pixels", input: { huge: true, mode } };
  const flips = Array.from({ length: kind === "bitflip" ? rng.int(1, 12) : 0 }, () => [rng.next(), rng.int(0, 256)]);
  return { kind, label: `${format} ${kind}`, input: { format, flips, cut: kind === "truncate" ? rng.next() : undefined, mode } };
}

// ---------- VOC XML ----------

const VOC_XML = `<annotation><folder>VOC2012</folder><filename>2008_000001.jpg</filename>
<size><width>500</width><height>375</height><depth>3</depth></size>
<object><name>dog</name><pose>Left</pose><truncated>0</truncated><difficult>0</difficult>
<bndbox><xmin>10</xmin><ymin>20</ymin><xmax>200</xmax><ymax>300</ymax></bndbox></object>
<object><name>person</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>50</xmax><ymax>60</ymax></bndbox></object></annotation>`;

function vocCase(rng: Rng): Omit<Case, "target" | "index"> {
  const kind = rng.pick(["mutate", "mutate", "values", "entities", "deep", "truncate"]);
  let text = VOC_XML;
  if (kind === "mutate") {
    for (let k = rng.int(1, 6); k > 0; k--) {
      const at = rng.int(0, text.length);
      text = rng.chance(0.5) ? text.slice(0, at) + text.slice(at + rng.int(1, 12)) : text.slice(0, at) + rng.pick(["<", ">", "&", "</x>", "<object>", "\u0000", "]]>", "<!--", "&amp;", "&#0;", "&#x110000;", '"']) + text.slice(at);
    }
  } else if (kind === "values") {
    for (const tag of ["width", "height", "xmin", "ymin", "xmax", "ymax", "name", "difficult"]) {
      if (rng.chance(0.3)) text = text.replace(new RegExp(`<${tag}>[^<]*</${tag}>`), `<${tag}>${rng.pick(["", "-1", "NaN", "1e400", "0x10", "  7  ", "1,5", "constructor", "__proto__", "99999999999999999999", "3.5"])}</${tag}>`);
    }
  } else if (kind === "entities") {
    text = rng.pick([
      `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + text.replace("dog", "&xxe;"),
      `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>` + text.replace("dog", "&lol3;"),
      text.replace("dog", "&unknown;"), text.replace("dog", "d&#111;g"), text.replace("dog", "<![CDATA[dog]]>"),
    ]);
  } else if (kind === "deep") {
    const depth = rng.pick([100, 10_000, 100_000]);
    text = text.replace("<pose>Left</pose>", `${"<x>".repeat(depth)}${"</x>".repeat(depth)}`);
  } else {
    text = text.slice(0, rng.int(0, text.length));
  }
  return { kind, label: text.length > 120 ? `${text.slice(0, 100)}… (${text.length} chars)` : text, input: { text } };
}

// ---------- COCO JSON ----------

function cocoCase(rng: Rng): Omit<Case, "target" | "index"> {
  const kind = rng.pick(["field", "field", "field", "bigint", "structure", "text"]);
  const doc: Record<string, unknown> = {
    images: [{ id: 1, file_name: "1.png", width: 8, height: 6 }, { id: 2, file_name: "2.png", width: 8, height: 6 }],
    annotations: [{ id: 1, image_id: 1, category_id: 3, bbox: [1, 1, 4, 3], area: 12, iscrowd: 0 }, { id: 2, image_id: 2, category_id: 5, bbox: [0, 0, 8, 6] }],
    categories: [{ id: 3, name: "cat" }, { id: 5, name: "dog" }],
  };
  let text: string;
  if (kind === "field") {
    for (let k = rng.int(1, 4); k > 0; k--) {
      const section = rng.pick(["images", "annotations", "categories"]);
      const list = doc[section] as Record<string, unknown>[];
      const item = list[rng.int(0, list.length)];
      const field = rng.pick(Object.keys(item).concat(["__proto__", "constructor"]));
      item[field] = rng.pick([...WEIRD_VALUES, "../../etc/passwd", "/abs.png", [1, 2, 3], [1, 1, -4, 3], [NaN], [1e308, 1, 1, 1]]);
    }
    text = JSON.stringify(doc);
  } else if (kind === "bigint") {
    const big = rng.pick(["9007199254740993", "18446744073709551617", "1e400", "-0", "1.0"]);
    const where = rng.pick(["categories", "category_id", "image_id", "images"]);
    text = JSON.stringify(doc);
    if (where === "categories") text = text.replace('{"id":3,"name":"cat"}', `{"id":${big},"name":"cat"}`);
    if (where === "category_id") text = text.replace('"category_id":3', `"category_id":${big}`);
    if (where === "image_id") text = text.replace('"image_id":1', `"image_id":${big}`);
    if (where === "images") text = text.replace('"id":1,"file_name"', `"id":${big},"file_name"`);
  } else if (kind === "structure") {
    const section = rng.pick(["images", "annotations", "categories"]);
    doc[section] = rng.pick([null, {}, "x", 5, [null], [[]], Array.from({ length: 3 }, () => ({}))]);
    text = JSON.stringify(doc);
  } else {
    text = rng.pick(["", "null", "[]", "{", "[".repeat(100_000), '{"images":' + "[".repeat(50_000), "\ufeff{}", JSON.stringify(doc).slice(0, rng.int(0, 200))]);
  }
  return { kind, label: text.length > 120 ? `${text.slice(0, 100)}… (${text.length} chars)` : text, input: { text } };
}

// ---------- transform specs ----------

const SPEC_NAMES = [
  "Resize", "CenterCrop", "Pad", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation",
  "RandomAffine", "RandomPerspective", "ColorJitter", "Grayscale", "RandomGrayscale", "GaussianBlur", "RandomErasing", "RandomInvert",
  "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness", "RandomAutocontrast", "RandomEqualize", "ToDtype", "ConvertImageDtype",
  "Normalize", "AutoAugment", "RandAugment", "TrivialAugmentWide", "RandomApply", "RandomChoice", "RandomOrder", "Compose",
];
const BAD_NAMES = ["constructor", "__proto__", "toString", "valueOf", "hasOwnProperty", "Foo", "resize", "eval", "prototype"];
const KEYWORDS = ["p", "size", "scale", "ratio", "interpolation", "antialias", "padding", "fill", "padding_mode", "degrees", "expand", "center",
  "translate", "shear", "brightness", "contrast", "saturation", "hue", "kernel_size", "sigma", "value", "inplace", "bits", "threshold",
  "num_ops", "magnitude", "num_magnitude_bins", "policy", "dtype", "mean", "std", "transforms", "per_sample", "max_size", "__proto__", "constructor", "numOps"];

function specValue(rng: Rng, depth: number): string {
  const r = rng.next();
  if (r < 0.45) return String(rng.chance(0.8) ? rng.pick([0, 1, 2, 3, 4, 8, 0.5, 0.1, 0.9, 10, 45]) : rng.pick(["-1", "0", "1e9", "1e99", "100000", "1/0", "-0.5", "2.5", "1e-9", "3/4", "65536"]));
  if (r < 0.55) return rng.pick(["True", "False", "None", "InterpolationMode.BILINEAR", "InterpolationMode.NEAREST", "torch.float32", "torch.uint8", "torch.constructor", "'constant'", "'edge'", "'reflect'", "'x'", "AutoAugmentPolicy.IMAGENET", "nan", "inf"]);
  if (r < 0.8 || depth > 3) return `(${Array.from({ length: rng.int(0, 4) }, () => specValue(rng, depth + 1)).join(", ")})`;
  return `[${Array.from({ length: rng.int(1, 3) }, () => specStage(rng, depth + 1)).join(", ")}]`;
}

function specStage(rng: Rng, depth: number): string {
  const name = rng.chance(0.93) ? rng.pick(SPEC_NAMES) : rng.pick(BAD_NAMES);
  const args: string[] = [];
  for (let k = rng.int(0, 4); k > 0; k--) args.push(rng.chance(0.6) ? specValue(rng, depth) : `${rng.pick(KEYWORDS)}=${specValue(rng, depth)}`);
  return `${name}(${args.join(", ")})`;
}

/** A stage that is usually valid: torchvision's usual calls with drawn numbers (sometimes edge values). */
function plausibleStage(rng: Rng): string {
  const edge = () => rng.pick(["0", "-1", "1e9", "100000", "0.5", "2.5", "-0.5"]);
  const size = () => (rng.chance(0.9) ? String(rng.int(1, 20)) : edge());
  const unit = () => (rng.chance(0.9) ? String(rng.pick([0, 0.1, 0.25, 0.5, 0.9, 1])) : edge());
  const small = () => (rng.chance(0.9) ? String(rng.int(0, 6)) : edge());
  return rng.pick([
    () => `Resize(${size()})`, () => `Resize((${size()}, ${size()}), antialias=${rng.pick(["True", "False"])})`, () => `CenterCrop(${size()})`,
    () => `RandomCrop(${size()}, padding=${small()}, pad_if_needed=True)`, () => `RandomResizedCrop(${size()}, scale=(${unit()}, 1))`,
    () => `RandomHorizontalFlip(p=${unit()})`, () => `RandomVerticalFlip(${unit()})`, () => `ColorJitter(${unit()}, ${unit()}, ${unit()}, ${rng.pick(["0", "0.1", "0.5", "0.6"])})`,
    () => `RandomRotation(${rng.int(0, 360)}, expand=${rng.pick(["True", "False"])})`, () => `RandomAffine(${rng.int(0, 90)}, translate=(${unit()}, ${unit()}), scale=(0.5, ${rng.pick(["1", "2", "0"])}))`,
    () => `GaussianBlur(${rng.pick([1, 3, 5, 2, 0, -3])}, sigma=(0.1, ${unit()}))`, () => `RandomErasing(p=${unit()}, value=${rng.pick(["0", "'random'", "(1, 2, 3)"])})`,
    () => `Normalize((0.5, 0.5, 0.5), (${rng.pick(["0.2", "0", "-1", "1"])}, 0.2, 0.2))`, () => `RandAugment(${small()}, ${rng.int(0, 31)})`, () => "TrivialAugmentWide()",
    () => `AutoAugment(${rng.pick(["", "AutoAugmentPolicy.CIFAR10", "AutoAugmentPolicy.SVHN", "'x'"])})`, () => `RandomPosterize(${rng.int(0, 9)})`, () => `RandomSolarize(${rng.int(0, 256)})`,
    () => `Grayscale(${rng.pick([1, 3, 2])})`, () => `ToDtype(torch.float32, scale=True)`, () => `RandomPerspective(${unit()})`, () => `RandomInvert()`, () => `RandomEqualize()`,
    () => `Pad(${small()}, padding_mode=${rng.pick(["'constant'", "'edge'", "'reflect'", "'symmetric'", "'wrap'"])})`, () => `RandomAdjustSharpness(${unit()})`, () => `RandomAutocontrast()`,
    () => `RandomApply([${plausibleStage(rng)}], p=${unit()})`, () => `RandomChoice([${plausibleStage(rng)}, ${plausibleStage(rng)}])`,
  ])();
}

function specCase(rng: Rng): Omit<Case, "target" | "index"> {
  const kind = rng.pick(["plausible", "plausible", "plausible", "grammar", "grammar", "garbage", "deep"]);
  let spec: string;
  if (kind === "plausible") spec = Array.from({ length: rng.int(1, 4) }, () => plausibleStage(rng)).join(" | ");
  else if (kind === "grammar") spec = Array.from({ length: rng.int(1, 4) }, () => specStage(rng, 0)).join(" | ");
  else if (kind === "deep") {
    const depth = rng.pick([65, 1000, 100_000]);
    spec = rng.chance(0.5) ? `Normalize(${"(".repeat(depth)}1${")".repeat(depth)}, 1)` : `${"RandomApply([".repeat(depth)}RandomInvert()${"])".repeat(depth)}`;
  } else {
    spec = specStage(rng, 0);
    for (let k = rng.int(1, 5); k > 0; k--) {
      const at = rng.int(0, spec.length + 1);
      spec = spec.slice(0, at) + rng.pick(["(", ")", "[", "]", ",", "=", "|", "'", "\"", "-", "/", "*", "$", "\u0000", "é", " ", "..", "1e", "__proto__"]) + spec.slice(at);
    }
  }
  return { kind, label: spec.length > 160 ? `${spec.slice(0, 140)}… (${spec.length} chars)` : spec, input: { spec, float: rng.chance(0.3) } };
}

// ---------- run folders ----------

function runCase(rng: Rng): Omit<Case, "target" | "index"> {
  // One or two things wrong at a time, so every reader is reached.
  const sometimes = <T>(fine: T, bad: readonly T[]) => (rng.chance(0.3) ? rng.pick(bad) : fine);
  const metrics = sometimes("valid", ["absent", "partial", "garbage", "nulls", "binary", "dir", "fifo", "strings", "bom"]);
  const steps = sometimes("valid", ["absent", "partial", "garbage", "dir"]);
  const checkpoint = rng.chance(0.8) ? rng.pick(["absent", "valid", "garbage-bytes", "dir", "fifo", "meta-garbage", "meta-null", "meta-epoch-x", "meta-missing", "truncated"]) : "valid";
  const lock = sometimes("absent", ["garbage", "dead-pid", "other-host", "empty"]);
  const extras = sometimes("none", ["tmp-files", "checkpoints-file", "config-dir"]);
  const input = { metrics, steps, checkpoint, lock, extras };
  return { kind: `checkpoint:${checkpoint}`, label: JSON.stringify(input), input };
}

// ---------- command line ----------

const COMMAND_FLAGS: Record<string, string[]> = {
  info: [],
  "train classify": ["data", "data-root", "model", "width", "size", "epochs", "batch-size", "lr", "momentum", "weight-decay", "limit", "seed", "runs-dir", "name", "resume", "json"],
  finetune: ["weights", "arch", "data", "head-lr-mult", "freeze", "lr", "epochs", "batch-size", "weight-decay", "seed", "runs-dir", "name", "resume", "json"],
  augment: ["transform", "out", "n", "nrow", "seed", "json"],
  "data make": ["out", "count", "val-count", "size", "seed", "json"],
  "eval detect": ["gt", "dt", "json"],
  eval: ["weights", "arch", "limit", "batch-size", "data-root", "json"],
  predict: ["weights", "arch", "topk", "classes", "json"],
};
const FLAG_VALUES = ["0", "-1", "1", "2", "1e9", "1000000000", "99999999999999999999", "", "abc", "NaN", "Infinity", "1.5", "-0", "@fifo", "@dir", "/dev/zero", "@missing", "@photo", "@coco", "--json", "=x", "RandomHorizontalFlip()", "RandAugment(100000)", "constructor()", "resnet18-small", "fashion-mnist", "__proto__"];

function cliCase(rng: Rng): Omit<Case, "target" | "index"> {
  if (rng.chance(0.2)) {
    // A plausible command line, so the commands themselves run.
    const argv = rng.pick([
      () => ["augment", rng.pick(["@photo", "@photo", "/dev/zero", "@fifo"]), "--transform", Array.from({ length: rng.int(1, 3) }, () => plausibleStage(rng)).join(" | "), "--out", "x.png", "--n", String(rng.int(1, 5))],
      () => ["eval", "detect", "--gt", rng.pick(["@coco", "@coco", "@fifo", "/dev/zero"]), "--dt", rng.pick(["@cocodt", "@cocodt", "@dir"]), ...(rng.chance(0.5) ? ["--json"] : [])],
      () => ["info"],
      () => ["predict", "@photo", "--weights", rng.pick(["@fifo", "/dev/zero", "@missing", "@photo"]), "--topk", String(rng.int(1, 4))],
    ])();
    return { kind: `${argv[0]}${argv[0] === "eval" ? " detect" : ""} (plausible)`, label: argv.join(" "), input: { argv } };
  }
  const names = Object.keys(COMMAND_FLAGS);
  const command = rng.chance(0.95) ? rng.pick(names) : rng.pick(["train", "bogus", "help", "--help", "eval bogus", "data"]);
  const argv = command.split(" ");
  const flags = COMMAND_FLAGS[command] ?? [];
  for (let k = rng.int(0, 5); k > 0; k--) {
    const flag = rng.chance(0.9) && flags.length ? rng.pick(flags) : rng.pick(["bogus", "h", "help", "n", "Weights", "batch_size", "-", "__proto__"]);
    argv.push(`--${flag}`);
    if (rng.chance(0.85)) argv.push(rng.pick(FLAG_VALUES));
  }
  if (rng.chance(0.5)) argv.push(rng.pick(["@photo", "/dev/zero", "@fifo", "@dir", "@missing", "bananas", "shapes", "x"]));
  return { kind: command, label: argv.join(" "), input: { argv } };
}

// ---------- tensors (the parts of issue 10 in src/tensor, owned elsewhere) ----------

function tensorCase(rng: Rng): Omit<Case, "target" | "index"> {
  const kind = rng.pick(["tensor-values", "tensor-values", "shape", "shape", "view", "slice", "scope", "rng-state", "deep-nesting", "cyclic", "nan-int64", "threads"]);
  const input: Record<string, unknown> = { op: kind };
  switch (kind) {
    case "tensor-values": input.data = rng.pick([[1, 2, 3], [[1, 2], [3]], ["a"], [true, 1], [], [[]], [null], [1n as unknown as number].map(Number), [[1], [2, 3]], {}, "x", 5]); input.dtype = rng.pick(["float32", "int64", "uint8", "bool", "complex64", "float128", undefined]); break;
    case "shape": input.shape = rng.pick([[-1], [2 ** 31, 2 ** 31], [NaN], ["a"], [1.5], [2 ** 40], [0, -2], null, [1e10, 1e10, 1e10]]); break;
    case "view": input.args = rng.pick([[4, -1], [-1, -1], [7], [0], [2 ** 62], [1.5, 4]]); break;
    case "slice": input.spec = rng.pick([`${2 ** 62}:`, `:-${2 ** 62}`, "::0", "a:b", "1:2:3:4", `${2 ** 70}`, "-7"]); break;
    case "scope": input.value = rng.pick([5, null, "x", {}]); break;
    case "rng-state": input.value = rng.pick([null, 5, "x", []]); break;
    case "deep-nesting": input.depth = rng.pick([1000, 100_000]); break;
    case "cyclic": break;
    case "nan-int64": input.value = rng.pick(["NaN", "Infinity", "-Infinity", "1e300"]); break;
    case "threads": input.n = rng.pick([0, -1, 1.5, 2048, 1e9]); break;
  }
  // Tensor creation and threads are the cases that may crash or stall the process.
  // Huge shapes may allocate and thread counts may stall the process: alone, so the memory cap and timeout name them.
  return { kind, label: JSON.stringify(input).slice(0, 160), input, isolate: ["shape", "threads"].includes(kind) };
}

// ---------- DataLoader options ----------

function dataloaderCase(rng: Rng): Omit<Case, "target" | "index"> {
  const options: Record<string, unknown> = {};
  for (const key of ["batchSize", "shuffle", "dropLast", "numWorkers", "prefetchFactor", "timeout", "bogus"]) {
    if (!rng.chance(0.35)) continue;
    options[key] = rng.pick([0, -1, 1, 2, 1.5, 1e9, NaN, "x", null, true, {}]);
  }
  const length = rng.chance(0.8) ? 8 : rng.pick([0, -1, 1.5, NaN, 1e9, "8"]);
  if (rng.chance(0.15)) {
    // Worker counts and prefetch beyond flare's bounds (256 workers): refused before any thread starts.
    const workers = { ...options, numWorkers: rng.pick([257, 1000, 1e6, 2 ** 31, 2 ** 53]), workerModule: "/nonexistent/module.js" };
    if (rng.chance(0.5)) Object.assign(workers, { numWorkers: 1, prefetchFactor: rng.pick([1025, 1e9, 2 ** 53]) });
    return { kind: "workers", label: JSON.stringify({ length, options: workers }), input: { length, options: workers }, isolate: false };
  }
  const kind = length === 1e9 && options.shuffle !== undefined && options.shuffle !== false ? "huge-shuffle" : "options";
  return { kind, label: JSON.stringify({ length, options }), input: { length, options }, isolate: kind === "huge-shuffle" };
}

const MAKERS: Record<Target, (rng: Rng) => Omit<Case, "target" | "index">> = {
  safetensors: safetensorsCase, image: imageCase, voc: vocCase, coco: cocoCase, spec: specCase, run: runCase, cli: cliCase,
  tensor: tensorCase, dataloader: dataloaderCase, native: nativeCase,
};

/** Case `index` of `target` under `seed`. */
export function makeCase(target: Target, seed: number, index: number): Case {
  const rng = new Rng(hash(`${target}:${seed}:${index}`));
  return { target, index, ...MAKERS[target](rng) };
}
