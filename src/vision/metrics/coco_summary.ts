// COCOeval.summarize() for bbox: the 12 numbers in COCOeval's order and its
// printed lines. Means are numpy's (pairwise summation, then one division) and
// the numbers print as Python's '{:0.3f}' (round half to even), so the text is
// byte for byte what pycocotools prints.
import type { CocoEvalResult } from "./coco_eval.js";

/** What each of the 12 stats is, in COCOeval's order. */
export interface StatSpec { ap: boolean; iouThr?: number; areaRng: string; maxDets: number }

export const STAT_NAMES = ["map", "map50", "map75", "mapSmall", "mapMedium", "mapLarge", "mar1", "mar10", "mar100", "marSmall", "marMedium", "marLarge"] as const;
export type StatName = (typeof STAT_NAMES)[number];

function statSpecs(maxDets: number[]): StatSpec[] {
  const last = maxDets[2] ?? maxDets[maxDets.length - 1];
  return [
    { ap: true, areaRng: "all", maxDets: last },
    { ap: true, iouThr: 0.5, areaRng: "all", maxDets: last },
    { ap: true, iouThr: 0.75, areaRng: "all", maxDets: last },
    { ap: true, areaRng: "small", maxDets: last },
    { ap: true, areaRng: "medium", maxDets: last },
    { ap: true, areaRng: "large", maxDets: last },
    { ap: false, areaRng: "all", maxDets: maxDets[0] },
    { ap: false, areaRng: "all", maxDets: maxDets[1] ?? maxDets[0] },
    { ap: false, areaRng: "all", maxDets: last },
    { ap: false, areaRng: "small", maxDets: last },
    { ap: false, areaRng: "medium", maxDets: last },
    { ap: false, areaRng: "large", maxDets: last },
  ];
}

/** numpy's pairwise summation of a float64 array (np.add.reduce), so means match to the last bit. */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => a[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** np.mean(s[s > -1]), or −1 when nothing is defined. */
export function meanDefined(values: number[]): number {
  const kept = values.filter((v) => v > -1);
  return kept.length === 0 ? -1 : pairwiseSum(kept) / kept.length;
}

/** One of COCOeval's _summarize values: mean precision (ap) or recall over the selected entries. */
export function summarizeOne(result: CocoEvalResult, spec: StatSpec, k?: number): number {
  const { params: p, counts: [T, R, K, A, M] } = result;
  const a = p.areaRngLbl.indexOf(spec.areaRng), m = p.maxDets.indexOf(spec.maxDets);
  const ts = spec.iouThr === undefined ? [...Array(T).keys()] : [...Array(T).keys()].filter((t) => p.iouThrs[t] === spec.iouThr);
  const ks = k === undefined ? [...Array(K).keys()] : [k];
  const values: number[] = [];
  if (a < 0 || m < 0) return -1;
  // In numpy's C order: t, then r, then k.
  for (const t of ts) {
    if (spec.ap) for (let r = 0; r < R; r++) for (const kk of ks) values.push(result.precision[(((t * R + r) * K + kk) * A + a) * M + m]);
    else for (const kk of ks) values.push(result.recall[((t * K + kk) * A + a) * M + m]);
  }
  return meanDefined(values);
}

/** Python's '{:0.3f}': correctly rounded, ties (exactly x = j/16, j odd) to even. */
export function formatFixed3(x: number): string {
  if (Number.isFinite(x) && Number.isInteger(x * 16) && !Number.isInteger(x * 8)) {
    const n = Math.floor(Math.abs(x) * 1000);                 // exact: |x|·1000 = n + 0.5
    const even = n % 2 === 0 ? n : n + 1;
    const s = (even / 1000).toFixed(3);
    return x < 0 ? `-${s}` : s;
  }
  return x.toFixed(3);
}

function line(spec: StatSpec, p: CocoEvalResult["params"], value: number): string {
  const title = (spec.ap ? "Average Precision" : "Average Recall").padEnd(18);
  const type = spec.ap ? "(AP)" : "(AR)";
  const f2 = (v: number) => v.toFixed(2);
  const iou = (spec.iouThr === undefined ? `${f2(p.iouThrs[0])}:${f2(p.iouThrs[p.iouThrs.length - 1])}` : f2(spec.iouThr)).padEnd(9);
  return ` ${title} ${type} @[ IoU=${iou} | area=${spec.areaRng.padStart(6)} | maxDets=${String(spec.maxDets).padStart(3)} ] = ${formatFixed3(value)}`;
}

export interface CocoSummary {
  /** The 12 numbers of COCOeval.stats, in its order; −1 where undefined. */
  stats: number[];
  /** The same as named values (map, map50, …, marLarge). */
  named: Record<StatName, number>;
  /** The 12 lines COCOeval.summarize() prints. */
  lines: string[];
  /** lines joined with newlines. */
  text: string;
}

/** COCOeval.summarize() for bbox. */
export function summarizeCoco(result: CocoEvalResult): CocoSummary {
  const specs = statSpecs(result.params.maxDets);
  const stats = specs.map((spec) => summarizeOne(result, spec));
  const lines = specs.map((spec, i) => line(spec, result.params, stats[i]));
  const named = Object.fromEntries(STAT_NAMES.map((name, i) => [name, stats[i]])) as Record<StatName, number>;
  return { stats, named, lines, text: lines.join("\n") };
}
