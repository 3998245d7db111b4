// Shared plumbing for the addon: tensor handles, dtype/device names, and the
// one place where C++ exceptions become FlareErrors.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <stdexcept>
#include <string>

namespace flare {

// What a handle names. dispose() resets `tensor`; the JS FinalizationRegistry
// disposes what user code did not (the safety net DESIGN.md asks for).
struct TensorBox {
  at::Tensor tensor;
  c10::StorageImpl* storage = nullptr;  // the storage it is counted under
  bool reported = false;  // it has a GC guard, so its storage's bytes were told to V8
};

// Wraps a tensor in a new handle (a number naming a slot in the handle table).
Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor);
// The tensor behind a handle; throws a FlareError naming `what` if the value is
// not a handle or the tensor was disposed.
at::Tensor unwrapTensor(const Napi::Value& value, const char* what);
// The tensor behind a handle, or an undefined tensor (with *disposed set if it
// was freed). Safe from any thread.
at::Tensor findTensor(const Napi::Value& value, bool* disposed);
// Frees a handle's tensor now. Returns false if it was already freed.
bool disposeHandle(Napi::Env env, const Napi::Value& value);

// Live-handle accounting for torch.memory().
struct MemoryStats {
  int64_t numTensors;
  int64_t numStorages;
  int64_t numBytes;
};
MemoryStats memoryStats();

// "float32" <-> at::kFloat, "cuda:0" <-> at::Device.
at::ScalarType parseDtype(const std::string& name, const char* what);
const char* dtypeName(at::ScalarType type);
at::Device parseDevice(const std::string& name, const char* what);
std::string deviceName(const at::Device& device);

// Use of a tensor by a thread that released it to another (E_DISPOSED).
struct TransferredError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws a FlareError (the JS class registered at init) with a code.
[[noreturn]] void throwFlare(Napi::Env env, const std::string& code, const std::string& message);

// Runs `body`, turning every C++ exception into a FlareError with libtorch's
// plain message (no C++ backtrace).
template <typename F>
Napi::Value guarded(Napi::Env env, F&& body);

void setErrorClass(Napi::Env env, Napi::Function ctor);

// Exports `fn` as `name`, guarded: no C++ exception from any binding can reach
// Node (where it would abort the process); each becomes a FlareError.
void exportFunction(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback fn);
void rethrowAsFlare(Napi::Env env);  // call from inside a catch(...) block
// Whether libtorch's message is an allocation failure; *bytes is what was asked (0 if unsaid).
bool allocationFailure(const std::string& message, uint64_t* bytes);
std::string byteText(uint64_t bytes);  // "4000000000000 bytes (3.6 TiB)"

template <typename F>
Napi::Value guarded(Napi::Env env, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    rethrowAsFlare(env);
  }
  return env.Undefined();
}

// Module initialisers, one per translation unit.
void initTensor(Napi::Env env, Napi::Object exports);
void initOps(Napi::Env env, Napi::Object exports);
void initDistributed(Napi::Env env, Napi::Object exports);
void initKernels(Napi::Env env, Napi::Object exports);
void initNms(Napi::Env env, Napi::Object exports);
void initGenerator(Napi::Env env, Napi::Object exports);
void initCpuCache(Napi::Env env, Napi::Object exports);
// True when a freed storage of this many bytes stays in the CPU cache's small-block lists
// (cache on, 1..4096 bytes) instead of going back to glibc.
bool cpuCacheKeepsSmall(size_t bytes);
void initJpeg(Napi::Env env, Napi::Object exports);

}  // namespace flare
