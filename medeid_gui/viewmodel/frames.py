"""Which frames a series has, and loading one of them off the GUI thread.

Why: a series is a list of instances, some multi-frame; the slice slider walks one flat list of
(instance, frame) pairs. The GUI runs :meth:`FrameLoader.load` in a latest-wins worker so scrolling
through a JPEG 2000 series never stalls the window, and only the slice now shown is decoded.
Qt-free (it moved here from ui/): the view model and its tests use it without a display.
"""

from __future__ import annotations

# numpy is imported where it is used: it is not needed to put the window on screen
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydicom loads with the first scan, not with the window
    import numpy as np
    from pydicom.dataset import Dataset

    from medeid_gui.dicom.discover import InstanceRef
    from medeid_gui.dicom.frames import FrameSource, Window
    from medeid_gui.dicom.studies import SeriesNode

@dataclass(frozen=True)
class FrameRef:
    """One displayable frame: a file and a 0-based frame index inside it."""

    path: Path
    index: int
    instance: InstanceRef | None = field(default=None, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, int]:
        return (str(self.path), self.index)

    @property
    def series_uid(self) -> str | None:
        """The original SeriesInstanceUID of the file, when it came from a scan."""
        return self.instance.series_uid if self.instance is not None else None


def series_frames(series: SeriesNode | None) -> list[FrameRef]:
    """Flatten a SeriesNode into frames, in instance order, then frame order."""
    out: list[FrameRef] = []
    for inst in series.instances if series is not None else []:
        if not inst.has_pixels:
            continue
        n = max(1, int(inst.number_of_frames or 1))
        out.extend(FrameRef(Path(inst.path), i, inst) for i in range(n))
    return out


@dataclass
class LoadedFrame:
    """A decoded frame and what the viewer and header panel need about its file."""

    ref: FrameRef
    frame: np.ndarray
    n_frames: int
    window: Window | None
    presets: list[Window]
    invert: bool
    is_color: bool
    header: Dataset  # without pixel data (for describe())
    seconds: float = 0.0


class FrameLoader:
    """Decodes frames; keeps a few FrameSources open. Used from one worker thread only."""

    def __init__(self, capacity: int = 6) -> None:
        self.capacity = capacity
        self._sources: OrderedDict[str, FrameSource] = OrderedDict()
        self._headers: OrderedDict[str, Dataset] = OrderedDict()

    def _source(self, path: Path) -> FrameSource:
        from medeid_gui.dicom.frames import FrameSource

        k = str(path)
        src = self._sources.pop(k, None)
        if src is None:
            src = FrameSource(path)
        self._sources[k] = src
        while len(self._sources) > self.capacity:
            self._sources.popitem(last=False)
        return src

    def _header(self, path: Path) -> Dataset:
        from medeid_gui.dicom.read import read_header

        k = str(path)
        ds = self._headers.pop(k, None)
        if ds is None:
            ds = read_header(path)
        self._headers[k] = ds
        while len(self._headers) > self.capacity:
            self._headers.popitem(last=False)
        return ds

    def load(self, ref: FrameRef) -> LoadedFrame:
        import time

        import numpy as np

        t0 = time.perf_counter()
        src = self._source(ref.path)
        frame = np.ascontiguousarray(src.frame(ref.index), dtype=np.float32)
        try:
            window = src.default_window()
        except Exception:  # noqa: BLE001 - a window is a display nicety, never a load failure
            window = None
        try:
            presets = list(src.window_presets())
        except Exception:  # noqa: BLE001 - malformed presets mean no presets
            presets = []
        return LoadedFrame(
            ref=ref,
            frame=frame,
            n_frames=int(src.n_frames),
            window=window,
            presets=presets,
            invert=bool(src.invert_display),
            is_color=bool(src.is_color),
            header=self._header(ref.path),
            seconds=time.perf_counter() - t0,
        )

    def clear(self) -> None:
        self._sources.clear()
        self._headers.clear()
