// PyTorch's positional order, taken from src/pytorch_signatures.ts (generated from
// PyTorch 1.13 / torchvision 0.14): the issue's cases, the deprecated and
// unsupported parameters, and a walk that checks each class reads its own
// signature from the table.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { nn, optim } from "../src/index.js";
import * as F from "../src/nn/functional.js";
import { transforms as T, models } from "../src/vision/index.js";
import { PYTORCH_SIGNATURES, type SignatureName } from "../src/pytorch_signatures.js";
import { assertFlareError } from "./helpers.js";

const params = () => [torch.zeros([2], { requiresGrad: true })];

test("nn.MaxPool2d(3, 2) pools with stride 2; nn.Conv2d(1, 6, 5, 1, 2) has stride 1 and padding 2", () => {
  const pool = new nn.MaxPool2d(3, 2);
  assert.equal(pool.stride, 2);
  assert.deepEqual(pool.forward(torch.zeros([1, 1, 9, 9])).shape, [1, 1, 4, 4]);
  const conv = new nn.Conv2d(1, 6, 5, 1, 2);
  assert.deepEqual([conv.stride, conv.padding], [[1, 1], [2, 2]]);
  assert.deepEqual(conv.forward(torch.zeros([1, 1, 28, 28])).shape, [1, 6, 28, 28]);
  // Positions then an options object; a name given both ways is refused.
  const both = new nn.Conv2d(1, 6, 5, 2, { padding: 1 });
  assert.deepEqual([both.stride, both.padding], [[2, 2], [1, 1]]);
  assertFlareError(() => new nn.Conv2d(1, 6, 5, 2, { stride: 1 }), /^new nn\.Conv2d\(\): "stride" given both by position and in the options$/, "E_ARGUMENT");
  assertFlareError(() => new nn.MaxPool2d(3, 2, 0, 1, false, false, 7 as never),
    /^new nn\.MaxPool2d\(\): takes at most 5 optional arguments by position \(stride, padding, dilation, returnIndices, ceilMode\), got 6/, "E_ARGUMENT");
});

test("CrossEntropyLoss: position 1 is weight, so (\"none\") is refused; PyTorch's full order works; deprecated size_average / reduce only as null", () => {
  assertFlareError(() => new nn.CrossEntropyLoss("none" as never),
    /^CrossEntropyLoss\(\): weight must be a Tensor or null, got string none \(PyTorch's first optional argument is weight; pass the reduction as \{ reduction: "none" \}\)$/, "E_TYPE");
  const loss = new nn.CrossEntropyLoss(null, null, -100, null, "none");
  assert.equal(loss.reduction, "none");
  assert.equal(loss.ignoreIndex, -100);
  const out = loss.forward(torch.zeros([3, 4]), torch.tensor([0, 1, 2], { dtype: "int64" }));
  assert.deepEqual(out.shape, [3]);
  assertFlareError(() => new nn.CrossEntropyLoss(null, true as never),
    /^new nn\.CrossEntropyLoss\(\): "sizeAverage" is deprecated in PyTorch and not supported; use reduction: "mean", "sum" or "none"$/, "E_ARGUMENT");
  assertFlareError(() => new nn.MSELoss(null, false as never), /"reduce" is deprecated in PyTorch and not supported; use reduction/, "E_ARGUMENT");
  assertFlareError(() => new nn.MSELoss({ size_average: false } as never), /unknown option "size_average"/, "E_ARGUMENT");
  assert.equal(new nn.MSELoss(null, null, "sum").reduction, "sum");
  assert.equal(new nn.SmoothL1Loss(undefined, undefined, "sum", 0.5).beta, 0.5);
});

test("nn.ReLU(true) is inplace; LeakyReLU, Dropout, Flatten, Softmax take PyTorch's positions", () => {
  assert.equal(new nn.ReLU(true).inplace, true);
  assert.equal(new nn.ReLU().inplace, false);
  const leaky = new nn.LeakyReLU(0.2, true);
  assert.deepEqual([leaky.negativeSlope, leaky.inplace], [0.2, true]);
  assert.equal(new nn.Dropout(0.3).p, 0.3);
  assert.deepEqual([new nn.Flatten(0, 2).startDim, new nn.Flatten(0, 2).endDim], [0, 2]);
  assert.equal(new nn.Softmax(1).dim, 1);
  assert.equal(new nn.BatchNorm2d(4, 1e-3, 0.2).momentum, 0.2);
  assert.equal(new nn.Linear(2, 3, false).bias, null);
});

test("a PyTorch parameter flare lacks is accepted as null only, and says so", () => {
  // StepLR(optimizer, step_size, gamma, last_epoch, verbose): flare has no verbose.
  const opt = new optim.SGD(params(), 0.1);
  assert.equal(new optim.lrScheduler.StepLR(opt, 30, 0.5, -1, null).gamma, 0.5);
  assertFlareError(() => new optim.lrScheduler.StepLR(opt, 30, 0.5, -1, true as never),
    /^new StepLR\(\): PyTorch's "verbose" \(position 3 of its optional arguments\) is not supported by flare; pass null or leave it out$/, "E_ARGUMENT");
});

test("optim: SGD(params, 0.1, 0.9) as PyTorch; weight_decay is a FlareError with the camelCase name; a param group's misspelt hyper-parameter too", () => {
  const opt = new optim.SGD(params(), 0.1, 0.9);
  assert.deepEqual([opt.paramGroups[0].lr, opt.paramGroups[0].momentum], [0.1, 0.9]);
  assertFlareError(() => new optim.SGD(params(), { lr: 0.1, weight_decay: 1e-3 } as never),
    /^new optim\.SGD\(\): unknown option "weight_decay" \(did you mean "weightDecay"\?\); it takes "lr", "momentum", "dampening", "weightDecay", "nesterov", "maximize"$/, "E_ARGUMENT");
  assertFlareError(() => new optim.SGD([{ params: params(), weight_decay: 1e-3 }], { lr: 0.1 }),
    /^parameter group: unknown hyper-parameter "weight_decay" \(did you mean "weightDecay"\?\)$/, "E_ARGUMENT");
  // Other extra keys stay, as PyTorch lets a group carry its own tags.
  assert.equal(new optim.SGD([{ params: params(), name: "head" }], { lr: 0.1 }).paramGroups[0].name, "head");
  const adam = new optim.Adam(params(), 0.01, [0.8, 0.9]);
  assert.deepEqual([adam.paramGroups[0].lr, adam.paramGroups[0].betas], [0.01, [0.8, 0.9]]);
  assert.equal(new optim.lrScheduler.MultiStepLR(opt, [1, 2], 0.5).gamma, 0.5);
});

test("models.resnet18({ pretrained: true }) is a FlareError that says where weights load", () => {
  assertFlareError(() => models.resnet18({ pretrained: true } as never),
    /^models\.resnet18\(\): unknown option "pretrained": the builders make randomly initialised models; load a weights file with models\.get\("resnet18", \{ weights: "file\.safetensors" \}\)$/, "E_ARGUMENT");
  assertFlareError(() => models.vgg16Bn({ weights: "x" } as never), /models\.get\("vgg16_bn", \{ weights/, "E_ARGUMENT");
});

test("transforms take torchvision's positions", () => {
  assert.equal(new T.RandomHorizontalFlip(0.3).p, 0.3);
  const jitter = new T.ColorJitter(0.5, 0.25);
  assert.deepEqual([jitter.brightness, jitter.contrast, jitter.saturation], [[0.5, 1.5], [0.75, 1.25], null]);
  assert.deepEqual(new T.ColorJitter({ hue: 0.1 }).hue, [-0.1, 0.1]);
  assert.equal(new T.RandomErasing(0.7).p, 0.7);
  assert.equal(new T.Normalize([0.5], [0.5], true).inplace, true);
  assert.equal(new T.RandomPerspective(0.2, 1).distortionScale, 0.2);
  assert.equal(new T.Resize(4, "nearest").interpolation, "nearest");
  assert.equal(new T.RandomApply([new T.RandomInvert()], 0.2).p, 0.2);
  assert.equal(new T.Grayscale(3).numOutputChannels, 3);
  assert.equal(new T.RandomPosterize(4, 0.1).p, 0.1);
});

test("nn.init takes PyTorch's positions", () => {
  const w = torch.zeros([3, 4]);
  nn.init.uniform_(w, 2, 3);
  assert.ok(w.min().item() >= 2 && w.max().item() <= 3);
  nn.init.kaimingUniform_(w, 0, "fan_out", "relu");
  assertFlareError(() => nn.init.normal_(w, { mean: 0, sd: 1 } as never), /^init\.normal_\(\): unknown option "sd" \(did you mean "std"\?\)/, "E_ARGUMENT");
});

test("torch.nn.functional takes PyTorch's positions: F.conv2d(x, w, b, 2, 1), F.maxPool2d(x, 3, 2, 1, 1, false, true), F.mseLoss(x, y, null, null, \"sum\")", () => torch.tidy(() => {
  const x = torch.randn([1, 2, 7, 7]), w = torch.randn([3, 2, 3, 3]), b = torch.randn([3]);
  const close = (a: torch.Tensor, e: torch.Tensor) => assert.ok(torch.allclose(a, e), "equal results");
  close(F.conv2d(x, w, b, 2, 1), F.conv2d(x, w, b, { stride: 2, padding: 1 }));
  close(F.conv2d(x, w, null, 1, "same", 2), F.conv2d(x, w, null, { padding: "same", dilation: 2 }));
  close(F.conv2d(x, w, b, 2, { padding: 1 }), F.conv2d(x, w, { bias: b, stride: 2, padding: 1 }));
  assertFlareError(() => F.conv2d(x, w, b, 2, { stride: 1 }), /^conv2d\(\): "stride" given both by position and in the options$/, "E_ARGUMENT");
  close(F.convTranspose2d(x, w.transpose(0, 1), null, 2, 1, 1), F.convTranspose2d(x, w.transpose(0, 1), null, { stride: 2, padding: 1, outputPadding: 1 }));
  // F.max_pool2d's order is PyTorch's functional one: ceil_mode before return_indices (the class has them the other way).
  const [values, indices] = F.maxPool2d(x, 3, 2, 1, 1, false, true) as [torch.Tensor, torch.Tensor];
  close(values, F.maxPool2d(x, 3, { stride: 2, padding: 1 }));
  assert.equal(indices.dtype, "int64");
  assert.deepEqual((F.maxPool2d(x, 2, null, 0, 1, true) as torch.Tensor).shape, [1, 2, 4, 4]);
  assert.deepEqual(F.avgPool2d(x, 2, null, 0, true).shape, [1, 2, 4, 4]);
  close(F.interpolate(x, null, 2, "bilinear", false), F.interpolate(x, { scaleFactor: 2, mode: "bilinear", alignCorners: false }));
  assert.deepEqual(F.interpolate(x, 10).shape, [1, 2, 10, 10]);
  assertFlareError(() => F.interpolate(x, 10, null, "bilinear", null, null, true as never), /PyTorch's "antialias" \(position 6 of its optional arguments\) is not supported by flare/, "E_ARGUMENT");
  const logits = torch.randn([4, 3]), target = torch.tensor([0, 2, 1, 2], { dtype: "int64" }), weight = torch.tensor([1, 2, 3]);
  assert.deepEqual(F.crossEntropy(logits, target, null, null, -100, null, "none").shape, [4]);
  close(F.crossEntropy(logits, target, weight, null, 2, null, "sum", 0.1), F.crossEntropy(logits, target, { weight, ignoreIndex: 2, reduction: "sum", labelSmoothing: 0.1 }));
  close(F.nllLoss(logits.logSoftmax(1), target, weight), F.nllLoss(logits.logSoftmax(1), target, { weight }));
  const y = torch.rand([4, 3]);
  close(F.mseLoss(logits, y, null, null, "sum"), F.mseLoss(logits, y, { reduction: "sum" }));
  assert.ok(F.mseLoss(logits, y, null, null, "sum").item() > F.mseLoss(logits, y).item() * 2, "the sum, not the mean");
  close(F.smoothL1Loss(logits, y, null, null, "none", 0.5), F.smoothL1Loss(logits, y, { reduction: "none", beta: 0.5 }));
  close(F.binaryCrossEntropyWithLogits(logits, y, null, null, null, "mean", weight), F.binaryCrossEntropyWithLogits(logits, y, { posWeight: weight }));
  assertFlareError(() => F.mseLoss(logits, y, true as never), /^mseLoss\(\): "sizeAverage" is deprecated in PyTorch and not supported; use reduction/, "E_ARGUMENT");
  close(F.dropout(logits, 0.5, false), logits);
  close(F.leakyRelu(logits, 0.2), F.leakyRelu(logits, { negativeSlope: 0.2 }));
  assert.equal(F.softmax(logits, 1, null, "float64").dtype, "float64");
  assertFlareError(() => F.softmax(logits, 1, 3 as never), /^softmax\(\): PyTorch's "_stacklevel" \(position 2 of its optional arguments\) is not supported by flare; pass null or leave it out$/, "E_ARGUMENT");
  close(F.pad(logits, [1, 1], "constant", 2), F.pad(logits, [1, 1], { value: 2 }));
  close(F.layerNorm(logits, [3], null, null, 1e-3), F.layerNorm(logits, [3], { eps: 1e-3 }));
  close(F.oneHot(target, 4), F.oneHot(target, { numClasses: 4 }));
  assert.deepEqual(F.affineGrid(torch.zeros([1, 2, 3]), [1, 1, 2, 2], true).shape, [1, 2, 2, 2]);
  // A function without optional arguments takes nothing more.
  assertFlareError(() => (F.sigmoid as (...a: unknown[]) => unknown)(logits, 1), /^sigmoid\(\): takes no further arguments, got 1 more \(number 1\)$/, "E_ARGUMENT");
  assertFlareError(() => (F.adaptiveAvgPool2d as (...a: unknown[]) => unknown)(x, 1, {}), /^adaptiveAvgPool2d\(\): takes no further arguments, got 1 more \(an Object\)$/, "E_ARGUMENT");
}));

// Each class reads its own signature: one position too many names exactly the table's list.
const REQUIRED: Partial<Record<SignatureName, { make: (...rest: unknown[]) => unknown }>> = {};
const ctor = (cls: unknown, ...required: unknown[]) => ({ make: (...rest: unknown[]) => new (cls as new (...a: unknown[]) => unknown)(...required, ...rest) });
const fn = (f: unknown, ...required: unknown[]) => ({ make: (...rest: unknown[]) => (f as (...a: unknown[]) => unknown)(...required, ...rest) });
Object.assign(REQUIRED, {
  "nn.Linear": ctor(nn.Linear, 2, 3), "nn.Identity": ctor(nn.Identity), "nn.Conv2d": ctor(nn.Conv2d, 1, 1, 3),
  "nn.ConvTranspose2d": ctor(nn.ConvTranspose2d, 1, 1, 3), "nn.BatchNorm1d": ctor(nn.BatchNorm1d, 2), "nn.BatchNorm2d": ctor(nn.BatchNorm2d, 2),
  "nn.LayerNorm": ctor(nn.LayerNorm, 2), "nn.GroupNorm": ctor(nn.GroupNorm, 1, 2), "nn.ReLU": ctor(nn.ReLU), "nn.LeakyReLU": ctor(nn.LeakyReLU),
  "nn.GELU": ctor(nn.GELU), "nn.SiLU": ctor(nn.SiLU), "nn.Sigmoid": ctor(nn.Sigmoid), "nn.Tanh": ctor(nn.Tanh), "nn.Softmax": ctor(nn.Softmax),
  "nn.LogSoftmax": ctor(nn.LogSoftmax), "nn.Dropout": ctor(nn.Dropout), "nn.Dropout2d": ctor(nn.Dropout2d), "nn.MaxPool2d": ctor(nn.MaxPool2d, 2),
  "nn.AvgPool2d": ctor(nn.AvgPool2d, 2), "nn.AdaptiveAvgPool2d": ctor(nn.AdaptiveAvgPool2d, 1), "nn.AdaptiveMaxPool2d": ctor(nn.AdaptiveMaxPool2d, 1),
  "nn.Flatten": ctor(nn.Flatten), "nn.Upsample": ctor(nn.Upsample), "nn.CrossEntropyLoss": ctor(nn.CrossEntropyLoss), "nn.NLLLoss": ctor(nn.NLLLoss),
  "nn.BCELoss": ctor(nn.BCELoss), "nn.BCEWithLogitsLoss": ctor(nn.BCEWithLogitsLoss), "nn.MSELoss": ctor(nn.MSELoss), "nn.L1Loss": ctor(nn.L1Loss),
  "nn.SmoothL1Loss": ctor(nn.SmoothL1Loss), "nn.FrozenBatchNorm2d": ctor(nn.FrozenBatchNorm2d, 2),
  "init.uniform_": fn(nn.init.uniform_, torch.zeros([2, 2])), "init.normal_": fn(nn.init.normal_, torch.zeros([2, 2])),
  "init.xavierUniform_": fn(nn.init.xavierUniform_, torch.zeros([2, 2])), "init.xavierNormal_": fn(nn.init.xavierNormal_, torch.zeros([2, 2])),
  "init.kaimingUniform_": fn(nn.init.kaimingUniform_, torch.zeros([2, 2])), "init.kaimingNormal_": fn(nn.init.kaimingNormal_, torch.zeros([2, 2])),
  "optim.SGD": ctor(optim.SGD, params()), "optim.Adam": ctor(optim.Adam, params()), "optim.AdamW": ctor(optim.AdamW, params()),
  "transforms.Resize": ctor(T.Resize, 4), "transforms.CenterCrop": ctor(T.CenterCrop, 4), "transforms.Pad": ctor(T.Pad, 1),
  "transforms.RandomCrop": ctor(T.RandomCrop, 4), "transforms.RandomResizedCrop": ctor(T.RandomResizedCrop, 4),
  "transforms.RandomHorizontalFlip": ctor(T.RandomHorizontalFlip), "transforms.RandomVerticalFlip": ctor(T.RandomVerticalFlip),
  "transforms.RandomRotation": ctor(T.RandomRotation, 10), "transforms.RandomAffine": ctor(T.RandomAffine, 10),
  "transforms.RandomPerspective": ctor(T.RandomPerspective), "transforms.ColorJitter": ctor(T.ColorJitter), "transforms.Grayscale": ctor(T.Grayscale),
  "transforms.RandomGrayscale": ctor(T.RandomGrayscale), "transforms.GaussianBlur": ctor(T.GaussianBlur, 3), "transforms.RandomErasing": ctor(T.RandomErasing),
  "transforms.RandomInvert": ctor(T.RandomInvert), "transforms.RandomPosterize": ctor(T.RandomPosterize, 4), "transforms.RandomSolarize": ctor(T.RandomSolarize, 128),
  "transforms.RandomAdjustSharpness": ctor(T.RandomAdjustSharpness, 2), "transforms.RandomAutocontrast": ctor(T.RandomAutocontrast),
  "transforms.RandomEqualize": ctor(T.RandomEqualize), "transforms.ConvertImageDtype": ctor(T.ConvertImageDtype, "float32"),
  "transforms.Normalize": ctor(T.Normalize, [0], [1]), "transforms.AutoAugment": ctor(T.AutoAugment), "transforms.RandAugment": ctor(T.RandAugment),
  "transforms.TrivialAugmentWide": ctor(T.TrivialAugmentWide), "transforms.RandomApply": ctor(T.RandomApply, []),
  "transforms.RandomChoice": ctor(T.RandomChoice, [new T.RandomInvert()]), "transforms.RandomOrder": ctor(T.RandomOrder, []),
  "transforms.Compose": ctor(T.Compose, []), "transforms.ToTensor": ctor(T.ToTensor),
});
const sgd = () => new optim.SGD(params(), 0.1);
Object.assign(REQUIRED, {
  "optim.lrScheduler.StepLR": ctor(optim.lrScheduler.StepLR, sgd(), 1), "optim.lrScheduler.MultiStepLR": ctor(optim.lrScheduler.MultiStepLR, sgd(), [1]),
  "optim.lrScheduler.ExponentialLR": ctor(optim.lrScheduler.ExponentialLR, sgd(), 0.9), "optim.lrScheduler.CosineAnnealingLR": ctor(optim.lrScheduler.CosineAnnealingLR, sgd(), 2),
  "optim.lrScheduler.OneCycleLR": ctor(optim.lrScheduler.OneCycleLR, sgd(), 0.1), "optim.lrScheduler.LambdaLR": ctor(optim.lrScheduler.LambdaLR, sgd(), () => 1),
  "optim.lrScheduler.LinearLR": ctor(optim.lrScheduler.LinearLR, sgd()),
});
// torch.nn.functional: the required arguments of each function (tiny tensors; the walk fails before using them).
const x4 = () => torch.zeros([1, 1, 4, 4]), labels = () => torch.zeros([2], { dtype: "int64" });
Object.assign(REQUIRED, {
  "F.conv2d": fn(F.conv2d, x4(), torch.zeros([1, 1, 1, 1])), "F.convTranspose2d": fn(F.convTranspose2d, x4(), torch.zeros([1, 1, 1, 1])),
  "F.linear": fn(F.linear, torch.zeros([1, 2]), torch.zeros([3, 2])), "F.maxPool2d": fn(F.maxPool2d, x4(), 2), "F.avgPool2d": fn(F.avgPool2d, x4(), 2),
  "F.adaptiveAvgPool2d": fn(F.adaptiveAvgPool2d, x4(), 1), "F.adaptiveMaxPool2d": fn(F.adaptiveMaxPool2d, x4(), 1),
  "F.batchNorm": fn(F.batchNorm, x4(), torch.zeros([1]), torch.ones([1])), "F.layerNorm": fn(F.layerNorm, x4(), 4), "F.groupNorm": fn(F.groupNorm, x4(), 1),
  "F.dropout": fn(F.dropout, x4()), "F.dropout2d": fn(F.dropout2d, x4()), "F.relu": fn(F.relu, x4()), "F.leakyRelu": fn(F.leakyRelu, x4()),
  "F.gelu": fn(F.gelu, x4()), "F.silu": fn(F.silu, x4()), "F.softmax": fn(F.softmax, x4(), 1), "F.logSoftmax": fn(F.logSoftmax, x4(), 1),
  "F.interpolate": fn(F.interpolate, x4()), "F.pad": fn(F.pad, x4(), [1, 1]), "F.crossEntropy": fn(F.crossEntropy, torch.zeros([2, 3]), labels()),
  "F.nllLoss": fn(F.nllLoss, torch.zeros([2, 3]), labels()), "F.binaryCrossEntropy": fn(F.binaryCrossEntropy, torch.zeros([2]), torch.zeros([2])),
  "F.binaryCrossEntropyWithLogits": fn(F.binaryCrossEntropyWithLogits, torch.zeros([2]), torch.zeros([2])),
  "F.mseLoss": fn(F.mseLoss, torch.zeros([2]), torch.zeros([2])), "F.l1Loss": fn(F.l1Loss, torch.zeros([2]), torch.zeros([2])),
  "F.smoothL1Loss": fn(F.smoothL1Loss, torch.zeros([2]), torch.zeros([2])), "F.oneHot": fn(F.oneHot, labels()),
  "F.gridSample": fn(F.gridSample, x4(), torch.zeros([1, 2, 2, 2])), "F.affineGrid": fn(F.affineGrid, torch.zeros([1, 2, 3]), [1, 1, 2, 2]),
});
// PyTorch positions flare takes as required arguments (F.softmax's dim): the walk starts after them.
const TAKEN_AS_REQUIRED: Partial<Record<SignatureName, number>> = { "F.softmax": 1, "F.logSoftmax": 1 };
// Table entries not walked: the class needs arguments the walk cannot make generically.
const NOT_WALKED = (name: string) => name === "DataLoader" || name === "init.constant_" || name === "optim.lrScheduler.SequentialLR";

test("each class and function takes the positions of its own PyTorch signature (generated table, not a hand copy)", () => {
  const names = Object.keys(PYTORCH_SIGNATURES) as SignatureName[];
  assert.deepEqual(names.filter((n) => !NOT_WALKED(n) && !(n in REQUIRED)), [], "table entries the walk misses");
  for (const name of names) {
    const entry = REQUIRED[name];
    if (!entry) continue;
    const positional = (PYTORCH_SIGNATURES[name].positional as readonly string[]).slice(TAKEN_AS_REQUIRED[name] ?? 0);
    // One argument more than PyTorch has positions (a non-object value, so it is not taken for the options).
    if (positional.length === 0 && name.startsWith("F.")) assertFlareError(() => entry.make(0), /takes no further arguments, got 1 more \(number 0\)/, "E_ARGUMENT");
    else assertFlareError(() => entry.make(...Array(positional.length + 1).fill(0)),
      new RegExp(`takes at most ${positional.length} optional arguments? by position \\(${positional.join(", ")}\\), got ${positional.length + 1}`), "E_ARGUMENT");
  }
});

test("the types follow PyTorch's positions (checked by tsc when the tests compile)", () => {
  // @ts-expect-error: Conv2d's 4th argument is stride (a number or a pair), not a string
  assert.throws(() => new nn.Conv2d(1, 6, 5, "same"));
  // @ts-expect-error: CrossEntropyLoss's first position is weight (a Tensor)
  assert.throws(() => new nn.CrossEntropyLoss("none"));
  // @ts-expect-error: size_average is deprecated: only null / undefined type-check
  assert.throws(() => new nn.MSELoss(true));
  // @ts-expect-error: an unknown option is a type error too
  assert.throws(() => new nn.MaxPool2d(2, { stide: 2 }));
  const pool: nn.MaxPool2d = new nn.MaxPool2d(2, 2, 0, 1, false, true);
  assert.equal(pool.ceilMode, true);
});
