"""Recipe sweeps for the segment task in PyTorch (the book's FCN, as bench/segment_torch.py; flare's
training is the same computation, see bench/segment.ts): optimizer, lr, batch size, class weights,
the upsampler's lr multiplier, flips and turns (--aug dihedral: one of the 8 per image, as flare's default),
torchvision's zero_init_residual (--zir 1), progressive resizing (--train-size S --full-epochs K: the first
epochs-K epochs on S×S bilinear-resized images and nearest-resized labels, S a multiple of 32), on a VOC-style
shapes folder. Prints one JSON line per epoch.
Usage: python3 bench/segment_sweep.py DIR [--opt adam|sgd] [--lr L] [--wd W] [--bs B] [--epochs E] [--cw none|median|sqrt]
       [--tlr M] [--aug none|dihedral] [--zir 0|1] [--train-size S --full-epochs K] [--threads T]"""
import sys, os, json, time, argparse, numpy as np, torch, torch.nn as nn, torch.nn.functional as F, torchvision
from PIL import Image
p = argparse.ArgumentParser()
p.add_argument("root"); p.add_argument("--opt", default="sgd"); p.add_argument("--lr", type=float, default=0.05)
p.add_argument("--wd", type=float, default=1e-4); p.add_argument("--epochs", type=int, default=5); p.add_argument("--bs", type=int, default=16)
p.add_argument("--n", type=int, default=100000); p.add_argument("--threads", type=int, default=2); p.add_argument("--model", default="fcn")
p.add_argument("--cw", default="none"); p.add_argument("--tlr", type=float, default=1.0); p.add_argument("--sched", default="cosine"); p.add_argument("--warm", type=int, default=0); p.add_argument("--budget", type=float, default=1e9)
p.add_argument("--aug", default="none"); p.add_argument("--zir", type=int, default=0); p.add_argument("--train-size", type=int, default=0); p.add_argument("--full-epochs", type=int, default=0)
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(0)
MEAN = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1); STD = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
def load(split):
    ids = open(os.path.join(a.root, f"ImageSets/Segmentation/{split}.txt")).read().split()[:a.n]
    x = torch.stack([torch.from_numpy(np.array(Image.open(os.path.join(a.root, "JPEGImages", i + ".jpg")).convert("RGB"))).permute(2, 0, 1) for i in ids])
    y = torch.stack([torch.from_numpy(np.array(Image.open(os.path.join(a.root, "SegmentationClass", i + ".png"))).astype(np.int64)) for i in ids])
    return x, y
tx, ty = load("train"); vx, vy = load("val")
C = 1 + max(int(ty[ty != 255].max()), int(vy[vy != 255].max()))
def bil(k):
    f = (k + 1) // 2; c = f - 1 if k % 2 == 1 else f - 0.5
    og = torch.arange(k).float(); w1 = 1 - (og - c).abs() / f
    return w1[:, None] * w1[None, :]
def up(ch, f, bias=True):
    m = nn.ConvTranspose2d(ch, ch, 2 * f, padding=f // 2, stride=f, bias=bias)
    with torch.no_grad():
        m.weight.zero_()
        for c in range(ch): m.weight[c, c] = bil(2 * f)
    return m
class FCN8(nn.Module):
    def __init__(s):
        super().__init__(); r = torchvision.models.resnet18(); s.r = r
        s.s8, s.s16, s.s32 = nn.Conv2d(128, C, 1), nn.Conv2d(256, C, 1), nn.Conv2d(512, C, 1)
        for m in (s.s8, s.s16): nn.init.zeros_(m.weight); nn.init.zeros_(m.bias)
        s.u32, s.u16, s.u8 = up(C, 2, False), up(C, 2, False), up(C, 8)
    def forward(s, x):
        r = s.r; x = r.maxpool(r.relu(r.bn1(r.conv1(x)))); c2 = r.layer2(r.layer1(x)); c3 = r.layer3(c2); c4 = r.layer4(c3)
        y = s.u32(s.s32(c4)) + s.s16(c3); y = s.u16(y) + s.s8(c2); return s.u8(y)
if a.model == "fcn":
    net = nn.Sequential(*list(torchvision.models.resnet18(zero_init_residual=bool(a.zir)).children())[:-2]); net.add_module("final_conv", nn.Conv2d(512, C, 1)); net.add_module("t", up(C, 32))
else:
    net = FCN8()
tp = [p_ for n_, p_ in net.named_parameters() if n_.startswith("t.") or n_.startswith("u")]
rest = [p_ for n_, p_ in net.named_parameters() if not (n_.startswith("t.") or n_.startswith("u"))]
params = [{"params": rest, "m": 1.0}, {"params": tp, "m": a.tlr}]
opt = torch.optim.SGD(params, lr=a.lr, momentum=0.9, weight_decay=a.wd) if a.opt == "sgd" else torch.optim.AdamW(params, lr=a.lr, weight_decay=a.wd) if a.opt == "adamw" else torch.optim.Adam(params, lr=a.lr, weight_decay=a.wd)
n = tx.shape[0]; steps_per = (n + a.bs - 1) // a.bs; total = steps_per * a.epochs
def lr_at(step):
    if step < a.warm: return (step + 1) / a.warm
    if a.sched == "cosine": return 0.5 * (1 + np.cos(np.pi * step / total))
    if a.sched == "poly": return (1 - step / total) ** 0.9
    return 1.0
cnt = torch.bincount(ty[ty != 255].flatten(), minlength=C).double(); freq = cnt / cnt.sum()
cw = None if a.cw == "none" else ((freq.median() / freq) if a.cw == "median" else (1 / freq.sqrt())).float()
if cw is not None: cw = cw / (cw * freq.float()).sum(); print("weights", cw.tolist(), flush=True)
norm = lambda x: (x.float() / 255 - MEAN) / STD
t0 = time.time(); step = 0
for e in range(a.epochs):
    net.train(); g = torch.Generator().manual_seed(e + 1); order = torch.randperm(n, generator=g); tl = 0
    for b in range(0, n, a.bs):
        for pg in opt.param_groups: pg["lr"] = a.lr * lr_at(step) * pg["m"]
        idx = order[b:b + a.bs]; xb, yb = tx[idx], ty[idx]
        if a.aug == "dihedral":  # per image: one of the 8 flips/turns, as flare's memoryBatches
            codes = torch.randint(0, 8, (len(idx),)); xs, ys = [], []
            for k in range(len(idx)):
                c = int(codes[k]); xi, yi = xb[k], yb[k]
                if c & 1: xi, yi = xi.flip(-1), yi.flip(-1)
                if c & 2: xi, yi = xi.flip(-2), yi.flip(-2)
                if c & 4: xi, yi = xi.transpose(-1, -2), yi.transpose(-1, -2)
                xs.append(xi); ys.append(yi)
            xb, yb = torch.stack(xs), torch.stack(ys)
        xin = norm(xb)
        if a.train_size and e < a.epochs - a.full_epochs: xin = F.interpolate(xin, size=(a.train_size, a.train_size), mode="bilinear", align_corners=False); yb = F.interpolate(yb[:, None].float(), size=(a.train_size, a.train_size), mode="nearest")[:, 0].long()
        loss = F.cross_entropy(net(xin), yb, ignore_index=255, weight=cw)
        opt.zero_grad(); loss.backward(); opt.step(); tl += loss.item() * len(idx); step += 1
    net.eval(); h = torch.zeros(C, C, dtype=torch.float64)
    with torch.no_grad():
        for b in range(0, vx.shape[0], 32):
            pr = net(norm(vx[b:b + 32])).argmax(1).flatten(); t = vy[b:b + 32].flatten(); k = t != 255
            h += torch.bincount(C * t[k] + pr[k], minlength=C * C).reshape(C, C).double()
    iu = torch.diag(h) / (h.sum(0) + h.sum(1) - torch.diag(h))
    print(json.dumps({"e": e + 1, "t": round(time.time() - t0, 1), "loss": round(tl / n, 4), "acc": round((torch.diag(h).sum() / h.sum()).item(), 4), "miou": round(iu.mean().item(), 4), "iou": [round(v, 3) for v in iu.tolist()]}), flush=True)
    if time.time() - t0 > a.budget: break
