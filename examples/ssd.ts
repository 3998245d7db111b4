// d2l 14.7, "Single Shot Multibox Detection", in the book's order: the class
// and box predictors and how predictions of several scales are concatenated,
// the down-sampling block and base network (their output shapes), TinySSD's
// five scales (5444 anchors for a 256×256 image), then training on the banana
// data with the book's loop (multibox_target, calc_loss, SGD lr 0.2, weight decay
// 5e-4) and predicting with multibox_detection. The building blocks are flare's
// (models.detection.*: the book's code); the loop is written out here.
// The bananas are generated (the book downloads them); the prediction picture
// goes to FLARE_EXAMPLE_OUT (default runs/examples/).
//
//   node dist/examples/ssd.js [BANANAS_DIR]             # 1000 images of 256², batch 32, 20 epochs (the book's; long on a CPU)
//   FLARE_EXAMPLE_TINY=1 node dist/examples/ssd.js      # 16 images of 128², batch 8, 3 epochs
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { data, nn, optim } from "../src/index.js";
import { datasets, models, ops, readImage, utils } from "../src/vision/index.js";

type Tensor = torch.Tensor;
const { clsPredictor, bboxPredictor, concatPreds, downSampleBlk, baseNet, tinySsd, calcLoss, clsEval, bboxEval } = models.detection;
const tiny = process.env.FLARE_EXAMPLE_TINY === "1";
const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = process.env.FLARE_EXAMPLE_OUT ?? path.join(root, "runs", "examples");
torch.manualSeed(0);

const shape = (t: Tensor) => `[${t.shape.join(", ")}]`;
/** Python's "{:.2e}": two exponent digits (3.27e-03). */
const sci = (v: number) => v.toExponential(2).replace(/e([+-])(\d)$/, "e$10$2");
const forward = (x: Tensor, block: nn.Module) => block.forward(x) as Tensor;

// 14.7.1: predictions at two scales have different shapes; flattened channels-last, they concatenate.
torch.tidy(() => torch.noGrad(() => {
  const Y1 = forward(torch.zeros([2, 8, 20, 20]), clsPredictor(8, 5, 10));
  const Y2 = forward(torch.zeros([2, 16, 10, 10]), clsPredictor(16, 3, 10));
  console.log(`Y1.shape = ${shape(Y1)}, Y2.shape = ${shape(Y2)}`);
  console.log(`bbox_predictor(8, 5) on [2, 8, 20, 20]: ${shape(forward(torch.zeros([2, 8, 20, 20]), bboxPredictor(8, 5)))}`);
  console.log(`concat_preds([Y1, Y2]).shape = ${shape(concatPreds([Y1, Y2]))}`);
  console.log(`down_sample_blk(3, 10) on [2, 3, 20, 20]: ${shape(forward(torch.zeros([2, 3, 20, 20]), downSampleBlk(3, 10)))}`);
  console.log(`base_net() on [2, 3, 256, 256]: ${shape(forward(torch.zeros([2, 3, 256, 256]), baseNet()))}`);
  // 14.7.1.6: the whole model on a batch of 256×256 images (two here instead of the book's 32, to save time).
  const net = tinySsd({ numClasses: 1 });
  const [anchors, clsPreds, bboxPreds] = net.forward(torch.zeros([2, 3, 256, 256]));
  console.log(`output anchors: ${shape(anchors)}`);
  console.log(`output class preds: ${shape(clsPreds)}`);
  console.log(`output bbox preds: ${shape(bboxPreds)}`);
  net.dispose();
}));

// 14.7.2: training on the banana data.
const imageSize = tiny ? 128 : 256, count = tiny ? 16 : 1000, batchSize = tiny ? 8 : 32, numEpochs = tiny ? 3 : 20;
let bananaDir = process.argv[2];
if (bananaDir === undefined) {
  const generated = bananaDir = mkdtempSync(path.join(tmpdir(), "flare-ssd-bananas-"));
  process.on("exit", () => rmSync(generated, { recursive: true, force: true }));
  await datasets.makeBananas({ out: bananaDir, count, valCount: tiny ? 4 : 100, size: imageSize, seed: 0 });
}
const asFloat = (image: Tensor, target: Tensor): [Tensor, Tensor] => [image.float(), target];   // images in 0..255, as the book's
const trainSet = new datasets.BananaDetection(bananaDir, { train: true, normalize: true, transform: asFloat });
const trainIter = new data.DataLoader(trainSet, { batchSize, shuffle: true });
const net = tinySsd({ numClasses: 1 });
const trainer = new optim.SGD(net.parameters(), { lr: 0.2, weightDecay: 5e-4 });

let classErr = 0, bboxMae = 0, seconds = 0;
for (let epoch = 0; epoch < numEpochs; epoch++) {
  // The sum of the loss, correct class predictions, class labels, absolute box error, box labels.
  const metric = [0, 0, 0, 0, 0];
  let batches = 0;
  net.train();
  const start = Date.now();
  for await (const [features, target] of trainIter) {
    metric[0] += torch.tidy(() => {
      // Anchors and the predicted classes and offsets; each anchor's label and offset from the ground truth.
      const [anchors, clsPreds, bboxPreds] = net.forward(features);
      const [bboxLabels, bboxMasks, clsLabels] = ops.multiboxTarget(anchors, target);
      const l = calcLoss(clsPreds, clsLabels, bboxPreds, bboxLabels, bboxMasks);
      trainer.zeroGrad();
      l.mean().backward();
      trainer.step();
      metric[1] += clsEval(clsPreds, clsLabels);
      metric[2] += clsLabels.numel();
      metric[3] += bboxEval(bboxPreds, bboxLabels, bboxMasks);
      metric[4] += bboxLabels.numel();
      return l.mean().item() as number;
    });
    batches++;
    torch.dispose([features, target]);
  }
  seconds += (Date.now() - start) / 1000;
  classErr = 1 - metric[1] / metric[2];
  bboxMae = metric[3] / metric[4];
  console.log(`epoch ${epoch + 1}: loss ${(metric[0] / batches).toFixed(4)}, class err ${sci(classErr)}, bbox mae ${sci(bboxMae)}`);
}
console.log(`class err ${sci(classErr)}, bbox mae ${sci(bboxMae)}`);
console.log(`${(count * numEpochs / seconds).toFixed(1)} examples/sec on cpu`);

// 14.7.3: prediction on a validation image; boxes whose confidence is at least 0.9 are drawn.
const X = await readImage(path.join(bananaDir, "bananas_val", "images", "0.png"), { mode: "rgb" });
const output = torch.tidy(() => torch.noGrad(() => {
  net.eval();
  const [anchors, clsPreds, bboxPreds] = net.forward(X.float().unsqueeze(0));
  const clsProbs = clsPreds.softmax(2).permute(0, 2, 1);
  const out = ops.multiboxDetection(clsProbs, bboxPreds, anchors).index(0);
  const rows = (out.select(1, 0).ne(-1)).nonzero().flatten();
  return out.indexSelect(0, rows);   // [class, confidence, x1, y1, x2, y2] of the boxes NMS kept
}));
const threshold = 0.9;
const rows = output.tolist() as number[][];
console.log(`prediction: ${rows.length} boxes kept by NMS, best confidence ${rows.length ? rows[0][1].toFixed(3) : "-"}, ${rows.filter((r) => r[1] >= threshold).length} at or above ${threshold}`);
const shown = rows.filter((r) => r[1] >= threshold);
const drawn = shown.length === 0 ? X.clone() : utils.drawBoundingBoxes(X, shown.map((r) => [r[2] * imageSize, r[3] * imageSize, r[4] * imageSize, r[5] * imageSize]),
  { labels: shown.map((r) => r[1].toFixed(2)), colors: "white", width: 2 });
mkdirSync(outDir, { recursive: true });
await utils.saveImage(drawn, path.join(outDir, "ssd-bananas.png"));
console.log(`wrote ${path.join(outDir, "ssd-bananas.png")}`);
torch.dispose([X, output, drawn]);
net.dispose();
trainer.dispose();
