#!/usr/bin/env node
// flare <command>: parses flags, calls a task, prints progress (or --json lines).
import { FlareError } from "../errors.js";
import { buildInfo } from "../tensor/index.js";
import { trainClassifier, evaluateClassifier } from "../tasks/classify.js";
import { predict } from "../tasks/predict.js";
import { finetuneClassifier } from "../tasks/finetune_task.js";
import { makeBananas, makeShapes } from "../vision/datasets/generators/index.js";
import { augment } from "../tasks/augment.js";

const USAGE = `usage: flare <command> [options]

commands:
  info                               what flare was built against (libtorch, ABI, threads, CUDA, Gloo)
  train classify --data fashion-mnist | cifar10 DIR | imagefolder DIR [--model resnet18-small] [--width 64] [--epochs 10]
                 [--batch-size 256] [--lr 0.1] [--momentum 0] [--weight-decay 0] [--limit N]
                 [--seed 0] [--runs-dir runs] [--name NAME] [--resume] [--json]
                                     writes runs/NAME/ (metrics, checkpoints, model.safetensors, curves.svg)
  finetune --weights W.safetensors --arch resnet18|resnet18-small|... --data DIR (DIR/train/<class>/*, DIR/test/<class>/*)
                 [--head-lr-mult 10] [--freeze layer1,layer2] [--lr 5e-4] [--epochs 5] [--batch-size 32]
                 [--runs-dir runs] [--name NAME] [--resume] [--json]
  augment IMAGE --transform "RandomResizedCrop(200, scale=(0.1, 1)) | ColorJitter(0.5, 0, 0, 0)" [--n 8] [--nrow 4] [--seed 0] --out grid.png
                                     the image through a transform pipeline n times, as one picture
  data make bananas|shapes --out DIR [--count N] [--seed S] [--json]
                                     writes a generated detection (d2l banana, VOC and COCO layouts) or
                                     segmentation (VOC layout) set that the dataset loaders read
  eval --weights W.safetensors [--arch resnet18-small] [--limit N] [--json]
                                     test loss and accuracy on Fashion-MNIST
  predict IMAGE... --weights W.safetensors [--arch resnet18-small] [--topk 5] [--classes names.json] [--json]
`;

/** --key value / --flag pairs; numbers are converted where the value parses as one. */
export function parseFlags(args: string[]): Record<string, string | number | boolean> {
  const flags: Record<string, string | number | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) throw new FlareError(`unexpected argument '${arg}'\n\n${USAGE}`, "E_ARGUMENT");
    const key = arg.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const next = args[i + 1];
    if (next === undefined || next.startsWith("--")) { flags[key] = true; continue; }
    flags[key] = next !== "" && Number.isFinite(Number(next)) ? Number(next) : next;
    i++;
  }
  return flags;
}

async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  if (command === "info") { console.log(JSON.stringify(buildInfo(), null, 2)); return; }
  if (command === "train" && sub === "classify") {
    // --data cifar10 DIR / --data imagefolder DIR: the folder follows the dataset's name.
    const at = rest.indexOf("--data");
    if (at >= 0 && rest[at + 2] !== undefined && !rest[at + 2].startsWith("--")) rest.splice(at + 2, 1, "--data-root", rest[at + 2]);
    const flags = parseFlags(rest);
    const { json, data, ...options } = flags;
    const { history, runDir } = await trainClassifier({ data: data as "fashion-mnist", ...options, output: json ? "json" : "auto" } as never);
    const last = history[history.length - 1];
    if (json) console.log(JSON.stringify({ event: "done", runDir, ...last }));
    else console.log(`done: ${runDir}  ${last ? `val_acc ${last.val_acc?.toFixed(4)}  val_loss ${last.val_loss?.toFixed(4)}` : ""}`);
    return;
  }
  if (command === "finetune") {
    const { json, freeze, ...flags } = parseFlags([sub, ...rest].filter((a) => a !== undefined));
    for (const required of ["weights", "arch", "data"]) {
      if (typeof flags[required] !== "string") throw new FlareError(`finetune: --${required} is required\n\n${USAGE}`, "E_ARGUMENT");
    }
    const { history, runDir, classes } = await finetuneClassifier({
      ...(flags as Record<string, unknown>), weights: flags.weights as string, arch: flags.arch as string, data: flags.data as string, freeze: typeof freeze === "string" ? freeze.split(",").filter(Boolean) : [], output: json ? "json" : "auto",
    });
    const last = history[history.length - 1];
    if (json) console.log(JSON.stringify({ event: "done", runDir, classes, ...last }));
    else console.log(`done: ${runDir}  classes ${classes.join(", ")}  val_acc ${last?.val_acc?.toFixed(4)}`);
    return;
  }
  if (command === "augment") {
    const { json, transform, n, nrow, seed, out } = parseFlags(rest);
    if (typeof sub !== "string" || sub.startsWith("--")) throw new FlareError(`augment: give an image file\n\n${USAGE}`, "E_ARGUMENT");
    if (typeof transform !== "string" || typeof out !== "string") throw new FlareError(`augment: --transform SPEC and --out FILE are required\n\n${USAGE}`, "E_ARGUMENT");
    const result = await augment(sub, { transform, out, n: n as number, nrow: nrow as number, seed: seed as number });
    console.log(json ? JSON.stringify(result) : `wrote ${result.n} augmentations of ${sub} to ${out}`);
    return;
  }
  if (command === "data" && sub === "make") {
    const [kind, ...flagArgs] = rest;
    const { json, out, count, seed } = parseFlags(flagArgs);
    if (typeof out !== "string") throw new FlareError(`data make: --out DIR is required\n\n${USAGE}`, "E_ARGUMENT");
    const options = { out, seed: seed as number | undefined, ...(count !== undefined ? { count: count as number } : {}) };
    if (kind !== "bananas" && kind !== "shapes") throw new FlareError(`data make: unknown set '${kind}' (bananas or shapes)`, "E_ARGUMENT");
    const manifest = kind === "bananas" ? await makeBananas(options as never) : await makeShapes(options as never);
    console.log(json ? JSON.stringify(manifest) : `wrote ${kind} to ${out}`);
    return;
  }
  if (command === "eval") {
    const { json, ...flags } = parseFlags([sub, ...rest].filter((a) => a !== undefined));
    const result = await evaluateClassifier(flags as never);
    console.log(json ? JSON.stringify(result) : Object.entries(result).map(([k, v]) => `${k} ${v.toFixed(4)}`).join("  "));
    return;
  }
  if (command === "predict") {
    const args = [sub, ...rest].filter((a) => a !== undefined);
    const firstFlag = args.findIndex((a) => a.startsWith("--"));
    const files = firstFlag < 0 ? args : args.slice(0, firstFlag);
    const { json, arch, weights, topk, classes } = parseFlags(firstFlag < 0 ? [] : args.slice(firstFlag));
    if (typeof weights !== "string") throw new FlareError("predict: --weights W.safetensors is required", "E_ARGUMENT");
    const results = await predict(files, { arch: (arch as string) ?? "resnet18-small", weights, topk: topk as number, classesFile: classes as string });
    for (const r of results) {
      console.log(json ? JSON.stringify(r) : `${r.file}: ${r.top.map((t) => `${t.name} ${(t.probability * 100).toFixed(1)}%`).join(", ")}`);
    }
    return;
  }
  process.stdout.write(USAGE);
  if (command && command !== "help" && command !== "--help") process.exitCode = 2;
}

main(process.argv.slice(2)).catch((error: Error) => {
  console.error(error.name === "FlareError" ? `flare: ${error.message}` : error);
  process.exitCode = 1;
});
