// Kernels libtorch lacks, where the tensor-op version is too slow. Each one
// reproduces the op sequence it replaces (torchvision's), element by element,
// so results are bit-identical; the transforms' parity fixtures check that.
#include "flare.h"

#include <ATen/Dispatch.h>

#include <algorithm>
#include <cmath>

namespace flare {

// torchvision's _rgb2hsv → (h + shift) mod 1 → _hsv2rgb, fused per pixel.
template <typename T>
static void adjustHueKernel(const T* in, T* out, int64_t images, int64_t plane, const std::vector<double>& shifts) {
  const T one = 1, zero = 0;
  for (int64_t k = 0; k < images; k++) {
    const T shift = static_cast<T>(shifts.size() == 1 ? shifts[0] : shifts[k]);
    const T* r = in + k * 3 * plane;
    const T* g = r + plane;
    const T* b = g + plane;
    T* ro = out + k * 3 * plane;
    T* go = ro + plane;
    T* bo = go + plane;
    for (int64_t p = 0; p < plane; p++) {
      const T R = r[p], G = g[p], B = b[p];
      const T maxc = std::max(std::max(R, G), B), minc = std::min(std::min(R, G), B);
      const bool eqc = maxc == minc;
      const T cr = maxc - minc;
      const T s = cr / (eqc ? one : maxc);
      const T divisor = eqc ? one : cr;
      const T rc = (maxc - R) / divisor, gc = (maxc - G) / divisor, bc = (maxc - B) / divisor;
      const T hr = maxc == R ? bc - gc : zero;
      const T hg = (maxc == G && maxc != R) ? (rc + T(2)) - bc : zero;
      const T hb = (maxc != G && maxc != R) ? (gc + T(4)) - rc : zero;
      const T h = std::fmod(((hr + hg) + hb) / T(6) + one, one);
      T m = std::fmod(h + shift, one);  // ATen's remainder: the sign of the divisor
      if (m != 0 && m < 0) m += one;
      const T h6 = m * T(6), i0 = std::floor(h6), f = h6 - i0, v = maxc;
      const T pp = std::min(std::max(v * (one - s), zero), one);
      const T q = std::min(std::max(v * (one - s * f), zero), one);
      const T t = std::min(std::max(v * (one - s * (one - f)), zero), one);
      int64_t i = static_cast<int64_t>(i0) % 6;
      if (i < 0) i += 6;
      const T reds[6] = {v, q, pp, pp, t, v}, greens[6] = {t, v, v, q, pp, pp}, blues[6] = {pp, pp, t, v, v, q};
      ro[p] = reds[i];
      go[p] = greens[i];
      bo[p] = blues[i];
    }
  }
}

// adjustHue(img, shifts): img float32/float64 [..., 3, H, W] on the CPU, values
// in [0, 1]; shifts one number, or one per image.
static Napi::Value adjustHue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor img = unwrapTensor(info[0], "img");
  if (!img.is_cpu() || !(img.scalar_type() == at::kFloat || img.scalar_type() == at::kDouble) || img.dim() < 3 || img.size(-3) != 3)
    throwFlare(env, "E_ARGUMENT", "adjustHue kernel: img must be a float32/float64 CPU tensor [..., 3, H, W]");
  std::vector<double> shifts;
  if (info[1].IsNumber()) {
    shifts.push_back(info[1].As<Napi::Number>().DoubleValue());
  } else if (info[1].IsArray()) {
    Napi::Array array = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); i++) {
      Napi::Value shift = array.Get(i);
      if (!shift.IsNumber()) throwFlare(env, "E_ARGUMENT", "adjustHue kernel: shifts must be numbers");
      shifts.push_back(shift.As<Napi::Number>().DoubleValue());
    }
  } else {
    throwFlare(env, "E_ARGUMENT", "adjustHue kernel: shifts must be a number or an array of numbers");
  }
  at::Tensor x = img.contiguous();
  const int64_t plane = x.size(-1) * x.size(-2);
  const int64_t images = plane == 0 ? 0 : x.numel() / (3 * plane);
  if (shifts.size() != 1 && static_cast<int64_t>(shifts.size()) != images)
    throwFlare(env, "E_ARGUMENT", "adjustHue kernel: " + std::to_string(shifts.size()) + " shifts for " + std::to_string(images) + " images");
  at::Tensor out = at::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "adjust_hue", [&] {
    adjustHueKernel<scalar_t>(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), images, plane, shifts);
  });
  return wrapTensor(env, out);
}

// hwcToChw(data: Uint8Array, height, width, channels): a decoder's interleaved
// bytes as a new uint8 C×H×W tensor, in one pass (ATen's permute + contiguous
// takes ~5× longer on these strides).
static Napi::Value hwcToChw(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throwFlare(env, "E_ARGUMENT", "hwcToChw: data must be a Uint8Array");
  auto array = info[0].As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_uint8_array && array.TypedArrayType() != napi_uint8_clamped_array)
    throwFlare(env, "E_ARGUMENT", "hwcToChw: data must be a Uint8Array");
  for (int i = 1; i <= 3; i++)
    if (!info[i].IsNumber()) throwFlare(env, "E_ARGUMENT", "hwcToChw: height, width and channels must be numbers");
  const int64_t h = info[1].As<Napi::Number>().Int64Value(), w = info[2].As<Napi::Number>().Int64Value(),
                c = info[3].As<Napi::Number>().Int64Value();
  // Checked so that h * w * c cannot overflow.
  const int64_t length = static_cast<int64_t>(array.ByteLength());
  const int64_t most = INT64_MAX;
  if (h < 0 || w < 0 || c < 1 || (w != 0 && h > most / w) || (h * w != 0 && c > most / (h * w)) || h * w * c != length)
    throwFlare(env, "E_SHAPE", "hwcToChw: " + std::to_string(array.ByteLength()) + " bytes do not make " +
                                   std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c));
  const uint8_t* in = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  at::Tensor out = at::empty({c, h, w}, at::kByte);
  uint8_t* planes = out.data_ptr<uint8_t>();
  const int64_t plane = h * w;
  for (int64_t p = 0; p < plane; p++)
    for (int64_t k = 0; k < c; k++) planes[k * plane + p] = in[p * c + k];
  return wrapTensor(env, out);
}

void initKernels(Napi::Env env, Napi::Object exports) {
  exportFunction(env, exports, "hwcToChw", hwcToChw);
  exportFunction(env, exports, "adjustHue", adjustHue);
}

}  // namespace flare
