// The command line's parsing, without running commands: typed values per flag,
// defaults, positionals, --help for every command, and a FlareError that names
// the flag for every kind of mistake.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommandLine, COMMANDS, usage, type Parsed } from "../src/cli/commands.js";
import { parseFlags, formatHelp, camelCase } from "../src/cli/flags.js";
import { CLASSIFY_OPTIONS, EVALUATE_OPTIONS, trainClassifier } from "../src/tasks/classify.js";
import { FINETUNE_OPTIONS } from "../src/tasks/finetune_task.js";

const run = (...argv: string[]) => {
  const parsed = parseCommandLine(argv);
  assert.equal(parsed.kind, "run", `${argv.join(" ")} runs a command`);
  return (parsed as Extract<Parsed, { kind: "run" }>).flags;
};
const help = (...argv: string[]) => {
  const parsed = parseCommandLine(argv);
  assert.equal(parsed.kind, "help", `${argv.join(" ")} prints help`);
  return (parsed as Extract<Parsed, { kind: "help" }>).text;
};
const fails = (argv: string[], message: string) =>
  assert.throws(() => parseCommandLine(argv), (e: Error & { code?: string }) => {
    assert.equal(e.name, "FlareError");
    assert.equal(e.code, "E_ARGUMENT");
    assert.equal(e.message, message);
    return true;
  });

test("values keep their flag's type: --name 1 is the string '1', --freeze 0 the list ['0'], numbers are numbers", () => {
  const train = run("train", "classify", "--data", "fashion-mnist", "--name", "1", "--epochs", "3", "--lr", "0.05", "--resume");
  assert.equal(train.values.name, "1");
  assert.equal(train.values.epochs, 3);
  assert.equal(train.values.lr, 0.05);
  assert.equal(train.values.resume, true);
  assert.equal(run("finetune", "--weights", "w", "--arch", "a", "--data", "d", "--freeze", "0").values.freeze instanceof Array, true);
  assert.deepEqual(run("finetune", "--weights", "w", "--arch", "a", "--data", "d", "--freeze", "0").values.freeze, ["0"]);
  assert.deepEqual(run("finetune", "--weights", "w", "--arch", "a", "--data", "d", "--freeze", "layer1, layer2").values.freeze, ["layer1", "layer2"]);
  assert.equal(run("finetune", "--weights", "1", "--arch", "2", "--data", "3").values.weights, "1", "a file named 1 stays a name");
  assert.equal(run("train", "classify", "--data=cifar10", "--seed=7").values.seed, 7, "--flag=value works too");
});

test("defaults come from the flag table (what --help shows), and absent optional flags stay absent", () => {
  const { values } = run("train", "classify", "--data", "fashion-mnist");
  assert.deepEqual(values, { data: "fashion-mnist", model: "resnet18-small", epochs: 10, batchSize: 256, lr: 0.1, momentum: 0, weightDecay: 0, seed: 0, runsDir: "runs" });
  assert.match(help("train", "classify", "--help"), /--batch-size N\s+images per batch \(default 256\)/);
});

test("positionals: the dataset folder after --data, images for predict, one image for augment, the set for data make", () => {
  assert.deepEqual(run("train", "classify", "--data", "cifar10", "/data/cifar").positionals, ["/data/cifar"]);
  assert.deepEqual(run("predict", "a.png", "b.png", "--weights", "w.safetensors").positionals, ["a.png", "b.png"]);
  assert.deepEqual(run("data", "make", "shapes", "--out", "d", "--count", "4").values, { out: "d", count: 4 });
  fails(["train", "classify", "--data", "cifar10", "a", "b"], "flare train classify: unexpected argument 'b' (see flare train classify --help)");
  fails(["augment", "a.png", "b.png", "--transform", "Resize(8)", "--out", "o.png"], "flare augment: unexpected argument 'b.png' (see flare augment --help)");
  fails(["predict", "--weights", "w"], "flare predict: IMAGE... is required (see flare predict --help)");
  fails(["eval", "extra", "--weights", "w"], "flare eval: unexpected argument 'extra' (see flare eval --help)");
});

test("unknown flags, missing values and nonsensical values are FlareErrors naming the flag", () => {
  const tc = ["train", "classify", "--data", "fashion-mnist"];
  fails([...tc, "--frobnicate", "3"], "flare train classify: unknown flag --frobnicate (see flare train classify --help)");
  fails([...tc, "--topK", "3"], "flare train classify: unknown flag --topK (see flare train classify --help)");
  fails([...tc, "--batchsize", "3"], "flare train classify: unknown flag --batchsize (did you mean --batch-size?) (see flare train classify --help)");
  fails([...tc, "--weight_decay", "3"], "flare train classify: unknown flag --weight_decay (did you mean --weight-decay?) (see flare train classify --help)");
  fails([...tc, "--batch-size", "0"], "flare train classify: --batch-size must be an integer ≥ 1, got '0'");
  fails([...tc, "--epochs=-1"], "flare train classify: --epochs must be an integer ≥ 1, got '-1'");
  fails([...tc, "--epochs", "-1"], "flare train classify: --epochs needs a value; one that starts with '-' is written --epochs=-VALUE");
  fails([...tc, "--epochs", "2.5"], "flare train classify: --epochs must be an integer ≥ 1, got '2.5'");
  fails([...tc, "--epochs", "ten"], "flare train classify: --epochs must be an integer ≥ 1, got 'ten'");
  fails([...tc, "--lr", "0"], "flare train classify: --lr must be a number > 0, got '0'");
  fails([...tc, "--lr", "fast"], "flare train classify: --lr must be a number > 0, got 'fast'");
  fails([...tc, "--momentum=-0.5"], "flare train classify: --momentum must be a number ≥ 0, got '-0.5'");
  fails([...tc, "--name"], "flare train classify: --name needs a value (see flare train classify --help)");
  fails([...tc, "--name", ""], "flare train classify: --name must be a non-empty string, got ''");
  fails([...tc, "--resume=yes"], "flare train classify: --resume takes no value (see flare train classify --help)");
  fails(["train", "classify", "--data", "imagenet"], "flare train classify: --data must be one of fashion-mnist, cifar10, imagefolder, got 'imagenet'");
  fails(["train", "classify"], "flare train classify: --data fashion-mnist|cifar10|imagefolder is required (see flare train classify --help)");
  fails(["finetune", "--weights", "w", "--arch", "a", "--data", "d", "--freeze", ","], "flare finetune: --freeze must be a comma-separated list, got ','");
  fails(["predict", "x.png", "--weights", "w", "--topk", "0"], "flare predict: --topk must be an integer ≥ 1, got '0'");
  fails(["data", "make", "bananas", "--out", "d", "--count", "0"], "flare data make: --count must be an integer ≥ 1, got '0'");
  fails(["augment", "a.png", "--transform", "Resize(8)"], "flare augment: --out FILE is required (see flare augment --help)");
});

test("unknown commands are FlareErrors listing the commands", () => {
  assert.throws(() => parseCommandLine(["frobnicate"]), (e: Error) => e.name === "FlareError" && e.message.startsWith("flare: unknown command 'frobnicate'\n\nusage: flare <command>"));
  assert.throws(() => parseCommandLine(["train", "frobnicate"]), (e: Error) => e.name === "FlareError" && e.message.startsWith("flare: unknown command 'train frobnicate'"));
  assert.throws(() => parseCommandLine(["help", "nope"]), (e: Error) => e.name === "FlareError" && e.message.startsWith("flare help: unknown command 'nope'"));
});

test("--help for flare and for every command lists each flag; help COMMAND and a bare group help too", () => {
  assert.equal(help(), usage());
  assert.equal(help("--help"), usage());
  assert.equal(help("-h"), usage());
  assert.equal(help("help"), usage());
  for (const command of COMMANDS) {
    assert.ok(usage().includes(`flare ${command.name} `), `the usage lists ${command.name}`);
    const text = help(...command.name.split(" "), "--help");
    assert.ok(text.startsWith(`usage: flare ${command.name}`), text);
    assert.equal(help(...command.name.split(" "), "-h"), text);
    assert.equal(help("help", ...command.name.split(" ")), text);
    for (const flag of [...Object.keys(command.flags), "help"]) assert.match(text, new RegExp(`^  --${flag}\\b`, "m"), `${command.name} --help shows --${flag}`);
  }
  assert.match(help("train"), /^usage: flare train <classify(\|[a-z]+)*> \[flags\]/);
  assert.match(help("data", "--help"), /flare data make/);
  // --help wins over missing required flags.
  assert.match(help("finetune", "--help"), /--weights W\.safetensors\s+the pretrained weights \(required\)/);
});

test("parseFlags and formatHelp on a table of their own", () => {
  const specs = {
    size: { type: "int", min: 0, description: "a size" },
    ratio: { type: "number", min: 0, exclusiveMin: true, default: 1.5, description: "a ratio" },
    mode: { type: "choice", choices: ["a", "b"], description: "a mode" },
  } as const;
  const parsed = parseFlags("tool", specs, ["--size", "0", "--mode", "b", "x"], { name: "FILE", min: 1, max: 1, description: "a file" });
  assert.deepEqual(parsed, { values: { size: 0, mode: "b", ratio: 1.5 }, positionals: ["x"], help: false });
  assert.equal(camelCase("head-lr-mult"), "headLrMult");
  assert.equal(formatHelp("tool", "Does things.", specs, { name: "FILE", min: 1, max: 1, description: "a file" }),
    "usage: tool FILE [flags]\n\nDoes things.\n\n" +
    "  FILE        a file\n" +
    "  --size N    a size\n" +
    "  --ratio X   a ratio (default 1.5)\n" +
    "  --mode a|b  a mode\n" +
    "  --help, -h  show this help\n");
});

test("every flag of the training commands is an option their task takes; the tasks reject unknown options", async () => {
  const flagsOf = (name: string) => Object.keys(COMMANDS.find((c) => c.name === name)!.flags).map(camelCase).filter((f) => f !== "json" && f !== "nproc").map((f) => (f === "noTensorboard" ? "tensorboard" : f));  // --nproc: the CLI relaunches under flare launch
  for (const [name, allowed] of [["train classify", CLASSIFY_OPTIONS], ["finetune", FINETUNE_OPTIONS], ["eval", EVALUATE_OPTIONS]] as const)
    for (const flag of flagsOf(name)) assert.ok(allowed.includes(flag), `${name}: --${flag} reaches the task`);
  await assert.rejects(trainClassifier({ data: "fashion-mnist", topK: [1] } as never), (e: Error) =>
    e.name === "FlareError" && e.message.startsWith(`trainClassifier(): unknown option "topK"; it takes "data", "dataRoot"`));
});
