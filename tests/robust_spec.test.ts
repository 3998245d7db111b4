// Issue 10, the transform spec parser and the bounds around it: names looked up
// by own keys only, nesting depth bounded (no stack overflow), counts and sizes
// bounded; and `flare augment`'s pipeline that hands its input back unchanged.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { transforms, writeImage, readImage } from "../src/vision/index.js";
import { augment, MAX_AUGMENT_N } from "../src/tasks/augment.js";
import { assertFlareError } from "./helpers.js";

const { parseTransforms } = transforms;

test("inherited names are unknown transforms: constructor(), __proto__(1, 2), toString(), hasOwnProperty()", () => {
  for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"]) {
    assertFlareError(() => parseTransforms(`${name}()`), new RegExp(`unknown transform '${name}'`), "E_FORMAT");
    assertFlareError(() => parseTransforms(`${name}(1, 2)`), new RegExp(`unknown transform '${name}'`), "E_FORMAT");
    assertFlareError(() => parseTransforms(`RandomApply([${name}()])`), new RegExp(`unknown transform '${name}'`), "E_FORMAT");
  }
  // torch.<inherited name> as a value is a plain string, not Object's member.
  assertFlareError(() => parseTransforms("ToDtype(torch.constructor)"), /ToDtype/);
});

test("100,000-deep nesting in a spec is a FlareError, not a stack overflow", () => {
  const deep = (open: string, close: string) => `Normalize(${open.repeat(100_000)}1${close.repeat(100_000)}, 1)`;
  assertFlareError(() => parseTransforms(deep("(", ")")), /nests deeper than 64 levels/, "E_FORMAT");
  assertFlareError(() => parseTransforms(deep("[", "]")), /nests deeper than 64 levels/, "E_FORMAT");
  assertFlareError(() => parseTransforms("RandomApply([".repeat(50_000) + "RandomHorizontalFlip()" + "])".repeat(50_000)), /nests deeper/, "E_FORMAT");
  // Ordinary nesting still parses.
  assert.ok(parseTransforms("RandomApply([RandomChoice([ColorJitter(0.4), RandomGrayscale(p=0.2)])], p=0.8)"));
  assertFlareError(() => parseTransforms("x".repeat(2_000_000)), /more than the 1000000 allowed/, "E_ARGUMENT");
});

test("counts and sizes in a spec are bounded: RandAugment(100000), num_magnitude_bins, Resize(1e9)", () => {
  assertFlareError(() => parseTransforms("RandAugment(100000)"), /num_ops = 100000 is beyond the limit 100/, "E_FORMAT");
  assertFlareError(() => parseTransforms("RandAugment(num_ops=101)"), /num_ops = 101/, "E_FORMAT");
  assertFlareError(() => parseTransforms("TrivialAugmentWide(num_magnitude_bins=1e9)"), /num_magnitude_bins = 1000000000 is beyond/, "E_FORMAT");
  assertFlareError(() => parseTransforms("Resize(1e9)"), /size = 1000000000 is beyond the limit 16384/, "E_FORMAT");
  assertFlareError(() => parseTransforms("Resize((10, 1e99))"), /size = 1e\+99 is beyond/, "E_FORMAT");
  assertFlareError(() => parseTransforms("RandomCrop(32, padding=100000)"), /padding = 100000/, "E_FORMAT");
  assertFlareError(() => parseTransforms("GaussianBlur(100001)"), /kernel_size = 100001/, "E_FORMAT");
  assert.ok(parseTransforms("RandAugment(2, 9) | Resize(224)"));
});

test("augment: a pipeline that returns its input unchanged (a flip that does not fire) writes the grid; n bounded", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flare-robust-augment-"));
  const photo = path.join(dir, "photo.png");
  await writeImage(torch.randint(0, 256, [3, 8, 10], { dtype: "uint8" }), photo);
  for (const spec of ["RandomHorizontalFlip()", "RandomHorizontalFlip(p=0)", "RandomGrayscale(p=0)"]) {
    const out = path.join(dir, "x.png");
    const result = await augment(photo, { transform: spec, out, n: 4 });
    assert.deepEqual(result.shape, [3, 8, 10]);
    const grid = await readImage(out);
    assert.equal(grid.shape[0], 3);
    grid.dispose();
  }
  for (const n of [0, -1, 1e9, MAX_AUGMENT_N + 1, 1.5])
    await assert.rejects(augment(photo, { transform: "RandomHorizontalFlip()", out: path.join(dir, "y.png"), n }), /augment: n must be an integer in 1\.\.256/);
});

test("RandAugment and TrivialAugmentWide bound their counts through the API too, as the spec does", () => {
  assertFlareError(() => new transforms.RandAugment({ numOps: 100000 }), /^RandAugment: numOps must be at most 100, got 100000$/);
  assertFlareError(() => new transforms.RandAugment({ numMagnitudeBins: 1e6 }), /^RandAugment: numMagnitudeBins must be at most 1024, got 1000000$/);
  assertFlareError(() => new transforms.TrivialAugmentWide({ numMagnitudeBins: 5000 }), /^TrivialAugmentWide: numMagnitudeBins must be at most 1024, got 5000$/);
  assert.equal(new transforms.RandAugment({ numOps: 100 }).numOps, 100);
});
