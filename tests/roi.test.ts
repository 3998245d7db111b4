// roiAlign / roiPool against torchvision 0.14 (tests/fixtures/roi.safetensors,
// written by scripts/fixtures/roi.py): outputs and input gradients; gradcheck
// in float64; the modules; bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { ops } from "../src/vision/index.js";
import { loadFileWithMetadata } from "../src/io/safetensors.js";
import { assertClose, assertFlareError, fixturePath } from "./helpers.js";

interface RoiCase {
  name: string;
  fn: "roi_align" | "roi_pool";
  output_size: number | [number, number];
  kwargs: { spatial_scale?: number; sampling_ratio?: number; aligned?: boolean };
  dtype: string;
  list: boolean;
}

const { tensors, metadata } = loadFileWithMetadata(fixturePath("roi.safetensors"));
const cases = JSON.parse(metadata.cases) as RoiCase[];

for (const c of cases) {
  test(`torchvision parity (forward and input gradient): ${c.name}`, () => {
    torch.tidy(() => {
      const get = (key: string) => tensors.get(`${c.name}/${key}`)!;
      const input = get("input").clone().requiresGrad_();
      let boxes: torch.Tensor | torch.Tensor[] = get("boxes");
      if (c.list) {
        boxes = [];
        for (let i = 0; tensors.has(`${c.name}/boxes/${i}`); i++) boxes.push(get(`boxes/${i}`));
      }
      const out = c.fn === "roi_align"
        ? ops.roiAlign(input, boxes, c.output_size, { spatialScale: c.kwargs.spatial_scale, samplingRatio: c.kwargs.sampling_ratio, aligned: c.kwargs.aligned })
        : ops.roiPool(input, boxes, c.output_size, { spatialScale: c.kwargs.spatial_scale });
      // Same sampling points, weights and summation order as torchvision's kernels: bit for bit.
      const tol = { rtol: 0, atol: 0 };
      assertClose(out, get("out"), { ...tol, what: "output" });
      out.backward(get("gout"));
      assertClose(input.grad!, get("grad"), { ...tol, what: "input gradient" });
    });
  });
}

test("gradcheck in float64: roiAlign (several settings) and roiPool", () => {
  torch.tidy(() => {
    torch.manualSeed(5);
    const input = torch.randn([2, 2, 6, 7], { dtype: "float64" }).requiresGrad_();
    // Box corners away from pixel centres, so no sample sits on a kink of the bilinear weights.
    const boxes = torch.tensor([[0, 0.3, 0.6, 4.2, 5.1], [1, 1.7, 0.2, 6.3, 3.9], [1, -1.1, 2.2, 2.4, 7.3]], { dtype: "float64" });
    for (const options of [{}, { samplingRatio: 2 }, { aligned: true }, { spatialScale: 0.5, samplingRatio: 3, aligned: true }])
      assert.equal(torch.autograd.gradcheck((x) => ops.roiAlign(x, boxes, [3, 2], options), [input]), true, JSON.stringify(options));
    assert.equal(torch.autograd.gradcheck((x) => ops.roiPool(x, boxes, [2, 3]), [input]), true);
  });
});

test("boxes as per-image [Ni, 4] tensors equal the [K, 5] form", () => {
  torch.tidy(() => {
    const input = torch.randn([2, 3, 8, 8]);
    const a = torch.tensor([[1, 1, 5, 6], [0, 2, 3, 7]]), b = torch.tensor([[2, 2, 7, 7]]);
    const rois = torch.tensor([[0, 1, 1, 5, 6], [0, 0, 2, 3, 7], [1, 2, 2, 7, 7]]);
    assert.deepEqual(ops.roiAlign(input, [a, b], 3).tolist(), ops.roiAlign(input, rois, 3).tolist());
    assert.deepEqual(ops.roiPool(input, [a, b], [2, 3]).tolist(), ops.roiPool(input, rois, [2, 3]).tolist());
    assert.deepEqual(ops.convertBoxesToRoiFormat([a, b]).tolist(), rois.tolist());
  });
});

test("roiAlign of a constant map is that constant; roiPool of a ramp is each bin's largest pixel", () => {
  torch.tidy(() => {
    const out = ops.roiAlign(torch.full([1, 1, 6, 6], 2.5), torch.tensor([[0, 1, 1, 4, 4]]), 2, { samplingRatio: 2 });
    assert.deepEqual(out.tolist(), [[[[2.5, 2.5], [2.5, 2.5]]]]);
    const ramp = torch.arange(16).to("float32").reshape(1, 1, 4, 4);
    // Box (0,0)-(3,3) rounds to 4×4 pixels: 2×2 bins of 2×2 pixels, maxima 5, 7, 13, 15.
    assert.deepEqual(ops.roiPool(ramp, torch.tensor([[0, 0, 0, 3, 3]]), 2).tolist(), [[[[5, 7], [13, 15]]]]);
  });
});

test("RoIAlign and RoIPool modules", () => {
  torch.tidy(() => {
    const align = new ops.RoIAlign([2, 2], 0.5, 2, { aligned: true });
    const pool = new ops.RoIPool(3, 0.25);
    assert.equal(align.toString(), "RoIAlign(output_size=(2, 2), spatial_scale=0.5, sampling_ratio=2, aligned=True)");
    assert.equal(pool.toString(), "RoIPool(output_size=(3, 3), spatial_scale=0.25)");
    const input = torch.randn([1, 2, 5, 5]), boxes = torch.tensor([[0, 0, 0, 6, 8]]);
    assert.deepEqual(align.forward(input, boxes).tolist(), ops.roiAlign(input, boxes, 2, { spatialScale: 0.5, samplingRatio: 2, aligned: true }).tolist());
    assert.deepEqual(pool.forward(input, boxes).shape, [1, 2, 3, 3]);
    assert.deepEqual(align.parameters().length, 0);
  });
});

test("no boxes give an empty result and a zero gradient", () => {
  torch.tidy(() => {
    const input = torch.randn([1, 2, 4, 4]).requiresGrad_();
    const out = ops.roiAlign(input, torch.zeros([0, 5]), [2, 3]);
    assert.deepEqual(out.shape, [0, 2, 2, 3]);
    out.sum().backward();
    assert.deepEqual(input.grad!.abs().sum().item(), 0);
  });
});

test("bad input is a FlareError naming the argument", () => {
  torch.tidy(() => {
    const input = torch.randn([2, 1, 4, 4]);
    const box = (row: number[]) => torch.tensor([row]);
    assertFlareError(() => ops.roiAlign(input, torch.zeros([3, 4]), 2), /^roiAlign\(\): boxes must be \[K, 5\] \(batch index, x1, y1, x2, y2\), got \[3, 4\]$/, "E_SHAPE");
    assertFlareError(() => ops.roiAlign(input, [torch.zeros([2, 5])], 2), /^roiAlign\(\): boxes\[0\] must be \[Ni, 4\], got \[2, 5\]$/, "E_SHAPE");
    assertFlareError(() => ops.roiPool(input, [], 2), /^roiPool\(\): boxes is an empty list/);
    assertFlareError(() => ops.roiAlign(input, box([2, 0, 0, 1, 1]), 2), /^roiAlign\(\): boxes\[0\] has batch index 2 but input has 2 images$/, "E_INDEX");
    assertFlareError(() => ops.roiPool(input, box([-1, 0, 0, 1, 1]), 2), /^roiPool\(\): boxes\[0\] has batch index -1 but input has 2 images$/, "E_INDEX");
    assertFlareError(() => ops.roiAlign(input, box([0.5, 0, 0, 1, 1]), 2), /^roiAlign\(\): boxes\[0\] has batch index 0\.5 but input has 2 images$/, "E_INDEX");
    assertFlareError(() => ops.roiAlign(input, box([0, 0, Number.NaN, 1, 1]), 2), /^roiAlign\(\): boxes\[0\] has a non-finite value$/);
    assertFlareError(() => ops.roiPool(input, box([0, 0, 0, Infinity, 1]), 2), /^roiPool\(\): boxes\[0\] has a non-finite value$/);
    assertFlareError(() => ops.roiAlign(input, box([0, 0, 0, 1, 1]).double(), 2), /^roiAlign\(\): boxes must have input's dtype \(float32\), got float64$/, "E_DTYPE");
    assertFlareError(() => ops.roiAlign(input.to("int64"), box([0, 0, 0, 1, 1]).to("int64"), 2), /^roiAlign\(\): input must be float32 or float64, got int64$/, "E_DTYPE");
    assertFlareError(() => ops.roiAlign(torch.zeros([1, 2, 0, 3]), box([0, 0, 0, 1, 1]), 2), /^roiAlign\(\): input has an empty feature map \[1, 2, 0, 3\] to sample boxes from$/, "E_SHAPE");
    assert.deepEqual(ops.roiPool(torch.zeros([1, 2, 0, 3]), box([0, 0, 0, 1, 1]), 2).tolist(), [[[[0, 0], [0, 0]], [[0, 0], [0, 0]]]]);
    assertFlareError(() => ops.roiAlign(input.reshape(2, 4, 4), box([0, 0, 0, 1, 1]), 2), /^roiAlign\(\): input must be \[N, C, H, W\], got \[2, 4, 4\]$/, "E_SHAPE");
    assertFlareError(() => ops.roiAlign(input, box([0, 0, 0, 1, 1]), [2, 0]), /^roiAlign\(\): outputSize must be a positive integer or \[height, width\] of positive integers, got \[2, 0\]$/);
    assertFlareError(() => ops.roiAlign(input, box([0, 0, 0, 1, 1]), 2, { samplingRatio: 1.5 }), /^roiAlign\(\): samplingRatio must be an integer, got number 1\.5$/);
    assertFlareError(() => ops.roiAlign(input, box([0, 0, 0, 1, 1]), 2, { sampling_ratio: 2 } as never), /^roiAlign\(\): unknown option 'sampling_ratio' \(options: spatialScale, samplingRatio, aligned\)$/);
    assertFlareError(() => ops.roiPool(input, box([0, 0, 0, 1, 1]), 2, { spatialScale: Number.NaN }), /^roiPool\(\): spatialScale must be a finite number, got number NaN$/);
    assertFlareError(() => ops.roiPool("x" as never, box([0, 0, 0, 1, 1]), 2), /^roiPool\(\): input must be a Tensor \[N, C, H, W\], got string x$/);
  });
});

test("roiAlign refuses double backward", () => {
  torch.tidy(() => {
    const input = torch.randn([1, 1, 4, 4], { dtype: "float64" }).requiresGrad_();
    // createGraph alone is fine (the gradient is linear in the output gradient);
    // differentiating the gradient again through a non-linear loss is refused.
    const boxes = torch.tensor([[0, 0, 0, 3, 3]], { dtype: "float64" });
    const [g] = torch.autograd.grad(ops.roiAlign(input, boxes, 2).sum(), input, { createGraph: true });
    assert.equal(g!.requiresGrad, false);
    const y = ops.roiAlign(input, boxes, 2).pow(2).sum();
    assertFlareError(() => torch.autograd.grad(y, input, { createGraph: true }), /^roiAlign: double backward \(createGraph: true\) is not supported$/);
  });
});

test("roiAlign / roiPool forward + backward in a loop keep the live tensor count flat", () => {
  const input = torch.randn([2, 3, 8, 8]).requiresGrad_();
  const boxes = [torch.tensor([[0, 0, 4, 4], [1, 1, 6, 7]]), torch.tensor([[2, 2, 7, 7]])];
  const step = () => torch.tidy(() => {
    input.grad = null;
    ops.roiAlign(input, boxes, 2).sum().add(ops.roiPool(input, boxes, 2).sum()).backward();
  });
  step();
  const live = torch.memory().numTensors;
  for (let i = 0; i < 20; i++) step();
  assert.equal(torch.memory().numTensors, live);
  torch.dispose([input, boxes]);
});

test("the results take part in autograd like any ATen op (a grad_fn of their own)", () => {
  torch.tidy(() => {
    const input = torch.randn([1, 1, 4, 4]).requiresGrad_(), boxes = torch.tensor([[0, 0, 0, 2, 2]]);
    assert.equal(ops.roiAlign(input, boxes, 2).gradFn, "torch::autograd::CppNode<flare::RoiAlignFunction>");
    assert.equal(ops.roiPool(input, boxes, 2).gradFn, "torch::autograd::CppNode<flare::RoiPoolFunction>");
    assert.equal(ops.roiAlign(input.detach(), boxes, 2).gradFn, null);
  });
});
