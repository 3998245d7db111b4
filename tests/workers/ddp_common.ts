// The model and data of the DDP tests, the same in the workers and the test.
import * as torch from "../../src/index.js";
import { nn } from "../../src/index.js";

/** A small CNN (conv, optionally batch norm, linear): several buckets' worth of parameters. */
export function makeModel(batchNorm: boolean, seed: number): nn.Module {
  torch.manualSeed(100 + seed);
  return new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1 }), ...(batchNorm ? [new nn.BatchNorm2d(4)] : []), new nn.ReLU(),
    new nn.Conv2d(4, 8, 3, { padding: 1, stride: 2 }), new nn.ReLU(),
    new nn.Flatten(), new nn.Linear(8 * 4 * 4, 3));
}

/** n images 1×8×8 and labels in 0..2, fixed. */
export function makeData(n: number): { x: torch.Tensor; y: torch.Tensor } {
  const g = new torch.Generator(7);
  const x = torch.tensor(Array.from({ length: n * 64 }, () => g.random() * 2 - 1)).reshape([n, 1, 8, 8]);
  const y = torch.tensor(Array.from({ length: n }, () => Math.floor(g.random() * 3)), { dtype: "int64" });
  return { x, y };
}

export function flatParams(model: nn.Module): number[] {
  return model.parameters().flatMap((p) => Array.from(p.detach().reshape([-1]).dataSync() as Float32Array));
}
