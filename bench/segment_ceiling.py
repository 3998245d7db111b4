"""The ceiling of a 1/32 head on a shapes set: per-image free class scores at 1/32 of the input,
upsampled by the book's fixed bilinear ConvTranspose2d(k 64, s 32, p 16), fitted to the validation
labels (Adam, 200 steps), then scored as the segment task scores (confusion matrix, 255 ignored).
No network that predicts at 1/32 and upsamples bilinearly can do better on those images (the FCN
trains its upsampler too, so it may beat this a little). Usage: python3 bench/segment_ceiling.py DIR [N]"""
import sys, os, numpy as np, torch, torch.nn.functional as F
from PIL import Image
root, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100
ids = open(os.path.join(root, "ImageSets/Segmentation/val.txt")).read().split()[:n]
ys = torch.stack([torch.from_numpy(np.array(Image.open(os.path.join(root, "SegmentationClass", i + ".png"))).astype(np.int64)) for i in ids])
C = int(ys[ys != 255].max()) + 1
N, H, W = ys.shape
def bil(k):
    f = (k + 1) // 2; c = f - 1 if k % 2 == 1 else f - 0.5
    og = torch.arange(k).float()
    w1 = 1 - (og - c).abs() / f
    return w1[:, None] * w1[None, :]
K = torch.zeros(C, C, 64, 64)
for c in range(C): K[c, c] = bil(64)
z = torch.zeros(N, C, H // 32, W // 32, requires_grad=True)
opt = torch.optim.Adam([z], lr=0.5)
for it in range(200):
    out = F.conv_transpose2d(z, K, stride=32, padding=16)
    loss = F.cross_entropy(out, ys, ignore_index=255)
    opt.zero_grad(); loss.backward(); opt.step()
pred = F.conv_transpose2d(z, K, stride=32, padding=16).argmax(1)
k = ys != 255
h = torch.bincount(C * ys[k] + pred[k], minlength=C * C).reshape(C, C).double()
iu = torch.diag(h) / (h.sum(0) + h.sum(1) - torch.diag(h))
print(root, "oracle acc %.4f miou %.4f" % ((torch.diag(h).sum() / h.sum()).item(), iu.mean().item()), [round(v, 3) for v in iu.tolist()])
