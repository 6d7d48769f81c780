"""Burned-in text on the deid-data ultrasounds: found before, unreadable after.

Each test first checks that OCR *does* read header PHI in the original pixels (so the test can
fail), then cleans, then runs the same OCR on the written output and requires that no line matches
any of the header's PHI values or the generic PHI patterns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from corpora import deid_data_file

from medeid_gui.dicom.pixelwrite import decode_stored
from medeid_gui.pixels.burned_in import text_frames
from medeid_gui.pixels.clean import PixelRequest, clean_pixels
from medeid_gui.pixels.ocr import OcrEngine, to_uint8
from medeid_gui.pixels.phi_match import PhiMatcher

pytest.importorskip("rapidocr")
pytest.importorskip("deid_data")


def _ocr_phi(ocr: OcrEngine, ds: pydicom.Dataset, matcher: PhiMatcher, frames: list[int]) -> list[list[str]]:
    stored = decode_stored(ds)
    found = []
    for i in frames:
        for box in ocr.detect(to_uint8(stored[i]), frame=i):
            reasons = matcher.match(box.text)
            if reasons:
                found.append(reasons)
    return found


@pytest.mark.parametrize(
    "name, expected",
    [
        ("GREYSCALE_IMAGE.dcm", {"header:PatientName", "header:PatientBirthDate", "header:InstitutionName"}),
        ("RGB_IMAGE.dcm", {"header:PatientName", "header:AccessionNumber", "header:InstitutionName"}),
    ],
)
def test_ultrasound_phi_redacted(name: str, expected: set[str], ocr: OcrEngine, tmp_path: Path) -> None:
    path = deid_data_file("ultrasounds", name)
    original = pydicom.dcmread(path)
    matcher = PhiMatcher.from_dataset(original)
    before = {r for reasons in _ocr_phi(ocr, original, matcher, [0]) for r in reasons}
    assert expected <= before, f"OCR should read the banner PHI before cleaning; read {before}"

    ds = pydicom.dcmread(path)
    report = clean_pixels(ds, PixelRequest(privacy=0.0, burned_in="auto"), ocr=ocr)
    assert report.changed and report.pixels_cleaned and not report.visual_features_cleaned
    assert any(b.source == "ocr" for b in report.text_boxes)
    assert all("text" not in b.__dict__ for b in report.text_boxes)  # no PHI text kept in the report
    out = tmp_path / name
    ds.save_as(out)

    written = pydicom.dcmread(out)
    assert _ocr_phi(ocr, written, PhiMatcher.from_dataset(original), [0]) == []
    # only the redacted boxes changed; the image itself is untouched
    a, b = decode_stored(original), decode_stored(written)
    changed = np.any(a != b, axis=-1) if a.ndim == 4 else a != b
    covered = np.zeros(changed.shape[1:], bool)
    for box in report.text_boxes:
        covered[box.y0 : box.y1, box.x0 : box.x1] = True
    assert not changed[0][~covered].any()
    # the clinical text that is not PHI survives (auto mode redacts PHI only)
    texts_after = [t.text for t in ocr.detect(to_uint8(b[0]))]
    assert any("cm" in t.lower() for t in texts_after), texts_after


@pytest.mark.timeout(1500)  # auto reads 16 of the 30 frames (two passes each): minutes on a shared 2-core machine
def test_multiframe_echo_all_text_removed_from_every_frame(ocr: OcrEngine, tmp_path: Path) -> None:
    """The echo cine shows no patient banner in its pixels (checked); 'all' mode must still find
    its overlay text on sampled frames and remove it from every frame, unsampled ones included."""
    path = deid_data_file("ultrasounds", "ultrasound-multiframe.dcm")
    original = pydicom.dcmread(path)
    matcher = PhiMatcher.from_dataset(original)
    assert _ocr_phi(ocr, original, matcher, [0]) == []  # nothing identifying is burned in
    n = int(original.NumberOfFrames)

    ds = pydicom.dcmread(path)
    auto = clean_pixels(ds, PixelRequest(burned_in="auto"), ocr=ocr)
    assert auto.pixels_cleaned and auto.frames_checked == tuple(text_frames(n)) and auto.text_lines_seen > 10
    assert not any(b.source == "ocr" for b in auto.text_boxes)  # no PHI matched in auto mode

    ds = pydicom.dcmread(path)
    report = clean_pixels(ds, PixelRequest(burned_in="all"), ocr=ocr)
    assert report.changed and sum(b.source == "ocr" for b in report.text_boxes) >= 10
    out = tmp_path / "echo.dcm"
    ds.save_as(out)
    written = pydicom.dcmread(out)
    assert int(written.NumberOfFrames) == n
    stored = decode_stored(written)
    unsampled = 7
    before_lines = ocr.detect(to_uint8(decode_stored(original)[unsampled]))
    after_lines = ocr.detect(to_uint8(stored[unsampled]))
    assert len(before_lines) >= 10
    assert len(after_lines) <= 2, [t.text for t in after_lines]


def test_find_boxes_previews_without_changing(ocr: OcrEngine) -> None:
    from medeid_gui.pixels.clean import find_boxes

    path = deid_data_file("ultrasounds", "RGB_IMAGE.dcm")
    ds = pydicom.dcmread(path)
    before = ds.PixelData
    preview = find_boxes(ds, PixelRequest(), ocr=ocr)
    assert ds.PixelData == before and not preview.changed
    cleaned = clean_pixels(pydicom.dcmread(path), PixelRequest(), ocr=ocr)
    assert preview.text_boxes == cleaned.text_boxes and len(preview.text_boxes) >= 5


def test_burned_in_off_leaves_pixels(ocr: OcrEngine) -> None:
    ds = pydicom.dcmread(deid_data_file("ultrasounds", "RGB_IMAGE.dcm"))
    before = ds.PixelData
    calls = ocr.calls
    report = clean_pixels(ds, PixelRequest(burned_in="off"), ocr=ocr)
    assert not report.changed and not report.pixels_cleaned and ds.PixelData == before
    assert ocr.calls == calls


def test_user_rectangle_applied_to_all_frames() -> None:
    ds = pydicom.dcmread(deid_data_file("ultrasounds", "ultrasound-multiframe.dcm"))
    before = decode_stored(ds)
    assert all(before[i, 200:300, 300:400].any() for i in range(before.shape[0]))
    report = clean_pixels(ds, PixelRequest(burned_in="off", rectangles=["300,200,100,100"]))
    assert report.changed and not report.pixels_cleaned  # a user box alone is not a text check
    stored = decode_stored(ds)
    assert (stored[:, 200:300, 300:400] == 0).all()
    np.testing.assert_array_equal(stored[:, 320:, :], before[:, 320:, :])


@pytest.mark.parametrize(
    "name, expected",
    [
        ("examples_palette.dcm", {"header:StudyDate", "header:PatientID", "header:InstitutionName"}),
        ("US1_UNCR.dcm", {"header:InstitutionName"}),
    ],
)
def test_pydicom_ultrasounds_palette_and_rgb(name: str, expected: set[str], ocr: OcrEngine, tmp_path: Path) -> None:
    """Palette colour (written back as RGB) and plain RGB ultrasounds from pydicom's test files."""
    from pydicom.data import get_testdata_file
    from pydicom.pixels import apply_color_lut

    path = get_testdata_file(name)
    original = pydicom.dcmread(path)
    matcher = PhiMatcher.from_dataset(original)
    shown = decode_stored(original)
    if original.PhotometricInterpretation == "PALETTE COLOR":
        shown = apply_color_lut(shown, original)
    before = {r for b in ocr.detect(to_uint8(shown[0])) for r in matcher.match(b.text)}
    assert expected <= before, before

    ds = pydicom.dcmread(path)
    report = clean_pixels(ds, PixelRequest(), ocr=ocr)
    assert report.changed and report.pixels_cleaned
    ds.save_as(tmp_path / "out.dcm")
    written = pydicom.dcmread(tmp_path / "out.dcm")
    assert written.PhotometricInterpretation == "RGB" and "RedPaletteColorLookupTableData" not in written
    assert _ocr_phi(ocr, written, matcher, [0]) == []
