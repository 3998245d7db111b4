// The dataset of bench/memory.ts (and of tests/memory.test.ts), also loaded by
// DataLoader workers: `count` random 1×16×16 images with labels 0..9, made on
// demand (no I/O: the loop's own memory is what is measured).
import * as torch from "../src/index.js";

export interface MemoryDatasetArgs { count: number }

export function createDataset(args: MemoryDatasetArgs) {
  return {
    length: args.count,
    get(index: number): [torch.Tensor, number] {
      return [torch.randn([1, 16, 16]), index % 10];
    },
  };
}
