// c10d: a TCPStore rendezvous and Gloo process groups (torchrun's protocol).
// Every collective returns a work handle: wait it on this thread (workWait),
// or off it (workWaitAsync: a waiter thread resolves a Promise, so the event
// loop keeps running while Gloo's own threads move the data). Kept to the
// surface that 1.13 and 2.x share (ProcessGroupGloo used directly).
#include "distributed.h"

#ifdef FLARE_WITH_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <fstream>
#include <pthread.h>
#include <signal.h>
#include <thread>
#include <unistd.h>
#endif

namespace flare {

#ifdef FLARE_WITH_GLOO
static ContextBox* contextOf(const Napi::Value& value) {
  if (!value.IsExternal()) throwFlare(value.Env(), "E_ARGUMENT", "rendezvous handle expected");
  auto* box = value.As<Napi::External<ContextBox>>().Data();
  if (!box->store) throwFlare(value.Env(), "E_DISPOSED", "the process group was destroyed");
  return box;
}

GroupBox* groupOf(const Napi::Value& value) {
  if (!value.IsExternal()) throwFlare(value.Env(), "E_ARGUMENT", "process group handle expected");
  auto* box = value.As<Napi::External<GroupBox>>().Data();
  if (!box->group) throwFlare(value.Env(), "E_DISPOSED", "the process group was destroyed");
  return box;
}

struct WorkBox {
  c10::intrusive_ptr<c10d::Work> work;
  std::vector<at::Tensor> tensors;
};

Napi::Value wrapWork(Napi::Env env, c10::intrusive_ptr<c10d::Work> work, std::vector<at::Tensor> tensors) {
  auto* box = new WorkBox{std::move(work), std::move(tensors)};
  return Napi::External<WorkBox>::New(env, box, [](Napi::Env, WorkBox* b) { delete b; });
}

// A sampling profiler (node --cpu-prof, perf) signals this thread with SIGPROF;
// c10d's TCPStore treats the EINTR that interrupts its blocking connect / recv
// as a failure ("Interrupted system call"). Rendezvous and store calls run with
// SIGPROF held back (delivered when the guard ends; threads started meanwhile,
// Gloo's, inherit the mask and never needed the signal).
class ProfilerSignalHold {
 public:
  ProfilerSignalHold() {
    sigset_t prof;
    sigemptyset(&prof);
    sigaddset(&prof, SIGPROF);
    pthread_sigmask(SIG_BLOCK, &prof, &saved_);
  }
  ~ProfilerSignalHold() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  ProfilerSignalHold(const ProfilerSignalHold&) = delete;
  ProfilerSignalHold& operator=(const ProfilerSignalHold&) = delete;

 private:
  sigset_t saved_;
};

static WorkBox* workOf(const Napi::Value& value) {
  if (!value.IsExternal()) throwFlare(value.Env(), "E_ARGUMENT", "work handle expected");
  return value.As<Napi::External<WorkBox>>().Data();
}

// newContext(host, port, rank, worldSize, timeoutMs, ifname, deviceHost):
// joins the store (rank 0 serves it and waits for all workers) and makes the
// Gloo device: on the interface named, else bound to deviceHost, else the
// host's default address.
static Napi::Value newContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string host = info[0].As<Napi::String>().Utf8Value();
  int port = info[1].As<Napi::Number>().Int32Value();
  int rank = info[2].As<Napi::Number>().Int32Value();
  int world = info[3].As<Napi::Number>().Int32Value();
  auto timeout = std::chrono::milliseconds(info[4].As<Napi::Number>().Int64Value());
  std::string ifname = info[5].As<Napi::String>().Utf8Value();
  std::string deviceHost = info[6].As<Napi::String>().Utf8Value();
  if (world < 1 || rank < 0 || rank >= world)
    throwFlare(env, "E_ARGUMENT", "rank " + std::to_string(rank) + " is outside world size " + std::to_string(world));
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(port);
  options.isServer = rank == 0;
  options.numWorkers = world;
  options.timeout = timeout;
  auto* box = new ContextBox();
  box->timeout = timeout;
  ProfilerSignalHold hold;
  try {
    box->store = c10::make_intrusive<c10d::TCPStore>(host, options);
    if (!ifname.empty()) box->device = c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
    else if (!deviceHost.empty()) box->device = c10d::ProcessGroupGloo::createDeviceForHostname(deviceHost);
    else box->device = c10d::ProcessGroupGloo::createDefaultDevice();
  } catch (...) {
    delete box;
    throw;
  }
  return Napi::External<ContextBox>::New(env, box, [](Napi::Env, ContextBox* b) { delete b; });
}

// newGroup(context, prefix, rank, size): a Gloo group over the context's
// store, its keys under `prefix` (every member passes the same one).
static Napi::Value newGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ContextBox* ctx = contextOf(info[0]);
  std::string prefix = info[1].As<Napi::String>().Utf8Value();
  int rank = info[2].As<Napi::Number>().Int32Value();
  int size = info[3].As<Napi::Number>().Int32Value();
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>(prefix, ctx->store);
  ProfilerSignalHold hold;
  auto glooOptions = c10d::ProcessGroupGloo::Options::create(ctx->timeout);
  glooOptions->devices.push_back(ctx->device);
  auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, size, glooOptions);
  auto* box = new GroupBox{group};
  return Napi::External<GroupBox>::New(env, box, [](Napi::Env, GroupBox* b) { delete b; });
}

// storeSet / storeGet: small strings through the rendezvous store (who is who).
static Napi::Value storeSet(const Napi::CallbackInfo& info) {
  ContextBox* ctx = contextOf(info[0]);
  std::string key = info[1].As<Napi::String>().Utf8Value(), value = info[2].As<Napi::String>().Utf8Value();
  ProfilerSignalHold hold;
  ctx->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
  return info.Env().Undefined();
}

static Napi::Value storeGet(const Napi::CallbackInfo& info) {
  ContextBox* ctx = contextOf(info[0]);
  ProfilerSignalHold hold;
  auto value = ctx->store->get(info[1].As<Napi::String>().Utf8Value());
  return Napi::String::New(info.Env(), std::string(value.begin(), value.end()));
}

static bool processGone(long pid) {
  if (kill(static_cast<pid_t>(pid), 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && (line[close + 2] == 'Z' || line[close + 2] == 'X');
}

std::vector<std::string> deadPeers(const std::vector<std::string>& peers, int self) {
  char name[256] = {0};
  gethostname(name, sizeof(name) - 1);
  std::vector<std::string> gone;
  for (int attempt = 0; attempt < 15 && gone.empty(); attempt++) {
    if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (size_t r = 0; r < peers.size(); r++) {
      auto colon = peers[r].rfind(':');
      if (static_cast<int>(r) == self || colon == std::string::npos || peers[r].substr(0, colon) != name) continue;
      long pid = std::atol(peers[r].c_str() + colon + 1);
      if (pid > 0 && processGone(pid)) gone.push_back("rank " + std::to_string(r) + " (pid " + std::to_string(pid) + ")");
    }
  }
  return gone;
}

std::string collectiveFailure(const std::string& what, const std::string& cause, const std::vector<std::string>& peers, int self) {
  auto gone = deadPeers(peers, self);
  std::string who;
  for (size_t i = 0; i < gone.size(); i++) who += (i ? ", " : "") + gone[i];
  std::string first = cause.substr(0, cause.find('\n'));
  std::string why = !gone.empty() ? who + (gone.size() > 1 ? " are gone" : " is gone")
                    : (first.find("imed out") != std::string::npos || first.find("imeout") != std::string::npos)
                          ? "a peer did not take part within the timeout"
                          : "a peer closed its connection or failed";
  return what + " failed on rank " + std::to_string(self) + " of " + std::to_string(peers.size()) + ": " + why + " (" + first + ")";
}

// deadPeers(peers, self) → ["rank 1 (pid 123)", ...]
static Napi::Value deadPeersBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<std::string> peers;
  for (uint32_t i = 0; i < list.Length(); i++) peers.push_back(list.Get(i).As<Napi::String>().Utf8Value());
  auto gone = deadPeers(peers, info[1].As<Napi::Number>().Int32Value());
  Napi::Array out = Napi::Array::New(env, gone.size());
  for (size_t i = 0; i < gone.size(); i++) out.Set(i, gone[i]);
  return out;
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

// allReduce(group, tensors, op) → work: in place.
static Napi::Value allReduce(const Napi::CallbackInfo& info) {
  GroupBox* box = groupOf(info[0]);
  auto tensors = tensorsOf(info[1]);
  c10d::AllreduceOptions options;
  options.reduceOp = reduceOp(info[2].As<Napi::String>().Utf8Value());
  auto work = box->group->allreduce(tensors, options);
  return wrapWork(info.Env(), work, tensors);
}

// broadcast(group, tensors, root) → work: in place.
static Napi::Value broadcast(const Napi::CallbackInfo& info) {
  GroupBox* box = groupOf(info[0]);
  auto tensors = tensorsOf(info[1]);
  c10d::BroadcastOptions options;
  options.rootRank = info[2].As<Napi::Number>().Int32Value();
  auto work = box->group->broadcast(tensors, options);
  return wrapWork(info.Env(), work, tensors);
}

// allGather(group, outputs, input) → work: outputs[r] receives rank r's input.
static Napi::Value allGather(const Napi::CallbackInfo& info) {
  GroupBox* box = groupOf(info[0]);
  std::vector<std::vector<at::Tensor>> outputs{tensorsOf(info[1])};
  std::vector<at::Tensor> inputs{unwrapTensor(info[2], "input")};
  auto work = box->group->allgather(outputs, inputs);
  std::vector<at::Tensor> keep = outputs[0];
  keep.push_back(inputs[0]);
  return wrapWork(info.Env(), work, keep);
}

static Napi::Value barrier(const Napi::CallbackInfo& info) {
  return wrapWork(info.Env(), groupOf(info[0])->group->barrier(), {});
}

static std::string messageOf(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

static Napi::Value workWait(const Napi::CallbackInfo& info) {
  WorkBox* box = workOf(info[0]);
  box->work->wait();
  return info.Env().Undefined();
}

static Napi::Value workIsCompleted(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), workOf(info[0])->work->isCompleted());
}

// workWaitAsync(work) → Promise: a waiter thread blocks in wait() and hands
// the outcome back to the JS thread through a thread-safe function.
static Napi::Value workWaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WorkBox* box = workOf(info[0]);
  auto deferred = std::make_shared<Napi::Promise::Deferred>(env);
  auto tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "flare.workWait", 0, 1);
  auto work = box->work;
  auto tensors = box->tensors;  // alive until the collective is done
  std::thread([work, tensors, tsfn, deferred]() mutable {
    std::string error;
    try {
      work->wait();
    } catch (...) {
      error = messageOf(std::current_exception());
      if (error.empty()) error = "collective failed";
    }
    tensors.clear();
    tsfn.BlockingCall([deferred, error](Napi::Env env, Napi::Function) {
      if (error.empty()) deferred->Resolve(env.Undefined());
      else deferred->Reject(Napi::Error::New(env, error).Value());
    });
    tsfn.Release();
  }).detach();
  return deferred->Promise();
}

static Napi::Value destroyGroup(const Napi::CallbackInfo& info) {
  if (info[0].IsExternal()) info[0].As<Napi::External<GroupBox>>().Data()->group.reset();
  return info.Env().Undefined();
}

static Napi::Value destroyContext(const Napi::CallbackInfo& info) {
  if (info[0].IsExternal()) {
    auto* box = info[0].As<Napi::External<ContextBox>>().Data();
    box->device.reset();
    box->store.reset();
  }
  return info.Env().Undefined();
}

void initDistributed(Napi::Env env, Napi::Object exports) {
  exportFunction(env, exports, "distNewContext", newContext);
  exportFunction(env, exports, "distNewGroup", newGroup);
  exportFunction(env, exports, "distStoreSet", storeSet);
  exportFunction(env, exports, "distStoreGet", storeGet);
  exportFunction(env, exports, "distAllReduce", allReduce);
  exportFunction(env, exports, "distBroadcast", broadcast);
  exportFunction(env, exports, "distAllGather", allGather);
  exportFunction(env, exports, "distBarrier", barrier);
  exportFunction(env, exports, "distWorkWait", workWait);
  exportFunction(env, exports, "distWorkWaitAsync", workWaitAsync);
  exportFunction(env, exports, "distWorkIsCompleted", workIsCompleted);
  exportFunction(env, exports, "distDestroyGroup", destroyGroup);
  exportFunction(env, exports, "distDestroyContext", destroyContext);
  exportFunction(env, exports, "distDeadPeers", deadPeersBinding);
  initReducer(env, exports);
}
#else
void initDistributed(Napi::Env, Napi::Object) {}
#endif

}  // namespace flare
