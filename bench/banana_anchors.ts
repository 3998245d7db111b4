// How well TinySSD's anchors cover a generated banana set: for each true box, the
// best IoU any of the 5,444 anchors reaches (the book's matching labels an anchor
// positive at IoU ≥ 0.5), and the boxes' sizes and aspects. Compares the set the
// generator draws now (BOOK_BANANAS) with the wide one it drew before.
// Usage: node dist/bench/banana_anchors.js [--count 1000]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as torch from "../src/index.js";
import { makeBananas } from "../src/vision/datasets/generators/index.js";
import { multiboxPrior, boxIou } from "../src/vision/ops/index.js";
import { TINY_SSD_SIZES, TINY_SSD_RATIOS } from "../src/vision/models/detection/tiny_ssd.js";
import { numFlag } from "./flags.js";

const count = numFlag("count", 1000), side = 256;
const FEATURE_MAPS = [32, 16, 8, 4, 1];  // TinySSD's five scales at 256²

const anchors = torch.tidy(() => torch.keep(torch.cat(FEATURE_MAPS.map((fm, k) =>
  multiboxPrior(torch.zeros([1, 1, fm, fm]), [...TINY_SSD_SIZES[k]], [...TINY_SSD_RATIOS[k]]).squeeze(0)))));

const quantiles = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), at = (q: number) => s[Math.round(q * (s.length - 1))];
  return { min: at(0), p10: at(0.1), median: at(0.5), p90: at(0.9), max: at(1) };
};
const round = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number(v.toFixed(3))]));

const dir = mkdtempSync(path.join(tmpdir(), "flare-banana-anchors-"));
const sets = { book: {}, wide: { scale: [0.15, 0.45] as [number, number], ratio: [0.5, 2] as [number, number] } };
const result: Record<string, unknown> = { anchors: anchors.shape[0], count };
try {
  for (const [name, options] of Object.entries(sets)) {
    const manifest = await makeBananas({ out: path.join(dir, name), count, valCount: 0, size: side, seed: 0, ...options });
    const boxes = manifest.splits.train.flatMap((image) => image.boxes);
    const best = torch.tidy(() => boxIou(torch.tensor(boxes).div(side), anchors).amax(1).tolist() as number[]);
    const rootArea = boxes.map(([x1, y1, x2, y2]) => Math.sqrt((x2 - x1) * (y2 - y1)) / side);
    const aspect = boxes.map(([x1, y1, x2, y2]) => (x2 - x1) / (y2 - y1));
    result[name] = {
      bestAnchorIou: round(quantiles(best)),
      withoutAnchorAt05: Number((best.filter((v) => v < 0.5).length / best.length).toFixed(3)),
      sqrtAreaOverSide: round(quantiles(rootArea)), widthOverHeight: round(quantiles(aspect)),
    };
  }
} finally {
  anchors.dispose();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));
