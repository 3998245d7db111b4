// A dataset module that also exports its own collateFn (for a DataLoader with a custom collate).
import * as torch from "../../src/index.js";
import { RangeDataset, type RangeArgs, type RangeSample } from "./data_range.js";

export function createDataset(args: RangeArgs): RangeDataset { return new RangeDataset(args); }

/** {sum: the images summed (a tensor), labels: the labels as a plain array}. */
export function collateFn(samples: RangeSample[]): { sum: torch.Tensor; labels: number[] } {
  return { sum: torch.stack(samples.map((s) => s[0]), 0).sum(0), labels: samples.map((s) => s[1]) };
}
