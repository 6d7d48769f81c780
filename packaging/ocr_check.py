"""Burned-in text removal by a built bundle, checked on the deid-data ultrasounds.

Why: the smoke test proves that OCR *ran* in the frozen app (113101 in every output); this proves
it still *works* after the bundle was trimmed (OpenCV, onnxruntime and rapidocr as packed).  The
bundle exports each ultrasound (privacy 0.5, burned-in text 'auto', 2 worker processes, fresh HOME,
no source tree); then the source tree's own OCR reads the original (it must find the banner PHI, so
the check can fail) and the output (it must find none).  Needs the dev install and deid-data.

    python3 packaging/ocr_check.py dist/medeid
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import deid_data
import pydicom

from medeid_gui.dicom.pixelwrite import decode_stored
from medeid_gui.pixels.ocr import OcrEngine, default_ocr, to_uint8
from medeid_gui.pixels.phi_match import PhiMatcher

FILES = ("GREYSCALE_IMAGE.dcm", "RGB_IMAGE.dcm")


def phi_read(ocr: OcrEngine, ds: pydicom.Dataset, matcher: PhiMatcher) -> set[str]:
    """The PHI reasons OCR reads on the first frame."""
    frame = decode_stored(ds)[0]
    return {r for box in ocr.detect(to_uint8(frame), frame=0) for r in matcher.match(box.text)}


def export(bundle: Path, src: Path, work: Path) -> Path:
    """One bundle export of ``src``; returns the written file."""
    (work / "in").mkdir(parents=True)
    shutil.copy(src, work / "in" / src.name)
    (work / "home").mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work / "home"), "LANG": "C.UTF-8",
           "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    cmd = [str(bundle / "medeid"), "export", "in", "out", "--privacy", "0.5", "--burned-in", "auto",
           "--key-file", "key", "--ledger", "ledger", "--state-dir", "state", "--workers", "2"]
    subprocess.run(cmd, cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
    (out,) = sorted((work / "out").rglob("*.dcm"))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bundle", type=Path)
    bundle = p.parse_args().bundle.resolve()
    ocr = default_ocr()
    root = Path(deid_data.__file__).parent / "data" / "ultrasounds"
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for name in FILES:
            original = pydicom.dcmread(root / name)
            matcher = PhiMatcher.from_dataset(original)
            before = phi_read(ocr, original, matcher)
            written = pydicom.dcmread(export(bundle, root / name, Path(tmp) / name))
            after = phi_read(ocr, written, matcher)
            codes = str(written.get("DeidentificationMethodCodeSequence", ""))
            ok = bool(before) and not after and "113101" in codes
            failed |= not ok
            print(f"{name}: PHI read before {sorted(before)}, after {sorted(after)}, "
                  f"113101 {'present' if '113101' in codes else 'MISSING'}: {'ok' if ok else 'FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
