"""The privacy level: one name, one type, one range check, one "does the method run?".

Why a module of its own: the level travels from the slider (an int percent inside the widget
only) through the view model, the export configuration, the pixel request and down to the patch
grid.  It used to be called ``privacy``, ``level`` and ``p`` on the way and its range was checked
in three places.  Everywhere across a package boundary it is now ``privacy: Privacy`` — a plain
``float`` fraction of patches blocked, in [0, 1] — checked by :func:`check_privacy`, and a level
chosen per series is a ``SeriesPrivacy`` mapping (series UID -> level).

numpy/torch-free on purpose: the header-only export imports it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["Privacy", "SeriesPrivacy", "check_privacy", "check_series_privacy", "method_runs",
           "to_percent", "from_percent"]

#: the fraction of image patches blocked, ranked by identity relevance (0: off, 1: every patch)
Privacy = float
#: a level chosen per series in the viewer: SeriesInstanceUID -> level
SeriesPrivacy = Mapping[str, float]


def check_privacy(value: object, *, what: str = "privacy") -> Privacy:
    """``value`` as a float in [0, 1]; ``ValueError`` naming ``what`` otherwise (NaN included)."""
    try:
        p = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number between 0 and 1, got {value!r}") from None
    if math.isnan(p) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{what} must be between 0 and 1, got {value!r}")
    return p


def check_series_privacy(levels: Mapping[str, object] | None) -> dict[str, Privacy]:
    """Per-series levels, each checked; an empty dict for None."""
    return {str(uid): check_privacy(v, what=f"privacy for series {uid}") for uid, v in (levels or {}).items()}


def method_runs(privacy: Privacy, per_series: Mapping[str, float] | None = None) -> bool:
    """Whether the pixel method runs anywhere: the default level or any per-series level above 0."""
    return privacy > 0 or any(v > 0 for v in (per_series or {}).values())


def to_percent(privacy: Privacy) -> int:
    """The slider's integer percent for a level (the widget's unit only)."""
    return int(round(check_privacy(privacy) * 100))


def from_percent(percent: int) -> Privacy:
    """The level for a slider percent (clamped to 0..100)."""
    return min(100, max(0, int(percent))) / 100.0
