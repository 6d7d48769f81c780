"""The burned-in text policy on real images: every modality is read, whole lines go, the fill
displays black.

The OCR tests first check that the OCR reads the PHI before redaction (so they can fail), then
require that nothing of it is readable after, with the same OCR on the frame and on a
contrast-enhanced copy.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from medeid_gui.dicom.pixelwrite import decode_stored, replace_frames
from medeid_gui.pixels.burned_in import display_black, ocr_frame, scan_text, text_frames
from medeid_gui.pixels.ocr import OcrEngine
from medeid_gui.pixels.text_overlay import display_white, draw_text
from tests.pixels.phi_images import mono1_cr_with_name, readable_phi


def _shown(ds: Dataset, stored: np.ndarray) -> np.ndarray:
    """Display values in [0, 1] (0 = black): rescale, the VOI window, MONOCHROME1 inversion."""
    slope, intercept = float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
    center, width = float(ds.WindowCenter), float(ds.WindowWidth)
    v = np.clip((stored * slope + intercept - (center - width / 2)) / width, 0.0, 1.0)
    return 1.0 - v if ds.PhotometricInterpretation == "MONOCHROME1" else v


@pytest.mark.parametrize(
    "photometric, slope, shape, expect",
    [
        ("MONOCHROME2", 1.0, "", "low"),
        ("MONOCHROME1", 1.0, "", "high"),  # zero would display white
        ("MONOCHROME1", -1.0, "", "low"),
        ("MONOCHROME2", 1.0, "INVERSE", "high"),
    ],
)
def test_display_black_every_interpretation(photometric: str, slope: float, shape: str, expect: str) -> None:
    ds = Dataset()
    ds.PhotometricInterpretation, ds.BitsStored, ds.PixelRepresentation = photometric, 12, 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, 0 if slope > 0 else 4095
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    if shape:
        ds.PresentationLUTShape = shape
    frames = np.array([[[100, 3000]]], dtype=np.uint16)
    value = display_black(ds, frames)
    if expect == "low":
        assert value <= 100 and value >= 0
    else:
        assert value >= 3000 and value <= 4095


def test_display_black_leaves_the_window() -> None:
    """A MONOCHROME1 frame whose maximum still shows grey in its window: the fill goes past it."""
    ds = Dataset()
    ds.PhotometricInterpretation, ds.BitsStored, ds.PixelRepresentation = "MONOCHROME1", 15, 0
    ds.WindowCenter, ds.WindowWidth = 15000, 20000
    frames = np.array([[[2000, 20000]]], dtype=np.uint16)
    value = display_black(ds, frames)
    assert value == 25000 and _shown(ds, np.array(float(value))) == 0.0
    assert display_black(ds, np.zeros((1, 2, 2, 3), np.uint8)).tolist() == [0, 0, 0]


def test_text_frames_sample_long_objects() -> None:
    assert text_frames(5) == [0, 1, 2, 3, 4]
    sample = text_frames(300, 16)
    assert len(sample) == 16 and sample[0] == 0 and sample[-1] == 299


def _redact(ds: Dataset, mode: str, ocr: OcrEngine) -> tuple[list, object]:
    stored = decode_stored(ds)
    scan = scan_text(ds, stored, mode, ocr=ocr)
    black = display_black(ds, stored)
    for r in scan.regions:
        stored[:, r.y0 : r.y1, r.x0 : r.x1] = black
    replace_frames(ds, stored, stored=True)
    return scan.regions, black


def test_mono1_cr_name_over_the_lung_field(ocr: OcrEngine) -> None:
    """Issue #16's acceptance case: a 972x800 MONOCHROME1 CR, the name drawn straight over the
    lung field (no band), the date under it; ``auto`` leaves nothing readable, fills display black."""
    ds = mono1_cr_with_name()
    header = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm"), stop_before_pixels=True)
    header.PatientName, header.PatientBirthDate, header.StudyDate = ds.PatientName, ds.PatientBirthDate, ds.StudyDate

    before = readable_phi(ocr, ds, header)
    assert {"header:PatientName", "header:StudyDate"} <= before, before
    regions, black = _redact(ds, "auto", ocr)
    assert regions and readable_phi(ocr, ds, header) == set()
    after = decode_stored(ds)[0]
    for r in regions:
        assert (_shown(ds, after[r.y0 : r.y1, r.x0 : r.x1].astype(np.float64)) == 0.0).all()
    assert sum((r.x1 - r.x0) * (r.y1 - r.y0) for r in regions) < 0.01 * after.size  # the image stays


def test_ct_with_burned_in_annotation_no_is_read(ocr: OcrEngine) -> None:
    """``auto`` used to skip CT/MR/MG; black text over the skull, a key line at the corner."""
    ds = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    ds.BurnedInAnnotation = "NO"
    ds.PatientName, ds.PatientID = "Lindqvist^Olga", "0041105860"
    frame = decode_stored(ds)[0].copy()
    white, black = display_white(frame, "MONOCHROME2"), display_black(ds, frame[np.newaxis])
    draw_text(frame, "ID:", 10, 10, 14, white)
    draw_text(frame, "004-110-5860", 36, 10, 14, white)
    draw_text(frame, "OLGA LINDQVIST", 180, 250, 14, black)
    draw_text(frame, "AXIAL", 10, 480, 14, white)  # clinical text: stays in auto
    replace_frames(ds, frame[np.newaxis], stored=True)
    header = Dataset()
    header.PatientName, header.PatientID = ds.PatientName, ds.PatientID

    assert {"header:PatientName", "header:PatientID"} <= readable_phi(ocr, ds, header)
    regions, _ = _redact(ds, "auto", ocr)
    assert readable_phi(ocr, ds, header) == set()
    texts = [b.text.upper() for b in ocr.detect(ocr_frame(decode_stored(ds)[0], "MONOCHROME2"))]
    assert any("AXIAL" in t for t in texts), texts
    assert all(r.y0 < 470 for r in regions)


def test_plain_ct_sees_no_text_and_pays_only_the_fast_pass(ocr: OcrEngine) -> None:
    """The detector returns one box over the whole 693_UNCR slice (the skull read as "O"); it is
    not a line of text, so no second pass runs and nothing is seen or redacted."""
    from medeid_gui.pixels.text_regions import plausible_line

    ds = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    stored = decode_stored(ds)
    image = ocr_frame(stored[0], "MONOCHROME2")
    raw = ocr.find_text(image)
    assert raw and not any(plausible_line(b, image.shape[0]) for b in raw), raw
    scan = scan_text(ds, stored, "auto", ocr=ocr)
    assert scan.regions == [] and scan.text_lines_seen == 0
