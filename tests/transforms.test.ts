// Transform classes: each equals the functional call with its recorded
// parameters, draws from the seeded generator (reproducible, in range),
// replays, composes, and rejects bad input with a FlareError naming it.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import * as T from "../src/vision/transforms/index.js";
import * as TF from "../src/vision/transforms/functional.js";
import { native } from "../src/tensor/native.js";
import { assertClose, assertFlareError, settledTensors } from "./helpers.js";

type P = Record<string, never>;
const img8 = () => { torch.manualSeed(3); return torch.randint(0, 256, [3, 21, 27], { dtype: "uint8" }); };
const equal = (a: torch.Tensor, b: torch.Tensor, what = "tensor") => {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  assertClose(a.to("float64"), b.to("float64"), { atol: 0, rtol: 0, what });
};
const run = (fn: () => void) => torch.tidy(fn);

describe("classes equal the functional calls with their recorded parameters", () => {
  test("Resize, CenterCrop, Pad", () => run(() => {
    const x = img8();
    equal(new T.Resize([10, 12]).forward(x), TF.resize(x, [10, 12]));
    equal(new T.Resize(11, { interpolation: "nearest" }).forward(x), TF.resize(x, 11, { interpolation: "nearest" }));
    equal(new T.CenterCrop(9).forward(x), TF.centerCrop(x, 9));
    equal(new T.CenterCrop([25, 30]).forward(x), TF.centerCrop(x, [25, 30]));
    equal(new T.Pad([1, 2], { paddingMode: "reflect" }).forward(x), TF.pad(x, [1, 2], { paddingMode: "reflect" }));
  }));

  test("RandomCrop with padding", () => run(() => {
    const x = img8(), t = new T.RandomCrop(20, { padding: 4, fill: 9 });
    const out = t.forward(x), p = t.lastParams as { top: number; left: number };
    equal(out, TF.crop(TF.pad(x, 4, { fill: 9 }), p.top, p.left, 20, 20));
    const big = new T.RandomCrop([30, 40], { padIfNeeded: true });
    assert.deepEqual(big.forward(x).shape, [3, 30, 40]);
  }));

  test("RandomResizedCrop: region in scale and ratio ranges, output = resizedCrop", () => run(() => {
    const x = img8(), t = new T.RandomResizedCrop([8, 9], { scale: [0.3, 0.9], ratio: [0.5, 2] });
    for (let i = 0; i < 30; i++) {
      const out = t.forward(x), p = t.lastParams as { top: number; left: number; height: number; width: number };
      equal(out, TF.resizedCrop(x, p.top, p.left, p.height, p.width, [8, 9]));
      assert.ok(p.top >= 0 && p.left >= 0 && p.top + p.height <= 21 && p.left + p.width <= 27, JSON.stringify(p));
      const area = (p.height * p.width) / (21 * 27);
      assert.ok(area > 0.2 && area < 1.0, `area ${area}`);
    }
  }));

  test("flips", () => run(() => {
    const x = img8();
    equal(new T.RandomHorizontalFlip({ p: 1 }).forward(x), TF.hflip(x));
    equal(new T.RandomVerticalFlip({ p: 1 }).forward(x), TF.vflip(x));
    assert.equal(new T.RandomHorizontalFlip({ p: 0 }).forward(x), x);
    const t = new T.RandomHorizontalFlip({ p: 0.3, generator: new torch.Generator(1) });
    let flips = 0;
    for (let i = 0; i < 400; i++) { t.forward(x); if ((t.lastParams as { flip: boolean }).flip) flips++; }
    assert.ok(flips > 90 && flips < 150, `${flips} flips of 400 at p = 0.3`);
  }));

  test("RandomRotation, RandomAffine, RandomPerspective (fill 0 per channel, as torchvision's classes)", () => run(() => {
    const x = img8();
    const r = new T.RandomRotation(40, { interpolation: "bilinear" });
    const a = (r.forward(x), r.lastParams as { angle: number }).angle;
    assert.ok(a >= -40 && a <= 40);
    equal(r.replay(r.lastParams, x), TF.rotate(x, a, { interpolation: "bilinear", fill: [0, 0, 0] }));
    const e = new T.RandomRotation([80, 100], { expand: true });
    const out = e.forward(x);
    equal(out, TF.rotate(x, (e.lastParams as { angle: number }).angle, { expand: true, fill: [0, 0, 0] }));
    const af = new T.RandomAffine(15, { translate: [0.2, 0.1], scale: [0.7, 1.3], shear: [-5, 5, -3, 3], fill: 7 });
    const y = af.forward(x), q = af.lastParams as { angle: number; translate: [number, number]; scale: number; shear: [number, number] };
    assert.ok(Math.abs(q.translate[0]) <= 0.2 * 27 + 0.5 && Math.abs(q.translate[1]) <= 0.1 * 21 + 0.5 && Number.isInteger(q.translate[0]));
    assert.ok(q.scale >= 0.7 && q.scale <= 1.3 && Math.abs(q.shear[1]) <= 3);
    equal(y, TF.affine(x, q.angle, q.translate, q.scale, q.shear, { fill: [7, 7, 7] }));
    const ps = new T.RandomPerspective({ p: 1, distortionScale: 0.6 });
    const z = ps.forward(x), pp = ps.lastParams as { startpoints: TF.Point[]; endpoints: TF.Point[] };
    equal(z, TF.perspective(x, pp.startpoints, pp.endpoints, { fill: [0, 0, 0] }));
  }));

  test("ColorJitter: torchvision's random order and ranges", () => run(() => {
    const x = img8(), t = new T.ColorJitter(0.4, [0.5, 1.5], 0.3, 0.1);
    assert.deepEqual(t.brightness, [0.6, 1.4]);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const out = t.forward(x);
      const p = t.lastParams as { order: number[]; brightness: number; contrast: number; saturation: number; hue: number };
      seen.add(p.order.join(""));
      assert.deepEqual([...p.order].sort(), [0, 1, 2, 3]);
      assert.ok(p.brightness >= 0.6 && p.brightness <= 1.4 && p.contrast >= 0.5 && p.contrast <= 1.5 && Math.abs(p.hue) <= 0.1);
      let y = x;
      for (const k of p.order) {
        y = k === 0 ? TF.adjustBrightness(y, p.brightness) : k === 1 ? TF.adjustContrast(y, p.contrast)
          : k === 2 ? TF.adjustSaturation(y, p.saturation) : TF.adjustHue(y, p.hue);
      }
      equal(out, y);
    }
    assert.ok(seen.size > 5, "orders vary");
    assert.equal(new T.ColorJitter(0, 0, 0, 0).forward(x), x, "no-op jitter returns the image");
  }));

  test("Grayscale, RandomGrayscale keep torchvision's channel counts", () => run(() => {
    const x = img8();
    assert.deepEqual(new T.Grayscale().forward(x).shape, [1, 21, 27]);
    equal(new T.Grayscale({ numOutputChannels: 3 }).forward(x), TF.rgbToGrayscale(x, 3));
    equal(new T.RandomGrayscale({ p: 1 }).forward(x), TF.rgbToGrayscale(x, 3));
  }));

  test("GaussianBlur draws sigma in range", () => run(() => {
    const x = img8(), t = new T.GaussianBlur(5, { sigma: [0.5, 1.5] });
    const out = t.forward(x), s = (t.lastParams as { sigma: number }).sigma;
    assert.ok(s >= 0.5 && s <= 1.5);
    equal(out, TF.gaussianBlur(x, 5, s));
  }));

  test("RandomErasing: constant, per-channel and reproducible random values", () => run(() => {
    const x = img8().to("float32").div(255);
    const t = new T.RandomErasing({ p: 1, value: [0.1, 0.2, 0.3] });
    const out = t.forward(x), p = t.lastParams as { i: number; j: number; h: number; w: number };
    equal(out, TF.erase(x, p.i, p.j, p.h, p.w, torch.tensor([0.1, 0.2, 0.3]).view(3, 1, 1)));
    const area = (p.h * p.w) / (21 * 27);
    assert.ok(area >= 0.01 && area <= 0.4, `area ${area}`);
    const r = new T.RandomErasing({ p: 1, value: "random" });
    const a = r.forward(x), b = r.replay(r.lastParams, x);
    equal(a, b, "random erasing replays");
    const q = r.lastParams as { i: number; j: number; h: number; w: number };
    const noise = a.index(":", `${q.i}:${q.i + q.h}`, `${q.j}:${q.j + q.w}`);
    assert.ok(Math.abs(noise.mean().item() as number) < 0.3 && Math.abs((noise.std().item() as number) - 1) < 0.3, "noise looks standard normal");
    const u = new T.RandomErasing({ p: 1, value: "random" }).forward(img8());
    assert.equal(u.dtype, "uint8");
  }));

  test("Random{Invert,Posterize,Solarize,AdjustSharpness,Autocontrast,Equalize} with p = 1", () => run(() => {
    const x = img8();
    equal(new T.RandomInvert({ p: 1 }).forward(x), TF.invert(x));
    equal(new T.RandomPosterize(3, { p: 1 }).forward(x), TF.posterize(x, 3));
    equal(new T.RandomSolarize(100, { p: 1 }).forward(x), TF.solarize(x, 100));
    equal(new T.RandomAdjustSharpness(2, { p: 1 }).forward(x), TF.adjustSharpness(x, 2));
    equal(new T.RandomAutocontrast({ p: 1 }).forward(x), TF.autocontrast(x));
    equal(new T.RandomEqualize({ p: 1 }).forward(x), TF.equalize(x));
  }));

  test("ToDtype and Normalize", () => run(() => {
    const x = img8();
    const f = new T.ToDtype("float32", { scale: true }).forward(x);
    assertClose(f, x.to("float32").div(255));
    equal(new T.ToDtype("float32").forward(x), x.to("float32"));
    equal(new T.ConvertImageDtype("uint8").forward(f), x);
    const n = new T.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3]).forward(f);
    assertClose(n, TF.normalize(f, [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]));
  }));

  test("AutoAugment, RandAugment, TrivialAugmentWide apply their recorded ops", () => run(() => {
    const x = img8();
    for (const t of [new T.AutoAugment({ policy: "cifar10" }), new T.RandAugment({ numOps: 3 }), new T.TrivialAugmentWide()]) {
      for (let i = 0; i < 8; i++) {
        const out = t.forward(x);
        const ops = (t.lastParams as { ops: { name: string; magnitude: number }[] }).ops;
        let y = x;
        for (const o of ops) {
          const [, h, w] = [3, 21, 27];
          const m = o.magnitude, deg = (v: number) => (Math.atan(v) * 180) / Math.PI;
          switch (o.name) {
            case "ShearX": y = TF.affine(y, 0, [0, 0], 1, [deg(m), 0], { center: [0, 0] }); break;
            case "ShearY": y = TF.affine(y, 0, [0, 0], 1, [0, deg(m)], { center: [0, 0] }); break;
            case "TranslateX": y = TF.affine(y, 0, [Math.trunc(m), 0], 1, [0, 0]); break;
            case "TranslateY": y = TF.affine(y, 0, [0, Math.trunc(m)], 1, [0, 0]); break;
            case "Rotate": y = TF.rotate(y, m); break;
            case "Brightness": y = TF.adjustBrightness(y, 1 + m); break;
            case "Color": y = TF.adjustSaturation(y, 1 + m); break;
            case "Contrast": y = TF.adjustContrast(y, 1 + m); break;
            case "Sharpness": y = TF.adjustSharpness(y, 1 + m); break;
            case "Posterize": y = TF.posterize(y, Math.trunc(m)); break;
            case "Solarize": y = TF.solarize(y, m); break;
            case "AutoContrast": y = TF.autocontrast(y); break;
            case "Equalize": y = TF.equalize(y); break;
            case "Invert": y = TF.invert(y); break;
            case "Identity": break;
            default: assert.fail(`unexpected op ${o.name}`);
          }
          void h; void w;
        }
        equal(out, y, `${t}: ${JSON.stringify(ops)}`);
      }
    }
    // RandAugment's magnitude 9 of 31 bins: Rotate is ±9 degrees, as torchvision's linspace(0, 30, 31)[9].
    const ra = new T.RandAugment({ numOps: 20, generator: new torch.Generator(4) });
    ra.forward(x);
    for (const o of (ra.lastParams as { ops: { name: string; magnitude: number }[] }).ops)
      if (o.name === "Rotate") assert.equal(Math.abs(o.magnitude), 9);
      else if (o.name === "Posterize") assert.equal(o.magnitude, 7);
  }));
});

describe("seeding and replay", () => {
  test("torch.manualSeed makes pipelines reproducible; a private generator is independent", () => run(() => {
    const x = img8();
    const make = () => new T.Compose([new T.RandomResizedCrop(12), new T.RandomHorizontalFlip(), new T.ColorJitter(0.4, 0.4, 0.4, 0.1)]);
    torch.manualSeed(42); const a = make().forward(x);
    torch.manualSeed(42); const b = make().forward(x);
    equal(a, b);
    const g1 = new T.RandomRotation(30, { generator: new torch.Generator(7) });
    const g2 = new T.RandomRotation(30, { generator: new torch.Generator(7) });
    torch.manualSeed(1); g1.forward(x);
    torch.manualSeed(2); g2.forward(x);
    assert.deepEqual(g1.lastParams, g2.lastParams);
  }));

  test("Compose records and replays its children's parameters (also on the mask of the same image)", () => run(() => {
    const x = img8();
    const pipe = new T.Compose([
      new T.RandomResizedCrop(14), new T.RandomHorizontalFlip(), new T.RandomApply([new T.ColorJitter(0.5, 0.5)], { p: 0.5 }),
      new T.RandomChoice([new T.RandomInvert({ p: 1 }), new T.GaussianBlur(3)]), new T.RandomOrder([new T.RandomSolarize(128), new T.RandomEqualize()]),
    ]);
    for (let i = 0; i < 5; i++) {
      const out = pipe.forward(x);
      const params = JSON.parse(JSON.stringify(pipe.lastParams));
      equal(pipe.replay(params, x), out);
      assert.equal((params as unknown[]).length, 5);
    }
    const geo = new T.Compose([new T.RandomResizedCrop(14, { interpolation: "nearest" }), new T.RandomHorizontalFlip({ p: 1 })]);
    const y = geo.forward(x);
    const channel0 = geo.replay(geo.lastParams, x.index("0:1").clone());
    equal(channel0, y.index("0:1").clone(), "the same crop and flip on a slice of the image");
  }));

  test("replay checks its parameters", () => run(() => {
    const x = img8();
    assertFlareError(() => new T.Compose([new T.RandomHorizontalFlip()]).replay([1, 2], x), /params must be an array of 1/);
    const t = new T.RandomHorizontalFlip({ perSample: true });
    t.forward(x.unsqueeze(0).expand(2, 3, 21, 27));
    assertFlareError(() => t.replay(t.lastParams, x.unsqueeze(0)), /per-sample parameters for 2 images, but the batch has 1/);
  }));

  test("memory: a forward frees every intermediate", () => {
    const x = img8();
    const pipe = new T.Compose([new T.RandomResizedCrop(14), new T.ColorJitter(0.4, 0.4, 0.4, 0.1), new T.RandomRotation(10), new T.ToDtype("float32", { scale: true }), new T.Normalize([0.5], [0.5])]);
    pipe.forward(x).dispose();
    const before = settledTensors();
    for (let i = 0; i < 10; i++) pipe.forward(x).dispose();
    assert.equal(torch.memory().numTensors, before);
    // with targets, per sample
    const batchPipe = new T.Compose([new T.RandomResizedCrop(14), new T.RandomHorizontalFlip(), new T.RandomAffine(10), new T.ColorJitter(0.4, 0.4), new T.SanitizeBoundingBoxes()], { perSample: true });
    const batch = x.unsqueeze(0).expand(4, 3, 21, 27).contiguous();
    const targets = () => Array.from({ length: 4 }, () => ({ boxes: T.boundingBoxes([[1, 1, 10, 12], [5, 6, 20, 20]], { canvasSize: [21, 27] }), labels: torch.tensor([1, 2], { dtype: "int64" }), masks: torch.zeros([2, 21, 27], { dtype: "uint8" }) }));
    const ts = targets();
    // outputs may share unchanged tensors with the inputs (labels when no box is dropped): free only the new ones
    const inputs = new Set<unknown>(ts.flatMap((t) => [t.boxes.data, t.labels, t.masks]));
    const free = (out: [torch.Tensor, T.Target[]]) => {
      out[0].dispose();
      for (const t of out[1]) for (const v of [t.boxes?.data, t.boxes?.visibility, t.labels, t.masks]) if (v && !inputs.has(v)) v.dispose();
    };
    free(batchPipe.forward(batch, ts));
    const before2 = settledTensors();
    for (let i = 0; i < 5; i++) free(batchPipe.forward(batch, ts));
    assert.equal(torch.memory().numTensors, before2);
    torch.dispose(ts);
    batch.dispose();
    x.dispose();
  });
});

describe("MixUp and CutMix", () => {
  test("MixUp mixes images and one-hot labels with the same weight", () => run(() => {
    torch.manualSeed(0);
    const x = torch.rand([4, 3, 8, 8]), y = torch.tensor([0, 1, 2, 3], { dtype: "int64" });
    const m = new T.MixUp({ alpha: 0.4, numClasses: 5 });
    const [xm, ym] = m.forward(x, y);
    const lam = (m.lastParams as { lam: number }).lam;
    assert.ok(lam > 0 && lam < 1);
    assertClose(xm, x.mul(lam).add(x.roll(1, 0).mul(1 - lam)), { atol: 1e-6 });
    assertClose(ym.sum(1), torch.ones([4]), { atol: 1e-6 });
    assert.ok(Math.abs((ym.index(0, 0).item() as number) - lam) < 1e-6 && Math.abs((ym.index(0, 3).item() as number) - (1 - lam)) < 1e-6);
    const per = new T.MixUp({ numClasses: 5, perSample: true });
    const [pm, pl] = per.forward(x, y);
    const lams = (per.lastParams as { lam: number[] }).lam;
    for (let i = 0; i < 4; i++) {
      assertClose(pm.index(i), x.index(i).mul(lams[i]).add(x.index((i + 3) % 4).mul(1 - lams[i])), { atol: 1e-6 });
      assert.ok(Math.abs((pl.index(i, i).item() as number) - lams[i]) < 1e-6);
    }
  }));

  test("CutMix pastes a box of the rolled batch; labels weigh by its area", () => run(() => {
    torch.manualSeed(1);
    const x = torch.rand([3, 1, 10, 12]), y = torch.tensor([0, 1, 2], { dtype: "int64" });
    const c = new T.CutMix({ numClasses: 3 });
    for (let k = 0; k < 5; k++) {
      const [xc, yc] = c.forward(x, y);
      const { box: [x1, y1, x2, y2], lam } = c.lastParams as { box: number[]; lam: number };
      const changed = xc.ne(x).sum().item() as number;
      assert.ok(changed <= (x2 - x1) * (y2 - y1) * 3);
      assert.ok(Math.abs(lam - (1 - ((x2 - x1) * (y2 - y1)) / 120)) < 1e-12);
      assertClose(yc.index(1), torch.tensor([1 - lam, lam, 0]), { atol: 1e-6 });
    }
    const per = new T.CutMix({ numClasses: 3, perSample: true, alpha: 1 });
    const [xp] = per.forward(x, y);
    const boxes = (per.lastParams as { perSample: { box: number[] }[] }).perSample;
    for (let i = 0; i < 3; i++) {
      const [x1, y1, x2, y2] = boxes[i].box;
      const expected = x.index(i).clone();
      expected.indexPut_(["...", `${y1}:${y2}`, `${x1}:${x2}`], x.index((i + 2) % 3, "...", `${y1}:${y2}`, `${x1}:${x2}`));
      equal(xp.index(i), expected, `image ${i}`);
    }
  }));

  test("bad labels", () => run(() => {
    const x = torch.rand([2, 3, 4, 4]);
    assertFlareError(() => new T.MixUp().forward(x, torch.tensor([0, 1], { dtype: "int64" })), /numClasses is required/);
    assertFlareError(() => new T.MixUp({ numClasses: 2 }).forward(x, torch.tensor([0, 2], { dtype: "int64" })), /labels must be in \[0, 2\)/);
    assertFlareError(() => new T.CutMix({ numClasses: 2 }).forward(x.index(0), torch.tensor([0], { dtype: "int64" })), /images must be a batch/);
    assertFlareError(() => new T.CutMix({ alpha: 0 }), /alpha must be positive/);
  }));
});

describe("bad input", () => {
  test("images", () => run(() => {
    const x = img8();
    assertFlareError(() => new T.RandomHorizontalFlip().forward(x.to("int32")), /RandomHorizontalFlip: img must be a uint8 or floating-point image, got int32/, "E_DTYPE");
    assertFlareError(() => new T.ColorJitter(0.5).forward(x.index(0)), /ColorJitter: img must have at least 3 dimensions/, "E_SHAPE");
    assertFlareError(() => new T.Normalize([0.5], [0.5]).forward(x), /normalize\(\): tensor must be a float image, got uint8/, "E_DTYPE");
    assertFlareError(() => new T.RandomCrop(30).forward(x), /RandomCrop: the crop size \[30, 30\] is larger than the \(padded\) image \[21, 27\]/);
    assertFlareError(() => (new T.Resize(5) as unknown as { forward(v: unknown): unknown }).forward([1, 2]), /Resize: img must be a Tensor image/);
    assertFlareError(() => TF.adjustHue(x, 0.7), /hueFactor must be in \[-0.5, 0.5\], got 0.7/);
    assertFlareError(() => TF.adjustBrightness(x, -1), /brightnessFactor must be non-negative, got -1/);
    assertFlareError(() => TF.adjustBrightness(x, [1, 2]), /per-image values need a batch/);
    assertFlareError(() => TF.posterize(x.to("float32"), 3), /posterize\(\): img must be uint8/);
    assertFlareError(() => TF.crop(x, 0, 0, -3, 4), /crop\(\): height must be non-negative, got -3/);
    assertFlareError(() => TF.pad(x, [1, 2, 3]), /pad\(\): padding must be an integer or an array of 1, 2 or 4 integers/);
    assertFlareError(() => TF.gaussianBlur(x, 4), /kernelSize must hold odd positive integers/);
    assertFlareError(() => TF.rotate(x, 10, { fill: [1, 2] }), /fill has 2 values but the image has 3 channels/);
    assertFlareError(() => TF.rotate(x, 10, { interpolation: "bicubic" }), /interpolation must be one of "nearest", "bilinear"/);
  }));

  test("constructor arguments", () => {
    assertFlareError(() => new T.Resize(-1), /Resize: size must be positive, got -1/);
    assertFlareError(() => new T.Resize([10, 0]), /Resize: size\[1\] must be positive, got 0/);
    assertFlareError(() => new T.CenterCrop([1, 2, 3]), /CenterCrop: size must be an integer or \[height, width\]/);
    assertFlareError(() => new T.RandomResizedCrop(10, { scale: [0.9, 0.1] }), /scale must be \[min, max\] with min <= max/);
    assertFlareError(() => new T.RandomHorizontalFlip({ p: 2 }), /RandomHorizontalFlip: p must be a probability in \[0, 1\], got number 2/);
    assertFlareError(() => new T.ColorJitter(-0.1), /ColorJitter: brightness must be non-negative/);
    assertFlareError(() => new T.ColorJitter(0, 0, 0, 0.6), /ColorJitter: hue must be a range \[min, max\] within \[-0.5, 0.5\]/);
    assertFlareError(() => new T.RandomRotation(10, { interpolation: "bicubic" }), /RandomRotation: interpolation must be one of "nearest", "bilinear"/);
    assertFlareError(() => new T.Normalize([0.5], [0]), /std must not contain zeros/);
    assertFlareError(() => new T.GaussianBlur(2), /GaussianBlur: kernelSize must hold odd positive integers/);
    assertFlareError(() => new T.Compose([new T.Resize(3), {} as never]), /Compose: transforms\[1\] must be a transform/);
    assertFlareError(() => new T.RandomChoice([new T.Resize(3)], { p: [0] }), /weights p must not all be zero/);
    assertFlareError(() => new T.ToDtype("float8" as never), /ToDtype: dtype must be one of .*unknown dtype 'float8'/);
    assertFlareError(() => new T.RandAugment({ magnitude: 31 }), /magnitude must be below numMagnitudeBins/);
    assertFlareError(() => new T.AutoAugment({ policy: "mnist" as never }), /policy must be "imagenet", "cifar10" or "svhn"/);
  });

  test("transforms that change the size per image refuse perSample", () => run(() => {
    const b = torch.zeros([2, 3, 8, 8], { dtype: "uint8" });
    assertFlareError(() => new T.RandomZoomOut({ p: 1, perSample: true }).forward(b), /cannot be used with perSample/);
    assertFlareError(() => new T.RandomRotation(10, { expand: true, perSample: true }).forward(b), /cannot be used with perSample/);
    assertFlareError(() => new T.RandomChoice([new T.Resize(4), new T.Resize(6)], { perSample: true }).forward(b), /must keep their shape and dtype/);
  }));
});

describe("uint8 fast paths equal the op-by-op chain", () => {
  // A smooth picture plus noise: flat regions (equal channels, hue ties) and every byte value.
  const picture = (h: number, w: number) => {
    torch.manualSeed(11);
    const ramp = torch.arange(0, h * w).reshape([1, h, w]).remainder(256).to("float32");
    return torch.cat([ramp, ramp.flip(-1), torch.randint(0, 256, [1, h, w]).to("float32")], 0).to("uint8");
  };
  const jitterByOps = (x: torch.Tensor, p: { order: number[]; brightness: number | null; contrast: number | null; saturation: number | null; hue: number | null }) => {
    let y = x;
    for (const k of p.order) {
      if (k === 0 && p.brightness !== null) y = TF.adjustBrightness(y, p.brightness);
      if (k === 1 && p.contrast !== null) y = TF.adjustContrast(y, p.contrast);
      if (k === 2 && p.saturation !== null) y = TF.adjustSaturation(y, p.saturation);
      if (k === 3 && p.hue !== null) y = TF.adjustHue(y, p.hue);
    }
    return y;
  };

  test("ColorJitter on uint8 (one native call): every draw, wide factors and the whole hue range", () => run(() => {
    const x = picture(37, 53);
    for (const t of [new T.ColorJitter(0.4, 0.4, 0.4, 0.1), new T.ColorJitter([0, 3], [0, 3], [0, 3], 0.5), new T.ColorJitter({ contrast: 0.9, hue: 0.5 })]) {
      for (let i = 0; i < 25; i++) {
        const out = t.forward(x), p = t.lastParams as Parameters<typeof jitterByOps>[1];
        equal(out, jitterByOps(x, p), `${t} ${JSON.stringify(p)}`);
      }
    }
  }));

  test("ColorJitter perSample on a uint8 batch: each image as the op-by-op chain with its own draws", () => run(() => {
    const x = picture(20, 24), batch = torch.stack([x, x.flip(-1), x.flip(-2), x]);
    const t = new T.ColorJitter(0.5, 0.5, 0.5, 0.2, { perSample: true });
    const out = t.forward(batch), ps = (t.lastParams as { perSample: Parameters<typeof jitterByOps>[1][] }).perSample;
    ps.forEach((p, i) => equal(out.index(i), jitterByOps(batch.index(i), p), `image ${i}`));
  }));

  test("resizedCrop on uint8 (one native call around ATen's resize): the crop-then-resize chain's values", () => run(() => {
    const x = picture(41, 57), batch = torch.stack([x, x.flip(-1)]);
    torch.manualSeed(5);
    for (let i = 0; i < 40; i++) {
      const [h, w] = [1 + Math.floor(torch.rand([1]).item() * 41), 1 + Math.floor(torch.rand([1]).item() * 57)];
      const top = Math.floor(torch.rand([1]).item() * (42 - h)), left = Math.floor(torch.rand([1]).item() * (58 - w));
      const size = [[16, 16], [7, 30], 24, [h + 3, w]][i % 4];
      equal(TF.resizedCrop(x, top, left, h, w, size), TF.resize(TF.crop(x, top, left, h, w), size), `box ${[top, left, h, w]} -> ${size}`);
      if (i % 4 !== 2) equal(TF.resizedCrop(batch, top, left, h, w, size), TF.resize(TF.crop(batch, top, left, h, w), size), "batch");
    }
    const boxes = [{ top: 0, left: 0, height: 41, width: 57 }, { top: 3, left: 9, height: 20, width: 11 }];
    const per = TF.resizedCropBatch(batch, boxes, [16, 16]);
    boxes.forEach((b, i) => equal(per.index(i), TF.resize(TF.crop(batch.index(i), b.top, b.left, b.height, b.width), [16, 16]), `per-image box ${i}`));
  }));

  test("per-sample flips of large images (image by image) equal the single-image flips", () => run(() => {
    const x = picture(160, 150), batch = torch.stack([x, x.flip(-2), x, x.flip(-1)]);
    const t = new T.RandomHorizontalFlip({ perSample: true });
    for (let k = 0; k < 3; k++) {
      const out = t.forward(batch), ps = (t.lastParams as { perSample: { flip: boolean }[] }).perSample;
      ps.forEach((p, i) => equal(out.index(i), p.flip ? TF.hflip(batch.index(i)) : batch.index(i), `image ${i}`));
    }
  }));

  test("the uint8 hue kernel (SIMD lanes and the scalar tail) matches adjustHue, including a hue that wraps to exactly 1", () => run(() => {
    // [255, 119, 37] shifted by -0.0626911186457166: h + shift is a tiny negative number whose + 1 rounds to 1.0,
    // so torchvision's sector index is 6 % 6 = 0 (a SIMD select once missed it).
    const wrap = torch.tensor([255, 119, 37], { dtype: "uint8" }).reshape([3, 1, 1]).expand([3, 3, 5]).contiguous();
    equal(new torch.Tensor(native.colorJitterUint8(wrap.handle, [3, 0, 1, 2], [NaN, NaN, NaN, -0.0626911186457166])), TF.adjustHue(wrap, -0.0626911186457166), "wrap to 1");
    const x = picture(29, 31);
    for (const shift of [-0.5, -0.3, -1e-9, 0, 1e-9, 0.05, 0.27, 0.5])
      equal(new torch.Tensor(native.colorJitterUint8(x.handle, [3, 0, 1, 2], [NaN, NaN, NaN, shift])), TF.adjustHue(x, shift), `shift ${shift}`);
  }));

  test("the native kernels reject bad arguments with a FlareError", () => run(() => {
    const x = picture(8, 8);
    assertFlareError(() => native.colorJitterUint8(x.handle, [0, 0, 1, 2], [1, 1, 1, 0]), /each order must be a permutation of 0, 1, 2, 3/);
    assertFlareError(() => native.colorJitterUint8(x.handle, [0, 1, 2, 3], [1, 1, 1, 0.7]), /hue factors must be in \[-0.5, 0.5\]/);
    assertFlareError(() => native.colorJitterUint8(x.to("float32").handle, [0, 1, 2, 3], [1, 1, 1, 0]), /img must be a uint8 CPU tensor/);
    assertFlareError(() => native.resizedCropUint8(x.handle, [4, 4, 5, 5], 3, 3), /box 0 is not a region of whole pixels inside the 8x8 image/);
    assertFlareError(() => native.resizedCropUint8(x.handle, [0, 0, 2, 2, 1], 3, 3), /5 box numbers for 1 images/);
  }));
});

void ({} as P);
