"""PyTorch half of bench/memory.ts: the same tiny CNN and loops, RSS sampled
every 100 steps (no forced collections), the same summary.
Usage: python3 bench/memory_torch.py plain|loader|workers STEPS FROM"""
import json
import os
import sys
import time

import torch
from torch import nn

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class Random(torch.utils.data.Dataset):  # bench/memory_dataset.ts
    def __init__(self, count):
        self.count = count

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        return torch.randn(1, 16, 16), index % 10


def main():
    style, steps, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(8 * 8 * 8, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    xs, ys = [], []

    def step_once(X, y, step):
        loss = loss_fn(net(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            xs.append(step)
            ys.append(rss())

    t0 = time.perf_counter()
    if style == "plain":
        X, y = torch.randn(16, 1, 16, 16), torch.randint(0, 10, (16,))
        for step in range(1, steps + 1):
            step_once(X, y, step)
    else:
        workers = 1 if style == "workers" else 0
        loader = torch.utils.data.DataLoader(Random(1024), batch_size=16, shuffle=True, num_workers=workers,
                                             persistent_workers=workers > 0)
        step = 0
        while step < steps:
            for X, y in loader:
                step += 1
                step_once(X, y, step)
                if step >= steps:
                    break
    seconds = time.perf_counter() - t0

    window = [i for i, s in enumerate(xs) if s >= start]
    wx, wy = [xs[i] for i in window], [ys[i] for i in window]
    n = len(wx)
    mx, my = sum(wx) / n, sum(wy) / n
    slope = sum((a - mx) * (b - my) for a, b in zip(wx, wy)) / sum((a - mx) ** 2 for a in wx)
    mean = lambda v: sum(v) / len(v)
    mib = lambda b: round(b / 1048576, 1)
    print(json.dumps({
        "style": style, "steps": steps, "from": start,
        "rssFromMiB": mib(mean(wy[:5])), "rssToMiB": mib(mean(wy[-5:])),
        "growthMiB": mib(mean(wy[-5:]) - mean(wy[:5])), "slopeBytesPerStep": round(slope, 1),
        "msPerStep": round(seconds * 1000 / steps, 3), "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
