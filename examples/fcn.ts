// d2l 14.11, "Fully Convolutional Networks", in the book's order: a ResNet-18
// without its global pool and fc (a 320×480 input comes out as 512×10×15), a
// 1×1 convolution to the classes, a transposed convolution (kernel 64, stride
// 32, padding 16) initialised to bilinear upsampling (bilinear_kernel, shown
// doubling a photo), training with per-pixel cross entropy, and prediction
// coloured with the class palette.
// Differences, because nothing can be downloaded here: the body starts from
// random weights (the book's is ImageNet-pretrained), the data is flare's
// generated shapes set in VOC's layout (5 shape classes + background; 255 marks
// the ignored outlines, as VOC's borders), and the optimizer is Adam at 1e-3
// (from scratch it learns in far fewer steps than the book's SGD at 1e-3, which
// fine-tunes a pretrained body; README: "Semantic segmentation"). Pictures go to
// FLARE_EXAMPLE_OUT (default runs/examples/).
//
//   node dist/examples/fcn.js                # 500 images of 160², batch 16, 5 epochs (minutes on a CPU)
//   FLARE_EXAMPLE_TINY=1 node dist/examples/fcn.js   # 8 images of 64², batch 4, 3 epochs
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { data, nn, optim, F } from "../src/index.js";
import { datasets, models, readImage, utils, transforms } from "../src/vision/index.js";

type Tensor = torch.Tensor;
const tiny = process.env.FLARE_EXAMPLE_TINY === "1";
const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = process.env.FLARE_EXAMPLE_OUT ?? path.join(root, "runs", "examples");
mkdirSync(outDir, { recursive: true });
torch.manualSeed(0);

// 14.11.1: the model. The last three children of ResNet-18 are layer4, the global pool and fc.
const pretrainedNet = models.resnet18();   // random weights; the book loads ImageNet's
console.log(`last children: ${[...pretrainedNet.namedChildren()].slice(-3).map(([name]) => name).join(", ")}`);
const net = new nn.Sequential(...[...pretrainedNet.children()].slice(0, -2));
torch.tidy(() => torch.noGrad(() => {
  console.log(`net(X).shape for X of [1, 3, 320, 480]: [${(net.forward(torch.rand([1, 3, 320, 480])) as Tensor).shape.join(", ")}]`);
}));
const classes = datasets.SHAPE_CLASSES;
const numClasses = classes.length;
net.addModule("final_conv", new nn.Conv2d(512, numClasses, 1));
net.addModule("transpose_conv", new nn.ConvTranspose2d(numClasses, numClasses, 64, { padding: 16, stride: 32 }));

// 14.11.2: bilinear_kernel makes a transposed convolution double an image by bilinear interpolation.
const convTrans = new nn.ConvTranspose2d(3, 3, 4, { padding: 1, stride: 2, bias: false });
torch.noGrad(() => { convTrans.weight.copy_(nn.init.bilinearKernel(3, 3, 4)); });
const photo = await readImage(path.join(root, "assets", "images", "chelsea.jpg"), { mode: "rgb" });
const upsampled = torch.tidy(() => torch.noGrad(() => {
  const X = photo.float().div(255).unsqueeze(0);   // ToTensor, with a batch dimension
  const Y = convTrans.forward(X);
  console.log(`input image shape: [${X.index(0).permute(1, 2, 0).shape.join(", ")}]`);
  console.log(`output image shape: [${Y.index(0).permute(1, 2, 0).shape.join(", ")}]`);
  return Y.index(0).clamp(0, 1).mul(255).to("uint8");
}));
await utils.saveImage(upsampled, path.join(outDir, "fcn-bilinear-x2.png"));
torch.dispose([photo, upsampled]);
convTrans.dispose();
const transposeConv = net.getSubmodule("transpose_conv") as nn.ConvTranspose2d;
torch.noGrad(() => { transposeConv.weight.copy_(nn.init.bilinearKernel(numClasses, numClasses, 64)); });

// 14.11.3: data. The generated shapes set, in VOC's layout, read as the book's VOCSegDataset (normalised images).
const size = tiny ? 64 : 160, batchSize = tiny ? 4 : 16, numEpochs = tiny ? 3 : 5;
const vocDir = mkdtempSync(path.join(tmpdir(), "flare-fcn-shapes-"));
process.on("exit", () => rmSync(vocDir, { recursive: true, force: true }));
await datasets.makeShapes({ out: vocDir, count: tiny ? 8 : 500, valCount: tiny ? 4 : 50, size, seed: 0 });
const normalize = new transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
const normalized = (image: Tensor, labels: Tensor): [Tensor, Tensor] => [torch.tidy(() => normalize.forward(image.float().div(255))), labels];
const trainIter = new data.DataLoader(new datasets.VOCSegmentation({ root: vocDir, imageSet: "train", transform: normalized }), { batchSize, shuffle: true, dropLast: true });
const testIter = new data.DataLoader(new datasets.VOCSegmentation({ root: vocDir, imageSet: "val", transform: normalized }), { batchSize, dropLast: true });

/** The book's loss: per-pixel cross entropy, averaged over each image's pixels (ignored outline pixels count 0). */
function loss(inputs: Tensor, targets: Tensor): Tensor {
  return F.crossEntropy(inputs, targets, { reduction: "none", ignoreIndex: 255 }).mean(1).mean(1);
}

/** Correct pixels and labelled pixels (outlines left out), d2l's accuracy for segmentation. */
function accuracy(logits: Tensor, y: Tensor): [number, number] {
  return torch.tidy(() => {
    const labelled = y.ne(255);
    return [logits.argmax(1).eq(y).logicalAnd(labelled).sum().item() as number, labelled.sum().item() as number];
  });
}

async function evaluateAccuracy(): Promise<number> {
  net.eval();
  let correct = 0, total = 0;
  for await (const [X, y] of testIter) {
    const [c, t] = torch.tidy(() => torch.noGrad(() => accuracy(net.forward(X) as Tensor, y)));
    correct += c; total += t;
    torch.dispose([X, y]);
  }
  return correct / total;
}

const trainer = new optim.Adam(net.parameters(), { lr: 1e-3 });
const started = Date.now();
let examples = 0;
for (let epoch = 0; epoch < numEpochs; epoch++) {
  // The sum of the loss, examples, correct pixels, labelled pixels (train_ch13's accumulator).
  const metric = [0, 0, 0, 0];
  net.train();
  for await (const [X, y] of trainIter) {
    torch.tidy(() => {
      const pred = net.forward(X) as Tensor;
      const l = loss(pred, y);
      trainer.zeroGrad();
      l.sum().backward();
      trainer.step();
      const [c, t] = accuracy(pred.detach(), y);
      metric[0] += l.sum().item() as number; metric[1] += X.shape[0]; metric[2] += c; metric[3] += t;
    });
    torch.dispose([X, y]);
  }
  examples += metric[1];
  const testAcc = await evaluateAccuracy();
  console.log(`epoch ${epoch + 1}: loss ${(metric[0] / metric[1]).toFixed(3)}, train acc ${(metric[2] / metric[3]).toFixed(3)}, test acc ${testAcc.toFixed(3)}`);
}
console.log(`${(examples / ((Date.now() - started) / 1000)).toFixed(1)} examples/sec on cpu`);

// 14.11.4: prediction. Each pixel's most likely class, coloured as the labels (label2image).
const testSet = new datasets.VOCSegmentation({ root: vocDir, imageSet: "val" });
const pictures: Tensor[] = [];
net.eval();
for (let i = 0; i < Math.min(4, testSet.ids.length); i++) {
  const [image, labels] = await testSet.get(i);
  const pred = torch.tidy(() => torch.noGrad(() => (net.forward(normalized(image, labels)[0].unsqueeze(0)) as Tensor).argmax(1).index(0)));
  pictures.push(image, utils.colorizeLabelMap(pred), utils.colorizeLabelMap(labels));
  torch.dispose([pred, labels]);
}
const file = path.join(outDir, "fcn-predictions.png");
await utils.saveImage(pictures, file, { nrow: 3, padding: 4, padValue: 255 });
console.log(`wrote ${file}`);
torch.dispose(pictures);
net.dispose();   // pretrainedNet's body is net's now; the rest is freed with the process
trainer.dispose();
