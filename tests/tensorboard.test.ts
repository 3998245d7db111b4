// TensorBoard event files: CRC-32C, the golden records of Google's protobuf
// (scripts/fixtures/tensorboard_events.py), and the Trainer's event file read
// back by a reader written here (framing, masked CRCs and protobuf decoded
// without flare's code), with resume and the option to turn it off.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { inflateSync } from "node:zlib";
import * as torch from "../src/index.js";
import { nn, optim, F, FlareError } from "../src/index.js";
import { Trainer, supervisedStep, SummaryWriter, crc32c, maskedCrc32c, encodeRecord, encodeEvent, truncateEventFiles } from "../src/engine/index.js";
import { stylize } from "../src/tasks/stylize.js";
import { assertFlareError, fixturePath, flareCli, lastJson, ROOT, writeTinyCifar } from "./helpers.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "flare-tb-"));
const lines = (file: string) => readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));

// ---- an independent reader: bit-by-bit CRC-32C, TFRecord framing, protobuf wire format ----

function crcBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (c & 1 ? 0x82f63b78 : 0);
  }
  return (c ^ 0xffffffff) >>> 0;
}
const mask = (c: number) => ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) % 2 ** 32;

/** Splits a file into its records, checking both masked CRCs of each. */
function readRecords(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < bytes.length) {
    assert.ok(i + 12 <= bytes.length, `a whole header at byte ${i}`);
    const n = Number(bytes.readBigUInt64LE(i));
    assert.equal(bytes.readUInt32LE(i + 8), mask(crcBitwise(bytes.subarray(i, i + 8))), `length CRC at byte ${i}`);
    const data = bytes.subarray(i + 12, i + 12 + n);
    assert.equal(data.length, n, `a whole record at byte ${i}`);
    assert.equal(bytes.readUInt32LE(i + 12 + n), mask(crcBitwise(data)), `data CRC at byte ${i}`);
    out.push(data);
    i += 16 + n;
  }
  return out;
}

type Field = { field: number; wire: number; value: bigint | Buffer };
function fields(data: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = () => {
    let v = 0n, s = 0n;
    for (;;) { const b = data[i++]; v |= BigInt(b & 0x7f) << s; s += 7n; if (!(b & 0x80)) return v; }
  };
  while (i < data.length) {
    const key = Number(varint());
    const field = key >> 3, wire = key & 7;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) { out.push({ field, wire, value: data.subarray(i, i + 8) }); i += 8; }
    else if (wire === 5) { out.push({ field, wire, value: data.subarray(i, i + 4) }); i += 4; }
    else if (wire === 2) { const n = Number(varint()); out.push({ field, wire, value: data.subarray(i, i + n) }); i += n; }
    else throw new Error(`wire type ${wire}`);
  }
  return out;
}

interface Decoded { wallTime: number; step: number; fileVersion?: string; sessionStatus?: number; values: { tag: string; simple?: number; image?: { height: number; width: number; colorspace: number; png: Buffer } }[] }
function decodeEvent(data: Buffer): Decoded {
  const e: Decoded = { wallTime: 0, step: 0, values: [] };
  for (const f of fields(data)) {
    if (f.field === 1) e.wallTime = (f.value as Buffer).readDoubleLE(0);
    else if (f.field === 2) e.step = Number(BigInt.asIntN(64, f.value as bigint));
    else if (f.field === 3) e.fileVersion = (f.value as Buffer).toString("utf8");
    else if (f.field === 7) e.sessionStatus = Number(fields(f.value as Buffer).find((g) => g.field === 1)?.value ?? 0n);
    else if (f.field === 5) {
      for (const v of fields(f.value as Buffer)) {
        assert.equal(v.field, 1, "Summary.value");
        const value: Decoded["values"][number] = { tag: "" };
        for (const g of fields(v.value as Buffer)) {
          if (g.field === 1) value.tag = (g.value as Buffer).toString("utf8");
          else if (g.field === 2) value.simple = (g.value as Buffer).readFloatLE(0);
          else if (g.field === 4) {
            const img: { height: number; width: number; colorspace: number; png: Buffer } = { height: 0, width: 0, colorspace: 0, png: Buffer.alloc(0) };
            for (const h of fields(g.value as Buffer)) {
              if (h.field === 1) img.height = Number(h.value);
              else if (h.field === 2) img.width = Number(h.value);
              else if (h.field === 3) img.colorspace = Number(h.value);
              else if (h.field === 4) img.png = h.value as Buffer;
            }
            value.image = img;
          }
        }
        e.values.push(value);
      }
    } else throw new Error(`unexpected Event field ${f.field}`);
  }
  return e;
}

const eventFiles = (dir: string) => readdirSync(dir).filter((n) => n.startsWith("events.out.tfevents.")).sort().map((n) => path.join(dir, n));
const readEvents = (file: string) => readRecords(readFileSync(file)).map(decodeEvent);
/** tag → step → values, over every event file of a folder. */
function scalarsOf(dir: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const file of eventFiles(dir)) for (const e of readEvents(file)) for (const v of e.values) {
    if (v.simple === undefined) continue;
    if (!out.has(v.tag)) out.set(v.tag, []);
    out.get(v.tag)!.push([e.step, v.simple]);
  }
  return out;
}

// ---- CRC and the golden records ----

test("crc32c: the known vectors; masked as TFRecord masks it", () => {
  assert.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 37 + 11) & 0xff));
  assert.equal(crc32c(bytes), crcBitwise(bytes), "the table CRC equals the bit-by-bit one");
  assert.equal(maskedCrc32c(bytes), mask(crcBitwise(bytes)));
  // The masked CRC of "123456789" worked by hand: rotr(0xE3069283, 15) + 0xa282ead8 mod 2^32.
  assert.equal(maskedCrc32c(Buffer.from("123456789")), (((0xe3069283 >>> 15) | ((0xe3069283 << 17) >>> 0)) + 0xa282ead8) % 2 ** 32);
});

interface GoldenEvent { kind: string; tag?: string; value?: number | string; step?: number; walltime: number; png?: string; record: string }
const golden = (JSON.parse(readFileSync(fixturePath("tensorboard_events.json"), "utf8")) as { events: GoldenEvent[] }).events;
const numberOf = (v: number | string) => typeof v === "number" ? v : ({ "-0": -0, nan: NaN, inf: Infinity, "-inf": -Infinity } as Record<string, number>)[v];

test("golden: flare's records equal protobuf's byte for byte (file_version, purge markers, scalars, image)", () => {
  assert.ok(golden.length >= 18, "the fixture's events");
  for (const g of golden) {
    const bytes = g.kind === "file_version" ? encodeRecord(encodeEvent({ wallTime: g.walltime, fileVersion: "brain.Event:2" }))
      : g.kind === "purge_version" ? encodeRecord(encodeEvent({ wallTime: g.walltime, step: g.step, fileVersion: "brain.Event:2" }))
      : g.kind === "purge_start" ? encodeRecord(encodeEvent({ wallTime: g.walltime, step: g.step, sessionLog: { status: 1 } }))
      : undefined;
    if (bytes) assert.equal(bytes.toString("hex"), g.record, g.kind);
  }
});

test("golden: a SummaryWriter's file after its file_version event equals the golden records", () => {
  const dir = tmp();
  const w = new SummaryWriter(dir);
  const scalars = golden.filter((g) => g.kind === "scalar" || g.kind === "image");
  for (const g of scalars) {
    if (g.kind === "scalar") w.addScalar(g.tag!, numberOf(g.value!), g.step, g.walltime);
    else w.addImage(g.tag!, Buffer.from(g.png!, "hex"), g.step, g.walltime);
  }
  w.close();
  const bytes = readFileSync(w.file);
  const records = readRecords(bytes);
  const first = decodeEvent(records[0]);
  assert.equal(first.fileVersion, "brain.Event:2");
  assert.ok(Math.abs(first.wallTime - Date.now() / 1000) < 60, "the first event's wall time is now");
  const firstLength = 16 + records[0].length;
  assert.equal(bytes.subarray(firstLength).toString("hex"), scalars.map((g) => g.record).join(""));
  assert.match(path.basename(w.file), new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.[^/]+\\.${process.pid}\\.\\d+$`));
  rmSync(dir, { recursive: true });
});

test("SummaryWriter: purgeStep starts the file with the markers; maxQueue writes without flush; tensors as images", () => {
  const dir = tmp();
  const w = new SummaryWriter(dir, { purgeStep: 17, maxQueue: 3 });
  let events = readEvents(w.file);
  assert.equal(events.length, 1, "only the file_version event is on disk before the queue fills");
  w.addScalar("a", 1, 17); // the third queued event: written
  events = readEvents(w.file);
  assert.deepEqual(events.map((e) => [e.step, e.fileVersion, e.sessionStatus]), [[0, "brain.Event:2", undefined], [17, "brain.Event:2", undefined], [17, undefined, 1], [17, undefined, undefined]]);
  // A uint8 CHW image: the PNG holds the same pixels.
  const chw = torch.tensor(Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 10) % 256), { dtype: "uint8" }).reshape([3, 2, 4]);
  w.addImage("img/uint8", chw, 18);
  const gray = torch.tensor([[0, 0.5], [1, 2]]);
  w.addImage("img/float", gray, 19);
  w.addScalar("t", torch.tensor(2.5), 20);
  w.flush();
  events = readEvents(w.file);
  const [u8, fl, sc] = events.slice(4);
  assert.deepEqual([u8.values[0].image!.height, u8.values[0].image!.width, u8.values[0].image!.colorspace], [2, 4, 3]);
  const pixels = pngPixels(u8.values[0].image!.png);
  const expected = chw.permute([1, 2, 0]).contiguous().dataSync();
  assert.deepEqual([...pixels], [...expected], "the PNG's pixels are the tensor's (HWC)");
  assert.deepEqual([fl.values[0].image!.height, fl.values[0].image!.width, fl.values[0].image!.colorspace], [2, 2, 1]);
  assert.deepEqual([...pngPixels(fl.values[0].image!.png)], [0, 128, 255, 255], "floats in [0, 1] times 255, clamped");
  assert.deepEqual([sc.step, sc.values[0].tag, sc.values[0].simple], [20, "t", 2.5]);
  w.close();
  w.close();
  assertFlareError(() => w.addScalar("a", 1, 1), /closed/, "E_STATE");
  torch.dispose([chw, gray]);
  rmSync(dir, { recursive: true });
});

/** The pixels of an 8-bit, filter-0, non-interlaced PNG (what flare writes). */
function pngPixels(png: Buffer): Uint8Array {
  let i = 8, width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  while (i < png.length) {
    const n = png.readUInt32BE(i), type = png.toString("latin1", i + 4, i + 8), data = png.subarray(i + 8, i + 8 + n);
    if (type === "IHDR") { width = data.readUInt32BE(0); height = data.readUInt32BE(4); channels = ({ 0: 1, 4: 2, 2: 3, 6: 4 } as Record<number, number>)[data[9]]; }
    if (type === "IDAT") idat.push(data);
    i += 12 + n;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const row = width * channels, out = new Uint8Array(row * height);
  for (let y = 0; y < height; y++) { assert.equal(raw[y * (row + 1)], 0, "filter 0"); out.set(raw.subarray(y * (row + 1) + 1, (y + 1) * (row + 1)), y * row); }
  return out;
}

test("SummaryWriter: bad input and failed writes are FlareErrors naming the argument or the file", () => {
  const dir = tmp();
  assertFlareError(() => new SummaryWriter(dir, { maxQueu: 3 } as never), /unknown option "maxQueu".*maxQueue/, "E_ARGUMENT");
  assertFlareError(() => new SummaryWriter(dir, { maxQueue: 0 }), /maxQueue/, "E_ARGUMENT");
  assertFlareError(() => new SummaryWriter(""), /logDir/, "E_ARGUMENT");
  const file = path.join(dir, "a-file");
  writeFileSync(file, "x");
  assertFlareError(() => new SummaryWriter(path.join(file, "sub")), new RegExp(`cannot make the folder .*a-file`), "E_IO");
  const w = new SummaryWriter(path.join(dir, "logs"), { maxQueue: 100 });
  assertFlareError(() => w.addScalar("", 1, 0), /tag/, "E_ARGUMENT");
  assertFlareError(() => w.addScalar("x", "1" as never, 0), /'x' must be a number/, "E_TYPE");
  assertFlareError(() => w.addScalar("x", 1, 1.5), /globalStep must be an integer/, "E_ARGUMENT");
  assertFlareError(() => w.addScalar("x", 1, 1, NaN), /walltime/, "E_ARGUMENT");
  const two = torch.zeros([2]);
  assertFlareError(() => w.addScalar("x", two, 1), /one-element tensor/, "E_SHAPE");
  assertFlareError(() => w.addImage("img", Buffer.from("not a png"), 1), /'img'.*not a PNG/, "E_FORMAT");
  const five = torch.zeros([5, 2, 2], { dtype: "uint8" });
  assertFlareError(() => w.addImage("img", five, 1), /1, 2, 3 or 4 channels/, "E_SHAPE");
  const ints = torch.zeros([3, 2, 2], { dtype: "int64" });
  assertFlareError(() => w.addImage("img", ints, 1), /uint8.*floating point/, "E_DTYPE");
  torch.dispose([two, five, ints]);
  // The folder goes away under the writer: the flush names the file.
  w.addScalar("x", 1, 1);
  rmSync(path.join(dir, "logs"), { recursive: true });
  writeFileSync(path.join(dir, "logs"), "now a file");
  assert.throws(() => w.flush(), (e: unknown) => e instanceof FlareError && e.code === "E_IO" && e.message.includes(w.file));
  rmSync(dir, { recursive: true });
});

// ---- the Trainer's event file ----

const ce = supervisedStep((out, target) => F.crossEntropy(out, target));
function problem() {
  const x = torch.keep(torch.tidy(() => { torch.manualSeed(5); return torch.randn([12, 3]); }));
  const y = torch.keep(torch.tensor(Array.from({ length: 12 }, (_, i) => i % 3), { dtype: "int64" }));
  const data = () => Array.from({ length: 3 }, (_, b) => [x.index(`${b * 4}:${(b + 1) * 4}`).clone(), y.index(`${b * 4}:${(b + 1) * 4}`).clone()]);
  return { x, y, data };
}
async function fit(runDir: string, epochs: number, extra: { resume?: boolean; tensorboard?: boolean } = {}) {
  torch.manualSeed(1);
  const model = new nn.Linear(3, 3);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.3 });
  const { x, y, data } = problem();
  const trainer = new Trainer({ model, optimizer, step: ce, epochs, runDir, output: "silent", ...(extra.tensorboard !== undefined ? { tensorboard: extra.tensorboard } : {}) });
  const history = await trainer.fit(data, data, { resume: extra.resume ?? false });
  torch.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return { history, steps: trainer.globalStep };
}

test("Trainer: the run folder's event file holds steps.jsonl's and metrics.jsonl's values", async () => {
  const dir = tmp();
  const { steps } = await fit(dir, 2);
  assert.equal(steps, 6);
  const files = eventFiles(dir);
  assert.equal(files.length, 1, "one event file");
  const events = readEvents(files[0]);
  assert.equal(events[0].fileVersion, "brain.Event:2");
  const scalars = scalarsOf(dir);
  const stepRows = lines(path.join(dir, "steps.jsonl"));
  assert.deepEqual(scalars.get("step/loss"), stepRows.map((r) => [r.step, Math.fround(r.loss)]));
  assert.deepEqual(scalars.get("step/lr"), stepRows.map((r) => [r.step, Math.fround(r.lr)]));
  const epochRows = lines(path.join(dir, "metrics.jsonl"));
  assert.deepEqual(scalars.get("train/loss"), epochRows.map((r, i) => [3 * (i + 1), Math.fround(r.train_loss)]), "epoch values at the epoch's last step");
  assert.deepEqual(scalars.get("val/loss"), epochRows.map((r, i) => [3 * (i + 1), Math.fround(r.val_loss)]));
  assert.deepEqual(scalars.get("epoch/lr")!.map(([s]) => s), [3, 6]);
  assert.ok(scalars.has("epoch/examples_per_s"));
  assert.ok(!scalars.has("epoch/epoch") && !scalars.has("step/step"), "the counters are the x axis, not curves");
  // A new run in the same folder starts its own history: the old file goes.
  await fit(dir, 1);
  const again = eventFiles(dir);
  assert.equal(again.length, 1);
  assert.notEqual(again[0], files[0]);
  assert.deepEqual(scalarsOf(dir).get("step/loss")!.map(([s]) => s), [1, 2, 3]);
  rmSync(dir, { recursive: true });
});

test("Trainer: resume cuts the event files back to the checkpoint and continues in a new file, no step twice", async () => {
  const dir = tmp();
  await fit(dir, 2);
  // A crashed third epoch logged past the checkpoint (step 6): in the old file and in one of its own.
  const old = eventFiles(dir)[0];
  const crashed = new SummaryWriter(dir);
  crashed.addScalar("step/loss", 999, 7);
  crashed.addScalar("step/loss", 999, 8);
  crashed.close();
  const stray = new SummaryWriter(path.join(dir, "elsewhere")); // not the run folder's files: untouched
  stray.close();
  appendFileSync(old, encodeRecord(encodeEvent({ wallTime: 1, step: 7, summary: [{ tag: "step/loss", simpleValue: 999 }] })));
  appendFileSync(old, Buffer.from([1, 2, 3])); // and a cut-off record
  const { history } = await fit(dir, 3, { resume: true });
  assert.equal(history.length, 3);
  const files = eventFiles(dir);
  assert.equal(files.length, 2, "the old file and the resumed run's (the crashed-only file held nothing before the checkpoint)");
  readRecords(readFileSync(old)); // whole records only, CRCs good
  assert.ok(files.includes(old));
  const resumed = readEvents(files.find((f) => f !== old)!);
  assert.deepEqual(resumed.slice(0, 3).map((e) => [e.step, e.fileVersion, e.sessionStatus]), [[0, "brain.Event:2", undefined], [7, "brain.Event:2", undefined], [7, undefined, 1]],
    "the resumed file starts with PyTorch's purge_step markers at the first new step");
  const loss = scalarsOf(dir).get("step/loss")!;
  assert.deepEqual(loss.map(([s]) => s), [1, 2, 3, 4, 5, 6, 7, 8, 9], "each step once");
  assert.ok(loss.every(([, v]) => v !== 999), "nothing of the crashed epoch is left");
  // The resumed run's losses are those of an uninterrupted run (exact resume), as steps.jsonl says.
  assert.deepEqual(loss.map(([, v]) => v), lines(path.join(dir, "steps.jsonl")).map((r) => Math.fround(r.loss)));
  assert.equal(eventFiles(path.join(dir, "elsewhere")).length, 1);
  rmSync(dir, { recursive: true });
});

test("Trainer: tensorboard: false writes no event file (and a new run removes an old run's); a non-boolean is an error", async () => {
  const dir = tmp();
  await fit(dir, 1);
  assert.equal(eventFiles(dir).length, 1);
  await fit(dir, 1, { tensorboard: false });
  assert.equal(eventFiles(dir).length, 0);
  assert.ok(existsSync(path.join(dir, "metrics.jsonl")));
  const model = new nn.Linear(3, 3);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  assertFlareError(() => new Trainer({ model, optimizer, step: ce, epochs: 1, tensorboard: "no" as never }), /tensorboard must be true or false/, "E_ARGUMENT");
  model.dispose();
  optimizer.dispose();
  rmSync(dir, { recursive: true });
});

test("truncateEventFiles: a negative step removes the files; records past the step go", () => {
  const dir = tmp();
  const w = new SummaryWriter(dir);
  for (let s = 1; s <= 5; s++) w.addScalar("x", s, s);
  w.close();
  assert.deepEqual(truncateEventFiles(dir, 3), [w.file]);
  assert.deepEqual(scalarsOf(dir).get("x"), [[1, 1], [2, 2], [3, 3]]);
  assert.deepEqual(truncateEventFiles(dir, 3), [], "nothing more to cut");
  truncateEventFiles(dir, -1);
  assert.equal(eventFiles(dir).length, 0);
  rmSync(dir, { recursive: true });
});

/**
 * Runs a `flare train` command twice under root/runs: with the event file (two steps' losses and
 * the epoch's val_METRIC, equal to metrics.jsonl's) and with --no-tensorboard (no event file).
 */
function trainsWithAndWithoutEvents(root: string, command: string[], metric: string): void {
  const { flare } = flareCli();
  const args = [...command, "--runs-dir", path.join(root, "runs"), "--json"];
  assert.equal(lastJson(flare(...args, "--name", "on")).event, "done");
  const scalars = scalarsOf(path.join(root, "runs", "on"));
  assert.deepEqual(scalars.get("step/loss")!.map(([s]) => s), [1, 2]);
  const row = lines(path.join(root, "runs", "on", "metrics.jsonl"))[0];
  assert.deepEqual(scalars.get(`val/${metric}`), [[2, Math.fround(row[`val_${metric}`])]]);
  assert.equal(lastJson(flare(...args, "--name", "off", "--no-tensorboard")).event, "done");
  assert.equal(eventFiles(path.join(root, "runs", "off")).length, 0);
  assert.ok(existsSync(path.join(root, "runs", "off", "metrics.jsonl")));
  rmSync(root, { recursive: true });
}

test("flare train classify writes the event file; --no-tensorboard does not", () => {
  const root = tmp();
  trainsWithAndWithoutEvents(root, ["train", "classify", "--data", "cifar10", writeTinyCifar(root, 4, 8), "--width", "2", "--epochs", "1", "--batch-size", "10"], "acc");
});

test("flare train segment writes the event file; --no-tensorboard does not", () => {
  // The task generates a tiny shapes set under the runs dir (shared by both runs).
  trainsWithAndWithoutEvents(tmp(), ["train", "segment", "--size", "64", "--count", "4", "--val-count", "2", "--epochs", "1", "--batch-size", "2"], "miou");
});

test("stylize({ tensorboard }): the losses of every step and the images in an event file", async () => {
  const dir = tmp();
  const asset = (name: string) => path.join(ROOT, "assets", "images", name);
  const result = await stylize({ content: asset("chelsea.jpg"), style: [asset("brick.jpg")], out: path.join(dir, "o.png"), size: "12x16", steps: 4, every: 2,
    tensorboard: path.join(dir, "tb"), output: "silent" });
  assert.equal(result.steps, 4);
  const scalars = scalarsOf(path.join(dir, "tb"));
  for (const k of ["content", "style", "tv", "total"]) assert.deepEqual(scalars.get(`loss/${k}`)!.map(([s]) => s), [1, 2, 3, 4], k);
  const images = eventFiles(path.join(dir, "tb")).flatMap(readEvents).filter((e) => e.values[0]?.image).map((e) => [e.step, e.values[0].image!.height, e.values[0].image!.width, e.values[0].image!.colorspace]);
  assert.deepEqual(images, [[2, 12, 16, 3], [4, 12, 16, 3]], "the intermediate of step 2 and the result");
  rmSync(dir, { recursive: true });
});
