// Typed command-line flags on Node's util.parseArgs: each flag has a kind
// (string, int, number, boolean, list, choice) and bounds; values keep their
// kind ("--name 1" is the string "1"), unknown flags and values out of range are
// FlareErrors that name the flag, and the help text is made from the same table.
import { parseArgs } from "node:util";
import { FlareError } from "../errors.js";
import { suggestName, camelCase } from "../options.js";

export type FlagSpec = { description: string; placeholder?: string; required?: boolean } & (
  | { type: "string"; default?: string }
  /** `max`: the largest value accepted (counts that reach the OS, V8 or libtorch are bounded). */
  | { type: "int"; min?: number; max?: number; default?: number }
  | { type: "number"; min?: number; exclusiveMin?: boolean; default?: number }
  | { type: "boolean" }
  /** Comma-separated strings: "--freeze layer1,layer2" (or "--freeze 0"). */
  | { type: "list" }
  /** A string flag that may repeat: "--style a.jpg --style b.jpg" → ["a.jpg", "b.jpg"]. */
  | { type: "strings" }
  | { type: "choice"; choices: readonly string[]; default?: string }
);

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValue = string | number | boolean | string[];

export interface PositionalSpec { name: string; min: number; max: number; description: string }

export interface ParsedFlags {
  /** Flag values by camelCase name (--batch-size → batchSize); absent flags are absent. */
  values: Record<string, FlagValue>;
  positionals: string[];
  help: boolean;
}

export { camelCase };

const HELP: FlagSpec = { type: "boolean", description: "show this help" };

function convert(command: string, flag: string, spec: FlagSpec, text: string): FlagValue {
  const bad = (what: string) => new FlareError(`${command}: --${flag} must be ${what}, got '${text}'`, "E_ARGUMENT");
  switch (spec.type) {
    case "string":
      if (text === "") throw bad("a non-empty string");
      return text;
    case "int": {
      const atLeast = `an integer${spec.min !== undefined ? ` ≥ ${spec.min}` : ""}`;
      if (!/^[+-]?\d+$/.test(text.trim())) throw bad(atLeast);
      const value = Number(text);
      if (!Number.isSafeInteger(value) || (spec.min !== undefined && value < spec.min)) throw bad(atLeast);
      if (spec.max !== undefined && value > spec.max) throw bad(`an integer ≤ ${spec.max} (flare's limit)`);
      return value;
    }
    case "number": {
      const value = text.trim() === "" ? NaN : Number(text);
      const range = spec.min === undefined ? "" : spec.exclusiveMin ? ` > ${spec.min}` : ` ≥ ${spec.min}`;
      if (!Number.isFinite(value) || (spec.min !== undefined && (spec.exclusiveMin ? value <= spec.min : value < spec.min))) throw bad(`a number${range}`);
      return value;
    }
    case "list": {
      const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
      if (items.length === 0) throw bad("a comma-separated list");
      return items;
    }
    case "choice":
      if (!spec.choices.includes(text)) throw bad(`one of ${spec.choices.join(", ")}`);
      return text;
    default:
      throw new FlareError(`${command}: --${flag} is a flag without a value`, "E_ARGUMENT");
  }
}

/**
 * Parses `args` against the flag table: util.parseArgs (strict) does the
 * tokenising, this converts and checks each value. `command` names the command
 * in messages ("flare train classify").
 */
export function parseFlags(command: string, specs: FlagSpecs, args: string[], positional?: PositionalSpec): ParsedFlags {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = { help: { type: "boolean", short: "h" } };
  for (const [flag, spec] of Object.entries(specs)) options[flag] = { type: spec.type === "boolean" ? "boolean" : "string", ...(spec.type === "strings" ? { multiple: true } : {}) };
  let parsed: { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (error) {
    throw parseError(command, error as Error & { code?: string }, [...Object.keys(specs), "help"]);
  }
  const help = parsed.values.help === true;
  const values: Record<string, FlagValue> = {};
  for (const [flag, spec] of Object.entries(specs)) {
    const raw = parsed.values[flag];
    if (raw === undefined) continue;
    values[camelCase(flag)] = typeof raw === "boolean" ? raw
      : Array.isArray(raw) ? raw.map((r) => convert(command, flag, { ...spec, type: "string" } as FlagSpec, r) as string)
      : convert(command, flag, spec, raw);
  }
  // Defaults live in the table, so --help tells what a run without the flag does.
  for (const [flag, spec] of Object.entries(specs)) {
    if ("default" in spec && spec.default !== undefined && values[camelCase(flag)] === undefined) values[camelCase(flag)] = spec.default;
  }
  if (help) return { values, positionals: parsed.positionals, help };
  for (const [flag, spec] of Object.entries(specs)) {
    if (spec.required && values[camelCase(flag)] === undefined) throw new FlareError(`${command}: --${flag}${valueText(spec)} is required (see ${command} --help)`, "E_ARGUMENT");
  }
  const n = parsed.positionals.length;
  const max = positional?.max ?? 0, min = positional?.min ?? 0;
  if (n > max) {
    const extra = parsed.positionals.slice(max).map((p) => `'${p}'`).join(", ");
    throw new FlareError(`${command}: unexpected argument${n - max > 1 ? "s" : ""} ${extra} (see ${command} --help)`, "E_ARGUMENT");
  }
  if (n < min) throw new FlareError(`${command}: ${positional!.name} is required (see ${command} --help)`, "E_ARGUMENT");
  return { values, positionals: parsed.positionals, help };
}

/** util.parseArgs' errors in flare's words. */
function parseError(command: string, error: Error & { code?: string }, flags: string[]): FlareError {
  const token = /'(--?[^' <]*)/.exec(error.message)?.[1];
  const see = `(see ${command} --help)`;
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const hint = token ? suggestName(token.replace(/^--?/, ""), flags) : undefined;
      return new FlareError(`${command}: unknown flag ${token ?? error.message}${hint ? ` (did you mean --${hint}?)` : ""} ${see}`, "E_ARGUMENT");
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/does not take an argument/.test(error.message)) return new FlareError(`${command}: ${token} takes no value ${see}`, "E_ARGUMENT");
      if (/ambiguous/.test(error.message)) return new FlareError(`${command}: ${token} needs a value; one that starts with '-' is written ${token}=-VALUE`, "E_ARGUMENT");
      return new FlareError(`${command}: ${token} needs a value ${see}`, "E_ARGUMENT");
    default:
      return new FlareError(`${command}: ${error.message}`, "E_ARGUMENT");
  }
}

/** How help shows a flag's value: its placeholder, else its kind. */
function valueText(spec: FlagSpec): string {
  if (spec.type === "boolean") return "";
  return ` ${spec.placeholder ?? (spec.type === "choice" ? spec.choices.join("|") : spec.type === "list" ? "A,B" : spec.type === "strings" ? "VALUE" : spec.type === "int" ? "N" : spec.type === "number" ? "X" : "VALUE")}`;
}

/** The help text of a command: usage line, description, positionals and flags with their kinds and defaults. */
export function formatHelp(command: string, summary: string, specs: FlagSpecs, positional?: PositionalSpec): string {
  const required = Object.entries(specs).filter(([, s]) => s.required).map(([f, s]) => `--${f}${valueText(s)}`);
  const usage = [command, ...(positional ? [positional.min > 0 ? positional.name : `[${positional.name}]`] : []), ...required, "[flags]"].join(" ");
  const rows: [string, string][] = [];
  if (positional) rows.push([positional.name, positional.description]);
  for (const [flag, spec] of [...Object.entries(specs), ["help", HELP] as const]) {
    const value = valueText(spec);
    const notes = [
      spec.required ? "required" : "",
      "default" in spec && spec.default !== undefined ? `default ${spec.default}` : "",
    ].filter(Boolean).join(", ");
    rows.push([`--${flag}${flag === "help" ? ", -h" : ""}${value}`, `${spec.description}${notes ? ` (${notes})` : ""}`]);
  }
  const width = Math.min(34, Math.max(...rows.map(([left]) => left.length)) + 2);
  const lines = rows.map(([left, right]) => (left.length + 2 > width ? `  ${left}\n  ${" ".repeat(width)}${right}` : `  ${left.padEnd(width)}${right}`));
  return `usage: ${usage}\n\n${summary}\n\n${lines.join("\n")}\n`;
}

/**
 * A repeatable KEY=VALUE flag ("--model-option boxBatchSizePerImage=128") as an object: each value
 * read as JSON where it is JSON (512, 0.05, true, [32,64]), else as a string; a missing "=" or a key
 * given twice is a FlareError.
 */
export function keyValueFlag(items: string[], command: string, flag: string): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const item of items) {
    const at = item.indexOf("=");
    if (at <= 0) throw new FlareError(`${command}: --${flag} must be KEY=VALUE (such as boxBatchSizePerImage=128), got '${item}'`, "E_ARGUMENT");
    const key = item.slice(0, at).trim(), text = item.slice(at + 1).trim();
    if (key in options) throw new FlareError(`${command}: --${flag} ${key} is given twice`, "E_ARGUMENT");
    try { options[key] = JSON.parse(text); } catch { options[key] = text; }
  }
  return options;
}
