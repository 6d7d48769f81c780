"""Benchmark: ``deidentify`` on one 512 x 512 frame (target: median <= 300 ms on 2 CPU cores).

Usage: ``python benchmarks/deidentify_cpu.py [--runs 30] [--p 0.5] [--device cpu|cuda]``

Measures the full call (identity map + semantic code + blocking + compensation + resampling into
the full-resolution frame) and, separately, the GUI's slider path (``apply_level`` on a cached
analysis). The frame is a 16-bit chest radiograph rendered by the cohort generator at 512 px
(falls back to textured noise if the lab package is absent); timing does not depend on content
beyond that. Prints one JSON line; torch uses its default thread count unless ``--threads``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout


def _frame() -> tuple[np.ndarray, str]:
    try:
        from medeid_gui.lab.cohort import render, sample_anatomy, sample_study

        rng = np.random.default_rng(0)
        img, *_ = render(sample_anatomy(rng, 0.2), sample_study(rng, (0.4, 0.3, 0.3)), 512,
                         noise_rng=np.random.default_rng(1))
        return (np.clip(img, 0, 1) * 16383).astype(np.uint16), "cohort chest radiograph 512x512 uint16"
    except ImportError:
        rng = np.random.default_rng(0)
        return rng.integers(0, 16383, (512, 512)).astype(np.uint16), "noise 512x512 uint16"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--p", type=float, default=0.5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    import torch

    from medeid_gui.ml.deidentify import analyse, apply_level, deidentify
    from medeid_gui.ml.device import device_name
    from medeid_gui.ml.model import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(device=args.device)
    frame, what = _frame()
    for _ in range(3):
        deidentify(frame, args.p, model=model)
    full, slider = [], []
    a = analyse(frame, model)
    for k in range(args.runs):
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        deidentify(frame, args.p, seed=k, model=model)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        full.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        apply_level(a, args.p, seed=k)
        slider.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        "frame": what, "p": args.p, "runs": args.runs, "device": device_name(args.device),
        "cpu": platform.processor() or platform.machine(),
        "median_ms": round(statistics.median(full), 1), "p90_ms": round(sorted(full)[int(0.9 * len(full)) - 1], 1),
        "slider_median_ms": round(statistics.median(slider), 1), "target_ms": 300,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
