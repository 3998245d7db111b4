"""Where a tiny op's CPU time goes: runs bench/op_cost.js KIND once plain (its
median CPU microseconds per op) and once under `perf record --call-graph dwarf`,
then sorts every sample taken while ops ran into one part of the op path:

  Node-API entry      V8's API-call builtins, node's napi_* glue, node-addon-api's
                      callback wrapper and flare's exceptions-to-FlareError guard
  argument conversion JS values -> IValues on the stack (flare::call, toIValue, ...)
  handle table        handle lookup, new handles, storage counting, its mutex
  dispatcher          the boxed call through c10's dispatcher (boxing, IValue stack)
  ATen op             the op itself: autograd layer, allocation, the kernel
  result conversion   IValues -> JS values
  dispose (native)    disposeHandle: the slot, the storage count, freeing the tensor
  GC guards           arming a guard for a tensor no tidy() owns; freeing collected ones
  V8 GC               scavenges and mark-compacts (any thread)
  JS                  the Tensor wrapper, tidy() scopes, the bench loop (JIT code)

Each sample goes to the innermost frame that names a part; malloc/free and
libc frames go to whichever part called them. JS frames are JIT code, so what
inlining merged is counted together. Share x the plain run's median = us/op.
Usage: python3 scripts/perf/breakdown.py tidy|untidy|dispose|index [--ops N] [--freq HZ] [--json]
Needs `perf` (Debian: linux-perf) and a built dist/ and addon.
"""
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PARTS = ["Node-API entry", "argument conversion", "handle table", "dispatcher", "ATen op", "result conversion",
         "dispose (native)", "GC guards", "V8 GC", "JS", "other"]

GC = re.compile(r"v8::internal::(Heap|Scavenger|ScavengerCollector|MarkCompact|MinorMarkCompact|IncrementalMarking|"
                r"ConcurrentMarking|MarkingVisitor|MainMarkingVisitor|GCTracer|GlobalHandles|Sweeper|ArrayBufferSweeper|"
                r"Evacuat|YoungGeneration|MarkingWorklist|LocalHeap::.*GC|CollectGarbage)|flare::onWrapperCollected|flare::onCollection")
FLARE_PARTS = [
    (re.compile(r"flare::(disposeHandle|dispose)\b"), "dispose (native)"),
    (re.compile(r"flare::(guardWrapper|freeCollected|maybeRequestCollection|unlinkGuard)"), "GC guards"),
    (re.compile(r"flare::(wrapTensor|findTensor|unwrapTensor|slotOf|liveSlotOf|track|untrack|reportExternal|isDisposed)\b"), "handle table"),
    (re.compile(r"flare::toJs\b"), "result conversion"),
    (re.compile(r"flare::(toIValue|toInt|toIntList|tensorArgument|badArgument)\b"), "argument conversion"),
    (re.compile(r"flare::(exportFunction|guarded)|Napi::details::CallbackData"), "Node-API entry"),
]
DISPATCH = re.compile(r"c10::Dispatcher|OperatorHandle|OperatorEntry|DispatchKeyExtractor|DispatchKeySet|BoxedKernel|"
                      r"boxed|call_functor_with_args_from_stack|push_outputs|torch::jit::|c10::IValue|c10::ivalue|c10::List")
NAPI = re.compile(r"Builtins_CallApiCallback|HandleApiCall|FunctionCallbackWrapper|FunctionCallbackArguments|napi_|v8impl|"
                  r"Builtins_CEntry|v8::Value::|v8::Number::|v8::Object::|v8::Function::|Napi::")


def classify(frames):
    """frames: [(symbol, dso)] leaf first."""
    torch_syms = []
    for sym, dso in frames:
        if GC.search(sym):
            return "V8 GC"
        if "flare::StorageCount" in sym or "flare::Slot" in sym:
            return "handle table"  # the storage map's and the slot deque's template code
        if sym.startswith("flare::") or "flare::" in sym:
            for pattern, part in FLARE_PARTS:
                if pattern.search(sym):
                    return part
            if re.search(r"flare::call\b", sym):
                if not torch_syms:
                    return "argument conversion"  # the stack, the schema walk, napi value reads
                named = [s for s in torch_syms if s != "[unknown]"]
                return "dispatcher" if named and DISPATCH.search(named[0]) else "ATen op"
            return "other"
        if "libtorch" in dso or "libc10" in dso:
            torch_syms.append(sym)
    if torch_syms:
        return "ATen op"
    leaf = frames[0][0] if frames else ""
    for sym, _ in frames[:12]:
        if NAPI.search(sym):
            return "Node-API entry"
    if leaf.startswith("JS:") or leaf.startswith("Builtins_") or "v8::internal" in leaf or "[unknown]" in leaf or "perf-" in frames[0][1]:
        return "JS"
    return "other"


def parse(text):
    """perf script output -> [(tid, time, frames)]."""
    samples = []
    for block in text.split("\n\n"):
        lines = [l for l in block.split("\n") if l.strip()]
        if not lines:
            continue
        head = re.match(r"\s*(\S+)\s+(\d+)\s+([\d.]+):", lines[0])
        if not head:
            continue
        frames = []
        for line in lines[1:]:
            m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
            if m:
                frames.append((re.sub(r"\+0x[0-9a-f]+$", "", m.group(1)), m.group(2)))
        samples.append((int(head.group(2)), float(head.group(3)), frames))
    return samples


def main():
    args = sys.argv[1:]
    if not args or args[0] not in ("tidy", "untidy", "dispose", "index"):
        sys.exit(__doc__)
    kind = args[0]
    ops = args[args.index("--ops") + 1] if "--ops" in args else "40000"
    freq = args[args.index("--freq") + 1] if "--freq" in args else "1000"
    bench = [os.path.join(ROOT, "dist/bench/op_cost.js"), kind, "--ops", ops]
    plain = json.loads(subprocess.run(["node", *bench], check=True, capture_output=True, text=True).stdout)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        subprocess.run(["perf", "record", "-q", "-F", freq, "--call-graph", "dwarf,16384", "-o", data,
                        "node", "--perf-basic-prof", *bench], check=True, capture_output=True, cwd=tmp)
        text = subprocess.run(["perf", "script", "--no-inline", "-i", data], check=True, capture_output=True,
                              text=True, errors="replace", cwd=tmp).stdout
    samples = parse(text)
    # Only while ops ran: from the first sample inside flare::call to the last.
    op_times = [t for _, t, frames in samples if any("flare::call" in s for s, _ in frames)]
    start, end = min(op_times), max(op_times)
    counts = collections.Counter(classify(frames) for _, t, frames in samples if start <= t <= end)
    total = sum(counts.values())
    median = plain["cpuMicrosecondsPerOp"]["median"]
    rows = [{"part": p, "share": counts[p] / total, "usPerOp": counts[p] / total * median} for p in PARTS if counts[p]]
    if "--json" in args:
        print(json.dumps({"kind": kind, "ops": int(ops), "samples": total, "cpuMicrosecondsPerOp": median, "parts": rows}))
        return
    print(f"{kind}: {median} us/op CPU (median of 7 runs of {ops} ops, op_cost.js); {total} perf samples while ops ran")
    print("| part | share | us/op |\n|---|---|---|")
    for row in rows:
        print(f"| {row['part']} | {row['share'] * 100:.1f}% | {row['usPerOp']:.2f} |")


if __name__ == "__main__":
    main()
