// d2l 14.4, "Anchor Boxes", in the book's order: anchors at every pixel
// (multibox_prior) for the book's 561×728 image, the five anchors of one pixel
// drawn, IoU, labelling anchors with classes and offsets from ground truth
// (multibox_target), and predicting boxes with non-maximum suppression
// (multibox_detection), each printing the book's worked numbers. The book's
// catdog.jpg is not here: its size (561×728) gives the numbers, and the anchors
// are drawn on the bundled chelsea.jpg, into FLARE_EXAMPLE_OUT (default runs/examples/).
//
//   node dist/examples/anchor_boxes.js
//   FLARE_EXAMPLE_TINY=1 node dist/examples/anchor_boxes.js   # the same (nothing to train)
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { ops, readImage, writeImage, utils } from "../src/vision/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = process.env.FLARE_EXAMPLE_OUT ?? path.join(root, "runs", "examples");
const sizes = [0.75, 0.5, 0.25], ratios = [1, 2, 0.5];

// 14.4.1: n + m − 1 = 5 anchors centred on every pixel.
torch.tidy(() => {
  const [h, w] = [561, 728];
  console.log(`${h} ${w}`);
  const X = torch.rand([1, 3, h, w]);
  const Y = ops.multiboxPrior(X, sizes, ratios);
  console.log(`Y.shape = [${Y.shape.join(", ")}]`);
  const boxes = Y.reshape(h, w, 5, 4);
  console.log(`boxes[250, 250, 0, :] = ${boxes.index(250, 250, 0, ":")}`);
});

// The five anchors of one pixel (on the cat's face), in pixels: boxes[y, x, :, :] * bbox_scale.
const img = await readImage(path.join(root, "assets", "images", "chelsea.jpg"), { mode: "rgb" });
const [, imgH, imgW] = img.shape;
const onePixel = torch.tidy(() => {
  const boxes = ops.multiboxPrior(torch.zeros([1, 3, imgH, imgW]), sizes, ratios).reshape(imgH, imgW, 5, 4);
  const bboxScale = torch.tensor([imgW, imgH, imgW, imgH]);
  return boxes.index(140, 190, ":", ":").mul(bboxScale);
});
const drawn = utils.drawBoundingBoxes(img, onePixel, {
  labels: ["s=0.75, r=1", "s=0.5, r=1", "s=0.25, r=1", "s=0.75, r=2", "s=0.75, r=0.5"],
  colors: ["blue", "green", "red", "magenta", "cyan"], width: 2,
});
mkdirSync(outDir, { recursive: true });
await writeImage(drawn, path.join(outDir, "anchor-boxes.png"));
console.log(`wrote ${path.join(outDir, "anchor-boxes.png")}`);
torch.dispose([img, onePixel, drawn]);

torch.tidy(() => {
  // 14.4.2–14.4.3: ground truth (class, then corners, normalised to the image) and five anchors.
  const groundTruth = torch.tensor([[0, 0.1, 0.08, 0.52, 0.92], [1, 0.55, 0.2, 0.9, 0.88]]);
  const anchors = torch.tensor([[0, 0.1, 0.2, 0.3], [0.15, 0.2, 0.4, 0.4], [0.63, 0.05, 0.88, 0.98], [0.66, 0.45, 0.8, 0.8], [0.57, 0.3, 0.92, 0.9]]);
  console.log(`box_iou(anchors, ground_truth[:, 1:]) = ${ops.boxIou(anchors, groundTruth.index(":", "1:"))}`);
  const labels = ops.multiboxTarget(anchors.unsqueeze(0), groundTruth.unsqueeze(0));
  console.log(`labels[2] = ${labels[2]}`);
  console.log(`labels[1] = ${labels[1]}`);
  console.log(`labels[0] = ${labels[0]}`);

  // 14.4.4: four predicted boxes (offsets all zero), their class probabilities, and NMS.
  const nmsAnchors = torch.tensor([[0.1, 0.08, 0.52, 0.92], [0.08, 0.2, 0.56, 0.95], [0.15, 0.3, 0.62, 0.91], [0.55, 0.2, 0.9, 0.88]]);
  const offsetPreds = torch.zeros([nmsAnchors.numel()]);
  const clsProbs = torch.tensor([[0, 0, 0, 0], [0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.9]]);  // background, dog, cat
  const output = ops.multiboxDetection(clsProbs.unsqueeze(0), offsetPreds.unsqueeze(0), nmsAnchors.unsqueeze(0), { nmsThreshold: 0.5 });
  console.log(`output = ${output}`);
  for (const [classId, conf] of output.index(0).tolist() as number[][]) {
    if (classId === -1) continue;
    console.log(`${["dog=", "cat="][classId]}${conf.toFixed(1)}`);
  }
});
