"""The PyTorch side of bench/detect.ts: the book's TinySSD (d2l 14.7, from
scripts/fixtures/tiny_ssd.py) trained on the same banana images, from the same
initial weights, in the same batch order, with the book's recipe (SGD lr 0.2,
weight decay 5e-4, batch 32). flare writes its data, permutations and initial
weights as safetensors; this script prints one JSON line and writes its final
validation detections for flare to score with the same COCO mAP code.

Usage: python3 bench/detect_torch.py DIR THREADS          (train)
       python3 bench/detect_torch.py DIR THREADS time K   (seconds of K training steps on epoch 0's first
                                                          batches, then of one inference batch)
  DIR/data.safetensors   train_images uint8 [N,3,S,S], train_labels [N,M,5], val_images, val_labels, orders int64 [E,N]
  DIR/init.safetensors   TinySSD's initial state dict (flare's keys are PyTorch's)
  writes DIR/torch_detections.safetensors: boxes [K,4] (pixels), scores [K], labels [K], counts [V]
"""
import json
import os
import sys
import time

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "fixtures"))
from safetensors_io import load_file, save_file  # noqa: E402
from anchors import multibox_target, offset_inverse  # noqa: E402
import anchors as book  # noqa: E402
from tiny_ssd import TinySSD, calc_loss, cls_eval, bbox_eval  # noqa: E402


def torchvision_nms(boxes, scores, iou_threshold):
    # The book's greedy NMS, as torchvision's kernel (same result, no Python loop).
    return torchvision.ops.nms(boxes, scores, iou_threshold)


book.nms = torchvision_nms


def detections(anchors, cls_preds, bbox_preds, candidates=400, pos_threshold=0.009999999):
    """As flare's detectionsFromOutput: the book's multibox_detection on each image's most confident anchors."""
    probs = torch.softmax(cls_preds, dim=2)
    conf = probs[:, :, 1:].amax(2)
    anc = anchors.reshape(-1, 4)
    offsets = bbox_preds.reshape(bbox_preds.shape[0], -1, 4)
    out = []
    for b in range(probs.shape[0]):
        values, idx = conf[b].topk(min(candidates, conf.shape[1]))
        idx = idx[values >= pos_threshold]
        if idx.numel() == 0:
            out.append(torch.zeros(0, 6))
            continue
        rows = book.multibox_detection(probs[b, idx].t().unsqueeze(0), offsets[b, idx].reshape(1, -1), anc[idx].unsqueeze(0),
                                       nms_threshold=0.5, pos_threshold=pos_threshold)[0]
        out.append(rows[rows[:, 0] >= 0])
    return out


def time_steps(net, trainer, images, labels, order, val, steps, batch=32):
    times = []
    net.train()
    for i in range(steps):
        index = order[i * batch:(i + 1) * batch]
        start = time.perf_counter()
        X, Y = images[index].float(), labels[index]
        trainer.zero_grad()
        anchors, cls_preds, bbox_preds = net(X)
        bbox_labels, bbox_masks, cls_labels = multibox_target(anchors, Y)
        calc_loss(cls_preds, cls_labels, bbox_preds, bbox_labels, bbox_masks).mean().backward()
        trainer.step()
        times.append(time.perf_counter() - start)
    net.eval()
    start = time.perf_counter()
    with torch.no_grad():
        detections(*net(val[:batch].float()))
    return {"step_seconds": times, "inference_seconds": time.perf_counter() - start}


def main():
    folder, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    data = load_file(os.path.join(folder, "data.safetensors"))
    net = TinySSD(num_classes=1)
    net.load_state_dict({k: v for k, v in load_file(os.path.join(folder, "init.safetensors")).items()})
    trainer = torch.optim.SGD(net.parameters(), lr=0.2, weight_decay=5e-4)
    images, labels, orders = data["train_images"], data["train_labels"], data["orders"]
    batch = 32
    if len(sys.argv) > 3 and sys.argv[3] == "time":
        print(json.dumps(time_steps(net, trainer, images, labels, orders[0], data["val_images"], int(sys.argv[4]))))
        return
    epoch_seconds, history = [], []
    for epoch in range(orders.shape[0]):
        # d2l 14.7's loop: metric = (correct classes, anchors, abs offset error, offsets)
        metric = [0.0, 0, 0.0, 0]
        net.train()
        start = time.perf_counter()
        order = orders[epoch]
        for s in range(0, order.shape[0], batch):
            index = order[s:s + batch]
            X, Y = images[index].float(), labels[index]
            trainer.zero_grad()
            anchors, cls_preds, bbox_preds = net(X)
            bbox_labels, bbox_masks, cls_labels = multibox_target(anchors, Y)
            loss = calc_loss(cls_preds, cls_labels, bbox_preds, bbox_labels, bbox_masks)
            loss.mean().backward()
            trainer.step()
            metric[0] += cls_eval(cls_preds, cls_labels)
            metric[1] += cls_labels.numel()
            metric[2] += bbox_eval(bbox_preds, bbox_labels, bbox_masks)
            metric[3] += bbox_labels.numel()
        epoch_seconds.append(time.perf_counter() - start)
        history.append({"class_err": 1 - metric[0] / metric[1], "bbox_mae": metric[2] / metric[3]})
        print(json.dumps({"epoch": epoch, "seconds": epoch_seconds[-1], **history[-1]}), file=sys.stderr, flush=True)

    # Validation detections (for mAP) and inference speed: forward + detections, batches of 32.
    net.eval()
    val = data["val_images"]
    found = []
    start = time.perf_counter()
    with torch.no_grad():
        for s in range(0, val.shape[0], batch):
            anchors, cls_preds, bbox_preds = net(val[s:s + batch].float())
            found.extend(detections(anchors, cls_preds, bbox_preds))
    infer_seconds = time.perf_counter() - start
    side = val.shape[-1]
    rows = torch.cat(found) if found else torch.zeros(0, 6)
    save_file({
        "boxes": (rows[:, 2:] * side).contiguous(), "scores": rows[:, 1].contiguous(), "labels": rows[:, 0].long().contiguous(),
        "counts": torch.tensor([len(f) for f in found], dtype=torch.int64),
    }, os.path.join(folder, "torch_detections.safetensors"))
    print(json.dumps({
        "threads": torch.get_num_threads(), "version": torch.__version__,
        "epoch_seconds": epoch_seconds, "history": history,
        "inference_images_per_s": val.shape[0] / infer_seconds,
    }))


if __name__ == "__main__":
    main()
