// flare/vision so far: d2l's small ResNet-18 and the Fashion-MNIST IDX reader.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { models, datasets } from "../src/vision/index.js";
import { assertFlareError } from "./helpers.js";

test("resnet18Small has d2l's structure: state-dict keys, parameter count, output shape", () => torch.tidy(() => {
  const net = models.resnet18Small(10, { width: 8 });
  const keys = [...net.stateDict().keys()];
  // Counted from d2l's PyTorch resnet18 with the same width (bench/torch_side.py).
  assert.equal(keys.length, 127);
  assert.deepEqual(keys.slice(0, 8), ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked", "3.0.conv1.weight"]);
  assert.deepEqual(keys.slice(-4), ["6.1.bn2.running_var", "6.1.bn2.num_batches_tracked", "9.weight", "9.bias"]);
  assert.equal(net.parameters().reduce((n, p) => n + p.numel(), 0), 176634);
  assert.deepEqual(net.forward(torch.randn([2, 1, 28, 28])).shape, [2, 10]);
  net.eval();
  assert.deepEqual(net.forward(torch.randn([1, 1, 32, 32])).shape, [1, 10]);
  net.dispose();
}));

function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08; header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

test("loadFashionMnist reads IDX files (gzipped or not) in the real layout", () => torch.tidy(() => {
  const root = mkdtempSync(path.join(tmpdir(), "fmnist-"));
  const pixels = Uint8Array.from({ length: 3 * 28 * 28 }, (_, i) => i % 251);
  writeFileSync(path.join(root, "t10k-images-idx3-ubyte.gz"), gzipSync(idx([3, 28, 28], pixels)));
  writeFileSync(path.join(root, "t10k-labels-idx1-ubyte"), idx([3], Uint8Array.from([9, 0, 4])));
  const { images, labels } = datasets.loadFashionMnist({ root, train: false });
  assert.deepEqual(images.shape, [3, 1, 28, 28]);
  assert.equal(images.dtype, "uint8");
  assert.equal(labels.dtype, "int64");
  assert.deepEqual(labels.tolist(), [9, 0, 4]);
  assert.equal(images.index(1, 0, 0, 5).item(), (784 + 5) % 251);

  writeFileSync(path.join(root, "train-images-idx3-ubyte"), idx([2, 28, 28], pixels.subarray(0, 2 * 784)));
  writeFileSync(path.join(root, "train-labels-idx1-ubyte"), idx([3], Uint8Array.from([1, 2, 3])));
  assertFlareError(() => datasets.loadFashionMnist({ root }), /2 images but 3 labels/, "E_FORMAT");
  writeFileSync(path.join(root, "train-images-idx3-ubyte"), idx([2, 28, 28], pixels.subarray(0, 100)));
  assertFlareError(() => datasets.readIdx(path.join(root, "train-images-idx3-ubyte")), /IDX data has 100 bytes, the header says 1568/, "E_FORMAT");
  writeFileSync(path.join(root, "bad"), Buffer.from([1, 2, 3, 4, 5]));
  assertFlareError(() => datasets.readIdx(path.join(root, "bad")), /bad: not an IDX file/, "E_FORMAT");
  assertFlareError(() => datasets.loadFashionMnist({ root: path.join(root, "nowhere") }), /train-images-idx3-ubyte\(\.gz\) not found/, "E_IO");
}));

test("the Debian Fashion-MNIST test split has its known first labels", { skip: !existsSync(datasets.FASHION_MNIST_ROOT) && "dataset-fashion-mnist is not installed" }, () => torch.tidy(() => {
  const { images, labels } = datasets.loadFashionMnist({ train: false });
  assert.deepEqual(images.shape, [10000, 1, 28, 28]);
  assert.deepEqual(labels.index(":10").tolist(), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  assert.equal(images.index(0).sum().item(), 33456);
}));
