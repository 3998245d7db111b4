// A dataset module with a default export (an object dataset) and a workerInit hook.
import * as torch from "../../src/index.js";

let initSeed = -1;
// info.seed is a bigint (PyTorch's base seeds take 63 bits); its low 31 bits, as a number, for collation.
export function workerInit(info: { seed: bigint }): void { initSeed = Number(BigInt.asUintN(31, info.seed)); }

export default {
  length: 6,
  get(i: number) { return { x: torch.tensor([i, i + 1]), initSeed, name: `s${i}` }; },
};
