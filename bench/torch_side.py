"""PyTorch half of bench/core.ts: same models, same batches, same libtorch.
Reads one command per line on stdin ("setup", "resnet N", "cnn N", "ops N", "index N")
and answers one JSON line with the seconds each repetition took."""
import json
import sys
import time

import torch
from torch import nn


class Residual(nn.Module):  # d2l 8.6
    def __init__(self, in_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(in_channels, num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X):
        Y = torch.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        return torch.relu(Y + X)


def resnet_block(in_channels, out_channels, num_residuals, first_block=False):
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(in_channels, out_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(out_channels, out_channels))
    return nn.Sequential(*blk)


def d2l_resnet18(num_classes=10, in_channels=1, width=64):  # d2l 13.6's resnet18
    w = width
    return nn.Sequential(
        nn.Conv2d(in_channels, w, kernel_size=3, stride=1, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
        resnet_block(w, w, 2, first_block=True), resnet_block(w, 2 * w, 2),
        resnet_block(2 * w, 4 * w, 2), resnet_block(4 * w, 8 * w, 2),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(8 * w, num_classes))


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10))


def train_step_timer(net, x, y, lr):
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return time.perf_counter() - t0, loss.item()
    return step


def main():
    models = {}
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "setup":
            batch = int(args[0])
            torch.manual_seed(0)
            models["resnet"] = train_step_timer(d2l_resnet18(), torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,)), 0.1)
            models["cnn"] = train_step_timer(small_cnn(), torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,)), 0.05)
            out = {"threads": torch.get_num_threads(), "version": torch.__version__}
        elif cmd in ("resnet", "cnn"):
            times = [models[cmd]()[0] for _ in range(int(args[0]))]
            out = {"times": times}
        elif cmd == "ops":
            a, b = torch.ones(4), torch.ones(4)
            n = int(args[0])
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n // 4):
                c = a + b
                c = a * 2
                c = a.exp()
                c = a.sum()
            out = {"seconds": time.perf_counter() - t0, "cpuSeconds": time.process_time() - c0}
        elif cmd == "index":
            x, s, idx = torch.ones(8, 4), torch.ones(8), torch.tensor([0, 2, 5])
            n = int(args[0])
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n // 4):
                c = x[idx]
                c = x[:, 0]
                s[idx] = 0
                x[:, 1] = 1
            out = {"seconds": time.perf_counter() - t0, "cpuSeconds": time.process_time() - c0}
        elif cmd == "quit":
            break
        else:
            out = {"error": f"unknown command {cmd}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
