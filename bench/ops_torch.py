"""torchvision half of bench/ops.ts: the same boxes (read from the files the
flare side writes), torchvision.ops.nms and box_iou on the same libtorch.
Reads one command per line on stdin and answers one JSON line:
  setup                          -> {"threads", "version", "torchvision"}
  nms FILE N THRESHOLD REPS      -> {"times": [...], "kept": [...]}
  iou FILE N M REPS              -> {"times": [...], "sum": float}
FILE holds N boxes (float32, xyxy) then N scores (nms) or N + M boxes (iou)."""
import json
import sys
import time

import torch
import torchvision


def floats(path, count):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    t = torch.frombuffer(data, dtype=torch.float32)
    assert t.numel() == count, f"{path}: {t.numel()} floats, expected {count}"
    return t


def timed(fn, reps):
    times, result = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def main():
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "setup":
            out = {"threads": torch.get_num_threads(), "version": torch.__version__, "torchvision": torchvision.__version__}
        elif cmd == "nms":
            path, n, threshold, reps = args[0], int(args[1]), float(args[2]), int(args[3])
            data = floats(path, 5 * n)
            boxes, scores = data[: 4 * n].reshape(n, 4), data[4 * n:]
            times, kept = timed(lambda: torchvision.ops.nms(boxes, scores, threshold), reps)
            out = {"times": times, "kept": kept.tolist()}
        elif cmd == "iou":
            path, n, m, reps = args[0], int(args[1]), int(args[2]), int(args[3])
            data = floats(path, 4 * (n + m))
            b1, b2 = data[: 4 * n].reshape(n, 4), data[4 * n:].reshape(m, 4)
            times, iou = timed(lambda: torchvision.ops.box_iou(b1, b2), reps)
            out = {"times": times, "sum": float(iou.double().sum())}
        elif cmd == "quit":
            break
        else:
            out = {"error": f"unknown command {cmd}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
