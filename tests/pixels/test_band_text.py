"""The ultrasound rule band is filled where it holds text, not edge to edge (``band_text``).

The real-image test gives deid-data's RGB ultrasound a light banner (its black banner background
painted light grey, as some devices and PACS draw it), checks that the OCR reads the banner's PHI
first (so the test can fail), then requires that after ``auto`` nothing of it is readable and
that most of the light banner was left as it was (the old whole-band fill changed all of it).
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from corpora import deid_data_file

from medeid_gui.dicom.pixelwrite import decode_stored, replace_frames
from medeid_gui.pixels.band_text import band_text_rects, stroke_mask
from medeid_gui.pixels.clean import PixelRequest, clean_pixels
from medeid_gui.pixels.ocr import OcrEngine, to_uint8
from medeid_gui.pixels.phi_match import PhiMatcher
from medeid_gui.pixels.redact import Rect, load_rules, rule_rects


def _phi_read(ocr: OcrEngine, frame: np.ndarray, matcher: PhiMatcher) -> set[str]:
    return {r for b in ocr.detect(to_uint8(frame)) for r in matcher.match(b.text)}


@pytest.mark.timeout(900)
def test_light_ultrasound_banner_filled_at_its_text(ocr: OcrEngine) -> None:
    pytest.importorskip("rapidocr")
    pytest.importorskip("deid_data")
    ds = pydicom.dcmread(deid_data_file("ultrasounds", "RGB_IMAGE.dcm"))
    (band, _), = rule_rects(ds, int(ds.Rows), int(ds.Columns), load_rules())
    frames = decode_stored(ds).copy()
    top = frames[0, band.y0 : band.y1, band.x0 : band.x1]
    top[(top.max(axis=-1) < 40)] = 170  # the dark banner background becomes light grey
    replace_frames(ds, frames, stored=True)
    matcher = PhiMatcher.from_dataset(ds)
    before = _phi_read(ocr, frames[0], matcher)
    assert {"header:PatientName", "header:InstitutionName"} <= before, before

    report = clean_pixels(ds, PixelRequest(burned_in="auto"), ocr=ocr)
    after = decode_stored(ds)
    assert _phi_read(ocr, after[0], matcher) == set()
    rule = [b for b in report.text_boxes if b.source == "rule"]
    assert rule and all(band.x0 <= b.x0 and b.x1 <= band.x1 and b.y1 <= band.y1 for b in rule)
    changed = np.any(after[0] != frames[0], axis=-1)[band.y0 : band.y1, band.x0 : band.x1]
    assert changed.mean() < 0.5, changed.mean()  # the whole-band fill changed every light pixel


def _glyphs(rows: int, cols: int) -> np.ndarray:
    """A block of 2x2 checks: strokes in both directions, like the curves and bars of letters."""
    yy, xx = np.indices((rows, cols))
    return (((yy // 2 + xx // 2) % 2) * 255).astype(np.uint8)


def test_band_geometry() -> None:
    """A uniform band is left alone; strokes without a found line fill the band; a found line
    is widened over a missed word beside it; a missed line gets its own strip; the vertical edge
    between a light and a dark part of the band is not text."""
    band = Rect(0, 0, 200, 40)
    view = np.zeros((60, 200), np.uint8)
    view[:, 100:] = 180  # a light right half: a vertical edge at x = 100
    assert band_text_rects(band, [], [view]) == []
    assert not stroke_mask([view], band).any()
    view[5:15, 10:40] = _glyphs(10, 30)  # a word, found
    view[5:15, 55:80] = _glyphs(10, 25)  # a word beside it, missed
    view[25:35, 120:150] = _glyphs(10, 30)  # a line on the light part, missed
    assert band_text_rects(band, [], [view]) == [band]
    rects = band_text_rects(band, [Rect(9, 4, 41, 16)], [view])
    line = next(r for r in rects if r.y0 < 10)
    assert line.x0 <= 10 and line.x1 >= 80 and line.x1 < 100  # the missed word; not the edge
    strip = next(r for r in rects if r.y0 > 15)
    assert strip.x0 <= 120 and strip.x1 >= 150 and strip.x0 > 100 and strip.y0 >= 20 and strip.y1 <= 40
