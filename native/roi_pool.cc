// RoIPool (Fast R-CNN) forward and backward, as torchvision 0.14's CPU kernels:
// each RoI, rounded to whole pixels, is cut into outputSize bins and each bin
// keeps its maximum; backward routes each bin's gradient to that argmax pixel.
#include "roi_common.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace flare {

namespace {

template <typename T>
void roiPoolForwardKernel(const T* input, const T* rois, T* output, int64_t* argmax, int64_t numRois, int64_t channels,
                          int64_t height, int64_t width, int64_t pooledH, int64_t pooledW, T spatialScale) {
  at::parallel_for(0, numRois, 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; n++) {
      const T* roi = rois + n * 5;
      const int64_t batch = static_cast<int64_t>(roi[0]);
      const int64_t startW = static_cast<int64_t>(std::round(roi[1] * spatialScale));
      const int64_t startH = static_cast<int64_t>(std::round(roi[2] * spatialScale));
      const int64_t endW = static_cast<int64_t>(std::round(roi[3] * spatialScale));
      const int64_t endH = static_cast<int64_t>(std::round(roi[4] * spatialScale));
      // Malformed RoIs become 1×1.
      const int64_t roiW = std::max<int64_t>(endW - startW + 1, 1), roiH = std::max<int64_t>(endH - startH + 1, 1);
      const T binH = static_cast<T>(roiH) / static_cast<T>(pooledH);
      const T binW = static_cast<T>(roiW) / static_cast<T>(pooledW);
      for (int64_t ph = 0; ph < pooledH; ph++) {
        for (int64_t pw = 0; pw < pooledW; pw++) {
          const int64_t h0 = std::min(std::max(static_cast<int64_t>(std::floor(static_cast<T>(ph) * binH)) + startH, int64_t{0}), height);
          const int64_t h1 = std::min(std::max(static_cast<int64_t>(std::ceil(static_cast<T>(ph + 1) * binH)) + startH, int64_t{0}), height);
          const int64_t w0 = std::min(std::max(static_cast<int64_t>(std::floor(static_cast<T>(pw) * binW)) + startW, int64_t{0}), width);
          const int64_t w1 = std::min(std::max(static_cast<int64_t>(std::ceil(static_cast<T>(pw + 1) * binW)) + startW, int64_t{0}), width);
          const bool empty = h1 <= h0 || w1 <= w0;
          for (int64_t c = 0; c < channels; c++) {
            const T* plane = input + (batch * channels + c) * height * width;
            // An empty bin is 0 and passes no gradient (argmax -1).
            T best = empty ? T(0) : T(-FLT_MAX);
            int64_t bestIndex = -1;
            for (int64_t h = h0; h < h1; h++)
              for (int64_t w = w0; w < w1; w++)
                if (plane[h * width + w] > best) {
                  best = plane[h * width + w];
                  bestIndex = h * width + w;
                }
            const int64_t index = ((n * channels + c) * pooledH + ph) * pooledW + pw;
            output[index] = best;
            argmax[index] = bestIndex;
          }
        }
      }
    }
  });
}

template <typename T>
void roiPoolBackwardKernel(const T* grad, const int64_t* argmax, const T* rois, T* gradInput, int64_t numRois,
                           int64_t channels, int64_t height, int64_t width, int64_t bins) {
  // Channels own disjoint planes of gradInput; RoIs in order within each.
  at::parallel_for(0, channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = 0; n < numRois; n++) {
      const int64_t batch = static_cast<int64_t>(rois[n * 5]);
      for (int64_t c = begin; c < end; c++) {
        T* plane = gradInput + (batch * channels + c) * height * width;
        const int64_t offset = (n * channels + c) * bins;
        for (int64_t bin = 0; bin < bins; bin++)
          if (argmax[offset + bin] != -1) plane[argmax[offset + bin]] += grad[offset + bin];
      }
    }
  });
}

}  // namespace

// Named in flare:: so that gradFn reads CppNode<flare::...>.
struct RoiPoolFunction : torch::autograd::Function<RoiPoolFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& rois, double spatialScale,
                            int64_t pooledH, int64_t pooledW) {
    at::Tensor x = input.contiguous();
    const int64_t numRois = rois.size(0), channels = x.size(1);
    at::Tensor output = at::zeros({numRois, channels, pooledH, pooledW}, x.options());
    at::Tensor argmax = at::full({numRois, channels, pooledH, pooledW}, -1, x.options().dtype(at::kLong));
    if (output.numel() > 0) {
      AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "roi_pool_forward", [&] {
        roiPoolForwardKernel<scalar_t>(x.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), output.data_ptr<scalar_t>(),
                                       argmax.data_ptr<int64_t>(), numRois, channels, x.size(2), x.size(3), pooledH, pooledW,
                                       static_cast<scalar_t>(spatialScale));
      });
    }
    ctx->save_for_backward({rois, argmax});
    ctx->saved_data["shape"] = input.sizes().vec();
    return output;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    checkOnceDifferentiable(grads, {}, "roiPool");
    auto saved = ctx->get_saved_variables();
    const at::Tensor& rois = saved[0];
    const at::Tensor& argmax = saved[1];
    auto shape = ctx->saved_data["shape"].toIntVector();
    at::Tensor grad = grads[0].contiguous();
    at::Tensor gradInput = at::zeros(shape, grad.options());
    if (grad.numel() > 0) {
      AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "roi_pool_backward", [&] {
        roiPoolBackwardKernel<scalar_t>(grad.data_ptr<scalar_t>(), argmax.data_ptr<int64_t>(), rois.data_ptr<scalar_t>(),
                                        gradInput.data_ptr<scalar_t>(), rois.size(0), shape[1], shape[2], shape[3],
                                        grad.size(2) * grad.size(3));
      });
    }
    return {gradInput, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// roiPool(input, rois, spatialScale, pooledHeight, pooledWidth)
static Napi::Value roiPool(const Napi::CallbackInfo& info) {
  const RoiArguments args = roiArguments(info, "roiPool");
  return wrapTensor(info.Env(), RoiPoolFunction::apply(args.input, args.rois.detach(), args.spatialScale, args.pooledHeight,
                                                       args.pooledWidth));
}

void initRoiPool(Napi::Env env, Napi::Object exports) { exportFunction(env, exports, "roiPool", roiPool); }

}  // namespace flare
