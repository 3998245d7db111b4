// Tensor handles and the few tensor calls that are not ATen ops: data in and
// out, metadata, autograd entry points, grad mode, seeding, memory accounting.
#include "flare.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/api/include/torch/cuda.h>
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/api/include/torch/version.h>
#include <v8.h>
#include <malloc.h>  // malloc_trim

#include <cstring>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <cmath>
#include <mutex>
#include <thread>

namespace flare {

// ---- handles and external-memory accounting ---------------------------------
// A handle is a number: slot + generation * 2^22 in a process-wide table of
// tensors. Numbers cost JS nothing to pass and mean the same in every worker
// thread, so a tensor moves between threads as its handle. Its JS wrapper (the
// Tensor object) is tied to it by a GC guard (below) as the safety net. The
// generation catches use after dispose() even when the slot was reused. One
// spinlock guards the table (it is held for a few loads and stores, never
// across a libtorch call that could block; an uncontended std::mutex cost
// more per op); lookups hand out a copy (a refcount), never a reference into it.
constexpr uint64_t kSlotBits = 22;
constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;
constexpr uint32_t kGenerationLimit = uint32_t{1} << 30;  // keeps ids below 2^53

struct Guard;
static uint32_t ownerOf(const Guard* guard);  // the thread whose wrapper the guard watches

struct Slot {
  TensorBox box;
  uint32_t generation = 0;
  uint32_t owner = 0;  // the JS environment (thread) whose wrapper frees it; 0 = in transit
  Guard* guard = nullptr;  // the GC guard of its wrapper, cancelled by release()
};

// Each environment (the main thread, each worker) gets an owner id; when one
// shuts down, the tensors it still owns are freed (its GC net never runs then).
static std::atomic<uint32_t> nextOwner{1};
static thread_local uint32_t currentOwner = 0;

class SpinLock {
 public:
  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire))
      while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};
using TableLock = std::lock_guard<SpinLock>;
static SpinLock tableLock;
static std::deque<Slot> slots;  // deque: growing never moves a slot
static std::vector<uint32_t> freeSlots;

// Views share one storage, so bytes are counted per storage, not per handle:
// an open-addressing table (linear probing, backward-shift deletion) that
// allocates nothing per entry and shrinks again. std::unordered_map, a node per
// storage, cost a cache miss or two per op once thousands of tensors waited
// for the GC (a fifth of an op's time without tidy(), measured with perf).
struct StorageCount {
  c10::StorageImpl* storage = nullptr;  // nullptr: an empty cell
  int64_t bytes = 0;
  int64_t handles = 0;
  int64_t guarded = 0;  // of which have a GC guard (reported to V8)
  bool cpu = false;     // V8 hears of CPU bytes only
};

class StorageTable {
  static constexpr size_t kShrinkAbove = size_t{1} << 18;  // cells (6 MiB)

 public:
  size_t size() const { return count_; }
  // The entry of `storage`, or nullptr.
  StorageCount* find(c10::StorageImpl* storage) {
    if (count_ == 0) return nullptr;
    for (size_t i = home(storage);; i = (i + 1) & mask_) {
      if (cells_[i].storage == storage) return &cells_[i];
      if (cells_[i].storage == nullptr) return nullptr;
    }
  }
  // Adds `storage`, which must not be in the table.
  void insert(c10::StorageImpl* storage, int64_t bytes, bool cpu) {
    if ((count_ + 1) * 4 > cells_.size() * 3) resize(std::max<size_t>(64, cells_.size() * 2));
    size_t i = home(storage);
    while (cells_[i].storage != nullptr) i = (i + 1) & mask_;
    cells_[i] = StorageCount{storage, bytes, 1, 0, cpu};
    count_++;
  }
  void erase(StorageCount* entry) {
    size_t i = static_cast<size_t>(entry - cells_.data());
    // Backward shift: move each later entry of the run into the hole if its home allows.
    for (size_t j = (i + 1) & mask_; cells_[j].storage != nullptr; j = (j + 1) & mask_) {
      size_t k = home(cells_[j].storage);
      bool between = i <= j ? (i < k && k <= j) : (i < k || k <= j);  // k cyclically in (i, j]
      if (!between) {
        cells_[i] = cells_[j];
        i = j;
      }
    }
    cells_[i] = StorageCount{};
    count_--;
    // Shrinks only a big table that is almost empty: the count swings by tens of
    // thousands with every GC burst of untidy code, and each resize then made
    // glibc consolidate the thousands of small chunks the burst freed.
    if (cells_.size() > kShrinkAbove && count_ * 256 < cells_.size()) resize(cells_.size() / 16);
  }

 private:
  size_t home(c10::StorageImpl* storage) const {
    uint64_t x = reinterpret_cast<uintptr_t>(storage);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return static_cast<size_t>(x) & mask_;
  }
  void resize(size_t capacity) {
    std::vector<StorageCount> old;
    old.swap(cells_);
    cells_.assign(capacity, StorageCount{});
    mask_ = capacity - 1;
    count_ = 0;
    for (const StorageCount& entry : old)
      if (entry.storage != nullptr) {
        size_t i = home(entry.storage);
        while (cells_[i].storage != nullptr) i = (i + 1) & mask_;
        cells_[i] = entry;
        count_++;
      }
  }
  std::vector<StorageCount> cells_;
  size_t mask_ = 0;
  size_t count_ = 0;
};
static StorageTable storages;
static int64_t liveHandles = 0;
static int64_t liveBytes = 0;

// V8 hears of the bytes of the tensors whose freeing it governs: those with a GC
// guard (no tidy() scope owns them), so that dropping big ones makes it collect
// soon. A tensor a scope owns is freed by the scope; telling V8 of it made every
// training step in tidy() look like tens of MiB of new external memory, and V8
// answered with incremental marking and a full mark-compact (~5 ms) that found
// nothing to free. Each thread's isolate hears in batches of 1 MiB, and never
// about more being freed than it was told of (a tensor may be made in a worker
// and freed on the main thread).
constexpr int64_t kReportQuantum = 1 << 20;
static thread_local int64_t unreportedBytes = 0;
static thread_local int64_t reportedBytes = 0;
static void reportExternal(Napi::Env env, int64_t delta) {
  unreportedBytes += delta;
  if (unreportedBytes < -reportedBytes) unreportedBytes = -reportedBytes;
  if (unreportedBytes >= kReportQuantum || unreportedBytes <= -kReportQuantum) {
    Napi::MemoryManagement::AdjustExternalMemory(env, unreportedBytes);
    reportedBytes += unreportedBytes;
    unreportedBytes = 0;
  }
}

// track/untrack/reportGuarded/unreportGuarded: call with tableLock held; the
// last three return the bytes to report to V8.
static void track(TensorBox* box) {
  liveHandles++;
  if (!box->tensor.has_storage()) return;
  c10::StorageImpl* impl = box->tensor.storage().unsafeGetStorageImpl();
  box->storage = impl;
  if (StorageCount* found = storages.find(impl)) {
    found->handles++;
    return;
  }
  int64_t bytes = static_cast<int64_t>(impl->nbytes());
  storages.insert(impl, bytes, box->tensor.is_cpu());
  liveBytes += bytes;
}

// A handle got a GC guard: its storage's bytes are V8's business now (once per storage).
static int64_t reportGuarded(TensorBox* box) {
  StorageCount* found = box->reported || box->storage == nullptr ? nullptr : storages.find(box->storage);
  if (found == nullptr) return 0;
  box->reported = true;
  return ++found->guarded == 1 && found->cpu ? found->bytes : 0;
}

// Its guard was cancelled (release()) or the handle goes.
static int64_t unreportGuarded(TensorBox* box) {
  StorageCount* found = !box->reported || box->storage == nullptr ? nullptr : storages.find(box->storage);
  box->reported = false;
  if (found == nullptr) return 0;
  return --found->guarded == 0 && found->cpu ? -found->bytes : 0;
}

// Bytes of storages whose last handle this thread let go and whose blocks go back to glibc, not to
// the CPU cache's small-block lists (malloc_trim's trigger, below).
static thread_local int64_t releasedBytes = 0;

static int64_t untrack(TensorBox* box) {
  liveHandles--;
  if (box->storage == nullptr) return 0;
  int64_t delta = unreportGuarded(box);
  StorageCount* found = storages.find(box->storage);
  box->storage = nullptr;
  if (found == nullptr || --found->handles > 0) return delta;
  liveBytes -= found->bytes;
  if (!cpuCacheKeepsSmall(static_cast<size_t>(found->bytes))) releasedBytes += found->bytes;
  storages.erase(found);
  return delta;
}

static void freeCollected(Napi::Env env);

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  freeCollected(env);
  uint64_t id;
  {
    TableLock lock(tableLock);
    uint32_t index;
    if (!freeSlots.empty()) {
      index = freeSlots.back();
      freeSlots.pop_back();
    } else {
      if (slots.size() > kSlotMask) throw std::runtime_error("more than 4 million live tensors: dispose() some");
      index = static_cast<uint32_t>(slots.size());
      slots.emplace_back();
    }
    Slot& slot = slots[index];
    slot.generation = (slot.generation + 1) % kGenerationLimit;
    slot.box.tensor = std::move(tensor);
    slot.owner = currentOwner;
    track(&slot.box);
    id = (uint64_t{slot.generation} << kSlotBits) | index;
  }
  return Napi::Number::New(env, static_cast<double>(id));
}

// The live slot behind a handle (tableLock held); null if the value is not a
// handle. `disposed` tells a handle that was freed from something that never was one.
static Slot* slotOf(const Napi::Value& value, bool* disposed, uint32_t* indexOut = nullptr) {
  if (disposed) *disposed = false;
  double number;
  // One Node-API call: it fails (napi_number_expected) on anything but a number.
  if (napi_get_value_double(value.Env(), value, &number) != napi_ok) return nullptr;
  if (!(number >= 0) || number > 9007199254740991.0) return nullptr;
  auto id = static_cast<uint64_t>(number);
  if (static_cast<double>(id) != number) return nullptr;
  uint64_t index = id & kSlotMask;
  if (index >= slots.size()) return nullptr;
  Slot& slot = slots[index];
  if (slot.generation != (id >> kSlotBits) || !slot.box.tensor.defined()) {
    if (disposed) *disposed = true;
    return nullptr;
  }
  if (indexOut) *indexOut = static_cast<uint32_t>(index);
  return &slot;
}

// A thread may use only the tensors it owns: one it released (Tensor.release(),
// for a postMessage to a worker) belongs to the thread that adopts it, which may
// be computing with it right now; touching it here raced with that thread (a
// setData() swapped the storage under a running kernel: a segfault in OpenBLAS).
static const char* const kTransferred =
    "tensor was transferred to another thread (release() gave it away; the thread that adopt()s it owns it) and cannot be used here";

at::Tensor findTensor(const Napi::Value& value, bool* disposed) {
  {
    TableLock lock(tableLock);
    Slot* slot = slotOf(value, disposed);
    if (slot == nullptr) return at::Tensor();
    if (slot->owner == currentOwner) return slot->box.tensor;
  }
  throw TransferredError(kTransferred);
}

at::Tensor unwrapTensor(const Napi::Value& value, const char* what) {
  bool disposed = false;
  at::Tensor tensor = findTensor(value, &disposed);
  if (!tensor.defined()) {
    if (disposed) throwFlare(value.Env(), "E_DISPOSED", std::string(what) + " was disposed and cannot be used");
    throwFlare(value.Env(), "E_ARGUMENT", std::string(what) + " must be a Tensor");
  }
  return tensor;
}

static void disarmGuard(Guard* guard);

bool disposeHandle(Napi::Env env, const Napi::Value& value) {
  at::Tensor released;  // freed after the lock is dropped
  int64_t delta;
  Guard* guard;
  {
    TableLock lock(tableLock);
    uint32_t index = 0;
    Slot* slot = slotOf(value, nullptr, &index);
    if (slot == nullptr) return false;
    if (slot->owner != currentOwner) throw TransferredError(kTransferred);
    delta = untrack(&slot->box);
    released = std::move(slot->box.tensor);
    slot->box.tensor.reset();
    // Disarm only this thread's guard: one another thread's wrapper left here is that
    // thread's to retire (its freeCollected may already have), so it is only unlinked.
    guard = slot->guard != nullptr && ownerOf(slot->guard) == currentOwner ? slot->guard : nullptr;
    slot->guard = nullptr;
    freeSlots.push_back(index);
  }
  if (guard != nullptr) disarmGuard(guard);
  if (delta != 0) reportExternal(env, delta);
  return true;
}

// Replaces a live handle's tensor data (t.data = source) and recounts its storage.
void setHandleData(Napi::Env env, const Napi::Value& value, const at::Tensor& source) {
  int64_t delta = 0;
  {
    TableLock lock(tableLock);
    Slot* slot = slotOf(value, nullptr);
    if (slot == nullptr) throw std::invalid_argument("tensor was disposed and cannot be used");
    if (slot->owner != currentOwner) throw TransferredError(kTransferred);
    bool reported = slot->box.reported;
    slot->box.tensor.set_data(source);
    delta += untrack(&slot->box);
    track(&slot->box);
    if (reported) delta += reportGuarded(&slot->box);
  }
  if (delta != 0) reportExternal(env, delta);
}

// Frees every tensor that environment `owner` still owns (at its shutdown).
static void freeOwnedBy(void* arg) {
  auto owner = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
  std::vector<at::Tensor> released;
  TableLock lock(tableLock);
  for (size_t i = 0; i < slots.size(); i++) {
    Slot& slot = slots[i];
    if (slot.owner != owner || !slot.box.tensor.defined()) continue;
    untrack(&slot.box);
    released.push_back(std::move(slot.box.tensor));
    slot.box.tensor.reset();
    slot.guard = nullptr;
    freeSlots.push_back(static_cast<uint32_t>(i));
  }
}

// setOwner(h, adopt): adopt = true makes this environment the owner (adopt());
// false leaves the tensor to whichever thread adopts it next (release()).
static void cancelGuard(Slot* slot);

// Only the owner releases a tensor, and only a released one (or one already
// ours) is adopted: a thread cannot take a tensor another thread still uses.
static Napi::Value setOwner(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool adopt = info[1].ToBoolean();
  bool allowed;
  int64_t delta = 0;
  {
    TableLock lock(tableLock);
    Slot* slot = slotOf(info[0], nullptr);
    if (slot == nullptr) return Napi::Boolean::New(env, false);
    allowed = adopt ? (slot->owner == 0 || slot->owner == currentOwner) : slot->owner == currentOwner;
    if (allowed) {
      slot->owner = adopt ? currentOwner : 0;
      if (!adopt) {
        cancelGuard(slot);                    // the released wrapper no longer frees it,
        delta = unreportGuarded(&slot->box);  // nor does this thread's V8
      }
    }
  }
  if (allowed) {
    if (delta != 0) reportExternal(env, delta);
    return Napi::Boolean::New(env, true);
  }
  if (adopt) throwFlare(env, "E_DISPOSED", "adopt(): the tensor is owned by another thread, which has not release()d it");
  throw TransferredError(kTransferred);
}

// ---- GC guards: freeing what user code dropped, without an event-loop turn ---
// A JS FinalizationRegistry (and Node-API finalizers, in Node 20) call back only
// when the event loop gets a turn, which a synchronous training loop, or a
// `for await` over an in-process DataLoader (microtasks only), never gives it:
// such loops grew by every tensor they made. A guard is a V8 weak handle on the
// Tensor wrapper whose first-pass callback runs inside the garbage collection
// itself (scavenges included, so a short-lived wrapper is noticed within a few
// MiB of JS allocation). The callback only queues the guard: the tensor is
// freed at this thread's next wrapTensor() (or memory()), i.e. inside a native
// call whose own arguments were already unwrapped, so a call never loses an
// argument halfway (V8 may find a wrapper dead while its bare handle number is
// still on its way into the addon). Chosen over Node-API finalizers (queued for
// the event loop in Node 20 unless the whole addon opts into NAPI_EXPERIMENTAL)
// and over a DataLoader freeing the previous batch (which frees tensors the user
// may still hold). Relies on a napi_value being a v8::Local, as in every Node.
struct Guard {
  v8::Global<v8::Object> wrapper;
  uint64_t id = 0;  // the handle; 0 once cancelled
  uint32_t owner = 0;  // the environment (thread) whose list holds it
  bool graph = false;  // its tensor was made by autograd (has a grad_fn)
  bool collected = false;  // the GC found its wrapper dead; freeCollected() will take it
  Guard* prev = nullptr;
  Guard* next = nullptr;
};

static uint32_t ownerOf(const Guard* guard) { return guard->owner; }

struct ThreadGuards {
  Guard* live = nullptr;          // armed guards of this thread's wrappers
  int64_t liveGraph = 0;          // of which guard autograd outputs
  std::vector<Guard*> collected;  // wrappers the GC found dead, tensors not yet freed
  int64_t armedSinceGC = 0;       // guards of graph outputs armed since the last collection
  v8::Isolate* hooked = nullptr;  // the isolate whose GC epilogue resets armedSinceGC
};
static thread_local ThreadGuards threadGuards;
// Collected guards waiting in any thread: wrapTensor checks this plain global
// first, so the common path costs no thread-local lookup.
static std::atomic<int64_t> pendingGuards{0};

static void unlinkGuard(Guard* guard) {
  if (guard->prev) guard->prev->next = guard->next; else threadGuards.live = guard->next;
  if (guard->next) guard->next->prev = guard->prev;
  guard->prev = guard->next = nullptr;
  if (guard->graph) threadGuards.liveGraph--;
}

static void onCollection(v8::Isolate*, v8::GCType, v8::GCCallbackFlags) { threadGuards.armedSinceGC = 0; }

// A dead wrapper of a tensor made by autograd (a training step's output, its
// loss) holds more native memory than V8 sees: the step's autograd graph, whose
// small long-lived blocks also fragment glibc's heap while they wait (RSS rose
// ~30 KiB per waiting step). When many such wrappers were made since the last
// collection (256, or a quarter of those that survived it if more), ask V8 for one as
// the embedder API intends: moderate memory pressure starts incremental marking,
// finished during the allocations that follow (no event-loop turn needed).
// Tensors without a graph (tiny ops, batches) leave it to the scavenges and to
// the external-memory count of their bytes.
constexpr int64_t kGraphGuardsPerCollection = 256;
static void maybeRequestCollection(v8::Isolate* isolate) {
  if (threadGuards.hooked != isolate) {
    isolate->AddGCEpilogueCallback(onCollection);
    threadGuards.hooked = isolate;
  }
  int64_t armed = ++threadGuards.armedSinceGC;
  if (armed < std::max(kGraphGuardsPerCollection, (threadGuards.liveGraph - armed) / 4)) return;
  threadGuards.armedSinceGC = 0;
  isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kModerate);
}

// Runs during GC: no JS, no locks, no freeing; Reset() is what V8 requires.
static void onWrapperCollected(const v8::WeakCallbackInfo<Guard>& info) {
  Guard* guard = info.GetParameter();
  guard->wrapper.Reset();
  guard->collected = true;
  unlinkGuard(guard);
  threadGuards.collected.push_back(guard);
  pendingGuards.fetch_add(1, std::memory_order_relaxed);
}

// tableLock held.
static void cancelGuard(Slot* slot) {
  if (slot->guard != nullptr) slot->guard->id = 0;
  slot->guard = nullptr;
}

// The slot a guard's handle names, if that tensor is still alive (tableLock held).
static Slot* liveSlotOf(uint64_t id) {
  uint64_t index = id & kSlotMask;
  if (index >= slots.size()) return nullptr;
  Slot& slot = slots[index];
  if (slot.generation != (id >> kSlotBits) || !slot.box.tensor.defined()) return nullptr;
  return &slot;
}

// Spent guards kept for reuse (per thread, as guards are): a new and a delete
// per tensor made outside tidy() cost more than the pool.
constexpr size_t kSpareGuards = 4096;
static thread_local std::vector<Guard*> spareGuards;

static Guard* newGuard() {
  if (spareGuards.empty()) return new Guard();
  Guard* guard = spareGuards.back();
  spareGuards.pop_back();
  return guard;
}

static void retireGuard(Guard* guard) {
  if (spareGuards.size() >= kSpareGuards) { delete guard; return; }
  *guard = Guard();  // wrapper already Reset()
  spareGuards.push_back(guard);
}

// dispose() of a guarded tensor: the guard goes now, not after its wrapper's
// death (the weak handle would otherwise cost the GC a callback and freeCollected
// a visit, for a tensor already freed). Only this thread's guards: one already
// collected just has its handle cancelled.
// Tensors freed since the last malloc_trim that the GC guards governed:
// collected ones and disarmed (disposed) ones alike.
static thread_local size_t freedSinceTrim = 0;

static void disarmGuard(Guard* guard) {
  if (guard->owner != currentOwner) return;
  if (guard->collected) {
    guard->id = 0;
    return;
  }
  guard->wrapper.Reset();
  unlinkGuard(guard);
  retireGuard(guard);
  freedSinceTrim++;
}

static void freeCollected(Napi::Env env) {
  if (pendingGuards.load(std::memory_order_relaxed) == 0 || threadGuards.collected.empty()) return;
  // Both lists keep their capacity from burst to burst: freeing a list of
  // thousands made glibc consolidate its whole heap each time (malloc_consolidate).
  static thread_local std::vector<Guard*> guards;
  static thread_local std::vector<at::Tensor> released;  // freed after the lock is dropped
  guards.swap(threadGuards.collected);
  pendingGuards.fetch_sub(static_cast<int64_t>(guards.size()), std::memory_order_relaxed);
  released.reserve(guards.size());
  int64_t delta = 0;
  {
    TableLock lock(tableLock);
    for (Guard* guard : guards) {
      Slot* slot = guard->id != 0 ? liveSlotOf(guard->id) : nullptr;
      if (slot != nullptr) {
        delta += untrack(&slot->box);
        released.push_back(std::move(slot->box.tensor));
        slot->box.tensor.reset();
        slot->guard = nullptr;
        freeSlots.push_back(static_cast<uint32_t>(guard->id & kSlotMask));
      }
      retireGuard(guard);
    }
  }
  freedSinceTrim += guards.size();
  guards.clear();
  released.clear();
  if (delta != 0) reportExternal(env, delta);
  // Tensors freed by the GC go in bursts, each after a few hundred steps of
  // interleaved allocations: glibc keeps the holes they leave (RSS climbs while
  // the bytes in use do not). After a burst, hand those pages back to the system
  // (at most every 100 ms, as a scan of the free lists is not free). Tensors
  // disposed while guarded count too: their guards used to reach this list.
  // Only when at least 1 MiB of such storages went since the last trim: small
  // blocks stay in flare's small-block cache (native/cpu_cache.cc), and
  // trimming after bursts of tiny tensors only cost the next mallocs page
  // faults (__malloc_trim and the faults: ~8% of a no-tidy() tiny op).
  static thread_local int64_t releasedAtTrim = 0;
  if (freedSinceTrim >= 64 && releasedBytes - releasedAtTrim >= (int64_t(1) << 20)) {
    static thread_local std::chrono::steady_clock::time_point lastTrim;
    auto now = std::chrono::steady_clock::now();
    if (now - lastTrim >= std::chrono::milliseconds(100)) {
      lastTrim = now;
      freedSinceTrim = 0;
      releasedAtTrim = releasedBytes;
      malloc_trim(0);
    }
  }
}

// guard(wrapper, h): frees h's tensor once `wrapper` is garbage. False if h is not live.
static Napi::Value guardWrapper(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throwFlare(env, "E_ARGUMENT", "guard(): wrapper must be an object");
  std::unique_ptr<Guard, void (*)(Guard*)> guard(newGuard(), retireGuard);
  bool hasGraph;
  int64_t delta;
  {
    TableLock lock(tableLock);
    Slot* slot = slotOf(info[1], nullptr);
    if (slot == nullptr) return Napi::Boolean::New(env, false);
    guard->id = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
    guard->owner = currentOwner;
    slot->guard = guard.get();
    hasGraph = slot->box.tensor.grad_fn() != nullptr;
    delta = reportGuarded(&slot->box);
  }
  if (delta != 0) reportExternal(env, delta);
  // A napi_value is a v8::Local<v8::Value> (Node's v8impl::V8LocalValueFromJsValue).
  napi_value value = info[0];
  v8::Local<v8::Value> local;
  static_assert(sizeof(local) == sizeof(value), "napi_value is a v8::Local");
  std::memcpy(static_cast<void*>(&local), &value, sizeof(value));
  Guard* raw = guard.release();
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  raw->wrapper.Reset(isolate, local.As<v8::Object>());
  raw->wrapper.SetWeak(raw, onWrapperCollected, v8::WeakCallbackType::kParameter);
  raw->next = threadGuards.live;
  if (raw->next) raw->next->prev = raw;
  threadGuards.live = raw;
  if (hasGraph) {
    raw->graph = true;
    threadGuards.liveGraph++;
    maybeRequestCollection(isolate);
  }
  return Napi::Boolean::New(env, true);
}

// At an environment's shutdown (its isolate still alive): drop its guards.
static void dropGuards(void*) {
  if (threadGuards.hooked != nullptr) threadGuards.hooked->RemoveGCEpilogueCallback(onCollection);
  threadGuards.hooked = nullptr;
  TableLock lock(tableLock);
  auto forget = [](Guard* guard) {
    Slot* slot = guard->id != 0 ? liveSlotOf(guard->id) : nullptr;
    if (slot != nullptr && slot->guard == guard) slot->guard = nullptr;
    delete guard;
  };
  while (Guard* guard = threadGuards.live) {
    unlinkGuard(guard);
    guard->wrapper.Reset();
    forget(guard);
  }
  for (Guard* guard : threadGuards.collected) forget(guard);
  pendingGuards.fetch_sub(static_cast<int64_t>(threadGuards.collected.size()), std::memory_order_relaxed);
  threadGuards.collected.clear();
  for (Guard* guard : spareGuards) delete guard;
  spareGuards.clear();
}

MemoryStats memoryStats() {
  TableLock lock(tableLock);
  return {liveHandles, static_cast<int64_t>(storages.size()), liveBytes};
}

// ---- names ----------------------------------------------------------------
static const std::pair<const char*, at::ScalarType> dtypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf},
    {"bfloat16", at::kBFloat16}, {"int64", at::kLong}, {"int32", at::kInt},
    {"int16", at::kShort}, {"int8", at::kChar}, {"uint8", at::kByte}, {"bool", at::kBool},
    // PyTorch's names; libtorch makes these (fft, view_as_complex), JS cannot read them.
    {"complex64", at::kComplexFloat}, {"complex128", at::kComplexDouble},
};

at::ScalarType parseDtype(const std::string& name, const char* what) {
  for (auto& [dtypeString, type] : dtypes)
    if (name == dtypeString) return type;
  if (name == "float") return at::kFloat;
  if (name == "double") return at::kDouble;
  if (name == "long") return at::kLong;
  if (name == "int") return at::kInt;
  throw std::invalid_argument(std::string(what) + ": unknown dtype '" + name +
                              "' (expected float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool, complex64 or complex128)");
}

const char* dtypeName(at::ScalarType type) {
  for (auto& [name, dtype] : dtypes)
    if (dtype == type) return name;
  return c10::toString(type);
}

at::Device parseDevice(const std::string& name, const char* what) {
  try {
    return at::Device(name);
  } catch (const c10::Error&) {
    throw std::invalid_argument(std::string(what) + ": unknown device '" + name + "' (expected 'cpu', 'cuda' or 'cuda:N')");
  }
}

std::string deviceName(const at::Device& device) { return device.str(); }

// ---- data in and out ---------------------------------------------------------
static std::vector<int64_t> toShape(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  if (!value.IsArray()) throwFlare(env, "E_ARGUMENT", std::string(what) + " must be an array of sizes");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> shape(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value size = array[i];
    double number = size.IsNumber() ? size.As<Napi::Number>().DoubleValue() : -1.5;
    if (!size.IsNumber() || !(number >= 0 && number < 4.6e18) || number != std::floor(number))
      throwFlare(env, "E_ARGUMENT", std::string(what) + "[" + std::to_string(i) +
                                        "] must be a non-negative integer, got " + size.ToString().Utf8Value());
    shape[i] = static_cast<int64_t>(number);
  }
  return shape;
}

// fromBuffer(typedArray, shape, dtype): copies the bytes into a new CPU tensor.
static Napi::Value fromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throwFlare(env, "E_ARGUMENT", "data must be a TypedArray");
  auto array = info[0].As<Napi::TypedArray>();
  auto shape = toShape(info[1], "shape");
  if (!info[2].IsString()) throwFlare(env, "E_ARGUMENT", "dtype must be a dtype name such as 'float32'");
  at::ScalarType dtype = parseDtype(info[2].As<Napi::String>().Utf8Value(), "dtype");
  // The byte count is checked before anything is allocated (no overflow either).
  uint64_t bytes = c10::elementSize(dtype);
  for (int64_t size : shape)
    if (size != 0 && bytes > (uint64_t{1} << 62) / static_cast<uint64_t>(size)) bytes = ~uint64_t{0};
    else bytes *= static_cast<uint64_t>(size);
  if (array.ByteLength() != bytes)
    throwFlare(env, "E_SHAPE", "data has " + std::to_string(array.ByteLength()) + " bytes but shape " +
                                   c10::str(c10::IntArrayRef(shape)) + " of " + dtypeName(dtype) +
                                   " needs " + (bytes == ~uint64_t{0} ? std::string("more than 2^62") : std::to_string(bytes)));
  at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(dtype));
  auto* bytesIn = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  if (bytes > 0) std::memcpy(tensor.data_ptr(), bytesIn, bytes);
  return wrapTensor(env, tensor);
}

// toBuffer(h): a copy of the tensor's values as an ArrayBuffer in its own dtype
// (float16/bfloat16 come back as float32, which JS can read).
// Values JS has no array type for (complex, quantized) are refused by name.
static void checkReadable(Napi::Env env, const at::Tensor& tensor, const char* what) {
  at::ScalarType type = tensor.scalar_type();
  if (at::isComplexType(type))
    throwFlare(env, "E_DTYPE", std::string(what) + ": the tensor has dtype " + dtypeName(type) +
                                   ", which JS cannot hold; read torch.viewAsReal(t) (real and imaginary parts as a last dimension of 2) or t.abs()");
  for (auto& entry : dtypes)
    if (entry.second == type) return;
  throwFlare(env, "E_DTYPE", std::string(what) + ": the tensor has dtype " + dtypeName(type) + ", which flare cannot read into JS");
}

constexpr size_t kMaxReadBytes = size_t{1} << 32;

static Napi::Value toBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor tensor = unwrapTensor(info[0], "tensor");
  checkReadable(env, tensor, "data()");
  if (tensor.numel() > static_cast<int64_t>(kMaxReadBytes / 4) && static_cast<size_t>(tensor.numel()) * tensor.element_size() > kMaxReadBytes)
    throwFlare(env, "E_OUT_OF_MEMORY", "data(): the tensor of shape " + c10::str(tensor.sizes()) + " has " +
                                           byteText(static_cast<uint64_t>(tensor.numel()) * tensor.element_size()) +
                                           ", more than the 4 GiB one JS array can hold; read it in slices (t.index(...))");
  c10::NoGradGuard noGrad;
  if (tensor.scalar_type() == at::kHalf || tensor.scalar_type() == at::kBFloat16) tensor = tensor.to(at::kFloat);
  tensor = tensor.to(at::kCPU).contiguous();
  // V8 aborts the process when it cannot allocate an ArrayBuffer: refuse what no
  // JS array can hold (Node's Buffer limit, 4 GiB) before asking.
  if (tensor.nbytes() > kMaxReadBytes)
    throwFlare(env, "E_OUT_OF_MEMORY", "data(): the tensor of shape " + c10::str(tensor.sizes()) + " has " + byteText(tensor.nbytes()) +
                                           ", more than the 4 GiB one JS array can hold; read it in slices (t.index(...))");
  auto buffer = Napi::ArrayBuffer::New(env, tensor.nbytes());
  if (tensor.nbytes() > 0) std::memcpy(buffer.Data(), tensor.data_ptr(), tensor.nbytes());
  return buffer;
}

static Napi::Value item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& tensor = unwrapTensor(info[0], "tensor");
  if (tensor.numel() != 1)
    throwFlare(env, "E_SHAPE", "item() needs a tensor with one element, got " + std::to_string(tensor.numel()));
  checkReadable(env, tensor, "item()");
  at::Scalar scalar = tensor.item();
  if (scalar.isBoolean()) return Napi::Boolean::New(env, scalar.toBool());
  if (scalar.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(scalar.toLong()));
  return Napi::Number::New(env, scalar.toDouble());
}

// ---- metadata ---------------------------------------------------------------
static Napi::Value shape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& tensor = unwrapTensor(info[0], "tensor");
  auto sizes = tensor.sizes();
  Napi::Array result = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); i++) result.Set(i, Napi::Number::New(env, sizes[i]));
  return result;
}

static Napi::Value strides(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& tensor = unwrapTensor(info[0], "tensor");
  auto values = tensor.strides();
  Napi::Array result = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++) result.Set(i, Napi::Number::New(env, values[i]));
  return result;
}

static Napi::Value dtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtypeName(unwrapTensor(info[0], "tensor").scalar_type()));
}

static Napi::Value device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), deviceName(unwrapTensor(info[0], "tensor").device()));
}

static Napi::Value numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(unwrapTensor(info[0], "tensor").numel()));
}

static Napi::Value dim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(unwrapTensor(info[0], "tensor").dim()));
}

// What an index tensor is, in one call (indexing asks for every tensor index):
// dim * 4 + kind, kind 0 for an integer dtype, 1 for a mask (bool or uint8, as
// Python's indexing treats both), 2 for any other.
static Napi::Value indexKind(const Napi::CallbackInfo& info) {
  at::Tensor tensor = unwrapTensor(info[0], "index");
  at::ScalarType type = tensor.scalar_type();
  int kind = type == at::kBool || type == at::kByte ? 1 : at::isIntegralType(type, /*includeBool=*/false) ? 0 : 2;
  return Napi::Number::New(info.Env(), static_cast<double>(tensor.dim() * 4 + kind));
}

// Whether the handle's tensor is freed (or never was one); a tensor this thread
// gave away is not disposed, only unusable here.
static Napi::Value isDisposed(const Napi::CallbackInfo& info) {
  TableLock lock(tableLock);
  return Napi::Boolean::New(info.Env(), slotOf(info[0], nullptr) == nullptr);
}

static Napi::Value dispose(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposeHandle(info.Env(), info[0]));
}

// setData(h, source): PyTorch's `t.data = source` (keeps t's identity and
// autograd metadata); the handle's storage is counted anew.
static Napi::Value setData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  unwrapTensor(info[0], "tensor");  // the right error for a bad or disposed handle
  setHandleData(env, info[0], unwrapTensor(info[1], "source"));
  return env.Undefined();
}

// sameTensor(a, b): whether two handles hold the same TensorImpl.
static Napi::Value sameTensor(const Napi::CallbackInfo& info) {
  const at::Tensor& a = unwrapTensor(info[0], "a");
  const at::Tensor& b = unwrapTensor(info[1], "b");
  return Napi::Boolean::New(info.Env(), a.unsafeGetTensorImpl() == b.unsafeGetTensorImpl());
}

// ---- autograd -----------------------------------------------------------------
static Napi::Value requiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrapTensor(info[0], "tensor").requires_grad());
}

static Napi::Value setRequiresGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor tensor = unwrapTensor(info[0], "tensor");
  tensor.set_requires_grad(info[1].ToBoolean());
  return env.Undefined();
}

static Napi::Value isLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrapTensor(info[0], "tensor").is_leaf());
}

static Napi::Value gradFn(const Napi::CallbackInfo& info) {
  const at::Tensor& tensor = unwrapTensor(info[0], "tensor");
  auto fn = tensor.grad_fn();
  if (!fn) return info.Env().Null();
  return Napi::String::New(info.Env(), fn->name());
}

// grad(h, cached?): the tensor's .grad as a new handle, null if it has none, or
// `true` when `cached` already holds that same gradient (JS keeps one wrapper).
static Napi::Value grad(const Napi::CallbackInfo& info) {
  at::Tensor tensor = unwrapTensor(info[0], "tensor");
  const at::Tensor& gradient = tensor.grad();
  if (!gradient.defined()) return info.Env().Null();
  if (info.Length() > 1) {
    at::Tensor cached = findTensor(info[1], nullptr);
    if (cached.defined() && cached.unsafeGetTensorImpl() == gradient.unsafeGetTensorImpl())
      return Napi::Boolean::New(info.Env(), true);
  }
  return wrapTensor(info.Env(), gradient);
}

static Napi::Value setGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor tensor = unwrapTensor(info[0], "tensor");
  if (info[1].IsNull() || info[1].IsUndefined()) {
    tensor.mutable_grad().reset();
  } else {
    tensor.mutable_grad() = unwrapTensor(info[1], "grad");
  }
  return env.Undefined();
}

static Napi::Value retainGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  unwrapTensor(info[0], "tensor").retain_grad();
  return env.Undefined();
}

static std::vector<at::Tensor> tensorList(const Napi::Value& value, const char* what) {
  std::vector<at::Tensor> tensors;
  if (!value.IsArray()) return tensors;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value element = array[i];
    tensors.push_back(element.IsNull() || element.IsUndefined() ? at::Tensor() : unwrapTensor(element, what));
  }
  return tensors;
}

// backward(outputs[], grads[] | null, retainGraph, createGraph, inputs[] | null)
static Napi::Value backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto outputs = tensorList(info[0], "tensor");
  auto grads = tensorList(info[1], "gradient");
  c10::optional<bool> retain;
  if (info[2].IsBoolean()) retain = info[2].ToBoolean().Value();
  bool create = info[3].ToBoolean();
  auto inputs = tensorList(info[4], "inputs");
  torch::autograd::backward(outputs, grads, retain, create, inputs);
  return env.Undefined();
}

// grad(outputs[], inputs[], gradOutputs[] | null, retainGraph, createGraph, allowUnused)
static Napi::Value autogradGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto outputs = tensorList(info[0], "outputs");
  auto inputs = tensorList(info[1], "inputs");
  auto gradOutputs = tensorList(info[2], "gradOutputs");
  c10::optional<bool> retain;
  if (info[3].IsBoolean()) retain = info[3].ToBoolean().Value();
  auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retain, info[4].ToBoolean(),
                                     info[5].ToBoolean());
  Napi::Array result = Napi::Array::New(env, grads.size());
  for (size_t i = 0; i < grads.size(); i++) result.Set(i, wrapTensor(env, grads[i]));
  return result;
}

static Napi::Value setGradEnabled(const Napi::CallbackInfo& info) {
  bool previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(info[0].ToBoolean());
  return Napi::Boolean::New(info.Env(), previous);
}

static Napi::Value isGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

// ---- runtime ------------------------------------------------------------------
static Napi::Value manualSeed(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throwFlare(info.Env(), "E_ARGUMENT", "manualSeed(): seed must be a number");
  auto seed = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  at::manual_seed(seed);
  return info.Env().Undefined();
}

// getRngState() / setRngState(h): libtorch's CPU generator state as a uint8
// tensor (torch.get_rng_state / set_rng_state), for checkpoints and replays.
static Napi::Value getRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return wrapTensor(env, generator.get_state());
}

static Napi::Value setRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor state = unwrapTensor(info[0], "state");
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
  return env.Undefined();
}

// Thread counts: each thread libtorch's pools start is real (a stack, a share of
// every op's fan-out), and 2,048 of them made every op take tens of seconds.
// Above 4 × the hardware threads (at most 256) is refused: no CPU gains there.
static int maxThreads() {
  unsigned hardware = std::thread::hardware_concurrency();
  return static_cast<int>(std::min<unsigned>(256, 4 * std::max(1u, hardware)));
}

static int threadCount(const Napi::CallbackInfo& info, const char* what) {
  Napi::Env env = info.Env();
  double n = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0.5;
  if (!info[0].IsNumber() || std::floor(n) != n)
    throwFlare(env, "E_ARGUMENT", std::string(what) + ": n must be an integer, got " + info[0].ToString().Utf8Value());
  if (n > maxThreads())
    throwFlare(env, "E_ARGUMENT", std::string(what) + ": " + std::to_string(static_cast<int64_t>(std::min(n, 1e15))) +
                                      " threads is above the limit of " + std::to_string(maxThreads()) +
                                      " (4 × the " + std::to_string(std::thread::hardware_concurrency()) + " hardware threads, at most 256)");
  return static_cast<int>(std::max(n, -1.0));  // below 1: libtorch's own message
}

static Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  at::set_num_threads(threadCount(info, "setNumThreads()"));
  return info.Env().Undefined();
}

static Napi::Value getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

// The inter-op pool can be sized once, before its first use (libtorch's rule).
static Napi::Value setNumInteropThreads(const Napi::CallbackInfo& info) {
  int n = threadCount(info, "setNumInteropThreads()");
  if (n < 1) throwFlare(info.Env(), "E_ARGUMENT", "setNumInteropThreads(): n must be a positive integer, got " + std::to_string(n));
  try {
    at::set_num_interop_threads(n);
  } catch (const c10::Error&) {
    throwFlare(info.Env(), "E_STATE", "setNumInteropThreads(): the inter-op thread pool is already started (or was sized before); set it once, before any parallel work");
  }
  return info.Env().Undefined();
}

static Napi::Value getNumInteropThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_interop_threads());
}

static Napi::Value maxNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), maxThreads());
}

static Napi::Value cudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), torch::cuda::is_available() ? static_cast<double>(torch::cuda::device_count()) : 0);
}

static Napi::Value memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  freeCollected(env);
  MemoryStats stats = memoryStats();
  Napi::Object result = Napi::Object::New(env);
  result.Set("numTensors", Napi::Number::New(env, stats.numTensors));
  result.Set("numStorages", Napi::Number::New(env, stats.numStorages));
  result.Set("numBytes", Napi::Number::New(env, stats.numBytes));
  return result;
}

static Napi::Value buildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  result.Set("cxx11Abi", Napi::Boolean::New(env, _GLIBCXX_USE_CXX11_ABI));
  result.Set("parallel", Napi::String::New(env, at::get_parallel_info()));
  result.Set("cuda", Napi::Boolean::New(env, torch::cuda::is_available()));
#ifdef FLARE_WITH_GLOO
  result.Set("gloo", Napi::Boolean::New(env, true));
#else
  result.Set("gloo", Napi::Boolean::New(env, false));
#endif
  return result;
}

static Napi::Value setErrorClassBinding(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throwFlare(info.Env(), "E_ARGUMENT", "setErrorClass(): expected the FlareError class");
  setErrorClass(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

void initTensor(Napi::Env env, Napi::Object exports) {
  currentOwner = nextOwner++;
  // Hooks run in reverse order of registration: the guards go first, then the tensors.
  napi_add_env_cleanup_hook(env, freeOwnedBy, reinterpret_cast<void*>(static_cast<uintptr_t>(currentOwner)));
  napi_add_env_cleanup_hook(env, dropGuards, nullptr);
  struct Entry { const char* name; Napi::Function::Callback fn; };
  const Entry entries[] = {
      {"fromBuffer", fromBuffer}, {"toBuffer", toBuffer}, {"item", item},
      {"shape", shape}, {"strides", strides}, {"dtype", dtype}, {"device", device},
      {"numel", numel}, {"dim", dim}, {"indexKind", indexKind}, {"isDisposed", isDisposed}, {"dispose", dispose},
      {"sameTensor", sameTensor}, {"setData", setData}, {"setOwner", setOwner}, {"guard", guardWrapper},
      {"requiresGrad", requiresGrad}, {"setRequiresGrad", setRequiresGrad}, {"isLeaf", isLeaf},
      {"gradFn", gradFn}, {"grad", grad}, {"setGrad", setGrad}, {"retainGrad", retainGrad},
      {"backward", backward}, {"autogradGrad", autogradGrad},
      {"setGradEnabled", setGradEnabled}, {"isGradEnabled", isGradEnabled},
      {"manualSeed", manualSeed}, {"getRngState", getRngState}, {"setRngState", setRngState}, {"setNumThreads", setNumThreads}, {"getNumThreads", getNumThreads},
      {"setNumInteropThreads", setNumInteropThreads}, {"getNumInteropThreads", getNumInteropThreads}, {"maxNumThreads", maxNumThreads},
      {"cudaDeviceCount", cudaDeviceCount}, {"memory", memory}, {"buildInfo", buildInfo},
      {"setErrorClass", setErrorClassBinding},
  };
  for (const Entry& entry : entries) exportFunction(env, exports, entry.name, entry.fn);
}

}  // namespace flare
