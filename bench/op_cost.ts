// CPU time per tiny op, one kind per process so that neither's GC work lands in
// the other's time:
//   tidy     add, mul, exp, sum on 4 floats, four ops per tidy() scope
//   untidy   the same ops, each result left to the garbage collector
//   dispose  the same ops, each result dispose()d at once
//   index    x[idx], x[:, 0], s[idx] = 0, x[:, 1] = 1 on an 8x4 tensor, in tidy()
// CPU time (process.cpuUsage, all threads, GC ones included) rather than wall
// time: on a shared machine it does not count the time spent waiting for a core.
// Prints the median and minimum of 7 runs.
// Usage: node dist/bench/op_cost.js tidy|untidy|dispose|index [--ops 40000]
import * as torch from "../src/index.js";

const KINDS = ["tidy", "untidy", "dispose", "index"];
const kind = process.argv[2];
if (!KINDS.includes(kind)) throw new Error(`usage: node dist/bench/op_cost.js ${KINDS.join("|")} [--ops N]`);
const i = process.argv.indexOf("--ops");
const n = i >= 0 ? Number(process.argv[i + 1]) : 40000;
const a = torch.ones([4]), b = torch.ones([4]);
const x = torch.ones([8, 4]), s = torch.ones([8]), idx = torch.tensor([0, 2, 5], { dtype: "int64" });

function chain(): void {
  if (kind === "tidy") {
    torch.tidy(() => { for (let k = 0; k < n / 4; k++) torch.tidy(() => { a.add(b); a.mul(2); a.exp(); a.sum(); }); });
  } else if (kind === "untidy") {
    for (let k = 0; k < n / 4; k++) { a.add(b); a.mul(2); a.exp(); a.sum(); }
  } else if (kind === "dispose") {
    for (let k = 0; k < n / 4; k++) { a.add(b).dispose(); a.mul(2).dispose(); a.exp().dispose(); a.sum().dispose(); }
  } else {
    torch.tidy(() => {
      for (let k = 0; k < n / 4; k++) torch.tidy(() => { x.index(idx); x.index(":", 0); s.indexPut_([idx], 0); x.indexPut_([":", 1], 1); });
    });
  }
}

function run(): number {
  const c0 = process.cpuUsage();
  chain();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const times: number[] = [];
for (let r = 0; r < 7; r++) { times.push(run()); await new Promise(setImmediate); }
times.sort((p, q) => p - q);
console.log(JSON.stringify({ kind, ops: n, cpuMicrosecondsPerOp: { median: +times[3].toFixed(3), min: +times[0].toFixed(3) } }));
