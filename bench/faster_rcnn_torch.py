"""PyTorch half of bench/faster_rcnn.ts: torchvision's FasterRCNN on a ResNet-18
FPN backbone (resnet_fpn_backbone, FrozenBatchNorm2d, 3 trainable layers), loaded
with flare's weights file, trained on flare's images and targets.
Commands, one per line on stdin, one JSON line back:
  setup WEIGHTS DATA MIN_SIZE MAX_SIZE THREADS   build and load
  steps N                                        N SGD steps: seconds and losses of each"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))

import torch  # noqa: E402
from torchvision.models.detection import FasterRCNN  # noqa: E402
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone  # noqa: E402
from torchvision.ops.misc import FrozenBatchNorm2d  # noqa: E402
import safetensors_io  # noqa: E402

state = {}


def setup(weights, data, min_size, max_size, threads):
    torch.set_num_threads(int(threads))
    sd = safetensors_io.load_file(weights)
    num_classes = sd["roi_heads.box_predictor.cls_score.weight"].shape[0]
    backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None, norm_layer=FrozenBatchNorm2d, trainable_layers=3)
    model = FasterRCNN(backbone, num_classes=num_classes, min_size=int(min_size), max_size=int(max_size))
    model.load_state_dict(sd)
    model.train()
    d = safetensors_io.load_file(data)
    n = sum(1 for k in d if k.startswith("image/"))
    state["images"] = [d[f"image/{i}"] for i in range(n)]
    state["targets"] = [{"boxes": d[f"boxes/{i}"], "labels": d[f"labels/{i}"]} for i in range(n)]
    state["model"] = model
    state["opt"] = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.005, momentum=0.9)
    state["step"] = 0
    return {"ok": True, "threads": torch.get_num_threads()}


def steps(n):
    model, opt = state["model"], state["opt"]
    seconds, losses = [], []
    for _ in range(int(n)):
        torch.manual_seed(state["step"])
        state["step"] += 1
        t0 = time.perf_counter()
        loss_dict = model(state["images"], state["targets"])
        loss = sum(loss_dict.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        seconds.append(time.perf_counter() - t0)
        losses.append(float(loss))
    return {"seconds": seconds, "losses": losses}


for line in sys.stdin:
    parts = line.split()
    try:
        if parts[0] == "setup":
            print(json.dumps(setup(*parts[1:])), flush=True)
        elif parts[0] == "steps":
            print(json.dumps(steps(parts[1])), flush=True)
        else:
            print(json.dumps({"error": f"unknown command {parts[0]}"}), flush=True)
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"error": repr(e)}), flush=True)
