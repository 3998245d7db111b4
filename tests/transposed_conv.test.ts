// Transposed convolution as d2l 14.10 teaches it: the worked examples (by hand
// and through nn.ConvTranspose2d), padding, stride, channels, the shape round
// trip, the matrix view (F.convMatrix) and the book's bilinear_kernel
// (nn.init.bilinearKernel, against the book's code run by scripts/fixtures/segmentation.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { nn, F } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { assertClose, assertFlareError, loadFixture } from "./helpers.js";

/** The book's trans_conv: Y[i:i+h, j:j+w] += X[i, j] * K. */
function transConv(X: number[][], K: number[][]): number[][] {
  const [h, w] = [K.length, K[0].length];
  const Y = Array.from({ length: X.length + h - 1 }, () => new Array<number>(X[0].length + w - 1).fill(0));
  for (let i = 0; i < X.length; i++) for (let j = 0; j < X[0].length; j++)
    for (let a = 0; a < h; a++) for (let b = 0; b < w; b++) Y[i + a][j + b] += X[i][j] * K[a][b];
  return Y;
}

/** A 1-channel ConvTranspose2d without bias whose weight is K. */
function tconv(K: number[][], options: { padding?: number; stride?: number } = {}): nn.ConvTranspose2d {
  const layer = new nn.ConvTranspose2d(1, 1, 2, { bias: false, ...options });
  torch.noGrad(() => torch.tidy(() => { layer.weight.copy_(torch.tensor(K).reshape(1, 1, 2, 2)); }));
  return layer;
}

const X = [[0, 1], [2, 3]], K = [[0, 1], [2, 3]];
const as4d = (m: number[][]) => torch.tensor(m).reshape(1, 1, m.length, m[0].length);

test("trans_conv by hand: the book's printed 3×3 result", () => {
  assert.deepEqual(transConv(X, K), [[0, 0, 1], [0, 4, 6], [4, 12, 9]]);
});

test("nn.ConvTranspose2d gives the same (no kernel flip)", () => torch.tidy(() => {
  const layer = tconv(K);
  assert.deepEqual(layer.forward(as4d(X)).tolist(), [[[[0, 0, 1], [0, 4, 6], [4, 12, 9]]]]);
  layer.dispose();
}));

test("padding 1 removes the output's outer ring: [[[[4]]]]", () => torch.tidy(() => {
  const layer = tconv(K, { padding: 1 });
  assert.deepEqual(layer.forward(as4d(X)).tolist(), [[[[4]]]]);
  layer.dispose();
}));

test("stride 2 spreads the intermediate results: the book's 4×4", () => torch.tidy(() => {
  const layer = tconv(K, { stride: 2 });
  assert.deepEqual(layer.forward(as4d(X)).tolist(), [[[[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]]]]);
  layer.dispose();
}));

test("output size (n − 1)·s − 2p + k, and several channels: weight (cin, cout, kh, kw)", () => torch.tidy(() => {
  torch.manualSeed(0);
  const layer = new nn.ConvTranspose2d(3, 5, 4, { padding: 1, stride: 2 });
  assert.deepEqual(layer.weight.shape, [3, 5, 4, 4]);
  const x = torch.randn([2, 3, 7, 9]);
  const y = layer.forward(x);
  assert.deepEqual(y.shape, [2, 5, (7 - 1) * 2 - 2 + 4, (9 - 1) * 2 - 2 + 4]);
  // Each output channel sums the per-channel transposed convolutions (as a convolution does).
  const w = layer.weight;
  let sum = layer.bias!.reshape(1, 5, 1, 1);
  for (let c = 0; c < 3; c++) sum = sum.add(F.convTranspose2d(x.narrow(1, c, 1), w.narrow(0, c, 1), null, { padding: 1, stride: 2 }));
  assertClose(y, sum, { atol: 1e-5, what: "multi-channel" });
  layer.dispose();
}));

test("shape round trip: ConvTranspose2d(20→10, k5, p2, s3) undoes Conv2d(10→20, k5, p2, s3)'s shape", () => torch.tidy(() => {
  const f = new nn.Conv2d(10, 20, 5, { padding: 2, stride: 3 }), g = new nn.ConvTranspose2d(20, 10, 5, { padding: 2, stride: 3 });
  const x = torch.rand([1, 10, 16, 16]);
  assert.deepEqual(g.forward(f.forward(x)).shape, x.shape);
  f.dispose(); g.dispose();
}));

test("matrix view: corr2d is W·vec(X), the book's kernel2matrix rows", () => torch.tidy(() => {
  const x = torch.arange(9).float().reshape(3, 3), k = torch.tensor([[1, 2], [3, 4]]).float();
  const y = F.conv2d(x.reshape(1, 1, 3, 3), k.reshape(1, 1, 2, 2)).reshape(2, 2);
  assert.deepEqual(y.tolist(), [[27, 37], [57, 67]]);
  const W = F.convMatrix(k, [3, 3]);
  assert.deepEqual(W.tolist(), [
    [1, 2, 0, 3, 4, 0, 0, 0, 0], [0, 1, 2, 0, 3, 4, 0, 0, 0], [0, 0, 0, 1, 2, 0, 3, 4, 0], [0, 0, 0, 0, 1, 2, 0, 3, 4]]);
  assert.deepEqual(W.matmul(x.reshape(-1)).reshape(2, 2).tolist(), y.tolist());
  // The transposed convolution multiplies by Wᵀ: 4 → 9.
  const z = F.convTranspose2d(y.reshape(1, 1, 2, 2), k.reshape(1, 1, 2, 2)).reshape(3, 3);
  assert.deepEqual(W.t().matmul(y.reshape(-1)).reshape(3, 3).tolist(), z.tolist());
  assert.deepEqual(z.tolist(), transConv(y.tolist() as number[][], [[1, 2], [3, 4]]));
}));

test("matrix view, 16 → 4 and back to 16, with stride and padding too", () => torch.tidy(() => {
  torch.manualSeed(1);
  for (const [shape, ks, o] of [[[4, 4], [3, 3], {}], [[5, 6], [3, 2], { stride: 2 }], [[6, 5], [3, 3], { stride: [2, 1], padding: 1 }]] as const) {
    const k = torch.randn([...ks]), x = torch.randn([...shape]);
    const W = F.convMatrix(k, [...shape] as [number, number], o as never);
    const y = F.conv2d(x.reshape(1, 1, ...shape), k.reshape(1, 1, ...ks), null, o as never);
    assert.deepEqual(W.shape, [y.shape[2] * y.shape[3], shape[0] * shape[1]]);
    assertClose(W.matmul(x.reshape(-1)), y.reshape(-1), { atol: 1e-5, what: `conv ${JSON.stringify(o)}` });
    const back = F.convTranspose2d(y, k.reshape(1, 1, ...ks), null, { ...(o as object), outputPadding: 0 });
    // The transposed convolution's output may lack the rows a strided convolution never read; compare what it covers.
    const full = W.t().matmul(y.reshape(-1)).reshape(...shape);
    assertClose(back.reshape(back.shape[2], back.shape[3]), full.narrow(0, 0, back.shape[2]).narrow(1, 0, back.shape[3]), { atol: 1e-5, what: `transposed ${JSON.stringify(o)}` });
  }
}));

test("convMatrix: bad input is a FlareError naming it", () => {
  assertFlareError(() => F.convMatrix(torch.ones([1, 2, 2]), [3, 3]), /kernel must be 2-D/);
  assertFlareError(() => F.convMatrix(torch.ones([2, 2]), [3] as never), /inputShape must be \[H, W\]/);
  assertFlareError(() => F.convMatrix(torch.ones([4, 4]), [3, 3]), /larger than the padded 3×3 input/);
  assertFlareError(() => F.convMatrix(torch.ones([2, 2]), [3, 3], { dilation: 2 } as never), /unknown option "dilation"/);
  assertFlareError(() => F.convMatrix(torch.ones([2, 2], { dtype: "int64" }), [3, 3]), /floating/);
});

test("bilinearKernel: the book's values (k = 4, 3, 64)", () => torch.tidy(() => {
  const k4 = nn.init.bilinearKernel(1, 1, 4).reshape(4, 4);
  const line = [0.25, 0.75, 0.75, 0.25];
  assert.deepEqual(k4.tolist(), line.map((a) => line.map((b) => a * b)));
  assert.deepEqual(nn.init.bilinearKernel(1, 1, 3).reshape(3, 3).tolist(), [[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]);
  const k64 = nn.init.bilinearKernel(21, 21, 64);
  assert.deepEqual(k64.shape, [21, 21, 64, 64]);
  assert.equal(k64.index(0, 0, 0, 0).item(), 0.000244140625);
  assert.equal(k64.index(5, 5, 31, 31).item(), 0.968994140625);
  assert.equal(k64.index(5, 5).sum().item(), 1024);
  assert.equal(k64.index(5, 6).abs().sum().item(), 0, "channels are upsampled independently");
}));

test("bilinearKernel equals the book's bilinear_kernel bit for bit (fixtures)", () => torch.tidy(() => {
  const fx = loadFixture("segmentation");
  let n = 0;
  for (const [key, expected] of fx) {
    if (!key.startsWith("bilinear/")) continue;
    const [cin, cout, k] = key.slice("bilinear/".length).split("_").map(Number);
    assertClose(nn.init.bilinearKernel(cin, cout, k), expected, { rtol: 0, atol: 0, what: key });
    n++;
  }
  assert.equal(n, 9);
}));

test("a bilinear transposed convolution doubles an image as bilinear interpolation does (inside the border)", () => torch.tidy(() => {
  torch.manualSeed(2);
  const up = new nn.ConvTranspose2d(3, 3, 4, { padding: 1, stride: 2, bias: false });
  torch.noGrad(() => torch.tidy(() => { up.weight.copy_(nn.init.bilinearKernel(3, 3, 4)); }));
  const x = torch.rand([1, 3, 12, 16]);
  const y: Tensor = up.forward(x);
  assert.deepEqual(y.shape, [1, 3, 24, 32]);
  const ref = F.interpolate(x, { scaleFactor: 2, mode: "bilinear", alignCorners: false });
  assertClose(y.index(":", ":", "1:-1", "1:-1"), ref.index(":", ":", "1:-1", "1:-1"), { atol: 1e-5, what: "interior" });
  up.dispose();
}));

test("bilinearKernel: bad channel counts are a FlareError", () => {
  assertFlareError(() => nn.init.bilinearKernel(2, 3, 4), /must be equal/);
  assertFlareError(() => nn.init.bilinearKernel(2, 2, 0), /kernelSize/);
});
