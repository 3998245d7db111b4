// Helpers for native kernels that take part in autograd (see native/README.md,
// "Adding a kernel with a backward pass"). A kernel file defines a
// torch::autograd::Function subclass whose forward calls its CPU kernel and
// whose backward calls the backward kernel; the binding calls
// Function::apply, so the result has a grad_fn like any ATen op.
#pragma once

#include "flare.h"

#include <torch/csrc/autograd/custom_function.h>

#include <string>

namespace flare {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Our backward kernels are plain loops, so their results carry no graph. With
// createGraph that is only right when nothing they read requires grad: refuse
// it loudly otherwise instead of returning a gradient that silently has no
// gradient of its own. `inputs` are the saved tensors backward reads besides
// the incoming gradients (none for kernels linear in the input).
inline void checkOnceDifferentiable(const variable_list& grads, const variable_list& inputs, const char* name) {
  if (!c10::GradMode::is_enabled()) return;
  for (const variable_list* list : {&grads, &inputs})
    for (const at::Tensor& t : *list)
      if (t.defined() && t.requires_grad())
        throw std::invalid_argument(std::string(name) + ": double backward (createGraph: true) is not supported");
}

// Arguments of a kernel binding, checked on the JS thread before any loop runs:
// every failure is a FlareError naming the argument.
at::Tensor kernelTensor(const Napi::Value& value, const char* what);
double kernelNumber(const Napi::Value& value, const char* what);
int64_t kernelInt(const Napi::Value& value, const char* what);

void initAutograd(Napi::Env env, Napi::Object exports);
void initRoiAlign(Napi::Env env, Napi::Object exports);
void initRoiPool(Napi::Env env, Napi::Object exports);

}  // namespace flare
