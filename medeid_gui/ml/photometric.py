"""Grey sense of the method's input: the networks were trained on MONOCHROME2 images.

Why: in MONOCHROME1 (most CR and some DX, e.g. pydicom-data's RG1) the lowest stored value is
shown white, so a working image taken from the stored values is the negative of what the model
learned; it then fills a negative chest (on RG1 the fill's mean moved by 0.34 of the window at
p = 1).  Every caller that feeds the method -- the export's ``pixels.clean.PrivacyPlan`` and the
GUI's preview -- turns its [0, 1] working image into the MONOCHROME2 sense with
:func:`to_model_sense` and the method's output back with :func:`from_model_sense`.
Inversion is exact in float ([0, 1] maps to itself), so unblocked pixels come back unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from medeid_gui.ml.deidentify import DeidOutput

__all__ = ["inverted", "to_model_sense", "from_model_sense"]


def inverted(photometric: str) -> bool:
    """True when images of this Photometric Interpretation must be inverted for the model."""
    return str(photometric or "").strip().upper() == "MONOCHROME1"


def to_model_sense(work: np.ndarray, photometric: str) -> np.ndarray:
    """A [0, 1] working image in the model's (MONOCHROME2) sense: ``1 - work`` for MONOCHROME1."""
    a = np.asarray(work)
    return (np.float32(1.0) - a.astype(np.float32, copy=False)) if inverted(photometric) else a


def from_model_sense(result: DeidOutput, photometric: str) -> DeidOutput:
    """The method's output back in the image's own sense (the frame inverted again for
    MONOCHROME1; the identity map and the mask are sense-free)."""
    if not inverted(photometric):
        return result
    frame = np.asarray(result[0])
    back = (np.float32(1.0) - frame.astype(np.float32, copy=False)).astype(frame.dtype, copy=False)
    return type(result)(back, result[1], result[2]) if hasattr(result, "_fields") else (back, result[1], result[2])
