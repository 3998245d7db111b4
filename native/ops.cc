// Every ATen op through the c10 dispatcher, boxed: `op(name, overload)` looks a
// schema up once and returns an index; `call(index, ...args)` converts the JS
// arguments by the schema's types, runs the op (autograd included) and converts
// the results. No per-op C++; it follows whichever libtorch is installed.
#include "flare.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

#include <ATen/Dispatch.h>
#include <ATen/EmptyTensor.h>
#include <ATen/ScalarOps.h>

#include <cmath>
#include <limits>
#include <atomic>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace flare {

enum class Kind {
  Tensor, Int, Float, Bool, Scalar, String, IntList, FloatList, BoolList,
  TensorList, OptionalTensorList, ScalarType, Layout, MemoryFormat, Device, Generator, Unsupported
};

struct ArgSpec {
  std::string name;
  Kind kind;
  bool optional;
  c10::optional<int> fixedLength;  // int[2] accepts one int and repeats it
  c10::optional<c10::IValue> defaultValue;
};

struct OpInfo {
  std::string name;
  c10::OperatorHandle handle;
  std::vector<ArgSpec> args;
  std::vector<bool> returnAliasesInput;  // in-place and out= results: JS returns `this`
  // For `op.Scalar(self, other, ...)` ops that libtorch implements as
  // `op.Tensor(self, wrapped_scalar_tensor(other), ...)`: the Tensor overload's handle.
  c10::optional<c10::OperatorHandle> tensorOverload;
  // The Tensor argument given as a number (`op(name, overload, argName)`): it becomes
  // a 0-dim tensor of the first argument's dtype and device, as Python's `x[idx] = 2`
  // makes its values (valueToTensor), within this one native call. (A tensor handle
  // is a number too, so such an op takes only numbers there; JS picks the op.)
  int numberTensorArg = -1;
};

// Looked up from any thread (worker threads load the addon too): a deque keeps
// entries in place while it grows, and `registrySize` publishes finished ones.
static std::mutex registryMutex;
static std::deque<OpInfo> registry;
static std::atomic<size_t> registrySize{0};
static std::unordered_map<std::string, size_t> registryIndex;  // "name.overload" -> index

static Kind kindOf(const c10::TypePtr& type, const c10::TypePtr& realType) {
  switch (realType->kind()) {
    case c10::TypeKind::ScalarTypeType: return Kind::ScalarType;
    case c10::TypeKind::LayoutType: return Kind::Layout;
    case c10::TypeKind::MemoryFormatType: return Kind::MemoryFormat;
    default: break;
  }
  switch (type->kind()) {
    case c10::TypeKind::TensorType: return Kind::Tensor;
    case c10::TypeKind::IntType: return Kind::Int;
    case c10::TypeKind::SymIntType: return Kind::Int;
    case c10::TypeKind::FloatType: return Kind::Float;
    case c10::TypeKind::BoolType: return Kind::Bool;
    case c10::TypeKind::NumberType: return Kind::Scalar;
    case c10::TypeKind::StringType: return Kind::String;
    case c10::TypeKind::DeviceObjType: return Kind::Device;
    case c10::TypeKind::GeneratorType: return Kind::Generator;
    case c10::TypeKind::ListType: {
      auto element = type->castRaw<c10::ListType>()->getElementType();
      switch (element->kind()) {
        case c10::TypeKind::IntType:
        case c10::TypeKind::SymIntType: return Kind::IntList;
        case c10::TypeKind::FloatType: return Kind::FloatList;
        case c10::TypeKind::BoolType: return Kind::BoolList;
        case c10::TypeKind::TensorType: return Kind::TensorList;
        case c10::TypeKind::OptionalType: return Kind::OptionalTensorList;
        default: return Kind::Unsupported;
      }
    }
    default: return Kind::Unsupported;
  }
}

// Binary ops whose Scalar overload is, in libtorch 1.13, the Tensor overload
// with the number wrapped in a 0-dim int64/double tensor (wrapped_scalar_tensor).
// TensorIterator then casts that tensor to the op's dtype: an allocation and a
// copy kernel on every call (1.1 us of mul's 2 us on 4 floats, measured).
// flare wraps the number in the op's dtype itself when that gives the same
// values (see scalarInDtype), and calls the Tensor overload.
static bool wrapsScalar(const std::string& name, const std::string& overload) {
  static const char* const names[] = {"aten::add", "aten::sub", "aten::mul", "aten::div", "aten::add_", "aten::sub_",
                                      "aten::mul_", "aten::div_", "aten::eq", "aten::ne", "aten::lt", "aten::le",
                                      "aten::gt", "aten::ge"};
  if (overload != "Scalar") return false;
  for (const char* known : names)
    if (name == known) return true;
  return false;
}

static Napi::Value lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  std::string numberArg = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  std::string key = name + "." + overload + (numberArg.empty() ? "" : "#" + numberArg);
  std::lock_guard<std::mutex> lock(registryMutex);
  auto known = registryIndex.find(key);
  if (known != registryIndex.end()) return Napi::Number::New(env, static_cast<double>(known->second));
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) throwFlare(env, "E_NOT_IMPLEMENTED", "libtorch has no operator " + name + (overload.empty() ? "" : "." + overload));
  OpInfo op{name + (overload.empty() ? "" : "." + overload), *handle, {}, {}, c10::nullopt};
  const c10::FunctionSchema& schema = handle->schema();
  for (const c10::Argument& argument : schema.arguments()) {
    c10::TypePtr type = argument.type();
    c10::TypePtr realType = argument.real_type();
    bool optional = false;
    if (type->kind() == c10::TypeKind::OptionalType) {
      optional = true;
      type = type->castRaw<c10::OptionalType>()->getElementType();
      if (realType->kind() == c10::TypeKind::OptionalType)
        realType = realType->castRaw<c10::OptionalType>()->getElementType();
    }
    op.args.push_back(ArgSpec{argument.name(), kindOf(type, realType), optional,
                              argument.N() ? c10::optional<int>(*argument.N()) : c10::nullopt,
                              argument.default_value()});
  }
  for (const c10::Argument& result : schema.returns())
    op.returnAliasesInput.push_back(result.alias_info() != nullptr && result.alias_info()->isWrite());
  if (wrapsScalar(name, overload) && op.args.size() >= 2 && op.args[0].kind == Kind::Tensor && op.args[1].kind == Kind::Scalar) {
    auto tensorHandle = c10::Dispatcher::singleton().findSchema({name, "Tensor"});
    // Same arguments but a Tensor `other`, and the same returns.
    if (tensorHandle && tensorHandle->schema().arguments().size() == schema.arguments().size() &&
        tensorHandle->schema().arguments()[1].type()->kind() == c10::TypeKind::TensorType &&
        tensorHandle->schema().returns().size() == schema.returns().size())
      op.tensorOverload = *tensorHandle;
  }
  if (!numberArg.empty()) {
    for (size_t i = 1; i < op.args.size(); i++)
      if (op.args[i].name == numberArg && op.args[i].kind == Kind::Tensor) op.numberTensorArg = static_cast<int>(i);
    if (op.numberTensorArg < 0 || op.args[0].kind != Kind::Tensor)
      throwFlare(env, "E_INTERNAL", op.name + " has no Tensor argument '" + numberArg + "' after a Tensor self");
  }
  registry.push_back(std::move(op));
  registryIndex.emplace(key, registry.size() - 1);
  registrySize.store(registry.size(), std::memory_order_release);
  return Napi::Number::New(env, static_cast<double>(registry.size() - 1));
}

// ---- JS -> IValue ------------------------------------------------------------
[[noreturn]] static void badArgument(Napi::Env env, const OpInfo& op, const ArgSpec& arg, const std::string& expected,
                                     const Napi::Value& got) {
  std::string shown = got.IsUndefined() ? "undefined" : got.IsNull() ? "null" : got.ToString().Utf8Value();
  if (shown.size() > 60) shown = shown.substr(0, 60) + "...";
  throwFlare(env, "E_ARGUMENT", "argument '" + arg.name + "' of " + op.name + " must be " + expected + ", got " + shown);
}

// The tensor behind a handle argument; the error message is built only on failure.
static at::Tensor tensorArgument(Napi::Env env, const OpInfo& op, const ArgSpec& arg, const Napi::Value& value) {
  bool disposed = false;
  at::Tensor tensor = findTensor(value, &disposed);
  if (tensor.defined()) return tensor;
  if (disposed) throwFlare(env, "E_DISPOSED", "argument '" + arg.name + "' of " + op.name + " was disposed and cannot be used");
  badArgument(env, op, arg, "a Tensor", value);
}

// `type` is the value's napi_typeof, read once per argument by call().
static int64_t toInt(Napi::Env env, const OpInfo& op, const ArgSpec& arg, const Napi::Value& value, napi_valuetype type) {
  if (type == napi_boolean) return value.As<Napi::Boolean>().Value() ? 1 : 0;
  if (type != napi_number) badArgument(env, op, arg, "an integer", value);
  double number = value.As<Napi::Number>().DoubleValue();
  // Beyond ±2^62 a size or index means nothing, and the cast to int64 would be undefined.
  if (!std::isfinite(number) || std::floor(number) != number) badArgument(env, op, arg, "an integer", value);
  if (std::fabs(number) > 4.6e18) badArgument(env, op, arg, "an integer within ±2^62", value);
  return static_cast<int64_t>(number);
}

static c10::IValue toIntList(Napi::Env env, const OpInfo& op, const ArgSpec& arg, const Napi::Value& value, napi_valuetype type) {
  std::vector<int64_t> list;
  if (type == napi_number) {
    list.assign(arg.fixedLength ? *arg.fixedLength : 1, toInt(env, op, arg, value, type));
  } else if (value.IsArray()) {
    Napi::Array array = value.As<Napi::Array>();
    list.reserve(array.Length());
    for (uint32_t i = 0; i < array.Length(); i++) {
      Napi::Value element = array[i];
      double number = element.IsNumber() ? element.As<Napi::Number>().DoubleValue() : 0.5;
      if (!std::isfinite(number) || std::floor(number) != number) badArgument(env, op, arg, "an array of integers", value);
      if (std::fabs(number) > 4.6e18) badArgument(env, op, arg, "an array of integers within ±2^62", value);
      list.push_back(static_cast<int64_t>(number));
    }
  } else {
    badArgument(env, op, arg, "an integer or an array of integers", value);
  }
  return c10::IValue(list);
}

static c10::IValue toIValue(Napi::Env env, const OpInfo& op, const ArgSpec& arg, const Napi::Value& value, napi_valuetype type) {
  switch (arg.kind) {
    case Kind::Tensor: return tensorArgument(env, op, arg, value);
    case Kind::Int: return toInt(env, op, arg, value, type);
    case Kind::Float:
      if (type != napi_number) badArgument(env, op, arg, "a number", value);
      return value.As<Napi::Number>().DoubleValue();
    case Kind::Bool:
      if (type != napi_boolean) badArgument(env, op, arg, "a boolean", value);
      return value.As<Napi::Boolean>().Value();
    case Kind::Scalar: {
      if (type == napi_boolean) return at::Scalar(value.As<Napi::Boolean>().Value());
      if (type != napi_number) badArgument(env, op, arg, "a number", value);
      double number = value.As<Napi::Number>().DoubleValue();
      // JS has one number type: whole numbers act as Python ints, others as floats.
      if (std::isfinite(number) && std::floor(number) == number && std::fabs(number) < 9.007199254740992e15)
        return at::Scalar(static_cast<int64_t>(number));
      return at::Scalar(number);
    }
    case Kind::String:
      if (!value.IsString()) badArgument(env, op, arg, "a string", value);
      return value.As<Napi::String>().Utf8Value();
    case Kind::IntList: return toIntList(env, op, arg, value, type);
    case Kind::FloatList: {
      if (!value.IsArray()) badArgument(env, op, arg, "an array of numbers", value);
      Napi::Array array = value.As<Napi::Array>();
      std::vector<double> list;
      for (uint32_t i = 0; i < array.Length(); i++) {
        Napi::Value element = array[i];
        if (!element.IsNumber()) badArgument(env, op, arg, "an array of numbers", value);
        list.push_back(element.As<Napi::Number>().DoubleValue());
      }
      return c10::IValue(list);
    }
    case Kind::BoolList: {
      if (!value.IsArray()) badArgument(env, op, arg, "an array of booleans", value);
      Napi::Array array = value.As<Napi::Array>();
      c10::List<bool> list;
      for (uint32_t i = 0; i < array.Length(); i++) list.push_back(array.Get(i).ToBoolean().Value());
      return c10::IValue(list);
    }
    case Kind::TensorList:
    case Kind::OptionalTensorList: {
      if (!value.IsArray()) badArgument(env, op, arg, "an array of tensors", value);
      Napi::Array array = value.As<Napi::Array>();
      if (arg.kind == Kind::TensorList) {
        std::vector<at::Tensor> list;
        list.reserve(array.Length());
        for (uint32_t i = 0; i < array.Length(); i++) list.push_back(tensorArgument(env, op, arg, array.Get(i)));
        return c10::IValue(list);
      }
      c10::List<c10::optional<at::Tensor>> list;
      for (uint32_t i = 0; i < array.Length(); i++) {
        Napi::Value element = array[i];
        if (element.IsNull() || element.IsUndefined()) list.push_back(c10::nullopt);
        else list.push_back(tensorArgument(env, op, arg, element));
      }
      return c10::IValue(list);
    }
    case Kind::ScalarType:
      if (!value.IsString()) badArgument(env, op, arg, "a dtype name such as 'float32'", value);
      return c10::IValue(parseDtype(value.As<Napi::String>().Utf8Value(), arg.name.c_str()));
    case Kind::Device:
      if (!value.IsString()) badArgument(env, op, arg, "a device name such as 'cpu' or 'cuda:0'", value);
      return c10::IValue(parseDevice(value.As<Napi::String>().Utf8Value(), arg.name.c_str()));
    case Kind::Layout:
      if (!value.IsString() || value.As<Napi::String>().Utf8Value() != "strided")
        badArgument(env, op, arg, "'strided'", value);
      return c10::IValue(at::kStrided);
    case Kind::MemoryFormat: {
      std::string name = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
      if (name == "contiguous") return c10::IValue(at::MemoryFormat::Contiguous);
      if (name == "channelsLast") return c10::IValue(at::MemoryFormat::ChannelsLast);
      if (name == "preserve") return c10::IValue(at::MemoryFormat::Preserve);
      badArgument(env, op, arg, "'contiguous', 'channelsLast' or 'preserve'", value);
    }
    case Kind::Generator:
    case Kind::Unsupported: break;
  }
  badArgument(env, op, arg, "left out (flare cannot pass this argument type)", value);
}

// ---- IValue -> JS --------------------------------------------------------------
static Napi::Value toJs(Napi::Env env, const c10::IValue& value) {
  if (value.isTensor()) return wrapTensor(env, value.toTensor());
  if (value.isTensorList()) {
    auto list = value.toTensorList();
    Napi::Array array = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) array.Set(i, wrapTensor(env, list.get(i)));
    return array;
  }
  if (value.isInt()) return Napi::Number::New(env, static_cast<double>(value.toInt()));
  if (value.isDouble()) return Napi::Number::New(env, value.toDouble());
  if (value.isBool()) return Napi::Boolean::New(env, value.toBool());
  if (value.isScalar()) {
    at::Scalar scalar = value.toScalar();
    if (scalar.isBoolean()) return Napi::Boolean::New(env, scalar.toBool());
    return Napi::Number::New(env, scalar.toDouble());
  }
  if (value.isIntList()) {
    auto list = value.toIntVector();
    Napi::Array array = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) array.Set(i, Napi::Number::New(env, static_cast<double>(list[i])));
    return array;
  }
  if (value.isNone()) return env.Null();
  if (value.isString()) return Napi::String::New(env, value.toStringRef());
  return env.Undefined();
}

// "out of memory: aten::zeros of size [1000000, 1000000] (float32) needs 4000000000000 bytes (3.6 TiB)":
// the op, the size it was asked for, and the bytes libtorch could not get.
static std::string outOfMemoryMessage(const Napi::CallbackInfo& info, const OpInfo& op, uint64_t bytes) {
  std::string text = "out of memory: " + op.name;
  for (size_t i = 0; i < op.args.size() && i + 1 < info.Length(); i++) {
    const ArgSpec& arg = op.args[i];
    Napi::Value value = info[i + 1];
    if (arg.kind == Kind::IntList && arg.name == "size" && value.IsArray()) {
      Napi::Array array = value.As<Napi::Array>();
      text += " of size [";
      for (uint32_t k = 0; k < array.Length(); k++) text += (k ? ", " : "") + array.Get(k).ToString().Utf8Value();
      text += "]";
    } else if (arg.kind == Kind::ScalarType && value.IsString()) {
      text += " (" + value.As<Napi::String>().Utf8Value() + ")";
    }
  }
  text += bytes ? " needs " + byteText(bytes) + ", more than can be allocated" : ": an allocation failed";
  return text + "; use a smaller shape or batch";
}

// `number` as the 0-dim wrapped-number tensor of `self`'s dtype, or an undefined
// tensor where that could change the result. libtorch would wrap an integer as
// int64 and any other number as double, then convert it to the op's dtype with
// c10::convert; here the same conversion runs once, up front. That is the same
// value when the op's dtype is self's: a floating self (a number does not
// promote it), or an integral self with an integer that fits in it (so even an
// op that computes in float, such as div, sees the same value).
static std::atomic<bool> scalarAsTensor{true};  // setScalarAsTensor(false): the tests' reference path

static at::Tensor scalarInDtype(const at::Tensor& self, const c10::IValue& number) {
  if (!scalarAsTensor.load(std::memory_order_relaxed) || !number.isScalar() || !self.defined() || !self.is_cpu() || self.layout() != at::kStrided)
    return at::Tensor();
  at::Scalar value = number.toScalar();
  if (value.isBoolean() || value.isComplex()) return at::Tensor();
  at::ScalarType type = self.scalar_type();
  bool integral = value.isIntegral(false);
  if (at::isFloatingType(type)) {
    // any number
  } else if (at::isIntegralType(type, /*includeBool=*/false) && integral) {
    bool fits = false;
    int64_t v = value.toLong();
    AT_DISPATCH_INTEGRAL_TYPES(type, "scalarInDtype", [&] {
      fits = v >= static_cast<int64_t>(std::numeric_limits<scalar_t>::min()) &&
             v <= static_cast<int64_t>(std::numeric_limits<scalar_t>::max());
    });
    if (!fits) return at::Tensor();
  } else {
    return at::Tensor();
  }
  at::Tensor wrapped = at::detail::empty_cpu({}, type, c10::nullopt, c10::nullopt, c10::nullopt, c10::nullopt);
  AT_DISPATCH_ALL_TYPES_AND2(at::kHalf, at::kBFloat16, type, "scalarInDtype", [&] {
    *wrapped.data_ptr<scalar_t>() = integral ? c10::convert<scalar_t>(value.toLong()) : c10::convert<scalar_t>(value.toDouble());
  });
  wrapped.unsafeGetTensorImpl()->set_wrapped_number(true);
  return wrapped;
}

// A number given for a Tensor argument: a 0-dim tensor of self's dtype and device,
// made as torch/csrc/autograd/python_variable_indexing.cpp's valueToTensor makes it
// (at::indexing::scalarToTensor), the number read as every Scalar argument is.
static at::Tensor numberAsTensor(Napi::Env env, const OpInfo& op, const ArgSpec& arg, const Napi::Value& value,
                                 napi_valuetype type, const at::Tensor& self) {
  // Only numbers reach here (a tensor takes the op without the number argument).
  if (type != napi_number && type != napi_boolean) badArgument(env, op, arg, "a Tensor or a number", value);
  ArgSpec asScalar{arg.name, Kind::Scalar, false, c10::nullopt, c10::nullopt};
  at::Scalar number = toIValue(env, op, asScalar, value, type).toScalar();
  if (self.device().is_cpu()) return at::detail::scalar_tensor_static(number, self.scalar_type(), self.device());
  return at::scalar_tensor(number, self.options());
}

static Napi::Value setScalarAsTensor(const Napi::CallbackInfo& info) {
  bool previous = scalarAsTensor.exchange(info[0].ToBoolean(), std::memory_order_relaxed);
  return Napi::Boolean::New(info.Env(), previous);
}

// call(index, ...args): `undefined` takes the schema's default; `null` is None.
static Napi::Value call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t index = info[0].As<Napi::Number>().Uint32Value();
  if (index >= registrySize.load(std::memory_order_acquire)) throwFlare(env, "E_INTERNAL", "unknown operator index");
  const OpInfo& op = registry[index];
  // Each argument's type, read once (one Node-API call each).
  constexpr size_t kMaxArgs = 64;
  size_t given = info.Length() - 1;
  if (given > kMaxArgs)
    throwFlare(env, "E_ARGUMENT", op.name + " takes " + std::to_string(op.args.size()) + " arguments, got " + std::to_string(given));
  napi_valuetype types[kMaxArgs];
  for (size_t i = 0; i < given; i++) napi_typeof(env, info[i + 1], &types[i]);
  while (given > 0 && types[given - 1] == napi_undefined) given--;  // trailing undefined = not given
  if (given > op.args.size())
    throwFlare(env, "E_ARGUMENT", op.name + " takes " + std::to_string(op.args.size()) + " arguments, got " +
                                      std::to_string(given));
  // One stack per thread, reused: no allocation per call. Emptied on every
  // exit so it never keeps a tensor alive.
  static thread_local torch::jit::Stack stack;
  struct Clear { ~Clear() { stack.clear(); } } clearOnExit;
  stack.clear();
  for (size_t i = 0; i < op.args.size(); i++) {
    const ArgSpec& arg = op.args[i];
    napi_valuetype type = i < given ? types[i] : napi_undefined;
    if (type == napi_undefined && arg.defaultValue) {
      stack.push_back(*arg.defaultValue);
    } else if (type == napi_undefined || type == napi_null) {
      if (!arg.optional) badArgument(env, op, arg, "given", i < given ? info[i + 1] : env.Undefined());
      stack.emplace_back();
    } else if (static_cast<int>(i) == op.numberTensorArg) {
      stack.push_back(numberAsTensor(env, op, arg, info[i + 1], type, stack[0].toTensor()));
    } else {
      stack.push_back(toIValue(env, op, arg, info[i + 1], type));
    }
  }
  const c10::OperatorHandle* handle = &op.handle;
  if (op.tensorOverload) {
    at::Tensor wrapped = scalarInDtype(stack[0].isTensor() ? stack[0].toTensor() : at::Tensor(), stack[1]);
    if (wrapped.defined()) {
      stack[1] = std::move(wrapped);
      handle = &*op.tensorOverload;
    }
  }
  try {
    handle->callBoxed(stack);
  } catch (const c10::Error& e) {
    uint64_t bytes = 0;
    if (!allocationFailure(e.what_without_backtrace(), &bytes)) throw;
    throwFlare(env, "E_OUT_OF_MEMORY", outOfMemoryMessage(info, op, bytes));
  } catch (const std::bad_alloc&) {
    throwFlare(env, "E_OUT_OF_MEMORY", outOfMemoryMessage(info, op, 0));
  }
  if (stack.size() == 1) {
    if (op.returnAliasesInput[0]) return env.Undefined();
    return toJs(env, stack[0]);
  }
  Napi::Array results = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); i++) results.Set(i, toJs(env, stack[i]));
  return results;
}

// schema(index): the op's schema as libtorch prints it, for error messages and docs.
static Napi::Value schema(const Napi::CallbackInfo& info) {
  uint32_t index = info[0].As<Napi::Number>().Uint32Value();
  if (index >= registrySize.load(std::memory_order_acquire)) return info.Env().Undefined();
  std::ostringstream out;
  out << registry[index].handle.schema();
  return Napi::String::New(info.Env(), out.str());
}

void initOps(Napi::Env env, Napi::Object exports) {
  exportFunction(env, exports, "op", lookup);
  exportFunction(env, exports, "call", call);
  exportFunction(env, exports, "schema", schema);
  exportFunction(env, exports, "setScalarAsTensor", setScalarAsTensor);
}

}  // namespace flare
