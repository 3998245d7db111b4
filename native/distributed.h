// What the c10d translation units share: the boxes behind JS handles for a
// rendezvous (store + Gloo device), a process group, and a collective's work.
#pragma once
#include "flare.h"

#ifdef FLARE_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace flare {

// One rendezvous: the TCPStore (rank 0 serves it) and the Gloo transport
// device that every group made from it shares.
struct ContextBox {
  c10::intrusive_ptr<c10d::Store> store;
  std::shared_ptr<::gloo::transport::Device> device;
  std::chrono::milliseconds timeout;
};

struct GroupBox {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

GroupBox* groupOf(const Napi::Value& value);
// A collective in flight: the tensors it reads and writes stay alive with it.
Napi::Value wrapWork(Napi::Env env, c10::intrusive_ptr<c10d::Work> work, std::vector<at::Tensor> tensors);

// Which of `peers` ("host:pid" per rank, this host's only) have exited:
// "rank 1 (pid 123)", ... — retried briefly, as a peer's sockets close just
// before its process is gone.
std::vector<std::string> deadPeers(const std::vector<std::string>& peers, int self);
// A failed collective's message, naming the ranks that are gone when it can.
std::string collectiveFailure(const std::string& what, const std::string& cause, const std::vector<std::string>& peers, int self);

void initReducer(Napi::Env env, Napi::Object exports);

}  // namespace flare
#endif
