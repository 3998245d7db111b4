// What net[i] (Sequential's index Proxy, in the prototype chain) costs on a forward
// pass: LeNet on one 1×28×28 image through nn.Sequential, against the same layers
// called one after another by hand, interleaved round by round in one process.
// Usage: node dist/bench/sequential_index.js [--rounds 5] [--steps 2000]
import * as torch from "../src/index.js";
import { nn } from "../src/index.js";
import { numFlag } from "./flags.js";

const rounds = numFlag("rounds", 5), steps = numFlag("steps", 2000);

const layers: nn.Module[] = [
  new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }),
  new nn.Conv2d(6, 16, 5), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }), new nn.Flatten(),
  new nn.Linear(16 * 5 * 5, 120), new nn.Sigmoid(), new nn.Linear(120, 84), new nn.Sigmoid(), new nn.Linear(84, 10)];
const net = new nn.Sequential(...layers);
const x = torch.randn([1, 1, 28, 28]);

function time(forward: () => torch.Tensor): number {
  const t0 = process.hrtime.bigint();
  torch.noGrad(() => { for (let i = 0; i < steps; i++) torch.tidy(() => { forward(); }); });
  return Number(process.hrtime.bigint() - t0) / steps / 1000;
}
const sequential = () => net.forward(x) as torch.Tensor;
const byHand = () => torch.tidy(() => { let y: unknown = x; for (const m of layers) y = m.forward(y); return y as torch.Tensor; });
time(sequential); time(byHand);  // warm-up
const rows: { sequentialUs: number; byHandUs: number }[] = [];
for (let r = 0; r < rounds; r++) rows.push({ sequentialUs: time(sequential), byHandUs: time(byHand) });
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(JSON.stringify({
  steps, rounds, rows,
  medianSequentialUs: median(rows.map((r) => r.sequentialUs)), medianByHandUs: median(rows.map((r) => r.byHandUs)),
  indexing: net[0] === layers[0],
}));
