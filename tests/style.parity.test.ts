// Neural style transfer against d2l 14.12's own code run by PyTorch
// (scripts/fixtures/style.py): a small seeded random-weight VGG-19 (every width
// / 16) loaded from safetensors, the book's layers through its in-place ReLUs,
// one step's three losses per layer, three Adam steps with StepLR, and the pre-
// and post-processing.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { style } from "../src/vision/index.js";
import { loadFixture, fixturePath, assertClose } from "./helpers.js";

const fx = loadFixture("style");
const get = (k: string) => fx.get(k)!;
const WEIGHTS = fixturePath("style_vgg19_w16.safetensors");

test("VGG-19 weights load from safetensors: features[0..28], the book's layers, no trainable parameters", () => {
  torch.manualSeed(5);
  const expected = torch.rand([3]);
  torch.manualSeed(5);
  const features = style.vgg19StyleFeatures(WEIGHTS);
  const after = torch.rand([3]);
  assertClose(after, expected, { rtol: 0, atol: 0, what: "the global RNG stream is left as it was" });
  torch.dispose([expected, after]);
  assert.equal(features.net.length, 29, "the book's net: features[0] .. features[28]");
  assert.deepEqual(features.contentLayers, [25]);
  assert.deepEqual(features.styleLayers, [0, 5, 10, 19, 28]);
  assert.match(features.description, /width \/ 16/);
  assert.deepEqual((features.net.get(28) as torch.nn.Conv2d).weight.shape, [32, 32, 3, 3]);
  assert.ok(features.parameters().every((p) => !p.requiresGrad), "only the image is trained");
  const w = torch.load(WEIGHTS);
  assertClose((features.net.get(25) as torch.nn.Conv2d).weight, w.get("features.25.weight")!, { rtol: 0, atol: 0, what: "features.25.weight" });
  torch.dispose([...w.values()]);
  features.dispose();
});

test("a full state dict loads too: torchvision's classifier.* and timm's pre_logits.* / head.* keys are not the features' and are left out", () => {
  const w = torch.load(WEIGHTS);
  const extra = new Map(w);
  for (const k of ["classifier.0.weight", "pre_logits.fc1.weight", "head.fc.bias"]) extra.set(k, torch.zeros([2]));
  const features = style.vgg19StyleFeatures(extra);
  assertClose((features.net.get(0) as torch.nn.Conv2d).bias!, w.get("features.0.bias")!, { rtol: 0, atol: 0 });
  features.dispose();
  torch.dispose([...extra.values()]);
});

test("one step's losses equal PyTorch's running the book's code: content, five style layers, TV, total", () => {
  const features = style.vgg19StyleFeatures(WEIGHTS);
  const x = get("content_X"), s = get("style_X");
  torch.tidy(() => {
    const contentsY = torch.noGrad(() => features.extract(x).contents);
    const grams = torch.noGrad(() => features.extract(s).styles.map((y) => style.gram(y)));
    const { contents, styles } = features.extract(x);
    // The maps taken after the in-place ReLUs are non-negative; conv5_1 (28) is pre-ReLU.
    for (const y of styles.slice(0, 4)) assert.ok(y.min().item() >= 0);
    assert.ok(styles[4].min().item() < 0, "conv5_1 stays pre-ReLU");
    const l = style.computeLoss(x, contents, styles, contentsY, grams);
    assertClose(torch.stack(l.content), get("step0/content"), { rtol: 1e-4, atol: 1e-7, what: "content" });
    assertClose(torch.stack(l.style), get("step0/style"), { rtol: 1e-4, atol: 1e-8, what: "style" });
    assertClose(l.tv.reshape([1]), get("step0/tv"), { rtol: 1e-5, what: "tv" });
    assertClose(l.total.reshape([1]), get("step0/total"), { rtol: 1e-5, what: "total" });
  });
  features.dispose();
});

test("three steps of the book's loop (Adam lr 0.3, StepLR(2, 0.8)) give PyTorch's losses and image", async () => {
  const features = style.vgg19StyleFeatures(WEIGHTS);
  const { x, history } = await style.synthesize(get("content_X"), [get("style_X")], features, { steps: 3, lr: 0.3, lrDecaySteps: 2, lrDecay: 0.8 });
  assert.deepEqual(history.map((h) => h.lr), [0.3, 0.3, 0.3 * 0.8]);
  for (const [k, h] of history.entries()) {
    const sum = (t: torch.Tensor) => (t.tolist() as number[]).reduce((a, b) => a + b, 0);
    for (const [name, actual, expected] of [
      ["content", h.content, sum(get(`step${k}/content`))], ["style", h.style, sum(get(`step${k}/style`))],
      ["tv", h.tv, get(`step${k}/tv`).item()], ["total", h.total, get(`step${k}/total`).item()],
    ] as const) {
      assert.ok(Math.abs(actual - expected) <= 1e-3 * Math.abs(expected) + 1e-6, `step ${k} ${name}: ${actual} vs PyTorch ${expected}`);
    }
  }
  assertClose(x, get("image_after3"), { rtol: 1e-3, atol: 1e-3, what: "the image after 3 steps" });
  const out = style.postprocess(x);
  assert.equal(out.dtype, "uint8");
  // ToPILImage truncates ⌊255·v⌋; a value on an integer boundary may land one lower or higher.
  assertClose(out.to("float32"), get("postprocessed").to("float32"), { rtol: 0, atol: 1, what: "postprocess" });
  torch.dispose([x, out]);
  features.dispose();
});

test("preprocess: antialiased resize to (h, w), ImageNet normalisation, a batch dimension, close to torchvision's PIL path", () => {
  for (const [raw, want] of [["content_raw", "content_X"], ["style_raw", "style_X"]]) {
    const x = style.preprocess(get(raw), [32, 48]);
    assert.deepEqual(x.shape, [1, 3, 32, 48]);
    // PIL resizes in fixed point, libtorch in float: within 2/255 of the pixel, over std ≈ 0.22.
    assertClose(x, get(want), { rtol: 0, atol: 2 / 255 / 0.224 + 1e-4, what: `preprocess(${raw})` });
    const mean = torch.tidy(() => x.sub(get(want)).abs().mean().item());
    assert.ok(mean < 0.01, `mean difference ${mean}`);
    x.dispose();
  }
});
