// Targets travel with the image: boxes (xyxy / xywh / cxcywh with their
// canvas size) and masks (semantic HW, instance NHW) through every geometric
// transform, with torchvision v2's documented box arithmetic (hand-computed
// expectations: torchvision 0.14 has no v2), clipping, dropping of boxes that
// leave the image with their labels and per-box fields, and SanitizeBoundingBoxes.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import * as T from "../src/vision/transforms/index.js";
import * as TF from "../src/vision/transforms/functional.js";
import { ops } from "../src/vision/index.js";
import { detectionCollate, type DetectionBatch } from "../src/data/index.js";
import { assertClose, assertFlareError } from "./helpers.js";

const H = 10, W = 20;
const image = () => torch.zeros([3, H, W], { dtype: "uint8" });
const boxes = (data: number[][], format: T.BoxFormat = "xyxy", canvasSize: [number, number] = [H, W]) => T.boundingBoxes(data, { format, canvasSize });
const close = (actual: torch.Tensor, expected: number[][], what = "boxes", atol = 1e-5) => assertClose(actual, torch.tensor(expected), { atol, what });
const run = (fn: () => void) => torch.tidy(fn);

/** Tight boxes of instance masks [N, H, W] in continuous coordinates ([x1, y1, x2 + 1, y2 + 1] of the pixels). */
function masksToBoxes(masks: torch.Tensor): number[][] {
  return ops.masksToBoxes(masks).add(torch.tensor([0, 0, 1, 1])).tolist() as number[][];
}

/** Instance masks [N, H, W] (uint8) filling each integer box. */
function boxMasks(list: number[][], h = H, w = W): torch.Tensor {
  const m = torch.zeros([list.length, h, w], { dtype: "uint8" });
  list.forEach(([x1, y1, x2, y2], i) => m.indexPut_([i, `${y1}:${y2}`, `${x1}:${x2}`], 1));
  return m;
}

describe("box arithmetic of the geometric transforms", () => {
  test("horizontal flip in every format (x' = W - x)", () => run(() => {
    const flip = new T.RandomHorizontalFlip({ p: 1 });
    const [, a] = flip.forward(image(), { boxes: boxes([[1, 2, 5, 7]]) });
    close(a.boxes!.data, [[15, 2, 19, 7]]);
    const [, b] = flip.forward(image(), { boxes: boxes([[1, 2, 4, 5]], "xywh") });
    close(b.boxes!.data, [[15, 2, 4, 5]]);
    assert.equal(b.boxes!.format, "xywh");
    const [, c] = flip.forward(image(), { boxes: boxes([[3, 4.5, 4, 5]], "cxcywh") });
    close(c.boxes!.data, [[17, 4.5, 4, 5]]);
    const [, d] = flip.forward(image(), { boxes: T.boundingBoxes(torch.tensor([[1, 2, 5, 7]], { dtype: "int64" }), { canvasSize: [H, W] }) });
    assert.equal(d.boxes!.data.dtype, "int64", "integer boxes keep their dtype");
    assert.deepEqual(d.boxes!.data.tolist(), [[15, 2, 19, 7]]);
  }));

  test("vertical flip, resize, pad, zoom out", () => run(() => {
    const t = { boxes: boxes([[1, 2, 5, 7]]), labels: torch.tensor([4], { dtype: "int64" }) };
    close(new T.RandomVerticalFlip({ p: 1 }).forward(image(), t)[1].boxes!.data, [[1, 3, 5, 8]]);
    const [img, r] = new T.Resize([20, 10]).forward(image(), t);
    assert.deepEqual(img.shape, [3, 20, 10]);
    close(r.boxes!.data, [[0.5, 4, 2.5, 14]]);
    assert.deepEqual(r.boxes!.canvasSize, [20, 10]);
    const [pimg, p] = new T.Pad([1, 2, 3, 4]).forward(image(), t);
    assert.deepEqual(pimg.shape, [3, 16, 24]);
    close(p.boxes!.data, [[2, 4, 6, 9]]);
    assert.deepEqual(p.boxes!.canvasSize, [16, 24]);
    const z = new T.RandomZoomOut({ p: 1, sideRange: [2, 3] });
    const [zimg, zt] = z.forward(image(), t);
    const [l, top] = (z.lastParams as { padding: number[] }).padding;
    close(zt.boxes!.data, [[1 + l, 2 + top, 5 + l, 7 + top]]);
    assert.deepEqual(zt.boxes!.canvasSize, zimg.shape.slice(1));
    assert.ok(zimg.shape[1] >= 20 && zimg.shape[2] >= 40);
  }));

  test("crop: shift, clip to the canvas, drop boxes that leave it with their labels and per-box fields", () => run(() => {
    const t = {
      boxes: boxes([[1, 2, 5, 7], [15, 8, 19, 9], [5, 4, 8, 6]]),
      labels: torch.tensor([1, 2, 3], { dtype: "int64" }),
      iscrowd: torch.tensor([0, 1, 0], { dtype: "int64" }),
      names: ["a", "b", "c"],
      imageId: 7,
    };
    const [img, out] = new T.Compose([new T.Pad(0), new T.CenterCrop([5, 10])]).forward(image(), t);
    // centre crop of 5 × 10 from 10 × 20: top = round(2.5) = 2 (half to even), left = 5
    assert.deepEqual(img.shape, [3, 5, 10]);
    // [1, 2, 5, 7] → [-4, 0, 0, 5]: no width left, dropped; [15, 8, 19, 9] → [10, 6, 14, 7]: below the canvas, dropped
    close(out.boxes!.data, [[0, 2, 3, 4]]);
    assert.deepEqual(out.labels!.tolist(), [3]);
    assert.deepEqual(out.names, ["c"]);
    // explicit expectation with TF.crop's arithmetic
    const [, c] = new T.RandomCrop([5, 10]).replay({ top: 3, left: 4 }, image(), t);
    close(c.boxes!.data, [[0, 0, 1, 4], [1, 1, 4, 3]]);
    assert.deepEqual(c.labels!.tolist(), [1, 3]);
    assert.deepEqual(c.iscrowd.tolist(), [0, 0]);
    assert.deepEqual(c.names, ["a", "c"]);
    assert.equal(c.imageId, 7, "scalar fields stay");
    assertClose(c.boxes!.visibility!, torch.tensor([0.2, 1]), { atol: 1e-6, what: "visibility" });
  }));

  test("rotation by 90° with expand maps (x, y) to (y, W - x)", () => run(() => {
    const list = [[1, 2, 5, 7], [12, 0, 20, 3]];
    const t = { boxes: boxes(list), masks: boxMasks(list) };
    const [img, out] = new T.RandomRotation([90, 90], { expand: true }).forward(image(), t);
    assert.deepEqual(img.shape, [3, 20, 10]);
    close(out.boxes!.data, [[2, 15, 7, 19], [0, 0, 3, 8]], "rotated boxes", 1e-4);
    assert.deepEqual(masksToBoxes(out.masks!), [[2, 15, 7, 19], [0, 0, 3, 8]], "the masks moved with the boxes");
  }));

  test("affine translation clips and records visibility; perspective with identical points keeps boxes", () => run(() => {
    const t = { boxes: boxes([[1, 2, 5, 7]]) };
    const [, a] = new T.RandomAffine(0, { translate: [0.5, 0.5] }).replay({ angle: 0, translate: [3, -4], scale: 1, shear: [0, 0] }, image(), t);
    close(a.boxes!.data, [[4, 0, 8, 3]]);
    assertClose(a.boxes!.visibility!, torch.tensor([0.6]), { atol: 1e-6 });
    const corners: TF.Point[] = [[0, 0], [19, 0], [19, 9], [0, 9]];
    const [, p] = new T.RandomPerspective().replay({ apply: true, startpoints: corners, endpoints: corners }, image(), t);
    close(p.boxes!.data, [[1, 2, 5, 7]], "identity perspective", 1e-3);
    // a rotation about the centre keeps a centred square's centre, and the box grows to hold the rotated corners
    const [, r] = new T.RandomRotation(0).replay({ angle: 45 }, image(), { boxes: boxes([[8, 3, 12, 7]]) });
    const s = 2 * Math.SQRT2;
    close(r.boxes!.data, [[10 - s, 5 - s, 10 + s, 5 + s]], "rotated square", 1e-4);
  }));

  test("boxes and instance masks agree through crops, flips, resizes (integer factors) and pads", () => run(() => {
    const list = [[1, 2, 5, 7], [10, 4, 18, 10], [0, 0, 3, 3]];
    const t = { boxes: boxes(list), masks: boxMasks(list), labels: torch.tensor([0, 1, 2], { dtype: "int64" }) };
    const pipe = new T.Compose([new T.RandomHorizontalFlip({ p: 1 }), new T.Pad([2, 1]), new T.RandomCrop([9, 16]), new T.Resize([18, 32], { interpolation: "nearest" }), new T.RandomVerticalFlip({ p: 1 })]);
    for (let k = 0; k < 5; k++) {
      const [, out] = pipe.forward(image(), t);
      assert.equal(out.masks!.shape[0], out.boxes!.length);
      assert.deepEqual(masksToBoxes(out.masks!), out.boxes!.data.tolist(), `params ${JSON.stringify(pipe.lastParams)}`);
      assert.equal(out.masks!.dtype, "uint8");
    }
  }));

  test("RandomIoUCrop keeps the boxes whose centres are inside the crop", () => run(() => {
    const list = [[2, 2, 8, 8], [12, 1, 19, 9], [0, 7, 3, 10]];
    const t = { boxes: boxes(list), labels: torch.tensor([1, 2, 3], { dtype: "int64" }) };
    const crop = new T.RandomIoUCrop({ samplerOptions: [0.0, 0.5], generator: new torch.Generator(8) });
    let cropped = 0;
    for (let k = 0; k < 20; k++) {
      const [img, out] = crop.forward(image(), t);
      const p = crop.lastParams as { top: number; left: number; height: number; width: number } | null;
      if (!p) { assert.deepEqual(img.shape, [3, H, W]); continue; }
      cropped++;
      assert.deepEqual(img.shape, [3, p.height, p.width]);
      const expected = list.map((b, i) => [b, i] as const).filter(([b]) => {
        const cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
        return p.left < cx && cx < p.left + p.width && p.top < cy && cy < p.top + p.height;
      });
      assert.ok(expected.length > 0);
      assert.deepEqual(out.labels!.tolist(), expected.map(([, i]) => i + 1));
      const clipped = expected.map(([b]) => [Math.max(b[0] - p.left, 0), Math.max(b[1] - p.top, 0), Math.min(b[2] - p.left, p.width), Math.min(b[3] - p.top, p.height)]);
      close(out.boxes!.data, clipped);
    }
    assert.ok(cropped > 5);
    assertFlareError(() => crop.forward(image()), /RandomIoUCrop needs a target with boxes/);
  }));

  test("RandomIoUCrop accepts only crops that overlap a kept box by the drawn minimum IoU", () => run(() => {
    const list = [[2, 2, 8, 8], [12, 1, 19, 9], [0, 7, 3, 10]];
    const t = { boxes: boxes(list), labels: torch.tensor([1, 2, 3], { dtype: "int64" }) };
    const crop = new T.RandomIoUCrop({ samplerOptions: [0.5], generator: new torch.Generator(3) });
    const iou = (b: number[], c: number[]) => {
      const iw = Math.max(0, Math.min(b[2], c[2]) - Math.max(b[0], c[0])), ih = Math.max(0, Math.min(b[3], c[3]) - Math.max(b[1], c[1]));
      return (iw * ih) / ((b[2] - b[0]) * (b[3] - b[1]) + (c[2] - c[0]) * (c[3] - c[1]) - iw * ih);
    };
    for (let k = 0; k < 10; k++) {
      crop.forward(image(), t);
      const p = crop.lastParams as { top: number; left: number; height: number; width: number };
      const c = [p.left, p.top, p.left + p.width, p.top + p.height];
      const inside = list.filter((b) => { const cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2; return c[0] < cx && cx < c[2] && c[1] < cy && cy < c[3]; });
      assert.ok(Math.max(...inside.map((b) => iou(b, c))) >= 0.5, `crop ${JSON.stringify(p)}`);
    }
  }));

  test("RandomIoUCrop draws as torchvision's one-trial-at-a-time loop: the same crops, the generator left in the same state", () => run(() => {
    const list = [[2, 2, 8, 8], [12, 1, 19, 9], [0, 7, 3, 10]];
    const t = { boxes: boxes(list), labels: torch.tensor([1, 2, 3], { dtype: "int64" }) };
    // torchvision v2's RandomIoUCrop sampling, written out on plain numbers.
    const reference = (g: torch.Generator, options: number[], trials = 40) => {
      for (let round = 0; round < 1000; round++) {
        const minIoU = options[g.randint(0, options.length)];
        if (minIoU >= 1.0) return null;
        for (let trial = 0; trial < trials; trial++) {
          const newW = Math.trunc(W * (0.3 + (1.0 - 0.3) * g.random())), newH = Math.trunc(H * (0.3 + (1.0 - 0.3) * g.random()));
          if (!(0.5 <= newW / newH && newW / newH <= 2)) continue;
          const left = Math.trunc((W - newW) * g.random()), top = Math.trunc((H - newH) * g.random());
          const right = left + newW, bottom = top + newH;
          if (left === right || top === bottom) continue;
          const ious = list.filter(([x1, y1, x2, y2]) => {
            const cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
            return left < cx && cx < right && top < cy && cy < bottom;
          }).map(([x1, y1, x2, y2]) => {
            const inter = Math.max(0, Math.min(x2, right) - Math.max(x1, left)) * Math.max(0, Math.min(y2, bottom) - Math.max(y1, top));
            return inter / ((x2 - x1) * (y2 - y1) + newW * newH - inter);
          });
          if (ious.length === 0 || Math.max(...ious) < minIoU) continue;
          return { top, left, height: newH, width: newW };
        }
      }
      return null;
    };
    for (const options of [[0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0], [0.7, 1.0], [0.6]]) {
      for (let seed = 0; seed < 8; seed++) {
        const mine = new torch.Generator(seed), theirs = new torch.Generator(seed);
        const crop = new T.RandomIoUCrop({ samplerOptions: options, generator: mine });
        for (let call = 0; call < 3; call++) {
          crop.forward(image(), t);
          assert.deepEqual(crop.lastParams, reference(theirs, options), `options ${options}, seed ${seed}, call ${call}`);
          assert.equal(mine.getState(), theirs.getState());
        }
      }
    }
  }));

  test("photometric transforms pass targets through untouched", () => run(() => {
    const t = { boxes: boxes([[1, 2, 5, 7]]), masks: torch.zeros([H, W], { dtype: "int64" }) };
    const [, out] = new T.ColorJitter(0.5, 0.5, 0.5, 0.2).forward(image(), t);
    assert.equal(out.boxes!.data, t.boxes.data);
    assert.equal(out.masks, t.masks);
  }));
});

describe("masks", () => {
  test("semantic masks use nearest interpolation and keep their dtype and label values", () => run(() => {
    torch.manualSeed(0);
    const mask = torch.randint(0, 4, [H, W], { dtype: "int64" });
    const [img, out] = new T.Resize([7, 13]).forward(image(), { masks: mask });
    assert.deepEqual(img.shape, [3, 7, 13]);
    assert.equal(out.masks!.dtype, "int64");
    const expected = TF.resize(mask.unsqueeze(0).to("float32"), [7, 13], { interpolation: "nearest" }).squeeze(0).to("int64");
    assert.deepEqual(out.masks!.tolist(), expected.tolist());
    const [, rot] = new T.RandomRotation(30, { interpolation: "bilinear", fill: 255 }).forward(image(), { masks: mask });
    const values = new Set((rot.masks!.flatten().tolist() as number[]));
    assert.ok([...values].every((v) => v >= 0 && v <= 3), `rotated mask values ${[...values]} (nearest, fill 0)`);
    const [, b] = new T.RandomResizedCrop(8).forward(image(), { masks: mask.gt(1) });
    assert.equal(b.masks!.dtype, "bool");
    assert.deepEqual(b.masks!.shape, [8, 8]);
  }));

  test("instance masks without boxes, and an empty set of instances", () => run(() => {
    const [, out] = new T.RandomCrop(5).forward(image(), { masks: boxMasks([[1, 1, 4, 4]]) });
    assert.deepEqual(out.masks!.shape, [1, 5, 5]);
    const [, empty] = new T.RandomRotation(20).forward(image(), { boxes: boxes([]), masks: torch.zeros([0, H, W], { dtype: "uint8" }), labels: torch.zeros([0], { dtype: "int64" }) });
    assert.deepEqual(empty.masks!.shape, [0, H, W]);
    assert.equal(empty.boxes!.length, 0);
  }));
});

describe("SanitizeBoundingBoxes and box bookkeeping", () => {
  test("minSize and minArea drop boxes with their labels, instance masks and other per-box fields", () => run(() => {
    const list = [[0, 0, 0.5, 10], [0, 0, 5, 5], [3, 3, 4, 4], [6, 1, 10, 2.5]];
    const t = {
      boxes: boxes(list), labels: torch.tensor([1, 2, 3, 4], { dtype: "int64" }),
      masks: torch.zeros([4, H, W], { dtype: "bool" }), area: torch.tensor([5, 25, 1, 6]), names: ["a", "b", "c", "d"],
    };
    const [, a] = new T.SanitizeBoundingBoxes().forward(image(), t);
    assert.deepEqual(a.labels!.tolist(), [2, 3, 4]);
    const [, b] = new T.SanitizeBoundingBoxes({ minSize: 1, minArea: 2 }).forward(image(), t);
    assert.deepEqual(b.labels!.tolist(), [2, 4]);
    assert.deepEqual(b.masks!.shape, [2, H, W]);
    assert.deepEqual(b.area.tolist(), [25, 6]);
    assert.deepEqual(b.names, ["b", "d"]);
    const [, c] = new T.SanitizeBoundingBoxes({ minSize: 2 }).forward(image(), t);
    assert.deepEqual(c.labels!.tolist(), [2]);
  }));

  test("minVisibility drops boxes mostly cut off by the geometric transforms", () => run(() => {
    const t = { boxes: boxes([[1, 2, 5, 7], [5, 4, 8, 6]]), labels: torch.tensor([1, 2], { dtype: "int64" }) };
    const pipe = (v: number) => new T.Compose([new T.RandomCrop([5, 10]), new T.SanitizeBoundingBoxes({ minVisibility: v })]);
    const p = pipe(0.5);
    const [, a] = p.replay([{ top: 3, left: 4 }, null], image(), t);
    assert.deepEqual(a.labels!.tolist(), [2], "visibility 0.2 < 0.5 dropped");
    const [, b] = pipe(0.1).replay([{ top: 3, left: 4 }, null], image(), t);
    assert.deepEqual(b.labels!.tolist(), [1, 2]);
  }));

  test("format conversion and clamping follow torchvision.ops.box_convert / clip_boxes_to_image", () => run(() => {
    const xyxy = torch.tensor([[1, 2, 5, 8], [-3, 1, 25, 12]]);
    close(T.convertBoxFormat(xyxy, "xyxy", "xywh"), [[1, 2, 4, 6], [-3, 1, 28, 11]]);
    close(T.convertBoxFormat(xyxy, "xyxy", "cxcywh"), [[3, 5, 4, 6], [11, 6.5, 28, 11]]);
    close(T.convertBoxFormat(T.convertBoxFormat(xyxy, "xyxy", "cxcywh"), "cxcywh", "xywh"), [[1, 2, 4, 6], [-3, 1, 28, 11]]);
    const [, c] = new T.ClampBoundingBoxes().forward(image(), { boxes: T.boundingBoxes(xyxy, { canvasSize: [H, W] }) });
    close(c.boxes!.data, [[1, 2, 5, 8], [0, 1, 20, 10]]);
    const [, f] = new T.ConvertBoundingBoxFormat("cxcywh").forward(image(), { boxes: T.boundingBoxes(xyxy, { canvasSize: [H, W] }) });
    assert.equal(f.boxes!.format, "cxcywh");
    close(f.boxes!.data, [[3, 5, 4, 6], [11, 6.5, 28, 11]]);
  }));
});

describe("transformed targets in a detection batch", () => {
  test("detectionCollate takes the transforms' xyxy BoundingBoxes and refuses other formats", () => run(() => {
    const flip = new T.RandomHorizontalFlip({ p: 1 });
    const a = flip.forward(image(), { boxes: boxes([[1, 2, 5, 7]]), labels: torch.tensor([3], { dtype: "int64" }) });
    const b = flip.forward(image(), { boxes: boxes([[0, 0, 2, 2], [4, 4, 6, 8]]), labels: torch.tensor([1, 2], { dtype: "int64" }) });
    const batch = detectionCollate()([a, b]) as DetectionBatch;
    assert.deepEqual(batch.boxes.tolist(), [[[15, 2, 19, 7], [-1, -1, -1, -1]], [[18, 0, 20, 2], [14, 4, 16, 8]]]);
    assert.deepEqual(batch.labels.tolist(), [[3, -1], [1, 2]]);
    const c = new T.ConvertBoundingBoxFormat("cxcywh").forward(a[0], a[1]);
    assertFlareError(() => detectionCollate()([a, c]), /^detectionCollate\(\): the boxes of sample 1 are in cxcywh format, but batches hold xyxy boxes: convert them first \(transforms\.ConvertBoundingBoxFormat\("xyxy"\)\)$/, "E_ARGUMENT");
  }));
});

describe("bad targets", () => {
  test("each names the field and the problem", () => run(() => {
    const flip = new T.RandomHorizontalFlip();
    assertFlareError(() => flip.forward(image(), { masks: torch.zeros([9, W]) }), /RandomHorizontalFlip: target.masks: size \[9, 20\] differs from the image's size \[10, 20\]/, "E_SHAPE");
    assertFlareError(() => flip.forward(image(), { boxes: boxes([[1, 2, 3, 4]], "xyxy", [12, 20]) }), /target.boxes: canvasSize \[12, 20\] differs from the image's size \[10, 20\]/);
    assertFlareError(() => flip.forward(image(), { boxes: boxes([[1, 2, 3, 4]]), labels: torch.tensor([1, 2], { dtype: "int64" }) }), /target.labels has 2 entries but there are 1 boxes/);
    assertFlareError(() => flip.forward(image(), { boxes: boxes([[1, 2, 3, 4]]), masks: torch.zeros([2, H, W]) }), /target.masks has 2 instance masks but there are 1 boxes/);
    assertFlareError(() => flip.forward(image(), { boxes: torch.zeros([2, 5]) as never }), /target.boxes must have shape \[N, 4\], got \[2, 5\]/);
    assertFlareError(() => flip.forward(image(), torch.zeros([2]) as never), /target must be an object such as \{ boxes, labels, masks \}/);
    assertFlareError(() => flip.forward(image().unsqueeze(0), { masks: torch.zeros([H, W]) }), /a batch \[N, C, H, W\] takes an array of N targets/);
    assertFlareError(() => flip.forward(image().unsqueeze(0).expand(2, 3, H, W), [{}]), /1 targets for a batch of 2 images/);
    assertFlareError(() => flip.forward(image(), [{}]), /an array of targets needs a batch/);
    assertFlareError(() => T.boundingBoxes([[1, 2, 3, 4]], { format: "xyzw" as never, canvasSize: [H, W] }), /format must be "xyxy", "xywh" or "cxcywh"/);
    assertFlareError(() => T.boundingBoxes([[1, 2, 3, 4]], { canvasSize: [-1, W] as never }), /canvasSize must be \[height, width\]/);
    assertFlareError(() => new T.AutoAugment().forward(image(), { boxes: boxes([[1, 2, 3, 4]]) }), /AutoAugment supports images only/);
  }));
});
