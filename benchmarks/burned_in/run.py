"""Run the burned-in text benchmark: recall of PHI values, region precision, collateral, cost.

Usage (from the repository root, offline)::

    OMP_NUM_THREADS=1 python3 -m benchmarks.burned_in.run [--variants 4] [--out benchmarks/burned_in/results.json]

For each case (see ``generate.py``) and each mode (``auto``, ``all``) it runs the export's own
pixel step, ``medeid_gui.pixels.clean.clean_pixels`` (text scan, rule bands, display-black fill,
Pixel Data rewritten), on a copy of the case, scores the written frame (``score.py``) and, for
``auto``, reads the redacted frame again with the full OCR and counts lines that still match the
case's PHI (``readable_after``).  The detector's fast pass is timed separately on the 512x512
frames (median over repeats, with the OCR threads the engine is given, default 2).

Ground truth per policy: ``auto`` removes PHI, so its region precision counts filled regions
touching a PHI value (``region_precision_phi``); ``all`` removes all text, so its region
precision counts regions touching any string in the image (``region_precision_text``): the drawn
values, labels and clinical text and the base images' own text, boxed by hand in
``native_text.json``.  ``region_precision`` is each policy's own measure; both are written.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from medeid_gui.dicom.pixelwrite import decode_stored
from medeid_gui.pixels.burned_in import ocr_frame
from medeid_gui.pixels.clean import PixelReport, PixelRequest, clean_pixels
from medeid_gui.pixels.ocr import OcrEngine
from medeid_gui.pixels.phi_match import PhiMatcher

from .generate import cases
from .score import score_case


def _time_fast_pass(ocr: OcrEngine, frames: list[np.ndarray], repeats: int) -> dict[str, float]:
    """Wall time per call, and the process's CPU time per call: on a shared machine the wall time
    includes waiting for a core; CPU seconds / threads is what an idle machine's wall would be."""
    times, cpu = [], []
    for img in frames:
        ocr._cache.clear()
        ocr.find_text(img)  # warm
        for _ in range(repeats):
            ocr._cache.clear()
            t, c = time.perf_counter(), time.process_time()
            ocr.find_text(img)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    return {"median_ms": round(1000 * statistics.median(times), 1),
            "p90_ms": round(1000 * sorted(times)[int(0.9 * (len(times) - 1))], 1),
            "median_cpu_ms": round(1000 * statistics.median(cpu), 1),
            "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
            "frames": len(frames), "repeats": repeats}


def _run_mode(ds: Dataset, mode: str, ocr: OcrEngine) -> tuple[float, np.ndarray, PixelReport]:
    """The export's own pixel step (``clean_pixels``, as ``medeid export --burned-in MODE`` runs
    it) on a copy of the case: (seconds, stored frames after, report)."""
    work = copy.deepcopy(ds)
    t = time.perf_counter()
    report = clean_pixels(work, PixelRequest(burned_in=mode), ocr=ocr)
    secs = time.perf_counter() - t
    return secs, decode_stored(work), report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="run only cases whose name contains this text")
    ap.add_argument("--no-verify", action="store_true", help="skip the OCR re-read of redacted frames")
    ap.add_argument("--timing-only", action="store_true", help="only time the fast pass on the 512x512 frames")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = ap.parse_args(argv)

    ocr = OcrEngine(threads=args.threads)
    totals = {m: {"values": 0, "removed": 0, "regions": 0, "on_phi": 0, "on_text": 0, "collateral": [],
                  "missed": {}, "seconds": [], "readable_after": 0} for m in ("auto", "all")}
    per_case = []
    fast_frames = []
    for case in cases(args.variants, args.seed, ocr=ocr):
        if args.only and args.only not in case.name:
            continue
        before = decode_stored(case.ds)
        photo = str(case.ds.PhotometricInterpretation)
        if before.shape[1:3] == (512, 512):
            fast_frames.append(ocr_frame(before[0], photo))
        if args.timing_only:
            continue
        row = {"case": case.name, "size": f"{before.shape[2]}x{before.shape[1]}", "photometric": photo}
        for mode in ("auto", "all"):
            secs, after, report = _run_mode(case.ds, mode, ocr)
            s = score_case(case.items, before[0], after[0], [(b.x0, b.y0, b.x1, b.y1) for b in report.text_boxes])
            tot = totals[mode]
            tot["values"] += s.values
            tot["removed"] += s.removed
            tot["regions"] += s.regions
            tot["on_phi"] += s.regions_on_phi
            tot["on_text"] += s.regions_on_text
            tot["collateral"].append(s.collateral)
            tot["seconds"].append(secs)
            for k in s.missed:
                tot["missed"][k] = tot["missed"].get(k, 0) + 1
            row[mode] = {"recall": s.removed / s.values, "regions": s.regions, "on_phi": s.regions_on_phi,
                         "collateral": round(s.collateral, 5), "missed": s.missed, "seconds": round(secs, 2)}
            if mode == "auto" and not args.no_verify:
                matcher = PhiMatcher.from_dataset(case.ds, generic=False)
                left = [b for b in ocr.detect(ocr_frame(after[0], photo)) if matcher.match(b.text)]
                row[mode]["readable_after"] = len(left)
                tot["readable_after"] += len(left)
        per_case.append(row)
        print(json.dumps(row), flush=True)

    if args.timing_only:
        print(json.dumps(_time_fast_pass(ocr, fast_frames, repeats=10)))
        return 0
    summary = {}
    for mode, tot in totals.items():
        summary[mode] = {
            "phi_values": tot["values"],
            "recall": round(tot["removed"] / max(1, tot["values"]), 4),
            "regions": tot["regions"],
            # the policy's own measure: PHI boxes for auto, every string (drawn or native) for all
            "region_precision": round(tot["on_phi" if mode == "auto" else "on_text"] / max(1, tot["regions"]), 4),
            "region_precision_phi": round(tot["on_phi"] / max(1, tot["regions"]), 4),
            "region_precision_text": round(tot["on_text"] / max(1, tot["regions"]), 4),
            "collateral_mean": round(float(np.mean(tot["collateral"])), 5),
            "collateral_max": round(float(np.max(tot["collateral"])), 5),
            "missed_by_key": tot["missed"],
            "seconds_per_image_median": round(statistics.median(tot["seconds"]), 2),
        }
        if mode == "auto" and not args.no_verify:
            summary[mode]["phi_lines_readable_after"] = tot["readable_after"]
    summary["fast_pass_512"] = _time_fast_pass(ocr, fast_frames, repeats=5) if fast_frames else {}
    summary["cases"] = len(per_case)
    summary["ocr_threads"] = args.threads
    print(json.dumps(summary, indent=1))
    args.out.write_text(json.dumps({"summary": summary, "cases": per_case}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
