// What a boxed call through c10's dispatcher (flare's native/ops.cc) costs over
// the unboxed C++ call Python's bindings make, and what libtorch 1.13's own
// Scalar overload costs (x * 2 wraps 2 as an int64 tensor that TensorIterator
// then casts): CPU nanoseconds per op on 4 floats, 200,000 calls, third pass.
// Build and run (Debian's libtorch-dev):
//   g++ -O2 -std=c++17 -I/usr/include/torch/csrc/api/include scripts/perf/dispatch_cost.cc \
//     -o /tmp/dispatch_cost -ltorch -ltorch_cpu -lc10 && /tmp/dispatch_cost
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <ATen/Parallel.h>
#include <chrono>
#include <cstdio>
#include <ctime>
static double cpuNs() { timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main() {
  at::set_num_threads(1);
  at::Tensor a = at::ones({4}), b = at::ones({4});
  const int N = 200000;
  auto time = [&](const char* name, auto fn) {
    for (int r = 0; r < 3; r++) {
      double t0 = cpuNs();
      for (int i = 0; i < N; i++) fn();
      double ns = (cpuNs() - t0) / N;
      if (r == 2) printf("%-28s %7.1f ns\n", name, ns);
    }
  };
  time("add unboxed", [&] { at::Tensor c = at::add(a, b); });
  time("mul scalar unboxed", [&] { at::Tensor c = at::mul(a, 2); });
  time("mul wrapped tensor unboxed", [&] { at::Tensor s = at::scalar_to_tensor(2); s.unsafeGetTensorImpl()->set_wrapped_number(true); at::Tensor c = at::mul(a, s); });
  time("mul wrapped float32 tensor", [&] { at::Tensor s = at::scalar_tensor(2, a.options()); s.unsafeGetTensorImpl()->set_wrapped_number(true); at::Tensor c = at::mul(a, s); });
  time("scalar_tensor float32", [&] { at::Tensor s = at::scalar_tensor(2, a.options()); });
  time("empty float32 {}", [&] { at::Tensor s = at::empty({}, a.options()); });
  time("exp unboxed", [&] { at::Tensor c = at::exp(a); });
  time("sum unboxed", [&] { at::Tensor c = at::sum(a); });
  auto& d = c10::Dispatcher::singleton();
  auto addH = *d.findSchema({"aten::add", "Tensor"});
  auto mulH = *d.findSchema({"aten::mul", "Scalar"});
  auto expH = *d.findSchema({"aten::exp", ""});
  auto sumH = *d.findSchema({"aten::sum", ""});
  torch::jit::Stack st;
  time("add boxed", [&] { st.clear(); st.push_back(a); st.push_back(b); st.push_back(at::Scalar(int64_t(1))); addH.callBoxed(st); st.clear(); });
  time("mul scalar boxed", [&] { st.clear(); st.push_back(a); st.push_back(at::Scalar(int64_t(2))); mulH.callBoxed(st); st.clear(); });
  time("exp boxed", [&] { st.clear(); st.push_back(a); expH.callBoxed(st); st.clear(); });
  time("sum boxed", [&] { st.clear(); st.push_back(a); st.emplace_back(); sumH.callBoxed(st); st.clear(); });
  auto addT = addH.typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Scalar&)>();
  time("add typed handle", [&] { at::Tensor c = addT.call(a, b, 1); });
}
