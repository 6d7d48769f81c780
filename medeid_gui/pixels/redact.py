"""Fill rectangles in stored pixel values: text boxes, user rectangles, per-modality bands.

Why stored values: redaction must not pass through a window or a lossy conversion, so the rest
of the image keeps its exact values and only the covered pixels change, in every frame.
The export fills with ``burned_in.display_black`` (the value that displays black whatever the
photometric interpretation, rescale sign or VOI window); :func:`fill_value` is the simpler
header-free variant (the frames' darkest-displaying extreme) for callers without a dataset.

Per-modality rules (``resources/pixels/modality_rules.json``) describe regions that carry
identifying text on most devices of a modality, e.g. the ultrasound banner above the first
ultrasound region; they apply even where OCR misses a word.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
from pydicom.dataset import Dataset

from .._resources import resource

__all__ = ["Rect", "parse_rectangle", "fill_value", "fill_rects", "ModalityRules", "load_rules", "rule_rects"]


@dataclass(frozen=True)
class Rect:
    """Axis-aligned rectangle in frame pixels: ``x0, y0`` inclusive, ``x1, y1`` exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    def padded(self, pad: int) -> Rect:
        return Rect(self.x0 - pad, self.y0 - pad, self.x1 + pad, self.y1 + pad)

    def clipped(self, rows: int, cols: int) -> Rect | None:
        r = Rect(max(0, self.x0), max(0, self.y0), min(cols, self.x1), min(rows, self.y1))
        return r if r.x1 > r.x0 and r.y1 > r.y0 else None

    @property
    def area(self) -> int:
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0)


#: A fill for stored pixels: one scalar of the frames' dtype, or one RGB triple.
FillValue: TypeAlias = np.generic | np.ndarray
#: A user rectangle as the CLI, the GUI and the settings give it.
RectangleSpec: TypeAlias = Rect | str | Sequence[int | float | str]


def parse_rectangle(spec: RectangleSpec) -> Rect:
    """A user rectangle from ``"x,y,w,h"``, ``(x, y, w, h)`` or a :class:`Rect`.

    Raises ``ValueError`` with the offending text for anything else (negative sizes included).
    """
    if isinstance(spec, Rect):
        return spec
    if isinstance(spec, str):
        parts = [p for p in spec.replace("x", ",").replace(" ", ",").split(",") if p]
    else:
        parts = list(spec)
    try:
        x, y, w, h = (int(float(p)) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(f"rectangle {spec!r}: expected x,y,width,height (four integers)") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise ValueError(f"rectangle {spec!r}: x and y must be >= 0, width and height > 0")
    return Rect(x, y, x + w, y + h)


def fill_value(frames: np.ndarray, photometric: str) -> FillValue:
    """The stored value that displays as background black for this image."""
    if frames.ndim == 4:
        return np.zeros(3, dtype=frames.dtype)
    if photometric.strip() == "MONOCHROME1":
        return frames.max()
    if photometric.strip() == "PALETTE COLOR":
        return frames.dtype.type(0)
    return frames.min()


def fill_rects(frames: np.ndarray, rects: Iterable[Rect], fill: FillValue) -> int:
    """Fill ``rects`` in every frame of ``frames`` (n, rows, cols[, 3]) in place.

    Returns the number of pixels (per frame) that were covered, so callers can report it.
    """
    rows, cols = frames.shape[1], frames.shape[2]
    covered = np.zeros((rows, cols), dtype=bool)
    for r in rects:
        c = r.clipped(rows, cols)
        if c is not None:
            covered[c.y0 : c.y1, c.x0 : c.x1] = True
    if covered.any():
        frames[:, covered] = fill
    return int(covered.sum())


@dataclass(frozen=True)
class ModalityRules:
    """The parsed ``modality_rules.json``."""

    text_modalities: frozenset[str]
    non_image_modalities: frozenset[str]
    sample_frames: int = 3
    padding: int = 3
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    working_window: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModalityRules:
        return cls(
            text_modalities=frozenset(m.upper() for m in data.get("text_modalities", [])),
            non_image_modalities=frozenset(m.upper() for m in data.get("non_image_modalities", [])),
            sample_frames=int(data.get("sample_frames", 3)),
            padding=int(data.get("padding", 3)),
            rules={k.upper(): v for k, v in data.get("rules", {}).items()},
            working_window={k.upper(): v for k, v in data.get("working_window", {}).items()},
        )


@functools.lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> ModalityRules:
    """Rules from ``path`` or the bundled ``resources/pixels/modality_rules.json``."""
    p = path or str(resource("pixels", "modality_rules.json"))
    with open(p, encoding="utf-8") as fh:
        return ModalityRules.from_dict(json.load(fh))


def _top_band(ds: Dataset, rows: int, spec: dict[str, Any]) -> int:
    max_rows = int(rows * float(spec.get("max_fraction", 0.12)))
    if spec.get("above_regions", True):
        tops = [int(r.RegionLocationMinY0) for r in ds.get("SequenceOfUltrasoundRegions") or []
                if "RegionLocationMinY0" in r]
        if tops:
            return max(0, min(min(tops), max_rows))
    return min(int(round(rows * float(spec.get("fraction", 0.0)))), max_rows)


def rule_rects(ds: Dataset, rows: int, cols: int, rules: ModalityRules) -> list[tuple[Rect, str]]:
    """Rectangles the modality's rules blank, each with the rule's name as the reason."""
    modality = str(ds.get("Modality", "")).upper()
    spec = rules.rules.get(modality, {})
    out: list[tuple[Rect, str]] = []
    band = spec.get("top_band")
    if band:
        h = _top_band(ds, rows, band)
        if h > 0:
            out.append((Rect(0, 0, cols, h), f"rule:{modality}:top_band"))
    return out


def union_mask(rects: Sequence[Rect], rows: int, cols: int) -> np.ndarray:
    """A boolean (rows, cols) mask of the rectangles (for checks and previews)."""
    mask = np.zeros((rows, cols), dtype=bool)
    for r in rects:
        c = r.clipped(rows, cols)
        if c is not None:
            mask[c.y0 : c.y1, c.x0 : c.x1] = True
    return mask
