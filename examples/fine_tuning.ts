// d2l 14.2, "Fine-Tuning", in the book's order: a source model trained on a
// large set, a target model that copies everything but the output layer, a new
// output layer (Xavier-initialised), and training with the copied parameters at
// the learning rate η (params_1x) and the new layer at 10η, against the same
// network trained from scratch.
// Differences, because nothing can be downloaded here: the "ImageNet-pretrained
// ResNet-18" is d2l's small ResNet-18 (narrow) trained here on Fashion-MNIST
// classes 0-4, and the "hot dog" task is telling sneakers (7) from ankle boots (9)
// from few images; the learning rates suit this small body (the book's 5e-5 suits
// ImageNet weights). flare's `flare finetune` and tasks/finetune.ts do the same as
// a command; this is the book's loop.
//
//   node dist/examples/fine_tuning.js                 # width 16, 2 source epochs, 200 target images, 5 epochs
//   FLARE_EXAMPLE_TINY=1 node dist/examples/fine_tuning.js   # width 8, a few source batches, 64 target images, 3 epochs
import * as torch from "../src/index.js";
import { nn, optim, F } from "../src/index.js";
import { datasets, models, transforms } from "../src/vision/index.js";

type Tensor = torch.Tensor;
const tiny = process.env.FLARE_EXAMPLE_TINY === "1";
const width = tiny ? 8 : 16, sourceSteps = tiny ? 20 : Infinity, sourceEpochs = tiny ? 1 : 2;
const perClass = tiny ? 32 : 100, batchSize = tiny ? 16 : 32, numEpochs = tiny ? 3 : 5, testPerClass = tiny ? 100 : 1000;
const HEAD = "9";   // the output layer of d2l's resnet18 (torchvision's is net.fc)
torch.manualSeed(0);

const trainSet = datasets.loadFashionMnist({ train: true }), testSet = datasets.loadFashionMnist({ train: false });
/** The first n images of each class, relabelled 0, 1, ... in the order given. */
function pick(set: { images: Tensor; labels: Tensor }, classes: number[], n: number): [Tensor, Tensor] {
  return torch.tidy(() => {
    const indices = classes.map((c) => set.labels.eq(c).nonzero().flatten().index(`:${n}`));
    const labels = torch.cat(indices.map((index, k) => torch.full([index.shape[0]], k, { dtype: "int64" })));
    return [set.images.indexSelect(0, torch.cat(indices)), labels] as [Tensor, Tensor];
  });
}

// Augmentation as the book's (a random crop resized back, a flip), then normalisation.
const trainAugs = new transforms.Compose([new transforms.RandomResizedCrop(28, { scale: [0.6, 1], perSample: true }), new transforms.RandomHorizontalFlip({ perSample: true })]);
const normalize = (x: Tensor) => x.float().div(255).sub(0.2860).div(0.3530);

/**
 * train_ch13 for a classifier, one SGD step per batch; returns the last epoch's measures. The book
 * backpropagates the batch's summed loss (with its tiny η); the mean here keeps these rates batch-independent.
 */
function train(net: nn.Module, trainer: optim.Optimizer, [images, labels]: [Tensor, Tensor], epochs: number, batchSize: number, maxSteps = Infinity, label = ""): { loss: number; trainAcc: number } {
  let last = { loss: NaN, trainAcc: NaN };
  const n = labels.shape[0];
  for (let epoch = 0; epoch < epochs; epoch++) {
    net.train();
    const order = torch.randperm(n);
    let lossSum = 0, correct = 0, seen = 0;
    for (let first = 0, step = 0; first < n && step < maxSteps; first += batchSize, step++) {
      torch.tidy(() => {
        const index = order.index(`${first}:${first + batchSize}`);
        const X = normalize(trainAugs.forward(images.indexSelect(0, index))), y = labels.indexSelect(0, index);
        const pred = net.forward(X) as Tensor;
        const l = F.crossEntropy(pred, y, { reduction: "none" });
        trainer.zeroGrad();
        l.mean().backward();
        trainer.step();
        lossSum += l.sum().item() as number;
        correct += pred.argmax(1).eq(y).sum().item() as number;
        seen += y.shape[0];
      });
    }
    order.dispose();
    last = { loss: lossSum / seen, trainAcc: correct / seen };
    if (label) console.log(`${label} epoch ${epoch + 1}: loss ${last.loss.toFixed(3)}, train acc ${last.trainAcc.toFixed(3)}`);
  }
  return last;
}

function testAccuracy(net: nn.Module, [images, labels]: [Tensor, Tensor]): number {
  net.eval();
  return torch.tidy(() => torch.noGrad(() => (net.forward(normalize(images)) as Tensor).argmax(1).eq(labels).float().mean().item() as number));
}

// The source model: trained on the source set (classes 0-4), as the book's ImageNet ResNet-18.
const source = pick(trainSet, [0, 1, 2, 3, 4], 6000);
const pretrainedNet = models.resnet18Small(5, { width });
const sourceTrainer = new optim.SGD(pretrainedNet.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 });
const sourceResult = train(pretrainedNet, sourceTrainer, source, sourceEpochs, 64, sourceSteps);
console.log(`source model (Fashion-MNIST classes 0-4): loss ${sourceResult.loss.toFixed(3)}, train acc ${sourceResult.trainAcc.toFixed(3)}`);
console.log(`pretrained_net.fc = ${pretrainedNet.getSubmodule(HEAD)}`);
const sourceWeights = pretrainedNet.stateDict();

// The target set: few images of two new classes, and all the test images of those classes.
const target = pick(trainSet, [7, 9], perClass), targetTest = pick(testSet, [7, 9], testPerClass);
console.log(`target set: ${target[1].shape[0]} training images (sneaker, ankle boot), ${targetTest[1].shape[0]} test images`);

/** The book's train_fine_tuning: with paramGroup, the output layer learns at 10× the rate of the copied layers. */
function trainFineTuning(net: nn.Sequential, learningRate: number, paramGroup: boolean, label: string): void {
  let trainer: optim.SGD;
  if (paramGroup) {
    const params1x = [...net.namedParameters()].filter(([name]) => !name.startsWith(`${HEAD}.`)).map(([, p]) => p);
    trainer = new optim.SGD([{ params: params1x }, { params: net.getSubmodule(HEAD).parameters(), lr: learningRate * 10 }], { lr: learningRate, weightDecay: 0.001 });
  } else {
    trainer = new optim.SGD(net.parameters(), { lr: learningRate, weightDecay: 0.001 });
  }
  const started = Date.now();
  const { loss, trainAcc } = train(net, trainer, target, numEpochs, batchSize, Infinity, label);
  const seconds = (Date.now() - started) / 1000;
  console.log(`${label}: loss ${loss.toFixed(3)}, train acc ${trainAcc.toFixed(3)}, test acc ${testAccuracy(net, targetTest).toFixed(3)}`);
  console.log(`${label}: ${(target[1].shape[0] * numEpochs / seconds).toFixed(1)} examples/sec on cpu`);
  trainer.dispose();
}

// finetune_net: the source model's parameters, a new 2-class output layer with Xavier-uniform weights.
torch.manualSeed(1);
const finetuneNet = models.resnet18Small(5, { width });
finetuneNet.loadStateDict(sourceWeights);
const fc = new nn.Linear(8 * width, 2);
nn.init.xavierUniform_(fc.weight);
const sourceHead = finetuneNet.getSubmodule(HEAD);
finetuneNet.set(Number(HEAD), fc);
sourceHead.dispose();
trainFineTuning(finetuneNet, 0.01, true, "finetune_net");

// scratch_net: the same network from random weights, one learning rate (10× the fine-tuning η, as the book).
torch.manualSeed(1);
const scratchNet = models.resnet18Small(2, { width });
trainFineTuning(scratchNet, 0.1, false, "scratch_net");

torch.dispose([source, target, targetTest, trainSet.images, trainSet.labels, testSet.images, testSet.labels]);
