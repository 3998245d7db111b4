// d2l 14.12, "Neural Style Transfer", in the book's order: pre- and
// postprocessing (ImageNet normalisation), VGG-19's first 29 feature modules
// with style layers [0, 5, 10, 19, 28] and content layer [25], content loss,
// Gram matrices and style loss, total variation loss (weights 1, 1e4, 10), and
// the synthesised image (a module whose parameter is the image, starting from
// the content image) optimised with Adam (lr 0.3, × 0.8 every 50 epochs).
// Differences: the book loads ImageNet's VGG-19 weights, which cannot be
// downloaded here. Given torchvision's vgg19 weights as safetensors, this is the
// book's network; without them, the features come from flare's network of fixed
// random filters (style.RandomStyleFeatures, what `flare stylize` uses without
// weights: VGG-19's features with its random initial weights measure almost no
// style, the style loss ~1e-4 against TV's ~1). The photos are the bundled
// chelsea.jpg (content) and brick.jpg (style). The result goes to
// FLARE_EXAMPLE_OUT (default runs/examples/).
//
//   node dist/examples/style_transfer.js [vgg19.safetensors]   # 300×450, 500 epochs (the book's; long on a CPU)
//   FLARE_EXAMPLE_TINY=1 node dist/examples/style_transfer.js  # 75×112, 20 epochs
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { nn, optim } from "../src/index.js";
import { models, readImage, utils, style } from "../src/vision/index.js";

type Tensor = torch.Tensor;
const tiny = process.env.FLARE_EXAMPLE_TINY === "1";
const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = process.env.FLARE_EXAMPLE_OUT ?? path.join(root, "runs", "examples");
torch.manualSeed(0);

const contentImg = await readImage(path.join(root, "assets", "images", "chelsea.jpg"), { mode: "rgb" });
const styleImg = await readImage(path.join(root, "assets", "images", "brick.jpg"), { mode: "rgb" });
const imageShape: [number, number] = tiny ? [75, 112] : [300, 450];
const [numEpochs, lrDecayEpoch, every] = tiny ? [20, 10, 5] : [500, 50, 10];

// 14.12.4: the feature extractor, VGG-19's features up to the last layer used.
const styleLayers = [0, 5, 10, 19, 28], contentLayers = [25];
const weights = process.argv[2];
let net: nn.Sequential | undefined;
if (weights !== undefined) {
  const pretrainedNet = models.vgg19();
  pretrainedNet.loadStateDict(torch.load(weights));
  net = new nn.Sequential(...pretrainedNet.features.children().slice(0, Math.max(...contentLayers, ...styleLayers) + 1));
  for (const p of net.parameters()) p.requiresGrad_(false);
  net.eval();
}
const randomFeatures = weights === undefined ? new style.RandomStyleFeatures() : undefined;
console.log(`features: ${net ? `VGG-19 from ${weights}, style layers ${styleLayers}, content layers ${contentLayers}` : randomFeatures!.description}`);

/**
 * The book's extract_features: the outputs of the content and style layers. torchvision's ReLUs work in
 * place, so what the book keeps after conv 0, 5, 10, 19 and 25 is overwritten by the ReLU that follows:
 * those are taken after their ReLU here; conv 28 is the last module, so it stays before its ReLU.
 */
function extractFeatures(X: Tensor): [Tensor[], Tensor[]] {
  if (!net) {
    const { contents, styles } = randomFeatures!.extract(X);
    return [contents, styles];
  }
  const contents: Tensor[] = [], styles: Tensor[] = [];
  const modules = net.children();
  for (let i = 0; i < modules.length; i++) {
    X = modules[i].forward(X) as Tensor;
    const layer = modules[i] instanceof nn.ReLU ? i - 1 : i === modules.length - 1 ? i : -1;
    if (styleLayers.includes(layer)) styles.push(X);
    if (contentLayers.includes(layer)) contents.push(X);
  }
  return [contents, styles];
}
const gramOptions = { method: randomFeatures?.gramMethod ?? "matmul" } as const;

const contentX = style.preprocess(contentImg, imageShape), styleX = style.preprocess(styleImg, imageShape);
const contentsY = torch.tidy(() => torch.noGrad(() => extractFeatures(contentX)[0]));
const stylesYGram = torch.tidy(() => torch.noGrad(() => extractFeatures(styleX)[1].map((y) => style.gram(y, gramOptions))));

// 14.12.5: the losses, weighted as the book.
const [contentWeight, styleWeight, tvWeight] = [1, 1e4, 10];
function computeLoss(X: Tensor, contentsYHat: Tensor[], stylesYHat: Tensor[]): [Tensor, Tensor, Tensor, Tensor] {
  const contentsL = contentsYHat.map((yHat, i) => style.contentLoss(yHat, contentsY[i]).mul(contentWeight));
  const stylesL = stylesYHat.map((yHat, i) => style.styleLoss(yHat, stylesYGram[i], gramOptions).mul(styleWeight));
  const tvL = style.tvLoss(X).mul(tvWeight);
  const sum = (ls: Tensor[]) => ls.reduce((a, b) => a.add(b));
  const contentL = sum(contentsL), styleL = sum(stylesL);
  return [contentL, styleL, tvL, contentL.add(styleL).add(tvL)];
}

// 14.12.6: the synthesised image starts as the content image; Adam moves its pixels.
const X = new style.SynthesizedImage(contentX);
const trainer = new optim.Adam(X.parameters(), { lr: 0.3 });
const scheduler = new optim.lrScheduler.StepLR(trainer, lrDecayEpoch, { gamma: 0.8 });
const started = Date.now();
for (let epoch = 0; epoch < numEpochs; epoch++) {
  const losses = torch.tidy(() => {
    trainer.zeroGrad();
    const image = X.forward();
    const [contentsYHat, stylesYHat] = extractFeatures(image);
    const [contentL, styleL, tvL, l] = computeLoss(image, contentsYHat, stylesYHat);
    l.backward();
    trainer.step();
    return [contentL, styleL, tvL, l].map((t) => t.item() as number);
  });
  scheduler.step();
  if ((epoch + 1) % every === 0 || epoch === 0) {
    console.log(`epoch ${epoch + 1}: content ${losses[0].toFixed(4)}, style ${losses[1].toFixed(4)}, TV ${losses[2].toFixed(4)}, total ${losses[3].toFixed(4)}`);
  }
}
console.log(`${numEpochs} epochs in ${((Date.now() - started) / 1000).toFixed(1)} s`);

mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, "style-transfer.png");
const result = torch.tidy(() => style.postprocess(X.weight.detach()));
await utils.saveImage(result, file);
console.log(`wrote ${file}`);
torch.dispose([contentImg, styleImg, contentX, styleX, contentsY, stylesYGram, result]);
X.dispose();
trainer.dispose();
net?.dispose();
randomFeatures?.dispose();
