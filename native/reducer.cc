// DistributedDataParallel's gradient reducer (PyTorch's c10d Reducer, small):
// a C++ post-hook on each parameter's gradient accumulator copies its .grad
// into a flat bucket; when a bucket is complete and all buckets before it have
// been launched, an async Gloo allreduce starts, while backward goes on with
// the earlier layers (the overlap). A callback queued on the autograd engine
// runs when backward ends: it launches what is left (unused parameters count
// as zero with findUnusedParameters), waits, and writes the averages into .grad.
// No JS runs in the hooks. Debian's c10d/reducer.hpp does not compile, hence
// this file (see reference/libtorch-binding.md §6.4).
#include "distributed.h"

#ifdef FLARE_WITH_GLOO
#include <torch/csrc/autograd/engine.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <chrono>
#include <mutex>

namespace flare {

using Clock = std::chrono::steady_clock;
static double msSince(Clock::time_point origin, Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(t - origin).count();
}

struct Reducer;

struct ReducerHook : torch::autograd::FunctionPostHook {
  std::weak_ptr<Reducer> reducer;
  size_t index;
  ReducerHook(std::weak_ptr<Reducer> r, size_t i) : reducer(std::move(r)), index(i) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override;
};

struct Bucket {
  std::vector<size_t> params;
  std::vector<int64_t> offsets;
  at::Tensor flat;
  size_t pending = 0;
  c10::intrusive_ptr<c10d::Work> work;
  Clock::time_point launched;
  std::shared_ptr<std::atomic<int64_t>> doneNs;  // set by the work's future
};

struct Reducer : std::enable_shared_from_this<Reducer> {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  std::vector<at::Tensor> params;
  std::vector<std::string> names;
  std::vector<std::string> peers;  // "host:pid" per rank, to name a rank that died
  int rank = 0;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;
  std::vector<uintptr_t> hookKeys;
  std::vector<Bucket> buckets;
  std::vector<size_t> bucketOf, slotOf;
  std::vector<bool> ready;
  bool findUnused = false;
  bool armed = false, queued = false;
  size_t nextBucket = 0;
  std::mutex mutex;
  Clock::time_point firstHook, epoch = Clock::now();
  // Totals over all synced iterations (ms): time allreduces were in flight,
  // the part of it before backward ended (hidden), the wait after it (exposed).
  double commMs = 0, hiddenMs = 0, waitMs = 0, backwardMs = 0;
  int64_t iterations = 0;

  void build(int64_t firstCap, int64_t cap) {
    // Reverse registration order approximates the order gradients become ready.
    bucketOf.assign(params.size(), 0);
    slotOf.assign(params.size(), 0);
    Bucket current;
    int64_t bytes = 0;
    at::ScalarType dtype = at::kFloat;
    auto close = [&]() {
      if (current.params.empty()) return;
      int64_t numel = 0;
      for (size_t i : current.params) numel += params[i].numel();
      current.flat = at::zeros({numel}, params[current.params[0]].options().requires_grad(false));
      buckets.push_back(std::move(current));
      current = Bucket();
      bytes = 0;
    };
    for (size_t k = params.size(); k-- > 0;) {
      const at::Tensor& p = params[k];
      int64_t limit = buckets.empty() ? firstCap : cap;
      if (!current.params.empty() && (p.scalar_type() != dtype || bytes >= limit)) close();
      dtype = p.scalar_type();
      int64_t offset = 0;
      for (size_t i : current.params) offset += params[i].numel();
      bucketOf[k] = buckets.size();
      slotOf[k] = current.params.size();
      current.params.push_back(k);
      current.offsets.push_back(offset);
      bytes += p.numel() * static_cast<int64_t>(p.element_size());
    }
    close();
  }

  void arm() {
    std::lock_guard<std::mutex> lock(mutex);
    armed = true;
    queued = false;
    nextBucket = 0;
    ready.assign(params.size(), false);
    for (auto& b : buckets) {
      b.pending = b.params.size();
      b.work.reset();
    }
  }

  at::Tensor view(size_t k) {
    Bucket& b = buckets[bucketOf[k]];
    return b.flat.narrow(0, b.offsets[slotOf[k]], params[k].numel()).view(params[k].sizes());
  }

  void markReady(size_t k) {
    ready[k] = true;
    at::Tensor grad = params[k].grad();
    at::Tensor slot = view(k);
    if (grad.defined()) slot.copy_(grad);
    else slot.zero_();
    buckets[bucketOf[k]].pending--;
  }

  void launchReady() {
    while (nextBucket < buckets.size() && buckets[nextBucket].pending == 0) {
      Bucket& b = buckets[nextBucket++];
      std::vector<at::Tensor> tensors{b.flat};
      b.launched = Clock::now();
      b.doneNs = std::make_shared<std::atomic<int64_t>>(-1);
      b.work = group->allreduce(tensors);
      auto done = b.doneNs;
      auto origin = epoch;
      b.work->getFuture()->addCallback([done, origin](c10::ivalue::Future&) {
        done->store(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - origin).count());
      });
    }
  }

  void hook(size_t k) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed || ready[k]) return;
    if (!queued) {
      queued = true;
      firstHook = Clock::now();
      std::weak_ptr<Reducer> self = shared_from_this();
      torch::autograd::Engine::get_default_engine().queue_callback([self]() {
        if (auto r = self.lock()) r->finalize();
      });
    }
    markReady(k);
    launchReady();
  }

  void finalize() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;
    armed = false;
    auto end = Clock::now();
    if (nextBucket < buckets.size()) {
      std::vector<std::string> missing;
      for (size_t k = 0; k < params.size(); k++) if (!ready[k]) missing.push_back(names[k]);
      if (!findUnused) {
        std::string list;
        for (size_t i = 0; i < missing.size() && i < 8; i++) list += (i ? ", " : "") + missing[i];
        if (missing.size() > 8) list += ", ... (" + std::to_string(missing.size()) + " in all)";
        throw std::runtime_error("DistributedDataParallel: parameters received no gradient in this backward: " + list +
                                 ". Pass { findUnusedParameters: true } if some parameters are unused, or make sure every "
                                 "parameter takes part in computing the loss");
      }
      for (size_t k = 0; k < params.size(); k++) if (!ready[k]) markReady(k);
      launchReady();
    }
    double world = group->getSize();
    try {
      for (auto& b : buckets) b.work->wait();
    } catch (const c10::Error& e) {
      throw std::runtime_error(collectiveFailure("DistributedDataParallel: the gradient allreduce", e.what_without_backtrace(), peers, rank));
    } catch (const std::exception& e) {
      throw std::runtime_error(collectiveFailure("DistributedDataParallel: the gradient allreduce", e.what(), peers, rank));
    }
    auto waited = Clock::now();
    double endMs = msSince(epoch, end);
    for (auto& b : buckets) {
      double start = msSince(epoch, b.launched);
      int64_t ns = b.doneNs->load();
      double done = ns >= 0 ? ns / 1e6 : msSince(epoch, waited);
      commMs += std::max(0.0, done - start);
      hiddenMs += std::max(0.0, std::min(done, endMs) - start);
      b.flat.div_(world);
    }
    waitMs += msSince(end, waited);
    backwardMs += msSince(firstHook, end);
    iterations++;
    for (size_t k = 0; k < params.size(); k++) {
      at::Tensor& grad = params[k].mutable_grad();
      if (grad.defined()) grad.copy_(view(k));
      else grad = view(k).clone();
    }
  }

  void remove() {
    for (size_t i = 0; i < accumulators.size(); i++) accumulators[i]->del_post_hook(hookKeys[i]);
    accumulators.clear();
    hookKeys.clear();
  }
};

torch::autograd::variable_list ReducerHook::operator()(const torch::autograd::variable_list& outputs,
                                                       const torch::autograd::variable_list&) {
  if (auto r = reducer.lock()) r->hook(index);
  return outputs;
}

struct ReducerBox {
  std::shared_ptr<Reducer> reducer;
};

static Reducer* reducerOf(const Napi::Value& value) {
  if (!value.IsExternal()) throwFlare(value.Env(), "E_ARGUMENT", "reducer handle expected");
  auto& r = value.As<Napi::External<ReducerBox>>().Data()->reducer;
  if (!r) throwFlare(value.Env(), "E_DISPOSED", "the DistributedDataParallel reducer was removed");
  return r.get();
}

// newReducer(group, params, names, firstBucketBytes, bucketBytes, findUnused, peers, globalRank)
static Napi::Value newReducer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto reducer = std::make_shared<Reducer>();
  reducer->group = groupOf(info[0])->group;
  Napi::Array params = info[1].As<Napi::Array>(), names = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < params.Length(); i++) {
    at::Tensor p = unwrapTensor(params.Get(i), "parameter");
    if (!p.requires_grad() || !p.is_leaf())
      throwFlare(env, "E_ARGUMENT", "DistributedDataParallel: parameter " + names.Get(i).As<Napi::String>().Utf8Value() + " is not a leaf that requires grad");
    reducer->params.push_back(p);
    reducer->names.push_back(names.Get(i).As<Napi::String>().Utf8Value());
  }
  reducer->findUnused = info[5].As<Napi::Boolean>().Value();
  Napi::Array peers = info[6].As<Napi::Array>();
  for (uint32_t i = 0; i < peers.Length(); i++) reducer->peers.push_back(peers.Get(i).As<Napi::String>().Utf8Value());
  reducer->rank = info[7].As<Napi::Number>().Int32Value();
  reducer->build(info[3].As<Napi::Number>().Int64Value(), info[4].As<Napi::Number>().Int64Value());
  for (size_t i = 0; i < reducer->params.size(); i++) {
    auto acc = torch::autograd::impl::grad_accumulator(reducer->params[i]);
    reducer->hookKeys.push_back(acc->add_post_hook(std::make_unique<ReducerHook>(reducer, i)));
    reducer->accumulators.push_back(acc);
  }
  auto* box = new ReducerBox{reducer};
  return Napi::External<ReducerBox>::New(env, box, [](Napi::Env, ReducerBox* b) {
    if (b->reducer) b->reducer->remove();
    delete b;
  });
}

// reducerPrepare(reducer): the next backward reduces (DDP's forward calls it
// when grad is on and sync is not switched off).
static Napi::Value reducerPrepare(const Napi::CallbackInfo& info) {
  reducerOf(info[0])->arm();
  return info.Env().Undefined();
}

static Napi::Value reducerBuckets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Reducer* r = reducerOf(info[0]);
  Napi::Array out = Napi::Array::New(env, r->buckets.size());
  for (size_t b = 0; b < r->buckets.size(); b++) {
    Napi::Array names = Napi::Array::New(env, r->buckets[b].params.size());
    for (size_t j = 0; j < r->buckets[b].params.size(); j++) names.Set(j, r->names[r->buckets[b].params[j]]);
    out.Set(b, names);
  }
  return out;
}

static Napi::Value reducerStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Reducer* r = reducerOf(info[0]);
  std::lock_guard<std::mutex> lock(r->mutex);
  Napi::Object out = Napi::Object::New(env);
  out.Set("iterations", Napi::Number::New(env, static_cast<double>(r->iterations)));
  out.Set("buckets", Napi::Number::New(env, static_cast<double>(r->buckets.size())));
  out.Set("commMs", Napi::Number::New(env, r->commMs));
  out.Set("hiddenMs", Napi::Number::New(env, r->hiddenMs));
  out.Set("waitMs", Napi::Number::New(env, r->waitMs));
  out.Set("backwardMs", Napi::Number::New(env, r->backwardMs));
  return out;
}

static Napi::Value reducerRemove(const Napi::CallbackInfo& info) {
  if (info[0].IsExternal()) {
    auto& r = info[0].As<Napi::External<ReducerBox>>().Data()->reducer;
    if (r) r->remove();
    r.reset();
  }
  return info.Env().Undefined();
}

void initReducer(Napi::Env env, Napi::Object exports) {
  exportFunction(env, exports, "distNewReducer", newReducer);
  exportFunction(env, exports, "distReducerPrepare", reducerPrepare);
  exportFunction(env, exports, "distReducerBuckets", reducerBuckets);
  exportFunction(env, exports, "distReducerStats", reducerStats);
  exportFunction(env, exports, "distReducerRemove", reducerRemove);
}

}  // namespace flare
#endif
