"""Draw text into a frame's stored values, keeping each drawn value's glyph mask.

Why in the package: the burned-in text benchmark (``benchmarks/burned_in``) and the pixel tests
need overlays on *real* images with exact ground truth (which pixels belong to which PHI value),
drawn the way consoles burn them in: at the value that displays white or black, straight into the
stored pixels, whatever the photometric interpretation.  Pillow (a dependency of rapidocr) is
imported only when text is drawn.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["Drawn", "font_path", "glyph_mask", "draw_text", "display_white"]

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
)


@dataclass(frozen=True)
class Drawn:
    """One drawn string: its glyph pixels (bool mask, frame-sized) and their bounding box."""

    text: str
    mask: np.ndarray
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def font_path(index: int = 0) -> str | None:
    """The ``index``-th available TrueType font (cycling), None when none is installed."""
    found = [p for p in _FONT_CANDIDATES if os.path.exists(p)]
    return found[index % len(found)] if found else None


@functools.lru_cache(maxsize=64)
def _font(size: int, index: int):
    from PIL import ImageFont

    path = font_path(index)
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


def glyph_mask(text: str, shape: tuple[int, int], x: int, y: int, size: int, font: int = 0) -> np.ndarray:
    """Boolean mask of ``text`` drawn at (x, y) with a font of ``size`` pixels."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(canvas).text((x, y), text, fill=255, font=_font(int(size), int(font)))
    return np.asarray(canvas) >= 128


def display_white(frame: np.ndarray, photometric: str) -> object:
    """The frame's own value that displays white (max for MONOCHROME2, min for MONOCHROME1)."""
    if frame.ndim == 3:
        return np.full(3, 255, dtype=frame.dtype)
    return frame.min() if photometric.strip().upper() == "MONOCHROME1" else frame.max()


def draw_text(frame: np.ndarray, text: str, x: int, y: int, size: int, value: object, font: int = 0) -> Drawn:
    """Burn ``text`` into ``frame`` (rows, cols[, 3]) in place at stored ``value``.

    The returned mask holds only the glyph pixels whose value changed: where the frame already
    had ``value`` (white text over a saturated border) there is no text in the data to find.
    """
    mask = glyph_mask(text, frame.shape[:2], x, y, size, font)
    same = frame == np.asarray(value, dtype=frame.dtype)
    mask &= ~(same.all(axis=-1) if frame.ndim == 3 else same)
    frame[mask] = value
    ys, xs = np.nonzero(mask)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else (x, y, x, y)
    return Drawn(text, mask, box)
