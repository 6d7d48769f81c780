"""Small line charts drawn with Pillow: the held-out evaluation's plot where matplotlib is absent.

Why: a site's ``medeid ml train`` ends with a held-out evaluation whose report carries a plot, and
it runs in the installer bundle, which leaves matplotlib out (35 MB and its dependencies; the
bundle has a size target, packaging/README.md).  Pillow is in the bundle already.  The chart is
plain on purpose: panels side by side, each with its title, axes with ticks, one line per series,
dashed reference lines and a legend, the same content as the matplotlib figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Series", "Panel", "save_panels"]

PANEL_W, PANEL_H = 300, 270
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 44, 10, 22, 34
#: colours of successive series (matplotlib's default cycle, so both renderers look alike)
COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127))


@dataclass
class Series:
    xs: list[float]
    ys: list[float]
    label: str
    width: int = 1
    dashed: bool = False


@dataclass
class Panel:
    title: str  #: says what is plotted on y (e.g. "attacker: thumb16" for its AUC)
    xlabel: str
    series: list[Series] = field(default_factory=list)
    hlines: list[tuple[float, str]] = field(default_factory=list)  #: (y, label; "" for none)
    ylim: tuple[float, float] | None = None  #: None: from the data and the lines


def _limits(panel: Panel) -> tuple[float, float]:
    if panel.ylim is not None:
        return panel.ylim
    vals = [y for s in panel.series for y in s.ys if math.isfinite(y)] + [y for y, _ in panel.hlines]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def _dashed(draw, a: tuple[float, float], b: tuple[float, float], colour, dash: float = 5.0) -> None:
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    n = max(1, int(length // (2 * dash)))
    for k in range(n):
        t0, t1 = 2 * k * dash / max(length, 1e-9), (2 * k + 1) * dash / max(length, 1e-9)
        t1 = min(t1, 1.0)
        draw.line([(a[0] + t0 * (b[0] - a[0]), a[1] + t0 * (b[1] - a[1])),
                   (a[0] + t1 * (b[0] - a[0]), a[1] + t1 * (b[1] - a[1]))], fill=colour, width=1)


def _draw_panel(draw, ox: int, panel: Panel, font) -> None:
    x0, y0, x1, y1 = ox + MARGIN_L, MARGIN_T, ox + PANEL_W - MARGIN_R, PANEL_H - MARGIN_B
    lo, hi = _limits(panel)

    def at(x: float, y: float) -> tuple[float, float]:
        return x0 + x * (x1 - x0), y1 - (y - lo) / (hi - lo) * (y1 - y0)

    draw.rectangle([x0, y0, x1, y1], outline=(0, 0, 0))
    draw.text((x0, 4), panel.title, fill=(0, 0, 0), font=font)
    for k in range(5):
        xv, yv = k / 4, lo + k * (hi - lo) / 4
        px, _ = at(xv, lo)
        _, py = at(0.0, yv)
        draw.line([(px, y1), (px, y1 + 3)], fill=(0, 0, 0))
        draw.text((px - 8, y1 + 5), f"{xv:.2f}", fill=(0, 0, 0), font=font)
        draw.line([(x0 - 3, py), (x0, py)], fill=(0, 0, 0))
        draw.text((ox + 2, py - 5), f"{yv:.3g}", fill=(0, 0, 0), font=font)
    draw.text((x0 + 60, y1 + 18), panel.xlabel, fill=(0, 0, 0), font=font)
    legend: list[tuple[str, tuple[int, int, int], bool]] = []
    for y, label in panel.hlines:
        _dashed(draw, at(0.0, y), at(1.0, y), (90, 90, 90))
        if label:
            legend.append((label, (90, 90, 90), True))
    for i, s in enumerate(panel.series):
        colour = COLOURS[i % len(COLOURS)]
        pts = [at(x, y) for x, y in zip(s.xs, s.ys) if math.isfinite(y)]
        for a, b in zip(pts, pts[1:]):
            if s.dashed:
                _dashed(draw, a, b, colour, 3.0)
            else:
                draw.line([a, b], fill=colour, width=s.width)
        for px, py in pts:
            draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=colour)
        legend.append((s.label, colour, s.dashed))
    for k, (label, colour, dashed) in enumerate(legend):
        ly = y0 + 4 + 11 * k
        (_dashed(draw, (x0 + 4, ly + 5), (x0 + 18, ly + 5), colour, 3.0) if dashed
         else draw.line([(x0 + 4, ly + 5), (x0 + 18, ly + 5)], fill=colour, width=2))
        draw.text((x0 + 22, ly), label, fill=(0, 0, 0), font=font)


def save_panels(panels: list[Panel], path: str | Path) -> None:
    """The panels side by side, as one PNG at ``path``."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (PANEL_W * max(1, len(panels)), PANEL_H), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    for k, panel in enumerate(panels):
        _draw_panel(draw, k * PANEL_W, panel, font)
    img.save(path, format="PNG")
