// Argument checks shared by the RoI kernels (roi_align.cc, roi_pool.cc): a
// kernel never reads memory a bad box would point it to.
#pragma once

#include "autograd.h"

#include <cmath>
#include <string>

namespace flare {

// input [N, C, H, W] float32/float64 on the CPU; rois [K, 5] (batch index,
// x1, y1, x2, y2) of input's dtype, finite, with batch indices in [0, N).
// Returns rois made contiguous.
inline at::Tensor checkRoiArguments(Napi::Env env, const char* name, const at::Tensor& input, const at::Tensor& rois,
                                    int64_t pooledHeight, int64_t pooledWidth) {
  const std::string fn = std::string(name) + "(): ";
  if (!input.is_cpu()) throwFlare(env, "E_DEVICE", fn + "input must be on the CPU, got " + deviceName(input.device()));
  if (!rois.is_cpu()) throwFlare(env, "E_DEVICE", fn + "boxes must be on the CPU, got " + deviceName(rois.device()));
  if (input.scalar_type() != at::kFloat && input.scalar_type() != at::kDouble)
    throwFlare(env, "E_DTYPE", fn + "input must be float32 or float64, got " + dtypeName(input.scalar_type()));
  if (rois.scalar_type() != input.scalar_type())
    throwFlare(env, "E_DTYPE", fn + "boxes must have input's dtype (" + dtypeName(input.scalar_type()) + "), got " +
                                   dtypeName(rois.scalar_type()));
  if (input.dim() != 4) throwFlare(env, "E_SHAPE", fn + "input must be [N, C, H, W], got " + c10::str(input.sizes()));
  if (rois.dim() != 2 || rois.size(1) != 5)
    throwFlare(env, "E_SHAPE", fn + "boxes must be [K, 5] (batch index, x1, y1, x2, y2), got " + c10::str(rois.sizes()));
  if (pooledHeight < 1 || pooledWidth < 1)
    throwFlare(env, "E_ARGUMENT", fn + "outputSize must be positive, got [" + std::to_string(pooledHeight) + ", " +
                                      std::to_string(pooledWidth) + "]");
  at::Tensor contiguous = rois.contiguous();
  const int64_t batch = input.size(0);
  AT_DISPATCH_FLOATING_TYPES(contiguous.scalar_type(), "check_rois", [&] {
    const scalar_t* row = contiguous.data_ptr<scalar_t>();
    for (int64_t k = 0; k < contiguous.size(0); k++, row += 5) {
      for (int j = 0; j < 5; j++)
        if (!std::isfinite(static_cast<double>(row[j])))
          throwFlare(env, "E_ARGUMENT", fn + "boxes[" + std::to_string(k) + "] has a non-finite value");
      const double index = static_cast<double>(row[0]);
      if (index != std::floor(index) || index < 0 || index >= static_cast<double>(batch))
        throwFlare(env, "E_INDEX", fn + "boxes[" + std::to_string(k) + "] has batch index " + c10::str(index) +
                                       " but input has " + std::to_string(batch) + " images");
    }
  });
  return contiguous;
}

// The arguments both RoI kernels take first: (input, rois, spatialScale,
// pooledHeight, pooledWidth), read and checked; rois made contiguous.
struct RoiArguments {
  at::Tensor input, rois;
  double spatialScale;
  int64_t pooledHeight, pooledWidth;
};

inline RoiArguments roiArguments(const Napi::CallbackInfo& info, const char* name) {
  const std::string fn = std::string(name) + "(): ";
  RoiArguments args;
  args.input = kernelTensor(info[0], (fn + "input").c_str());
  at::Tensor rois = kernelTensor(info[1], (fn + "boxes").c_str());
  args.spatialScale = kernelNumber(info[2], (fn + "spatialScale").c_str());
  args.pooledHeight = kernelInt(info[3], (fn + "outputSize[0]").c_str());
  args.pooledWidth = kernelInt(info[4], (fn + "outputSize[1]").c_str());
  args.rois = checkRoiArguments(info.Env(), name, args.input, rois, args.pooledHeight, args.pooledWidth);
  return args;
}

}  // namespace flare
