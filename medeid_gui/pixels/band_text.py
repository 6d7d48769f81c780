"""A modality's rule band (the ultrasound banner) filled where it carries text, not as a whole.

Why: the rule band exists because OCR can miss a word of a device banner, so the band used to be
filled edge to edge.  Where the band is not already black (a light banner, a band behind a PACS
overlay, a strip of anatomy) that blanked far more than the text: on the burned-in benchmark's
ultrasound with a light band it was 4 % of the image changed outside every line of text, and the
mean collateral of ``all`` went over the 0.5 % bound.  The band keeps its purpose (text in it is
removed even where OCR missed a word or a line) but is bounded by where text actually is:

1. every line the text scan saw in the band (kept or not: the banner is identifying as a whole)
   is filled across the band's columns that carry strokes in that line's rows, so a missed word
   on a found line goes too;
2. rows of the band outside those lines that carry strokes (a line the detector missed) are
   filled where their strokes are;
3. a band with strokes but no line found at all is filled whole, as before (unknown content);
   a band without strokes (uniform, e.g. already black) is left alone: there is nothing to hide.

"Strokes" are pixels differing from a vertical neighbour by more than ``tol`` display levels:
glyphs have them, uniform bands and the vertical edge between a light and a dark band do not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .redact import Rect

__all__ = ["stroke_mask", "band_text_rects"]

#: Display levels (0-255) a pixel must differ from its vertical neighbour by to be a stroke.
TOL = 24
#: Strips of stroke rows thinner than this are edges (the top of a band), not text.
MIN_TEXT_ROWS = 4


def stroke_mask(views: Sequence[np.ndarray], band: Rect) -> np.ndarray:
    """Stroke pixels of the band (``band`` rows x columns), over all 8-bit display ``views``."""
    mask = np.zeros((band.y1 - band.y0, band.x1 - band.x0), bool)
    for view in views:
        crop = view[band.y0 : band.y1, band.x0 : band.x1].astype(np.int16)
        if crop.ndim == 3:
            d = np.abs(np.diff(crop, axis=0)).max(axis=2)
        else:
            d = np.abs(np.diff(crop, axis=0))
        step = d > TOL
        mask[:-1] |= step
        mask[1:] |= step
    return mask


def _runs(flags: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """(start, end exclusive) of the True runs of ``flags``, joined across gaps up to ``max_gap``."""
    idx = np.nonzero(flags)[0]
    if idx.size == 0:
        return []
    out = [[int(idx[0]), int(idx[0]) + 1]]
    for i in idx[1:]:
        if i - out[-1][1] <= max_gap:
            out[-1][1] = int(i) + 1
        else:
            out.append([int(i), int(i) + 1])
    return [(a, b) for a, b in out]


def _line_extent(strokes: np.ndarray, line: Rect, band: Rect) -> tuple[int, int]:
    """Columns (band-relative) of the line widened over the strokes of its middle rows, across
    gaps of up to two line heights (a missed word beside a found one)."""
    h = max(1, line.y1 - line.y0)
    r0 = max(0, line.y0 - band.y0 + h // 4)
    r1 = min(strokes.shape[0], line.y1 - band.y0 - h // 4)
    x0, x1 = max(0, line.x0 - band.x0), min(strokes.shape[1], line.x1 - band.x0)
    if r1 <= r0:
        return x0, x1
    cols = strokes[r0:r1].any(axis=0)
    for a, b in _runs(cols, 2 * h):
        if a <= x1 + 2 * h and b >= x0 - 2 * h:
            x0, x1 = min(x0, a), max(x1, b)
    return x0, x1


def band_text_rects(band: Rect, lines: Sequence[Rect], views: Sequence[np.ndarray], *, pad: int = 2) -> list[Rect]:
    """Rectangles to fill in ``band``: its text lines, widened over their strokes, and strips of
    strokes outside them; the whole band if it has strokes but no line was found; none if it
    has no strokes.  ``lines``: the text boxes the scan saw (frame pixels); ``views``: the
    frames as displayed, 8-bit."""
    strokes = stroke_mask(views, band)
    if not strokes.any():
        return []
    inside = [r for r in lines if r.x0 < band.x1 and band.x0 < r.x1 and r.y0 < band.y1 and band.y0 < r.y1]
    if not inside:
        return [band]
    rows, cols = strokes.shape
    out: list[Rect] = []
    covered = np.zeros(rows, bool)
    for line in inside:
        x0, x1 = _line_extent(strokes, line, band)
        y0, y1 = max(0, line.y0 - band.y0 - pad), min(rows, line.y1 - band.y0 + pad)
        covered[y0:y1] = True
        out.append(Rect(band.x0 + max(0, x0 - pad), band.y0 + y0, band.x0 + min(cols, x1 + pad), band.y0 + y1))
    rest = strokes & ~covered[:, None]
    for y0, y1 in _runs(rest.any(axis=1), 2):
        if y1 - y0 < MIN_TEXT_ROWS:
            continue
        for x0, x1 in _runs(rest[y0:y1].any(axis=0), 2 * (y1 - y0)):
            out.append(
                Rect(
                    band.x0 + max(0, x0 - pad),
                    band.y0 + max(0, y0 - pad),
                    band.x0 + min(cols, x1 + pad),
                    band.y0 + min(rows, y1 + pad),
                )
            )
    return out
