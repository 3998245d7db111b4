// Options objects and positional arguments, checked the same way everywhere:
// an option flare does not take is a FlareError that names it and suggests the
// right one (the camelCase form of a snake_case name, or the closest name by
// edit distance), never silently ignored. PyTorch code that passes optional
// arguments by position (`nn.MaxPool2d(3, 2)`) maps onto the same names.
import { FlareError } from "./errors.js";
import { PYTORCH_SIGNATURES, type PyTorchSignature, type SignatureName } from "./pytorch_signatures.js";

export type { SignatureName };

/** "weight_decay" → "weightDecay", and a flag's "head-lr-mult" → "headLrMult". */
export function camelCase(name: string): string {
  return name.replace(/[_-]+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Levenshtein distance, for suggestions (names are short). */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The allowed name a misspelt or snake_case `name` most likely meant, if any. */
export function suggestName(name: string, allowed: readonly string[]): string | undefined {
  const camel = camelCase(name);
  if (camel !== name && allowed.includes(camel)) return camel;
  const lower = name.toLowerCase();
  const caseless = allowed.find((a) => a.toLowerCase() === lower || a.toLowerCase() === camel.toLowerCase());
  if (caseless) return caseless;
  let best: string | undefined, bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = editDistance(camel.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) { best = candidate; bestDistance = d; }
  }
  // A suggestion only when it is plausibly the same word.
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value !== "object") return `${typeof value} ${String(value)}`;
  const name = value.constructor?.name ?? "object";
  return `${/^[aeiou]/i.test(name) ? "an" : "a"} ${name}`;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value) &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

/**
 * Checks that `options` is undefined or a plain object whose own keys are all
 * in `allowed`; returns it (or {}). `what` names the function for the message:
 * `new optim.SGD(): unknown option "weight_decay" (did you mean "weightDecay"?)`.
 */
export function checkOptions<T extends object>(options: T | undefined | null, allowed: readonly string[], what: string): T {
  if (options === undefined || options === null) return {} as T;
  if (!isPlainObject(options))
    throw new FlareError(`${what}: options must be a plain object, got ${describeValue(options)}`, "E_TYPE");
  for (const key of Object.keys(options)) {
    if (allowed.includes(key)) continue;
    const hint = suggestName(key, allowed);
    throw new FlareError(
      `${what}: unknown option "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}; it takes ${allowed.length ? allowed.map((a) => `"${a}"`).join(", ") : "no options"}`,
      "E_ARGUMENT");
  }
  return options;
}

/**
 * PyTorch's calling convention for the optional arguments after the required
 * ones: `args` are what follows the required arguments — values by position in
 * PyTorch's order (`positional`, camelCase names), then at most one options
 * object. Returns the merged options; an argument given both ways, too many
 * positions, or an unknown option is a FlareError.
 *
 *   new nn.MaxPool2d(3, 2)                  → positionalOptions([2], ["stride", ...]) = { stride: 2 }
 *   new nn.MaxPool2d(3, { stride: 2 })      → { stride: 2 }
 *   new nn.MaxPool2d(3, 2, { padding: 1 })  → { stride: 2, padding: 1 }
 */
export function positionalOptions<T extends object>(args: readonly unknown[], positional: readonly string[], allowed: readonly string[], what: string): T {
  let values = args;
  while (values.length > 0 && values[values.length - 1] === undefined) values = values.slice(0, -1);
  let options: Record<string, unknown> = {};
  if (values.length > 0 && isPlainObject(values[values.length - 1])) {
    options = { ...checkOptions(values[values.length - 1] as Record<string, unknown>, allowed, what) };
    values = values.slice(0, -1);
  }
  if (values.length > positional.length)
    throw new FlareError(`${what}: takes at most ${positional.length} optional argument${positional.length === 1 ? "" : "s"} by position (${positional.join(", ")}), got ${values.length}; pass the rest in an options object`, "E_ARGUMENT");
  values.forEach((value, i) => {
    const name = positional[i];
    if (value === undefined) return;
    if (name in options) throw new FlareError(`${what}: "${name}" given both by position and in the options`, "E_ARGUMENT");
    options[name] = value;
  });
  return options as T;
}

// ---- PyTorch's own signatures (src/pytorch_signatures.ts, generated) -------

type Signatures = typeof PYTORCH_SIGNATURES;

/** Each PyTorch position typed from flare's options `O`; a parameter flare lacks takes only null. */
type PositionTypes<Names extends readonly string[], O> = {
  -readonly [K in keyof Names]: (Names[K] extends keyof O ? O[Names[K]] : never) | null | undefined
};
type Prefixes<T extends readonly unknown[]> = T extends readonly [...infer Init, unknown] ? T | Prefixes<Init> : [];
type WithOptions<T, O> = T extends readonly unknown[] ? [...T, O?] : never;

/**
 * The arguments after the required ones of PyTorch's `N` as flare takes them:
 * any prefix of PyTorch's optional positions (typed from `O`), then an optional
 * options object `O`. `...args: PyArgs<"nn.MaxPool2d", MaxPool2dOptions>`.
 */
export type PyArgs<N extends SignatureName, O> = WithOptions<Prefixes<PositionTypes<Signatures[N]["positional"], O>>, O>;
type Tail<T extends readonly unknown[]> = T extends readonly [unknown, ...infer Rest] ? Rest : [];
/** PyArgs for a function whose first optional PyTorch position flare takes as required (F.softmax's dim). */
export type PyArgsAfterFirst<N extends SignatureName, O> = WithOptions<Prefixes<PositionTypes<Tail<Signatures[N]["positional"]>, O>>, O>;

/** PyTorch parameters deprecated in favour of another, accepted only as null / undefined. */
const DEPRECATED: Readonly<Record<string, string>> = {
  sizeAverage: 'use reduction: "mean", "sum" or "none"',
  reduce: 'use reduction: "mean", "sum" or "none"',
};

/**
 * `positionalOptions` with the positions taken from PyTorch's signature of
 * `name` (a key of PYTORCH_SIGNATURES), so no order is copied by hand.
 * `allowed` are the option names flare implements. A position passed as null
 * means PyTorch's None: the default. A PyTorch parameter flare does not
 * implement (or a deprecated one such as size_average) is accepted only as
 * null / undefined, otherwise it is a FlareError that says so.
 *
 *   pytorchOptions("nn.CrossEntropyLoss", [null, null, -100, null, "none"], [...], "new nn.CrossEntropyLoss()")
 *     → { ignoreIndex: -100, reduction: "none" }
 */
export function pytorchOptions<T extends object>(name: SignatureName, args: readonly unknown[], allowed: readonly (keyof T & string)[], what = `new ${name}()`, skip = 0): T {
  const signature: PyTorchSignature = PYTORCH_SIGNATURES[name];
  const positional = skip === 0 ? signature.positional : signature.positional.slice(skip);
  const deprecated = [...signature.positional, ...signature.keyword].filter((n) => n in DEPRECATED);
  const positions = args.map((a) => (a === null ? undefined : a));
  const known: readonly string[] = allowed;
  const options = positionalOptions<Record<string, unknown>>(positions, positional, [...known, ...deprecated], what);
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const value = options[key];
    if (key in DEPRECATED) {
      if (value === null || value === undefined) { delete options[key]; continue; }
      throw new FlareError(`${what}: "${key}" is deprecated in PyTorch and not supported; ${DEPRECATED[key]}`, "E_ARGUMENT");
    }
    throw new FlareError(`${what}: PyTorch's "${key}" (position ${signature.positional.indexOf(key) + 1} of its optional arguments) is not supported by flare; pass null or leave it out`, "E_ARGUMENT");
  }
  return options as T;
}

/**
 * pytorchOptions for a torch.nn.functional call, where the common forms (nothing, null, or one
 * options object) are checked without building anything: `F.conv2d(x, w, b, 1, 1)`,
 * `F.conv2d(x, w, b, { padding: 1 })` and `F.mseLoss(x, y, null, null, "sum")` all read as PyTorch.
 * `skip` counts the leading PyTorch positions flare takes as required arguments.
 */
export function functionalOptions<T extends object>(name: SignatureName, args: readonly unknown[], allowed: readonly (keyof T & string)[], what: string, skip = 0): T {
  if (args.length === 0) return {} as T;
  if (args.length === 1) {
    const only = args[0];
    if (only === undefined || only === null) return {} as T;
    if (isPlainObject(only)) return checkOptions(only as T, allowed, what);
  }
  return pytorchOptions<T>(name, args, allowed, what, skip);
}

/** A function that takes no optional arguments: any argument after the required ones is a FlareError. */
export function noMoreArguments(rest: readonly unknown[], what: string): void {
  let n = rest.length;
  while (n > 0 && rest[n - 1] === undefined) n--;
  if (n > 0) throw new FlareError(`${what}: takes no further arguments, got ${n} more (${rest.slice(0, n).map(describeValue).join(", ")})`, "E_ARGUMENT");
}

/**
 * The option names of an options interface, checked by the compiler both ways
 * (a name missing from the list or not in `T` is a type error), so an allowed
 * list cannot drift from its interface: `optionNames<SGDOptions>({ lr: 1, momentum: 1, ... })`.
 */
export function optionNames<T>(names: { readonly [K in keyof Required<T>]: 1 }): string[] {
  return Object.keys(names);
}
