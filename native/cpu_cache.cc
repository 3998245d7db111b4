// A caching CPU allocator for large tensor buffers, installed as libtorch's CPU
// allocator when the addon loads.
//
// Why: glibc hands a large buffer back to the kernel when it is freed (munmap, or a
// trim of the heap's top), so the next training step's buffer of the same size
// page-faults on every 4 KiB page again. On TinySSD's step (batch 32 at 256²) the
// page-fault path took a third of the CPU and the step 7× longer (README: "CPU
// memory cache"). A training loop asks for the same sizes every step, so keeping
// freed large blocks by size and handing them out again removes those faults.
// PyTorch's CUDA allocator caches the same way; on CPU PyTorch does not.
//
// Small blocks (at most kSmallMax bytes: tiny tensors, 0-dim results) are kept per
// thread by 64-byte size class (SmallCache below). libtorch asks for every buffer
// with posix_memalign(64), which glibc serves outside its per-thread caches
// (_int_memalign splits a bigger chunk and bins the rest): a 4-float op's buffer
// cost a malloc slow path, and the thousands a GC burst frees at once were
// coalesced and re-sorted by the mallocs after it (_int_malloc, unlink_chunk,
// malloc_consolidate: a third of a no-tidy() tiny op's CPU time in perf).
// Blocks between kSmallMax and kMinCached go straight to c10::alloc_cpu / free_cpu. Larger
// ones are rounded up to a size class (at most 1/16 more) and, once freed, kept
// until the cache holds `limit` bytes; past that the largest cached blocks are
// freed first. FLARE_CPU_CACHE=0 installs nothing (libtorch's own allocator);
// FLARE_CPU_CACHE_LIMIT_MB sets the limit (default a quarter of physical memory).
#include "flare.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <array>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>
#include <unistd.h>

namespace flare {
namespace {

constexpr size_t kMinCached = size_t(256) << 10;

// ---- small blocks: a free list per 64-byte class and thread ----
constexpr size_t kSmallStep = 64;                   // libtorch's CPU alignment
constexpr size_t kSmallMax = 4096;
constexpr size_t kSmallClasses = kSmallMax / kSmallStep;
// Per thread; past it freed blocks go back to glibc. A GC burst of a no-tidy() loop frees tens of
// thousands of tiny tensors at once; with 1 MiB most of them missed the cache.
constexpr size_t kSmallCacheBytes = size_t(16) << 20;

struct SmallCache {
  std::vector<void*> lists[kSmallClasses];
  size_t bytes = 0;
  ~SmallCache();
};
// A block may be freed on another thread than the one that made it (it joins that
// thread's lists), and after that thread's cache is gone (at thread or process exit):
// then it goes straight back to glibc. `smallCacheGone` is a plain flag, safe to read then.
thread_local bool smallCacheGone = false;
thread_local SmallCache smallCache;
// Gives this thread's small blocks back to glibc (its exit, or emptyCache() on it).
void releaseSmall(SmallCache& cache) {
  for (auto& list : cache.lists) {
    for (void* p : list) c10::free_cpu(p);
    list.clear();
  }
  cache.bytes = 0;
}
SmallCache::~SmallCache() {
  smallCacheGone = true;
  releaseSmall(*this);
}

// Class c holds blocks of (c + 1) * 64 bytes; its deleter is smallDelete<c>, so a
// DataPtr says its class without a header or a lookup.
template <size_t C>
void smallDelete(void* p) {
  constexpr size_t size = (C + 1) * kSmallStep;
  if (smallCacheGone || smallCache.bytes + size > kSmallCacheBytes) {
    c10::free_cpu(p);
    return;
  }
  try {
    smallCache.lists[C].push_back(p);
  } catch (const std::bad_alloc&) {  // a deleter must not throw
    c10::free_cpu(p);
    return;
  }
  smallCache.bytes += size;
}

template <size_t... C>
constexpr std::array<c10::DeleterFnPtr, sizeof...(C)> smallDeleters(std::index_sequence<C...>) {
  return {&smallDelete<C>...};
}
constexpr auto kSmallDeleters = smallDeleters(std::make_index_sequence<kSmallClasses>{});

void* takeSmall(size_t c) {
  if (!smallCacheGone) {
    auto& list = smallCache.lists[c];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      smallCache.bytes -= (c + 1) * kSmallStep;
      return p;
    }
  }
  return c10::alloc_cpu((c + 1) * kSmallStep);
}

// Rounds n up to a multiple of 1/16 of its power of two (at least 64 KiB), so that
// sizes that differ a little share blocks and the waste stays under 6.25%.
size_t sizeClass(size_t n) {
  size_t top = size_t(1) << (63 - __builtin_clzll(n));
  size_t step = std::max<size_t>(top / 16, size_t(64) << 10);
  return (n + step - 1) / step * step;
}

struct CacheStats {
  uint64_t hits = 0, misses = 0, evictions = 0;
};

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(size_t limit) : limit_(limit) {}

  c10::DataPtr allocate(size_t n) const override {
    if (n > 0 && n <= kSmallMax) {
      size_t c = (n - 1) / kSmallStep;
      void* p = takeSmall(c);
      return {p, p, kSmallDeleters[c], c10::Device(c10::DeviceType::CPU)};
    }
    if (n < kMinCached) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &c10::free_cpu, c10::Device(c10::DeviceType::CPU)};
    }
    void* p = take(n);
    return {p, p, &rawDelete, c10::Device(c10::DeviceType::CPU)};
  }

  // at::from_blob-style raw_allocate users (oneDNN's scratchpads) free through this.
  c10::DeleterFnPtr raw_deleter() const override { return &rawDelete; }

  static CachingCpuAllocator* instance;

  void emptyCache() {
    if (!smallCacheGone) releaseSmall(smallCache);
    std::multimap<size_t, void*> drop;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      drop.swap(free_);
      cached_ = 0;
    }
    for (auto& [size, p] : drop) c10::free_cpu(p);
  }

  void setLimit(size_t limit) {
    std::vector<void*> drop;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      limit_ = limit;
      evictUntil(limit_, &drop);
    }
    for (void* p : drop) c10::free_cpu(p);
  }

  struct Snapshot {
    size_t cached, live, limit;
    CacheStats stats;
  };
  Snapshot snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t live = 0;
    for (auto& [p, size] : live_) live += size;
    return {cached_, live, limit_, stats_};
  }

 private:
  void* take(size_t n) const {
    size_t size = sizeClass(n);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        cached_ -= size;
        live_.emplace(p, size);
        stats_.hits++;
        return p;
      }
      stats_.misses++;
    }
    void* p;
    try {
      p = c10::alloc_cpu(size);
    } catch (const c10::Error&) {
      // Out of memory: what the cache holds may be what is missing, and the rounding
      // may be. The last try asks for exactly n, so libtorch's error names the bytes asked for.
      const_cast<CachingCpuAllocator*>(this)->emptyCache();
      try {
        p = c10::alloc_cpu(size);
      } catch (const c10::Error&) {
        p = c10::alloc_cpu(n);
        size = n;
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    live_.emplace(p, size);
    return p;
  }

  static void rawDelete(void* p) { instance->give(p); }

  void give(void* p) const {
    std::vector<void*> drop;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(p);
      if (it == live_.end()) {
        drop.push_back(p);  // a small raw_allocate block, or one from before the cache
      } else {
        size_t size = it->second;
        live_.erase(it);
        if (size > limit_) {
          drop.push_back(p);
        } else {
          evictUntil(limit_ - size, &drop);
          free_.emplace(size, p);
          cached_ += size;
        }
      }
    }
    for (void* q : drop) c10::free_cpu(q);
  }

  // Frees the largest cached blocks until at most `target` bytes stay (under the lock;
  // the pointers are freed by the caller after it).
  void evictUntil(size_t target, std::vector<void*>* drop) const {
    while (cached_ > target && !free_.empty()) {
      auto last = std::prev(free_.end());
      cached_ -= last->first;
      drop->push_back(last->second);
      free_.erase(last);
      stats_.evictions++;
    }
  }

  mutable std::mutex mutex_;
  mutable std::multimap<size_t, void*> free_;
  mutable std::unordered_map<void*, size_t> live_;
  mutable size_t cached_ = 0;
  mutable CacheStats stats_;
  size_t limit_;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

size_t defaultLimit() {
  if (const char* mb = std::getenv("FLARE_CPU_CACHE_LIMIT_MB")) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(mb, &end, 10);
    if (end != mb && *end == '\0') return size_t(v) << 20;
  }
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? size_t(pages) * size_t(page) / 4 : size_t(1) << 30;
}

Napi::Value cpuCacheStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("enabled", Napi::Boolean::New(env, CachingCpuAllocator::instance != nullptr));
  if (CachingCpuAllocator::instance == nullptr) return result;
  auto s = CachingCpuAllocator::instance->snapshot();
  result.Set("cachedBytes", Napi::Number::New(env, double(s.cached)));
  result.Set("liveBytes", Napi::Number::New(env, double(s.live)));
  result.Set("limitBytes", Napi::Number::New(env, double(s.limit)));
  result.Set("hits", Napi::Number::New(env, double(s.stats.hits)));
  result.Set("misses", Napi::Number::New(env, double(s.stats.misses)));
  result.Set("evictions", Napi::Number::New(env, double(s.stats.evictions)));
  result.Set("smallCachedBytes", Napi::Number::New(env, smallCacheGone ? 0.0 : double(smallCache.bytes)));
  return result;
}

Napi::Value cpuEmptyCache(const Napi::CallbackInfo& info) {
  if (CachingCpuAllocator::instance) CachingCpuAllocator::instance->emptyCache();
  return info.Env().Undefined();
}

Napi::Value cpuSetCacheLimit(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsNumber() || info[0].As<Napi::Number>().DoubleValue() < 0)
    throwFlare(info.Env(), "E_ARGUMENT", "cpuSetCacheLimit(bytes): expected one non-negative number of bytes");
  if (CachingCpuAllocator::instance) CachingCpuAllocator::instance->setLimit(size_t(info[0].As<Napi::Number>().Int64Value()));
  return info.Env().Undefined();
}

}  // namespace

bool cpuCacheKeepsSmall(size_t bytes) {
  return CachingCpuAllocator::instance != nullptr && bytes > 0 && bytes <= kSmallMax;
}

void initCpuCache(Napi::Env env, Napi::Object exports) {
  const char* flag = std::getenv("FLARE_CPU_CACHE");
  bool enabled = !(flag && std::string(flag) == "0");
  // One allocator per process, never freed: tensors may outlive the addon's unload.
  if (enabled && CachingCpuAllocator::instance == nullptr) {
    CachingCpuAllocator::instance = new CachingCpuAllocator(defaultLimit());
    c10::SetCPUAllocator(CachingCpuAllocator::instance, /*priority=*/1);
  }
  exports.Set("cpuCacheStats", Napi::Function::New(env, cpuCacheStats));
  exports.Set("cpuEmptyCache", Napi::Function::New(env, cpuEmptyCache));
  exports.Set("cpuSetCacheLimit", Napi::Function::New(env, cpuSetCacheLimit));
}

}  // namespace flare
