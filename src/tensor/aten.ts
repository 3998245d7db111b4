// The one table of ATen operator handles that flare's layers above the tensor
// ops call directly (nn.functional, the transforms, creation, Parameter): each
// operator is looked up once, here, by its schema name and overload, and every
// caller uses the same handle. (tensor/ops/* keep theirs next to the methods
// they implement, most made by name from lists.)
import { op } from "./native.js";

export const aten = {
  // tensor basics and creation
  detach: op("aten::detach"), detachIn: op("aten::detach_"),
  clone: op("aten::clone"), contiguous: op("aten::contiguous"),
  toDtypeLayout: op("aten::to", "dtype_layout"),
  zeros: op("aten::zeros"), ones: op("aten::ones"), full: op("aten::full"),
  empty: op("aten::empty", "memory_format"),
  arange: op("aten::arange", "start_step"), linspace: op("aten::linspace"), eye: op("aten::eye", "m"),
  rand: op("aten::rand"), randn: op("aten::randn"), randint: op("aten::randint", "low"), randperm: op("aten::randperm"),
  expand: op("aten::expand"), broadcastTensors: op("aten::broadcast_tensors"),
  meshgrid: op("aten::meshgrid", "indexing"),
  rsubScalar: op("aten::rsub", "Scalar"),
  indexCopy: op("aten::index_copy"),
  lstsq: op("aten::linalg_lstsq"),
  // layers
  linear: op("aten::linear"),
  conv2d: op("aten::conv2d"),
  conv2dPadding: op("aten::conv2d", "padding"),
  convTranspose2d: op("aten::conv_transpose2d", "input"),
  batchNorm: op("aten::batch_norm"),
  layerNorm: op("aten::layer_norm"),
  groupNorm: op("aten::group_norm"),
  dropout: op("aten::dropout"), dropoutIn: op("aten::dropout_"),
  featureDropout: op("aten::feature_dropout"), featureDropoutIn: op("aten::feature_dropout_"),
  relu: op("aten::relu"), reluIn: op("aten::relu_"),
  leakyRelu: op("aten::leaky_relu"), leakyReluIn: op("aten::leaky_relu_"),
  gelu: op("aten::gelu"),
  silu: op("aten::silu"), siluIn: op("aten::silu_"),
  sigmoid: op("aten::sigmoid"), tanh: op("aten::tanh"),
  softmax: op("aten::softmax", "int"), logSoftmax: op("aten::log_softmax", "int"),
  maxPool2d: op("aten::max_pool2d"), maxPool2dIndices: op("aten::max_pool2d_with_indices"),
  avgPool2d: op("aten::avg_pool2d"),
  adaptiveAvgPool2d: op("aten::adaptive_avg_pool2d"), adaptiveMaxPool2d: op("aten::adaptive_max_pool2d"),
  pad: op("aten::pad"),
  oneHot: op("aten::one_hot"),
  // losses
  crossEntropy: op("aten::cross_entropy_loss"),
  nllLoss: op("aten::nll_loss_nd"),
  bce: op("aten::binary_cross_entropy"),
  bceWithLogits: op("aten::binary_cross_entropy_with_logits"),
  mseLoss: op("aten::mse_loss"), l1Loss: op("aten::l1_loss"), smoothL1Loss: op("aten::smooth_l1_loss"),
  // resampling
  upsampleNearest1d: op("aten::upsample_nearest1d", "vec"),
  upsampleNearest2d: op("aten::upsample_nearest2d", "vec"),
  upsampleNearest3d: op("aten::upsample_nearest3d", "vec"),
  upsampleNearestExact1d: op("aten::_upsample_nearest_exact1d", "vec"),
  upsampleNearestExact2d: op("aten::_upsample_nearest_exact2d", "vec"),
  upsampleNearestExact3d: op("aten::_upsample_nearest_exact3d", "vec"),
  upsampleLinear1d: op("aten::upsample_linear1d", "vec"),
  upsampleBilinear2d: op("aten::upsample_bilinear2d", "vec"),
  upsampleBilinear2dAA: op("aten::_upsample_bilinear2d_aa", "vec"),
  upsampleBicubic2d: op("aten::upsample_bicubic2d", "vec"),
  upsampleBicubic2dAA: op("aten::_upsample_bicubic2d_aa", "vec"),
  upsampleTrilinear3d: op("aten::upsample_trilinear3d", "vec"),
  gridSampler: op("aten::grid_sampler"),
  affineGridGenerator: op("aten::affine_grid_generator"),
};
