// toString() like PyTorch's repr: `tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64)`.
import type { Tensor } from "./tensor.js";

const SUMMARIZE_ABOVE = 1000;
const EDGE_ITEMS = 3;
const DEFAULT_DTYPES = new Set(["float32", "int64", "bool"]);

export function formatTensor(t: Tensor): string {
  const dtype = t.dtype;
  const shape = t.shape;
  const values = Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);
  const summarize = values.length > SUMMARIZE_ABOVE;
  const format = elementFormatter(dtype, summarize ? visibleValues(values, shape) : values);
  const body = shape.length === 0 ? format(values[0]) : values.length === 0 ? "[]" : formatDims(values, shape, 0, 0, format, "tensor(".length, summarize);
  const suffix: string[] = [];
  if (t.device !== "cpu") suffix.push(`device='${t.device}'`);
  if (values.length === 0 && shape.length !== 1) suffix.push(`size=(${shape.join(", ")})`);
  if (!DEFAULT_DTYPES.has(dtype)) suffix.push(`dtype=torch.${dtype}`);
  const gradFn = t.gradFn;
  if (gradFn) suffix.push(`grad_fn=<${gradFn}>`);
  else if (t.requiresGrad) suffix.push("requires_grad=True");
  return `tensor(${body}${suffix.length ? ", " + suffix.join(", ") : ""})`;
}

function visibleValues(values: number[], shape: number[]): number[] {
  // The edge items that a summarized print shows, for choosing the number format.
  const out: number[] = [];
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const walk = (d: number, offset: number): void => {
    if (d === shape.length) { out.push(values[offset]); return; }
    const n = shape[d];
    const indices = n > 2 * EDGE_ITEMS ? [...Array(EDGE_ITEMS).keys(), ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i)] : [...Array(n).keys()];
    for (const i of indices) walk(d + 1, offset + i * strides[d]);
  };
  walk(0, 0);
  return out;
}

function elementFormatter(dtype: string, shown: number[]): (v: number) => string {
  if (dtype === "bool") return (v) => (v ? "True" : "False");
  const isFloat = dtype.startsWith("float") || dtype === "bfloat16";
  if (!isFloat) {
    const width = Math.max(...shown.map((v) => String(v).length), 1);
    return (v) => String(v).padStart(width);
  }
  const finite = shown.filter((v) => Number.isFinite(v));
  const nonzero = finite.filter((v) => v !== 0).map(Math.abs);
  const allIntegers = finite.every((v) => Number.isInteger(v));
  const max = nonzero.length ? Math.max(...nonzero) : 0;
  const min = nonzero.length ? Math.min(...nonzero) : 0;
  let formatOne: (v: number) => string;
  if (allIntegers) {
    formatOne = max > 1e8 ? (v) => sci(v) : (v) => (Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v));
  } else if (max / Math.max(min, 1e-300) > 1000 || max > 1e8 || min < 1e-4) {
    formatOne = (v) => sci(v);
  } else {
    formatOne = (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
  }
  const width = Math.max(...shown.map((v) => formatOne(v).length), 1);
  return (v) => formatOne(v).padStart(width);
}

function special(v: number): string {
  return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

function sci(v: number): string {
  if (!Number.isFinite(v)) return special(v);
  const [mantissa, exponent] = v.toExponential(4).split("e");
  const e = Number(exponent);
  return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

function formatDims(values: number[], shape: number[], d: number, offset: number, format: (v: number) => string,
  indent: number, summarize: boolean): string {
  const n = shape[d];
  const stride = shape.slice(d + 1).reduce((a, b) => a * b, 1);
  const cut = summarize && n > 2 * EDGE_ITEMS;
  const indices = cut ? [...Array(EDGE_ITEMS).keys(), -1, ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i)] : [...Array(n).keys()];
  if (d === shape.length - 1) {
    return "[" + indices.map((i) => (i < 0 ? "..." : format(values[offset + i]))).join(", ") + "]";
  }
  const separator = "," + "\n".repeat(shape.length - d - 1) + " ".repeat(indent + d + 1);
  return "[" + indices.map((i) => (i < 0 ? "..." : formatDims(values, shape, d + 1, offset + i * stride, format, indent, summarize))).join(separator) + "]";
}
