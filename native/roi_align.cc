// RoIAlign (Mask R-CNN) forward and backward, as torchvision 0.14's CPU
// kernels compute them: the same sampling points, bilinear weights and
// summation order, so float64 results match torchvision's to rounding and
// float32 results to the last bits. Each RoI bin averages a grid of bilinear
// samples; backward scatters each bin's gradient back with the same weights.
#include "roi_common.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace flare {

namespace {

// One bilinear sample: four pixel offsets in the [H, W] plane and their weights
// (all zero when the point lies more than one pixel outside the map).
template <typename T>
struct Sample {
  int64_t p1, p2, p3, p4;
  T w1, w2, w3, w4;
  bool inside;
};

// Where a RoI's bins sample, in input coordinates.
template <typename T>
struct RoiGeometry {
  int64_t batch;
  T startH, startW, binH, binW;
  int64_t gridH, gridW;
};

template <typename T>
RoiGeometry<T> roiGeometry(const T* roi, T spatialScale, int64_t pooledH, int64_t pooledW, int64_t samplingRatio, bool aligned) {
  RoiGeometry<T> g;
  g.batch = static_cast<int64_t>(roi[0]);
  const T offset = aligned ? T(0.5) : T(0);
  g.startW = roi[1] * spatialScale - offset;
  g.startH = roi[2] * spatialScale - offset;
  T width = roi[3] * spatialScale - offset - g.startW;
  T height = roi[4] * spatialScale - offset - g.startH;
  if (!aligned) {  // the legacy behaviour: malformed RoIs become 1×1
    width = std::max(width, T(1));
    height = std::max(height, T(1));
  }
  g.binH = height / static_cast<T>(pooledH);
  g.binW = width / static_cast<T>(pooledW);
  // The adaptive grid: about one sample per input pixel of the bin.
  g.gridH = samplingRatio > 0 ? samplingRatio : static_cast<int64_t>(std::ceil(height / pooledH));
  g.gridW = samplingRatio > 0 ? samplingRatio : static_cast<int64_t>(std::ceil(width / pooledW));
  return g;
}

template <typename T>
Sample<T> bilinearSample(int64_t height, int64_t width, T y, T x) {
  if (y < -1.0 || y > height || x < -1.0 || x > width) return {0, 0, 0, 0, T(0), T(0), T(0), T(0), false};
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  int64_t yLow = static_cast<int64_t>(y), xLow = static_cast<int64_t>(x), yHigh, xHigh;
  if (yLow >= height - 1) {
    yHigh = yLow = height - 1;
    y = static_cast<T>(yLow);
  } else {
    yHigh = yLow + 1;
  }
  if (xLow >= width - 1) {
    xHigh = xLow = width - 1;
    x = static_cast<T>(xLow);
  } else {
    xHigh = xLow + 1;
  }
  const T ly = y - yLow, lx = x - xLow;
  const T hy = T(1) - ly, hx = T(1) - lx;
  return {yLow * width + xLow, yLow * width + xHigh, yHigh * width + xLow, yHigh * width + xHigh,
          hy * hx, hy * lx, ly * hx, ly * lx, true};
}

// The sample points of bin (ph, pw), in torchvision's order and arithmetic.
template <typename T, typename Visit>
void forEachSample(const RoiGeometry<T>& g, int64_t ph, int64_t pw, int64_t height, int64_t width, Visit&& visit) {
  for (int64_t iy = 0; iy < g.gridH; iy++) {
    const T y = g.startH + ph * g.binH + static_cast<T>(iy + .5f) * g.binH / static_cast<T>(g.gridH);
    for (int64_t ix = 0; ix < g.gridW; ix++) {
      const T x = g.startW + pw * g.binW + static_cast<T>(ix + .5f) * g.binW / static_cast<T>(g.gridW);
      visit(bilinearSample<T>(height, width, y, x));
    }
  }
}

template <typename T>
void roiAlignForwardKernel(const T* input, const T* rois, T* output, int64_t numRois, int64_t channels, int64_t height,
                           int64_t width, int64_t pooledH, int64_t pooledW, T spatialScale, int64_t samplingRatio,
                           bool aligned) {
  // RoIs write disjoint outputs: parallel over RoIs, serial inside (same sums).
  at::parallel_for(0, numRois, 1, [&](int64_t begin, int64_t end) {
    std::vector<Sample<T>> samples;
    for (int64_t n = begin; n < end; n++) {
      const RoiGeometry<T> g = roiGeometry<T>(rois + n * 5, spatialScale, pooledH, pooledW, samplingRatio, aligned);
      // Weights are shared by all channels: compute them once per RoI.
      samples.clear();
      for (int64_t ph = 0; ph < pooledH; ph++)
        for (int64_t pw = 0; pw < pooledW; pw++)
          forEachSample<T>(g, ph, pw, height, width, [&](const Sample<T>& s) { samples.push_back(s); });
      const T count = static_cast<T>(std::max<int64_t>(g.gridH * g.gridW, 1));
      const int64_t perBin = std::max<int64_t>(g.gridH, 0) * std::max<int64_t>(g.gridW, 0);
      for (int64_t c = 0; c < channels; c++) {
        const T* plane = input + (g.batch * channels + c) * height * width;
        T* out = output + (n * channels + c) * pooledH * pooledW;
        const Sample<T>* s = samples.data();
        for (int64_t bin = 0; bin < pooledH * pooledW; bin++) {
          T value = 0;
          for (int64_t i = 0; i < perBin; i++, s++)
            value += s->w1 * plane[s->p1] + s->w2 * plane[s->p2] + s->w3 * plane[s->p3] + s->w4 * plane[s->p4];
          out[bin] = value / count;
        }
      }
    }
  });
}

template <typename T>
void roiAlignBackwardKernel(const T* grad, const T* rois, T* gradInput, int64_t numRois, int64_t channels, int64_t height,
                            int64_t width, int64_t pooledH, int64_t pooledW, T spatialScale, int64_t samplingRatio,
                            bool aligned) {
  // Channels own disjoint planes of gradInput: parallel over channels, and
  // within one plane the contributions arrive in torchvision's order.
  at::parallel_for(0, channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = 0; n < numRois; n++) {
      const RoiGeometry<T> g = roiGeometry<T>(rois + n * 5, spatialScale, pooledH, pooledW, samplingRatio, aligned);
      const T count = static_cast<T>(g.gridH * g.gridW);
      for (int64_t c = begin; c < end; c++) {
        T* plane = gradInput + (g.batch * channels + c) * height * width;
        const T* binGrads = grad + (n * channels + c) * pooledH * pooledW;
        for (int64_t ph = 0; ph < pooledH; ph++) {
          for (int64_t pw = 0; pw < pooledW; pw++) {
            const T binGrad = binGrads[ph * pooledW + pw];
            forEachSample<T>(g, ph, pw, height, width, [&](const Sample<T>& s) {
              if (!s.inside) return;
              plane[s.p1] += binGrad * s.w1 / count;
              plane[s.p2] += binGrad * s.w2 / count;
              plane[s.p3] += binGrad * s.w3 / count;
              plane[s.p4] += binGrad * s.w4 / count;
            });
          }
        }
      }
    }
  });
}

}  // namespace

// Named in flare:: so that gradFn reads CppNode<flare::...>.
struct RoiAlignFunction : torch::autograd::Function<RoiAlignFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& rois, double spatialScale,
                            int64_t pooledH, int64_t pooledW, int64_t samplingRatio, bool aligned) {
    ctx->save_for_backward({rois});
    ctx->saved_data["shape"] = input.sizes().vec();
    ctx->saved_data["spatialScale"] = spatialScale;
    ctx->saved_data["pooled"] = std::vector<int64_t>{pooledH, pooledW};
    ctx->saved_data["samplingRatio"] = samplingRatio;
    ctx->saved_data["aligned"] = aligned;
    at::Tensor x = input.contiguous();
    const int64_t numRois = rois.size(0), channels = x.size(1);
    at::Tensor output = at::zeros({numRois, channels, pooledH, pooledW}, x.options());
    if (output.numel() == 0) return output;
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "roi_align_forward", [&] {
      roiAlignForwardKernel<scalar_t>(x.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), output.data_ptr<scalar_t>(),
                                      numRois, channels, x.size(2), x.size(3), pooledH, pooledW,
                                      static_cast<scalar_t>(spatialScale), samplingRatio, aligned);
    });
    return output;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    checkOnceDifferentiable(grads, {}, "roiAlign");
    at::Tensor rois = ctx->get_saved_variables()[0];
    auto shape = ctx->saved_data["shape"].toIntVector();
    auto pooled = ctx->saved_data["pooled"].toIntVector();
    at::Tensor grad = grads[0].contiguous();
    at::Tensor gradInput = at::zeros(shape, grad.options());
    if (grad.numel() > 0) {
      AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "roi_align_backward", [&] {
        roiAlignBackwardKernel<scalar_t>(grad.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), gradInput.data_ptr<scalar_t>(),
                                         rois.size(0), shape[1], shape[2], shape[3], pooled[0], pooled[1],
                                         static_cast<scalar_t>(ctx->saved_data["spatialScale"].toDouble()),
                                         ctx->saved_data["samplingRatio"].toInt(), ctx->saved_data["aligned"].toBool());
      });
    }
    // One gradient per forward argument: only input has one.
    return {gradInput, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// roiAlign(input, rois, spatialScale, pooledHeight, pooledWidth, samplingRatio, aligned)
static Napi::Value roiAlign(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const RoiArguments args = roiArguments(info, "roiAlign");
  const at::Tensor& input = args.input;
  const int64_t samplingRatio = kernelInt(info[5], "roiAlign(): samplingRatio");
  if (!info[6].IsBoolean()) throwFlare(env, "E_ARGUMENT", "roiAlign(): aligned must be a boolean");
  const bool aligned = info[6].As<Napi::Boolean>().Value();
  // Bilinear sampling needs a pixel to sample (torchvision would read outside an empty map).
  if ((input.size(2) == 0 || input.size(3) == 0) && args.rois.size(0) > 0 && input.size(1) > 0)
    throwFlare(env, "E_SHAPE", "roiAlign(): input has an empty feature map " + c10::str(input.sizes()) + " to sample boxes from");
  // The kernel reads rois' values, never their graph: pass them detached.
  return wrapTensor(env, RoiAlignFunction::apply(input, args.rois.detach(), args.spatialScale, args.pooledHeight,
                                                 args.pooledWidth, samplingRatio, aligned));
}

void initRoiAlign(Napi::Env env, Napi::Object exports) { exportFunction(env, exports, "roiAlign", roiAlign); }

}  // namespace flare
