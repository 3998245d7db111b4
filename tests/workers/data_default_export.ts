// A dataset module with a default export (an object dataset) and a workerInit hook.
import * as torch from "../../src/index.js";

let initSeed = -1;
export function workerInit(info: { seed: number }): void { initSeed = info.seed; }

export default {
  length: 6,
  get(i: number) { return { x: torch.tensor([i, i + 1]), initSeed, name: `s${i}` }; },
};
