"""PyTorch half of bench/segment.ts: the book's FCN (d2l 14.11) for the shapes
set, from flare's initial weights, on flare's decoded images in flare's batch
order, with the same recipe. Prints one JSON line."""
import json
import os
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from safetensors_io import load_file  # noqa: E402

MEAN = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)


def d2l_fcn(num_classes):
    net = nn.Sequential(*list(torchvision.models.resnet18().children())[:-2])
    net.add_module('final_conv', nn.Conv2d(512, num_classes, kernel_size=1))
    net.add_module('transpose_conv', nn.ConvTranspose2d(num_classes, num_classes, kernel_size=64, padding=16, stride=32))
    return net


def confusion(target, pred, n):
    k = (target >= 0) & (target < n)
    return torch.bincount(n * target[k] + pred[k], minlength=n * n).reshape(n, n)


def make_optimizer(kind, params, lr, momentum, wd):
    """The segment task's optimizers: Adam (its default) or SGD with momentum."""
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)


def time_steps(work, steps, batch, lr, momentum, wd, threads, kind):
    """Seconds per training step (median of `steps`, after one warm-up) on the first batch."""
    torch.set_num_threads(threads)
    data = load_file(os.path.join(work, "data.safetensors"))
    init = load_file(os.path.join(work, "init.safetensors"))
    net = d2l_fcn(init["final_conv.weight"].shape[0])
    net.load_state_dict(init)
    net.train()
    opt = make_optimizer(kind, net.parameters(), lr, momentum, wd)
    x, y = (data["train_x"][:batch].float() / 255 - MEAN) / STD, data["train_y"][:batch]
    times = []
    for i in range(steps + 1):
        start = time.perf_counter()
        loss = F.cross_entropy(net(x), y, ignore_index=255)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i > 0:
            times.append(time.perf_counter() - start)
    print(json.dumps({"s_per_step": sorted(times)[len(times) // 2]}))


def main():
    if sys.argv[1] == "time":
        a = sys.argv[2:]
        return time_steps(a[0], int(a[1]), int(a[2]), float(a[3]), float(a[4]), float(a[5]), int(a[6]), a[7])
    work, epochs, batch, lr, momentum, wd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
    torch.set_num_threads(int(sys.argv[7]))  # flare's libtorch thread count
    data = load_file(os.path.join(work, "data.safetensors"))
    init = load_file(os.path.join(work, "init.safetensors"))
    orders = json.load(open(os.path.join(work, "orders.json")))
    n_classes = init["final_conv.weight"].shape[0]
    net = d2l_fcn(n_classes)
    net.load_state_dict(init)
    opt = make_optimizer(sys.argv[8], net.parameters(), lr, momentum, wd)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    tx, ty, vx, vy = data["train_x"], data["train_y"], data["val_x"], data["val_y"]
    norm = lambda x: (x.float() / 255 - MEAN) / STD  # noqa: E731
    n = tx.shape[0]
    history = []
    for epoch in range(epochs):
        net.train()
        order = torch.tensor(orders[epoch])
        start, total, count = time.time(), 0.0, 0
        for b in range(0, n, batch):
            idx = order[b:b + batch]
            x, y = norm(tx[idx]), ty[idx]
            loss = F.cross_entropy(net(x), y, ignore_index=255)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
        seconds = time.time() - start
        sched.step()
        net.eval()
        mat = torch.zeros(n_classes, n_classes, dtype=torch.int64)
        with torch.no_grad():
            for b in range(0, vx.shape[0], batch):
                mat += confusion(vy[b:b + batch].flatten(), net(norm(vx[b:b + batch])).argmax(1).flatten(), n_classes)
        h = mat.double()
        iu = torch.diag(h) / (h.sum(1) + h.sum(0) - torch.diag(h))
        history.append({"epoch": epoch, "s_per_epoch": seconds, "train_loss": total / count,
                        "val_pixel_acc": (torch.diag(h).sum() / h.sum()).item(), "val_miou": iu[~iu.isnan()].mean().item()})
        print(json.dumps(history[-1]), file=sys.stderr, flush=True)
    start = time.time()
    with torch.no_grad():
        for b in range(0, vx.shape[0], batch):
            net(norm(vx[b:b + batch])).argmax(1)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "epochs": history,
                      "inference_images_per_s": vx.shape[0] / (time.time() - start)}))


if __name__ == "__main__":
    main()
