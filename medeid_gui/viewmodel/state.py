"""The viewer's state: the open scan, the series and frame shown, privacy levels, display windows.

Why here and not in the main window: these are decisions (which frame comes next, which display
window a newly loaded slice gets, which level a series keeps for the export) that deserve tests
without a display. The window calls the methods below on user actions and observes the events
to update its widgets; it holds no copy of this state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from medeid_gui.ml.privacy import Privacy, check_privacy, method_runs
from medeid_gui.ml.risk import RiskReadout

from .events import Event
from .pixel_method import NO_IMAGE, Gate, SeriesMethod, registry_gate
from .window_level import WindowLevel

if TYPE_CHECKING:
    from medeid_gui.dicom.studies import SeriesNode

    from .frames import FrameRef, LoadedFrame

#: file default + presets 1..9 (the number keys 0..9 of the View menu)
MAX_WINDOWS = 10

Rectangle = tuple[int, int, int, int]


@dataclass(frozen=True)
class ExportChoices:
    """What the export dialog starts with: the opened inputs and the levels chosen in the viewer."""

    inputs: list[Path]
    privacy: Privacy
    series_privacy: dict[str, Privacy] = field(default_factory=dict)
    rectangles: list[Rectangle] = field(default_factory=list)

    @property
    def method_runs(self) -> bool:
        """Whether the pixel method runs in an export with these levels."""
        return method_runs(self.privacy, self.series_privacy)


class ViewerModel:
    """State of the viewer and the callbacks that observe it (see :class:`~.events.Event`).

    Events: ``series_changed(SeriesNode | None)``, ``frame_loaded(LoadedFrame)``,
    ``privacy_changed(privacy)``, ``window_changed(WindowLevel)``, ``method_changed(SeriesMethod)``.

    ``gate`` decides per series whether the pixel method may run (default: the installed models'
    domains, :func:`~.pixel_method.registry_gate`).
    """

    def __init__(self, privacy: Privacy = 0.0, *, gate: Gate | None = None) -> None:
        self.inputs: list[Path] = []
        self.series: SeriesNode | None = None
        self.frames: list[FrameRef] = []
        self.index = 0
        self.current: LoadedFrame | None = None
        self.privacy: Privacy = check_privacy(privacy)
        #: original SeriesInstanceUID -> the privacy level last set while that series was shown
        self.series_privacy: dict[str, Privacy] = {}
        #: display windows of the frame shown: [file default (or from the data), presets...]
        self.windows: list[WindowLevel] = []
        #: the window on screen (None while no frame is shown)
        self.window: WindowLevel | None = None
        self._window_series: str | None = None
        self.gate: Gate = gate or registry_gate()
        #: the pixel method's verdict for the series shown
        self.method: SeriesMethod = NO_IMAGE
        self.method_changed: Event[SeriesMethod] = Event()
        self.series_changed: Event[SeriesNode | None] = Event()
        self.frame_loaded: Event[LoadedFrame] = Event()
        self.privacy_changed: Event[Privacy] = Event()
        self.window_changed: Event[WindowLevel] = Event()

    # -- what is open ---------------------------------------------------------------------
    def set_inputs(self, paths: list[Path]) -> None:
        """The paths of the last finished scan: what an export reads."""
        self.inputs = [Path(p) for p in paths]

    def set_series(self, series: SeriesNode | None) -> FrameRef | None:
        """Show ``series``; returns the frame to load first (the middle one), None if it has none.

        The series opens at privacy 0, or at the level last set for it in this session; outside
        every model's domain it stays at 0 (see :attr:`method`).
        """
        from .frames import series_frames

        self.series = series
        self.current = None  # the old series' frame: a result for it must not be shown now
        self.frames = series_frames(series)
        self.index = len(self.frames) // 2 if self.frames else 0
        if not self.frames:
            self.clear_frame()
        self.method = self._decide(self.frames[0] if self.frames else None)
        uid = self.frames[0].series_uid if self.frames else None
        self.privacy = self.series_privacy.get(uid, 0.0) if (uid and self.method.allowed) else 0.0
        self.series_changed.emit(series)
        self.method_changed.emit(self.method)
        self.privacy_changed.emit(self.privacy)
        return self.frames[self.index] if self.frames else None

    def redecide(self, gate: Gate | None = None) -> None:
        """Decide the series shown again, with ``gate`` (default: a fresh scan of the installed
        models) -- a model was trained or imported, so another model (or none) may now serve it."""
        self.gate = gate or registry_gate()
        self.method = self._decide(self.frames[0] if self.frames else None)
        if not self.method.allowed and self.privacy:
            self.privacy = 0.0
            self.privacy_changed.emit(self.privacy)
        self.method_changed.emit(self.method)

    def _decide(self, first: FrameRef | None) -> SeriesMethod:
        """The gate's verdict on the series' first instance (its header; no pixels read)."""
        if first is None:
            return NO_IMAGE
        from medeid_gui.dicom.read import read_header

        try:
            header = read_header(first.path)
        except Exception as exc:  # noqa: BLE001 - an unreadable header means no method, said why
            return SeriesMethod(False, f"the header could not be read ({exc})")
        return self.gate(header)

    # -- frames ---------------------------------------------------------------------------
    def select(self, i: int) -> FrameRef | None:
        """Make frame ``i`` of the series the one to show; None when out of range (ignored)."""
        if not 0 <= i < len(self.frames):
            return None
        self.index = i
        return self.frames[i]

    def stepped(self, delta: int) -> int | None:
        """The index ``delta`` slices away, clamped to the series; None without frames."""
        if not self.frames:
            return None
        return max(0, min(len(self.frames) - 1, self.index + delta))

    def is_current(self, key: object) -> bool:
        """Whether ``key`` (``FrameRef.key``) is the frame shown: results for others are stale."""
        return self.current is not None and key == self.current.ref.key

    def loaded(self, lf: LoadedFrame) -> WindowLevel:
        """``lf`` is now shown; returns the display window to show it with.

        A window the user adjusted is kept while scrolling within one series; a new series, or a
        frame after nothing was shown, starts at the file's default window (or, without one, the
        1st-99th percentile of the data).
        """
        default = WindowLevel.of(lf.window) if lf.window is not None else WindowLevel.from_data(lf.frame)
        adjusted = self.window is not None and bool(self.windows) and self.window != self.windows[0]
        previous, self._window_series = self._window_series, lf.ref.series_uid
        same_series = previous is not None and previous == self._window_series
        self.current = lf
        self.windows = ([default] + [WindowLevel.of(w) for w in lf.presets if w is not None])[:MAX_WINDOWS]
        self.window = self.window if (adjusted and same_series) else default
        self.frame_loaded.emit(lf)
        return self.window

    def clear_frame(self) -> None:
        """Nothing is on screen (a series without pixels, a frame that cannot be decoded)."""
        self.window = None

    # -- display window -------------------------------------------------------------------
    def set_window(self, window: WindowLevel) -> None:
        """The window on screen changed (a drag, a preset); observers update their readouts."""
        if window == self.window:
            return
        self.window = window
        self.window_changed.emit(window)

    def preset(self, k: int) -> WindowLevel | None:
        """Window ``k`` of the frame shown (0: the file's default), None when it has none."""
        return self.windows[k] if 0 <= k < len(self.windows) else None

    # -- privacy --------------------------------------------------------------------------
    def set_privacy(self, privacy: Privacy) -> None:
        """The slider's level; remembered for the series shown (the export's "per series").

        Outside the method's domain the level stays 0: a level above it is refused (ValueError),
        so no code path can change pixels the gate kept unchanged.
        """
        privacy = check_privacy(privacy)
        if privacy > 0 and self.series is not None and not self.method.allowed:
            raise ValueError(f"privacy must stay 0 for this series: {self.method.reason}")
        self.privacy = privacy
        uid = self.current.ref.series_uid if self.current is not None else None
        if uid:
            self.series_privacy[uid] = self.privacy
        self.privacy_changed.emit(self.privacy)

    def risk(self) -> RiskReadout:
        """The re-identification risk readout at the level shown ("not assessed" outside a domain)."""
        return self.method.risk(self.privacy)

    # -- export ---------------------------------------------------------------------------
    def export_choices(self, rectangles: list[Rectangle] | None = None) -> ExportChoices:
        """The export dialog's starting values (copies: the dialog may change its own)."""
        return ExportChoices(list(self.inputs), self.privacy, dict(self.series_privacy), list(rectangles or []))
