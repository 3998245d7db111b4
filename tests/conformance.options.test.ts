// Walks the exported API (nn, nn.init, optim, optim.lrScheduler, transforms,
// transforms.functional, datasets, utils, models) and calls every function
// and class that takes options with a bogus one: each must throw the FlareError
// that names it. Every export is either called here or listed in SKIPPED with
// the reason, so a new export fails this test until it is classified.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { nn, optim, F } from "../src/index.js";
import * as creation from "../src/tensor/creation.js";
import { transforms as T, datasets, utils, models } from "../src/vision/index.js";

const BOGUS = { bogusOption: 1 } as never;
type Call = () => unknown;

const img = () => torch.zeros([3, 8, 8], { dtype: "uint8" });
const fimg = () => torch.zeros([3, 8, 8]);
const params = () => [torch.zeros([2], { requiresGrad: true })];
const sgd = () => new optim.SGD(params(), { lr: 0.1 });
const dir = mkdtempSync(path.join(tmpdir(), "flare-conformance-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
// ImageFolder's layout, for the root-first forms: root/<class>/<image>.
mkdirSync(path.join(dir, "folder", "a"), { recursive: true });
writeFileSync(path.join(dir, "folder", "a", "x.png"), "");

const x4 = () => torch.zeros([1, 1, 4, 4]);
const CALLS: Record<string, Record<string, Call>> = {
  "torch (creation)": {
    tensor: () => torch.tensor([1], BOGUS), fromTypedArray: () => torch.fromTypedArray(new Float32Array(1), [1], BOGUS),
    zeros: () => torch.zeros([1], BOGUS), ones: () => torch.ones([1], BOGUS), empty: () => torch.empty([1], BOGUS),
    rand: () => torch.rand([1], BOGUS), randn: () => torch.randn([1], BOGUS), full: () => torch.full([1], 1, BOGUS),
    arange: () => torch.arange(2, BOGUS), linspace: () => torch.linspace(0, 1, 2, BOGUS), eye: () => torch.eye(2, BOGUS),
    randint: () => torch.randint(2, [1], BOGUS), randperm: () => torch.randperm(2, BOGUS), normal: () => torch.normal(0, 1, [1], BOGUS),
    zerosLike: () => torch.zerosLike(fimg(), BOGUS), onesLike: () => torch.onesLike(fimg(), BOGUS), emptyLike: () => torch.emptyLike(fimg(), BOGUS),
    randLike: () => torch.randLike(fimg(), BOGUS), randnLike: () => torch.randnLike(fimg(), BOGUS), fullLike: () => torch.fullLike(fimg(), 1, BOGUS),
    randintLike: () => torch.randintLike(fimg(), 2, BOGUS),
  },
  F: {
    conv2d: () => F.conv2d(x4(), torch.zeros([1, 1, 1, 1]), null, BOGUS),
    convTranspose2d: () => F.convTranspose2d(x4(), torch.zeros([1, 1, 1, 1]), null, BOGUS),
    batchNorm: () => F.batchNorm(x4(), torch.zeros([1]), torch.ones([1]), BOGUS), layerNorm: () => F.layerNorm(x4(), 4, BOGUS),
    groupNorm: () => F.groupNorm(x4(), 1, BOGUS), dropout: () => F.dropout(x4(), BOGUS), dropout2d: () => F.dropout2d(x4(), 0.5, BOGUS),
    relu: () => F.relu(x4(), BOGUS), leakyRelu: () => F.leakyRelu(x4(), BOGUS), gelu: () => F.gelu(x4(), BOGUS), silu: () => F.silu(x4(), BOGUS),
    softmax: () => F.softmax(x4(), 1, BOGUS), logSoftmax: () => F.logSoftmax(x4(), 1, BOGUS),
    maxPool2d: () => F.maxPool2d(x4(), 2, BOGUS), avgPool2d: () => F.avgPool2d(x4(), 2, BOGUS),
    adaptiveMaxPool2d: () => F.adaptiveMaxPool2d(x4(), 1, BOGUS), interpolate: () => F.interpolate(x4(), BOGUS),
    pad: () => F.pad(x4(), [1, 1], BOGUS),
    crossEntropy: () => F.crossEntropy(torch.zeros([2, 3]), torch.zeros([2], { dtype: "int64" }), BOGUS),
    nllLoss: () => F.nllLoss(torch.zeros([2, 3]), torch.zeros([2], { dtype: "int64" }), BOGUS),
    binaryCrossEntropy: () => F.binaryCrossEntropy(torch.zeros([2]), torch.zeros([2]), BOGUS),
    binaryCrossEntropyWithLogits: () => F.binaryCrossEntropyWithLogits(torch.zeros([2]), torch.zeros([2]), BOGUS),
    mseLoss: () => F.mseLoss(torch.zeros([2]), torch.zeros([2]), BOGUS), l1Loss: () => F.l1Loss(torch.zeros([2]), torch.zeros([2]), BOGUS),
    smoothL1Loss: () => F.smoothL1Loss(torch.zeros([2]), torch.zeros([2]), BOGUS),
    gridSample: () => F.gridSample(x4(), torch.zeros([1, 2, 2, 2]), BOGUS),
    affineGrid: () => F.affineGrid(torch.zeros([1, 2, 3]), [1, 1, 2, 2], BOGUS),
    convMatrix: () => F.convMatrix(torch.zeros([1, 1]), [2, 2], BOGUS),
  },
  nn: {
    Linear: () => new nn.Linear(2, 3, BOGUS), Identity: () => new nn.Identity(BOGUS),
    Conv2d: () => new nn.Conv2d(1, 1, 3, BOGUS), ConvTranspose2d: () => new nn.ConvTranspose2d(1, 1, 3, BOGUS),
    BatchNorm1d: () => new nn.BatchNorm1d(2, BOGUS), BatchNorm2d: () => new nn.BatchNorm2d(2, BOGUS),
    FrozenBatchNorm2d: () => new nn.FrozenBatchNorm2d(2, BOGUS), SyncBatchNorm: () => new nn.SyncBatchNorm(2, BOGUS), LayerNorm: () => new nn.LayerNorm(2, BOGUS),
    GroupNorm: () => new nn.GroupNorm(1, 2, BOGUS), ReLU: () => new nn.ReLU(BOGUS), LeakyReLU: () => new nn.LeakyReLU(BOGUS),
    GELU: () => new nn.GELU(BOGUS), SiLU: () => new nn.SiLU(BOGUS), Sigmoid: () => new nn.Sigmoid(BOGUS), Tanh: () => new nn.Tanh(BOGUS),
    Softmax: () => new nn.Softmax(BOGUS), LogSoftmax: () => new nn.LogSoftmax(BOGUS),
    Dropout: () => new nn.Dropout(BOGUS), Dropout2d: () => new nn.Dropout2d(BOGUS),
    MaxPool2d: () => new nn.MaxPool2d(2, BOGUS), AvgPool2d: () => new nn.AvgPool2d(2, BOGUS),
    AdaptiveAvgPool2d: () => new nn.AdaptiveAvgPool2d(1, BOGUS), AdaptiveMaxPool2d: () => new nn.AdaptiveMaxPool2d(1, BOGUS),
    Flatten: () => new nn.Flatten(BOGUS), Upsample: () => new nn.Upsample(BOGUS),
    CrossEntropyLoss: () => new nn.CrossEntropyLoss(BOGUS), NLLLoss: () => new nn.NLLLoss(BOGUS), BCELoss: () => new nn.BCELoss(BOGUS),
    BCEWithLogitsLoss: () => new nn.BCEWithLogitsLoss(BOGUS), MSELoss: () => new nn.MSELoss(BOGUS), L1Loss: () => new nn.L1Loss(BOGUS),
    SmoothL1Loss: () => new nn.SmoothL1Loss(BOGUS), clipGradNorm_: () => nn.clipGradNorm_(params(), 1, BOGUS),
  },
  "nn.init": {
    uniform_: () => nn.init.uniform_(torch.zeros([2, 2]), BOGUS), normal_: () => nn.init.normal_(torch.zeros([2, 2]), BOGUS),
    xavierUniform_: () => nn.init.xavierUniform_(torch.zeros([2, 2]), BOGUS), xavierNormal_: () => nn.init.xavierNormal_(torch.zeros([2, 2]), BOGUS),
    kaimingUniform_: () => nn.init.kaimingUniform_(torch.zeros([2, 2]), BOGUS), kaimingNormal_: () => nn.init.kaimingNormal_(torch.zeros([2, 2]), BOGUS),
  },
  optim: {
    SGD: () => new optim.SGD(params(), BOGUS), Adam: () => new optim.Adam(params(), BOGUS), AdamW: () => new optim.AdamW(params(), BOGUS),
  },
  "optim.lrScheduler": {
    LambdaLR: () => new optim.lrScheduler.LambdaLR(sgd(), () => 1, BOGUS), StepLR: () => new optim.lrScheduler.StepLR(sgd(), 1, BOGUS),
    MultiStepLR: () => new optim.lrScheduler.MultiStepLR(sgd(), [1], BOGUS), ExponentialLR: () => new optim.lrScheduler.ExponentialLR(sgd(), 0.9, BOGUS),
    CosineAnnealingLR: () => new optim.lrScheduler.CosineAnnealingLR(sgd(), 2, BOGUS), LinearLR: () => new optim.lrScheduler.LinearLR(sgd(), BOGUS),
    SequentialLR: () => { const o = sgd(); return new optim.lrScheduler.SequentialLR(o, [new optim.lrScheduler.StepLR(o, 1)], [], BOGUS); },
    OneCycleLR: () => new optim.lrScheduler.OneCycleLR(sgd(), 0.1, BOGUS),
  },
  transforms: {
    Compose: () => new T.Compose([], BOGUS), RandomApply: () => new T.RandomApply([], BOGUS), RandomChoice: () => new T.RandomChoice([new T.RandomInvert()], BOGUS),
    RandomOrder: () => new T.RandomOrder([], BOGUS), Resize: () => new T.Resize(4, BOGUS), CenterCrop: () => new T.CenterCrop(4, BOGUS),
    Pad: () => new T.Pad(1, BOGUS), RandomCrop: () => new T.RandomCrop(4, BOGUS), RandomResizedCrop: () => new T.RandomResizedCrop(4, BOGUS),
    RandomHorizontalFlip: () => new T.RandomHorizontalFlip(BOGUS), RandomVerticalFlip: () => new T.RandomVerticalFlip(BOGUS),
    RandomRotation: () => new T.RandomRotation(10, BOGUS), RandomAffine: () => new T.RandomAffine(10, BOGUS), RandomPerspective: () => new T.RandomPerspective(BOGUS),
    ToTensor: () => new T.ToTensor(BOGUS), ToDtype: () => new T.ToDtype("float32", BOGUS), ConvertImageDtype: () => new T.ConvertImageDtype("float32", BOGUS),
    Normalize: () => new T.Normalize([0], [1], BOGUS), Grayscale: () => new T.Grayscale(BOGUS), ColorJitter: () => new T.ColorJitter(BOGUS),
    RandomGrayscale: () => new T.RandomGrayscale(BOGUS), RandomInvert: () => new T.RandomInvert(BOGUS), RandomPosterize: () => new T.RandomPosterize(4, BOGUS),
    RandomSolarize: () => new T.RandomSolarize(128, BOGUS), RandomAdjustSharpness: () => new T.RandomAdjustSharpness(2, BOGUS),
    RandomAutocontrast: () => new T.RandomAutocontrast(BOGUS), RandomEqualize: () => new T.RandomEqualize(BOGUS), GaussianBlur: () => new T.GaussianBlur(3, BOGUS),
    RandomErasing: () => new T.RandomErasing(BOGUS), AutoAugment: () => new T.AutoAugment(BOGUS), RandAugment: () => new T.RandAugment(BOGUS),
    TrivialAugmentWide: () => new T.TrivialAugmentWide(BOGUS), MixUp: () => new T.MixUp(BOGUS), CutMix: () => new T.CutMix(BOGUS),
  },
  "transforms.functional": {
    resize: () => T.functional.resize(img(), 4, BOGUS), resizedCrop: () => T.functional.resizedCrop(img(), 0, 0, 4, 4, 4, BOGUS),
    pad: () => T.functional.pad(img(), 1, BOGUS), rotate: () => T.functional.rotate(fimg(), 10, BOGUS),
    affine: () => T.functional.affine(fimg(), 10, [0, 0], 1, 0, BOGUS),
    perspective: () => T.functional.perspective(fimg(), [[0, 0], [7, 0], [7, 7], [0, 7]], [[0, 0], [7, 0], [7, 7], [0, 7]], BOGUS),
    affineBatch: () => T.functional.affineBatch(fimg().unsqueeze(0), [[1, 0, 0, 0, 1, 0]], BOGUS),
    perspectiveBatch: () => T.functional.perspectiveBatch(fimg().unsqueeze(0), [[1, 0, 0, 0, 1, 0, 0, 0]], BOGUS),
    normalize: () => T.functional.normalize(fimg(), [0], [1], BOGUS), erase: () => T.functional.erase(fimg(), 0, 0, 2, 2, 0, BOGUS),
    toDtype: () => T.functional.toDtype(img(), "float32", BOGUS),
  },
  datasets: {
    ImageFolder: () => new datasets.ImageFolder(path.join(dir, "folder"), BOGUS),
    CIFAR10: () => new datasets.CIFAR10(dir, BOGUS), BananaDetection: () => new datasets.BananaDetection(dir, BOGUS),
    CocoDetection: () => new datasets.CocoDetection({ root: dir, annFile: "x.json", ...(BOGUS as object) }),
    VOCSegmentation: () => new datasets.VOCSegmentation({ root: dir, ...(BOGUS as object) }),
    VOCDetection: () => new datasets.VOCDetection({ root: dir, ...(BOGUS as object) }),
    loadFashionMnist: () => datasets.loadFashionMnist(BOGUS),
    makeBananas: () => datasets.makeBananas({ out: path.join(dir, "b"), ...(BOGUS as object) }),
    makeShapes: () => datasets.makeShapes({ out: path.join(dir, "s"), ...(BOGUS as object) }),
  },
  utils: {
    makeGrid: () => utils.makeGrid([img()], BOGUS), saveImage: () => utils.saveImage([img()], path.join(dir, "g.png"), BOGUS),
    drawBoundingBoxes: () => utils.drawBoundingBoxes(img(), [[0, 0, 2, 2]], BOGUS),
    drawSegmentationMasks: () => utils.drawSegmentationMasks(img(), torch.zeros([1, 8, 8], { dtype: "bool" }), BOGUS),
    colorizeLabelMap: () => utils.colorizeLabelMap(torch.zeros([8, 8], { dtype: "int64" }), BOGUS),
  },
  models: {
    resnet18: () => models.resnet18(BOGUS), resnet34: () => models.resnet34(BOGUS), resnet50: () => models.resnet50(BOGUS),
    vgg11: () => models.vgg11(BOGUS), vgg11Bn: () => models.vgg11Bn(BOGUS), vgg16: () => models.vgg16(BOGUS), vgg16Bn: () => models.vgg16Bn(BOGUS),
    vgg19: () => models.vgg19(BOGUS), vgg19Bn: () => models.vgg19Bn(BOGUS), resnet18Small: () => models.resnet18Small(10, BOGUS),
    ResNet: () => new models.ResNet(models.BasicBlock, [1, 1, 1, 1], BOGUS), BasicBlock: () => new models.BasicBlock(4, 4, 1, null, BOGUS),
    Bottleneck: () => new models.Bottleneck(16, 4, 1, null, BOGUS), Residual: () => new models.Residual(4, 4, BOGUS),
    VGG: () => new models.VGG(new nn.Sequential(), BOGUS), makeLayers: () => models.makeLayers([4], BOGUS),
    get: () => models.get("resnet18", BOGUS), list: () => models.list(BOGUS),
    register: () => models.register("conformance-probe", models.info("resnet18") as never, BOGUS),
  },
};

// What the walk does not call, and why.
const SKIPPED: Record<string, Record<string, string>> = {
  F: {
    linear: "positional only (input, weight, bias), as PyTorch's", sigmoid: "takes only the input", tanh: "takes only the input",
    adaptiveAvgPool2d: "positional only (input, outputSize)", oneHot: "positional only (tensor, numClasses)",
    implicitSoftmaxDim: "an internal helper of nn.Softmax (takes a number)",
  },
  nn: {
    Module: "the abstract base; takes no arguments", Parameter: "wraps a tensor; takes no options (requiresGrad is positional, as PyTorch's)",
    isParameter: "a predicate", Sequential: "takes modules only", ModuleList: "takes modules only", ModuleDict: "takes modules only",
    clipGradValue_: "positional only (parameters, clipValue), as PyTorch's",
  },
  "nn.init": {
    calculateGain: "positional only", calculateFanInAndFanOut: "positional only", constant_: "positional only (tensor, value)",
    zeros_: "takes only the tensor", ones_: "takes only the tensor",
    bilinearKernel: "positional only (inChannels, outChannels, kernelSize), as the book's bilinear_kernel",
  },
  optim: {
    Optimizer: "the abstract base (subclasses pass their defaults)", AdamBase: "the abstract base of Adam and AdamW",
    flattenStateDict: "takes a state dict only", unflattenStateDict: "takes a state dict only",
  },
  "optim.lrScheduler": { LRScheduler: "the abstract base" },
  transforms: {
    Transform: "the abstract base", RandomTransform: "the abstract base",
    RandomIoUCrop: "classes/detection.ts: owned by the boxes work, checked there later",
    RandomZoomOut: "classes/detection.ts: owned by the boxes work", SanitizeBoundingBoxes: "classes/detection.ts: owned by the boxes work",
    ClampBoundingBoxes: "classes/detection.ts: owned by the boxes work", ConvertBoundingBoxFormat: "classes/detection.ts: owned by the boxes work",
    BoundingBoxes: "target.ts: owned by the boxes work", boundingBoxes: "target.ts: owned by the boxes work",
    convertBoxFormat: "target.ts: owned by the boxes work", parseTransforms: "spec.ts: a string parser, owned by the robustness work",
    setBatchChunkSize: "takes one number", setPerSample: "takes a transform and a boolean",
  },
  "transforms.functional": Object.fromEntries([
    "hflip", "vflip", "crop", "centerCrop", "resizedOutputSize", "affineMatrix", "perspectiveCoeffs", "affineOutputSize", "rotateMatrix",
    "affineImageMatrix", "resizedCropBatch", "cropBatch", "adjustBrightness", "adjustContrast", "adjustSaturation", "adjustHue", "adjustGamma",
    "adjustSharpness", "rgbToGrayscale", "autocontrast", "equalize", "posterize", "solarize", "invert", "convertImageDtype", "blend",
    "eraseBatch", "gaussianBlur", "gaussianBlurBatch",
  ].map((name) => [name, "positional only, as torchvision's"])),
  datasets: {
    drawBananaImage: "the generator's internal per-image painter (all fields required)", drawShapesImage: "the generator's internal per-image painter",
    encodePalettePng: "positional only", imageSizeFromHeader: "takes a file", parseBananaCsv: "positional only", parseVocAnnotation: "positional only",
    parseXml: "takes a string", readIdx: "takes a file", vocPalette: "no arguments",
    vocLabelIndices: "voc.ts: owned by the robustness work (only the constructors' checks are here)",
  },
  utils: {
    defaultPalette: "takes a count", drawText: "positional only", measureText: "positional only", parseColor: "positional only", renderText: "positional only",
  },
  models: {
    FeatureExtractor: "positional only (model, returnNodes)", IntermediateLayerGetter: "positional only (model, returnLayers)",
    createFeatureExtractor: "positional only", describeModels: "no arguments", getPreset: "takes a name", info: "takes a name",
    listModels: "no arguments", makeNorm: "positional only",
  },
};

const NAMESPACES: Record<string, object> = {
  "torch (creation)": creation, F,
  nn, "nn.init": nn.init, optim, "optim.lrScheduler": optim.lrScheduler, transforms: T, "transforms.functional": T.functional,
  datasets, utils, models,
};
// Sub-namespaces not walked here, and why.
const SKIPPED_NAMESPACES = {
  "nn.utils": "the same functions as nn.clipGradNorm_ / nn.clipGradValue_, walked under nn",
  "models.detection": "owned by the detection work (tinySsd already rejects unknown options, tests/tiny_ssd.test.ts)",
};

test("every exported function or class is either called with a bogus option or listed as skipped, with a reason", () => {
  assert.ok(Object.keys(SKIPPED_NAMESPACES).length > 0);
  for (const [ns, exported] of Object.entries(NAMESPACES)) {
    const functions = Object.entries(exported).filter(([, v]) => typeof v === "function").map(([k]) => k).sort();
    const covered = new Set([...Object.keys(CALLS[ns] ?? {}), ...Object.keys(SKIPPED[ns] ?? {})]);
    assert.deepEqual(functions.filter((f) => !covered.has(f)), [], `${ns}: exports that the walk neither calls nor skips`);
    assert.deepEqual([...covered].filter((f) => !functions.includes(f)), [], `${ns}: names in the walk that are not exported`);
    for (const name of Object.keys(CALLS[ns] ?? {})) assert.ok(!(name in (SKIPPED[ns] ?? {})), `${ns}.${name} is both called and skipped`);
  }
});

for (const [ns, calls] of Object.entries(CALLS)) {
  test(`${ns}: each function and class rejects an unknown option, naming it`, async () => {
    const failures: string[] = [];
    for (const [name, call] of Object.entries(calls)) {
      let error: unknown;
      try {
        const result = call();
        if (result instanceof Promise) await result;
      } catch (e) { error = e; }
      const e = error as { name?: string; message?: string } | undefined;
      if (!(e?.name === "FlareError" && /unknown option "bogusOption"/.test(e.message ?? "")))
        failures.push(`${ns}.${name}: ${error === undefined ? "did not throw" : `threw ${e?.name}: ${e?.message}`}`);
    }
    assert.deepEqual(failures, []);
  });
}
