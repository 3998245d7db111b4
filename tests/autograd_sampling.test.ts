// torch.meshgrid, F.gridSample and F.affineGrid beyond the golden values in
// nn.parity (tests/fixtures/nn.safetensors): hand-checked values, gradcheck,
// and the bad-input errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { F } from "../src/index.js";
import { assertFlareError } from "./helpers.js";

test("meshgrid: ij indexing by default, xy swaps the first two dimensions", () => {
  torch.tidy(() => {
    const [a, b] = torch.meshgrid([torch.tensor([1, 2, 3]), torch.tensor([4, 5])]);
    assert.deepEqual(a.tolist(), [[1, 1], [2, 2], [3, 3]]);
    assert.deepEqual(b.tolist(), [[4, 5], [4, 5], [4, 5]]);
    const [x, y] = torch.meshgrid([torch.tensor([1, 2, 3]), torch.tensor([4, 5])], { indexing: "xy" });
    assert.deepEqual(x.tolist(), [[1, 2, 3], [1, 2, 3]]);
    assert.deepEqual(y.tolist(), [[4, 4, 4], [5, 5, 5]]);
    const [s, t] = torch.meshgrid([torch.tensor(7), torch.tensor([1, 2])]);
    assert.deepEqual([s.shape, t.shape], [[1, 2], [1, 2]]);
  });
});

test("meshgrid checks its arguments", () => {
  torch.tidy(() => {
    assertFlareError(() => torch.meshgrid([]), /^meshgrid\(\): tensors must be a non-empty array of Tensors$/);
    assertFlareError(() => torch.meshgrid([torch.zeros([2, 2])]), /^meshgrid\(\): tensors\[0\] must be 0-D or 1-D, got shape \[2, 2\]$/, "E_SHAPE");
    assertFlareError(() => torch.meshgrid([torch.zeros([2])], { indexing: "ji" as never }), /^meshgrid\(\): indexing must be "ij" or "xy", got ji$/);
    assertFlareError(() => torch.meshgrid([torch.zeros([2])], { index: "ij" } as never), /^meshgrid\(\): unknown option 'index' \(options: indexing\)$/);
    assertFlareError(() => torch.meshgrid([torch.zeros([2]), 3 as never]), /^meshgrid\(\): tensors\[1\] must be a Tensor, got number 3$/);
  });
});

test("gridSample with the identity affineGrid reproduces the input (alignCorners true and false)", () => {
  torch.tidy(() => {
    const input = torch.randn([2, 3, 4, 5]);
    const theta = torch.tensor([[[1, 0, 0], [0, 1, 0]], [[1, 0, 0], [0, 1, 0]]]);
    for (const alignCorners of [false, true]) {
      const grid = F.affineGrid(theta, [2, 3, 4, 5], { alignCorners });
      assert.deepEqual(grid.shape, [2, 4, 5, 2]);
      const out = F.gridSample(input, grid, { alignCorners });
      assert.ok(out.sub(input).abs().max().item() < 1e-5, `alignCorners ${alignCorners}`);
    }
  });
});

test("gridSample and affineGrid pass gradcheck in float64", () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const input = torch.randn([1, 2, 3, 4], { dtype: "float64" }).requiresGrad_();
    const grid = torch.rand([1, 2, 3, 2], { dtype: "float64" }).mul(1.6).sub(0.8).requiresGrad_();
    assert.equal(torch.autograd.gradcheck((x, g) => F.gridSample(x, g), [input, grid]), true);
    assert.equal(torch.autograd.gradcheck((x, g) => F.gridSample(x, g, { paddingMode: "border", alignCorners: true }), [input, grid]), true);
    const theta = torch.randn([1, 2, 3], { dtype: "float64" }).requiresGrad_();
    assert.equal(torch.autograd.gradcheck((t) => F.affineGrid(t, [1, 1, 3, 2]), [theta]), true);
  });
});

test("gridSample and affineGrid check their arguments", () => {
  torch.tidy(() => {
    const input = torch.zeros([1, 2, 4, 4]), grid = torch.zeros([1, 3, 3, 2]);
    assertFlareError(() => F.gridSample(input, grid, { mode: "area" as never }), /^gridSample\(\): mode must be one of "bilinear", "nearest", "bicubic", got "area"$/);
    assertFlareError(() => F.gridSample(input, grid, { paddingMode: "edge" as never }), /^gridSample\(\): paddingMode must be one of "zeros", "border", "reflection", got "edge"$/);
    assertFlareError(() => F.gridSample(input, grid, { padding_mode: "zeros" } as never), /^gridSample\(\): unknown option "padding_mode" \(did you mean "paddingMode"\?\); it takes "mode", "paddingMode", "alignCorners"$/);
    assertFlareError(() => F.gridSample(input, torch.zeros([1, 3, 3, 3])), /^gridSample\(\): grid must be \[1, H', W', 2\] for input of shape \[1, 2, 4, 4\], got \[1, 3, 3, 3\]$/, "E_SHAPE");
    assertFlareError(() => F.gridSample(input, torch.zeros([2, 3, 3, 2])), /^gridSample\(\): grid must be \[1, H', W', 2\]/, "E_SHAPE");
    assertFlareError(() => F.gridSample(input, grid.double()), /^gridSample\(\): grid \(float64\) must have input's dtype \(float32\)$/, "E_DTYPE");
    assertFlareError(() => F.gridSample(torch.zeros([2, 4, 4]), grid), /^gridSample\(\): input must be 4-D \[N, C, H, W\] or 5-D \[N, C, D, H, W\], got shape \[2, 4, 4\]$/, "E_SHAPE");
    assertFlareError(() => F.gridSample(torch.zeros([1, 1, 2, 2, 2]), torch.zeros([1, 2, 2, 2, 3]), { mode: "bicubic" }), /^gridSample\(\): mode "bicubic" needs 4-D input$/, "E_SHAPE");
    const theta = torch.zeros([1, 2, 3]);
    assertFlareError(() => F.affineGrid(theta, [1, 1, 4]), /^affineGrid\(\): size must be \[N, C, H, W\] or \[N, C, D, H, W\], got \[1, 1, 4\]$/);
    assertFlareError(() => F.affineGrid(theta, [2, 1, 4, 4]), /^affineGrid\(\): theta must be \[2, 2, 3\] for size \[2, 1, 4, 4\], got \[1, 2, 3\]$/, "E_SHAPE");
    assertFlareError(() => F.affineGrid(theta, [1, 1, 2, 4, 4]), /^affineGrid\(\): theta must be \[1, 3, 4\] for size \[1, 1, 2, 4, 4\], got \[1, 2, 3\]$/, "E_SHAPE");
    assertFlareError(() => F.affineGrid(theta, [1, 1, 0, 4]), /^affineGrid\(\): size\[2\] must be positive, got 0$/);
    assertFlareError(() => F.affineGrid(theta.long(), [1, 1, 4, 4]), /^affineGrid\(\): theta must be floating point, got int64$/, "E_DTYPE");
    assertFlareError(() => F.affineGrid(theta, [1, 1, 4, 4], { align: true } as never), /^affineGrid\(\): unknown option "align"/);
  });
});
