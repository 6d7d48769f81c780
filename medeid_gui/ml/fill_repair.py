"""Repairs of the compensator's fill before it is written into the blocked patches of a frame.

Why (issue #14, measured by ``lab.fill_quality`` on the real CR chest RG1): the raw fill had a
periodic texture, hard seams at the block borders and a brightness unrelated to the image around
it.  What :func:`repair_fill` does about each, and why only the first is repaired:

* **Checkerboard**: the compensator's last stage ``pixel_shuffle`` interleaves 4 channels into
  2 x 2 pixels; when they disagree that is a 2-pixel period at the working resolution, which the
  bilinear up-sampling to 2k turns into a ~30-px grid.  :func:`nyquist_notch` (binomial filter,
  zero response at exactly that period) removes it at its source frequency and
  :func:`upsample_smooth` (cubic spline) replaces the bilinear resize, which is kinked at every
  working pixel.
* **Seams and brightness jumps are not corrected, on purpose.**  Corrections that read the
  surroundings or the original's mean (``lab.fill_fix``: harmonic surround offset, border
  feather, mean anchor) met every fill-quality bound on RG1, but on the generated cohort they
  raised the attacker's AUC and destroyed the lesion burden: they paint the patient's own
  anatomy back into the blocked patches (figures in ``lab.fill_fix``).  So the fill is the
  model's alone; where its brightness is wrong the model is outside its training distribution,
  which the familiarity gate reports (and the export then keeps the pixels) rather than disguises.

Privacy rule: :func:`repair_fill` reads nothing of the original but its shape.  Only blocked
pixels are ever written (the caller composes), so unblocked pixels stay bit-identical.

Plain numpy, no torch and no scipy (the packaged app ships neither for this): ``ml.deidentify``
and ``ml.engine`` call :func:`repair_fill` with the working-resolution fill as a numpy array;
``lab.fill_fix`` re-exports the steps for measurement.
"""

from __future__ import annotations

import numpy as np

from .spline_resize import resize_cubic

__all__ = ["nyquist_notch", "upsample_smooth", "repair_fill", "REPAIR_VERSION"]

#: bumped whenever a repair step changes its output, so that cached evaluation results and
#: resumed exports are never mixed across two versions of the fill
REPAIR_VERSION = "2"


def nyquist_notch(fill_work: np.ndarray) -> np.ndarray:
    """Separable binomial [1, 2, 1] / 4 filter of the working-resolution fill (edge-reflected).

    Why this filter: its response is cos^2(pi f), exactly 0 at the 2-pixel period the
    pixel-shuffle output stage produces and ~1 at the anatomy's scale.
    """
    f = np.asarray(fill_work, dtype=np.float64)
    p = np.pad(f, 1, mode="reflect")
    rows = (p[:-2, :] + 2.0 * p[1:-1, :] + p[2:, :]) / 4.0
    return (rows[:, :-2] + 2.0 * rows[:, 1:-1] + rows[:, 2:]) / 4.0


def upsample_smooth(fill_work: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Cubic-spline resize of a working-resolution image to ``shape`` (pixel-area aligned, as
    ``F.interpolate(align_corners=False)``); continuous slopes, so no grid at the working pitch.

    Bit for bit scipy's ``ndimage.zoom(order=3, mode="grid-mirror", grid_mode=True)``, which it
    was until repair version 2 was evaluated, computed by :mod:`ml.spline_resize` in numpy so
    that the app does not ship scipy."""
    return resize_cubic(fill_work, shape)


def repair_fill(original: np.ndarray, fill_work: np.ndarray, mask: np.ndarray, *,
                patch: float | None = None) -> np.ndarray:
    """Full-resolution fill in [0, 1] from the compensator's working-resolution fill: the
    checkerboard removed at its source frequency (:func:`nyquist_notch`) and a cubic-spline
    up-sampling (:func:`upsample_smooth`); nothing borrowed from the original.

    ``original`` (the frame's working image at full resolution) gives only the output shape;
    ``fill_work``: (R, R) fill; ``mask``: full-resolution blocked pixels; ``patch`` is accepted
    for the callers' sake and unused.  The caller writes only ``mask`` pixels.  Why no
    brightness or seam correction: see the module docstring (measured on the cohort, every
    correction that reads the surroundings or the original's mean re-identifies and destroys
    the lesion burden).
    """
    del patch, mask
    shape = (int(np.shape(original)[0]), int(np.shape(original)[1]))
    return np.clip(upsample_smooth(nyquist_notch(fill_work), shape), 0.0, 1.0)
