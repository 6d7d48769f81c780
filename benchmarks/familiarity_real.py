"""Unfamiliar-image score of the installed weights on the cohort's test split and on real images.

Prints, per source, the distance in units of the threshold (1.0 = the 99th percentile of the
held-out cohort images) and the fraction flagged.  Real files: pydicom-data and deid-data (what
installs offline) and, when present, the real chest radiographs in ../shared/real/cxr.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np


def _frames_of(path: Path) -> np.ndarray:
    from medeid_gui.dicom.frames import FrameSource

    src = FrameSource(str(path))
    f = src.frame(0)
    return f.mean(axis=-1) if f.ndim == 3 else f


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cohort", default="out/cohort")
    ap.add_argument("--real", default=str(Path(__file__).resolve().parents[1].parent / "shared/real/cxr"))
    args = ap.parse_args(argv)
    import torch
    from pydicom.data import get_testdata_file

    from medeid_gui._resources import models_dir
    from medeid_gui.ml.deidentify import analyse
    from medeid_gui.ml.familiarity import load_familiarity, pooled_features
    from medeid_gui.ml.model import default_model

    torch.set_num_threads(1)
    model = default_model("cpu")
    fam = load_familiarity(models_dir())
    if fam is None:
        print("the installed weights have no familiarity statistics", file=sys.stderr)
        return 2

    def ratio(frame: np.ndarray) -> float:
        return fam.score(pooled_features(analyse(frame, model).features.float().cpu().numpy())).ratio

    rows: list[tuple[str, list[float]]] = []
    if Path(args.cohort).is_dir():
        from medeid_gui.lab.cohort import load_split

        rows.append(("cohort test split", [ratio(im) for im in load_split(args.cohort, "test").images]))
    import deid_data

    dd = Path(deid_data.__file__).parent / "data"
    for name in ("RG1_UNCR.dcm", "RG3_UNCR.dcm", "693_UNCR.dcm", "MR_small.dcm", "emri_small.dcm"):
        rows.append((name, [ratio(_frames_of(Path(get_testdata_file(name))))]))
    for rel in ("humans/ctbrain1.dcm", "ultrasounds/GREYSCALE_IMAGE.dcm"):
        rows.append((rel, [ratio(_frames_of(dd / rel))]))
    real = Path(args.real)
    if (real / "metadata.csv").is_file():
        from PIL import Image

        with open(real / "metadata.csv", newline="") as fh:
            meta = [r for r in csv.DictReader(fh) if r["view"] in ("PA", "AP", "AP Supine")]
        rows.append((f"real CXR frontal ({len(meta)})",
                     [ratio(np.asarray(Image.open(real / "images" / r["image"]).convert("L"), dtype=np.float32))
                      for r in meta]))
    print(f"{'source':34s} {'n':>4s} {'median':>7s} {'min':>6s} {'flagged':>7s}")
    for name, vals in rows:
        v = np.asarray(vals)
        print(f"{name:34s} {v.size:4d} {np.median(v):7.2f} {v.min():6.2f} {np.mean(v > 1):7.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
