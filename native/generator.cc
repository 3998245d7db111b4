// torch.Generator objects and the in-place random fills that take one, so that
// flare draws the same numbers as PyTorch from the same seed: the DataLoader's
// RandomSampler (a generator seeded from the default one, then randperm), the
// transforms' parameters (torch.rand(1), torch.randint, uniform_), and a
// DataLoader worker thread's own generator (PyTorch's workers are processes,
// each with its own default generator; flare's are threads, which share
// libtorch's, so a worker draws from a generator of its own instead).
// A null generator argument means libtorch's default CPU generator.
#include "flare.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

#include <mutex>

namespace flare {

namespace {

struct GeneratorBox {
  at::Generator generator;
};

uint64_t seedArgument(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  if (value.IsBigInt()) {
    bool lossless = true;
    uint64_t seed = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throwFlare(env, "E_ARGUMENT", std::string(what) + " must be an integer in [0, 2^64)");
    return seed;
  }
  if (value.IsNumber()) {
    double d = value.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d != static_cast<double>(static_cast<int64_t>(d)) || d > 9007199254740991.0)
      throwFlare(env, "E_ARGUMENT", std::string(what) + " must be a non-negative safe integer or a bigint");
    return static_cast<uint64_t>(d);
  }
  throwFlare(env, "E_ARGUMENT", std::string(what) + " must be a non-negative integer (number or bigint)");
}

c10::optional<at::Generator> generatorArgument(const Napi::Value& value) {
  if (value.IsNull() || value.IsUndefined()) return c10::nullopt;
  if (!value.IsExternal()) throwFlare(value.Env(), "E_ARGUMENT", "generator must be a torch generator handle");
  return value.As<Napi::External<GeneratorBox>>().Data()->generator;
}

at::Generator& generatorOf(const Napi::Value& value) {
  if (!value.IsExternal()) throwFlare(value.Env(), "E_ARGUMENT", "generator must be a torch generator handle");
  return value.As<Napi::External<GeneratorBox>>().Data()->generator;
}

double numberArgument(const Napi::Value& value, const char* what) {
  if (!value.IsNumber()) throwFlare(value.Env(), "E_ARGUMENT", std::string(what) + " must be a number");
  return value.As<Napi::Number>().DoubleValue();
}

// generatorNew(seed) -> a CPU generator seeded with `seed` (torch.Generator().manual_seed(seed)).
Napi::Value generatorNew(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t seed = seedArgument(info[0], "seed");
  auto* box = new GeneratorBox{at::make_generator<at::CPUGeneratorImpl>(seed)};
  return Napi::External<GeneratorBox>::New(env, box, [](Napi::Env, GeneratorBox* b) { delete b; });
}

Napi::Value generatorManualSeed(const Napi::CallbackInfo& info) {
  at::Generator& g = generatorOf(info[0]);
  uint64_t seed = seedArgument(info[1], "seed");
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_current_seed(seed);
  return info.Env().Undefined();
}

// The seed a generator (or, with null, the default generator) was last seeded with.
Napi::Value generatorInitialSeed(const Napi::CallbackInfo& info) {
  at::Generator g = info[0].IsNull() || info[0].IsUndefined() ? at::detail::getDefaultCPUGenerator() : generatorOf(info[0]);
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(g.current_seed()));
}

Napi::Value generatorGetState(const Napi::CallbackInfo& info) {
  at::Generator& g = generatorOf(info[0]);
  std::lock_guard<std::mutex> lock(g.mutex());
  return wrapTensor(info.Env(), g.get_state());
}

Napi::Value generatorSetState(const Napi::CallbackInfo& info) {
  at::Generator& g = generatorOf(info[0]);
  at::Tensor state = unwrapTensor(info[1], "state");
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_state(state);
  return info.Env().Undefined();
}

// randomFill(kind, tensor, generator, a, b): the in-place random ops with a
// generator, as PyTorch's tensor.uniform_(a, b) / random_() / random_(a, b) /
// normal_(a, b) / bernoulli_(a). Returns nothing; the tensor is filled.
Napi::Value randomFill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throwFlare(env, "E_ARGUMENT", "randomFill(): kind must be a string");
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  at::Tensor t = unwrapTensor(info[1], "tensor");
  c10::optional<at::Generator> g = generatorArgument(info[2]);
  if (kind == "uniform") {
    t.uniform_(numberArgument(info[3], "from"), numberArgument(info[4], "to"), g);
  } else if (kind == "random") {
    t.random_(g);
  } else if (kind == "randomFromTo") {
    // from and to as doubles: callers keep them within safe integers.
    auto from = static_cast<int64_t>(numberArgument(info[3], "from"));
    auto to = static_cast<int64_t>(numberArgument(info[4], "to"));
    t.random_(from, to, g);
  } else if (kind == "normal") {
    t.normal_(numberArgument(info[3], "mean"), numberArgument(info[4], "std"), g);
  } else if (kind == "bernoulli") {
    t.bernoulli_(numberArgument(info[3], "p"), g);
  } else {
    throwFlare(env, "E_ARGUMENT", "randomFill(): unknown kind " + kind);
  }
  return env.Undefined();
}

// randomDraw(kind, generator, a, b) -> one number, as torch.empty(1).uniform_(a, b).item()
// ("uniform", float32), its exp ("expUniform"), normal_(a, b) ("normal", float32) or torch.randint(a, b, (1,)).item()
// ("randint", int64; callers keep a and b within safe integers): one call instead of four.
Napi::Value randomDraw(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throwFlare(env, "E_ARGUMENT", "randomDraw(): kind must be a string");
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  c10::optional<at::Generator> g = generatorArgument(info[1]);
  double a = numberArgument(info[2], "a"), b = numberArgument(info[3], "b");
  if (kind == "randint") {
    at::Tensor t = at::empty({1}, at::TensorOptions().dtype(at::kLong));
    t.random_(static_cast<int64_t>(a), static_cast<int64_t>(b), g);
    return Napi::Number::New(env, static_cast<double>(t.item<int64_t>()));
  }
  at::Tensor t = at::empty({1}, at::TensorOptions().dtype(at::kFloat));
  if (kind == "uniform") t.uniform_(a, b, g);
  // torch.exp(torch.empty(1).uniform_(a, b)): RandomResizedCrop's aspect ratio, with libtorch's float32 exp.
  else if (kind == "expUniform") t = t.uniform_(a, b, g).exp();
  else if (kind == "normal") t.normal_(a, b, g);
  else throwFlare(env, "E_ARGUMENT", "randomDraw(): unknown kind " + kind);
  return Napi::Number::New(env, static_cast<double>(t.item<float>()));
}

// randomSeed(generator) -> int(torch.empty((), dtype=torch.int64).random_(generator=g).item()), a BigInt.
Napi::Value randomSeed(const Napi::CallbackInfo& info) {
  c10::optional<at::Generator> g = generatorArgument(info[0]);
  at::Tensor t = at::empty({}, at::TensorOptions().dtype(at::kLong));
  t.random_(g);
  return Napi::BigInt::New(info.Env(), t.item<int64_t>());
}

// randperm(n, generator) -> int64 [n], as torch.randperm(n, generator=g).
Napi::Value randperm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double n = numberArgument(info[0], "n");
  if (!(n >= 0) || n != static_cast<double>(static_cast<int64_t>(n)))
    throwFlare(env, "E_ARGUMENT", "randperm(): n must be a non-negative integer");
  c10::optional<at::Generator> g = generatorArgument(info[1]);
  return wrapTensor(env, at::randperm(static_cast<int64_t>(n), g, at::TensorOptions().dtype(at::kLong)));
}

}  // namespace

void initGenerator(Napi::Env env, Napi::Object exports) {
  exportFunction(env, exports, "generatorNew", generatorNew);
  exportFunction(env, exports, "generatorManualSeed", generatorManualSeed);
  exportFunction(env, exports, "generatorInitialSeed", generatorInitialSeed);
  exportFunction(env, exports, "generatorGetState", generatorGetState);
  exportFunction(env, exports, "generatorSetState", generatorSetState);
  exportFunction(env, exports, "randomFill", randomFill);
  exportFunction(env, exports, "randperm", randperm);
  exportFunction(env, exports, "randomDraw", randomDraw);
  exportFunction(env, exports, "randomSeed", randomSeed);
}

}  // namespace flare
