// C++ exceptions -> FlareError. libtorch's what() carries a C++ backtrace;
// users get what_without_backtrace(), cut before any "Exception raised from".
#include "flare.h"

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

void exportFunction(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback fn) {
  exports.Set(name, Napi::Function::New(env, [fn](const Napi::CallbackInfo& info) -> Napi::Value {
    return guarded(info.Env(), [&]() -> Napi::Value { return fn(info); });
  }, name));
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
    throwFlare(env, "E_TORCH", plainMessage(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    throwFlare(env, "E_OUT_OF_MEMORY", "out of memory");
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throwFlare(env, "E_ARGUMENT", e.what());
  } catch (const std::exception& e) {
    throwFlare(env, "E_INTERNAL", plainMessage(e.what()));
  } catch (...) {
    throwFlare(env, "E_INTERNAL", "unknown native error");
  }
}

}  // namespace flare
