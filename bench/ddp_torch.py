"""PyTorch half of bench/ddp.ts: d2l's ResNet-18 (narrow copy) on Fashion-MNIST,
trained by one process, or by torchrun's processes with DistributedDataParallel
(gloo), each taking its rows of every global batch (as flare's Trainer does).
Rank 0 prints one JSON line: train seconds, images/s, test accuracy.
    python3 bench/ddp_torch.py WIDTH EPOCHS BATCH LIMIT
    python3 -m torch.distributed.run --nproc_per_node 2 bench/ddp_torch.py ..."""
import json
import os
import sys
import time

import torch
import torch.distributed as dist
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify_torch import idx  # noqa: E402
from torch_side import d2l_resnet18  # noqa: E402


def main():
    width, epochs, batch, limit = (int(a) for a in sys.argv[1:5])
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group("gloo")
    torch.manual_seed(0)
    net = d2l_resnet18(10, 1, width)
    model = nn.parallel.DistributedDataParallel(net) if world > 1 else net
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loss_fn = nn.CrossEntropyLoss()
    norm = lambda x: (x.float() / 255 - 0.2860) / 0.3530  # noqa: E731
    xs = idx("train-images-idx3-ubyte")[:limit].unsqueeze(1)
    ys = idx("train-labels-idx1-ubyte")[:limit].long()
    n = ys.shape[0]
    seconds = 0.0
    for epoch in range(epochs):
        g = torch.Generator().manual_seed(epoch)
        order = torch.randperm(n, generator=g)
        model.train()
        t0 = time.perf_counter()
        for start in range(0, n, batch):
            rows = order[start:start + batch]
            m = rows.shape[0]
            lo, hi = rank * m // world, (rank + 1) * m // world
            xb, yb = norm(xs[rows[lo:hi]]), ys[rows[lo:hi]]
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
        seconds += time.perf_counter() - t0
        sched.step()
    net.eval()
    tx, ty = idx("t10k-images-idx3-ubyte")[:limit].unsqueeze(1), idx("t10k-labels-idx1-ubyte")[:limit].long()
    with torch.no_grad():
        correct = sum(int((net(norm(tx[i:i + 500])).argmax(1) == ty[i:i + 500]).sum()) for i in range(0, ty.shape[0], 500))
    if rank == 0:
        print(json.dumps({"side": "pytorch", "world": world, "train_seconds": seconds, "images_per_s": epochs * n / seconds,
                          "test_acc": correct / ty.shape[0]}))
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
