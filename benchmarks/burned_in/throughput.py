"""Export throughput on a CT series with ``--burned-in auto`` (the default) against ``off``.

Usage (from the repository root, offline)::

    OMP_NUM_THREADS=1 python3 -m benchmarks.burned_in.throughput [--slices 24] [--workers 1]

The series is ``--slices`` copies of pydicom's 693_UNCR (CT 512x512, 16 bit) with their own SOP
Instance UIDs and instance numbers, one study and series; each copy's frame is rolled by a few
rows so no two slices have the same pixels (the OCR caches results by image content, and
identical slices would be read once).  Each mode runs the real CLI
(``python -m medeid_gui export``) in a fresh process into a fresh folder; the wall time includes
starting the process and loading the OCR models, so the per-slice figure is also given from the
difference between a run of ``--slices`` and a run of one slice.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from medeid_gui.dicom.pixelwrite import decode_stored, replace_frames


def make_series(folder: Path, slices: int) -> None:
    """``slices`` copies of 693_UNCR as one CT series."""
    folder.mkdir(parents=True, exist_ok=True)
    base = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    study, series = generate_uid(), generate_uid()
    frame = decode_stored(base)[0]
    for i in range(slices):
        ds = base.copy()
        replace_frames(ds, np.roll(frame, 3 * i, axis=0)[np.newaxis], stored=True)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = i + 1
        ds.save_as(folder / f"ct{i:03d}.dcm")


def export_seconds(src: Path, work: Path, mode: str, workers: int) -> float:
    """Wall seconds of one ``medeid export`` of ``src`` with ``--burned-in mode``."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    cmd = [sys.executable, "-m", "medeid_gui", "export", str(src), str(work / "out"), "--burned-in", mode,
           "--workers", str(workers), "--key-file", str(work / "key"), "--state-dir", str(work / "state"),
           "--ledger", str(work / "ledger")]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    secs = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"export failed ({mode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return secs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=24)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        one, many = Path(tmp) / "one", Path(tmp) / "many"
        make_series(one, 1)
        make_series(many, args.slices)
        for mode in ("off", "auto"):
            t1 = export_seconds(one, Path(tmp) / f"w1-{mode}", mode, args.workers)
            tn = export_seconds(many, Path(tmp) / f"wn-{mode}", mode, args.workers)
            per = (tn - t1) / max(1, args.slices - 1)
            results[mode] = {"wall_s": round(tn, 2), "one_slice_wall_s": round(t1, 2),
                             "s_per_slice": round(per, 3), "slices_per_s": round(1 / per, 2) if per > 0 else 0.0}
    summary = {"slices": args.slices, "workers": args.workers, "omp_threads": os.environ.get("OMP_NUM_THREADS"),
               "load_average_1min": round(os.getloadavg()[0], 2), **results}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
