// Issue 10, safetensors written and read exactly to the format's rules
// (https://github.com/huggingface/safetensors): metadata values are strings,
// "__metadata__" names no tensor, every key kept (even "__proto__"), and a
// reader that refuses overlapping offsets, gaps, trailing bytes, duplicate
// keys and non-UTF-8 headers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { safetensors } from "../src/io/index.js";
import { assertFlareError } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "flare-robust-st-"));

/** A safetensors file from a header object (or raw header text) and data bytes. */
function file(header: object | string | Buffer, data: Buffer | number[] = []): Buffer {
  const text = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([head, text, Buffer.from(data as number[])]);
}

test("a __proto__ key in a record or a Map is written and read back (no silent drop), and pollutes nothing", () => {
  // An own "__proto__" property (what JSON.parse or a computed key makes), then an ordinary one.
  const record: Record<string, unknown> = {};
  Object.defineProperty(record, "__proto__", { value: torch.tensor([1, 2]), enumerable: true, writable: true, configurable: true });
  record.w = torch.tensor([3]);
  const file1 = path.join(dir, "proto-record.safetensors");
  torch.save(record as never, file1);
  const back = torch.load(file1);
  assert.deepEqual([...back.keys()].sort(), ["__proto__", "w"]);
  assert.deepEqual(Array.from(back.get("__proto__")!.dataSync() as Float32Array), [1, 2]);
  const map = new Map([["__proto__", torch.tensor([5])], ["constructor", torch.tensor([6])]]);
  const file2 = path.join(dir, "proto-map.safetensors");
  torch.save(map, file2);
  assert.deepEqual([...torch.load(file2).keys()].sort(), ["__proto__", "constructor"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  // Metadata with a __proto__ key survives too.
  const meta = JSON.parse('{"__proto__": "kept", "a": "b"}') as Record<string, string>;
  const file3 = path.join(dir, "proto-meta.safetensors");
  safetensors.saveFile({ x: torch.ones([1]) }, file3, meta);
  const { metadata } = safetensors.loadFileWithMetadata(file3);
  assert.equal(Object.getOwnPropertyDescriptor(metadata, "__proto__")?.value, "kept");
  assert.equal(metadata.a, "b");
});

test("writing: __metadata__ as a tensor name, non-string metadata values, a non-object → FlareError; nothing written", () => {
  assertFlareError(() => safetensors.serialize({ __metadata__: torch.ones([1]) }), /'__metadata__' is reserved/, "E_ARGUMENT");
  assertFlareError(() => safetensors.serialize(new Map([["__metadata__", torch.ones([1])]])), /'__metadata__' is reserved/, "E_ARGUMENT");
  for (const value of [1, true, null, { a: "b" }, ["x"]])
    assertFlareError(() => safetensors.serialize({ x: torch.ones([1]) }, { epoch: value } as never), /metadata values must be strings .* 'epoch' is/, "E_ARGUMENT");
  assertFlareError(() => safetensors.serialize({ x: torch.ones([1]) }, "text" as never), /metadata must be an object/, "E_ARGUMENT");
  assertFlareError(() => safetensors.serialize(new Map([[1 as never, torch.ones([1])]])), /tensor names must be strings/, "E_ARGUMENT");
  assertFlareError(() => safetensors.serialize(null as never), /expected a Map or an object/, "E_ARGUMENT");
  assertFlareError(() => safetensors.serialize(torch.ones([1]) as never), /a single Tensor/, "E_ARGUMENT");
  // Non-ASCII names keep the data 8-byte aligned (the padding counts bytes, not characters).
  const bytes = safetensors.serialize({ "é€": torch.ones([2]) });
  assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0);
  assert.deepEqual(Array.from(safetensors.deserialize(bytes).tensors.get("é€")!.dataSync() as Float32Array), [1, 1]);
});

test("reading refuses what the format forbids: overlap, gap, trailing bytes, duplicates, non-UTF-8, bad metadata", () => {
  const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: "F32", shape, data_offsets: [begin, end] });
  const data8 = Buffer.alloc(8);
  // The valid file these mutate.
  assert.equal(safetensors.deserialize(file({ a: f32(0, 4), b: f32(4, 8) }, data8)).tensors.size, 2);
  assertFlareError(() => safetensors.deserialize(file({ a: f32(0, 8, [2]), b: f32(4, 8) }, data8)), /overlaps/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file({ a: f32(0, 4), b: f32(0, 4) }, data8)), /overlaps/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file({ b: f32(4, 8) }, data8)), /gap of 4 unused bytes/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file({ a: f32(0, 4) }, data8)), /4 trailing bytes/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', data8)), /names "a" twice/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file('{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', Buffer.alloc(4))), /names "dtype" twice/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file('{"__metadata__":{"k":"1"},"__metadata__":{"k":"2"}}')), /names "__metadata__" twice/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))), /not valid UTF-8/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file({ __metadata__: { epoch: 3 } })), /metadata 'epoch' must be a string/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file({ __metadata__: null })), /"__metadata__" must be an object/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file({ a: null })), /tensor 'a' is described by null/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file({ a: { dtype: "toString", shape: [0], data_offsets: [0, 0] } })), /unsupported dtype "toString"/, "E_FORMAT");
  assertFlareError(() => safetensors.deserialize(file({ a: f32(0, 2 ** 52, [2 ** 50]) }, data8)), /outside the 8 data bytes/, "E_FORMAT");
  // Escaped keys are compared decoded: "a" and "\u0061" are the same name.
  assertFlareError(() => safetensors.deserialize(file('{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"\\u0061":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}')), /names "a" twice/, "E_FORMAT");
  // Empty tensors tile nothing and are fine anywhere.
  assert.equal(safetensors.deserialize(file({ e: { dtype: "U8", shape: [0], data_offsets: [0, 0] }, a: f32(0, 4) }, Buffer.alloc(4))).tensors.size, 2);
});

test("deserialize of a string, an ArrayBuffer, null, a number → E_ARGUMENT", () => {
  for (const bad of ["bytes", new ArrayBuffer(16), null, undefined, 5, [1, 2, 3]])
    assertFlareError(() => safetensors.deserialize(bad as never), /expected the file's bytes as a Buffer or Uint8Array/, "E_ARGUMENT");
  assertFlareError(() => safetensors.deserialize(new ArrayBuffer(16) as never), /wrap it: new Uint8Array/, "E_ARGUMENT");
});

test("duplicateJsonKey scans 100,000-deep JSON without recursion", () => {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  assert.equal(safetensors.duplicateJsonKey(deep), undefined);
  assert.equal(safetensors.duplicateJsonKey('{"x":[{"k":1,"k":2}]}'), "k");
  assert.equal(safetensors.duplicateJsonKey('{"k":"\\"k\\"","j":{"k":1}}'), undefined);
});
