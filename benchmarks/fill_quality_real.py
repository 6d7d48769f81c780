"""Fill quality of the pixel method on real images (issue #14), shipped vs prototype repairs.

Usage: ``python benchmarks/fill_quality_real.py [--images RG1,RG3,...] [--p 0.25,0.5,1]
[--cohort DIR] [--png docs/fill_quality] [--json out.json]``

What runs:

* **shipped** -- the app's own path: ``pixels.clean.prepare_pixels`` (the modality's working
  window), ``ml.engine.InferenceEngine.run_batch``, ``PrivacyPlan.write_back`` into the stored
  pixels; the figures compare ``plan.working(0)`` before and after, so they are in working-window
  units and include the stored-value rounding.
* **prototypes** (``lab.fill_fix``) -- the same analysis and compensator call, then the repairs,
  written back through the same ``PrivacyPlan.write_back``. ``M1`` marks runs whose input is
  inverted for MONOCHROME1 images (the model was trained on MONOCHROME2 chests; the shipped plan
  hands it MONOCHROME1 stored values as they are).

For every image, p and variant it prints ``lab.fill_quality.quality_report`` (texture ratio,
border-step ratio, mean shift in window units, whether the bounds of issue #14 hold) and checks
that every unblocked stored pixel is bit-identical to the original. ``--cohort`` adds the
generated cohort's test split (mean and worst over its images). PNG previews (original |
shipped | repaired, display-correct for MONOCHROME1) go to ``--png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

IMAGES = {
    "RG1": ("pydicom", "RG1_UNCR.dcm"),
    "RG3": ("pydicom", "RG3_UNCR.dcm"),
    "CT693": ("pydicom", "693_UNCR.dcm"),
    "MR_small": ("pydicom", "MR_small.dcm"),
    "ctbrain1": ("deid", "humans/ctbrain1.dcm"),
}

#: variant name -> (invert MONOCHROME1 input, lab.fill_fix.repaired_fill keywords or None = shipped)
VARIANTS: dict[str, tuple[bool, dict | None]] = {
    "shipped": (False, None),
    "M1 + shipped resize": (True, dict(notch=False, smooth=False, match=False, feather=False)),
    "M1 + c notch+cubic": (True, dict(notch=True, smooth=True, match=False, feather=False)),
    "M1 + cubic only": (True, dict(notch=False, smooth=True, match=False, feather=False)),
    "M1 + c + feather": (True, dict(notch=True, smooth=True, match=False, feather=True)),
    "M1 + c + a offset+feather": (True, dict(notch=True, smooth=True, match=True, feather=True)),
    "M1 + c + a + b gain": (True, dict(notch=True, smooth=True, match=True, feather=True, gain=True)),
    "M1 + c + a + mean anchor": (True, dict(notch=True, smooth=True, match=True, feather=True, anchor=True)),
    # (d) the same networks run at 256 px without retraining (prior resized), then c + a
    "M1 + c + a @256 untrained": (True, dict(notch=True, smooth=True, match=True, feather=True, size=256)),
}
PREVIEW = "M1 + c + a offset+feather"


def _path(source: str, name: str) -> str:
    if source == "pydicom":
        from pydicom.data import get_testdata_file

        return str(get_testdata_file(name))
    import deid_data

    return str(Path(deid_data.__file__).parent / "data" / name)


def _plan(path: str, p: float):
    import pydicom

    from medeid_gui.pixels.clean import PixelRequest, prepare_pixels

    ds = pydicom.dcmread(path)
    prep = prepare_pixels(ds, PixelRequest(privacy=p, burned_in="off"))
    if prep.plan is None:
        raise RuntimeError(f"{path}: no privacy plan (notes: {prep.report.notes})")
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    return prep.plan, photometric


def run_variant(path: str, p: float, variant: str, *, engine, model, seed: int = 0):
    """(original working frame, output working frame, mask, seconds, unblocked_identical)."""
    from medeid_gui.lab import fill_fix as FF
    from medeid_gui.ml.deidentify import analyse

    plan, photometric = _plan(path, p)
    stored0 = plan.stored[0].copy()
    w0 = plan.working(0)
    invert, kw = VARIANTS[variant]
    invert = invert and photometric == "MONOCHROME1"
    t0 = time.perf_counter()
    if kw is None:
        res = engine.run_batch([w0], p, seed=seed)[0]
        mask = np.asarray(res[2], dtype=bool)
        plan.write_back(0, res)
    else:
        kw = dict(kw)
        size = kw.pop("size", None)
        x = (1.0 - w0) if invert else w0
        if size:
            fr, mask, (lo, hi) = FF.working_fill_at(x, model, p, size, seed=seed)
            fw = lo + fr.astype(np.float64) * (hi - lo)
        else:
            a = analyse(x.astype(np.float32), model)
            f128, mask = FF.working_fill(a, p, seed=seed)
            fw = a.lo + f128.astype(np.float64) * (a.hi - a.lo)
        if invert:
            fw = 1.0 - fw
        fill = FF.repaired_fill(w0, fw, mask, **kw)
        plan.write_back(0, (FF.compose(w0, fill, mask), None, mask))
    dt = time.perf_counter() - t0
    same = bool(np.array_equal(plan.stored[0][~mask], stored0[~mask]))
    return w0.astype(np.float64), plan.working(0).astype(np.float64), mask, dt, same, photometric


def _preview(panels: list[np.ndarray], photometric: str, out: Path, width: int = 420) -> None:
    from PIL import Image

    tiles = []
    for a in panels:
        v = (1.0 - a) if photometric == "MONOCHROME1" else a
        step = max(1, int(np.ceil(a.shape[1] / width)))
        tiles.append((np.clip(v[::step, ::step], 0, 1) * 255).astype(np.uint8))
    h = min(t.shape[0] for t in tiles)
    sep = np.full((h, 4), 255, dtype=np.uint8)
    row = np.hstack(sum(([t[:h], sep] for t in tiles), [])[:-1])
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(row).save(out, optimize=True)


def _fmt(r) -> str:
    return (f"tex {r.texture_fill:8.1f}/{r.texture_original:5.1f} = {r.texture_ratio:6.2f}  "
            f"step {r.step_ratio:6.2f}  shift {r.mean_shift:.3f}  detail {r.fine_detail:.2f}  "
            f"{'PASS' if r.ok else 'fail'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", default=",".join(IMAGES))
    ap.add_argument("--p", default="0.25,0.5,1")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--cohort", default=None, help="cohort folder: also measure its test split")
    ap.add_argument("--cohort-variants", default=f"shipped,{PREVIEW}")
    ap.add_argument("--png", default=None, help="folder for previews (original | shipped | repaired)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import torch

    from medeid_gui.lab import fill_quality as fq
    from medeid_gui.ml.engine import InferenceEngine
    from medeid_gui.ml.model import default_model

    torch.set_num_threads(1)
    model = default_model("cpu")
    engine = InferenceEngine("cpu", model=model)
    ps = [float(v) for v in args.p.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    rows: list[dict] = []
    for name in [n for n in args.images.split(",") if n]:
        path = _path(*IMAGES[name])
        for p in ps:
            outs = {}
            for v in variants:
                w0, w1, mask, dt, same, phot = run_variant(path, p, v, engine=engine, model=model)
                tile = min(fq.TILE, max(16, min(w0.shape) // 4))
                r = fq.quality_report(w0, w1, mask, (0.0, 1.0), tile=tile)
                rows.append(dict(image=name, p=p, variant=v, photometric=phot, shape=list(w0.shape),
                                 seconds=round(dt, 3), unblocked_identical=same, tile=tile, **r.as_dict()))
                print(f"{name:9s} p={p:<4g} {v:30s} {_fmt(r)}  unblocked-identical={same}  {dt:.2f}s",
                      flush=True)
                outs[v] = (w0, w1, phot)
            if args.png and "shipped" in outs and PREVIEW in outs:
                w0, w1, phot = outs["shipped"]
                _preview([w0, w1, outs[PREVIEW][1]], phot, Path(args.png) / f"{name}_p{p:g}.png")
    if args.cohort:
        from medeid_gui.lab.cohort import read_labels

        files = [str(Path(args.cohort) / r["file"]) for r in read_labels(args.cohort) if r["split"] == "test"]
        for p in ps:
            for v in [x for x in args.cohort_variants.split(",") if x]:
                reps = []
                for f in files:
                    w0, w1, mask, dt, same, phot = run_variant(f, p, v, engine=engine, model=model)
                    reps.append((fq.quality_report(w0, w1, mask, (0.0, 1.0), tile=64), same))
                agg = {}
                for key in ("texture_ratio", "step_ratio", "mean_shift"):
                    vals = np.array([getattr(r, key) for r, _ in reps], dtype=float)
                    vals = vals[np.isfinite(vals)]
                    agg[key] = (float(vals.mean()), float(vals.max())) if vals.size else (float("nan"),) * 2
                n_ok = sum(r.ok for r, _ in reps)
                rows.append(dict(image="cohort-test", p=p, variant=v, n=len(reps), n_pass=n_ok,
                                 unblocked_identical=all(s for _, s in reps),
                                 **{f"{k}_mean": a for k, (a, _) in agg.items()},
                                 **{f"{k}_max": b for k, (_, b) in agg.items()}))
                print(f"cohort-test({len(reps)}) p={p:<4g} {v:30s} texture {agg['texture_ratio'][0]:.2f} "
                      f"(max {agg['texture_ratio'][1]:.2f})  step {agg['step_ratio'][0]:.2f} "
                      f"(max {agg['step_ratio'][1]:.2f})  shift {agg['mean_shift'][0]:.3f} "
                      f"(max {agg['mean_shift'][1]:.3f})  pass {n_ok}/{len(reps)}", flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
