// Colour transforms on tensor images (uint8 in [0, 255] or float in [0, 1]),
// [..., C, H, W]: the arithmetic of torchvision 0.14's functional_tensor, op
// for op, so the results match it. Factors may be one number or one number per
// image of a batch (per-sample randomness as batched tensor ops).
import { FlareError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { native } from "../../tensor/native.js";
import { stack } from "../../tensor/ops/shape.js";
import { where } from "../../tensor/ops/indexing.js";
import { zeros, ones, onesLike } from "../../tensor/creation.js";
import { cat } from "../../tensor/ops/shape.js";
import {
  checkImage, checkChannels, bound, isFloat, workDtype, perImageArg, perImageTensor, castSqueezeIn, rsub, aten, maxValue,
  type PerImage,
} from "./_utils.js";
import { wrap } from "../../tensor/tensor.js";

const nonNegative = (v: number) => (v < 0 ? "must be non-negative" : null);

/** ratio * img1 + (1 - ratio) * img2, clamped to the dtype's range, in img1's dtype. */
export function blend(img1: Tensor, img2: Tensor, ratio: number | number[]): Tensor {
  const b = bound(img1);
  // Integer-valued factors reach ATen as integer scalars: compute in float, as Python's float factors do.
  const x1 = isFloat(img1) ? img1 : img1.to("float32"), x2 = isFloat(img2) ? img2 : img2.to("float32");
  let mixed: Tensor;
  if (typeof ratio === "number") mixed = x1.mul(ratio).add(x2.mul(1 - ratio));
  else {
    const dtype = workDtype(img1);
    const r = perImageTensor(ratio, img1, dtype), s = perImageTensor(ratio.map((v) => 1 - v), img1, dtype);
    mixed = x1.mul(r).add(x2.mul(s));
  }
  return mixed.clamp(0, b).to(img1.dtype);
}

/** Luma (ITU-R 601-2: 0.2989 R + 0.587 G + 0.114 B) in the image's dtype; 1 or 3 output channels. */
export function rgbToGrayscale(img: Tensor, numOutputChannels: 1 | 3 = 1): Tensor {
  checkImage(img, "rgbToGrayscale(): img");
  const c = checkChannels(img, [1, 3], "rgbToGrayscale(): img");
  if (numOutputChannels !== 1 && numOutputChannels !== 3)
    throw new FlareError(`rgbToGrayscale(): numOutputChannels must be 1 or 3, got ${String(numOutputChannels)}`, "E_ARGUMENT");
  let l: Tensor;
  if (c === 3) {
    const [r, g, b] = img.unbind(-3);
    l = r.mul(0.2989).add(g.mul(0.587)).add(b.mul(0.114)).to(img.dtype).unsqueeze(-3);
  } else l = img.clone();
  return numOutputChannels === 3 ? l.expand(img.shape) : l;
}

export function adjustBrightness(img: Tensor, brightnessFactor: PerImage): Tensor {
  checkImage(img, "adjustBrightness(): img");
  const f = perImageArg(brightnessFactor, img, "adjustBrightness(): brightnessFactor", nonNegative);
  checkChannels(img, [1, 3], "adjustBrightness(): img");
  const factor = typeof f === "number" ? f : perImageTensor(f, img, workDtype(img));
  return (isFloat(img) ? img : img.to("float32")).mul(factor).clamp(0, bound(img)).to(img.dtype);
}

export function adjustContrast(img: Tensor, contrastFactor: PerImage): Tensor {
  checkImage(img, "adjustContrast(): img");
  const f = perImageArg(contrastFactor, img, "adjustContrast(): contrastFactor", nonNegative);
  const c = checkChannels(img, [1, 3], "adjustContrast(): img");
  const dtype = workDtype(img);
  const gray = c === 3 ? rgbToGrayscale(img) : img;
  const mean = gray.to(dtype).mean([-3, -2, -1], { keepdim: true });
  return blend(img, mean, f);
}

export function adjustSaturation(img: Tensor, saturationFactor: PerImage): Tensor {
  checkImage(img, "adjustSaturation(): img");
  const f = perImageArg(saturationFactor, img, "adjustSaturation(): saturationFactor", nonNegative);
  if (checkChannels(img, [1, 3], "adjustSaturation(): img") === 1) return img;
  return blend(img, rgbToGrayscale(img), f);
}

function rgb2hsv(img: Tensor): Tensor {
  const [r, g, b] = img.unbind(-3);
  const maxc = img.amax(-3), minc = img.amin(-3);
  const eqc = maxc.eq(minc);
  const cr = maxc.sub(minc);
  const ones = onesLike(maxc);
  const s = cr.div(where(eqc, ones, maxc));
  const crDivisor = where(eqc, ones, cr);
  const rc = maxc.sub(r).div(crDivisor), gc = maxc.sub(g).div(crDivisor), bc = maxc.sub(b).div(crDivisor);
  const hr = maxc.eq(r).mul(bc.sub(gc));
  const hg = maxc.eq(g).logicalAnd(maxc.ne(r)).mul(rc.add(2.0).sub(bc));
  const hb = maxc.ne(g).logicalAnd(maxc.ne(r)).mul(gc.add(4.0).sub(rc));
  const h = hr.add(hg).add(hb).div(6.0).add(1.0).fmod(1.0);
  return stack([h, s, maxc], -3);
}

function hsv2rgb(img: Tensor): Tensor {
  const [h, s, v] = img.unbind(-3);
  const h6 = h.mul(6.0);
  const i0 = h6.floor();
  const f = h6.sub(i0);
  const p = v.mul(rsub(s, 1.0)).clamp(0.0, 1.0);
  const q = v.mul(rsub(s.mul(f), 1.0)).clamp(0.0, 1.0);
  const t = v.mul(rsub(s.mul(rsub(f, 1.0)), 1.0)).clamp(0.0, 1.0);
  // torchvision picks one of six candidates per pixel with a one-hot einsum; a gather picks the same values.
  const i = i0.to("int64").remainder(6).unsqueeze(-3);
  const pick = (candidates: Tensor[]) => stack(candidates, -3).gather(-3, i).squeeze(-3);
  return stack([pick([v, q, p, p, t, v]), pick([t, v, v, q, p, p]), pick([p, p, t, v, v, q])], -3);
}

/** Shifts the hue by hueFactor (in [-0.5, 0.5], a fraction of the hue circle) through HSV. */
export function adjustHue(img: Tensor, hueFactor: PerImage): Tensor {
  checkImage(img, "adjustHue(): img");
  const f = perImageArg(hueFactor, img, "adjustHue(): hueFactor", (v) => (v < -0.5 || v > 0.5 ? "must be in [-0.5, 0.5]" : null));
  if (checkChannels(img, [1, 3], "adjustHue(): img") === 1) return img;
  const orig = img.dtype;
  let x = orig === "uint8" ? img.to("float32").div(255.0) : img;
  if (x.device === "cpu" && (x.dtype === "float32" || x.dtype === "float64") ) {
    // The fused native kernel: the same arithmetic as below, one pass per pixel.
    const out = new Tensor(native.adjustHue(x.handle, f));
    return orig === "uint8" ? out.mul(255.0).to(orig) : out;
  }
  x = rgb2hsv(x);
  const [h, s, v] = x.unbind(-3);
  const shift = typeof f === "number" ? f : perImageTensor(f, h, h.dtype, h.ndim);
  const h2 = h.add(shift).remainder(1.0);
  let out = hsv2rgb(stack([h2, s, v], -3));
  if (orig === "uint8") out = out.mul(255.0).to(orig);
  return out;
}

/** Gamma correction: gain * img^gamma on [0, 1] values. */
export function adjustGamma(img: Tensor, gamma: PerImage, gain: PerImage = 1): Tensor {
  checkImage(img, "adjustGamma(): img");
  checkChannels(img, [1, 3], "adjustGamma(): img");
  const g = perImageArg(gamma, img, "adjustGamma(): gamma", nonNegative);
  const k = perImageArg(gain, img, "adjustGamma(): gain");
  const dtype = img.dtype;
  let x = isFloat(img) ? img : convertImageDtype(img, "float32");
  const gt = typeof g === "number" ? g : perImageTensor(g, x, x.dtype);
  const kt = typeof k === "number" ? k : perImageTensor(k, x, x.dtype);
  x = (typeof kt === "number" ? x.pow(gt).mul(kt) : x.pow(gt).mul(kt)).clamp(0, 1);
  return convertImageDtype(x, dtype);
}

function blurredDegenerate(img: Tensor): Tensor {
  const dtype = workDtype(img);
  const c = img.shape[img.ndim - 3];
  let kernel = ones([3, 3], { dtype });
  kernel.indexPut_([1, 1], 5.0);
  kernel = kernel.div(kernel.sum());
  const weight = kernel.expand(c, 1, 3, 3);
  const { x, restore } = castSqueezeIn(img, [weight.dtype]);
  const blurred = restore(wrap(aten.conv2d(x.handle, weight.handle, null, [1, 1], [0, 0], [1, 1], c)));
  const result = img.clone();
  result.indexPut_(["...", "1:-1", "1:-1"], blurred);
  return result;
}

export function adjustSharpness(img: Tensor, sharpnessFactor: PerImage): Tensor {
  checkImage(img, "adjustSharpness(): img");
  const f = perImageArg(sharpnessFactor, img, "adjustSharpness(): sharpnessFactor", nonNegative);
  checkChannels(img, [1, 3], "adjustSharpness(): img");
  if (img.size(-1) <= 2 || img.size(-2) <= 2) return img;
  return blend(img, blurredDegenerate(img), f);
}

export function invert(img: Tensor): Tensor {
  checkImage(img, "invert(): img");
  checkChannels(img, [1, 3], "invert(): img");
  return rsub(img, bound(img));
}

/** Keeps the top `bits` bits of each uint8 channel value. */
export function posterize(img: Tensor, bits: PerImage): Tensor {
  checkImage(img, "posterize(): img");
  if (img.dtype !== "uint8") throw new FlareError(`posterize(): img must be uint8, got ${img.dtype}`, "E_DTYPE");
  checkChannels(img, [1, 3], "posterize(): img");
  const b = perImageArg(bits, img, "posterize(): bits", (v) => (!Number.isInteger(v) || v < 0 || v > 8 ? "must be an integer in [0, 8]" : null));
  const maskOf = (n: number) => (256 - 2 ** (8 - n)) & 255;
  if (typeof b === "number") return img.bitwiseAnd(-(2 ** (8 - b)));
  return img.bitwiseAnd(perImageTensor(b.map(maskOf), img, "float32").to("uint8"));
}

/** Inverts the values at or above `threshold`. */
export function solarize(img: Tensor, threshold: PerImage): Tensor {
  checkImage(img, "solarize(): img");
  checkChannels(img, [1, 3], "solarize(): img");
  const limit = bound(img);
  const t = perImageArg(threshold, img, "solarize(): threshold", (v) => (v > limit ? `must be at most ${limit} for a ${img.dtype} image` : null));
  const thr = typeof t === "number" ? t : perImageTensor(t, img, workDtype(img));
  return where(img.ge(thr), invert(img), img);
}

/** Stretches each channel of each image to the full range. */
export function autocontrast(img: Tensor): Tensor {
  checkImage(img, "autocontrast(): img");
  checkChannels(img, [1, 3], "autocontrast(): img");
  const b = bound(img);
  const dtype = workDtype(img);
  let minimum = img.amin([-2, -1], { keepdim: true }).to(dtype);
  const maximum = img.amax([-2, -1], { keepdim: true }).to(dtype);
  // torchvision's `bound / (max - min)` is Tensor.__rtruediv__: reciprocal() * bound.
  let scale = maximum.sub(minimum).reciprocal().mul(b);
  const eq = scale.isfinite().logicalNot();
  minimum = where(eq, 0, minimum);
  scale = where(eq, 1, scale);
  return img.sub(minimum).mul(scale).clamp(0, b).to(img.dtype);
}

/** Histogram equalisation of uint8 images, every channel of every image at once. */
export function equalize(img: Tensor): Tensor {
  checkImage(img, "equalize(): img");
  if (img.dtype !== "uint8") throw new FlareError(`equalize(): img must be uint8, got ${img.dtype}`, "E_DTYPE");
  checkChannels(img, [1, 3], "equalize(): img");
  const shape = img.shape;
  const hw = shape[shape.length - 1] * shape[shape.length - 2];
  const idx = img.reshape([-1, hw]).to("int64");
  const m = idx.shape[0];
  const hist = zeros([m, 256], { dtype: "int64", device: img.device }).scatterAdd_(1, idx, onesLike(idx));
  // Sum of the nonzero bins but the last one: all pixels but those of the largest value.
  const last = hist.gather(1, idx.amax(1, { keepdim: true }));
  const step = rsub(last, hw).div(255, { roundingMode: "floor" });
  const zero = step.eq(0);
  const safe = where(zero, 1, step);
  let lut = hist.cumsum(1).add(safe.div(2, { roundingMode: "floor" })).div(safe, { roundingMode: "floor" });
  lut = cat([zeros([m, 1], { dtype: "int64", device: img.device }), lut.index(":", ":-1")], 1).clamp(0, 255);
  const out = where(zero, idx, lut.gather(1, idx));
  return out.to("uint8").reshape(shape);
}

/**
 * Converts between dtypes with scaling (uint8 [0, 255] <-> float [0, 1]), as
 * torchvision's convert_image_dtype.
 */
export function convertImageDtype(image: Tensor, dtype: import("../../tensor/dtype.js").DType = "float32"): Tensor {
  if (!(image instanceof Tensor)) throw new FlareError(`convertImageDtype(): image must be a Tensor, got ${String(image)}`, "E_ARGUMENT");
  if (image.dtype === dtype) return image;
  const floatOut = ["float32", "float64", "float16", "bfloat16"].includes(dtype);
  if (isFloat(image)) {
    if (floatOut) return image.to(dtype);
    if ((image.dtype === "float32" && (dtype === "int32" || dtype === "int64")) || (image.dtype === "float64" && dtype === "int64"))
      throw new FlareError(`convertImageDtype(): the cast from ${image.dtype} to ${dtype} cannot be performed safely`, "E_DTYPE");
    if (dtype === "bool") throw new FlareError("convertImageDtype(): cannot convert an image to bool", "E_DTYPE");
    return image.mul(maxValue(dtype) + 1.0 - 1e-3).to(dtype);
  }
  if (image.dtype === "bool") throw new FlareError("convertImageDtype(): bool images are not supported", "E_DTYPE");
  const inMax = maxValue(image.dtype);
  if (floatOut) return image.to(dtype).div(inMax);
  const outMax = maxValue(dtype);
  if (inMax > outMax) return image.div(Math.floor((inMax + 1) / (outMax + 1)), { roundingMode: "floor" }).to(dtype);
  return image.to(dtype).mul(Math.floor((outMax + 1) / (inMax + 1)));
}

