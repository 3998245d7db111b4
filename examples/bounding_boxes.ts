// d2l 14.3, "Object Detection and Bounding Boxes": boxes as corners
// (x1, y1, x2, y2) and as centre, width and height; the book's two conversions
// written out, checked against ops.boxConvert, the round trip, and the boxes
// drawn on a picture. The book's catdog.jpg is not here: the conversions use its
// dog and cat boxes (numbers only), and the picture is the bundled chelsea.jpg
// with a box around the cat. The picture goes to FLARE_EXAMPLE_OUT (default runs/examples/).
//
//   node dist/examples/bounding_boxes.js
//   FLARE_EXAMPLE_TINY=1 node dist/examples/bounding_boxes.js   # the same (nothing to make smaller)
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import { ops, readImage, writeImage, utils } from "../src/vision/index.js";

type Tensor = torch.Tensor;
const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = process.env.FLARE_EXAMPLE_OUT ?? path.join(root, "runs", "examples");

/** (upper-left, lower-right) to (centre, width, height). */
function boxCornerToCenter(boxes: Tensor): Tensor {
  const [x1, y1, x2, y2] = [0, 1, 2, 3].map((k) => boxes.select(1, k));
  const cx = x1.add(x2).div(2), cy = y1.add(y2).div(2);
  const w = x2.sub(x1), h = y2.sub(y1);
  return torch.stack([cx, cy, w, h], -1);
}

/** (centre, width, height) to (upper-left, lower-right). */
function boxCenterToCorner(boxes: Tensor): Tensor {
  const [cx, cy, w, h] = [0, 1, 2, 3].map((k) => boxes.select(1, k));
  const x1 = cx.sub(w.mul(0.5)), y1 = cy.sub(h.mul(0.5));
  const x2 = cx.add(w.mul(0.5)), y2 = cy.add(h.mul(0.5));
  return torch.stack([x1, y1, x2, y2], -1);
}

torch.tidy(() => {
  // The book's boxes on its 561×728 catdog.jpg; x and y are pixels from the top-left corner.
  const dogBbox = [60.0, 45.0, 378.0, 516.0], catBbox = [400.0, 112.0, 655.0, 493.0];
  const boxes = torch.tensor([dogBbox, catBbox]);
  const centers = boxCornerToCenter(boxes);
  console.log(`box_corner_to_center(boxes) = ${centers}`);
  console.log(`ops.boxConvert(boxes, "xyxy", "cxcywh") agrees: ${centers.eq(ops.boxConvert(boxes, "xyxy", "cxcywh")).all().item() ? "True" : "False"}`);
  console.log(`box_center_to_corner(box_corner_to_center(boxes)) == boxes: ${boxCenterToCorner(centers).eq(boxes)}`);
});

// Drawing: the cat's head and its eyes in chelsea.jpg (451×300), boxes chosen by eye.
const img = await readImage(path.join(root, "assets", "images", "chelsea.jpg"), { mode: "rgb" });
console.log(`image: ${img.shape[2]}×${img.shape[1]} (width×height)`);
const catInChelsea = torch.tensor([[30, 4, 395, 297], [130, 80, 345, 168]]);
const drawn = utils.drawBoundingBoxes(img, catInChelsea, { labels: ["cat", "eyes"], colors: ["blue", "red"], width: 2, fontSize: 20 });
mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, "bounding-boxes.png");
await writeImage(drawn, file);
console.log(`wrote ${file}`);
torch.dispose([img, catInChelsea, drawn]);
