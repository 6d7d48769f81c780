"""Real images with burned-in PHI, and what the OCR can still read of it: shared by the policy
tests (in memory) and the export tests (through `medeid export`)."""

from __future__ import annotations

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from medeid_gui.dicom.pixelwrite import decode_stored, replace_frames
from medeid_gui.pixels.burned_in import ocr_frame
from medeid_gui.pixels.ocr import OcrEngine, enhance_contrast
from medeid_gui.pixels.phi_match import PhiMatcher
from medeid_gui.pixels.text_overlay import display_white, draw_text
from medeid_gui.pixels.text_regions import stretch


def readable_phi(ocr: OcrEngine, ds: Dataset, header: Dataset) -> set[str]:
    """PHI reasons of ``header`` the OCR reads in ``ds``'s first frame (as shown, and enhanced)."""
    matcher = PhiMatcher.from_dataset(header, generic=False)
    shown = ocr_frame(decode_stored(ds)[0], str(ds.PhotometricInterpretation))
    found: set[str] = set()
    for image in (shown, enhance_contrast(stretch(shown))):
        for box in ocr.detect(image):
            found.update(matcher.match(box.text))
    return found


def mono1_cr_with_name() -> Dataset:
    """Issue #16's case: a 972x800 MONOCHROME1 CR (RG1_UNCR resampled), the name drawn straight
    over the right lung field and the study date under it, no band behind them; the header's
    BurnedInAnnotation says NO."""
    from scipy.ndimage import zoom

    ds = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm"))
    full = decode_stored(ds)[0]
    c0 = (full.shape[1] - 1610) // 2
    frame = np.rint(zoom(full[:, c0 : c0 + 1610].astype(np.float32), (972 / 1955, 800 / 1610), order=1))
    frame = frame.astype(full.dtype)
    assert frame.shape == (972, 800)
    ds.PatientName, ds.PatientBirthDate, ds.StudyDate = "Haddad^Fatima", "19760616", "20130713"
    ds.BurnedInAnnotation = "NO"  # the header says no text: auto must look anyway
    white = display_white(frame, "MONOCHROME1")
    draw_text(frame, "HADDAD FATIMA", 150, 330, 20, white)  # over the right lung
    draw_text(frame, "2013 Jul 13", 150, 356, 20, white)
    replace_frames(ds, frame[np.newaxis], stored=True)
    return ds
