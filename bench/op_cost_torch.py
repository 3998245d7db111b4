"""PyTorch half of bench/op_cost.ts: CPU time per tiny op (time.process_time,
all threads), median and minimum of 7 runs, one JSON line.
Usage: python3 bench/op_cost_torch.py ops|index [--ops 40000]"""
import json
import sys
import time

import torch

kind = sys.argv[1] if len(sys.argv) > 1 else ""
if kind not in ("ops", "index"):
    sys.exit("usage: python3 bench/op_cost_torch.py ops|index [--ops N]")
n = int(sys.argv[sys.argv.index("--ops") + 1]) if "--ops" in sys.argv else 40000
a, b = torch.ones(4), torch.ones(4)
x, s, idx = torch.ones(8, 4), torch.ones(8), torch.tensor([0, 2, 5])


def run():
    t0 = time.process_time()
    if kind == "ops":
        for _ in range(n // 4):
            c = a + b
            c = a * 2
            c = a.exp()
            c = a.sum()
    else:
        for _ in range(n // 4):
            c = x[idx]
            c = x[:, 0]
            s[idx] = 0
            x[:, 1] = 1
    return (time.process_time() - t0) / n * 1e6


times = sorted(run() for _ in range(7))
print(json.dumps({"kind": kind, "ops": n, "cpuMicrosecondsPerOp": {"median": round(times[3], 3), "min": round(times[0], 3)}}))
