"""PyTorch half of bench/transfer.ts: the same transfer recipe. Prints one JSON line."""
import json
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torch_side import d2l_resnet18  # noqa: E402
from classify_torch import idx  # noqa: E402
from flare_generator import Generator  # noqa: E402

WIDTH, PRE_EPOCHS, FT_EPOCHS, PER_CLASS = (int(a) for a in sys.argv[1:5])
norm = lambda x: (x.float() / 255 - 0.2860) / 0.3530  # noqa: E731


def split():
    xs, ys = idx("train-images-idx3-ubyte").unsqueeze(1), idx("train-labels-idx1-ubyte").long()
    xt, yt = idx("t10k-images-idx3-ubyte").unsqueeze(1), idx("t10k-labels-idx1-ubyte").long()
    src = ys < 5
    few = torch.cat([torch.nonzero(ys == c).flatten()[:PER_CLASS] for c in range(5, 10)])
    tgt_test = yt >= 5
    return (xs[src], ys[src]), (xs[few], ys[few] - 5), (xt[tgt_test], yt[tgt_test] - 5)


def train(net, params, x, y, epochs, batch, seed):
    opt = torch.optim.SGD(params, momentum=0.9, weight_decay=1e-3)
    g = Generator(seed)  # flare's shuffling, so both sides see the same batches
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        net.train()
        order = torch.tensor(g.permutation(len(y)))
        for s in range(0, len(y), batch):
            i = order[s:s + batch]
            opt.zero_grad()
            loss_fn(net(norm(x[i])), y[i]).backward()
            opt.step()


def accuracy(net, x, y):
    net.eval()
    with torch.no_grad():
        return sum((net(norm(x[s:s + 1000])).argmax(1) == y[s:s + 1000]).sum().item() for s in range(0, len(y), 1000)) / len(y)


def new_head(net):
    head = nn.Linear(net[9].in_features, 5)
    nn.init.xavier_uniform_(head.weight)
    nn.init.zeros_(head.bias)
    net[9] = head
    return net


def main():
    source, few, test = split()
    torch.manual_seed(0)
    pre = d2l_resnet18(5, 1, WIDTH)
    train(pre, [{"params": pre.parameters(), "lr": 0.1}], *source, PRE_EPOCHS, 256, 0)
    weights = pre.state_dict()
    results = {}
    for mode in ("finetune", "frozen", "scratch"):
        torch.manual_seed(1)
        net = d2l_resnet18(5, 1, WIDTH)
        if mode != "scratch":
            net.load_state_dict(weights)
            net = new_head(net)
        head = list(net[9].parameters())
        body = [p for n, p in net.named_parameters() if not n.startswith("9.")]
        if mode == "finetune":
            groups = [{"params": body, "lr": 0.01}, {"params": head, "lr": 0.1}]
        elif mode == "frozen":
            for p in body:
                p.requires_grad_(False)
            groups = [{"params": head, "lr": 0.1}]
        else:
            groups = [{"params": net.parameters(), "lr": 0.1}]
        train(net, groups, *few, FT_EPOCHS, 50, 1)
        results[mode] = accuracy(net, *test)
    print(json.dumps(results))


main()
