// CPU microseconds per op of one tiny-op chain (TARGET) when another (BEFORE) ran
// just before it, 10 rounds of 10,000 ops, median of rounds 3-10: shows whose
// garbage a chain pays for (bench/core.ts settles the no-tidy chain's for that).
// Usage: node scripts/perf/chain_order.mjs none|tidy|untidy|dispose|index TARGET
import * as torch from "../../dist/src/index.js";

const n = 10000;
const a = torch.ones([4]), b = torch.ones([4]);
const x = torch.ones([8, 4]), s = torch.ones([8]), idx = torch.tensor([0, 2, 5], { dtype: "int64" });
const chains = {
  none: () => {},
  tidy: () => torch.tidy(() => { for (let k = 0; k < n / 4; k++) torch.tidy(() => { a.add(b); a.mul(2); a.exp(); a.sum(); }); }),
  untidy: () => { for (let k = 0; k < n / 4; k++) { a.add(b); a.mul(2); a.exp(); a.sum(); } },
  dispose: () => { for (let k = 0; k < n / 4; k++) { a.add(b).dispose(); a.mul(2).dispose(); a.exp().dispose(); a.sum().dispose(); } },
  index: () => torch.tidy(() => { for (let k = 0; k < n / 4; k++) torch.tidy(() => { x.index(idx); x.index(":", 0); s.indexPut_([idx], 0); x.indexPut_([":", 1], 1); }); }),
};
const [before, target] = process.argv.slice(2);
if (!(before in chains) || !(target in chains)) throw new Error("usage: node scripts/perf/chain_order.mjs BEFORE TARGET (none|tidy|untidy|dispose|index)");
const times = [];
for (let r = 0; r < 10; r++) {
  chains[before]();
  const c0 = process.cpuUsage();
  chains[target]();
  const c = process.cpuUsage(c0);
  times.push((c.user + c.system) / n);
}
const rest = times.slice(2).sort((p, q) => p - q);
console.log(JSON.stringify({ target, after: before, cpuMicrosecondsPerOp: +rest[rest.length >> 1].toFixed(2) }));
