// models.get / listModels, weights files (round trip, inferred options,
// mismatches), and the options of the torchvision builders. Parity with
// torchvision itself is in models.parity.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import type { Tensor, nn } from "../src/index.js";
import { get, listModels, describeModels } from "../src/vision/models/registry.js";
import { resnet18, resnet50, BasicBlock, Bottleneck } from "../src/vision/models/resnet.js";
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
  assert.deepEqual(listModels(), ["resnet18", "resnet34", "resnet50", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "resnet18-small"]);
  const descriptions = describeModels();
  for (const name of listModels()) assert.match(descriptions[name], /\w/);
});

test("models.get rejects unknown models and options", () => {
  assertFlareError(() => get("resnet101"), /unknown model "resnet101"; known models: resnet18, resnet34/, "E_ARGUMENT");
  assertFlareError(() => get("resnet18", { width: 8 }), /models.get\("resnet18"\): unknown option "width"/, "E_ARGUMENT");
  assertFlareError(() => get("vgg11", { zeroInitResidual: true }), /unknown option "zeroInitResidual"/, "E_ARGUMENT");
  assertFlareError(() => get("resnet18", { numClasses: 0 }), /numClasses must be a positive integer, got 0/, "E_ARGUMENT");
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
    if (m instanceof BasicBlock) { blocks++; assert.equal(m.bn2.weight!.abs().sum().item(), 0); assert.equal(m.bn1.weight!.min().item(), 1); }
    if (m instanceof Bottleneck) { blocks++; assert.equal(m.bn3.weight!.abs().sum().item(), 0); assert.equal(m.bn2.weight!.min().item(), 1); }
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
