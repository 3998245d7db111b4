// d2l 14.1, "Image Augmentation", in the book's order: flipping (left-right,
// up-down), random crops resized (RandomResizedCrop(200, scale (0.1, 1), ratio
// (0.5, 2))), colour changes (brightness, hue, all four), a composition of them,
// each drawn eight times (the book's apply()), then training with augmentation:
// d2l's ResNet-18 with a random left-right flip on the training images, Adam at
// 1e-3, and the book's loss / train acc / test acc report.
// The book's cat photo and CIFAR-10 are not here: the pictures use the bundled
// chelsea.jpg and the training uses Fashion-MNIST (datasets.CIFAR10 reads CIFAR-10's
// binary batches where they exist). The picture goes to FLARE_EXAMPLE_OUT (default runs/examples/).
//
//   node dist/examples/image_augmentation.js                 # the full network, 60000 images, batch 256, 10 epochs (long on a CPU)
//   FLARE_EXAMPLE_TINY=1 node dist/examples/image_augmentation.js   # width 8, 320 images, batch 32, 2 epochs
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { nn, optim, F } from "../src/index.js";
import { datasets, models, readImage, transforms as T, utils } from "../src/vision/index.js";

type Tensor = torch.Tensor;
const tiny = process.env.FLARE_EXAMPLE_TINY === "1";
const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = process.env.FLARE_EXAMPLE_OUT ?? path.join(root, "runs", "examples");
torch.manualSeed(0);

// 14.1.1: common augmentation methods, each applied to the image eight times.
const img = await readImage(path.join(root, "assets", "images", "chelsea.jpg"), { mode: "rgb" });
/** The book's apply(): the augmentation run numRows·numCols times on the same image. */
function apply(image: Tensor, aug: T.Transform, numRows = 2, numCols = 4): Tensor[] {
  return Array.from({ length: numRows * numCols }, () => T.functional.resize(aug.forward(image), [150, 200]));
}
const shapeAug = new T.RandomResizedCrop([200, 200], { scale: [0.1, 1], ratio: [0.5, 2] });
const colorAug = new T.ColorJitter({ brightness: 0.5, contrast: 0.5, saturation: 0.5, hue: 0.5 });
const demos: [string, T.Transform][] = [
  ["RandomHorizontalFlip()", new T.RandomHorizontalFlip()],
  ["RandomVerticalFlip()", new T.RandomVerticalFlip()],
  ["shape_aug: RandomResizedCrop((200, 200), scale=(0.1, 1), ratio=(0.5, 2))", shapeAug],
  ["ColorJitter(brightness=0.5, contrast=0, saturation=0, hue=0)", new T.ColorJitter({ brightness: 0.5, contrast: 0, saturation: 0, hue: 0 })],
  ["ColorJitter(brightness=0, contrast=0, saturation=0, hue=0.5)", new T.ColorJitter({ brightness: 0, contrast: 0, saturation: 0, hue: 0.5 })],
  ["color_aug: ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.5)", colorAug],
  ["augs: Compose([RandomHorizontalFlip(), color_aug, shape_aug])", new T.Compose([new T.RandomHorizontalFlip(), colorAug, shapeAug])],
];
const rows: Tensor[] = [];
for (const [name, aug] of demos) {
  rows.push(...apply(img, aug, 1, 8));
  console.log(`row ${rows.length / 8}: ${name}`);
}
mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, "image-augmentation.png");
await utils.saveImage(rows, file, { nrow: 8, padding: 2, padValue: 255 });
console.log(`wrote ${file}`);
torch.dispose([...rows, img]);

// 14.1.2: training with image augmentation (a random left-right flip of each training image; none at test time).
const trainAugs = new T.RandomHorizontalFlip({ perSample: true });
const trainSet = datasets.loadFashionMnist({ train: true }), testSet = datasets.loadFashionMnist({ train: false });
const batchSize = tiny ? 32 : 256, numEpochs = tiny ? 2 : 10, limit = tiny ? 320 : Infinity, testLimit = tiny ? 256 : 10_000;

const net = models.resnet18Small(10, { inChannels: 1, width: tiny ? 8 : 64 });
// The book's init_cnn: Xavier-uniform weights for the Linear and Conv2d layers.
for (const m of net.modules()) if (m instanceof nn.Linear || m instanceof nn.Conv2d) nn.init.xavierUniform_(m.weight);
const trainer = new optim.Adam(net.parameters(), { lr: 0.001 });

function evaluateAccuracy(images: Tensor, labels: Tensor): number {
  net.eval();
  let correct = 0;
  for (let first = 0; first < labels.shape[0]; first += batchSize) {
    correct += torch.tidy(() => torch.noGrad(() => {
      const X = images.index(`${first}:${first + batchSize}`).float().div(255), y = labels.index(`${first}:${first + batchSize}`);
      return (net.forward(X) as Tensor).argmax(1).eq(y).sum().item() as number;
    }));
  }
  return correct / labels.shape[0];
}

const [testImages, testLabels] = [testSet.images.index(`:${testLimit}`), testSet.labels.index(`:${testLimit}`)];
const n = Math.min(limit, trainSet.labels.shape[0]);
let seconds = 0, last = { loss: 0, acc: 0 };
for (let epoch = 0; epoch < numEpochs; epoch++) {
  // train_ch13's accumulator: the sum of the loss, correct predictions, examples.
  const metric = [0, 0, 0];
  const order = torch.randperm(trainSet.labels.shape[0]);
  net.train();
  const start = Date.now();
  for (let first = 0; first + batchSize <= n; first += batchSize) {
    torch.tidy(() => {
      const index = order.index(`${first}:${first + batchSize}`);
      const X = trainAugs.forward(trainSet.images.indexSelect(0, index)).float().div(255), y = trainSet.labels.indexSelect(0, index);
      const pred = net.forward(X) as Tensor;
      const l = F.crossEntropy(pred, y, { reduction: "none" });
      trainer.zeroGrad();
      l.sum().backward();
      trainer.step();
      metric[0] += l.sum().item() as number; metric[1] += pred.argmax(1).eq(y).sum().item() as number; metric[2] += y.shape[0];
    });
  }
  seconds += (Date.now() - start) / 1000;
  order.dispose();
  last = { loss: metric[0] / metric[2], acc: metric[1] / metric[2] };
  console.log(`epoch ${epoch + 1}: loss ${last.loss.toFixed(3)}, train acc ${last.acc.toFixed(3)}`);
}
console.log(`loss ${last.loss.toFixed(3)}, train acc ${last.acc.toFixed(3)}, test acc ${evaluateAccuracy(testImages, testLabels).toFixed(3)}`);
console.log(`${(Math.floor(n / batchSize) * batchSize * numEpochs / seconds).toFixed(1)} examples/sec on cpu`);
torch.dispose([testImages, testLabels, trainSet.images, trainSet.labels, testSet.images, testSet.labels]);
net.dispose();
trainer.dispose();
