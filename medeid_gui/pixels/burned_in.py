"""Burned-in text policy for one image: which frames are checked, what is redacted, with what.

Why a policy of its own: ``auto`` used to OCR only the modalities known to carry text (US, SC,
...) or images whose BurnedInAnnotation was not NO, so CR/DX overlays written by a PACS after
acquisition, CT and MR annotations and MG labels were never looked at.  Now every image-bearing
frame gets at least the detector's fast pass (about 0.2 s for 512x512 on two CPU threads); frames
are sampled only for long multi-frame objects (overlays are static in cines), and the sample is
reported.  ``auto`` redacts what matches PHI or looks like it (key lines, dates, IDs, ages,
unreadable text); ``all`` redacts every text box.

The fill is the value that *displays* black: for MONOCHROME1 the high end (zero would show
white), for a negative rescale slope the other end, below/above the VOI window so no window
shows it grey; colour images get zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from ..dicom.pixelwrite import stored_range
from .ocr import OcrEngine, default_ocr, to_uint8
from .phi_match import PhiMatcher
from .redact import FillValue
from .text_regions import TextRegion, frame_text_regions

__all__ = ["TextScan", "text_frames", "display_black", "ocr_frame", "extreme_views", "scan_text", "MAX_TEXT_FRAMES"]

#: Frames read per object at most; a longer multi-frame object is sampled evenly (first and last
#: included) and the report says so.
MAX_TEXT_FRAMES = 16


@dataclass
class TextScan:
    """What the text scan of one image found: regions (applied to every frame), every text box
    it read (kept or not), the frames it looked at, how many text boxes it saw, and notes."""

    regions: list[TextRegion] = field(default_factory=list)
    seen: list[TextRegion] = field(default_factory=list)  # every text box read, kept or not
    frames_checked: tuple[int, ...] = ()
    text_lines_seen: int = 0
    notes: list[str] = field(default_factory=list)


def text_frames(n: int, max_frames: int = MAX_TEXT_FRAMES) -> list[int]:
    """Every frame up to ``max_frames``, else an even sample including the first and last."""
    if n <= max_frames:
        return list(range(n))
    if max_frames <= 1:
        return [0]
    return sorted({int(round(i * (n - 1) / (max_frames - 1))) for i in range(max_frames)})


def _first(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else None
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def display_black(ds: Dataset, frames: np.ndarray) -> FillValue:
    """The stored value that displays black for this image, whatever the photometric
    interpretation, rescale sign, presentation LUT shape or VOI window.

    Greyscale: the frames' darkest-displaying extreme, pushed past the window's dark edge when
    the window would otherwise show it grey; kept within what Bits Stored allows.
    """
    if frames.ndim == 4:
        return np.zeros(3, dtype=frames.dtype)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if photometric == "PALETTE COLOR":
        return frames.dtype.type(0)
    slope = _first(ds.get("RescaleSlope")) or 1.0
    intercept = _first(ds.get("RescaleIntercept")) or 0.0
    low_is_black = photometric != "MONOCHROME1"
    if str(ds.get("PresentationLUTShape", "")).strip().upper() == "INVERSE":
        low_is_black = not low_is_black
    # black in modality values is the low end (MONOCHROME2) or the high end (MONOCHROME1);
    # a negative slope flips it once more in stored values
    low_stored = low_is_black == (slope > 0)
    s_lo, s_hi = stored_range(ds)
    if frames.dtype.kind == "u":
        s_lo = max(s_lo, 0)
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if low_stored:
        value = float(frames.min())
        if center is not None and width:
            edge = (
                (center - width / 2.0 - intercept) / slope if slope > 0 else (center + width / 2.0 - intercept) / slope
            )
            value = min(value, math.floor(edge))
        value = max(value, s_lo)
    else:
        value = float(frames.max())
        if center is not None and width:
            edge = (
                (center + width / 2.0 - intercept) / slope if slope > 0 else (center - width / 2.0 - intercept) / slope
            )
            value = max(value, math.ceil(edge))
        value = min(value, s_hi)
    return frames.dtype.type(value)


def ocr_frame(frame: np.ndarray, photometric: str) -> np.ndarray:
    """The 8-bit frame as displayed (full value range; MONOCHROME1 inverted; colour as is)."""
    if frame.ndim == 3:
        return to_uint8(frame)
    return to_uint8(frame, invert=photometric.strip().upper() == "MONOCHROME1")


def extreme_views(frame: np.ndarray, *, max_share: float = 0.2) -> list[np.ndarray]:
    """8-bit images of the pixels at the frame's highest and at its lowest stored value.

    Why: consoles burn text in at an extreme value, and on a display of the full range that text
    vanishes where the anatomy or the collimation is already near that extreme (white text on a
    white MONOCHROME1 border).  In stored values it is still exactly the extreme.  A view whose
    extreme covers more than ``max_share`` of the frame is background (air, padding) and skipped.
    """
    grey = frame if frame.ndim == 2 else frame.max(axis=-1)
    out = []
    for value in (grey.max(), grey.min()):
        mask = grey == value
        if 0 < mask.mean() <= max_share:
            out.append(np.where(mask, np.uint8(255), np.uint8(0)))
    return out


def scan_text(
    ds: Dataset,
    frames: np.ndarray,
    mode: str,
    *,
    ocr: OcrEngine | None = None,
    max_frames: int = MAX_TEXT_FRAMES,
    photometric: str | None = None,
) -> TextScan:
    """Find the burned-in text regions to redact in ``frames`` (n, rows, cols[, 3]) of ``ds``.

    ``mode``: ``auto`` or ``all`` (``off`` returns an empty scan).  ``photometric`` overrides the
    header's, e.g. ``RGB`` for a palette image already converted to colour.
    """
    scan = TextScan()
    if mode == "off":
        return scan
    engine = ocr or default_ocr()
    photo = photometric or str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    matcher = PhiMatcher.from_dataset(ds)
    n = int(frames.shape[0])
    sample = text_frames(n, max_frames)
    scan.frames_checked = tuple(sample)
    for i in sample:
        regions, seen = frame_text_regions(
            ocr_frame(frames[i], photo), matcher, mode, engine, frame=i, extra_views=extreme_views(frames[i])
        )
        scan.regions += regions
        scan.seen += seen
        scan.text_lines_seen += len(seen)
    if n > len(sample):
        scan.notes.append(
            f"text detection read {len(sample)} of {n} frames (evenly spaced); regions applied to all frames"
        )
    return scan
