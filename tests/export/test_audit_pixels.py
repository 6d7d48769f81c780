"""``audit_pixels``: PHI of the original still readable in an exported frame is reported, by
reason, frame and box; a properly redacted output passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.dicom.pixelwrite import decode_stored, replace_frames
from medeid_gui.export.audit_pixels import audit_pixels
from medeid_gui.pixels.burned_in import display_black, scan_text
from medeid_gui.pixels.ocr import default_ocr
from medeid_gui.pixels.text_overlay import display_white, draw_text

pytest.importorskip("rapidocr")


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    ds = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    ds.PatientName, ds.PatientID, ds.StudyDate = "Okafor^Amara", "0047204565", "20130713"
    frame = decode_stored(ds)[0].copy()
    white = display_white(frame, "MONOCHROME2")
    draw_text(frame, "OKAFOR AMARA", 20, 20, 16, white)
    draw_text(frame, "2013 Jul 13", 20, 42, 16, white)
    replace_frames(ds, frame[np.newaxis], stored=True)
    original = tmp_path / "orig.dcm"
    ds.save_as(original)

    leaked = pydicom.dcmread(original)
    leaked.PatientName, leaked.PatientID, leaked.StudyDate = "ANON^1", "X1", "20000101"  # header clean, pixels not
    leaked_path = tmp_path / "leaked.dcm"
    leaked.save_as(leaked_path)

    clean = pydicom.dcmread(original)
    stored = decode_stored(clean)
    scan = scan_text(clean, stored, "auto", ocr=default_ocr())
    black = display_black(clean, stored)
    for r in scan.regions:
        stored[:, r.y0 : r.y1, r.x0 : r.x1] = black
    replace_frames(clean, stored, stored=True)
    clean.PatientName, clean.PatientID, clean.StudyDate = "ANON^1", "X1", "20000101"
    clean_path = tmp_path / "clean.dcm"
    clean.save_as(clean_path)
    return original, leaked_path, clean_path


def test_readable_phi_reported_redacted_passes(tmp_path: Path) -> None:
    original, leaked, clean = _files(tmp_path)
    report = audit_pixels([(original, leaked), (original, clean)])
    assert report.files_checked == 2 and report.frames_checked == 2
    leaks = {r for f in report.findings if f.output == str(leaked) for r in f.reasons}
    assert {"header:PatientName", "header:StudyDate"} <= leaks, report.findings
    assert not [f for f in report.findings if f.output == str(clean)]
    line = report.findings[0].line()
    assert "OKAFOR" not in line.upper() and "2013" not in line  # the report never repeats the PHI
    assert not report.ok


def test_outputs_without_pixels_are_skipped(tmp_path: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    del ds.PixelData
    out = tmp_path / "nopix.dcm"
    ds.save_as(out)
    report = audit_pixels([(out, out)])
    assert report.ok and report.files_checked == 0
