// Kernels libtorch lacks, where the tensor-op version is too slow. Each one
// reproduces the op sequence it replaces (torchvision's), element by element,
// so results are bit-identical; the transforms' parity fixtures check that.
#include "flare.h"

#include <ATen/Dispatch.h>

#include <algorithm>
#include <cmath>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#include <string>
#include <vector>

namespace flare {

// torchvision's _rgb2hsv → (h + shift) mod 1 → _hsv2rgb for one pixel. The
// two `% 1.0`s are written as the subtractions they amount to on these ranges
// (exact, by Sterbenz's lemma): fmod was most of the kernel's time.
template <typename T>
static inline void hueShiftPixel(T R, T G, T B, T shift, T* ro, T* go, T* bo) {
  const T one = 1, zero = 0;
  const T maxc = std::max(std::max(R, G), B), minc = std::min(std::min(R, G), B);
  const bool eqc = maxc == minc;
  const T cr = maxc - minc;
  const T s = cr / (eqc ? one : maxc);
  const T divisor = eqc ? one : cr;
  // Only the two of (maxc - X) / divisor that the hue's branch uses are computed (the same values).
  T hsum;
  if (maxc == R) {
    hsum = (maxc - B) / divisor - (maxc - G) / divisor;
  } else if (maxc == G) {
    const T rc = (maxc - R) / divisor, bc = (maxc - B) / divisor;
    hsum = (rc + T(2)) - bc;
  } else {
    const T rc = (maxc - R) / divisor, gc = (maxc - G) / divisor;
    hsum = (gc + T(4)) - rc;
  }
  // torchvision adds the three masked terms; two are zero, and x + 0 + 0 == x.
  const T h1 = hsum / T(6) + one;  // in [0, 2): fmod(h1, 1)
  const T h = h1 >= one ? h1 - one : h1;
  const T sum = h + shift;                     // in [-0.5, 1.5): ATen's remainder(sum, 1)
  const T m = sum >= one ? sum - one : (sum < zero ? sum + one : sum);
  // h6 is in [0, 6] (6 when a tiny negative sum + 1 rounds to 1): truncation is floor (a libm call on baseline x86-64).
  const T h6 = m * T(6), i0 = static_cast<T>(static_cast<int64_t>(h6)), f = h6 - i0, v = maxc;
  const T pp = std::min(std::max(v * (one - s), zero), one);
  const T q = std::min(std::max(v * (one - s * f), zero), one);
  const T t = std::min(std::max(v * (one - s * (one - f)), zero), one);
  int64_t i = static_cast<int64_t>(i0) % 6;
  if (i < 0) i += 6;
  const T reds[6] = {v, q, pp, pp, t, v}, greens[6] = {t, v, v, q, pp, pp}, blues[6] = {pp, pp, t, v, v, q};
  *ro = reds[i];
  *go = greens[i];
  *bo = blues[i];
}

template <typename T>
static void adjustHueKernel(const T* in, T* out, int64_t images, int64_t plane, const std::vector<double>& shifts) {
  for (int64_t k = 0; k < images; k++) {
    const T shift = static_cast<T>(shifts.size() == 1 ? shifts[0] : shifts[k]);
    const T* r = in + k * 3 * plane;
    const T* g = r + plane;
    const T* b = g + plane;
    T* ro = out + k * 3 * plane;
    T* go = ro + plane;
    T* bo = go + plane;
    for (int64_t p = 0; p < plane; p++) hueShiftPixel<T>(r[p], g[p], b[p], shift, ro + p, go + p, bo + p);
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
  // hueShiftPixel's wrap-around is exact for shifts of at most half a turn (torchvision's range).
  for (double shift : shifts)
    if (!(shift >= -0.5 && shift <= 0.5)) throwFlare(env, "E_ARGUMENT", "adjustHue kernel: shifts must be in [-0.5, 0.5], got " + std::to_string(shift));
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
  if (c == 3) {
    // The common case with a constant stride, which the compiler unrolls: several times faster.
    uint8_t *r = planes, *g = planes + plane, *b = planes + 2 * plane;
    for (int64_t p = 0; p < plane; p++) {
      r[p] = in[3 * p];
      g[p] = in[3 * p + 1];
      b[p] = in[3 * p + 2];
    }
  } else {
    for (int64_t p = 0; p < plane; p++)
      for (int64_t k = 0; k < c; k++) planes[k * plane + p] = in[p * c + k];
  }
  return wrapTensor(env, out);
}

// ---- uint8 augmentation kernels (the input pipeline's hot path) ----------------------------

// Numbers from a JS array, each checked.
static std::vector<double> numbers(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throwFlare(env, "E_ARGUMENT", std::string(what) + " must be an array of numbers");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<double> out(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value v = array.Get(i);
    if (!v.IsNumber()) throwFlare(env, "E_ARGUMENT", std::string(what) + " must be an array of numbers");
    out[i] = v.As<Napi::Number>().DoubleValue();
  }
  return out;
}

// ColorJitter on uint8 RGB images in one native call: each op is one pass over
// the image's three planes (in cache at 224², and with contrast's mean taken
// where the op sits in the order). Each op rounds as torchvision 0.14's does on
// uint8 — float32 arithmetic, clamp, truncation back to uint8 after every op — so
// the result equals the op-by-op path bit for bit; brightness and contrast are
// 256-entry tables, saturation's products too.
enum JitterKind { kBrightness = 0, kContrast = 1, kSaturation = 2, kHue = 3 };

struct ByteTables {
  float r[256], g[256], b[256], unit[256];
  ByteTables() {
    for (int v = 0; v < 256; v++) {
      r[v] = static_cast<float>(v) * 0.2989f;
      g[v] = static_cast<float>(v) * 0.587f;
      b[v] = static_cast<float>(v) * 0.114f;
      unit[v] = static_cast<float>(v) / 255.0f;  // adjust_hue's img.to(float32) / 255
    }
  }
  // torchvision's rgb_to_grayscale on uint8: a float32 sum, truncated.
  inline uint8_t gray(uint8_t R, uint8_t G, uint8_t B) const { return static_cast<uint8_t>((r[R] + g[G]) + b[B]); }
};
static const ByteTables byteTables;

static inline uint8_t clampTruncate(float v) { return static_cast<uint8_t>(std::min(std::max(v, 0.0f), 255.0f)); }

// torchvision's _blend(img, other, factor) on uint8 with a constant `other`, as a table.
static void blendTable(uint8_t* table, float factor, float rest, float other) {
  const float add = other * rest;
  for (int v = 0; v < 256; v++) table[v] = clampTruncate(static_cast<float>(v) * factor + add);
}

// torchvision's mean of the grayscale image (gray.to(float32).mean()): while the
// float32 sum of whole numbers stays below 2^24 it is exact in any order, so an
// integer sum gives ATen's result; past that ATen sums (its order decides).
static float grayMean(const uint8_t* r, const uint8_t* g, const uint8_t* b, int64_t plane) {
  if (plane * 255 < (int64_t(1) << 24)) {
    int64_t sum = 0;
    for (int64_t p = 0; p < plane; p++) sum += byteTables.gray(r[p], g[p], b[p]);
    return static_cast<float>(sum) / static_cast<float>(plane);
  }
  at::Tensor gray = at::empty({plane}, at::kFloat);
  float* out = gray.data_ptr<float>();
  for (int64_t p = 0; p < plane; p++) out[p] = byteTables.gray(r[p], g[p], b[p]);
  return gray.mean().item<float>();
}

// hueShiftPixel on four pixels at once with SSE2 (baseline x86-64): the same
// IEEE float operations in the same order, so the same results (tests compare
// them with ATen's op-by-op path). Max/min differ from std::max/min only in the
// sign of a zero result, and none arises from bytes / 255. Returns the number of
// pixels done (a multiple of 4); the caller does the rest.
#if defined(__SSE2__)
static int64_t hueShiftBytesAvx2(uint8_t* r, uint8_t* g, uint8_t* b, int64_t plane, float shift);

static int64_t hueShiftBytes(uint8_t* r, uint8_t* g, uint8_t* b, int64_t plane, float shift) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return hueShiftBytesAvx2(r, g, b, plane, shift);
  const __m128 one = _mm_set1_ps(1.0f), zero = _mm_setzero_ps(), two = _mm_set1_ps(2.0f), four = _mm_set1_ps(4.0f),
               six = _mm_set1_ps(6.0f), full = _mm_set1_ps(255.0f), shiftv = _mm_set1_ps(shift);
  const auto select = [](__m128 mask, __m128 a, __m128 b) { return _mm_or_ps(_mm_and_ps(mask, a), _mm_andnot_ps(mask, b)); };
  const float* unit = byteTables.unit;
  const int64_t end = plane - plane % 4;
  for (int64_t p = 0; p < end; p += 4) {
    const __m128 R = _mm_setr_ps(unit[r[p]], unit[r[p + 1]], unit[r[p + 2]], unit[r[p + 3]]);
    const __m128 G = _mm_setr_ps(unit[g[p]], unit[g[p + 1]], unit[g[p + 2]], unit[g[p + 3]]);
    const __m128 B = _mm_setr_ps(unit[b[p]], unit[b[p + 1]], unit[b[p + 2]], unit[b[p + 3]]);
    const __m128 maxc = _mm_max_ps(_mm_max_ps(R, G), B), minc = _mm_min_ps(_mm_min_ps(R, G), B);
    const __m128 eqc = _mm_cmpeq_ps(maxc, minc);
    const __m128 cr = _mm_sub_ps(maxc, minc);
    const __m128 s = _mm_div_ps(cr, select(eqc, one, maxc));
    const __m128 divisor = select(eqc, one, cr);
    const __m128 rc = _mm_div_ps(_mm_sub_ps(maxc, R), divisor), gc = _mm_div_ps(_mm_sub_ps(maxc, G), divisor),
                 bc = _mm_div_ps(_mm_sub_ps(maxc, B), divisor);
    const __m128 isR = _mm_cmpeq_ps(maxc, R), isG = _mm_andnot_ps(isR, _mm_cmpeq_ps(maxc, G));
    const __m128 hsum = select(isR, _mm_sub_ps(bc, gc), select(isG, _mm_sub_ps(_mm_add_ps(rc, two), bc), _mm_sub_ps(_mm_add_ps(gc, four), rc)));
    const __m128 h1 = _mm_add_ps(_mm_div_ps(hsum, six), one);
    const __m128 h = select(_mm_cmpge_ps(h1, one), _mm_sub_ps(h1, one), h1);
    const __m128 sum = _mm_add_ps(h, shiftv);
    const __m128 m = select(_mm_cmpge_ps(sum, one), _mm_sub_ps(sum, one), select(_mm_cmplt_ps(sum, zero), _mm_add_ps(sum, one), sum));
    const __m128 h6 = _mm_mul_ps(m, six);
    const __m128 i0 = _mm_cvtepi32_ps(_mm_cvttps_epi32(h6));
    const __m128 f = _mm_sub_ps(h6, i0), v = maxc;
    const __m128 pp = _mm_min_ps(_mm_max_ps(_mm_mul_ps(v, _mm_sub_ps(one, s)), zero), one);
    const __m128 q = _mm_min_ps(_mm_max_ps(_mm_mul_ps(v, _mm_sub_ps(one, _mm_mul_ps(s, f))), zero), one);
    const __m128 t = _mm_min_ps(_mm_max_ps(_mm_mul_ps(v, _mm_sub_ps(one, _mm_mul_ps(s, _mm_sub_ps(one, f)))), zero), one);
    // The sector i0 picks (r, g, b): 0 (v, t, p), 1 (q, v, p), 2 (p, v, t), 3 (p, q, v), 4 (t, p, v), 5 (v, p, q);
    // 6 is sector 0 (torchvision's i % 6): m is 1.0 when a tiny negative hue + 1 rounds up.
    const __m128 s0 = _mm_or_ps(_mm_cmpeq_ps(i0, zero), _mm_cmpeq_ps(i0, six)), s1 = _mm_cmpeq_ps(i0, one), s2 = _mm_cmpeq_ps(i0, two),
                 s3 = _mm_cmpeq_ps(i0, _mm_set1_ps(3.0f)), s4 = _mm_cmpeq_ps(i0, four), s5 = _mm_cmpeq_ps(i0, _mm_set1_ps(5.0f));
    const __m128 ro = select(_mm_or_ps(s0, s5), v, select(s1, q, select(s4, t, pp)));
    const __m128 go = select(_mm_or_ps(s1, s2), v, select(s0, t, select(s3, q, pp)));
    const __m128 bo = select(_mm_or_ps(s3, s4), v, select(s2, t, select(s5, q, pp)));
    alignas(16) int32_t out[12];
    _mm_store_si128(reinterpret_cast<__m128i*>(out), _mm_cvttps_epi32(_mm_mul_ps(ro, full)));
    _mm_store_si128(reinterpret_cast<__m128i*>(out + 4), _mm_cvttps_epi32(_mm_mul_ps(go, full)));
    _mm_store_si128(reinterpret_cast<__m128i*>(out + 8), _mm_cvttps_epi32(_mm_mul_ps(bo, full)));
    for (int k = 0; k < 4; k++) {
      r[p + k] = static_cast<uint8_t>(out[k]);
      g[p + k] = static_cast<uint8_t>(out[4 + k]);
      b[p + k] = static_cast<uint8_t>(out[8 + k]);
    }
  }
  return end;
}

// The same on eight pixels at once where the CPU has AVX2 (no FMA: the target
// leaves it out, so no multiply-add is fused and the roundings stay the same).
__attribute__((target("avx2"))) static int64_t hueShiftBytesAvx2(uint8_t* r, uint8_t* g, uint8_t* b, int64_t plane, float shift) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps(), two = _mm256_set1_ps(2.0f), three = _mm256_set1_ps(3.0f),
               four = _mm256_set1_ps(4.0f), five = _mm256_set1_ps(5.0f), six = _mm256_set1_ps(6.0f), full = _mm256_set1_ps(255.0f),
               shiftv = _mm256_set1_ps(shift);
// select(mask, a, b): a where mask is set; load: bytes / 255, as adjust_hue's img.to(float32) / 255.
#define select(mask, a, b) _mm256_blendv_ps((b), (a), (mask))
#define load(p) _mm256_div_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))), full)
  const int64_t end = plane - plane % 8;
  for (int64_t p = 0; p < end; p += 8) {
    const __m256 R = load(r + p), G = load(g + p), B = load(b + p);
    const __m256 maxc = _mm256_max_ps(_mm256_max_ps(R, G), B), minc = _mm256_min_ps(_mm256_min_ps(R, G), B);
    const __m256 eqc = _mm256_cmp_ps(maxc, minc, _CMP_EQ_OQ);
    const __m256 cr = _mm256_sub_ps(maxc, minc);
    const __m256 s = _mm256_div_ps(cr, select(eqc, one, maxc));
    const __m256 divisor = select(eqc, one, cr);
    const __m256 rc = _mm256_div_ps(_mm256_sub_ps(maxc, R), divisor), gc = _mm256_div_ps(_mm256_sub_ps(maxc, G), divisor),
                 bc = _mm256_div_ps(_mm256_sub_ps(maxc, B), divisor);
    const __m256 isR = _mm256_cmp_ps(maxc, R, _CMP_EQ_OQ), isG = _mm256_andnot_ps(isR, _mm256_cmp_ps(maxc, G, _CMP_EQ_OQ));
    const __m256 hsum = select(isR, _mm256_sub_ps(bc, gc), select(isG, _mm256_sub_ps(_mm256_add_ps(rc, two), bc), _mm256_sub_ps(_mm256_add_ps(gc, four), rc)));
    const __m256 h1 = _mm256_add_ps(_mm256_div_ps(hsum, six), one);
    const __m256 h = select(_mm256_cmp_ps(h1, one, _CMP_GE_OQ), _mm256_sub_ps(h1, one), h1);
    const __m256 sum = _mm256_add_ps(h, shiftv);
    const __m256 m = select(_mm256_cmp_ps(sum, one, _CMP_GE_OQ), _mm256_sub_ps(sum, one),
                            select(_mm256_cmp_ps(sum, zero, _CMP_LT_OQ), _mm256_add_ps(sum, one), sum));
    const __m256 h6 = _mm256_mul_ps(m, six);
    const __m256 i0 = _mm256_cvtepi32_ps(_mm256_cvttps_epi32(h6));
    const __m256 f = _mm256_sub_ps(h6, i0), v = maxc;
    const __m256 pp = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v, _mm256_sub_ps(one, s)), zero), one);
    const __m256 q = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v, _mm256_sub_ps(one, _mm256_mul_ps(s, f))), zero), one);
    const __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v, _mm256_sub_ps(one, _mm256_mul_ps(s, _mm256_sub_ps(one, f)))), zero), one);
    const __m256 s0 = _mm256_or_ps(_mm256_cmp_ps(i0, zero, _CMP_EQ_OQ), _mm256_cmp_ps(i0, six, _CMP_EQ_OQ)), s1 = _mm256_cmp_ps(i0, one, _CMP_EQ_OQ), s2 = _mm256_cmp_ps(i0, two, _CMP_EQ_OQ),
                 s3 = _mm256_cmp_ps(i0, three, _CMP_EQ_OQ), s4 = _mm256_cmp_ps(i0, four, _CMP_EQ_OQ), s5 = _mm256_cmp_ps(i0, five, _CMP_EQ_OQ);
    const __m256 ro = select(_mm256_or_ps(s0, s5), v, select(s1, q, select(s4, t, pp)));
    const __m256 go = select(_mm256_or_ps(s1, s2), v, select(s0, t, select(s3, q, pp)));
    const __m256 bo = select(_mm256_or_ps(s3, s4), v, select(s2, t, select(s5, q, pp)));
    alignas(32) int32_t out[24];
    _mm256_store_si256(reinterpret_cast<__m256i*>(out), _mm256_cvttps_epi32(_mm256_mul_ps(ro, full)));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + 8), _mm256_cvttps_epi32(_mm256_mul_ps(go, full)));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + 16), _mm256_cvttps_epi32(_mm256_mul_ps(bo, full)));
    for (int k = 0; k < 8; k++) {
      r[p + k] = static_cast<uint8_t>(out[k]);
      g[p + k] = static_cast<uint8_t>(out[8 + k]);
      b[p + k] = static_cast<uint8_t>(out[16 + k]);
    }
  }
  return end;
#undef select
#undef load
}
#else
static int64_t hueShiftBytes(uint8_t*, uint8_t*, uint8_t*, int64_t, float) { return 0; }
#endif

// The saturation blend on four pixels at once with SSE2, the float operations
// of the scalar loop below in the same order (the same results). Returns the
// number of pixels done.
#if defined(__SSE2__)
static int64_t saturateBytes(uint8_t* r, uint8_t* g, uint8_t* b, int64_t plane, float factor, float rest) {
  const __m128 wr = _mm_set1_ps(0.2989f), wg = _mm_set1_ps(0.587f), wb = _mm_set1_ps(0.114f), f = _mm_set1_ps(factor),
               k = _mm_set1_ps(rest), zero = _mm_setzero_ps(), top = _mm_set1_ps(255.0f);
  const int64_t end = plane - plane % 4;
  for (int64_t p = 0; p < end; p += 4) {
    const __m128 R = _mm_cvtepi32_ps(_mm_setr_epi32(r[p], r[p + 1], r[p + 2], r[p + 3]));
    const __m128 G = _mm_cvtepi32_ps(_mm_setr_epi32(g[p], g[p + 1], g[p + 2], g[p + 3]));
    const __m128 B = _mm_cvtepi32_ps(_mm_setr_epi32(b[p], b[p + 1], b[p + 2], b[p + 3]));
    const __m128 gray = _mm_cvtepi32_ps(_mm_cvttps_epi32(_mm_add_ps(_mm_add_ps(_mm_mul_ps(R, wr), _mm_mul_ps(G, wg)), _mm_mul_ps(B, wb))));
    const __m128 add = _mm_mul_ps(gray, k);
    const auto blend = [&](__m128 v) { return _mm_cvttps_epi32(_mm_min_ps(_mm_max_ps(_mm_add_ps(_mm_mul_ps(v, f), add), zero), top)); };
    alignas(16) int32_t out[12];
    _mm_store_si128(reinterpret_cast<__m128i*>(out), blend(R));
    _mm_store_si128(reinterpret_cast<__m128i*>(out + 4), blend(G));
    _mm_store_si128(reinterpret_cast<__m128i*>(out + 8), blend(B));
    for (int j = 0; j < 4; j++) {
      r[p + j] = static_cast<uint8_t>(out[j]);
      g[p + j] = static_cast<uint8_t>(out[4 + j]);
      b[p + j] = static_cast<uint8_t>(out[8 + j]);
    }
  }
  return end;
}
#else
static int64_t saturateBytes(uint8_t*, uint8_t*, uint8_t*, int64_t, float, float) { return 0; }
#endif

// One jitter op on an image's planes, in place.
static void jitterPass(int kind, double factor, uint8_t* r, uint8_t* g, uint8_t* b, int64_t plane) {
  const float f = static_cast<float>(factor), rest = static_cast<float>(1.0 - factor);  // ATen's float32 scalars
  if (kind == kBrightness || kind == kContrast) {
    uint8_t table[256];
    blendTable(table, f, rest, kind == kBrightness ? 0.0f : grayMean(r, g, b, plane));
    for (int64_t p = 0; p < plane; p++) { r[p] = table[r[p]]; g[p] = table[g[p]]; b[p] = table[b[p]]; }
  } else if (kind == kSaturation) {
    // The vector pass leaves at most 3 pixels (none where it runs whole planes).
    for (int64_t p = saturateBytes(r, g, b, plane, f, rest); p < plane; p++) {
      const float add = static_cast<float>(byteTables.gray(r[p], g[p], b[p])) * rest;
      r[p] = clampTruncate(static_cast<float>(r[p]) * f + add); g[p] = clampTruncate(static_cast<float>(g[p]) * f + add);
      b[p] = clampTruncate(static_cast<float>(b[p]) * f + add);
    }
  } else {
    const int64_t done = hueShiftBytes(r, g, b, plane, f);
    for (int64_t p = done; p < plane; p++) {
      float R, G, B;
      hueShiftPixel<float>(byteTables.unit[r[p]], byteTables.unit[g[p]], byteTables.unit[b[p]], f, &R, &G, &B);
      r[p] = static_cast<uint8_t>(R * 255.0f); g[p] = static_cast<uint8_t>(G * 255.0f); b[p] = static_cast<uint8_t>(B * 255.0f);
    }
  }
}

// colorJitterUint8(img, orders, factors): img uint8 CPU [..., 3, H, W]; per image
// (or one set for all) an order (a permutation of 0..3: brightness, contrast,
// saturation, hue) and four factors in that key order, NaN for an op not drawn.
static Napi::Value colorJitterUint8(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor img = unwrapTensor(info[0], "img");
  if (!img.is_cpu() || img.scalar_type() != at::kByte || img.dim() < 3 || img.size(-3) != 3)
    throwFlare(env, "E_ARGUMENT", "colorJitterUint8: img must be a uint8 CPU tensor [..., 3, H, W]");
  const std::vector<double> orders = numbers(env, info[1], "colorJitterUint8: orders");
  const std::vector<double> factors = numbers(env, info[2], "colorJitterUint8: factors");
  const int64_t plane = img.size(-1) * img.size(-2);
  const int64_t images = plane == 0 ? 0 : img.numel() / (3 * plane);
  const bool shared = orders.size() == 4 && factors.size() == 4;
  if (!shared && (static_cast<int64_t>(orders.size()) != 4 * images || static_cast<int64_t>(factors.size()) != 4 * images))
    throwFlare(env, "E_ARGUMENT", "colorJitterUint8: orders and factors need 4 numbers for all images or 4 per image (" + std::to_string(images) + ")");
  for (size_t k = 0; k < orders.size(); k += 4) {
    bool seen[4] = {false, false, false, false};
    for (size_t j = k; j < k + 4; j++) {
      const double o = orders[j];
      if (!(o >= 0 && o <= 3 && o == std::floor(o)) || seen[static_cast<int>(o)])
        throwFlare(env, "E_ARGUMENT", "colorJitterUint8: each order must be a permutation of 0, 1, 2, 3");
      seen[static_cast<int>(o)] = true;
    }
  }
  for (size_t j = 0; j < factors.size(); j++) {
    const double f = factors[j];
    if (std::isnan(f)) continue;
    const bool hue = j % 4 == kHue;
    if (hue ? !(f >= -0.5 && f <= 0.5) : !(f >= 0 && std::isfinite(f)))
      throwFlare(env, "E_ARGUMENT", std::string("colorJitterUint8: ") + (hue ? "hue factors must be in [-0.5, 0.5]" : "brightness, contrast and saturation factors must be finite and non-negative"));
  }
  at::Tensor out = img.clone(at::MemoryFormat::Contiguous);
  uint8_t* data = out.data_ptr<uint8_t>();
  for (int64_t k = 0; k < images; k++) {
    const size_t at = shared ? 0 : static_cast<size_t>(4 * k);
    uint8_t* r = data + k * 3 * plane;
    for (int j = 0; j < 4; j++) {
      const int kind = static_cast<int>(orders[at + j]);
      if (!std::isnan(factors[at + kind])) jitterPass(kind, factors[at + kind], r, r + plane, r + 2 * plane, plane);
    }
  }
  return wrapTensor(env, out);
}

// normalizeUint8(images, mean, std): uint8 CPU images, all [C, H, W], stacked
// into one float32 [N, C, H, W] batch of (x / 255 - mean[c]) / std[c] — torchvision's
// ToDtype(float32, scale=True) then Normalize, float32 op for op — through a
// 256-entry table per channel.
static Napi::Value normalizeUint8(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || info[0].As<Napi::Array>().Length() == 0)
    throwFlare(env, "E_ARGUMENT", "normalizeUint8: images must be a non-empty array of tensors");
  Napi::Array list = info[0].As<Napi::Array>();
  const std::vector<double> mean = numbers(env, info[1], "normalizeUint8: mean"), stdev = numbers(env, info[2], "normalizeUint8: std");
  std::vector<at::Tensor> images;
  for (uint32_t i = 0; i < list.Length(); i++) {
    at::Tensor t = unwrapTensor(list.Get(i), "normalizeUint8: images");
    if (!t.is_cpu() || t.scalar_type() != at::kByte || t.dim() != 3)
      throwFlare(env, "E_ARGUMENT", "normalizeUint8: image " + std::to_string(i) + " must be a uint8 CPU tensor [C, H, W]");
    if (i > 0 && t.sizes() != images[0].sizes())
      throwFlare(env, "E_SHAPE", "normalizeUint8: image " + std::to_string(i) + " has another shape than image 0");
    images.push_back(t.contiguous());
  }
  const int64_t c = images[0].size(0), plane = images[0].size(1) * images[0].size(2);
  const auto perChannel = [&](const std::vector<double>& v, const char* name) {
    if (v.size() != 1 && static_cast<int64_t>(v.size()) != c)
      throwFlare(env, "E_SHAPE", std::string("normalizeUint8: ") + name + " has " + std::to_string(v.size()) + " values for " + std::to_string(c) + " channels");
  };
  perChannel(mean, "mean");
  perChannel(stdev, "std");
  std::vector<float> tables(static_cast<size_t>(c) * 256);
  for (int64_t ch = 0; ch < c; ch++) {
    const float m = static_cast<float>(mean.size() == 1 ? mean[0] : mean[ch]), s = static_cast<float>(stdev.size() == 1 ? stdev[0] : stdev[ch]);
    if (s == 0.0f) throwFlare(env, "E_ARGUMENT", "normalizeUint8: std must not contain zeros");
    for (int v = 0; v < 256; v++) tables[ch * 256 + v] = (static_cast<float>(v) / 255.0f - m) / s;
  }
  at::Tensor out = at::empty({static_cast<int64_t>(images.size()), c, images[0].size(1), images[0].size(2)}, at::kFloat);
  float* dst = out.data_ptr<float>();
  for (const at::Tensor& t : images) {
    const uint8_t* src = t.data_ptr<uint8_t>();
    for (int64_t ch = 0; ch < c; ch++) {
      const float* table = tables.data() + ch * 256;
      for (int64_t p = 0; p < plane; p++) *dst++ = table[*src++];
    }
  }
  return wrapTensor(env, out);
}

// resizedCropUint8(img, boxes, outHeight, outWidth): img uint8 CPU [C, H, W] or
// [N, C, H, W]; boxes [top, left, height, width], one for all images or one per
// image, each inside the image. Each region is resized as torchvision's
// resized_crop does on a uint8 tensor — to float32, ATen's own bilinear
// upsampling (align_corners false, no antialias), round half to even, back to
// uint8 — so the values are ATen's; the JS op chain's intermediate tensors
// become one float buffer and one pass.
static Napi::Value resizedCropUint8(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor img = unwrapTensor(info[0], "img");
  if (!img.is_cpu() || img.scalar_type() != at::kByte || (img.dim() != 3 && img.dim() != 4))
    throwFlare(env, "E_ARGUMENT", "resizedCropUint8: img must be a uint8 CPU tensor [C, H, W] or [N, C, H, W]");
  const std::vector<double> boxes = numbers(env, info[1], "resizedCropUint8: boxes");
  if (!info[2].IsNumber() || !info[3].IsNumber()) throwFlare(env, "E_ARGUMENT", "resizedCropUint8: outHeight and outWidth must be numbers");
  const int64_t oh = info[2].As<Napi::Number>().Int64Value(), ow = info[3].As<Napi::Number>().Int64Value();
  const bool batched = img.dim() == 4;
  const int64_t n = batched ? img.size(0) : 1, c = img.size(-3), h = img.size(-2), w = img.size(-1);
  if (oh < 1 || ow < 1) throwFlare(env, "E_ARGUMENT", "resizedCropUint8: the output size must be positive");
  const bool shared = boxes.size() == 4;
  if (!shared && static_cast<int64_t>(boxes.size()) != 4 * n)
    throwFlare(env, "E_ARGUMENT", "resizedCropUint8: " + std::to_string(boxes.size()) + " box numbers for " + std::to_string(n) + " images (4 for all, or 4 each)");
  for (size_t k = 0; k < boxes.size(); k += 4) {
    const double top = boxes[k], left = boxes[k + 1], bh = boxes[k + 2], bw = boxes[k + 3];
    const bool integral = top == std::floor(top) && left == std::floor(left) && bh == std::floor(bh) && bw == std::floor(bw);
    if (!integral || top < 0 || left < 0 || bh < 1 || bw < 1 || top + bh > h || left + bw > w)
      throwFlare(env, "E_ARGUMENT", "resizedCropUint8: box " + std::to_string(k / 4) + " is not a region of whole pixels inside the " +
                                        std::to_string(h) + "x" + std::to_string(w) + " image");
  }
  at::Tensor out = batched ? at::empty({n, c, oh, ow}, at::kByte) : at::empty({c, oh, ow}, at::kByte);
  const int64_t groups = shared ? 1 : n;  // one upsampling call per box
  for (int64_t k = 0; k < groups; k++) {
    const double* box = boxes.data() + 4 * k;
    at::Tensor source = shared ? (batched ? img : img.unsqueeze(0)) : img.narrow(0, k, 1);
    at::Tensor region = source.narrow(2, static_cast<int64_t>(box[0]), static_cast<int64_t>(box[2]))
                            .narrow(3, static_cast<int64_t>(box[1]), static_cast<int64_t>(box[3]));
    at::Tensor x = at::empty(region.sizes(), at::kFloat);  // contiguous, as .to(float32) makes it
    x.copy_(region);
    at::Tensor y = at::upsample_bilinear2d(x, {oh, ow}, false, c10::nullopt, c10::nullopt).contiguous();
    const float* src = y.data_ptr<float>();
    uint8_t* dst = out.data_ptr<uint8_t>() + (shared ? 0 : k * c * oh * ow);
    // torch.round (half to even) without a libm call: adding and removing 2^23 rounds a float in [0, 2^22)
    // to the nearest integer, ties to even, in the default rounding mode; bilinear values stay in [0, 255].
    const float magic = 8388608.0f;
    for (int64_t i = 0, count = y.numel(); i < count; i++) dst[i] = static_cast<uint8_t>((src[i] + magic) - magic);
  }
  return wrapTensor(env, out);
}

void initKernels(Napi::Env env, Napi::Object exports) {
  exportFunction(env, exports, "hwcToChw", hwcToChw);
  exportFunction(env, exports, "adjustHue", adjustHue);
  exportFunction(env, exports, "colorJitterUint8", colorJitterUint8);
  exportFunction(env, exports, "normalizeUint8", normalizeUint8);
  exportFunction(env, exports, "resizedCropUint8", resizedCropUint8);
}

}  // namespace flare
