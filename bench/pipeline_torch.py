"""torchvision half of bench/pipeline.ts. Usage: pipeline_torch.py JPEG COUNT WORKERS pil|tensor|decode
Prints {"images_per_s": ...} for one pass of DataLoader(batch 64) after a warm-up batch;
with decode, for min(COUNT, 256) PIL decodes (Image.open + convert("RGB")) in this thread."""
import io
import json
import sys
import time

import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

jpeg, count, workers, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
data = open(jpeg, "rb").read()
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


class Pil(torch.utils.data.Dataset):
    t = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.ToTensor(), T.Normalize(MEAN, STD)])

    def __len__(self):
        return count

    def __getitem__(self, i):
        return self.t(Image.open(io.BytesIO(data)).convert("RGB")), 0


class Tensors(torch.utils.data.Dataset):
    t = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ConvertImageDtype(torch.float32),
                   T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.Normalize(MEAN, STD)])
    raw = torch.frombuffer(bytearray(data), dtype=torch.uint8)

    def __len__(self):
        return count

    def __getitem__(self, i):
        return self.t(torchvision.io.decode_jpeg(self.raw)), 0


if kind == "decode":
    n = min(count, 256)
    Image.open(io.BytesIO(data)).convert("RGB")
    t0 = time.perf_counter()
    for _ in range(n):
        Image.open(io.BytesIO(data)).convert("RGB")
    print(json.dumps({"images_per_s": n / (time.perf_counter() - t0)}))
    sys.exit(0)

loader = torch.utils.data.DataLoader(Pil() if kind == "pil" else Tensors(), batch_size=64, num_workers=workers)
it = iter(loader)
next(it)  # warm-up: workers started, first batch
t0 = time.perf_counter()
n = sum(x.shape[0] for x, _ in it)
print(json.dumps({"images_per_s": n / (time.perf_counter() - t0)}))
