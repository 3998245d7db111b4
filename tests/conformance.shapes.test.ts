// Shapes of the API as a PyTorch reader expects them: net[0] on Sequential and
// ModuleList, datasets that take the root first and a Compose (any Transform)
// as their transform, torchvision's targetTransform, and transforms.ToTensor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as torch from "../src/index.js";
import { nn } from "../src/index.js";
import { transforms as T, datasets, writeImage } from "../src/vision/index.js";
import { assertFlareError } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "flare-shapes-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

test("Sequential and ModuleList index as PyTorch's: net[0], net[-1], net[i] = m; out of range is a FlareError, not undefined", () => {
  const net = new nn.Sequential(new nn.Conv2d(1, 6, 5, 1, 2), new nn.ReLU(), new nn.Flatten(), new nn.Linear(6 * 4 * 4, 10));
  assert.ok(net[0] instanceof nn.Conv2d);
  assert.equal(net[0], net.get(0));
  assert.ok(net[-1] instanceof nn.Linear);
  assert.equal((net[0] as nn.Conv2d).weight.shape[0], 6);
  assertFlareError(() => net[4], /^Sequential\.get\(\): index 4 is out of range for a Sequential of length 4$/, "E_INDEX");
  assertFlareError(() => net[-5], /index -5 is out of range/, "E_INDEX");
  net[1] = new nn.Sigmoid();
  assert.ok(net.get(1) instanceof nn.Sigmoid);
  assert.deepEqual([...net.namedParameters()].map(([n]) => n), ["0.weight", "0.bias", "3.weight", "3.bias"]);
  assertFlareError(() => { net[1] = 3 as never; }, /Sequential\.set\(\): module must be a Module/, "E_TYPE");
  assert.equal(net.forward(torch.zeros([2, 1, 4, 4])).shape[1], 10);
  // Other names are untouched: methods, fields, and new properties.
  assert.equal(net.length, 4);
  (net as unknown as { note: string }).note = "x";
  assert.equal((net as unknown as { note: string }).note, "x");
  const list = new nn.ModuleList([new nn.ReLU(), new nn.Tanh()]);
  assert.ok(list[1] instanceof nn.Tanh);
  assertFlareError(() => list[2], /^ModuleList\.get\(\): index 2 is out of range/, "E_INDEX");
});

test("ImageFolder(root, { transform }) with a Compose as the transform (applied to the image); the object form still works; targetTransform", async () => {
  const root = path.join(dir, "folder");
  for (const cls of ["cat", "dog"]) {
    mkdirSync(path.join(root, cls), { recursive: true });
    await writeImage(torch.full([3, 8, 6], 200, { dtype: "uint8" }), path.join(root, cls, "a.png"));
  }
  const ds = new datasets.ImageFolder(root, { transform: new T.Compose([new T.Resize([4, 4]), new T.ToTensor()]), targetTransform: (y: number) => y * 10 });
  const [image, label] = await ds.get(1);
  assert.deepEqual(image.shape, [3, 4, 4]);
  assert.equal(image.dtype, "float32");
  assert.ok(Math.abs(image.max().item() - 200 / 255) < 1e-6);
  assert.equal(label, 10);
  const object = new datasets.ImageFolder({ root });
  assert.deepEqual(object.classes, ["cat", "dog"]);
  assertFlareError(() => new datasets.ImageFolder(root, { root } as never), /^ImageFolder\(\): root given both by position and in the options$/, "E_ARGUMENT");
  assertFlareError(() => new datasets.ImageFolder(root, { transfrom: null } as never), /^ImageFolder\(\): unknown option "transfrom" \(did you mean "transform"\?\)/, "E_ARGUMENT");
  assertFlareError(() => new datasets.ImageFolder(root, { transform: 3 } as never),
    /^ImageFolder\(\): transform must be a function \(image, target\) => \[image, target\] or a transforms\.Transform \(e\.g\. a Compose\), got number 3$/, "E_ARGUMENT");
});

test("BananaDetection(root, { transform: Compose }) moves the boxes with the image", async () => {
  const root = path.join(dir, "bananas");
  mkdirSync(path.join(root, "bananas_train", "images"), { recursive: true });
  await writeImage(torch.zeros([3, 16, 16], { dtype: "uint8" }), path.join(root, "bananas_train", "images", "0.png"));
  writeFileSync(path.join(root, "bananas_train", "label.csv"), "img_name,label,xmin,ymin,xmax,ymax\n0.png,0,2,4,6,8\n");
  const flip = new T.Compose([new T.RandomHorizontalFlip(1), new T.Resize([8, 8])]);
  const ds = new datasets.BananaDetection(root, { transform: flip });
  const [image, target] = await ds.get(0);
  assert.deepEqual(image.shape, [3, 8, 8]);
  // Flipped in a 16-wide image: x ∈ [10, 14]; then halved.
  assert.deepEqual(target.tolist(), [[0, 5, 2, 7, 4]]);
  assertFlareError(() => new datasets.BananaDetection(root, { transform: flip, normalize: true }), /use normalize: false with it/, "E_ARGUMENT");
});

test("transforms.ToTensor: uint8 [C, H, W] or [H, W] → float [0, 1]; sharp's raw HWC pixels; other dtypes unscaled; bad input named", () => {
  const t = new T.ToTensor();
  const x = t.forward(torch.tensor([[[0, 255], [51, 102]]], { dtype: "uint8" }));
  assert.equal(x.dtype, "float32");
  assert.deepEqual(x.tolist(), [[[0, 1], [0.2, 0.4]]].map((c) => c.map((r) => r.map(Math.fround))));
  assert.deepEqual(t.forward(torch.zeros([4, 5], { dtype: "uint8" })).shape, [1, 4, 5]);
  const raw = { data: new Uint8Array([0, 255, 51, 102, 0, 0]), info: { width: 2, height: 1, channels: 3 } };
  const y = t.forward(raw);
  assert.deepEqual(y.shape, [3, 1, 2]);
  assert.deepEqual(y.tolist(), [[[0, 0.4]], [[1, 0]], [[0.2, 0]]].map((c) => c.map((r) => r.map(Math.fround))));
  const f = torch.full([3, 2, 2], 7, { dtype: "float32" });
  assert.equal(t.forward(f).max().item(), 7);
  assertFlareError(() => t.forward({ data: new Uint8Array(5), info: { width: 2, height: 1, channels: 3 } }), /^ToTensor: 5 bytes of data for 1×2×3 pixels \(6 expected\)$/, "E_SHAPE");
  assertFlareError(() => t.forward("img" as never), /^ToTensor: img must be a uint8 image tensor \[C, H, W\] or sharp's raw pixels/, "E_ARGUMENT");
});
