"""PyTorch half of bench/classify.ts: d2l's recipe on Fashion-MNIST with the
same model, batch order and hyper-parameters. Prints one JSON line."""
import gzip
import json
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torch_side import d2l_resnet18  # noqa: E402

ROOT = "/usr/share/datasets/fashion-mnist"


def idx(name):
    data = gzip.open(f"{ROOT}/{name}.gz").read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return torch.from_numpy(np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims).copy())


def main():
    mode, width, epochs, batch, lr, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    torch.manual_seed(0)
    net = d2l_resnet18(10, 1, width)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    x_train = idx("train-images-idx3-ubyte").unsqueeze(1)
    y_train = idx("train-labels-idx1-ubyte").long()
    norm = lambda x: (x.float() / 255 - 0.2860) / 0.3530  # noqa: E731
    if mode == "time":
        times = []
        for i in range(steps):
            xb, yb = norm(x_train[i * batch:(i + 1) * batch]), y_train[i * batch:(i + 1) * batch]
            t0 = time.perf_counter()
            opt.zero_grad()
            loss_fn(net(xb), yb).backward()
            opt.step()
            times.append(time.perf_counter() - t0)
        print(json.dumps({"times": times}))
        return
    x_test, y_test = idx("t10k-images-idx3-ubyte").unsqueeze(1), idx("t10k-labels-idx1-ubyte").long()
    n = len(y_train)
    t_start = time.perf_counter()
    epoch_times = []
    for epoch in range(epochs):
        order = torch.from_numpy(np.load(f"/tmp/flare-bench-order-{epoch}.npy"))
        net.train()
        t0 = time.perf_counter()
        for start in range(0, n, batch):
            index = order[start:start + batch]
            opt.zero_grad()
            loss_fn(net(norm(x_train[index])), y_train[index]).backward()
            opt.step()
        epoch_times.append(time.perf_counter() - t0)
    net.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(y_test), 1000):
            correct += (net(norm(x_test[start:start + 1000])).argmax(1) == y_test[start:start + 1000]).sum().item()
    print(json.dumps({"test_acc": correct / len(y_test), "epoch_seconds": epoch_times, "total": time.perf_counter() - t_start}))


if __name__ == "__main__":
    main()
