// The fuzz child process: runs cases of one target and writes one JSON line per
// finished case to stdout, synchronously (so a crash loses no finished result).
// Usage: node runner.js TARGET SEED INDEX[,INDEX...]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir, hostname } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/index.js";
import { FlareError, nn, data as flareData } from "../../src/index.js";
import { safetensors } from "../../src/io/index.js";
import { decodeImage, readImage, encodeImage, transforms, datasets } from "../../src/vision/index.js";
import { RunFolder, saveCheckpoint, loadCheckpoint } from "../../src/engine/index.js";
import { parseCommandLine } from "../../src/cli/commands.js";
import { makeCase, type Case, type Target } from "./cases.js";

export type Outcome = "ok" | "flare" | "other" | "lost" | "crash" | "hang" | "memory";
export interface Result { index: number; outcome: Outcome; code?: string; message?: string }

/** Thrown by a case whose input came back different without an error (silent data loss). */
class Lost extends Error {}

const work = mkdtempSync(path.join(tmpdir(), "flare-fuzz-"));
const fifo = path.join(work, "fifo");
const dir = path.join(work, "dir");
const photo = path.join(work, "photo.png");
const cocoRoot = path.join(work, "coco");
const validCheckpoint = path.join(work, "valid.safetensors");
const cocoGt = fileURLToPath(new URL("../../../tests/fixtures/cocoeval/float_gt.json", import.meta.url));
const cocoDt = fileURLToPath(new URL("../../../tests/fixtures/cocoeval/float_dt.json", import.meta.url));

function resolvePath(p: string): string {
  return ({ "@fifo": fifo, "@dir": dir, "@missing": path.join(work, "missing"), "@photo": photo, "@coco": cocoGt, "@cocodt": cocoDt } as Record<string, string>)[p] ?? p;
}

async function setup(target: Target): Promise<void> {
  execFileSync("mkfifo", [fifo]);
  mkdirSync(dir);
  const image = torch.randint(0, 256, [3, 6, 8], { dtype: "uint8" });
  const png = await encodeImage(image, "png");
  writeFileSync(photo, png);
  mkdirSync(cocoRoot);
  writeFileSync(path.join(cocoRoot, "1.png"), png);
  writeFileSync(path.join(cocoRoot, "2.png"), png);
  image.dispose();
  if (target === "run") saveCheckpoint(validCheckpoint, { model: new nn.Linear(2, 2) }, { epoch: 1, globalStep: 4 });
}

const BASE_IMAGES: Record<string, Buffer> = {};
async function baseImage(format: string): Promise<Buffer> {
  if (!BASE_IMAGES[format]) {
    const sharp = (await import("sharp")).default;
    const raw = Buffer.from(Array.from({ length: 12 * 10 * 3 }, (_, i) => (i * 53) & 0xff));
    BASE_IMAGES[format] = await sharp(raw, { raw: { width: 12, height: 10, channels: 3 } }).toFormat(format as "png").toBuffer();
  }
  return BASE_IMAGES[format];
}

function hugePng(): Buffer {
  // Signature + an IHDR claiming 2^30 × 2^30 (its CRC left wrong: decoders must refuse either way).
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8); b.write("IHDR", 12, "latin1"); b.writeUInt32BE(2 ** 30, 16); b.writeUInt32BE(2 ** 30, 20);
  b[24] = 8; b[25] = 2;
  return b;
}

type Input = Record<string, unknown>;

async function runSafetensors(c: Case): Promise<void> {
  const input = c.input as Input;
  if (c.kind === "file") { torch.dispose([...safetensors.loadFile(resolvePath(input.file as string)).values()]); return; }
  if (c.kind === "input") {
    const value = { string: "bytes", arraybuffer: new ArrayBuffer(16), null: null, number: 5, array: [1, 2], object: {}, undefined }[input.value as string];
    safetensors.deserialize(value as never);
    return;
  }
  if (c.kind === "roundtrip") {
    const names = input.names as string[];
    const made = names.map((_, k) => torch.tidy(() => torch.arange(0, k + 2).to(input.dtype as never)));
    try {
      const tensors: Map<string, torch.Tensor> | Record<string, torch.Tensor> = input.map ? new Map() : {};
      names.forEach((name, k) => {
        if (tensors instanceof Map) tensors.set(name, made[k]);
        else Object.defineProperty(tensors, name, { value: made[k], enumerable: true, writable: true, configurable: true });
      });
      const bytes = safetensors.serialize(tensors as never, input.metadata as never);
      const back = safetensors.deserialize(bytes);
      try {
        const expected = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
        if (back.tensors.size !== expected.length) throw new Lost(`${expected.length} tensors written, ${back.tensors.size} read`);
        for (const [name, t] of expected) {
          const got = back.tensors.get(name);
          if (!got || JSON.stringify(Array.from(got.dataSync() as ArrayLike<unknown>, String)) !== JSON.stringify(Array.from(t.dataSync() as ArrayLike<unknown>, String)))
            throw new Lost(`tensor ${JSON.stringify(name)} changed`);
        }
        for (const [key, value] of Object.entries((input.metadata ?? {}) as Record<string, string>))
          if (back.metadata[key] !== value) throw new Lost(`metadata ${JSON.stringify(key)} changed`);
      } finally {
        torch.dispose([...back.tensors.values()]);
      }
    } finally {
      torch.dispose(made);
    }
    return;
  }
  const { tensors } = safetensors.deserialize(Buffer.from(input.bytes as number[]));
  torch.dispose([...tensors.values()]);
}

async function runImage(c: Case): Promise<void> {
  const input = c.input as Input;
  const options = { mode: input.mode as never };
  let image: torch.Tensor;
  if (c.kind === "path") image = await readImage(resolvePath(input.file as string), options);
  else if (c.kind === "random") image = await decodeImage(Buffer.from(input.random as number[]), options);
  else if (c.kind === "huge") image = await decodeImage(hugePng(), options);
  else {
    let bytes = Buffer.from(await baseImage(input.format as string));
    for (const [at, value] of input.flips as [number, number][]) bytes[Math.floor(at * bytes.length)] = value;
    if (input.cut !== undefined) bytes = bytes.subarray(0, Math.floor((input.cut as number) * bytes.length));
    image = await decodeImage(bytes, options);
  }
  image.dispose();
}

async function runVoc(c: Case): Promise<void> {
  datasets.parseVocAnnotation((c.input as Input).text as string, "fuzz.xml");
}

async function runCoco(c: Case): Promise<void> {
  const annFile = path.join(work, `ann-${c.index}.json`);
  writeFileSync(annFile, (c.input as Input).text as string);
  try {
    const ds = new datasets.CocoDetection({ root: cocoRoot, annFile });
    for (let i = 0; i < ds.length; i++) {
      const [image, target] = await ds.get(i);
      torch.dispose([image, target.boxes, target.labels, target.iscrowd, target.area]);
    }
  } finally {
    rmSync(annFile, { force: true });
  }
}

async function runSpec(c: Case): Promise<void> {
  const input = c.input as Input;
  const pipeline = transforms.parseTransforms(input.spec as string);
  torch.manualSeed(c.index);
  torch.tidy(() => {
    const image = input.float ? torch.rand([3, 12, 10]) : torch.randint(0, 256, [3, 12, 10], { dtype: "uint8" });
    pipeline.forward(image);
  });
}

async function runRun(c: Case): Promise<void> {
  const input = c.input as Record<string, string>;
  const run = path.join(work, `run-${c.index}`);
  mkdirSync(run);
  const put = (name: string, how: string, valid: string) => {
    const file = path.join(run, name);
    if (how === "absent") return;
    if (how === "dir") { mkdirSync(file, { recursive: true }); return; }
    if (how === "fifo") { mkdirSync(path.dirname(file), { recursive: true }); execFileSync("mkfifo", [file]); return; }
    const text = ({ valid, partial: valid + '{"epoch":9,"st', garbage: "garbage\n", nulls: "null\nnull\n", binary: "\u0000\u00ff\u0001", strings: '{"epoch":"0","loss":"x"}\n', bom: "\ufeff" + valid } as Record<string, string>)[how] ?? "";
    writeFileSync(file, text);
  };
  put("metrics.jsonl", input.metrics, '{"epoch":0,"loss":1}\n{"epoch":1,"loss":0.5}\n');
  put("steps.jsonl", input.steps, '{"epoch":0,"step":1,"loss":1}\n');
  if (input.extras === "checkpoints-file") writeFileSync(path.join(run, "checkpoints"), "x");
  if (input.extras === "config-dir") mkdirSync(path.join(run, "config.json"));
  if (input.extras === "tmp-files") { mkdirSync(path.join(run, "checkpoints"), { recursive: true }); writeFileSync(path.join(run, "checkpoints", "last.safetensors.1.2.tmp"), "x"); }
  const last = path.join(run, "checkpoints", "last.safetensors");
  if (input.checkpoint !== "absent" && input.extras !== "checkpoints-file") {
    mkdirSync(path.dirname(last), { recursive: true });
    const { tensors, metadata } = safetensors.loadFileWithMetadata(validCheckpoint);
    try {
      const meta = JSON.parse(metadata["flare.checkpoint"]);
      switch (input.checkpoint) {
        case "valid": safetensors.saveFile(tensors, last, metadata); break;
        case "garbage-bytes": writeFileSync(last, "garbage garbage garbage"); break;
        case "dir": mkdirSync(last); break;
        case "fifo": execFileSync("mkfifo", [last]); break;
        case "meta-garbage": safetensors.saveFile(tensors, last, { ...metadata, "flare.checkpoint": "{garbage" }); break;
        case "meta-null": safetensors.saveFile(tensors, last, { ...metadata, "flare.checkpoint": "null" }); break;
        case "meta-epoch-x": safetensors.saveFile(tensors, last, { ...metadata, "flare.checkpoint": JSON.stringify({ ...meta, epoch: "x" }) }); break;
        case "meta-missing": safetensors.saveFile(tensors, last, {}); break;
        case "truncated": writeFileSync(last, safetensors.serialize(tensors, metadata).subarray(0, 40)); break;
      }
    } finally {
      torch.dispose([...tensors.values()]);
    }
  }
  const lock = path.join(run, ".lock");
  if (input.lock === "garbage") writeFileSync(lock, "{{{");
  if (input.lock === "empty") writeFileSync(lock, "");
  if (input.lock === "dead-pid") writeFileSync(lock, JSON.stringify({ pid: 4194303, host: hostname() }));
  if (input.lock === "other-host") writeFileSync(lock, JSON.stringify({ pid: 1, host: "elsewhere" }));
  const folder = new RunFolder(run);
  try {
    folder.readMetrics();
    folder.readSteps();
    if (folder.hasCheckpoint()) loadCheckpoint(folder.lastCheckpoint, { model: new nn.Linear(2, 2) });
    folder.truncateMetrics(-1);
    folder.appendMetrics({ epoch: 0, loss: 1 });
    folder.writePlot();
  } finally {
    folder.release();
  }
}

// Commands run for real only where that is quick on any input (the others are parsed only).
const RUN_COMMANDS = new Set(["info", "augment", "eval detect", "predict"]);

async function runCli(c: Case): Promise<void> {
  const argv = ((c.input as Input).argv as string[]).map((a) => {
    const p = resolvePath(a);
    return p;
  });
  // Outputs go into the work folder only.
  for (let i = 0; i < argv.length - 1; i++) if (argv[i] === "--out") argv[i + 1] = path.join(work, `out-${c.index}.png`);
  const parsed = parseCommandLine(argv);
  if (parsed.kind !== "run" || !RUN_COMMANDS.has(parsed.command.name)) return;
  await parsed.command.run(parsed.flags.values, parsed.flags.positionals, () => {});
}

async function runTensor(c: Case): Promise<void> {
  const input = c.input as Input;
  const made: torch.Tensor[] = [];
  try {
    switch (input.op) {
      case "tensor-values": made.push(torch.tensor(input.data, { dtype: input.dtype as never })); break;
      case "shape": made.push(torch.zeros(input.shape as number[])); break;
      case "view": { const x = torch.arange(0, 6); made.push(x, x.view(...(input.args as number[]))); break; }
      case "slice": { const x = torch.arange(0, 6); made.push(x, x.index(input.spec as string)); break; }
      case "scope": torch.tidy(input.value as never); torch.keep(input.value as never); break;
      case "rng-state": torch.setRngState(input.value as never); break;
      case "deep-nesting": {
        let nested: unknown = [1];
        for (let d = 0; d < (input.depth as number); d++) nested = [nested];
        made.push(torch.tensor(nested));
        break;
      }
      case "cyclic": { const a: unknown[] = [1, 2]; a.push(a); made.push(torch.tensor(a)); break; }
      case "nan-int64": {
        const t = torch.tensor([Number(input.value)], { dtype: "int64" });
        made.push(t);
        throw new Lost(`${String(input.value)} became int64 ${String((t.dataSync() as BigInt64Array)[0])} without an error`);
      }
      case "threads": {
        const before = torch.getNumThreads();
        try { torch.setNumThreads(input.n as number); } finally { torch.setNumThreads(before); }
        break;
      }
    }
  } finally {
    for (const t of made) { try { t.dispose(); } catch { /* a view of a disposed base */ } }
  }
}

async function runDataloader(c: Case): Promise<void> {
  const input = c.input as Input;
  const length = input.length as number;
  const dataset = { length, get: (i: number) => torch.tensor([i]) };
  const loader = new flareData.DataLoader(dataset as never, input.options as never);
  for await (const batch of loader) {
    torch.dispose(Array.isArray(batch) ? batch : [batch]);
    break;
  }
}

const RUNNERS: Record<Target, (c: Case) => Promise<void>> = {
  safetensors: runSafetensors, image: runImage, voc: runVoc, coco: runCoco, spec: runSpec, run: runRun, cli: runCli,
  tensor: runTensor, dataloader: runDataloader,
};

export async function runOne(c: Case): Promise<Result> {
  try {
    await RUNNERS[c.target](c);
    return { index: c.index, outcome: "ok" };
  } catch (error) {
    if (error instanceof Lost) return { index: c.index, outcome: "lost", message: error.message };
    if (error instanceof FlareError) return { index: c.index, outcome: "flare", code: error.code, message: error.message.slice(0, 300) };
    const e = error as Error;
    return { index: c.index, outcome: "other", code: e?.name ?? typeof error, message: String(e?.message ?? error).slice(0, 300) };
  }
}

async function main(): Promise<void> {
  const [target, seedText, indicesText] = process.argv.slice(2);
  const seed = Number(seedText);
  await setup(target as Target);
  // Warnings (a dropped partial log line) are expected output here, not noise for the parent.
  process.removeAllListeners("warning");
  for (const index of indicesText.split(",").map(Number)) {
    const result = await runOne(makeCase(target as Target, seed, index));
    writeSync(1, JSON.stringify(result) + "\n");
  }
  rmSync(work, { recursive: true, force: true });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().then(() => process.exit(0), (error) => { writeSync(2, `fuzz runner failed: ${(error as Error)?.stack ?? String(error)}\n`); process.exit(3); });
}
