"""Few-shot VA labelling figures: synthetic faces (the demo LeVAsa's frozen encoder on identities it never trained on)
and, when ../shared/data/ckplus48 is present, CK+48 split by subject (the FER2013 LeVAsa's encoder on another dataset).

    python -m scripts.bench.fewshot            # 50 / 20 / 6 / 2 % support; figures fewshot6_ccc, fewshot6_nn_ccc
    python -m scripts.bench.fewshot --quick    # CI: a 1-epoch run on 2,000 synthetic faces, 20 and 6 % only

CK+48 has emotion categories only: its VA comes from annotation transfer (AffectNet ellipses, seed 0, contempt dropped
for want of statistics), so its scores measure agreement with those transferred labels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from models.runs import WEIGHTS

CK_SRC = Path("../shared/data/ckplus48")
CK_DATA = Path("data/ckplus48_va")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.fewshot", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI: a 1-epoch run on 2,000 faces, two support fractions")
    p.add_argument("--run", type=Path, help="the synthetic run whose encoder is used (default: the demo's runs/levasa, "
                                            "trained if missing)")
    args = p.parse_args(argv)

    from scripts import fewshot
    from scripts.bench.serve import ensure_bench_run

    run = ensure_bench_run(args.quick, args.run)
    fractions = "0.2,0.06" if args.quick else "0.5,0.2,0.06,0.02"
    print(f"\n== synthetic faces, {run}", flush=True)
    rc = fewshot.main(["--run", str(run), "--fractions", fractions, "--figures", "fewshot6"])
    if args.quick or rc:
        return rc
    fer = Path("runs/fer-levasa")
    if not (CK_SRC / "labels.csv").is_file() or not (fer / WEIGHTS).is_file():
        print(f"\nCK+48 skipped: needs {CK_SRC} and a trained {fer} (python -m scripts.bench.eval --no-synth)")
        return rc
    if not (CK_DATA / "labels.csv").is_file():
        from models.data.transfer import affectnet_ellipses, transfer_labels

        transfer_labels(CK_SRC / "labels.csv", CK_DATA, affectnet_ellipses(), seed=0, drop_unknown=True,
                        images_dir=CK_SRC / "images", join_csv=CK_SRC / "meta.csv")
    print(f"\n== CK+48 by subject, {fer}'s encoder", flush=True)
    return fewshot.main(["--run", str(fer), "--data", str(CK_DATA), "--group", "subject", "--fractions", fractions,
                         "--figures", "ck_fewshot6"])


if __name__ == "__main__":
    sys.exit(main())
