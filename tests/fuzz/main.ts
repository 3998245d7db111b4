// npm run fuzz: the long fuzz run (and replays).
//   node dist/tests/fuzz/main.js [--seed N] [--count N] [--target T,...] [--case I,...] [--json]
import { parseArgs } from "node:util";
import { TARGETS, type Target } from "./cases.js";
import { runFuzz, BAD_OUTCOMES, OUTCOMES } from "./harness.js";
import { isKnown } from "./known.js";

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: String(Date.now() % 100000) },
    count: { type: "string", default: "1000" },
    target: { type: "string" },
    case: { type: "string" },
    timeout: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "2" },
    json: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
  },
});
const targets = (values.target ? values.target.split(",") : TARGETS) as Target[];
for (const t of targets) if (!TARGETS.includes(t)) { console.error(`unknown target ${t} (${TARGETS.join(", ")})`); process.exit(2); }
const count = Number(values.count);
const report = await runFuzz({
  seed: Number(values.seed),
  counts: Object.fromEntries(targets.map((t) => [t, count])),
  only: values.case ? values.case.split(",").map(Number) : undefined,
  timeoutMs: Number(values.timeout),
  concurrency: Number(values.concurrency),
  log: values.json ? undefined : (line) => console.error(line),
});
const bad = report.findings.filter((f) => BAD_OUTCOMES.includes(f.outcome));
const unknown = bad.filter((f) => !isKnown(f));
if (values.json) {
  console.log(JSON.stringify({ seed: report.seed, total: report.total, seconds: report.seconds, counts: report.counts, bad }));
} else {
  console.log(`seed ${report.seed}: ${report.total} cases in ${report.seconds.toFixed(1)} s`);
  console.log(`${"target".padEnd(12)}${OUTCOMES.map((o) => o.padStart(8)).join("")}`);
  for (const [target, c] of Object.entries(report.counts)) console.log(`${target.padEnd(12)}${OUTCOMES.map((o) => String(c[o]).padStart(8)).join("")}`);
  if (values.verbose) for (const f of report.findings) console.log(`${f.target} #${f.index} [${f.kind}] ${f.outcome}: ${f.label.slice(0, 120)} → ${f.code ?? ""} ${f.message ?? ""}`.slice(0, 400));
  for (const f of bad) console.log(`${isKnown(f) ? "known  " : "FAILURE"} ${f.target} #${f.index} [${f.kind}] ${f.outcome}: ${f.label.slice(0, 100)} → ${f.code ?? ""} ${f.message ?? ""}`.slice(0, 400));
  if (bad.length) console.log(`replay: npm run fuzz -- --seed ${report.seed} --target T --case I`);
}
process.exit(unknown.length > 0 ? 1 : 0);
