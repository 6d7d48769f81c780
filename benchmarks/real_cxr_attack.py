"""The training-free attacker's level on the real chest radiographs (issue #15).

Why: a learned privacy method is only worth crediting against the re-identification an attacker
gets for free. This prints, for the frontal views of ``shared/real/cxr``: the patient-disjoint
split counts, and the verification AUC (same patient on another day vs different patients) of
16x16 and 32x32 thumbnail correlation, aspect ratio, image size, and thumbnails + size, with a
patient-level bootstrap 95% CI, over all frontal pairs and over the test split.

Geometry uses the originals' size (``orig_width`` x ``orig_height`` from the metadata) by
default, the stored images' own size with ``--own-size`` (what an attacker holding only the
released images sees). ``--dicom DIR`` loads the set from ``medeid import-images`` output
instead of the PNGs (same arrays). Usage::

    python benchmarks/real_cxr_attack.py [--root ../shared/real/cxr] [--seed 0] [--boot 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    from medeid_gui.lab.real_cxr import (
        default_root,
        load_imported_dicom,
        load_png_folder,
        split_counts,
        split_patients,
    )
    from medeid_gui.lab.thumb_attack import verification

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=None, help="the set's folder (default: ../shared/real/cxr)")
    ap.add_argument("--dicom", type=Path, default=None, help="load images from this import-images output")
    ap.add_argument("--seed", type=int, default=0, help="split seed")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--own-size", action="store_true", help="geometry from the stored images, not the metadata")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    root = args.root or default_root()
    if root is None or not (Path(root) / "metadata.csv").is_file():
        print("real CXR set not found (pass --root)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    data = (load_imported_dicom(args.dicom, Path(root) / "metadata.csv") if args.dicom
            else load_png_folder(root))
    if data.missing:
        print(f"{len(data.missing)} image(s) not loaded, e.g. {data.missing[0]}", file=sys.stderr)
    if len(data) < 2:
        print("fewer than two images loaded: nothing to attack", file=sys.stderr)
        return 2
    splits = split_patients(data.items, args.seed)
    counts = split_counts(data.items, splits)
    counts["all"] = split_counts(data.items, {"all": list(range(len(data)))})["all"]
    print(f"frontal images from {'DICOM ' + str(args.dicom) if args.dicom else root} "
          f"(loaded in {time.perf_counter() - t0:.1f} s); splits with seed {args.seed}:")
    keys = list(counts["all"])
    print(f"{'split':<6} " + " ".join(f"{k:>21}" for k in keys))
    for name in ("train", "val", "test", "all"):
        print(f"{name:<6} " + " ".join(f"{counts[name][k]:>21}" for k in keys))

    figures: dict[str, dict] = {}
    for name, idx in (("all frontal", list(range(len(data)))), ("test split", splits["test"])):
        sub = data.subset(idx)
        sizes = None if args.own_size else [
            (it.orig_height, it.orig_width) if it.orig_height and it.orig_width else im.shape[:2]
            for it, im in zip(sub.items, sub.images)]
        t = time.perf_counter()
        res = verification(sub.images, None, sub.patients, [it.offset for it in sub.items], sizes=sizes,
                           n_boot=args.boot, seed=args.seed)
        print(f"\n{name}: verification AUC [95% patient-bootstrap CI] ({time.perf_counter() - t:.1f} s)")
        for cue, ci in res.items():
            print(f"  {cue:<14} {ci}")
        figures[name] = {cue: vars(ci) for cue, ci in res.items()}
    if args.json:
        args.json.write_text(json.dumps({"seed": args.seed, "boot": args.boot, "own_size": args.own_size,
                                         "counts": counts, "auc": figures}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
