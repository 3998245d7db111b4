// Non-maximum suppression without the N×N IoU matrix, as torchvision's CPU
// kernel (torchvision/csrc/ops/cpu/nms_kernel.cpp): a stable descending sort of
// the scores (ties keep index order), then each kept box suppresses the later
// boxes whose IoU with it is > iouThreshold. IoU is computed on the fly in the
// boxes' own dtype with torchvision's expression, so the kept set is the same
// bit for bit. Unlike torchvision, the surviving candidates are kept compacted
// in sorted order (structure of arrays), so each pass reads memory
// sequentially, skips the suppressed boxes entirely, and computes four float
// IoUs at a time (SSE2, the x86-64 baseline). The pairwise IoU matrix
// (ops.boxIou without gradients) shares the arithmetic, fused in one pass.
#include "flare.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace flare {

namespace {

// The candidates still alive, in descending score order.
template <typename T>
struct Candidates {
  std::vector<T> x1, y1, x2, y2, area;
  std::vector<int64_t> index;  // position in the input
  explicit Candidates(size_t n) : x1(n), y1(n), x2(n), y2(n), area(n), index(n) {}
};

// torchvision compares the IoU, in the boxes' dtype, with the threshold as a
// double. For float IoUs, `ovr > t` (as doubles) is exactly `ovr > f` with f
// the largest float <= t, which keeps the comparison in float (and in SIMD).
float floatThreshold(double t) {
  float f = static_cast<float>(t);
  if (static_cast<double>(f) > t) f = std::nextafter(f, -INFINITY);
  return f;
}

// One IoU as torchvision's kernel computes it (std::max / std::min operand order included).
template <typename T>
inline T iouWith(T ix1, T iy1, T ix2, T iy2, T iarea, T x1, T y1, T x2, T y2, T area) {
  const T xx1 = std::max(ix1, x1), yy1 = std::max(iy1, y1);
  const T xx2 = std::min(ix2, x2), yy2 = std::min(iy2, y2);
  const T w = std::max(static_cast<T>(0), xx2 - xx1);
  const T h = std::max(static_cast<T>(0), yy2 - yy1);
  const T inter = w * h;
  return inter / (iarea + area - inter);
}

// flags[j] = 1 for each candidate j in [1, count) whose IoU with candidate 0
// is > threshold; returns how many.
template <typename T>
int64_t markOverlaps(const T* x1, const T* y1, const T* x2, const T* y2, const T* area, int64_t count, T threshold, uint8_t* flags) {
  int64_t total = 0;
  for (int64_t j = 1; j < count; j++) {
    const bool hit = iouWith(x1[0], y1[0], x2[0], y2[0], area[0], x1[j], y1[j], x2[j], y2[j], area[j]) > threshold;
    flags[j] = hit;
    total += hit;
  }
  return total;
}

#if defined(__SSE2__)
// Four IoUs at a time: the same IEEE operations as iouWith (std::max(a, b) is
// _mm_max_ps(b, a), std::min(a, b) is _mm_min_ps(b, a)), so the same bits.
template <>
int64_t markOverlaps<float>(const float* x1, const float* y1, const float* x2, const float* y2, const float* area, int64_t count, float threshold, uint8_t* flags) {
  const __m128 ix1 = _mm_set1_ps(x1[0]), iy1 = _mm_set1_ps(y1[0]), ix2 = _mm_set1_ps(x2[0]), iy2 = _mm_set1_ps(y2[0]);
  const __m128 iarea = _mm_set1_ps(area[0]), zero = _mm_setzero_ps(), t = _mm_set1_ps(threshold);
  int64_t total = 0, j = 1;
  for (; j + 4 <= count; j += 4) {
    const __m128 xx1 = _mm_max_ps(_mm_loadu_ps(x1 + j), ix1), yy1 = _mm_max_ps(_mm_loadu_ps(y1 + j), iy1);
    const __m128 xx2 = _mm_min_ps(_mm_loadu_ps(x2 + j), ix2), yy2 = _mm_min_ps(_mm_loadu_ps(y2 + j), iy2);
    const __m128 w = _mm_max_ps(_mm_sub_ps(xx2, xx1), zero), h = _mm_max_ps(_mm_sub_ps(yy2, yy1), zero);
    const __m128 inter = _mm_mul_ps(w, h);
    const __m128 ovr = _mm_div_ps(inter, _mm_sub_ps(_mm_add_ps(iarea, _mm_loadu_ps(area + j)), inter));
    const int bits = _mm_movemask_ps(_mm_cmpgt_ps(ovr, t));
    flags[j] = bits & 1;
    flags[j + 1] = (bits >> 1) & 1;
    flags[j + 2] = (bits >> 2) & 1;
    flags[j + 3] = (bits >> 3) & 1;
    total += __builtin_popcount(bits);
  }
  for (; j < count; j++) {
    const bool hit = iouWith(x1[0], y1[0], x2[0], y2[0], area[0], x1[j], y1[j], x2[j], y2[j], area[j]) > threshold;
    flags[j] = hit;
    total += hit;
  }
  return total;
}
#endif

// Greedy NMS over the first `count` candidates of `c` (sorted): appends the
// kept input indices to `keep`. Each round keeps the first candidate, marks
// the ones it suppresses, and compacts the survivors (or, when none is
// suppressed, just steps past the kept one).
template <typename T>
void suppress(Candidates<T>& c, int64_t count, double iouThreshold, std::vector<int64_t>& keep) {
  const T threshold = std::is_same<T, float>::value ? static_cast<T>(floatThreshold(iouThreshold)) : static_cast<T>(iouThreshold);
  T* x1 = c.x1.data();
  T* y1 = c.y1.data();
  T* x2 = c.x2.data();
  T* y2 = c.y2.data();
  T* area = c.area.data();
  int64_t* index = c.index.data();
  std::vector<uint8_t> flags(count + 4);
  while (count > 0) {
    keep.push_back(index[0]);
    const int64_t hits = markOverlaps<T>(x1, y1, x2, y2, area, count, threshold, flags.data());
    if (hits == 0) {
      x1++, y1++, x2++, y2++, area++, index++;
      count--;
      continue;
    }
    int64_t alive = 0;
    for (int64_t j = 1; j < count; j++) {
      // Branch-free compaction: write always, advance only for survivors.
      x1[alive] = x1[j];
      y1[alive] = y1[j];
      x2[alive] = x2[j];
      y2[alive] = y2[j];
      area[alive] = area[j];
      index[alive] = index[j];
      alive += !flags[j];
    }
    count = alive;
  }
}

// The input positions sorted by descending score, ties by ascending position.
at::Tensor sortOrder(const at::Tensor& scores) {
  return std::get<1>(at::sort(scores, /*stable=*/true, /*dim=*/0, /*descending=*/true)).contiguous();
}

struct Checked {
  at::Tensor boxes, scores;
  at::Device device = at::kCPU;
};

// Validates and moves the inputs to contiguous CPU tensors.
Checked checkInputs(Napi::Env env, const char* fn, const at::Tensor& boxes, const at::Tensor& scores) {
  const std::string name(fn);
  if (boxes.dim() != 2 || boxes.size(1) != 4)
    throwFlare(env, "E_SHAPE", name + "(): boxes must have shape [N, 4], got " + c10::str(boxes.sizes()));
  if (scores.dim() != 1 || scores.size(0) != boxes.size(0))
    throwFlare(env, "E_SHAPE", name + "(): scores must have shape [" + std::to_string(boxes.size(0)) + "], got " + c10::str(scores.sizes()));
  if (boxes.scalar_type() != at::kFloat && boxes.scalar_type() != at::kDouble)
    throwFlare(env, "E_DTYPE", name + "(): boxes must be float32 or float64, got " + dtypeName(boxes.scalar_type()));
  if (scores.scalar_type() != boxes.scalar_type())
    throwFlare(env, "E_DTYPE", name + "(): scores must have the dtype of boxes (" + dtypeName(boxes.scalar_type()) + "), got " + dtypeName(scores.scalar_type()));
  if (boxes.device() != scores.device())
    throwFlare(env, "E_DEVICE", name + "(): boxes are on " + deviceName(boxes.device()) + " but scores on " + deviceName(scores.device()));
  Checked out;
  out.device = boxes.device();
  out.boxes = boxes.to(at::kCPU).contiguous();
  out.scores = scores.to(at::kCPU).contiguous();
  if (at::isnan(out.scores).any().item<bool>()) throwFlare(env, "E_ARGUMENT", name + "(): scores contain NaN");
  if (!at::isfinite(out.boxes).all().item<bool>()) throwFlare(env, "E_ARGUMENT", name + "(): boxes contain NaN or infinite coordinates");
  return out;
}

double thresholdArg(Napi::Env env, const char* fn, const Napi::Value& value) {
  if (!value.IsNumber()) throwFlare(env, "E_ARGUMENT", std::string(fn) + "(): iouThreshold must be a number");
  const double t = value.As<Napi::Number>().DoubleValue();
  if (std::isnan(t)) throwFlare(env, "E_ARGUMENT", std::string(fn) + "(): iouThreshold must be a number, got NaN");
  return t;
}

// Fills `c` with the boxes in the given order (positions into `order`).
template <typename T>
void gather(Candidates<T>& c, const T* b, const int64_t* order, const int64_t* positions, int64_t count) {
  for (int64_t k = 0; k < count; k++) {
    const int64_t i = order[positions ? positions[k] : k];
    const T* r = b + 4 * i;
    c.x1[k] = r[0];
    c.y1[k] = r[1];
    c.x2[k] = r[2];
    c.y2[k] = r[3];
    c.area[k] = (r[2] - r[0]) * (r[3] - r[1]);  // torchvision: (x2 - x1) * (y2 - y1)
    c.index[k] = i;
  }
}

at::Tensor keptTensor(const std::vector<int64_t>& keep, const at::Device& device) {
  at::Tensor out = at::empty({static_cast<int64_t>(keep.size())}, at::kLong);
  std::copy(keep.begin(), keep.end(), out.data_ptr<int64_t>());
  return device.is_cpu() ? out : out.to(device);
}

// nms(boxes [N, 4], scores [N], iouThreshold[, name]) -> int64 [K] kept indices by decreasing score.
Napi::Value nms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // The caller's name for messages (batchedNms calls this for its small inputs).
  const std::string fn = info.Length() > 3 && info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "nms";
  Checked in = checkInputs(env, fn.c_str(), unwrapTensor(info[0], "boxes"), unwrapTensor(info[1], "scores"));
  const double threshold = thresholdArg(env, fn.c_str(), info[2]);
  const int64_t n = in.boxes.size(0);
  std::vector<int64_t> keep;
  if (n > 0) {
    at::Tensor order = sortOrder(in.scores);
    AT_DISPATCH_FLOATING_TYPES(in.boxes.scalar_type(), "nms", [&] {
      Candidates<scalar_t> c(n);
      gather(c, in.boxes.data_ptr<scalar_t>(), order.data_ptr<int64_t>(), nullptr, n);
      suppress(c, n, threshold, keep);
    });
  }
  return wrapTensor(env, keptTensor(keep, in.device));
}

// batchedNms(boxes, scores, idxs [N] integer, iouThreshold): NMS within each
// category, the kept indices by decreasing score: torchvision's per-category
// ("vanilla") path, in one call and with no coordinate offsets.
Napi::Value batchedNms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Checked in = checkInputs(env, "batchedNms", unwrapTensor(info[0], "boxes"), unwrapTensor(info[1], "scores"));
  at::Tensor idxs = unwrapTensor(info[2], "idxs");
  const double threshold = thresholdArg(env, "batchedNms", info[3]);
  const int64_t n = in.boxes.size(0);
  if (idxs.dim() != 1 || idxs.size(0) != n)
    throwFlare(env, "E_SHAPE", "batchedNms(): idxs must have shape [" + std::to_string(n) + "], got " + c10::str(idxs.sizes()));
  if (!at::isIntegralType(idxs.scalar_type(), /*includeBool=*/false))
    throwFlare(env, "E_DTYPE", std::string("batchedNms(): idxs must be an integer tensor, got ") + dtypeName(idxs.scalar_type()));
  std::vector<int64_t> keep;
  if (n > 0) {
    at::Tensor order = sortOrder(in.scores);
    at::Tensor categories = idxs.to(at::kCPU).to(at::kLong).contiguous();
    const int64_t* cat = categories.data_ptr<int64_t>();
    const int64_t* ord = order.data_ptr<int64_t>();
    // Sorted positions grouped by category (each group stays in score order).
    std::vector<int64_t> byCategory(n);
    std::iota(byCategory.begin(), byCategory.end(), 0);
    std::stable_sort(byCategory.begin(), byCategory.end(), [&](int64_t a, int64_t b) { return cat[ord[a]] < cat[ord[b]]; });
    std::vector<int64_t> keptPositions;
    AT_DISPATCH_FLOATING_TYPES(in.boxes.scalar_type(), "batched_nms", [&] {
      Candidates<scalar_t> c(n);
      std::vector<int64_t> keptHere;
      for (int64_t start = 0; start < n;) {
        int64_t end = start;
        while (end < n && cat[ord[byCategory[end]]] == cat[ord[byCategory[start]]]) end++;
        // index[] holds sorted positions here (mapped back to the input below).
        gather(c, in.boxes.data_ptr<scalar_t>(), ord, byCategory.data() + start, end - start);
        for (int64_t k = 0; k < end - start; k++) c.index[k] = byCategory[start + k];
        keptHere.clear();
        suppress(c, end - start, threshold, keptHere);
        keptPositions.insert(keptPositions.end(), keptHere.begin(), keptHere.end());
        start = end;
      }
    });
    // torchvision's vanilla path ends with keep_indices (ascending) ordered by
    // an unstable descending sort of their scores: the same call here gives
    // the same order among equal scores.
    std::vector<uint8_t> kept(n, 0);
    for (int64_t p : keptPositions) kept[ord[p]] = 1;
    for (int64_t i = 0; i < n; i++)
      if (kept[i]) keep.push_back(i);
    at::Tensor indices = keptTensor(keep, at::kCPU);
    at::Tensor byScore = std::get<1>(at::sort(in.scores.index_select(0, indices), /*dim=*/0, /*descending=*/true));
    at::Tensor out = indices.index_select(0, byScore);
    return wrapTensor(env, in.device.is_cpu() ? out : out.to(in.device));
  }
  return wrapTensor(env, keptTensor(keep, in.device));
}

// Pairwise IoU rows [from, to) of boxes1 against all of boxes2: torchvision's
// box_iou (area1[:, None] + area2 - inter, with inter from maximum / minimum /
// clamp(min=0)) element by element, so the same values.
template <typename T>
void iouRows(const T* b1, const T* x1, const T* y1, const T* x2, const T* y2, const T* area2, int64_t m, int64_t from, int64_t to, T* out) {
  for (int64_t i = from; i < to; i++) {
    const T* r = b1 + 4 * i;
    const T ix1 = r[0], iy1 = r[1], ix2 = r[2], iy2 = r[3], iarea = (ix2 - ix1) * (iy2 - iy1);
    T* row = out + i * m;
    int64_t j = 0;
#if defined(__SSE2__)
    if constexpr (std::is_same<T, float>::value) {
      const __m128 vx1 = _mm_set1_ps(ix1), vy1 = _mm_set1_ps(iy1), vx2 = _mm_set1_ps(ix2), vy2 = _mm_set1_ps(iy2);
      const __m128 va = _mm_set1_ps(iarea), zero = _mm_setzero_ps();
      for (; j + 4 <= m; j += 4) {
        const __m128 w = _mm_max_ps(_mm_sub_ps(_mm_min_ps(vx2, _mm_loadu_ps(x2 + j)), _mm_max_ps(vx1, _mm_loadu_ps(x1 + j))), zero);
        const __m128 h = _mm_max_ps(_mm_sub_ps(_mm_min_ps(vy2, _mm_loadu_ps(y2 + j)), _mm_max_ps(vy1, _mm_loadu_ps(y1 + j))), zero);
        const __m128 inter = _mm_mul_ps(w, h);
        _mm_storeu_ps(row + j, _mm_div_ps(inter, _mm_sub_ps(_mm_add_ps(va, _mm_loadu_ps(area2 + j)), inter)));
      }
    }
#endif
    for (; j < m; j++) {
      const T w = std::max(std::min(ix2, x2[j]) - std::max(ix1, x1[j]), static_cast<T>(0));
      const T h = std::max(std::min(iy2, y2[j]) - std::max(iy1, y1[j]), static_cast<T>(0));
      const T inter = w * h;
      row[j] = inter / ((iarea + area2[j]) - inter);
    }
  }
}

// boxIou(boxes1 [N, 4], boxes2 [M, 4]) -> [N, M], for float32/float64 CPU
// boxes with no gradient (the JS side checks; other inputs take ATen's op
// sequence there); null when a coordinate is not finite.
Napi::Value boxIou(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor a = unwrapTensor(info[0], "boxes1"), b = unwrapTensor(info[1], "boxes2");
  if (a.dim() != 2 || a.size(1) != 4 || b.dim() != 2 || b.size(1) != 4 || !a.is_cpu() || !b.is_cpu() || a.scalar_type() != b.scalar_type() ||
      (a.scalar_type() != at::kFloat && a.scalar_type() != at::kDouble))
    throwFlare(env, "E_INTERNAL", "boxIou kernel: boxes must be float32/float64 CPU tensors [N, 4] of one dtype");
  a = a.contiguous();
  b = b.contiguous();
  // NaN and infinities take ATen's path (whose NaN rules the SIMD min/max do not share).
  if (!at::isfinite(a).all().item<bool>() || !at::isfinite(b).all().item<bool>()) return env.Null();
  const int64_t n = a.size(0), m = b.size(0);
  at::Tensor out = at::empty({n, m}, a.options());
  if (n == 0 || m == 0) return wrapTensor(env, out);
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "box_iou", [&] {
    // boxes2 as columns (structure of arrays) with their areas.
    std::vector<scalar_t> x1(m), y1(m), x2(m), y2(m), area(m);
    const scalar_t* q = b.data_ptr<scalar_t>();
    for (int64_t j = 0; j < m; j++) {
      x1[j] = q[4 * j];
      y1[j] = q[4 * j + 1];
      x2[j] = q[4 * j + 2];
      y2[j] = q[4 * j + 3];
      area[j] = (x2[j] - x1[j]) * (y2[j] - y1[j]);
    }
    const scalar_t* p = a.data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    at::parallel_for(0, n, std::max<int64_t>(1, 16384 / m), [&](int64_t from, int64_t to) {
      iouRows<scalar_t>(p, x1.data(), y1.data(), x2.data(), y2.data(), area.data(), m, from, to, o);
    });
  });
  return wrapTensor(env, out);
}

}  // namespace

void initNms(Napi::Env env, Napi::Object exports) {
  exportFunction(env, exports, "nms", nms);
  exportFunction(env, exports, "batchedNms", batchedNms);
  exportFunction(env, exports, "boxIou", boxIou);
}

}  // namespace flare
