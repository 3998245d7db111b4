// Autograd extension points: JS hooks on tensors and on gradient accumulation,
// and the worked example of a native kernel with a backward pass (cube).
//
// Hooks: the JS side keeps the hook functions in a Map by id and installs one
// dispatcher per environment (setHookDispatcher). A native hook holds only a
// token {id, thread}; it calls the dispatcher synchronously (CPU backward runs
// on the calling JS thread). The token's destructor, which runs whenever
// libtorch drops the hook (tensor freed, graph freed, hook removed), queues
// the id so the JS side can drop its function (releasedHooks).
#include "autograd.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <cmath>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace flare {

// ---- argument checks shared by the kernel bindings ----------------------------
at::Tensor kernelTensor(const Napi::Value& value, const char* what) { return unwrapTensor(value, what); }

double kernelNumber(const Napi::Value& value, const char* what) {
  if (!value.IsNumber() || !std::isfinite(value.As<Napi::Number>().DoubleValue()))
    throwFlare(value.Env(), "E_ARGUMENT", std::string(what) + " must be a finite number");
  return value.As<Napi::Number>().DoubleValue();
}

int64_t kernelInt(const Napi::Value& value, const char* what) {
  double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : 0.5;
  if (!std::isfinite(number) || std::floor(number) != number || std::fabs(number) > 9e15)
    throwFlare(value.Env(), "E_ARGUMENT", std::string(what) + " must be an integer");
  return static_cast<int64_t>(number);
}

// ---- the dispatcher, one per JS environment (each on its own thread) -----------
struct HookDispatcher {
  napi_env env = nullptr;
  Napi::FunctionReference fn;
};
static thread_local HookDispatcher* dispatcher = nullptr;
static std::atomic<uint64_t> nextEnvKey{1};
static thread_local uint64_t envKey = 0;

static void dropDispatcher(void*) {
  delete dispatcher;
  dispatcher = nullptr;
}

static Napi::Value setHookDispatcher(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) throwFlare(env, "E_ARGUMENT", "setHookDispatcher: expected a function");
  if (dispatcher == nullptr) {
    dispatcher = new HookDispatcher();
    napi_add_env_cleanup_hook(env, dropDispatcher, nullptr);
  }
  if (envKey == 0) envKey = nextEnvKey++;
  dispatcher->env = env;
  dispatcher->fn = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

// Ids of hooks libtorch has dropped, per environment, until JS collects them.
static std::mutex releasedMutex;
static std::vector<std::pair<uint64_t, double>> released;

struct HookToken {
  double id;
  uint64_t env;
  std::thread::id thread;
  HookToken(double id_) : id(id_), env(envKey), thread(std::this_thread::get_id()) {}
  ~HookToken() {
    std::lock_guard<std::mutex> lock(releasedMutex);
    released.emplace_back(env, id);
  }
};

static Napi::Value releasedHooks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<double> mine;
  {
    std::lock_guard<std::mutex> lock(releasedMutex);
    auto keep = released.begin();
    for (auto& entry : released) {
      if (entry.first == envKey) mine.push_back(entry.second);
      else *keep++ = entry;
    }
    released.erase(keep, released.end());
  }
  Napi::Array result = Napi::Array::New(env, mine.size());
  for (size_t i = 0; i < mine.size(); i++) result.Set(i, Napi::Number::New(env, mine[i]));
  return result;
}

// Calls the JS hook `token->id` with `grad` (undefined for post-accumulate
// hooks). The dispatcher returns 0 (keep the gradient), -1 (the hook threw:
// JS holds the error and rethrows it from backward()) or a handle of the
// replacement gradient, which we adopt and free.
static at::Tensor callHook(const HookToken& token, const at::Tensor* grad) {
  if (std::this_thread::get_id() != token.thread || dispatcher == nullptr || envKey != token.env)
    throw std::runtime_error("a JS autograd hook can only run on the JS thread that registered it "
                             "(CUDA backward runs on libtorch's device threads)");
  if (grad && !grad->defined()) return at::Tensor();  // nothing flows here: nothing to show the hook
  Napi::Env env(dispatcher->env);
  Napi::HandleScope scope(env);
  Napi::Value handle = grad ? wrapTensor(env, *grad) : env.Undefined();
  Napi::Value result;
  try {
    result = dispatcher->fn.Call({Napi::Number::New(env, token.id), handle});
  } catch (const Napi::Error& error) {
    if (grad) disposeHandle(env, handle);
    throw std::runtime_error(std::string("an autograd hook threw: ") + error.Message());
  }
  if (grad) disposeHandle(env, handle);
  double code = result.IsNumber() ? result.As<Napi::Number>().DoubleValue() : 0;
  if (code == -1) throw std::runtime_error("an autograd hook threw");
  if (code == 0 || !grad) return at::Tensor();
  at::Tensor replacement = unwrapTensor(result, "the hook's result");
  disposeHandle(env, result);
  return replacement;
}

// registerHook(h, id): PyTorch's tensor.register_hook; returns the hook's
// position for removeHook.
static Napi::Value registerHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor tensor = unwrapTensor(info[0], "tensor");
  if (!tensor.requires_grad())
    throwFlare(env, "E_STATE", "registerHook(): cannot register a hook on a tensor that does not require grad");
  if (dispatcher == nullptr) throwFlare(env, "E_INTERNAL", "registerHook(): no hook dispatcher installed");
  auto token = std::make_shared<HookToken>(kernelNumber(info[1], "id"));
  unsigned position = tensor.register_hook([token](const at::Tensor& grad) -> at::Tensor {
    at::Tensor replacement = callHook(*token, &grad);
    // An undefined result keeps the gradient (libtorch skips it).
    return replacement;
  });
  return Napi::Number::New(env, position);
}

static Napi::Value removeHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool disposed = false;
  at::Tensor tensor = findTensor(info[0], &disposed);
  if (tensor.defined()) tensor.remove_hook(static_cast<unsigned>(kernelInt(info[1], "position")));
  return env.Undefined();
}

// Runs after AccumulateGrad has updated .grad (PyTorch 2.1's
// register_post_accumulate_grad_hook).
struct PostAccumulateHook : torch::autograd::FunctionPostHook {
  std::shared_ptr<HookToken> token;
  explicit PostAccumulateHook(std::shared_ptr<HookToken> t) : token(std::move(t)) {}
  variable_list operator()(const variable_list& outputs, const variable_list& /*inputs*/) override {
    callHook(*token, nullptr);
    return outputs;
  }
};

// The accumulator is held only weakly by its tensor and made anew when no graph
// uses it, which would lose the hook: the keeper holds it (and so the tensor)
// until the hook is removed or the tensor disposed.
struct AccumulatorKeeper {
  std::shared_ptr<torch::autograd::Node> accumulator;
  uintptr_t key = 0;
  void remove() {
    if (accumulator) accumulator->del_post_hook(key);
    accumulator.reset();
  }
};

static Napi::Value registerPostAccumulateGradHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor tensor = unwrapTensor(info[0], "tensor");
  if (!tensor.requires_grad() || !tensor.is_leaf())
    throwFlare(env, "E_STATE", "registerPostAccumulateGradHook(): only leaf tensors that require grad accumulate gradients");
  if (dispatcher == nullptr) throwFlare(env, "E_INTERNAL", "registerPostAccumulateGradHook(): no hook dispatcher installed");
  auto token = std::make_shared<HookToken>(kernelNumber(info[1], "id"));
  auto* keeper = new AccumulatorKeeper();
  keeper->accumulator = torch::autograd::impl::grad_accumulator(tensor);
  keeper->key = keeper->accumulator->add_post_hook(std::make_unique<PostAccumulateHook>(token));
  return Napi::External<AccumulatorKeeper>::New(env, keeper, [](Napi::Env, AccumulatorKeeper* k) { delete k; });
}

static Napi::Value removePostAccumulateGradHook(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal()) throwFlare(info.Env(), "E_ARGUMENT", "removePostAccumulateGradHook: expected a hook keeper");
  info[0].As<Napi::External<AccumulatorKeeper>>().Data()->remove();
  return info.Env().Undefined();
}

// ---- the worked example: cube(x) = x³, d/dx = 3x² --------------------------------
// 1. Plain CPU kernels: no autograd, contiguous input, one loop each.
template <typename T>
static void cubeForwardKernel(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i] * x[i];
}

template <typename T>
static void cubeBackwardKernel(const T* grad, const T* x, T* gradX, int64_t n) {
  for (int64_t i = 0; i < n; i++) gradX[i] = grad[i] * T(3) * x[i] * x[i];
}

// 2. The autograd Function: forward saves what backward needs and runs the
// kernel (grad mode is off inside); backward gets one gradient per output and
// returns one per forward argument (undefined for non-tensors).
struct CubeFunction : torch::autograd::Function<CubeFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input) {
    at::Tensor x = input.contiguous();
    ctx->save_for_backward({x});
    at::Tensor y = at::empty_like(x);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "cube_forward", [&] {
      cubeForwardKernel<scalar_t>(x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), x.numel());
    });
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    at::Tensor x = ctx->get_saved_variables()[0];
    checkOnceDifferentiable(grads, {x}, "cube");
    at::Tensor grad = grads[0].contiguous();
    at::Tensor gradX = at::empty_like(x);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "cube_backward", [&] {
      cubeBackwardKernel<scalar_t>(grad.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), gradX.data_ptr<scalar_t>(), x.numel());
    });
    return {gradX};
  }
};

// 3. The binding: check the arguments (FlareErrors), then apply.
static Napi::Value cube(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor x = kernelTensor(info[0], "cube(): input");
  if (!x.is_cpu()) throwFlare(env, "E_DEVICE", "cube(): input must be on the CPU, got " + deviceName(x.device()));
  if (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble)
    throwFlare(env, "E_DTYPE", std::string("cube(): input must be float32 or float64, got ") + dtypeName(x.scalar_type()));
  return wrapTensor(env, CubeFunction::apply(x));
}

// shareHandle(h): a second handle to the same tensor (the hook dispatcher hands
// a hook's result back through one, so JS may free its own wrapper at once).
static Napi::Value shareHandle(const Napi::CallbackInfo& info) {
  return wrapTensor(info.Env(), unwrapTensor(info[0], "tensor"));
}

void initAutograd(Napi::Env env, Napi::Object exports) {
  exportFunction(env, exports, "shareHandle", shareHandle);
  exportFunction(env, exports, "setHookDispatcher", setHookDispatcher);
  exportFunction(env, exports, "releasedHooks", releasedHooks);
  exportFunction(env, exports, "registerHook", registerHook);
  exportFunction(env, exports, "removeHook", removeHook);
  exportFunction(env, exports, "registerPostAccumulateGradHook", registerPostAccumulateGradHook);
  exportFunction(env, exports, "removePostAccumulateGradHook", removePostAccumulateGradHook);
  exportFunction(env, exports, "exampleCube", cube);
}

}  // namespace flare
