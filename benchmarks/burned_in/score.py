"""Scores of one redaction against a case's ground truth.

* a PHI value is *removed* when >= 90% of its glyph pixels were changed or lie under a filled
  region (black text filled with black does not change value, but is gone all the same);
* recall: removed PHI values / PHI values;
* region precision: filled regions that touch a PHI value's box / filled regions (the measure
  for ``auto``, which removes PHI); ``text`` precision: filled regions that touch any string's
  box / filled regions, the measure for ``all``, which removes all text.  Its ground truth is
  every string in the image: the drawn PHI values, labels and clinical text, and the text the
  base image carries itself (``native_text.json``, boxed by hand, not by the detector);
* collateral: changed pixels outside every string's box (drawn or native, grown by a quarter of
  the text height, the redaction margin) / image pixels.  Every changed pixel is scored: a
  rule band or a region over anything that is not text counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Score", "score_case"]

REMOVED = 0.90


@dataclass
class Score:
    values: int
    removed: int
    missed: list[str]  # keys of PHI values still readable (never the text)
    regions: int
    regions_on_phi: int
    regions_on_text: int
    collateral: float


def _grow(box: tuple[int, int, int, int], rows: int, cols: int) -> tuple[int, int, int, int]:
    m = max(2, (box[3] - box[1]) // 4 + 1)
    return max(0, box[0] - m), max(0, box[1] - m), min(cols, box[2] + m), min(rows, box[3] + m)


def _touches(r: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return r[0] < b[2] and b[0] < r[2] and r[1] < b[3] and b[1] < r[3]


def score_case(items, before: np.ndarray, after: np.ndarray, regions) -> Score:
    """``items``: the case's drawn strings; ``before``/``after``: the frame's stored values;
    ``regions``: the filled (x0, y0, x1, y1) rectangles."""
    rows, cols = before.shape[:2]
    changed = before != after
    if changed.ndim == 3:
        changed = changed.any(axis=2)
    filled = np.zeros((rows, cols), bool)
    for r in regions:
        filled[r[1] : r[3], r[0] : r[2]] = True
    gone = changed | filled
    phi = [it for it in items if it.phi]
    removed, missed = 0, []
    for it in phi:
        n = int(it.mask.sum())
        if n and gone[it.mask].sum() >= REMOVED * n:
            removed += 1
        else:
            missed.append(it.key)
    text_area = np.zeros((rows, cols), bool)
    grown_phi, grown_all = [], []
    for it in items:
        g = _grow(it.box, rows, cols)
        text_area[g[1] : g[3], g[0] : g[2]] = True
        grown_all.append(g)
        if it.phi:
            grown_phi.append(g)
    on_phi = sum(any(_touches(tuple(r), g) for g in grown_phi) for r in regions)
    on_text = sum(any(_touches(tuple(r), g) for g in grown_all) for r in regions)
    collateral = float((changed & ~text_area).sum()) / float(rows * cols)
    return Score(len(phi), removed, missed, len(regions), on_phi, on_text, collateral)
