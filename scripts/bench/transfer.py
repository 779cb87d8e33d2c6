"""Annotation transfer in reverse: an emotion category for VA-only data (AFEW-VA) from the nearest category ellipse,
and how often it agrees with the true category on data that has both.

    python -m scripts.bench.transfer            # 20,000 AffectNet-style synthetic labels
    python -m scripts.bench.transfer --quick    # 2,000

The synthetic faces' labels draw a category, then a VA point uniformly over that category's AffectNet ellipse (one
standard deviation; models.data.synthetic.sample_labels with no uniform share, so no row got its category from an
ellipse).
Each point is then given the category whose ellipse is nearest (axis-aligned Mahalanobis distance,
models.data.transfer.nearest_ellipse), with the published AffectNet ellipses and with ellipses computed from a separate
half of the data (the "statistics from any VA-labelled dataset" path). Beside it: the majority class, and the harder
case of VA drawn from a Gaussian with each category's mean and standard deviation (the ellipses' tails overlap).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np


def confusion(true: np.ndarray, pred: np.ndarray, names: list[str]) -> np.ndarray:
    m = np.zeros((len(names), len(names)), int)
    idx = {n: i for i, n in enumerate(names)}
    for t, p in zip(true, pred):
        m[idx[t], idx[p]] += 1
    return m


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.transfer", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="2,000 labels instead of 20,000")
    p.add_argument("--seed", type=int, default=11, help="label sampling seed (default 11)")
    args = p.parse_args(argv)

    from models.data.emotions import EMOTIONS
    from models.data.synthetic import sample_labels
    from models.data.transfer import affectnet_ellipses, ellipses_from_labels, nearest_ellipse

    n = 2000 if args.quick else 20000
    rng = np.random.default_rng(args.seed)
    emotions, va = sample_labels(2 * n, rng, uniform_share=0.0)  # half for statistics, half to score
    fit, test = slice(0, n), slice(n, 2 * n)
    published = affectnet_ellipses()
    own = ellipses_from_labels(emotions[fit], va[fit, 0], va[fit, 1])
    truth = emotions[test]
    pred = nearest_ellipse(va[test], published)
    acc = float((pred == truth).mean())
    acc_own = float((nearest_ellipse(va[test], own) == truth).mean())
    majority, count = Counter(emotions[fit]).most_common(1)[0]
    maj = float((truth == majority).mean())

    # The harder case: Gaussian VA around each category's mean (clipped to the unit disk).
    e = np.array([[published[k].mu_v, published[k].s_v, published[k].mu_a, published[k].s_a] for k in truth])
    g = np.stack([rng.normal(e[:, 0], e[:, 1]), rng.normal(e[:, 2], e[:, 3])], 1)
    g /= np.maximum(1.0, np.linalg.norm(g, axis=1, keepdims=True))
    acc_gauss = float((nearest_ellipse(g, published) == truth).mean())

    names = list(EMOTIONS)
    m = confusion(truth, pred, names)
    w = max(map(len, names))
    print(f"{n:,} AffectNet-style labels scored (seed {args.seed}); rows: true category, columns: nearest ellipse "
          "(% of the row)")
    print(" " * (w + 2) + "".join(f"{k[:7]:>8}" for k in names) + "       n")
    for i, k in enumerate(names):
        row = m[i] / max(1, m[i].sum()) * 100
        print(f"  {k:<{w}}" + "".join(f"{x:8.1f}" for x in row) + f"{m[i].sum():8d}")
    print("\nper category: " + ", ".join(f"{k} {m[i, i] / max(1, m[i].sum()):.2f}" for i, k in enumerate(names)))
    print(f"ellipses computed from the other {n:,} labels: agreement {acc_own:.3f}")
    print(f"Gaussian VA (category mean and s.d.): agreement {acc_gauss:.3f}")
    print(f"FIGURE ellipse_emotion_agreement {acc:.3f}  (published AffectNet ellipses; own-statistics ellipses "
          f"{acc_own:.3f}; majority class '{majority}' {maj:.3f}: ratio {acc / maj:.1f}x; Gaussian VA {acc_gauss:.3f})")
    print(f"FIGURE majority_baseline {maj:.3f}  (always '{majority}', the commonest category of the fitting half)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
