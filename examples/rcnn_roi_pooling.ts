// d2l 14.8, "Region-based CNNs (R-CNNs)": the section's one computation, Fast
// R-CNN's RoI pooling. A 4×4 feature map X = arange(16), from a 40×40 image
// (spatial scale 0.1), and two regions of interest, each cut into a 2×2 grid of
// sub-windows whose maximum is taken (torchvision.ops.roi_pool = ops.roiPool).
// Mask R-CNN's RoI align (bilinear samples instead of whole pixels) on the same
// regions follows. No data or training, so tiny settings change nothing:
//
//   node dist/examples/rcnn_roi_pooling.js
//   FLARE_EXAMPLE_TINY=1 node dist/examples/rcnn_roi_pooling.js
import * as torch from "../src/index.js";
import { ops } from "../src/vision/index.js";

torch.tidy(() => {
  const X = torch.arange(16).float().reshape(1, 1, 4, 4);
  console.log(`X = ${X}`);
  // Each row: the batch index (the book's text calls it the class), then (x1, y1, x2, y2) in image pixels.
  const rois = torch.tensor([[0, 0, 0, 20, 20], [0, 0, 10, 30, 30]]);
  console.log(`rois = ${rois}`);
  // The regions fall on X[:, :, 0:3, 0:3] and X[:, :, 1:4, 0:4]; each becomes 2×2 maxima.
  console.log(`roi_pool(X, rois, output_size=(2, 2), spatial_scale=0.1) = ${ops.roiPool(X, rois, [2, 2], { spatialScale: 0.1 })}`);
  // RoI align (Mask R-CNN) keeps the regions' fractional edges and averages bilinear samples.
  console.log(`roi_align(X, rois, output_size=(2, 2), spatial_scale=0.1) = ${ops.roiAlign(X, rois, [2, 2], { spatialScale: 0.1, samplingRatio: 2 })}`);
});
