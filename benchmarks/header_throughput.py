"""Header-only de-identification throughput: medeid vs dicognito, dicom-anonymizer and a plain copy.

Not a test. Builds a few thousand real files (pydicom's test files, each replicated with fresh
Study/Series/SOP Instance UIDs so none is a duplicate), then times, side by side in one run:

* ``copy``               pydicom ``dcmread`` + ``save_as`` of every file (the floor nobody beats)
* ``dicognito``          ``Anonymizer().anonymize(ds)`` between read and write (if installed)
* ``dicom-anonymizer``   ``anonymize_dataset(ds)`` between read and write (if installed)
* ``medeid --workers 1`` the whole ``run_export`` pipeline: scan, hash, de-identify, write
                         atomically, manifest and ledger rows (burned-in check off: header only)
* ``medeid --workers 2`` the same with two processes

and prints files/s and the ratio to the copy. Peers run in-process and sequentially, as the
copy does. Usage::

    python benchmarks/header_throughput.py [--files 3000] [--repeat 1]

(pip install dicognito dicom-anonymizer to include the peers; they are not dependencies.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_input(dst: Path, n: int) -> list[Path]:
    import pydicom
    import pydicom.data

    root = Path(pydicom.data.__file__).parent / "test_files"
    seeds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in sorted(root.rglob("*.dcm")):
            if p.stat().st_size > 600_000:
                continue
            try:
                ds = pydicom.dcmread(p)
                if "SOPInstanceUID" not in ds or "PixelData" not in ds or not hasattr(ds, "file_meta"):
                    continue
                import io

                ds.save_as(io.BytesIO())  # must survive a plain copy, or the copy baseline would fail
            except Exception:  # noqa: BLE001 - a seed file pydicom cannot re-save is skipped
                continue
            seeds.append(ds)
        out = []
        for i in range(n):
            ds = seeds[i % len(seeds)].copy()
            ds.StudyInstanceUID = f"1.2.826.0.1.3680043.8.498.7.{i // 50}"
            ds.SeriesInstanceUID = f"1.2.826.0.1.3680043.8.498.8.{i // 10}"
            ds.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.9.{i}"
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.PatientID = f"P{i // 100:04d}"
            p = dst / f"p{i // 100:04d}" / f"{i:06d}.dcm"
            p.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(p)
            out.append(p)
    print(f"input: {n} files from {len(seeds)} distinct pydicom test files, "
          f"{sum(p.stat().st_size for p in out) / 1e6:.1f} MB")
    return out


def per_file(files: list[Path], out: Path, fn: Callable[[object], None] | None) -> tuple[float, int]:
    import pydicom

    out.mkdir(parents=True, exist_ok=True)
    ok = 0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, p in enumerate(files):
            try:
                ds = pydicom.dcmread(p)
                if fn is not None:
                    fn(ds)
                ds.save_as(out / f"{i:06d}.dcm")
                ok += 1
            except Exception:  # noqa: BLE001 - a peer failing on a file is counted, not fatal
                pass
    return time.perf_counter() - t0, ok


def medeid(inp: Path, out: Path, work: Path, workers: int) -> tuple[float, int]:
    from medeid_gui.export.pipeline import ExportConfig, run_export

    cfg = ExportConfig(input=inp, output=out, key_file=work / "bench.key", workers=workers, burned_in="off",
                       ledger=work / f"ledger{workers}.sqlite", state_dir=work / "state")
    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    s = run_export(cfg, progress=lambda e: marks.setdefault(e.phase, time.perf_counter() - t0))
    dt = time.perf_counter() - t0
    PHASES[workers] = (marks.get("export", 0.0), dt - marks.get("export", 0.0))
    return dt, s.exported


#: workers -> (scan seconds, export+finalize seconds) of the best run
PHASES: dict[int, tuple[float, float]] = {}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=1, help="time each method this many times, keep the best")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--dir", default=None,
                    help="where inputs and outputs go (default: the system temp folder); e.g. "
                         "/dev/shm to time the CPU work without the disk's write-back noise")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="medeid-bench-", dir=args.dir))
    print(f"work folder: {work}")
    try:
        inp = work / "in"
        files = build_input(inp, args.files)
        methods: list[tuple[str, Callable[[Path], tuple[float, int]]]] = []
        methods.append(("copy (pydicom read+write)", lambda o: per_file(files, o, None)))
        try:
            import dicognito
            from dicognito.anonymizer import Anonymizer

            anon = Anonymizer(seed="bench")
            methods.append((f"dicognito {dicognito.__version__}", lambda o: per_file(files, o, anon.anonymize)))
        except ImportError:
            print("dicognito not installed: skipped")
        try:
            from importlib.metadata import version

            from dicomanonymizer import anonymize_dataset

            methods.append((f"dicom-anonymizer {version('dicom-anonymizer')}",
                            lambda o: per_file(files, o, anonymize_dataset)))
        except ImportError:
            print("dicom-anonymizer not installed: skipped")
        methods.append(("medeid --workers 1", lambda o: medeid(inp, o, work, 1)))
        methods.append(("medeid --workers 2", lambda o: medeid(inp, o, work, 2)))
        per_file(files[:200], work / "warm", None)  # page cache and imports
        results: dict[str, tuple[float, int]] = {}
        for r in range(args.repeat):
            for name, fn in methods:
                o = work / f"out-{len(results)}-{r}"
                # start every method with no dirty pages left by the previous one: medeid syncs
                # its outputs before it records them, and would otherwise also pay for flushing
                # what the copy or a peer wrote just before
                os.sync()
                dt, ok = fn(o)
                shutil.rmtree(o, ignore_errors=True)
                if name not in results or dt < results[name][0]:
                    results[name] = (dt, ok)
        copy_rate = args.files / results[methods[0][0]][0]
        print(f"\n{'method':32s} {'files/s':>9s} {'x copy':>7s} {'ok':>6s}")
        for name, _ in methods:
            dt, ok = results[name]
            rate = args.files / dt
            print(f"{name:32s} {rate:9.0f} {rate / copy_rate:7.2f} {ok:6d}")
        for w, (scan, export) in sorted(PHASES.items()):
            print(f"  medeid --workers {w}: plan/scan {scan:.1f} s, export {export:.1f} s "
                  f"({args.files / export:.0f} files/s, {args.files / export / copy_rate:.2f}x copy, "
                  "export phase alone)")
        w1 = args.files / results["medeid --workers 1"][0]
        w2 = args.files / results["medeid --workers 2"][0]
        print(f"\nmedeid 2 workers / 1 worker: {w2 / w1:.2f}x   (cores: {os.cpu_count()})")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
