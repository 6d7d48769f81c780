"""Issue #16 end to end: burned-in PHI through ``medeid export`` (default ``--burned-in auto``) and
``medeid audit`` reading the exported pixels.

Each test first checks that the OCR reads the PHI in the original (so it can fail), then runs the
real CLI in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from medeid_gui.dicom.pixelwrite import decode_stored, replace_frames
from medeid_gui.pixels.ocr import OcrEngine
from medeid_gui.pixels.text_overlay import display_white, draw_text
from tests.pixels.phi_images import mono1_cr_with_name, readable_phi

pytest.importorskip("rapidocr")
ROOT = Path(__file__).resolve().parents[2]


def _medeid(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "medeid_gui", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def _export(src: Path, out: Path, state: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _medeid("export", str(src), str(out), "--workers", "1", "--key-file", str(state / "key"),
                   "--state-dir", str(state / "state"), "--ledger", str(state / "ledger"), *extra)


def _exported(out: Path) -> list[Path]:
    files = [p for p in out.rglob("*") if p.is_file() and p.name != "DICOMDIR"]
    return [p for p in files if pydicom.misc.is_dicom(p)]


def _readable(ocr: OcrEngine, path: Path, header: Dataset) -> set[str]:
    """PHI reasons of ``header`` the OCR reads in the file's first frame."""
    return readable_phi(ocr, pydicom.dcmread(path), header)


def _mono1_cr(path: Path) -> Dataset:
    ds = mono1_cr_with_name()
    ds.save_as(path)
    return ds


def test_export_mono1_cr_name_over_lung_unreadable_and_black(ocr: OcrEngine, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    original = _mono1_cr(src / "cr.dcm")
    assert original.Rows == 972 and original.Columns == 800
    assert {"header:PatientName", "header:StudyDate"} <= _readable(ocr, src / "cr.dcm", original)

    proc = _export(src, tmp_path / "out", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = _exported(tmp_path / "out")
    assert _readable(ocr, path, original) == set()

    ds = pydicom.dcmread(path)
    assert ds.PhotometricInterpretation == "MONOCHROME1" and ds.BurnedInAnnotation == "NO"
    before, after = decode_stored(original)[0], decode_stored(ds)[0]
    changed = after != before
    assert 0 < changed.mean() < 0.01  # the text went, the radiograph stayed
    # filled pixels display black: MONOCHROME1 shows its high end black, at or past the window's edge
    fill = np.unique(after[changed])
    assert len(fill) == 1 and int(fill[0]) >= int(before.max())
    center, width = float(ds.WindowCenter), float(ds.WindowWidth)
    assert int(fill[0]) >= center + width / 2 - 1
    # the fill covers the text: the rows of the drawn name are filled across its width
    assert changed[330:350, 150:300].mean() > 0.9


def _ct_with_name(path: Path) -> Dataset:
    """A CT slice with the name and the study date in its top-left corner (a key image capture)."""
    ds = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    ds.PatientName, ds.PatientID, ds.StudyDate = "Okafor^Amara", "0047204565", "20130713"
    ds.BurnedInAnnotation = "NO"
    frame = decode_stored(ds)[0].copy()
    white = display_white(frame, "MONOCHROME2")
    draw_text(frame, "OKAFOR AMARA", 20, 20, 16, white)
    draw_text(frame, "2013 Jul 13", 20, 42, 16, white)
    replace_frames(ds, frame[np.newaxis], stored=True)
    ds.save_as(path)
    return ds


def test_audit_reads_pixels_flags_off_passes_default(ocr: OcrEngine, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    original = _ct_with_name(src / "ct.dcm")
    assert {"header:PatientName", "header:StudyDate"} <= _readable(ocr, src / "ct.dcm", original)

    results = {}
    for mode in ("off", "auto"):
        out, state = tmp_path / f"out-{mode}", tmp_path / f"state-{mode}"
        state.mkdir()
        proc = _export(src, out, state, "--burned-in", mode)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results[mode] = _medeid("audit", str(src), str(out), "--state-dir", str(state / "state"))

    leaked = results["off"]
    assert leaked.returncode == 1, leaked.stdout + leaked.stderr
    leaks = [ln for ln in leaked.stdout.splitlines() if ln.startswith("PIXEL-LEAK")]
    assert any("header:PatientName" in ln for ln in leaks), leaked.stdout
    assert not [ln for ln in leaked.stdout.splitlines() if ln.startswith("LEAK ")]  # the header is clean
    assert "OKAFOR" not in leaked.stdout.upper() and "2013 Jul" not in leaked.stdout  # never repeats PHI

    clean = results["auto"]
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "pixels of 1 files (1 frames) read" in clean.stdout

    skipped = _medeid("audit", str(src), str(tmp_path / "out-off"), "--state-dir",
                      str(tmp_path / "state-off" / "state"), "--no-pixels")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
