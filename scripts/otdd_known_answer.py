#!/usr/bin/python3
"""Known answers for `wow distance --metric otdd`, from an independent
implementation: Debian's python3-pot (ot.emd2, exact) and scipy.linalg.sqrtm.

Run with Debian's interpreter (apt-get install python3-pot python3-scipy):
    /usr/bin/python3 scripts/otdd_known_answer.py experiments/testdata/otdd
It writes x.npy, x_labels.npy, y.npy, y_labels.npy and expected.json (the OTDD
in the given features, and with a 2-D PCA of X and Y together: label_dims 2).
"""
import json
import os
import sys

import numpy as np
import ot
import scipy.linalg


def bw2(m1, s1, m2, s2):
    r1 = scipy.linalg.sqrtm(s1)
    c = scipy.linalg.sqrtm(r1 @ s2 @ r1)
    return float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.real(np.trace(c)))


def moments(z, lab):
    out = []
    for c in range(lab.max() + 1):
        p = z[lab == c]
        out.append((p.mean(0), np.cov(p.T, bias=True).reshape(z.shape[1], z.shape[1])))
    return out


def otdd(x, lx, y, ly, zx, zy):
    gx, gy = moments(zx, lx), moments(zy, ly)
    lab = np.array([[bw2(a[0], a[1], b[0], b[1]) for b in gy] for a in gx])
    cost = ot.dist(x, y) + lab[lx][:, ly]
    a, b = np.ones(len(x)) / len(x), np.ones(len(y)) / len(y)
    return float(ot.emd2(a, b, cost, numItermax=10**7)), lab


def main(out):
    rng = np.random.default_rng(17)
    d = 4
    lx = np.repeat(np.arange(3), [6, 7, 5])
    ly = np.repeat(np.arange(2), [8, 6])
    x = rng.normal(size=(len(lx), d)) + lx[:, None] * 0.7
    y = rng.normal(size=(len(ly), d)) * 1.3 - ly[:, None] * 0.5
    value, lab = otdd(x, lx, y, ly, x, y)
    # PCA to 2 dimensions fitted on X and Y together (principal directions
    # from the SVD of the centred data; the sign of a direction does not
    # change any distance).
    z = np.concatenate([x, y])
    zc = z - z.mean(0)
    _, _, vt = np.linalg.svd(zc, full_matrices=False)
    p = zc @ vt[:2].T
    value2, lab2 = otdd(x, lx, y, ly, p[: len(x)], p[len(x):])
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "x_labels.npy"), lx.astype(np.int64))
    np.save(os.path.join(out, "y.npy"), y)
    np.save(os.path.join(out, "y_labels.npy"), ly.astype(np.int64))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"source": "scripts/otdd_known_answer.py: POT %s ot.emd2, scipy %s sqrtm" % (ot.__version__, scipy.__version__),
                   "value": value, "label_cost": lab.tolist(),
                   "value_label_dims_2": value2, "label_cost_label_dims_2": lab2.tolist()}, f, indent=1)
    print(value, value2)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "experiments/testdata/otdd")
