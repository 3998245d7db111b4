// CPU time per tiny op (add, mul, exp, sum on 4 floats), in tidy() scopes or
// left to the garbage collector, one kind per process so that neither's GC work
// lands in the other's time. CPU time (process.cpuUsage, all threads, GC ones
// included) rather than wall time: on a shared machine it does not count the
// time spent waiting for a core. Prints the median and minimum of 7 runs.
// Usage: node dist/bench/op_cost.js tidy|untidy [--ops 40000]
import * as torch from "../src/index.js";

const kind = process.argv[2];
if (kind !== "tidy" && kind !== "untidy") throw new Error("usage: node dist/bench/op_cost.js tidy|untidy [--ops N]");
const i = process.argv.indexOf("--ops");
const n = i >= 0 ? Number(process.argv[i + 1]) : 40000;
const a = torch.ones([4]), b = torch.ones([4]);

function run(): number {
  const c0 = process.cpuUsage();
  if (kind === "tidy") {
    torch.tidy(() => { for (let k = 0; k < n / 4; k++) torch.tidy(() => { a.add(b); a.mul(2); a.exp(); a.sum(); }); });
  } else {
    for (let k = 0; k < n / 4; k++) { a.add(b); a.mul(2); a.exp(); a.sum(); }
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const times: number[] = [];
for (let r = 0; r < 7; r++) { times.push(run()); await new Promise(setImmediate); }
times.sort((p, q) => p - q);
console.log(JSON.stringify({ kind, ops: n, cpuMicrosecondsPerOp: { median: +times[3].toFixed(3), min: +times[0].toFixed(3) } }));
