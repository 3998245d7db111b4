// Backbones against torchvision 0.14 (tests/fixtures/models_backbones.* from
// scripts/fixtures/models.py, bit for bit): FrozenBatchNorm2d, ResNet's normLayer
// and replaceStrideWithDilation, IntermediateLayerGetter and
// createFeatureExtractor; and the headless forms, d2l's small ResNet, early
// stopping, memory and errors of the feature extractors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as torch from "../src/index.js";
import { nn, type Tensor } from "../src/index.js";
import { get } from "../src/vision/models/registry.js";
import { resnet18, resnet50, ResNet, BasicBlock, Bottleneck } from "../src/vision/models/resnet.js";
import { vgg19 } from "../src/vision/models/vgg.js";
import { resnet18Small } from "../src/vision/models/resnet_d2l.js";
import { IntermediateLayerGetter, createFeatureExtractor } from "../src/vision/models/feature_extraction.js";
import { assertClose, assertFlareError, fixturePath, fixtureGetter, loadFixture, settledTensors } from "./helpers.js";
import { fillFormula } from "./models_formula.js";

interface Meta {
  resnet50_dilated: [string, number[], number[], number[]][];
  resnext_tiny: [string, number[], string][];
  resnet18_frozen: { keys: [string, number[], string][]; init: Record<string, [number, number]> };
  resnet18_fx_order: string[];
  vgg19_fx_order: string[];
  nodes: { resnet18: string[]; vgg19: string[] };
}
const META = JSON.parse(readFileSync(fixturePath("models_backbones.json"), "utf8")) as Meta;
const FX = loadFixture("models_backbones");
const fx = fixtureGetter(FX);
const exact = (actual: Tensor, expected: Tensor, what: string) => assertClose(actual, expected, { rtol: 0, atol: 0, what });
// torchvision's node names, as createFeatureExtractor's
const RESNET_NODES = { "maxpool": "stem", "layer1.0.conv1": "conv", "layer2.0.relu": "relu0", "layer2.0.relu_1": "relu1", "layer3": "c4", "layer4.1": "c5" };
const VGG_NODES = { "features.0": "conv1_1", "features.5": "conv2_1", "features.10": "conv3_1", "features.19": "conv4_1", "features.25": "content", "features.28": "conv5_1" };

function evalForward<T>(model: nn.Module, x: Tensor): T {
  model.eval();
  return torch.noGrad(() => model.forward(x) as T);
}

// ---- FrozenBatchNorm2d ------------------------------------------------------------------------

test("FrozenBatchNorm2d: torchvision's forward, buffers and repr", () => torch.tidy(() => {
  const bn = new nn.FrozenBatchNorm2d(5);
  assert.deepEqual([...bn.stateDict().keys()], ["weight", "bias", "running_mean", "running_var"]);
  assert.deepEqual(bn.parameters(), []);  // all buffers: nothing trains
  assert.equal(bn.toString(), "FrozenBatchNorm2d(5, eps=1e-05)");
  const state = new Map(["weight", "bias", "running_mean", "running_var"].map((k) => [k, fx(`frozen_bn/${k}`)]));
  bn.loadStateDict(state);
  const x = fx("frozen_bn/x");
  exact(bn.forward(x), fx("frozen_bn/out"), "FrozenBatchNorm2d output");
  bn.eval();
  exact(bn.forward(x), fx("frozen_bn/out"), "FrozenBatchNorm2d output in eval mode (the same)");
  const bn3 = new nn.FrozenBatchNorm2d(5, { eps: 1e-3 });
  bn3.loadStateDict(state);
  exact(bn3.forward(x), fx("frozen_bn/out_eps"), "FrozenBatchNorm2d(eps=1e-3) output");
  // gradients reach the input, not the buffers
  const xg = x.clone().requiresGrad_(true);
  bn.forward(xg).sum().backward();
  assert.ok(xg.grad);
  assert.equal(bn.weight.grad, null);
  bn.dispose(); bn3.dispose();
}));

test("FrozenBatchNorm2d loads a BatchNorm2d's state dict: num_batches_tracked is dropped, other keys are still checked", () => torch.tidy(() => {
  const source = new nn.BatchNorm2d(5);
  source.train();
  torch.noGrad(() => source.forward(torch.randn([4, 5, 3, 3]).mul(3).add(1)));
  const sd = source.stateDict();
  assert.ok(sd.has("num_batches_tracked"));
  const frozen = new nn.FrozenBatchNorm2d(5);
  assert.deepEqual(frozen.loadStateDict(sd), { missingKeys: [], unexpectedKeys: [] });
  assert.ok(sd.has("num_batches_tracked"), "the caller's state dict is left as it was");
  source.eval();
  const x = torch.randn([2, 5, 3, 3]);
  assertClose(frozen.forward(x), torch.noGrad(() => source.forward(x)), { rtol: 1e-5, atol: 1e-6, what: "frozen vs eval BatchNorm2d" });
  // nested, strictly: a Sequential of one frozen BN loads a Sequential of one BN
  const nested = new nn.Sequential(new nn.FrozenBatchNorm2d(5));
  nested.loadStateDict(new nn.Sequential(source).stateDict());
  const partial = new Map(sd);
  partial.delete("running_var");
  assertFlareError(() => frozen.loadStateDict(partial), /Error\(s\) in loading state_dict for FrozenBatchNorm2d:\n\tMissing key\(s\) in state_dict: "running_var"\.$/, "E_ARGUMENT");
  partial.set("running_var", torch.ones([5])).set("extra", torch.ones([1]));
  assertFlareError(() => frozen.loadStateDict(partial), /^Error\(s\) in loading state_dict for FrozenBatchNorm2d:\n\tUnexpected key\(s\) in state_dict: "extra"\.$/, "E_ARGUMENT");
  source.dispose(); frozen.dispose(); nested.dispose();
}));

test("FrozenBatchNorm2d rejects bad arguments and inputs", () => torch.tidy(() => {
  assertFlareError(() => new nn.FrozenBatchNorm2d(0), /^FrozenBatchNorm2d\(\): numFeatures must be positive, got 0$/, "E_ARGUMENT");
  assertFlareError(() => new nn.FrozenBatchNorm2d(4, { momentum: 0.1 } as never), /^new nn\.FrozenBatchNorm2d\(\): unknown option "momentum"; it takes "eps"$/, "E_ARGUMENT");
  const bn = new nn.FrozenBatchNorm2d(4);
  assertFlareError(() => bn.forward(torch.zeros([2, 4])), /^FrozenBatchNorm2d: expected 4D input \(got 2D input\)$/, "E_SHAPE");
  assertFlareError(() => bn.forward(torch.zeros([1, 3, 2, 2])), /^FrozenBatchNorm2d: input has 3 channels, expected 4$/, "E_SHAPE");
  bn.dispose();
}));

// ---- ResNet: normLayer, replaceStrideWithDilation --------------------------------------------

test("resnet18 with FrozenBatchNorm2d: torchvision's keys and init; a BatchNorm2d ResNet-18's weights load strictly and give torchvision's output", () => torch.tidy(() => {
  torch.manualSeed(0);
  const frozen = resnet18({ normLayer: nn.FrozenBatchNorm2d });
  const sd = frozen.stateDict();
  assert.deepEqual([...sd].map(([k, t]) => [k, t.shape, t.dtype]), META.resnet18_frozen.keys);
  for (const [key, [sum, sumAbs]] of Object.entries(META.resnet18_frozen.init)) torch.tidy(() => {
    const t = sd.get(key)!.to("float64");
    assert.equal(t.sum().item(), sum, `init ${key}: sum`);
    assert.equal(t.abs().sum().item(), sumAbs, `init ${key}: sum |x|`);
  });
  // only the convolutions and fc train
  assert.deepEqual(frozen.namedParameters().filter(([k]) => !/conv|downsample\.0|^fc/.test(k)), []);

  const bn = resnet18();
  fillFormula(bn);
  const weights = bn.stateDict();
  assert.ok(weights.has("bn1.num_batches_tracked"));
  frozen.loadStateDict(weights, { strict: true });
  const x = torch.cat([fx("input32"), fx("input32").flip(3).mul(0.5)]);
  exact(torch.noGrad(() => frozen.forward(x)), fx("resnet18_frozen/out"), "frozen resnet18 output");
  frozen.train();
  exact(torch.noGrad(() => frozen.forward(x)), fx("resnet18_frozen/out"), "frozen resnet18 output in train mode (no batch statistics)");
  frozen.dispose(); bn.dispose();
}));

test("resnet50 with replaceStrideWithDilation [false, true, true]: torchvision's strides, paddings and dilations, and its outputs", () => torch.tidy(() => {
  const model = resnet50({ replaceStrideWithDilation: [false, true, true] });
  const convs = model.namedModules().filter(([, m]) => m instanceof nn.Conv2d)
    .map(([name, m]) => { const c = m as nn.Conv2d; return [name, c.stride, c.padding, c.dilation]; });
  assert.deepEqual(convs, META.resnet50_dilated);
  fillFormula(model);
  const x = fx("input32");
  exact(evalForward(model, x), fx("resnet50_dilated/logits"), "dilated resnet50 logits");
  const feats = evalForward<Record<string, Tensor>>(new IntermediateLayerGetter(model, { layer3: "layer3", layer4: "layer4" }), x);
  assert.deepEqual(Object.keys(feats), ["layer3", "layer4"]);
  assert.deepEqual(feats.layer4.shape, [1, 2048, 4, 4]);  // output stride 8
  exact(feats.layer3.narrow(1, 0, 32), fx("resnet50_dilated/layer3"), "dilated resnet50 layer3");
  exact(feats.layer4.narrow(1, 0, 32), fx("resnet50_dilated/layer4"), "dilated resnet50 layer4");
  const extracted = evalForward<Record<string, Tensor>>(createFeatureExtractor(model, { layer4: "out" }), x);
  exact(extracted.out, feats.layer4, "createFeatureExtractor layer4");
  model.dispose();
}));

test("groups and widthPerGroup: torchvision's ResNeXt-32x4d keys, shapes and outputs (one bottleneck per stage)", () => torch.tidy(() => {
  const model = new ResNet(Bottleneck, [1, 1, 1, 1], { groups: 32, widthPerGroup: 4 });
  assert.deepEqual([...model.stateDict()].map(([k, t]) => [k, t.shape, t.dtype]), META.resnext_tiny);
  fillFormula(model);
  exact(evalForward(model, fx("input32")), fx("resnext_tiny/logits"), "ResNeXt logits");
  model.dispose();
}));

test("normLayer takes a class or a function; bad normLayer and dilation options are FlareErrors", () => torch.tidy(() => {
  const gn = resnet18({ normLayer: (c: number) => new nn.GroupNorm(32, c), numClasses: 3 });
  assert.ok(gn.bn1 instanceof nn.GroupNorm);
  assert.ok((gn.layer2.get(0) as BasicBlock).downsample!.children()[1] instanceof nn.GroupNorm);
  assert.equal((gn.bn1 as nn.GroupNorm).weight!.min().item(), 1);
  assert.deepEqual(evalForward<Tensor>(gn, torch.randn([1, 3, 32, 32])).shape, [1, 3]);
  gn.dispose();
  assertFlareError(() => resnet18({ normLayer: (() => 3) as never }), /^normLayer must be a Module class or a function returning a Module; it returned 3$/, "E_ARGUMENT");
  assertFlareError(() => resnet18({ normLayer: "bn" as never }), /^ResNet\(\): normLayer must be a norm-layer class or a function making one, got bn$/, "E_ARGUMENT");
  assertFlareError(() => resnet18({ replaceStrideWithDilation: [false, true, true] }), /^Dilation > 1 not supported in BasicBlock$/, "E_NOT_IMPLEMENTED");
  assertFlareError(() => resnet50({ replaceStrideWithDilation: [true, true] as never }), /^ResNet\(\): replaceStrideWithDilation should be null or a 3-element array, got \[true,true\]$/, "E_ARGUMENT");
  assertFlareError(() => resnet50({ replaceStrideWithDilation: [false, 1, true] as never }), /^ResNet\(\): replaceStrideWithDilation\[1\] must be true or false, got 1$/, "E_ARGUMENT");
  assertFlareError(() => resnet50({ dilation: 2 } as never), /^models\.resnet50\(\): unknown option "dilation"; it takes "numClasses", /, "E_ARGUMENT");
  assertFlareError(() => new ResNet(BasicBlock, [2, 2, 2, 2], { groups: 2 }), /^BasicBlock only supports groups=1 and baseWidth=64$/, "E_ARGUMENT");
}));

// ---- headless forms ---------------------------------------------------------------------------

test("headless ResNet, VGG and d2l ResNet: the last feature map, the full model's keys without the head", () => torch.tidy(() => {
  const full = resnet50();
  const headless = resnet50({ headless: true });
  headless.loadStateDict(new Map([...full.stateDict()].filter(([k]) => !k.startsWith("fc."))));
  assert.equal(headless.fc, null);
  assert.equal(headless.outChannels, 2048);
  assert.deepEqual([...headless.stateDict().keys()], [...full.stateDict().keys()].filter((k) => !k.startsWith("fc.")));
  const x = torch.randn([1, 3, 64, 64]);
  const features = evalForward<Tensor>(headless, x);
  assert.deepEqual(features.shape, [1, 2048, 2, 2]);
  exact(features, evalForward<Record<string, Tensor>>(new IntermediateLayerGetter(full, { layer4: "out" }), x).out, "headless resnet50 = layer4 of the full one");
  full.dispose(); headless.dispose();

  const vgg = vgg19({ headless: true });
  assert.ok([...vgg.stateDict().keys()].every((k) => k.startsWith("features.")));
  assert.deepEqual(evalForward<Tensor>(vgg, torch.randn([1, 3, 32, 32])).shape, [1, 512, 1, 1]);
  vgg.dispose();

  torch.manualSeed(4);
  const small = resnet18Small(10, { width: 8 });
  torch.manualSeed(4);
  const smallHeadless = resnet18Small(10, { width: 8, headless: true });
  assert.deepEqual([...smallHeadless.stateDict().keys()], [...small.stateDict().keys()].filter((k) => !k.startsWith("9.")));
  const y = torch.randn([2, 1, 28, 28]);
  const map = evalForward<Tensor>(smallHeadless, y);
  assert.deepEqual(map.shape, [2, 64, 4, 4]);
  exact(map, evalForward<Tensor>(small.slice(0, 7), y), "headless d2l resnet = its first 7 modules");
  small.dispose(); smallHeadless.dispose();

  assertFlareError(() => resnet18({ headless: true, numClasses: 10 }), /^ResNet\(\): numClasses and headless exclude each other/, "E_ARGUMENT");
  assertFlareError(() => vgg19({ headless: true, dropout: 0 }), /^VGG\(\): numClasses and dropout belong to the classifier/, "E_ARGUMENT");
  assertFlareError(() => resnet18Small(10, { headless: 1 as never }), /^resnet18Small\(\): headless must be true or false, got 1$/, "E_ARGUMENT");
}));

test("VGG's features are indexed and sliced as torchvision's (style transfer, SSD)", () => torch.tidy(() => {
  const vgg = vgg19({ headless: true });
  assert.ok(vgg.features.get(25) instanceof nn.Conv2d);  // conv4_4
  assert.ok(vgg.features.get(26) instanceof nn.ReLU);
  assert.ok(vgg.features.get(28) instanceof nn.Conv2d);  // conv5_1
  assert.ok(vgg.features.get(-1) instanceof nn.MaxPool2d);
  const head = vgg.features.slice(0, 26);  // features[:26], keys unchanged
  assert.deepEqual([...head.stateDict().keys()], [...vgg.stateDict().keys()].map((k) => k.slice("features.".length)).filter((k) => Number(k.split(".")[0]) < 26));
  vgg.dispose();
}));

// ---- feature extraction -----------------------------------------------------------------------

test("IntermediateLayerGetter on resnet18: torchvision's four feature maps and its keys (BackboneWithFPN's body)", () => torch.tidy(() => {
  const model = resnet18();
  fillFormula(model);
  const getter = new IntermediateLayerGetter(model, { layer1: "0", layer2: "1", layer3: "2", layer4: "3" });
  assert.deepEqual(getter.keys(), ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]);
  assert.deepEqual([...getter.stateDict().keys()], [...model.stateDict().keys()].filter((k) => !k.startsWith("fc.")));
  const out = evalForward<Record<string, Tensor>>(getter, fx("input32"));
  assert.deepEqual(Object.keys(out), ["0", "1", "2", "3"]);
  for (const k of Object.keys(out)) exact(out[k], fx(`resnet18_getter/${k}`), `IntermediateLayerGetter ${k}`);
  model.dispose();
}));

test("createFeatureExtractor on resnet18 and vgg19: torchvision's node names and outputs, in execution order", () => torch.tidy(() => {
  const model = resnet18();
  fillFormula(model);
  const extractor = createFeatureExtractor(model, RESNET_NODES);
  const out = evalForward<Record<string, Tensor>>(extractor, fx("input32"));
  assert.deepEqual(Object.keys(out), META.resnet18_fx_order);
  for (const k of Object.keys(out)) exact(out[k], fx(`resnet18_fx/${k}`), `resnet18 node ${k}`);
  model.dispose();

  const vgg = vgg19({ headless: true });  // the same features.* formula values as the full model's
  fillFormula(vgg);
  const vout = evalForward<Record<string, Tensor>>(createFeatureExtractor(vgg, VGG_NODES), fx("input16"));
  assert.deepEqual(Object.keys(vout), META.vgg19_fx_order);
  for (const k of Object.keys(vout)) exact(vout[k], fx(`vgg19_fx/${k}`), `vgg19 node ${k}`);
  vgg.dispose();
}));

test("every module node of torchvision's graphs is a node here; function nodes are a clear FlareError", () => torch.tidy(() => {
  const model = resnet18();
  const vgg = vgg19({ headless: true });
  for (const [m, nodes] of [[model, META.nodes.resnet18], [vgg, META.nodes.vgg19]] as const) {
    for (const node of nodes) {
      const isFunction = node === "x" || node === "flatten" || node.endsWith(".add") || (m === vgg && /^(avgpool|classifier)/.test(node));
      if (isFunction) {
        assertFlareError(() => createFeatureExtractor(m, [node]), new RegExp(`^createFeatureExtractor\\(\\): node "${node.replace(/\./g, "\\.")}" is not a submodule of the model`), "E_ARGUMENT");
      } else {
        createFeatureExtractor(m, [node]);
      }
    }
  }
  model.dispose(); vgg.dispose();
}));

test("the extractor runs the model only as far as needed, restores it, and registers only the children it uses", () => torch.tidy(() => {
  const model = resnet18();
  const originals = [model.layer2.forward, model.layer3.forward];
  let layer3Calls = 0;
  const layer3 = model.layer3.forward;
  model.layer3.forward = (<T>(x: T): T => { layer3Calls++; return layer3(x); });
  const extractor = createFeatureExtractor(model, { "layer1": "a", "layer2.1": "b" });
  assert.deepEqual(extractor.keys(), ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2"]);
  const x = torch.randn([1, 3, 32, 32]);
  const out = evalForward<Record<string, Tensor>>(extractor, x);
  assert.deepEqual(Object.keys(out), ["a", "b"]);
  assert.deepEqual(out.b.shape, [1, 128, 4, 4]);
  assert.equal(layer3Calls, 0, "layer3 never ran");
  assert.equal(model.layer2.forward, originals[0], "forward restored");
  // the model itself still runs whole
  model.layer3.forward = originals[1];
  assert.deepEqual(evalForward<Tensor>(model, x).shape, [1, 1000]);
  model.dispose();
}));

test("extracted features are tidy-scoped, train end to end, and a failing forward leaks nothing", () => {
  const model = resnet18({ numClasses: 4 });
  const extractor = createFeatureExtractor(model, ["layer2", "layer3"]);
  const x = torch.randn([2, 3, 32, 32]);
  const before = settledTensors();
  const out = torch.tidy(() => extractor.forward(x) as Record<string, Tensor>);
  assert.equal(torch.memory().numTensors, before + 2, "exactly the two feature maps survive the scope");
  torch.dispose(out);
  assert.equal(torch.memory().numTensors, before);

  torch.tidy(() => {
    extractor.train();
    assert.equal(model.training, true);
    const feats = extractor.forward(x) as Record<string, Tensor>;
    feats.layer3.square().mean().backward();
  });
  assert.ok(model.layer1.get(0).parameters()[0].grad, "layer1 has a gradient");
  assert.equal(model.layer4.parameters()[0].grad, null, "layer4 did not run");
  assert.equal(model.fc!.weight.grad, null);
  model.zeroGrad();

  const afterGrads = settledTensors();
  const layer2Forward = model.layer2.forward;
  assertFlareError(() => torch.tidy(() => extractor.forward(torch.randn([1, 2, 32, 32]))),
    /^Given groups=1, weight of size \[64, 3, 7, 7\], expected input\[1, 2, 32, 32\] to have 3 channels, but got 2 channels instead$/, "E_TORCH");
  assert.equal(torch.memory().numTensors, afterGrads, "nothing leaks from a failed forward");
  assert.equal(model.layer2.forward, layer2Forward, "forwards restored after the failure");
  assert.deepEqual(torch.tidy(() => Object.keys(extractor.forward(x) as Record<string, Tensor>)), ["layer2", "layer3"], "the extractor works again");
  assert.equal(torch.memory().numTensors, afterGrads);
  x.dispose();
  model.dispose();
});

test("feature extraction on d2l's small ResNet (a Sequential: nodes are its indices)", () => torch.tidy(() => {
  const model = resnet18Small(10, { width: 8 });
  const x = torch.randn([2, 1, 28, 28]);
  const getter = evalForward<Record<string, Tensor>>(new IntermediateLayerGetter(model, { "4": "c3", "6": "c5" }), x);
  const extractor = evalForward<Record<string, Tensor>>(createFeatureExtractor(model, { "4": "c3", "6.1.conv2": "inner", "6": "c5" }), x);
  assert.deepEqual(getter.c3.shape, [2, 16, 14, 14]);
  assert.deepEqual(getter.c5.shape, [2, 64, 4, 4]);
  exact(extractor.c3, getter.c3, "c3");
  exact(extractor.c5, getter.c5, "c5");
  assert.deepEqual(Object.keys(extractor), ["c3", "inner", "c5"]);
  exact(getter.c5, evalForward<Tensor>(model.slice(0, 7), x), "the first 7 modules");
  model.dispose();
}));

test("feature extractors reject bad models, nodes and names", () => torch.tidy(() => {
  const model = resnet18();
  assertFlareError(() => new IntermediateLayerGetter(model, { layer5: "x" }), /^IntermediateLayerGetter\(\): return layers "layer5" are not children of the model \(its children: conv1, bn1, relu, maxpool, layer1, layer2, layer3, layer4, avgpool, fc\)$/, "E_ARGUMENT");
  assertFlareError(() => new IntermediateLayerGetter(model, ["layer1"] as never), /^IntermediateLayerGetter\(\): returnLayers must be an object \{ childName: outputName \}, got an array$/, "E_ARGUMENT");
  assertFlareError(() => new IntermediateLayerGetter(model, {}), /^IntermediateLayerGetter\(\): no return nodes given$/, "E_ARGUMENT");
  assertFlareError(() => new IntermediateLayerGetter({} as never, { a: "b" }), /^IntermediateLayerGetter\(\): model must be a Module, got \[object Object\]$/, "E_ARGUMENT");
  assertFlareError(() => createFeatureExtractor(model, { layer1: "a", layer2: "a" }), /^createFeatureExtractor\(\): output name "a" is given twice$/, "E_ARGUMENT");
  assertFlareError(() => createFeatureExtractor(model, ["layer1.7"]), /^createFeatureExtractor\(\): node "layer1\.7" is not a submodule of the model/, "E_ARGUMENT");
  assertFlareError(() => createFeatureExtractor(model, [""]), /^createFeatureExtractor\(\): a node name must be a non-empty string, got ""$/, "E_ARGUMENT");
  assertFlareError(() => createFeatureExtractor(model, "layer1" as never), /^createFeatureExtractor\(\): return nodes must be an array of node names or an object \{ node: outputName \}, got layer1$/, "E_ARGUMENT");
  // a module the forward never calls (or not that often)
  const before = settledTensors();
  assertFlareError(() => evalForward(createFeatureExtractor(model, ["layer1", "layer1.0.relu_2"]), torch.randn([1, 3, 32, 32])),
    /^createFeatureExtractor\(\): the model's forward never computed node\(s\) "layer1\.0\.relu_2"/, "E_ARGUMENT");
  assert.equal(torch.memory().numTensors, before + 1, "only the input is left");
  model.dispose();
}));

// ---- models.get with backbone options ---------------------------------------------------------

test("models.get builds backbones: normLayer, dilation, headless with a classifier's weights file", () => torch.tidy(() => {
  const model = get("resnet50", { normLayer: nn.FrozenBatchNorm2d, replaceStrideWithDilation: [false, true, true], headless: true });
  assert.ok((model as ResNet).bn1 instanceof nn.FrozenBatchNorm2d);
  assert.deepEqual(evalForward<Tensor>(model, torch.randn([1, 3, 32, 32])).shape, [1, 2048, 4, 4]);
  model.dispose();
  assertFlareError(() => get("vgg16", { normLayer: nn.FrozenBatchNorm2d }), /^models\.get\("vgg16"\): unknown option "normLayer"; it takes "weights", "numClasses", "inChannels", "headless", "dropout"$/, "E_ARGUMENT");
}));
