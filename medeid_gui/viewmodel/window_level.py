"""The display window (VOI center/width) as the viewer uses it.

Why its own module: the view model and the main window need it before pyqtgraph is imported
(the viewer is built after the first paint to keep start-up short); Qt-free, so it lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from medeid_gui.dicom.frames import Window


@dataclass(frozen=True)
class WindowLevel:
    """Display window, in modality units (after rescale)."""

    center: float
    width: float

    @property
    def levels(self) -> tuple[float, float]:
        w = max(float(self.width), 1e-6)
        return (float(self.center) - w / 2.0, float(self.center) + w / 2.0)

    @classmethod
    def of(cls, window: Window | WindowLevel) -> WindowLevel:
        """A file's ``dicom.frames.Window`` (or another level) as the viewer's level."""
        return cls(float(window.center), float(window.width))

    @classmethod
    def from_data(cls, frame: np.ndarray) -> WindowLevel:
        """Fallback when a file has no window: 1st–99th percentile of the frame."""
        import numpy as np

        finite = frame[np.isfinite(frame)]
        if finite.size == 0:
            return cls(0.0, 1.0)
        lo, hi = np.percentile(finite[:: max(1, finite.size // 65536)], [1, 99])
        if hi <= lo:
            lo, hi = float(finite.min()), float(finite.max()) + 1.0
        return cls((lo + hi) / 2.0, hi - lo)
