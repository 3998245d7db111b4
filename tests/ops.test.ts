// flare/vision ops against torchvision.ops (golden fixtures from scripts/fixtures/ops.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { ops } from "../src/vision/index.js";
import { assertClose, assertFlareError, loadFixture } from "./helpers.js";

const fixture = loadFixture("ops");
const get = (key: string) => fixture.get(key)!;

for (const n of [0, 1, 7, 60, 300]) {
  test(`box ops on ${n} boxes equal torchvision's`, () => torch.tidy(() => {
    const boxes = get(`n${n}.boxes`), scores = get(`n${n}.scores`), idxs = get(`n${n}.idxs`);
    for (const t of [0.3, 0.5, 0.7]) {
      assert.deepEqual(ops.nms(boxes, scores, t).tolist(), get(`n${n}.nms${t}`).tolist(), `nms at ${t}`);
      assert.deepEqual(ops.batchedNms(boxes, scores, idxs, t).tolist(), get(`n${n}.batched${t}`).tolist(), `batchedNms at ${t}`);
    }
    assertClose(ops.boxIou(boxes, get(`n${n}.iou_other`)), get(`n${n}.iou`), { what: "boxIou" });
    assertClose(ops.boxArea(boxes), get(`n${n}.area`), { what: "boxArea" });
    for (const fmt of ["xywh", "cxcywh"] as const) {
      const converted = ops.boxConvert(boxes, "xyxy", fmt);
      assertClose(converted, get(`n${n}.to_${fmt}`), { what: fmt });
      assertClose(ops.boxConvert(converted, fmt, "xyxy"), boxes, { atol: 1e-4, what: `${fmt} back` });
    }
  }));
}

test("d2l's worked IoU and NMS example", () => torch.tidy(() => {
  // d2l 14.4: two boxes overlapping by a quarter of their union.
  assertClose(ops.boxIou(torch.tensor([[0, 0, 2, 2]]), torch.tensor([[1, 1, 3, 3]])), torch.tensor([[1 / 7]]));
  const boxes = torch.tensor([[0.1, 0.08, 0.52, 0.92], [0.08, 0.2, 0.56, 0.95], [0.15, 0.3, 0.62, 0.91], [0.55, 0.2, 0.9, 0.88]]);
  const scores = torch.tensor([0.9, 0.8, 0.7, 0.9]);
  assert.deepEqual(ops.nms(boxes, scores, 0.5).tolist(), [0, 3]);
}));

test("box ops reject bad shapes", () => torch.tidy(() => {
  assertFlareError(() => ops.boxIou(torch.zeros([3, 5]), torch.zeros([1, 4])), /boxes1 must have shape \[N, 4\], got \[3, 5\]/, "E_SHAPE");
  assertFlareError(() => ops.nms(torch.zeros([3, 4]), torch.zeros([2]), 0.5), /scores must have shape \[3\]/, "E_SHAPE");
  assertFlareError(() => ops.boxConvert(torch.zeros([1, 4]), "xyxy", "yxyx" as never), /outFormat must be/);
}));
