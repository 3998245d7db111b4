// parseTransforms: the CLI's transform specs become a Compose of the same
// transforms a program would build; bad specs say where they fail.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import * as T from "../src/vision/transforms/index.js";
import { assertClose, assertFlareError } from "./helpers.js";

test("the issue's example spec builds the pipeline it names", () => {
  const pipe = T.parseTransforms("RandomResizedCrop(224, scale=(0.5,1)) | RandomHorizontalFlip() | ColorJitter(0.4,0.4,0.4,0.1)");
  assert.equal(pipe.transforms.length, 3);
  const [crop, flip, jitter] = pipe.transforms as [T.RandomResizedCrop, T.RandomHorizontalFlip, T.ColorJitter];
  assert.ok(crop instanceof T.RandomResizedCrop && flip instanceof T.RandomHorizontalFlip && jitter instanceof T.ColorJitter);
  assert.deepEqual(crop.size, [224, 224]);
  assert.deepEqual(crop.scale, [0.5, 1]);
  assert.deepEqual(crop.ratio, [3 / 4, 4 / 3]);
  assert.equal(flip.p, 0.5);
  assert.deepEqual(jitter.brightness, [0.6, 1.4]);
  assert.deepEqual(jitter.hue, [-0.1, 0.1]);
});

test("values: tuples, lists, fractions, keywords in either case, enums, dtypes, nested transforms, perSample", () => {
  const pipe = T.parseTransforms(
    "RandomApply([ColorJitter(brightness=0.4), RandomGrayscale(p=1)], p=0.8) | RandomResizedCrop([32, 48], ratio=(3/4, 4/3), interpolation=InterpolationMode.NEAREST) | " +
    "RandomAffine(10, translate=(0.1, 0.1), shear=[-5, 5, -2, 2]) | ToDtype(torch.float32, scale=True) | Normalize(mean=[0.485, 0.456, 0.406], std=(0.229, 0.224, 0.225)) | " +
    "RandomErasing(value='random', per_sample=True) | RandomRotation(degrees=15, fill=0, center=None) | RandomCrop(16, padIfNeeded=true)");
  const [apply, rrc, affine, dtype, norm, erase, rot, crop] = pipe.transforms as unknown as [T.RandomApply, T.RandomResizedCrop, T.RandomAffine, T.ToDtype, T.Normalize, T.RandomErasing, T.RandomRotation, T.RandomCrop];
  assert.equal(apply.p, 0.8);
  assert.equal(apply.transforms.transforms.length, 2);
  assert.deepEqual(rrc.size, [32, 48]);
  assert.equal(rrc.interpolation, "nearest");
  assert.deepEqual(affine.shear, [-5, 5, -2, 2]);
  assert.equal(dtype.dtype, "float32");
  assert.equal(dtype.scale, true);
  assert.deepEqual(norm.std, [0.229, 0.224, 0.225]);
  assert.equal(erase.value, "random");
  assert.equal(erase.perSample, true);
  assert.deepEqual(rot.degrees, [-15, 15]);
  assert.equal(crop.padIfNeeded, true);
  torch.tidy(() => {
    const out = pipe.forward(torch.randint(0, 256, [3, 40, 50], { dtype: "uint8" }));
    assert.deepEqual(out.shape, [3, 16, 16]);
    assert.equal(out.dtype, "float32");
  });
});

test("a parsed pipeline equals the hand-built one under the same seed", () => torch.tidy(() => {
  const x = torch.randint(0, 256, [3, 30, 40], { dtype: "uint8" });
  torch.manualSeed(9);
  const a = T.parseTransforms("RandomResizedCrop(20) | RandomHorizontalFlip(0.5) | ColorJitter(0.4, 0.4, 0.4, 0.1) | ToDtype(float32, True)").forward(x);
  torch.manualSeed(9);
  const b = new T.Compose([new T.RandomResizedCrop(20), new T.RandomHorizontalFlip({ p: 0.5 }), new T.ColorJitter(0.4, 0.4, 0.4, 0.1), new T.ToDtype("float32", { scale: true })]).forward(x);
  assertClose(a, b, { atol: 0, rtol: 0 });
}));

test("every registered name parses with its defaults (or a minimal argument)", () => {
  const args: Record<string, string> = {
    Resize: "8", CenterCrop: "8", Pad: "2", RandomCrop: "8", RandomResizedCrop: "8", RandomRotation: "10", RandomAffine: "10",
    GaussianBlur: "3", RandomPosterize: "4", RandomSolarize: "128", RandomAdjustSharpness: "2", ToDtype: "float32",
    Normalize: "[0.5], [0.5]", ConvertBoundingBoxFormat: "'xywh'", RandomApply: "[RandomInvert()]", RandomChoice: "[RandomInvert()]",
    RandomOrder: "[RandomInvert()]", Compose: "[RandomInvert()]",
  };
  for (const name of T.transformNames) {
    const pipe = T.parseTransforms(`${name}(${args[name] ?? ""})`);
    assert.equal(pipe.transforms[0].constructor.name, name);
  }
});

test("bad specs say where they fail", () => {
  const cases: [string, RegExp][] = [
    ["RandomResizedCrop(224, scale=(0.5,1) | RandomHorizontalFlip()", /expected ',' or '\)' in the arguments of RandomResizedCrop, found '\|' at column 38/],
    ["RandomFlip()", /unknown transform 'RandomFlip' at column 1/],
    ["randomhorizontalflip()", /unknown transform 'randomhorizontalflip' \(did you mean RandomHorizontalFlip\?\)/],
    ["RandomCrop()", /RandomCrop needs its argument 'size'/],
    ["RandomCrop(32, pading=4)", /RandomCrop has no argument 'pading' \(it takes size, padding, pad_if_needed, fill, padding_mode, per_sample\) at column 16/],
    ["RandomCrop(32, size=4)", /argument 'size' given twice/],
    ["RandomCrop(size=32, 4)", /a positional argument after keyword arguments/],
    ["RandomHorizontalFlip(0.5, 0.2)", /takes at most 1 positional argument/],
    ["Resize(-3)", /Resize: size must be positive, got -3 at column 1/],
    ["RandomHorizontalFlip(p=2)", /RandomHorizontalFlip: p must be a probability/],
    ["RandomHorizontalFlip() RandomVerticalFlip()", /expected '\|' between transforms, found 'RandomVerticalFlip' at column 24/],
    ["", /the spec is empty/],
    ["Resize(224) |", /expected a transform name, found the end of the spec at column 14/],
    ["Resize(224", /expected ',' or '\)' in the arguments of Resize, found end of the spec at column 11/],
    ["Resize(", /expected '\)' to close Resize\( opened at column 7/],
    ["Resize('224)", /unterminated string at column 8/],
    ["Resize(22 # 4)", /unexpected character '#' at column 11/],
    ["RandomResizedCrop(224, ratio=(1/0, 2))", /division by zero/],
  ];
  for (const [spec, pattern] of cases) assertFlareError(() => T.parseTransforms(spec), pattern, "E_FORMAT");
  assertFlareError(() => T.parseTransforms(42 as never), /spec must be a string/);
  // the message shows the spec with a caret under the place
  try { T.parseTransforms("Resize(224) Resize(3)"); } catch (e) { assert.match((e as Error).message, /\n  Resize\(224\) Resize\(3\)\n {14}\^$/); }
});
