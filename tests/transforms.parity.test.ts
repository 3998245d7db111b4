// Parity with torchvision 0.14's transforms.functional on tensors: the golden
// cases of tests/fixtures/transforms.safetensors (written by
// scripts/fixtures/transforms.py, which lists each case in the file's
// metadata) are run through flare's functional API and compared — exactly
// for uint8 results unless the case is listed in TOLERANT.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import * as TF from "../src/vision/transforms/functional.js";
import { loadFileWithMetadata } from "../src/io/safetensors.js";
import { assertClose, fixturePath } from "./helpers.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Case { name: string; fn: string; input: string; args: Json[]; kwargs: Record<string, Json> }

const { tensors, metadata } = loadFileWithMetadata(fixturePath("transforms.safetensors"));
const cases = JSON.parse(metadata.cases) as Case[];

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const options = (kw: Record<string, Json>) => Object.fromEntries(Object.entries(kw).map(([k, v]) => [camel(k), v])) as never;

/** Runs one case through flare's functional API. */
function run(c: Case, img: torch.Tensor): torch.Tensor {
  const a = c.args as never[];
  const o = options(c.kwargs);
  switch (c.fn) {
    case "hflip": return TF.hflip(img);
    case "vflip": return TF.vflip(img);
    case "crop": return TF.crop(img, a[0], a[1], a[2], a[3]);
    case "center_crop": return TF.centerCrop(img, a[0]);
    case "resize": return TF.resize(img, a[0], o);
    case "resized_crop": return TF.resizedCrop(img, a[0], a[1], a[2], a[3], a[4], o);
    case "pad": return TF.pad(img, a[0], o);
    case "rotate": return TF.rotate(img, a[0], o);
    case "affine": return TF.affine(img, a[0], a[1], a[2], a[3], o);
    case "perspective": return TF.perspective(img, a[0], a[1], o);
    case "adjust_brightness": return TF.adjustBrightness(img, a[0]);
    case "adjust_contrast": return TF.adjustContrast(img, a[0]);
    case "adjust_saturation": return TF.adjustSaturation(img, a[0]);
    case "adjust_hue": return TF.adjustHue(img, a[0]);
    case "adjust_gamma": return TF.adjustGamma(img, a[0], a[1] ?? 1);
    case "adjust_sharpness": return TF.adjustSharpness(img, a[0]);
    case "rgb_to_grayscale": return TF.rgbToGrayscale(img, a[0] ?? 1);
    case "gaussian_blur": return TF.gaussianBlur(img, a[0], a[1] ?? null);
    case "invert": return TF.invert(img);
    case "autocontrast": return TF.autocontrast(img);
    case "equalize": return TF.equalize(img);
    case "posterize": return TF.posterize(img, a[0]);
    case "solarize": return TF.solarize(img, a[0]);
    case "normalize": return TF.normalize(img, a[0], a[1]);
    case "erase": return TF.erase(img, a[0], a[1], a[2], a[3], a[4]);
    case "convert_image_dtype": return TF.convertImageDtype(img, a[0]);
    default: throw new Error(`no mapping for ${c.fn}`);
  }
}

// Cases where flare and torchvision may differ by one uint8 step (or float
// rounding) because the float arithmetic before the cast is not bit-identical.
const TOLERANT: Record<string, { atol: number; rtol?: number }> = {};

test("the fixture file lists its cases", () => {
  assert.ok(cases.length > 100, `only ${cases.length} cases`);
});

for (const c of cases) {
  test(`parity: ${c.name} (${c.fn})`, () => {
    torch.tidy(() => {
      const input = tensors.get(`in/${c.input}`)!;
      const expected = tensors.get(`out/${c.name}`)!;
      const before = input.clone();
      const actual = run(c, input);
      assert.equal(actual.dtype, expected.dtype, `${c.name}: dtype`);
      const tol = TOLERANT[c.name];
      if (expected.dtype === "uint8" || expected.dtype === "int32") {
        assertClose(actual.to("float64"), expected.to("float64"), { atol: tol?.atol ?? 0, rtol: 0, what: c.name });
      } else {
        assertClose(actual, expected, { atol: tol?.atol ?? 1e-6, rtol: tol?.rtol ?? 1e-5, what: c.name });
      }
      assert.ok(input.eq(before).all().item(), `${c.name}: the input was modified`);
    });
  });
}
