"""The main window: study browser | side-by-side viewer | header and burned-in text panels.

Why it holds no business logic and no state of its own: every decision (which frames, what the
header becomes, how the pixels change, what an export writes) is made by the core packages, and
what is shown and chosen (series, frame, privacy levels, display windows) lives in the headless
:class:`~medeid_gui.viewmodel.state.ViewerModel`. The window lays out widgets, wires user actions
to the model and to background runners, and shows what comes back.
"""

from __future__ import annotations

# numpy is imported where it is used: it is not needed to put the window on screen
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from medeid_gui.ml.privacy import Privacy
from medeid_gui.viewmodel.demo import demo_paths
from medeid_gui.viewmodel.frames import FrameLoader, FrameRef, LoadedFrame
from medeid_gui.viewmodel.state import ViewerModel
from medeid_gui.viewmodel.window_level import WindowLevel

from .actions import install_actions
from .bridge import LatestRunner
from .browser import StudyBrowser
from .engine_adapter import EngineAdapter, PrivacyResult
from .errors import show_error
from .header_panel import HeaderPanel
from .opening import OpeningMixin
from .privacy_wiring import PrivacyMixin
from .scan import ScanJob
from .settings import Settings

if TYPE_CHECKING:
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMenu
    from superqt.utils import GeneratorWorker

    from medeid_gui.dicom.studies import SeriesNode
    from medeid_gui.ml.model import MedeidModel
    from medeid_gui.viewmodel.frames import LoadedFrame
    from medeid_gui.viewmodel.pixel_method import Gate

    from .export_dialog import ExportDialog
    from .privacy_panel import PrivacyPanel
    from .textboxes import TextBoxEditor
    from .viewer import SideBySideViewer

__all__ = ["MainWindow", "demo_paths"]  # demo_paths: where tests and scripts have found it

log = logging.getLogger("medeid.ui")



class MainWindow(PrivacyMixin, OpeningMixin):
    """Signals are mainly for tests and the screenshot script (what has been shown, and when)."""

    painted = Signal()  #: the first frame is on screen (the shell; the viewer follows)
    shown = Signal()  #: the window is complete (viewer built); torch starts loading now
    scanFinished = Signal(object)  # ScanResult
    frameShown = Signal(object)  # LoadedFrame
    resultShown = Signal(object)  # PrivacyResult

    # actions, made by actions.install_actions
    act_open_dir: QAction
    act_open_dicomdir: QAction
    act_open_files: QAction
    act_demo: QAction
    act_export: QAction
    act_quit: QAction
    act_idmap: QAction
    act_mask: QAction
    act_diff: QAction
    act_reset: QAction
    act_next: QAction
    act_prev: QAction
    act_next2: QAction
    act_prev2: QAction
    act_priv_up: QAction
    act_priv_down: QAction
    act_priv_max: QAction
    act_priv_min: QAction
    recent_menu: QMenu
    window_menu: QMenu
    window_actions: list[QAction]
    body_actions: list[QAction]

    def __init__(self, settings: Settings | None = None, *, device: str | None = None,
                 model: MedeidModel | None = None, auto_ocr: bool = True, gate: Gate | None = None) -> None:
        """``model``: a ``MedeidModel`` to run instead of the shipped weights (a site's own, tests).

        ``gate``: which series the pixel method may run on (default: the installed models' domains).
        Every series opens at privacy 0 (or the level last set for it): no stored start level.

        ``auto_ocr``: look for burned-in text on every image shown (the panel's check box).
        """
        super().__init__()
        self.settings = settings or Settings()
        self.setWindowTitle("medeid — medical image de-identification")
        self.setObjectName("medeidMainWindow")
        self.setAcceptDrops(True)
        self._shown_once = False
        self._scan: ScanJob | None = None
        self._thumb_worker: GeneratorWorker | None = None
        self.model = ViewerModel(gate=gate)
        self.device = device or self.settings.device
        self._engine_model = model
        self._model_dir: str | None = None  #: the site model the series shown needs (None: shipped)
        self._gate_injected = gate is not None
        self._auto_ocr = auto_ocr
        self._export_dialog: ExportDialog | None = None
        self._build_services()
        # Built in two steps: what needs only Qt now; the viewer, the privacy slider and the
        # burned-in text editor (pyqtgraph, superqt: ~1 s of imports on a slow machine) right
        # after the first paint, in _build_body(). The window is on screen and usable (menus,
        # opening, scanning, the browser) while they load.
        self.viewer: SideBySideViewer | None = None
        self.privacy: PrivacyPanel | None = None
        self.textboxes: TextBoxEditor | None = None
        self._pending_series: SeriesNode | None = None
        self._build_shell()
        self._build_status_bar()
        install_actions(self)
        self._observe_model()
        geo = self.settings.geometry()
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1600, 920)

    @property
    def series_privacy(self) -> dict[str, Privacy]:
        """Original SeriesInstanceUID -> the privacy level last set while that series was shown."""
        return self.model.series_privacy

    # ---------------------------------------------------------------------------------------
    # construction
    def _build_services(self) -> None:
        """Frame decoding and the inference engine, each behind a latest-wins worker."""
        self.loader = FrameLoader()
        self.frame_runner = LatestRunner("frames", self)
        self.frame_runner.finished.connect(self._on_frame_loaded)
        self.frame_runner.failed.connect(self._on_frame_failed)
        self.engine = EngineAdapter(self)
        self.engine.ready.connect(self._on_engine_ready)
        self.engine.unavailable.connect(self._on_engine_unavailable)
        self.engine.resultReady.connect(self._on_result)
        self.engine.failed.connect(lambda m, d: show_error(self, "De-identification failed", m, d))
        self.engine.busyChanged.connect(lambda b: self.privacy is not None and self.privacy.set_busy(b))
        self.engine.metricsReady.connect(self._on_metrics)
        self._metrics_for: tuple[LoadedFrame, PrivacyResult] | None = None
        self._metrics_timer = QTimer(self)
        self._metrics_timer.setSingleShot(True)
        self._metrics_timer.setInterval(200)
        self._metrics_timer.timeout.connect(self._request_metrics)

    def _build_shell(self) -> None:
        """Browser | placeholder | header tabs: what is on screen at the first paint."""
        self.browser = StudyBrowser()
        self.browser.setMinimumWidth(300)
        self.browser.seriesActivated.connect(self.show_series)
        self.slice_slider = QSlider(Qt.Orientation.Horizontal)
        self.slice_slider.setObjectName("sliceSlider")
        self.slice_slider.setRange(0, 0)
        self.slice_slider.setEnabled(False)
        self.slice_slider.valueChanged.connect(self.show_frame)
        self.slice_label = QLabel("no image")
        self.slice_label.setFixedWidth(330)
        self.window_label = QLabel("")
        self.window_label.setFixedWidth(150)
        self.header_panel = HeaderPanel(self.settings)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("sideTabs")
        self.tabs.addTab(self.header_panel, "Header")
        self._placeholder = QLabel("Loading the image viewer…")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.browser)
        split.addWidget(self._placeholder)
        split.addWidget(self.tabs)
        for k in range(3):
            split.setCollapsible(k, False)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 1)
        split.setSizes([330, 900, 430])
        self.splitter = split
        body = QWidget()
        self._body_layout = QVBoxLayout(body)
        self._body_layout.setContentsMargins(4, 4, 4, 4)
        self._body_layout.setSpacing(4)
        self._body_layout.addWidget(split, 1)
        self.setCentralWidget(body)

    def _build_status_bar(self) -> None:
        self.scan_bar = QProgressBar()
        self.scan_bar.setObjectName("scanProgress")
        self.scan_bar.setMaximumWidth(220)
        self.scan_bar.setVisible(False)
        self.scan_cancel = QPushButton("Cancel scan")
        self.scan_cancel.setObjectName("scanCancel")
        self.scan_cancel.setVisible(False)
        self.scan_cancel.clicked.connect(self.cancel_scan)
        self.hover_label = QLabel("")
        self.hover_label.setFixedWidth(330)
        self.statusBar().addPermanentWidget(self.hover_label)
        self.statusBar().addPermanentWidget(self.scan_bar)
        self.statusBar().addPermanentWidget(self.scan_cancel)

    def _observe_model(self) -> None:
        self.model.window_changed.connect(self._show_window_readout)
        self._observe_privacy()

    def _build_body(self) -> None:
        """Second construction step (after the first paint): viewer, privacy panel, text boxes."""
        if self.viewer is not None:
            return
        from .privacy_panel import PrivacyPanel
        from .textboxes import TextBoxEditor
        from .viewer import SideBySideViewer

        self.viewer = SideBySideViewer()
        self.viewer.hovered.connect(self._on_hover)
        self.viewer.windowChanged.connect(self.model.set_window)
        self._place_viewer(self.viewer)
        self.textboxes = TextBoxEditor(self.viewer.original.vb)
        self.textboxes.auto.setChecked(self._auto_ocr)
        self.tabs.addTab(self.textboxes.panel, "Burned-in text")
        self.privacy = PrivacyPanel()
        self._connect_panel(self.privacy)
        self.privacy.set_device("engine: loading…", ok=True)
        self._body_layout.insertWidget(0, self.privacy)
        for a in self.body_actions:
            a.setEnabled(True)
        for a, fn in ((self.act_idmap, self.viewer.set_show_idmap), (self.act_mask, self.viewer.set_show_mask),
                      (self.act_diff, self.viewer.set_difference)):
            a.toggled.connect(fn)
            fn(a.isChecked())
        if self._pending_series is not None:
            series, self._pending_series = self._pending_series, None
            self.show_series(series)

    def _place_viewer(self, viewer: SideBySideViewer) -> None:
        """The viewer and the slice navigation row replace the placeholder in the splitter."""
        nav = QHBoxLayout()
        nav.setContentsMargins(4, 0, 4, 0)
        nav.addWidget(QLabel("Slice"))
        nav.addWidget(self.slice_slider, 1)
        nav.addWidget(self.slice_label)
        nav.addWidget(self.window_label)
        # held on self: QSplitter.replaceWidget does not take ownership in PySide6, a local would be
        # garbage-collected (with the viewer inside it) when this method returns
        self.center = center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(2)
        cl.addWidget(viewer, 1)
        cl.addLayout(nav)
        self.splitter.replaceWidget(1, center)
        self._placeholder.deleteLater()
        total = max(sum(self.splitter.sizes()), 900)
        left, right = max(340, int(total * 0.22)), max(380, int(total * 0.27))
        self.splitter.setSizes([left, total - left - right, right])

    # ---------------------------------------------------------------------------------------
    # lifecycle
    def showEvent(self, ev: QShowEvent) -> None:
        super().showEvent(ev)
        if not self._shown_once:
            self._shown_once = True
            QTimer.singleShot(0, self._after_first_show)

    def _after_first_show(self) -> None:
        handle = self.windowHandle()
        if handle is not None and not handle.isExposed():  # not mapped by the window system yet
            QTimer.singleShot(5, self._after_first_show)
            return
        self.repaint()  # the first frame, painted now (the shell: menus, browser, header panel)
        self.painted.emit()
        QTimer.singleShot(0, self._complete_start)

    def _complete_start(self) -> None:
        self._build_body()
        self.shown.emit()
        # torch and the networks load only now, in a worker thread, after the window is visible
        self.engine.load(self.device, model=self._engine_model, model_dir=self._model_dir)

    def closeEvent(self, ev: QCloseEvent) -> None:
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self._metrics_timer.stop()
        training = getattr(self, "train_dialog", None)
        if training is not None:
            training.close()  # stops a running training child (Start resumes it next time)
        self.cancel_scan()
        self.stop_thumbnails()
        self.frame_runner.shutdown()
        self.header_panel.shutdown()
        if self.textboxes is not None:
            self.textboxes.shutdown()
        self.engine.shutdown()
        super().closeEvent(ev)

    def set_device(self, name: str) -> None:
        self.device = name
        self.settings.device = name
        if self.privacy is not None:
            self.privacy.set_device("engine: loading…")
        self.engine.load(name, model=self._engine_model, model_dir=self._model_dir)

    # ---------------------------------------------------------------------------------------
    # series, frames, display window
    def show_series(self, series: SeriesNode) -> None:
        if self.viewer is None:  # the viewer is still being built: show it right after
            self._pending_series = series
            return
        first = self.model.set_series(series)
        n = len(self.model.frames)
        self.slice_slider.blockSignals(True)
        self.slice_slider.setRange(0, max(0, n - 1))
        self.slice_slider.setValue(self.model.index)
        self.slice_slider.blockSignals(False)
        self.slice_slider.setEnabled(n > 1)
        if first is None:
            self.viewer.set_original(None)
            self.slice_label.setText("no pixel data in this series")
            self.header_panel.set_dataset(None)
            return
        self.show_frame(self.model.index)

    def step_slice(self, delta: int) -> None:
        i = self.model.stepped(delta)
        if i is not None:
            self.slice_slider.setValue(i)

    def show_frame(self, i: int) -> None:
        ref = self.model.select(i)
        if ref is None:
            return
        self.slice_label.setText(f"{i + 1} / {len(self.model.frames)}  (loading…)")
        self.frame_runner.submit(lambda ref=ref: self.loader.load(ref), tag=(i, ref))

    def _on_frame_failed(self, tag: tuple[int, FrameRef], message: str, details: str) -> None:
        _i, ref = tag
        self.model.clear_frame()
        self.viewer.set_original(None)
        self.slice_label.setText("cannot decode")
        show_error(self, "Cannot show image", f"{ref.path.name}: {message}", details)

    def _on_frame_loaded(self, tag: tuple[int, FrameRef], lf: LoadedFrame, seconds: float) -> None:
        i, ref = tag
        use = self.model.loaded(lf)
        windows = self.model.windows
        for k, a in enumerate(self.window_actions):
            a.setEnabled(k < len(windows))
            if k < len(windows):
                w = windows[k]
                a.setText(f"{'File default' if k == 0 else f'Preset {k}'}: C {w.center:g} / W {w.width:g}")
        self.viewer.set_original(lf.frame, use, invert=lf.invert)
        self._show_window_readout(use)
        self.slice_label.setText(
            f"{i + 1} / {len(self.model.frames)}  {ref.path.name}"
            + (f" [frame {ref.index + 1}/{lf.n_frames}]" if lf.n_frames > 1 else "")
        )
        self.header_panel.set_dataset(lf.header)
        self.textboxes.set_image(ref.key, lf.frame, lf.header)
        self.frameShown.emit(lf)
        self.request_privacy()

    def apply_window_preset(self, k: int) -> None:
        w = self.model.preset(k)
        if w is not None:
            self.viewer.set_window(w)  # the viewer reports it back: model.set_window

    def reset_zoom(self) -> None:
        if self.viewer is not None:
            self.viewer.original.vb.autoRange(padding=0.0)

    def _show_window_readout(self, w: WindowLevel) -> None:
        self.window_label.setText(f"C {w.center:.0f}  W {w.width:.0f}")

    def _on_hover(self, x: int, y: int, a: float, b: float) -> None:
        self.hover_label.setText(f"x {x}  y {y}   original {a:.1f}   right {b:.1f}")

    # ---------------------------------------------------------------------------------------
    # export
    def input_paths(self) -> list[Path]:
        return list(self.model.inputs)

    def export_dialog(self) -> ExportDialog:
        from .export_dialog import ExportDialog

        choices = self.model.export_choices(self.textboxes.export_rectangles() if self.textboxes else [])
        dlg = ExportDialog(self, inputs=choices.inputs, settings=self.settings, options_from=self.header_panel.editor,
                           privacy=choices.privacy, series_privacy=choices.series_privacy,
                           rectangles=choices.rectangles)
        dlg.show()
        self._export_dialog = dlg
        return dlg
