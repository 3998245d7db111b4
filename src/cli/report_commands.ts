// `flare demo` (every task once, small, then its report) and `flare report RUN_DIR`
// (the same kind of page for any run folder).
import { runDemo } from "../tasks/demo.js";
import { writeReport } from "../report/index.js";
import type { Command } from "./commands.js";

export const demoCommand: Command = {
  name: "demo",
  summary: "Every task once on bundled photos and generated data (augmentation, Fashion-MNIST, fine-tuning, TinySSD, FCN, style transfer; ~5 min on 2 cores), then one self-contained HTML report (OUT/report.html).",
  flags: {
    out: { type: "string", default: "runs/demo", placeholder: "DIR", description: "the demo folder: each stage's run folder, demo.json and report.html" },
    quick: { type: "boolean", description: "tiny settings: seconds per stage (a first look, the tests)" },
    "data-root": { type: "string", placeholder: "DIR", description: "Fashion-MNIST's folder (default: Debian's dataset-fashion-mnist; without it the two Fashion-MNIST stages are skipped)" },
    json: { type: "boolean", description: "print JSON (lines: progress events, then the result) instead of text" },
  },
  async run(values, _positionals, print) {
    const json = values.json === true;
    const summary = await runDemo({
      out: values.out as string, quick: values.quick === true, output: json ? "json" : "auto",
      ...(values.dataRoot !== undefined ? { fashionMnistRoot: values.dataRoot as string } : {}),
    }, json ? (line) => print(JSON.stringify({ event: "message", text: line })) : print);
    const report = writeReport(values.out as string);
    print(json ? JSON.stringify({ event: "done", report, seconds: summary.seconds, stages: summary.stages })
      : `demo done in ${summary.seconds.toFixed(1)} s; the report: ${report}`);
  },
};

export const reportCommand: Command = {
  name: "report",
  summary: "Writes one self-contained HTML page (pictures inline, curves, numbers, config, machine) for a run folder (classify, finetune, detect, segment, stylize) or a demo folder.",
  positional: { name: "RUN_DIR", min: 1, max: 1, description: "the run folder (it holds config.json) or a demo folder (demo.json)" },
  flags: {
    out: { type: "string", placeholder: "FILE", description: "where the page goes (default RUN_DIR/report.html)" },
  },
  async run(values, [dir], print) {
    print(writeReport(dir, values.out !== undefined ? { out: values.out as string } : {}));
  },
};
