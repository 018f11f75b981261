"""Independent check of `wow generate`'s copy score (numpy, Debian's /usr/bin/python3).

Distances of each generated image (clipped to [0, 1], as `wow generate` scores them) and of
1 000 real test images to their nearest MNIST training image: mean, quantiles, and the share
closer than 2. A flow that copied training images would put most generated images near 0.

    /usr/bin/python3 docs/generate/nearest.py out/generate/generated_x.npy
"""
import glob
import gzip
import subprocess
import sys

import numpy as np


def images(name):
    cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    root = glob.glob(cache + "/github.com/petar/!go!m!n!i!s!t@*/data/")[0]
    raw = gzip.open(root + name).read()
    return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255


def nearest(x, train):
    sq = (train**2).sum(1)
    out = []
    for i in range(0, len(x), 500):
        c = x[i : i + 500]
        d2 = (c**2).sum(1)[:, None] + sq[None] - 2 * c @ train.T
        out.append(np.sqrt(np.maximum(d2.min(1), 0)))
    return np.concatenate(out)


train = images("train-images-idx3-ubyte.gz")
test = images("t10k-images-idx3-ubyte.gz")
test = test[np.random.default_rng(1).choice(len(test), 1000, replace=False)]
gen = np.load(sys.argv[1]).astype(np.float32).reshape(-1, 784)
for name, x in [("generated, raw", gen), ("generated, clipped to [0,1]", np.clip(gen, 0, 1)), ("real test", test)]:
    v = nearest(x, train)
    q = np.quantile(v, [0.05, 0.5, 0.95])
    print(f"{name:28s} n={len(v):5d} mean {v.mean():.3f}  q05 {q[0]:.3f}  median {q[1]:.3f}  q95 {q[2]:.3f}  min {v.min():.3f}  share<2 {(v < 2).mean():.3f}")
