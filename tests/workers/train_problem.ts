// A tiny classification problem for the engine tests: 2-D points in 3 classes,
// a small MLP with dropout (so the RNG state matters on resume), SGD with
// momentum and a step schedule, cross-entropy through the supervised step and
// top-1 accuracy. The batch order is a function of the epoch.
import * as torch from "../../src/index.js";
import { nn, optim, F } from "../../src/index.js";
import { supervisedStep, TopKAccuracy } from "../../src/engine/index.js";

export function makeProblem(seed: number) {
  torch.manualSeed(seed);
  const model = new nn.Sequential(new nn.Linear(2, 16), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(16, 3));
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const scheduler = new optim.lrScheduler.StepLR(optimizer, 2, { gamma: 0.5 });
  const points = torch.keep(torch.tidy(() => {
    const g = new torch.Generator(7);
    return torch.tensor(Array.from({ length: 96 }, (_, i) => { const c = i % 3; return [c * 2 + g.normal(0, 0.4), (c % 2) * 2 + g.normal(0, 0.4)]; }));
  }));
  const labels = torch.keep(torch.tensor(Array.from({ length: 96 }, (_, i) => i % 3), { dtype: "int64" }));
  // 6 batches of 16 per epoch, in an order that depends only on the epoch.
  const data = (epoch: number) => {
    const order = new torch.Generator(1000 + epoch).permutation(96);
    return Array.from({ length: 6 }, (_, b) => {
      const index = torch.tensor(order.slice(b * 16, b * 16 + 16), { dtype: "int64" });
      const batch: [torch.Tensor, torch.Tensor] = [points.indexSelect(0, index), labels.indexSelect(0, index)];
      index.dispose();
      return batch;
    });
  };
  const step = supervisedStep((out, target) => F.crossEntropy(out, target));
  const metrics = [new TopKAccuracy([1])];
  return { model, optimizer, scheduler, data, step, metrics };
}

/** The Trainer options of a problem (everything but its data). */
export function parts(p: ReturnType<typeof makeProblem>) {
  const { model, optimizer, scheduler, step, metrics } = p;
  return { model, optimizer, scheduler, step, metrics };
}
