#!/usr/bin/python3
"""PyTorch versions of the model workloads of `wow bench` (W4, W5), for timing in the same invocation.

Written from the workload definitions in experiments/bench.go (issue 16), not from any other code base.
Uses Debian's python3-torch and python3-numpy (run with /usr/bin/python3).

  torch_models_bench.py w4 width steps threads
      one embedded-distillation step: 10 classes, 256 real images per class (drawn from 512 per
      class), IPC 10 synthetic images, 28×28; one random affine augmentation (±15°, ±10 % scale,
      ±2 px shift; bilinear, zeros outside) and one random ConvNet (conv 3×3 pad 1 without bias →
      InstanceNorm2d without affine → ReLU → AvgPool2d(2), three blocks, PyTorch's default
      initialisation) per step, shared by all images; the real images under torch.no_grad() (what a
      careful PyTorch user writes); Riesz MMDSW with L = 500 between the embedded classes; the
      gradient to the synthetic pixels; heavy-ball update (τ = 1, m = 0.9).
  torch_models_bench.py w5 epochs threads
      LeNet-5 training epochs on 2050 random 28×28 images and labels, batch 64, AdamW (lr 3e-4,
      weight decay 0.01).
Each prints one JSON line with median_ms (per step or per epoch) after one untimed warm-up.
"""
import json, math, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import fast_half_mmd2  # noqa: E402  (the W1–W3 step's vectorised Riesz ½MMD²)


def random_convnet(width, depth, g):
    ws, cin = [], 1
    for _ in range(depth):
        bound = 1 / math.sqrt(9 * cin)  # nn.Conv2d's default (Kaiming-uniform, a = √5)
        ws.append((torch.rand(width, cin, 3, 3, generator=g) * 2 - 1) * bound)
        cin = width
    return ws


def embed(x, ws):
    for w in ws:
        x = F.avg_pool2d(F.relu(F.instance_norm(F.conv2d(x, w, padding=1))), 2)
    return x.flatten(1)


def random_affine(g):
    """One draw of the augmentation: the 2×3 matrix of affine_grid."""
    u = lambda: float(torch.rand(1, generator=g)) * 2 - 1
    a, s = math.radians(15 * u()), 1 + 0.1 * u()
    tx, ty = 2 * u() / 14, 2 * u() / 14  # 2 px in normalised coordinates of a 28-px side
    c, si = math.cos(a) / s, math.sin(a) / s
    return torch.tensor([[c, -si, tx], [si, c, ty]], dtype=torch.float32)


def augment(x, theta):
    grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), tuple(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def w4(args):
    width, steps, threads = int(args[0]), int(args[1]), int(args[2])
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    C, real_per_class, batch, ipc, L = 10, 512, 256, 10, 500
    real = torch.rand(C, real_per_class, 1, 28, 28, generator=g)
    x = torch.rand(C * ipc, 1, 28, 28, generator=g)
    v = torch.zeros_like(x)
    times = []
    for it in range(steps + 1):
        t0 = time.perf_counter()
        idx = torch.stack([torch.randperm(real_per_class, generator=g)[:batch] for _ in range(C)])
        target = torch.stack([real[c, idx[c]] for c in range(C)]).reshape(C * batch, 1, 28, 28)
        ws, aff = random_convnet(width, 3, g), random_affine(g)
        with torch.no_grad():
            ty = embed(augment(target, aff), ws)
        xr = x.clone().requires_grad_(True)
        tx = embed(augment(xr, aff), ws)
        d = tx.shape[1]
        theta = torch.randn(L, d, generator=g)
        theta = theta / theta.norm(dim=1, keepdim=True)
        loss = fast_half_mmd2(tx.reshape(C, ipc, d), ty.reshape(C, batch, d), theta)
        loss.backward()
        with torch.no_grad():
            v = C * ipc * xr.grad + 0.9 * v
            x = x - 1.0 * v
        if it >= 1:
            times.append((time.perf_counter() - t0) * 1e3)
    t = np.array(times)
    print(json.dumps({"workload": "W4", "width": width, "threads": threads, "steps": steps,
                      "median_ms": float(np.median(t)), "min_ms": float(t.min()), "max_ms": float(t.max()),
                      "last_value": loss.item()}))


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2).flatten(1)
        return self.f3(F.relu(self.f2(F.relu(self.f1(x)))))


def w5(args):
    epochs, threads = int(args[0]), int(args[1])
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    n = 2050
    x = torch.rand(n, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    torch.manual_seed(0)
    net = LeNet()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-4, weight_decay=0.01)
    times = []
    for ep in range(epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        for lo in range(0, n, 64):
            b = perm[lo:lo + 64]
            opt.zero_grad()
            loss = F.cross_entropy(net(x[b]), y[b])
            loss.backward()
            opt.step()
        if ep >= 1:
            times.append((time.perf_counter() - t0) * 1e3)
    t = np.array(times)
    print(json.dumps({"workload": "W5", "threads": threads, "epochs": epochs, "median_ms": float(np.median(t)),
                      "min_ms": float(t.min()), "max_ms": float(t.max()), "last_loss": loss.item()}))


if __name__ == "__main__":
    {"w4": w4, "w5": w5}[sys.argv[1]](sys.argv[2:])
