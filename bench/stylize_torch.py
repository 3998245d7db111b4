"""PyTorch half of bench/stylize.ts: d2l 14.12's train() loop on the same
extractor, images and filters / weights that flare used. Prints one JSON line.
Usage: stylize_torch.py random|vgg19 INPUTS.safetensors STEPS THREADS VGG19.safetensors|"" [matmul|conv]
The last argument is how the Gram matrix is computed, as flare's gram(): "matmul" (the book's, the default)
or "conv" (the same sums through a convolution: flare's random-filter extractor uses it)."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import safetensors_io  # noqa: E402

kind, inputs, steps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
gram_method = sys.argv[6] if len(sys.argv) > 6 else "matmul"
torch.set_num_threads(threads)
t = safetensors_io.load_file(inputs)
content_X, style_X = t["content_X"], t["style_X"]

if kind == "random":
    # flare's RandomStyleFeatures, op for op.
    levels = sum(1 for k in t if k.endswith("conv1.weight"))
    content_level = min(2, levels - 1)

    def extract_features(X):
        styles, contents = [], []
        for l in range(levels):
            if l > 0:
                if X.shape[2] < 2 or X.shape[3] < 2:
                    break
                X = F.avg_pool2d(X, 2)
            w1, w2 = t[f"level{l}.conv1.weight"], t[f"level{l}.conv2.weight"]
            h1 = F.relu(F.conv2d(X, w1, t[f"level{l}.conv1.bias"], padding=(w1.shape[-1] - 1) // 2))
            styles.append(h1)
            if l >= 2:  # flare's SECOND: the second layer from level 2 on
                h2 = F.relu(F.conv2d(h1, w2, t[f"level{l}.conv2.bias"], padding=(w2.shape[-1] - 1) // 2))
                styles.append(h2)
                if l == content_level:
                    contents = [h2]
        return contents or [styles[-1]], styles
else:
    import torchvision
    w = safetensors_io.load_file(sys.argv[5])
    features = torchvision.models.vgg19().features
    features.load_state_dict({k[len("features."):]: v for k, v in w.items()})
    style_layers, content_layers = [0, 5, 10, 19, 28], [25]
    net = nn.Sequential(*[features[i] for i in range(max(content_layers + style_layers) + 1)])
    net.requires_grad_(False)  # as flare: only the image is trained

    def extract_features(X):
        contents, styles = [], []
        for i in range(len(net)):
            X = net[i](X)
            if i in style_layers:
                styles.append(X)
            if i in content_layers:
                contents.append(X)
        return contents, styles


def gram(X):
    num_channels, n = X.shape[1], X.numel() // X.shape[1]
    if gram_method == "conv":  # flare's gram(x, {method: "conv"}), op for op
        X = X.reshape((num_channels, 1, 1, n))
        return F.conv2d(X, X).reshape((num_channels, num_channels)) / (num_channels * n)
    X = X.reshape((num_channels, n))
    return torch.matmul(X, X.T) / (num_channels * n)


def compute_loss(X, contents_Y_hat, styles_Y_hat, contents_Y, styles_Y_gram):
    contents_l = [torch.square(Y_hat - Y.detach()).mean() * 1 for Y_hat, Y in zip(contents_Y_hat, contents_Y)]
    styles_l = [torch.square(gram(Y_hat) - Y.detach()).mean() * 1e4 for Y_hat, Y in zip(styles_Y_hat, styles_Y_gram)]
    tv_l = 0.5 * (torch.abs(X[:, :, 1:, :] - X[:, :, :-1, :]).mean() + torch.abs(X[:, :, :, 1:] - X[:, :, :, :-1]).mean()) * 10
    return contents_l, styles_l, tv_l, sum(styles_l + contents_l + [tv_l])


with torch.no_grad():
    contents_Y, _ = extract_features(content_X)
    _, styles_Y = extract_features(style_X)
    styles_Y_gram = [gram(Y) for Y in styles_Y]
X = nn.Parameter(content_X.clone())
trainer = torch.optim.Adam([X], lr=0.3)
scheduler = torch.optim.lr_scheduler.StepLR(trainer, 50, 0.8)
times, cpu_times, losses = [], [], []
last, last_cpu = time.perf_counter(), time.process_time()
for epoch in range(steps):
    trainer.zero_grad()
    contents_Y_hat, styles_Y_hat = extract_features(X)
    contents_l, styles_l, tv_l, l = compute_loss(X, contents_Y_hat, styles_Y_hat, contents_Y, styles_Y_gram)
    l.backward()
    trainer.step()
    scheduler.step()
    losses.append(float(l))  # flare reads its losses each step too
    now, now_cpu = time.perf_counter(), time.process_time()
    times.append(now - last)
    cpu_times.append(now_cpu - last_cpu)
    last, last_cpu = now, now_cpu
rest, cpu_rest = sorted(times[2:]), sorted(cpu_times[2:])
print(json.dumps({"gram": gram_method, "secondsPerStep": rest[len(rest) // 2], "cpuSecondsPerStep": cpu_rest[len(cpu_rest) // 2], "firstLoss": losses[0], "lastLoss": losses[-1], "threads": torch.get_num_threads()}))
