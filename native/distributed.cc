// c10d: a TCPStore rendezvous and a Gloo process group (torchrun's protocol).
// Collectives here are blocking; the data-parallel work adds async ones and
// the gradient reducer. Kept to the surface that 1.13 and 2.x share.
#include "flare.h"

#ifdef FLARE_WITH_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace flare {

#ifdef FLARE_WITH_GLOO
struct GroupBox {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

static GroupBox* groupOf(const Napi::Value& value) {
  if (!value.IsExternal()) throwFlare(value.Env(), "E_ARGUMENT", "process group handle expected");
  auto* box = value.As<Napi::External<GroupBox>>().Data();
  if (!box->group) throwFlare(value.Env(), "E_DISPOSED", "process group was destroyed");
  return box;
}

// newGroup(host, port, rank, worldSize, timeoutMs)
static Napi::Value newGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string host = info[0].As<Napi::String>().Utf8Value();
  int port = info[1].As<Napi::Number>().Int32Value();
  int rank = info[2].As<Napi::Number>().Int32Value();
  int world = info[3].As<Napi::Number>().Int32Value();
  auto timeout = std::chrono::milliseconds(info[4].As<Napi::Number>().Int64Value());
  if (world < 1 || rank < 0 || rank >= world)
    throwFlare(env, "E_ARGUMENT", "rank " + std::to_string(rank) + " is outside world size " + std::to_string(world));
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(port);
  options.isServer = rank == 0;
  options.numWorkers = world;
  options.timeout = timeout;
  auto store = c10::make_intrusive<c10d::TCPStore>(host, options);
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("flare/default_pg", store);
  auto glooOptions = c10d::ProcessGroupGloo::Options::create(timeout);
  glooOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
  auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, world, glooOptions);
  auto* box = new GroupBox{store, group};
  return Napi::External<GroupBox>::New(env, box, [](Napi::Env, GroupBox* box) { delete box; });
}

static std::vector<at::Tensor> tensorsOf(const Napi::Value& value) {
  Napi::Array array = value.As<Napi::Array>();
  std::vector<at::Tensor> tensors;
  for (uint32_t i = 0; i < array.Length(); i++) tensors.push_back(unwrapTensor(array.Get(i), "tensor"));
  return tensors;
}

static c10d::ReduceOp reduceOp(const std::string& name) {
  if (name == "sum") return c10d::ReduceOp::SUM;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "max") return c10d::ReduceOp::MAX;
  throw std::invalid_argument("reduce op must be sum, product, min or max, got '" + name + "'");
}

// allReduce(group, tensors, op): in place, blocking.
static Napi::Value allReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GroupBox* box = groupOf(info[0]);
  auto tensors = tensorsOf(info[1]);
  c10d::AllreduceOptions options;
  options.reduceOp = reduceOp(info[2].As<Napi::String>().Utf8Value());
  box->group->allreduce(tensors, options)->wait();
  return env.Undefined();
}

// broadcast(group, tensors, root): in place, blocking.
static Napi::Value broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GroupBox* box = groupOf(info[0]);
  auto tensors = tensorsOf(info[1]);
  c10d::BroadcastOptions options;
  options.rootRank = info[2].As<Napi::Number>().Int32Value();
  box->group->broadcast(tensors, options)->wait();
  return env.Undefined();
}

static Napi::Value barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  groupOf(info[0])->group->barrier()->wait();
  return env.Undefined();
}

static Napi::Value destroyGroup(const Napi::CallbackInfo& info) {
  GroupBox* box = groupOf(info[0]);
  box->group.reset();
  box->store.reset();
  return info.Env().Undefined();
}

void initDistributed(Napi::Env env, Napi::Object exports) {
  exportFunction(env, exports, "newGroup", newGroup);
  exportFunction(env, exports, "allReduce", allReduce);
  exportFunction(env, exports, "broadcast", broadcast);
  exportFunction(env, exports, "barrier", barrier);
  exportFunction(env, exports, "destroyGroup", destroyGroup);
}
#else
void initDistributed(Napi::Env, Napi::Object) {}
#endif

}  // namespace flare
