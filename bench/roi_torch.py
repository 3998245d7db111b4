"""PyTorch / torchvision half of bench/roi.ts. Reads one command per line on
stdin and answers one JSON line:
  setup N C H W K SIZE RATIO THREADS   seeded input, boxes (as bench/roi.ts makes them)
  run REPS                             seconds of each roi_align forward + backward
"""
import json
import sys
import time

import torch
from torchvision.ops import roi_align

state = {}


def make(n, c, h, w, k):
    torch.manual_seed(0)
    x = torch.randn(n, c, h, w)
    # boxes in image pixels (stride 16): corners anywhere, sides 16..256
    xy = torch.rand(k, 2) * torch.tensor([w * 16.0, h * 16.0])
    wh = torch.rand(k, 2) * 240 + 16
    ids = torch.randint(0, n, (k, 1)).float()
    rois = torch.cat([ids, xy, xy + wh], 1)
    return x, rois


for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == "setup":
        n, c, h, w, k, size, ratio, threads = map(int, cmd[1:9])
        torch.set_num_threads(threads)
        x, rois = make(n, c, h, w, k)
        state.update(x=x.requires_grad_(True), rois=rois, size=size, ratio=ratio)
        y = roi_align(state["x"], rois, size, spatial_scale=1 / 16, sampling_ratio=ratio)
        y.sum().backward()
        print(json.dumps({"out_sum": y.sum().item(), "grad_sum": state["x"].grad.abs().sum().item(),
                          "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
    elif cmd[0] == "run":
        times = []
        for _ in range(int(cmd[1])):
            t0 = time.perf_counter()
            state["x"].grad = None
            y = roi_align(state["x"], state["rois"], state["size"], spatial_scale=1 / 16, sampling_ratio=state["ratio"])
            y.sum().backward()
            times.append(time.perf_counter() - t0)
        print(json.dumps({"times": times}), flush=True)
