// models.get / listModels, weights files (round trip, inferred options,
// mismatches), the registry (tasks, presets, register) and the options of the
// torchvision builders. Parity with torchvision itself is in models.parity.test.ts
// and models.backbones.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { nn, type Tensor } from "../src/index.js";
import { get, listModels, describeModels, list, info, getPreset, register, type ModelEntry } from "../src/vision/models/registry.js";
import { presetFor, DATASET_STATS } from "../src/tasks/presets.js";
import { FASHION_MNIST_CLASSES } from "../src/vision/datasets/fashion_mnist.js";
import { resnet18, resnet50, BasicBlock, Bottleneck } from "../src/vision/models/resnet.js";
import { IntermediateLayerGetter } from "../src/vision/models/feature_extraction.js";
import { assertClose, assertFlareError, fixturePath, settledTensors } from "./helpers.js";

const SPEC = JSON.parse(readFileSync(fixturePath("models_keys.json"), "utf8")) as Record<string, { keys: [string, number[], string][] }>;
const dir = mkdtempSync(path.join(tmpdir(), "flare-models-"));

function shapes(model: nn.Module): [string, number[], string][] {
  return [...model.stateDict()].map(([k, t]) => [k, t.shape, t.dtype]);
}

function evalOut(model: nn.Module, x: Tensor): Tensor {
  model.eval();
  return torch.noGrad(() => model.forward(x) as Tensor);
}

test("listModels names every architecture, each with a description", () => {
  // The first entries; other tasks' models (segmentation, ...) register after them.
  assert.deepEqual(listModels().slice(0, 11), ["resnet18", "resnet34", "resnet50", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "resnet18-small", "tiny-ssd"]);
  const descriptions = describeModels();
  for (const name of listModels()) assert.match(descriptions[name], /\w/);
});

test("models.get rejects unknown models and options", () => {
  assertFlareError(() => get("resnet101"), /^models\.get\(\): unknown model "resnet101"; known models: resnet18, resnet34, resnet50, vgg11, /, "E_ARGUMENT");
  assertFlareError(() => get("resnet18", { width: 8 }),
    /^models\.get\("resnet18"\): unknown option "width"; it takes "weights", "numClasses", "inChannels", "headless", "zeroInitResidual", "normLayer", "replaceStrideWithDilation"$/, "E_ARGUMENT");
  assertFlareError(() => get("vgg11", { zeroInitResidual: true }), /^models\.get\("vgg11"\): unknown option "zeroInitResidual"/, "E_ARGUMENT");
  assertFlareError(() => get("resnet18", { numClasses: 0 }), /^ResNet\(\): numClasses must be a positive integer, got 0$/, "E_ARGUMENT");
  assertFlareError(() => get("resnet18", { weights: "" }), /weights must be the path of a .safetensors file/, "E_ARGUMENT");
  assertFlareError(() => get("resnet18", { weights: path.join(dir, "missing.safetensors") }), /could not read .*missing.safetensors/, "E_IO");
});

test("numClasses changes the head only; inChannels the stem only", () => torch.tidy(() => {
  const changed = (spec: [string, number[], string][], model: nn.Module) =>
    shapes(model).filter(([k, s], i) => k !== spec[i][0] || JSON.stringify(s) !== JSON.stringify(spec[i][1])).map(([k, s]) => [k, s]);
  for (const [name, options, expected] of [
    ["resnet18", { numClasses: 10 }, [["fc.weight", [10, 512]], ["fc.bias", [10]]]],
    ["resnet50", { numClasses: 7 }, [["fc.weight", [7, 2048]], ["fc.bias", [7]]]],
    ["resnet18", { inChannels: 1 }, [["conv1.weight", [64, 1, 7, 7]]]],
    ["vgg11_bn", { numClasses: 10, inChannels: 4 }, [["features.0.weight", [64, 4, 3, 3]], ["classifier.6.weight", [10, 4096]], ["classifier.6.bias", [10]]]],
  ] as const) {
    const model = get(name, options);
    assert.equal(shapes(model).length, SPEC[name].keys.length);
    assert.deepEqual(changed(SPEC[name].keys, model), expected, `${name} ${JSON.stringify(options)}`);
    model.dispose();
  }
  const gray = get("resnet18", { numClasses: 3, inChannels: 1 });
  assert.deepEqual(evalOut(gray, torch.randn([2, 1, 48, 48])).shape, [2, 3]);
  gray.dispose();
  const small = get("resnet18-small", { width: 8 });
  assert.deepEqual(small.stateDict().get("9.weight")!.shape, [10, 64]);  // d2l's defaults: 10 classes, 1 channel
  assert.deepEqual(small.stateDict().get("0.weight")!.shape, [8, 1, 3, 3]);
  small.dispose();
}));

test("resnet18 takes ImageNet-sized and small inputs; the builders' options", () => torch.tidy(() => {
  const model = resnet18();
  assert.deepEqual(evalOut(model, torch.randn([1, 3, 224, 224])).shape, [1, 1000]);
  assert.deepEqual(evalOut(model, torch.randn([2, 3, 32, 32])).shape, [2, 1000]);
  assert.match(model.toString(), /^ResNet\(\n {2}\(conv1\): Conv2d\(3, 64, kernel_size=\(7, 7\), stride=\(2, 2\), padding=\(3, 3\), bias=False\)/);
  model.dispose();

  const zero18 = resnet18({ zeroInitResidual: true }), zero50 = resnet50({ zeroInitResidual: true });
  let blocks = 0;
  for (const m of [...zero18.modules(), ...zero50.modules()]) {
    const bn = (layer: nn.Module) => (layer as nn.BatchNorm2d).weight!;
    if (m instanceof BasicBlock) { blocks++; assert.equal(bn(m.bn2).abs().sum().item(), 0); assert.equal(bn(m.bn1).min().item(), 1); }
    if (m instanceof Bottleneck) { blocks++; assert.equal(bn(m.bn3).abs().sum().item(), 0); assert.equal(bn(m.bn2).min().item(), 1); }
  }
  assert.equal(blocks, 8 + 16);
  // every residual branch is zero at init: in eval mode a block is relu(shortcut)
  const block = zero18.layer1.get(0) as BasicBlock;
  const x = torch.randn([1, 64, 8, 8]);
  block.eval();
  assertClose(torch.noGrad(() => block.forward(x)), x.relu());
  zero18.dispose(); zero50.dispose();
}));

test("models.get loads a saved state dict: same outputs, numClasses / inChannels / width read from the file", () => torch.tidy(() => {
  const x = torch.randn([2, 3, 32, 32]);
  torch.manualSeed(1);
  const source = get("resnet18", { numClasses: 10 });
  // make the running statistics non-trivial, so the buffers must load too
  source.train(); torch.noGrad(() => source.forward(torch.randn([4, 3, 32, 32]).mul(2).add(0.5)));
  const expected = evalOut(source, x);
  const file = path.join(dir, "resnet18-10.safetensors");
  torch.save(source.stateDict(), file);
  source.dispose();

  torch.manualSeed(2);
  const loaded = get("resnet18", { weights: file });
  assert.deepEqual(loaded.stateDict().get("fc.weight")!.shape, [10, 512]);
  assert.equal(loaded.stateDict().get("bn1.num_batches_tracked")!.item(), 1);
  assertClose(evalOut(loaded, x), expected, { rtol: 0, atol: 0, what: "loaded resnet18 output" });
  loaded.dispose();

  // float16 weights (a smaller converted file) load into the float32 model
  const half = new Map([...torch.load(file)].map(([k, t]) => [k, t.dtype === "float32" ? t.to("float16") : t]));
  const halfFile = path.join(dir, "resnet18-10-fp16.safetensors");
  torch.save(half, halfFile);
  const fromHalf = get("resnet18", { weights: halfFile });
  assert.equal(fromHalf.stateDict().get("conv1.weight")!.dtype, "float32");
  const scale = expected.abs().max().item() as number;
  assertClose(evalOut(fromHalf, x), expected, { rtol: 1e-2, atol: 1e-2 * scale, what: "resnet18 from float16 weights" });
  fromHalf.dispose();

  const small = get("resnet18-small", { numClasses: 5, inChannels: 3, width: 4 });
  const smallFile = path.join(dir, "small.safetensors");
  torch.save(small.stateDict(), smallFile);
  const smallLoaded = get("resnet18-small", { weights: smallFile });
  assert.deepEqual(smallLoaded.stateDict().get("0.weight")!.shape, [4, 3, 3, 3]);
  assertClose(evalOut(smallLoaded, x), evalOut(small, x), { rtol: 0, atol: 0 });
  small.dispose(); smallLoaded.dispose();
}));

test("a weights file for another architecture: loadStateDict's error, and nothing leaks", () => torch.tidy(() => {
  const file = path.join(dir, "r18.safetensors");
  const r18 = resnet18({ numClasses: 10 });
  torch.save(r18.stateDict(), file);
  r18.dispose();
  const before = settledTensors();

  // resnet34 has more blocks: missing keys
  assertFlareError(() => get("resnet34", { weights: file }),
    /models.get\("resnet34"\): the weights in .*r18.safetensors don't fit this model\. Error\(s\) in loading state_dict for ResNet:\n\tMissing key\(s\) in state_dict: "layer1.2.conv1.weight", .*"layer4.2.bn2.num_batches_tracked"\./s, "E_ARGUMENT");
  // resnet50's bottlenecks: missing keys and every size mismatch, in one error
  const error = (() => { try { get("resnet50", { weights: file }); } catch (e) { return e as Error & { code: string }; } assert.fail("resnet50 loaded resnet18's weights"); })();
  assert.equal(error.name, "FlareError");
  assert.equal(error.code, "E_SHAPE");
  assert.match(error.message, /\n\tMissing key\(s\) in state_dict: "layer1\.0\.conv3\.weight", "layer1\.0\.bn3\.weight",/);
  assert.doesNotMatch(error.message, /Unexpected key/);  // every resnet18 key names a resnet50 tensor
  assert.match(error.message, /\n\tsize mismatch for layer1\.0\.conv1\.weight: copying a param with shape \[64, 64, 3, 3\] from checkpoint, the shape in current model is \[64, 64, 1, 1\]\./);
  assert.match(error.message, /\n\tsize mismatch for fc\.weight: copying a param with shape \[10, 512\] from checkpoint, the shape in current model is \[10, 2048\]\./);
  // an explicit numClasses that contradicts the file: a size mismatch on the head only
  assertFlareError(() => get("resnet18", { weights: file, numClasses: 1000 }),
    /Error\(s\) in loading state_dict for ResNet:\n\tsize mismatch for fc\.weight: copying a param with shape \[10, 512\] from checkpoint, the shape in current model is \[1000, 512\]\.\n\tsize mismatch for fc\.bias: .*\[10\].*\[1000\]\.$/, "E_SHAPE");
  // d2l's small ResNet-18 and torchvision's share no keys
  assertFlareError(() => get("resnet18-small", { weights: file }), /Missing key\(s\) in state_dict: "0\.weight", "0\.bias",.*\n\tUnexpected key\(s\) in state_dict: "conv1\.weight", "bn1\.weight"/s, "E_ARGUMENT");
  assert.equal(torch.memory().numTensors, before, "a failed get() frees the model and the loaded tensors");
}));

test("each registry entry knows its task and input preset; tasks/presets.ts reads them", () => {
  assert.deepEqual(list({ task: "classification" }), ["resnet18", "resnet34", "resnet50", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "resnet18-small"]);
  // Detection models register themselves (detection/index.ts); the book's comes first.
  const detection = list({ task: "detection" });
  assert.equal(detection[0], "tiny-ssd");
  for (const name of ["ssd-resnet18", "yolo-resnet18", "fasterrcnn-resnet50-fpn", "fasterrcnn-resnet18-fpn"]) assert.ok(detection.includes(name), `${name} is registered for detection`);
  assert.deepEqual(info("resnet50"), {
    name: "resnet50", task: "classification",
    preset: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channels: 3, resizeSize: 256, cropSize: 224, interpolation: "bilinear", dataset: "imagenet" },
    options: ["weights", "numClasses", "inChannels", "headless", "zeroInitResidual", "normLayer", "replaceStrideWithDilation"],
    description: "torchvision ResNet-50 (25.6M parameters)",
  });
  assert.deepEqual(getPreset("resnet18-small"), { mean: [0.2860], std: [0.3530], channels: 1, resizeSize: 28, cropSize: 28, interpolation: "bilinear", dataset: "fashion-mnist" });
  getPreset("vgg16").mean[0] = 99;  // a copy
  assert.equal(getPreset("vgg16").mean[0], 0.485);
  // the tasks' view is what it was before the presets moved
  assert.deepEqual(presetFor("resnet18-small"), { gray: true, resize: 28, crop: 28, mean: [0.2860], std: [0.3530], classes: FASHION_MNIST_CLASSES });
  assert.deepEqual(presetFor("vgg11_bn"), { gray: false, resize: 256, crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  assert.deepEqual(DATASET_STATS["fashion-mnist"], { mean: [0.2860], std: [0.3530] });
  assert.deepEqual(DATASET_STATS.cifar10, { mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616] });
  assertFlareError(() => presetFor("resnet101"), /^models\.getPreset\(\): unknown model "resnet101"; known models: resnet18, /, "E_ARGUMENT");
  assertFlareError(() => list({ task: 3 as never }), /^models\.list\(\): task must be a string, got 3$/, "E_ARGUMENT");
  assertFlareError(() => list({ kind: "detection" } as never), /^models\.list\(\): unknown option "kind"; it takes "task"$/, "E_ARGUMENT");
});

test("models.register adds a model of another task that models.get builds, with weights and option checks", () => torch.tidy(() => {
  // a toy dense predictor on a headless d2l ResNet body, registered as the detection models will be
  class ToyDetector extends nn.Module {
    body: nn.Module;
    head: nn.Conv2d;
    constructor(numClasses: number, width: number) {
      super();
      this.body = get("resnet18-small", { headless: true, width, inChannels: 3 });
      this.head = new nn.Conv2d(8 * width, numClasses, 1);
    }
    override forward(x: Tensor): Tensor { return this.head.forward(this.body.forward(x) as Tensor); }
  }
  const entry: ModelEntry = {
    task: "detection",
    build: (o) => new ToyDetector((o.numClasses as number | undefined) ?? 2, (o.width as number | undefined) ?? 4),
    options: ["numClasses", "width"],
    preset: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], channels: 3, interpolation: "bilinear" },
    description: "a toy detector",
    fromWeights: { numClasses: ["head.bias", 0] },
  };
  register("toy_detector", entry);
  assert.deepEqual(list({ task: "detection" }).slice(-1), ["toy_detector"]);
  assert.equal(info("toy_detector").task, "detection");
  assert.ok(listModels().includes("toy_detector"));
  const model = get("toy_detector", { numClasses: 3 });
  assert.deepEqual(evalOut(model, torch.randn([1, 3, 32, 32])).shape, [1, 3, 4, 4]);
  assert.ok([...model.stateDict().keys()].includes("body.6.1.bn2.running_var"));
  const file = path.join(dir, "toy.safetensors");
  torch.save(model.stateDict(), file);
  model.dispose();
  const loaded = get("toy_detector", { weights: file });  // numClasses 3, read from head.bias
  assert.deepEqual(loaded.stateDict().get("head.weight")!.shape, [3, 32, 1, 1]);
  loaded.dispose();
  assertFlareError(() => get("toy_detector", { dropout: 0.1 }), /^models\.get\("toy_detector"\): unknown option "dropout"; it takes "weights", "numClasses", "width"$/, "E_ARGUMENT");
  assertFlareError(() => register("toy_detector", entry), /^models\.register\(\): "toy_detector" is already registered \(pass \{ replace: true \} to replace it\)$/, "E_ARGUMENT");
  register("toy_detector", { ...entry, description: "v2" }, { replace: true });
  assert.equal(describeModels().toy_detector, "v2");
  assertFlareError(() => register("", entry), /^models\.register\(\): name must be a non-empty string, got ""$/, "E_ARGUMENT");
  assertFlareError(() => register("x", { ...entry, preset: { ...entry.preset, std: [1] } }), /^models\.register\("x"\): preset must have mean and std, arrays of as many numbers$/, "E_ARGUMENT");
  assertFlareError(() => register("x", { ...entry, task: "" }), /^models\.register\("x"\): task must be a non-empty string such as "detection"$/, "E_ARGUMENT");
  assertFlareError(() => register("x", { ...entry, weights: "a" } as never), /^models\.register\("x"\): unknown entry field "weights" \(fields: task, build, options, preset, description, fromWeights, head\)$/, "E_ARGUMENT");
  assertFlareError(() => register("x", { ...entry, preset: { ...entry.preset, interpolation: "area" as never } }), /^models\.register\("x"\): preset\.interpolation must be "nearest", "bilinear" or "bicubic", got "area"$/, "E_ARGUMENT");
  register("broken", { ...entry, build: () => ({}) as never });
  assertFlareError(() => get("broken"), /^models\.get\("broken"\): the registered build\(\) returned \[object Object\], not a Module$/, "E_INTERNAL");
}));

test("models.get with headless loads a classifier's weights file without its head", () => torch.tidy(() => {
  const file = path.join(dir, "r18-head.safetensors");
  const full = resnet18({ numClasses: 10 });
  torch.save(full.stateDict(), file);
  const x = torch.randn([1, 3, 32, 32]);
  const headless = get("resnet18", { headless: true, weights: file });
  assert.ok(!headless.stateDict().has("fc.weight"));
  const expected = evalOut(new IntermediateLayerGetter(full, { layer4: "out" }), x) as unknown as Record<string, Tensor>;
  assertClose(evalOut(headless, x), expected.out, { rtol: 0, atol: 0, what: "headless resnet18 from a full file" });
  const small = get("resnet18-small", { width: 4 });
  const smallFile = path.join(dir, "small-head.safetensors");
  torch.save(small.stateDict(), smallFile);
  const smallHeadless = get("resnet18-small", { headless: true, weights: smallFile });
  assert.deepEqual(evalOut(smallHeadless, torch.randn([1, 1, 28, 28])).shape, [1, 32, 4, 4]);
  assertFlareError(() => get("resnet18-small", { headless: true, numClasses: 3 }), /^resnet18Small\(\): numClasses and headless exclude each other/, "E_ARGUMENT");
  full.dispose(); headless.dispose(); small.dispose(); smallHeadless.dispose();
}));
