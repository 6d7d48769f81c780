"""Benchmark: frames/s of ``medeid export --privacy`` at 512 x 512, on CUDA when present (else CPU).

Usage: ``python benchmarks/gpu_export.py [--frames 256] [--privacy 0.5] [--workers 1]``

Why through the export and not the model alone: issue 17's target (>= 300 frames/s on one
H100-class GPU) counts everything a frame costs in an export — reading, the model, the numpy
work around it (patch-grid up-sampling, casts, the percentile window), encoding and the atomic
write — since that work, not the model, bounds the rate today. Inputs are real CT slices
(pydicom's CT_small) resampled to 512 x 512 with their own UIDs, one frame per file, so the
export's cross-file device batches (16 files per unit on an accelerator) are exercised. The
first file's run is left out (model load, CUDA context). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout


def make_inputs(dst: Path, n: int) -> None:
    """``n`` 512 x 512 CT files from the real CT_small slice (nearest-neighbour x4), each its own instance."""
    import pydicom
    from pydicom.data import get_testdata_file

    src = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    big = np.kron(src.pixel_array, np.ones((4, 4), dtype=src.pixel_array.dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            ds = src.copy()
            ds.Rows, ds.Columns = big.shape
            ds.PixelData = np.roll(big, i, axis=1).tobytes()  # not n identical frames
            ds.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.7{i:06d}"
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            p = dst / f"s{i // 100:03d}" / f"ct{i:05d}.dcm"
            p.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(p)


def _run(inp: Path, out: Path, tmp: Path, privacy: float, workers: int) -> tuple[float, int, int]:
    from medeid_gui.export.pipeline import ExportConfig, run_export

    cfg = ExportConfig(input=inp, output=out, key_file=tmp / "k.key", ledger=tmp / "l.sqlite", state_dir=tmp / "st",
                       burned_in="off", privacy=privacy, workers=workers)
    t0 = time.perf_counter()
    s = run_export(cfg)
    return time.perf_counter() - t0, s.exported, s.failed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=256)
    ap.add_argument("--privacy", type=float, default=0.5)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    from medeid_gui.ml.device import pick_device

    device = pick_device()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        make_inputs(tmp / "warm", 1)
        make_inputs(tmp / "in", args.frames)
        _run(tmp / "warm", tmp / "warm-out", tmp, args.privacy, 1)  # model load, device context
        dt, exported, failed = _run(tmp / "in", tmp / "out", tmp, args.privacy, args.workers)
    print(json.dumps({"device": device, "frames": args.frames, "size": "512x512", "privacy": args.privacy,
                      "workers": args.workers, "exported": exported, "failed": failed,
                      "seconds": round(dt, 2), "frames_per_s": round(exported / dt, 1),
                      "threads": os.environ.get("OMP_NUM_THREADS", "default")}))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
