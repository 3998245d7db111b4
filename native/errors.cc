// C++ exceptions -> FlareError. libtorch's what() carries a C++ backtrace;
// users get what_without_backtrace(), cut before any "Exception raised from".
#include "flare.h"

#include <cstdio>
#include <cstdlib>

namespace flare {

// Per environment (main thread, each worker): a JS reference must never
// outlive or cross the environment that made it.
struct EnvData {
  Napi::FunctionReference errorClass;
};

void setErrorClass(Napi::Env env, Napi::Function ctor) {
  EnvData* data = env.GetInstanceData<EnvData>();
  if (data == nullptr) {
    data = new EnvData();
    env.SetInstanceData(data);
  }
  data->errorClass = Napi::Persistent(ctor);
}

static std::string plainMessage(const char* raw) {
  std::string message(raw);
  for (const char* marker : {"\nException raised from", "Exception raised from "}) {
    auto cut = message.find(marker);
    if (cut != std::string::npos) message.resize(cut);
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

// "Could not run 'aten::empty_strided' with arguments from the 'CUDA' backend. ..." is
// followed by every dispatch key libtorch knows; say what is wrong and what to do instead.
static bool missingBackend(const std::string& message, std::string* plain) {
  const std::string head = "Could not run '", from = "' with arguments from the '";
  if (message.rfind(head, 0) != 0) return false;
  const auto opEnd = message.find(from);
  if (opEnd == std::string::npos) return false;
  const auto backendStart = opEnd + from.size();
  const auto backendEnd = message.find('\'', backendStart);
  if (backendEnd == std::string::npos) return false;
  const std::string op = message.substr(head.size(), opEnd - head.size());
  const std::string backend = message.substr(backendStart, backendEnd - backendStart);
  *plain = "the " + backend + " backend is not available in this libtorch (" + op + " has no " + backend + " kernel here)";
  if (backend == "CUDA")
    *plain += "; torch.cuda.isAvailable() is false: use the CPU, or point FLARE_LIBTORCH at a CUDA build of libtorch and run `npx flare setup`";
  return true;
}

static bool isFlareError(Napi::Env env, const Napi::Value& value) {
  EnvData* data = env.GetInstanceData<EnvData>();
  if (data == nullptr || data->errorClass.IsEmpty() || !value.IsObject()) return false;
  return value.As<Napi::Object>().InstanceOf(data->errorClass.Value());
}

// node-addon-api reports an argument of the wrong type (`As<Napi::Number>()` on
// a string, a missing argument) as a plain Error ("A number was expected"):
// callers of the raw native object get a FlareError naming the function instead.
void exportFunction(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback fn) {
  exports.Set(name, Napi::Function::New(env, [fn, name](const Napi::CallbackInfo& info) -> Napi::Value {
    Napi::Env env = info.Env();
    try {
      return guarded(env, [&]() -> Napi::Value { return fn(info); });
    } catch (const Napi::Error& e) {
      if (isFlareError(env, e.Value())) throw;
      throwFlare(env, "E_ARGUMENT", std::string("native ") + name + "(): wrong arguments (" + std::to_string(info.Length()) +
                                        " given): " + e.Message());
    }
  }, name));
}

// "[enforce fail at alloc_cpu.cpp:75] ... DefaultCPUAllocator: not enough memory: you
// tried to allocate 4000000000000 bytes." -> the byte count.
bool allocationFailure(const std::string& message, uint64_t* bytes) {
  if (message.find("DefaultCPUAllocator") == std::string::npos && message.find("out of memory") == std::string::npos) return false;
  const std::string marker = "tried to allocate ";
  auto at = message.find(marker);
  *bytes = at == std::string::npos ? 0 : std::strtoull(message.c_str() + at + marker.size(), nullptr, 10);
  return true;
}

std::string byteText(uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) { value /= 1024; unit++; }
  char text[64];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return std::to_string(bytes) + " bytes" + (unit == 0 ? "" : std::string(" (") + text + ")");
}

void throwFlare(Napi::Env env, const std::string& code, const std::string& message) {
  EnvData* data = env.GetInstanceData<EnvData>();
  if (data == nullptr || data->errorClass.IsEmpty()) throw Napi::Error::New(env, message);
  Napi::Object error = data->errorClass.New({Napi::String::New(env, message), Napi::String::New(env, code)});
  throw Napi::Error(env, error);
}

void rethrowAsFlare(Napi::Env env) {
  try {
    throw;
  } catch (const c10::IndexError& e) {
    throwFlare(env, "E_INDEX", plainMessage(e.what_without_backtrace()));
  } catch (const c10::TypeError& e) {
    throwFlare(env, "E_TYPE", plainMessage(e.what_without_backtrace()));
  } catch (const c10::NotImplementedError& e) {
    const std::string message = plainMessage(e.what_without_backtrace());
    std::string device;
    if (missingBackend(message, &device)) throwFlare(env, "E_DEVICE", device);
    throwFlare(env, "E_NOT_IMPLEMENTED", message);
  } catch (const c10::OutOfMemoryError& e) {
    throwFlare(env, "E_OUT_OF_MEMORY", plainMessage(e.what_without_backtrace()));
  } catch (const c10::LinAlgError& e) {
    throwFlare(env, "E_LINALG", plainMessage(e.what_without_backtrace()));
  } catch (const c10::Error& e) {
    const std::string message = plainMessage(e.what_without_backtrace());
    uint64_t bytes = 0;
    if (allocationFailure(message, &bytes))
      throwFlare(env, "E_OUT_OF_MEMORY", "out of memory: could not allocate " + (bytes ? byteText(bytes) : std::string("the memory asked for")));
    if (message.find("Storage size calculation overflowed") != std::string::npos)
      throwFlare(env, "E_OUT_OF_MEMORY", "out of memory: the tensor would need more than 2^63 bytes (" + message + ")");
    throwFlare(env, "E_TORCH", message);
  } catch (const std::bad_alloc&) {
    throwFlare(env, "E_OUT_OF_MEMORY", "out of memory");
  } catch (const TransferredError& e) {
    throwFlare(env, "E_DISPOSED", e.what());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throwFlare(env, "E_ARGUMENT", e.what());
  } catch (const std::exception& e) {
    const std::string message = plainMessage(e.what());
    // libtorch's infer_size throws a std::runtime_error (view(4, -1) of 6 elements): the caller's shape, not a flare bug.
    for (const char* shapeError : {"is invalid for input of size", "only one dimension can be inferred", "invalid shape dimension"})
      if (message.find(shapeError) != std::string::npos) throwFlare(env, "E_SHAPE", message);
    throwFlare(env, "E_INTERNAL", message);
  } catch (...) {
    throwFlare(env, "E_INTERNAL", "unknown native error");
  }
}

}  // namespace flare
