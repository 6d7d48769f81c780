"""``medeid audit`` for pixels: is any PHI value of the originals still readable in the output?

Why a second audit beside the byte search (``audit.py``): burned-in text is pixels, not bytes;
the only independent check is to read the exported frames the way a person (or an attacker with
an OCR) would, and compare what is read with the *original's* header values.  The check does not
trust the pixel step's report: it decodes the written file, shows each frame as displayed
(MONOCHROME1 inverted, palette as colour), reads it with the full OCR on the frame and on a
contrast-enhanced copy, and matches every line against the original's names, IDs, dates, times
and places (header values only: generic patterns would flag the clinical text that is meant to
stay).

Findings carry the reason (``header:PatientName``), the frame and the box, never the text read.
Frames are all read up to ``max_frames`` per file, else an even sample, and the report says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom

from ..dicom.pixelwrite import PixelWriteError, decode_stored
from ..pixels.burned_in import MAX_TEXT_FRAMES, ocr_frame, text_frames
from ..pixels.ocr import OcrEngine, default_ocr, enhance_contrast
from ..pixels.phi_match import PhiMatcher
from ..pixels.text_regions import stretch

__all__ = ["PixelFinding", "PixelAuditReport", "audit_pixels", "audit_pixel_file"]


@dataclass(frozen=True)
class PixelFinding:
    """A line in an output frame that reads as a PHI value of its original."""

    output: str
    original: str
    frame: int
    reasons: tuple[str, ...]
    box: tuple[int, int, int, int]  # x0, y0, x1, y1

    def line(self) -> str:
        return (f"PIXEL-LEAK {','.join(self.reasons)} readable in {self.output} frame {self.frame} "
                f"at x={self.box[0]}..{self.box[2]} y={self.box[1]}..{self.box[3]} [from {self.original}]")


@dataclass
class PixelAuditReport:
    findings: list[PixelFinding] = field(default_factory=list)
    files_checked: int = 0
    frames_checked: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _display_frames(ds: pydicom.Dataset) -> tuple[np.ndarray, str]:
    stored = decode_stored(ds)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        rgb = apply_color_lut(stored, ds)
        if rgb.dtype != np.uint8:
            rgb = np.rint(rgb / (257.0 if rgb.max(initial=0) > 255 else 1.0)).astype(np.uint8)
        return rgb, "RGB"
    return stored, photometric


def audit_pixel_file(
    original: str | Path, output: str | Path, *, ocr: OcrEngine | None = None, max_frames: int = MAX_TEXT_FRAMES,
    report: PixelAuditReport | None = None,
) -> PixelAuditReport:
    """Read the output's frames and report lines that match the original's PHI values."""
    report = report or PixelAuditReport()
    engine = ocr or default_ocr()
    orig = pydicom.dcmread(str(original), stop_before_pixels=True, force=True)
    out = pydicom.dcmread(str(output), force=True)
    if "PixelData" not in out:
        return report
    try:
        frames, photometric = _display_frames(out)
    except (PixelWriteError, ValueError, NotImplementedError) as exc:
        report.notes.append(f"{output}: pixels not decodable, not read ({exc})")
        return report
    matcher = PhiMatcher.from_dataset(orig, generic=False)
    n = int(frames.shape[0])
    sample = text_frames(n, max_frames)
    if n > len(sample):
        report.notes.append(f"{output}: read {len(sample)} of {n} frames (evenly spaced)")
    report.files_checked += 1
    for i in sample:
        shown = ocr_frame(frames[i], photometric)
        grey = shown if shown.ndim == 2 else shown.mean(axis=2).astype(np.uint8)
        seen: set[tuple[int, int, int, int]] = set()
        for image in (shown, enhance_contrast(stretch(grey))):
            for box in engine.detect(image, frame=i):
                reasons = tuple(matcher.match(box.text))
                key = (box.x0, box.y0, box.x1, box.y1)
                if reasons and key not in seen:
                    seen.add(key)
                    report.findings.append(PixelFinding(str(output), str(original), i, reasons, key))
        report.frames_checked += 1
    return report


def audit_pixels(
    pairs: Iterable[tuple[str | Path, str | Path]], *, ocr: OcrEngine | None = None, max_frames: int = MAX_TEXT_FRAMES
) -> PixelAuditReport:
    """:func:`audit_pixel_file` over (original, output) pairs, e.g. from the export manifest."""
    report = PixelAuditReport()
    for original, output in pairs:
        audit_pixel_file(original, output, ocr=ocr, max_frames=max_frames, report=report)
    return report
