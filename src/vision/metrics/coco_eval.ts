// COCO bbox evaluation, computed as pycocotools' COCOeval does (evaluate →
// evaluateImg → accumulate): the same sort orders, the same greedy matching,
// the same floating-point operations in the same order, so its precision and
// recall arrays are pycocotools' to the last bit. Boxes here are COCO's
// [x, y, w, h]; the callers convert. Evaluation runs one category at a time,
// so memory holds one category's matches, not the whole [K, A, I] table.
import { FlareError } from "../../errors.js";

/** COCOeval's Params for iouType "bbox". */
export interface CocoEvalParams {
  /** IoU thresholds, ascending (default 0.50:0.05:0.95, built as numpy's linspace). */
  iouThrs: number[];
  /** Recall points (default 0:0.01:1, 101 of them). */
  recThrs: number[];
  /** Detections kept per image and category, ascending (default [1, 10, 100]). */
  maxDets: number[];
  /** [min, max] of the annotation's area, both inclusive (default all, small, medium, large). */
  areaRng: [number, number][];
  areaRngLbl: string[];
}

/** numpy.linspace(start, stop, num): i·step + start, the last value set to stop. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** The defaults of pycocotools' Params.setDetParams. */
export function defaultParams(): CocoEvalParams {
  return {
    // As pycocotools: linspace, not a running sum, so 0.75 is exactly 0.75.
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0, 1, Math.round((1 - 0) / 0.01) + 1),
    maxDets: [1, 10, 100],
    areaRng: [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]],
    areaRngLbl: ["all", "small", "medium", "large"],
  };
}

/**
 * Ground-truth annotations, column-wise. Row order matters as in pycocotools
 * (it breaks ties between equally good matches): give them in file order.
 */
export interface CocoGroundTruth {
  /** Annotation ids. As in pycocotools, a match to an annotation whose id is 0 counts as no match. */
  ids: ArrayLike<number>;
  imageIds: ArrayLike<number>;
  categoryIds: ArrayLike<number>;
  /** [x, y, w, h] per annotation, flattened (4 values each). */
  boxes: ArrayLike<number>;
  /** The annotation's `area` (what the area ranges test). */
  areas: ArrayLike<number>;
  /** Non-zero for crowd regions. */
  iscrowd: ArrayLike<number>;
}

/** Detections (a COCO results list), column-wise, in file order; ids are 1, 2, … as loadRes gives them. */
export interface CocoDetections {
  imageIds: ArrayLike<number>;
  categoryIds: ArrayLike<number>;
  /** [x, y, w, h] per detection, flattened. */
  boxes: ArrayLike<number>;
  scores: ArrayLike<number>;
  /** w·h, as loadRes computes it. */
  areas: ArrayLike<number>;
}

export interface CocoEvalInput {
  /** The images evaluated (COCOeval's params.imgIds: every image of the ground truth). */
  imgIds: ArrayLike<number>;
  /** The categories evaluated (params.catIds: every category of the ground truth). */
  catIds: ArrayLike<number>;
  gt: CocoGroundTruth;
  dt: CocoDetections;
}

/** What COCOeval.accumulate leaves in `eval`. */
export interface CocoEvalResult {
  params: CocoEvalParams;
  /** Sorted, unique image and category ids, as COCOeval.evaluate sorts them. */
  imgIds: number[];
  catIds: number[];
  /** [T, R, K, A, M]. */
  counts: [number, number, number, number, number];
  /** precision[t, r, k, a, m] flattened in C order; −1 where the category has no ground truth. */
  precision: Float64Array;
  /** recall[t, k, a, m] flattened in C order; −1 where undefined. */
  recall: Float64Array;
}

/** numpy's np.spacing(1): the eps in pycocotools' precision denominator. */
const EPS = 2.220446049250313e-16;

/** Params as COCOeval needs them: non-empty, finite, ascending thresholds; [lo, hi] ranges with a label each. */
export function checkParams(p: CocoEvalParams): CocoEvalParams {
  const bad = (problem: string): never => { throw new FlareError(`evaluateCoco: params.${problem}`, "E_ARGUMENT"); };
  if (p === null || typeof p !== "object") bad(` must be an object, got ${String(p)}`);
  const known = ["iouThrs", "recThrs", "maxDets", "areaRng", "areaRngLbl"];
  for (const key of Object.keys(p)) if (!known.includes(key)) bad(`${key} is not a COCOeval parameter (known: ${known.join(", ")})`);
  for (const key of ["iouThrs", "recThrs"] as const) {
    const v = p[key];
    if (!Array.isArray(v) || v.length === 0 || !v.every((x, i) => Number.isFinite(x) && x >= 0 && x <= 1 && (i === 0 || x > v[i - 1])))
      bad(`${key} must be a non-empty ascending list of numbers in [0, 1], got ${JSON.stringify(v)}`);
  }
  if (!Array.isArray(p.maxDets) || p.maxDets.length === 0 || !p.maxDets.every((x) => Number.isInteger(x) && x > 0)) bad(`maxDets must be a non-empty list of positive integers, got ${JSON.stringify(p.maxDets)}`);
  if (!Array.isArray(p.areaRng) || p.areaRng.length === 0 || !p.areaRng.every((r) => Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === "number" && !Number.isNaN(x)) && r[0] <= r[1]))
    bad(`areaRng must be a non-empty list of [min, max] pairs, got ${JSON.stringify(p.areaRng)}`);
  if (!Array.isArray(p.areaRngLbl) || p.areaRngLbl.length !== p.areaRng.length) bad(`areaRngLbl must name each of the ${p.areaRng.length} area ranges`);
  return p;
}

/** Every column has one value per row (four per box). */
function checkColumns(input: CocoEvalInput, G: number, D: number): void {
  const bad = (what: string, n: number, want: number) => { throw new FlareError(`evaluateCoco: ${what} has ${n} values, expected ${want}`, "E_SHAPE"); };
  for (const key of ["imageIds", "categoryIds", "areas", "iscrowd"] as const) if (input.gt[key].length !== G) bad(`gt.${key}`, input.gt[key].length, G);
  if (input.gt.boxes.length !== 4 * G) bad("gt.boxes", input.gt.boxes.length, 4 * G);
  for (const key of ["imageIds", "categoryIds", "areas"] as const) if (input.dt[key].length !== D) bad(`dt.${key}`, input.dt[key].length, D);
  if (input.dt.boxes.length !== 4 * D) bad("dt.boxes", input.dt.boxes.length, 4 * D);
}

/** Sorted unique values (np.unique). */
function unique(values: ArrayLike<number>): number[] {
  return [...new Set(Array.from(values))].sort((a, b) => a - b);
}

/** Rows grouped by (category, image): a counting sort that keeps each group's rows in input order. */
function groupRows(imageIds: ArrayLike<number>, categoryIds: ArrayLike<number>, imageIndex: Map<number, number>, catIndex: Map<number, number>, I: number, K: number) {
  const n = imageIds.length;
  const key = new Int32Array(n);
  const start = new Int32Array(K * I + 1);
  for (let j = 0; j < n; j++) {
    const i = imageIndex.get(imageIds[j]), k = catIndex.get(categoryIds[j]);
    // Rows of images or categories outside the evaluation are left out, as getAnnIds(imgIds, catIds) does.
    key[j] = i === undefined || k === undefined ? -1 : k * I + i;
    if (key[j] >= 0) start[key[j] + 1]++;
  }
  for (let g = 0; g < K * I; g++) start[g + 1] += start[g];
  const rows = new Int32Array(start[K * I]);
  const fill = start.slice(0, K * I);
  for (let j = 0; j < n; j++) if (key[j] >= 0) rows[fill[key[j]]++] = j;
  return { start, rows };
}

/**
 * COCOeval.evaluate() and accumulate() for iouType "bbox" with useCats = 1.
 * Returns the precision and recall arrays that summarize() reads.
 */
export function evaluateCoco(input: CocoEvalInput, params: CocoEvalParams = defaultParams()): CocoEvalResult {
  const p = checkParams(params);
  const maxDets = [...p.maxDets].sort((a, b) => a - b);
  const imgIds = unique(input.imgIds), catIds = unique(input.catIds);
  const T = p.iouThrs.length, R = p.recThrs.length, K = catIds.length, A = p.areaRng.length, M = maxDets.length, I = imgIds.length;
  const maxDet = maxDets[M - 1];
  // One typed copy of each column: the loops below then read one array type (fast in V8), whatever the caller gave.
  const gt = { ids: Float64Array.from(input.gt.ids), boxes: Float64Array.from(input.gt.boxes), areas: Float64Array.from(input.gt.areas), iscrowd: Uint8Array.from(input.gt.iscrowd, (v) => (v ? 1 : 0)) };
  const dt = { boxes: Float64Array.from(input.dt.boxes), scores: Float64Array.from(input.dt.scores), areas: Float64Array.from(input.dt.areas) };
  checkColumns(input, gt.ids.length, dt.scores.length);
  const imageIndex = new Map(imgIds.map((id, i) => [id, i]));
  const catIndex = new Map(catIds.map((id, k) => [id, k]));
  const gtGroups = groupRows(input.gt.imageIds, input.gt.categoryIds, imageIndex, catIndex, I, K);
  const dtGroups = groupRows(input.dt.imageIds, input.dt.categoryIds, imageIndex, catIndex, I, K);
  // Scratch space for one (image, category) group, grown as needed.
  let gtIg = new Uint8Array(16), gtInd = new Int32Array(16), gtm = new Uint8Array(16), ious = new Float64Array(256);

  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const thresholds = p.iouThrs.map((t) => Math.min(t, 1 - 1e-10));

  for (let k = 0; k < K; k++) {
    // ---- evaluateImg for every image of category k (images in id order, as accumulate concatenates them)
    let total = 0;
    for (let i = 0; i < I; i++) total += Math.min(dtGroups.start[k * I + i + 1] - dtGroups.start[k * I + i], maxDet);
    const scores = new Float64Array(total);
    const rank = new Int32Array(total);                    // position within its image, for the maxDets cut
    const codes = new Uint8Array(A * T * total);           // [a][t][j]: 0 false positive, 1 true positive, 2 ignored
    const npig = new Float64Array(A);                      // non-ignored ground truths per area range
    let offset = 0;
    for (let i = 0; i < I; i++) {
      const g0 = gtGroups.start[k * I + i], G = gtGroups.start[k * I + i + 1] - g0;
      const d0 = dtGroups.start[k * I + i], Dall = dtGroups.start[k * I + i + 1] - d0;
      if (G === 0 && Dall === 0) continue;
      // Detections by score, highest first; a stable sort, as numpy's mergesort.
      const order = Array.from(dtGroups.rows.subarray(d0, d0 + Dall));
      order.sort((a, b) => (dt.scores[b] - dt.scores[a]) || (a - b));
      const D = Math.min(Dall, maxDet);
      const gRows = gtGroups.rows.subarray(g0, g0 + G);
      // maskApi.c bbIou: iou[d, g], the crowd's denominator is the detection's area.
      if (ious.length < D * G) ious = new Float64Array(2 * D * G);
      ious.fill(0, 0, D * G);
      for (let g = 0; g < G; g++) {
        const r = gRows[g];
        const gx = gt.boxes[4 * r], gy = gt.boxes[4 * r + 1], gw = gt.boxes[4 * r + 2], gh = gt.boxes[4 * r + 3];
        const ga = gw * gh, crowd = gt.iscrowd[r] ? 1 : 0;
        for (let d = 0; d < D; d++) {
          const q = order[d];
          const dx = dt.boxes[4 * q], dy = dt.boxes[4 * q + 1], dw = dt.boxes[4 * q + 2], dh = dt.boxes[4 * q + 3];
          const da = dw * dh;
          const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
          if (w <= 0) continue;
          const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
          if (h <= 0) continue;
          const inter = w * h;
          ious[d * G + g] = inter / (crowd ? da : da + ga - inter);
        }
      }
      for (let d = 0; d < D; d++) { scores[offset + d] = dt.scores[order[d]]; rank[offset + d] = d; }
      if (gtIg.length < G) { gtIg = new Uint8Array(2 * G); gtInd = new Int32Array(2 * G); gtm = new Uint8Array(2 * G); }
      for (let a = 0; a < A; a++) {
        const [lo, hi] = p.areaRng[a];
        let kept = 0;
        for (let g = 0; g < G; g++) {
          const r = gRows[g];
          const ignore = gt.iscrowd[r] || gt.areas[r] < lo || gt.areas[r] > hi;
          if (!ignore) gtInd[kept++] = g;
        }
        npig[a] += kept;
        // Ground truths sorted ignored-last (stable): gtInd[s] is the s-th in that order.
        for (let g = 0, s = kept; g < G; g++) {
          const r = gRows[g];
          if (gt.iscrowd[r] || gt.areas[r] < lo || gt.areas[r] > hi) gtInd[s++] = g;
        }
        for (let s = 0; s < G; s++) gtIg[s] = s >= kept ? 1 : 0;
        for (let t = 0; t < T; t++) {
          gtm.fill(0, 0, G);
          const base = (a * T + t) * total + offset;
          for (let d = 0; d < D; d++) {
            let best = thresholds[t], m = -1;
            for (let s = 0; s < G; s++) {
              const g = gtInd[s];
              if (gtm[s] && !gt.iscrowd[gRows[g]]) continue;  // already matched and not a crowd
              if (m > -1 && gtIg[m] === 0 && gtIg[s] === 1) break;  // a real match beats any ignored one
              const iou = ious[d * G + g];
              if (iou < best) continue;
              best = iou; m = s;
            }
            const q = order[d];
            const outside = dt.areas[q] < lo || dt.areas[q] > hi;
            let code: number;
            if (m === -1) code = outside ? 2 : 0;
            else {
              gtm[m] = 1;
              // pycocotools stores the matched annotation's id and tests it for truth: a match to id 0 reads as none.
              const matched = gt.ids[gRows[gtInd[m]]] !== 0;
              code = gtIg[m] || (!matched && outside) ? 2 : matched ? 1 : 0;
            }
            codes[base + d] = code;
          }
        }
      }
      offset += D;
    }

    // ---- accumulate for category k: all images' detections by score (stable; ties keep image order).
    const all = Array.from({ length: total }, (_, j) => j);
    all.sort((a, b) => (scores[b] - scores[a]) || (a - b));
    const rc = new Float64Array(total), pr = new Float64Array(total);
    for (let m = 0; m < M; m++) {
      // The top maxDets[m] of each image, in the same global order (a subsequence of the full sort).
      const sel = maxDets[m] >= maxDet ? all : all.filter((j) => rank[j] < maxDets[m]);
      const nd = sel.length;
      for (let a = 0; a < A; a++) {
        if (npig[a] === 0) continue;
        for (let t = 0; t < T; t++) {
          const base = (a * T + t) * total;
          // Ignored detections are skipped: in pycocotools they repeat the previous (recall, precision)
          // pair (or (0, 0) before the first counted one), which changes neither the envelope nor which
          // value each recall point finds, nor the last recall.
          let tp = 0, fp = 0, n = 0;
          for (let j = 0; j < nd; j++) {
            const c = codes[base + sel[j]];
            if (c === 2) continue;
            if (c === 1) tp++; else fp++;
            rc[n] = tp / npig[a];
            pr[n] = tp / (fp + tp + EPS);
            n++;
          }
          recall[((t * K + k) * A + a) * M + m] = n ? rc[n - 1] : 0;
          // The precision envelope: non-increasing from the right.
          for (let j = n - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          // np.searchsorted(rc, recThrs, side="left"); recall points past the last detection stay 0.
          let j = 0;
          for (let r = 0; r < R; r++) {
            while (j < n && rc[j] < p.recThrs[r]) j++;
            precision[(((t * R + r) * K + k) * A + a) * M + m] = j < n ? pr[j] : 0;
          }
        }
      }
    }
  }
  return { params: { ...p, maxDets }, imgIds, catIds, counts: [T, R, K, A, M], precision, recall };
}
