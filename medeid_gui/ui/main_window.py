"""The main window: study browser | side-by-side viewer | header and burned-in text panels.

Why it holds no business logic: every decision (which frames, what the header becomes, how the
pixels change, what an export writes) is made by the core packages; the window wires user
actions to them through background runners and shows what comes back.
"""

from __future__ import annotations

# numpy is imported where it is used: it is not needed to put the window on screen

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from .bridge import LatestRunner
from .browser import StudyBrowser
from .engine_adapter import EngineAdapter, PrivacyResult
from .errors import show_error
from .frames import FrameLoader, FrameRef, LoadedFrame, series_frames
from .header_panel import HeaderPanel
from .scan import ScanJob, ScanResult, start_thumbnails
from .settings import Settings
from .window_level import WindowLevel

if TYPE_CHECKING:
    from .privacy_panel import PrivacyPanel
    from .textboxes import TextBoxEditor
    from .viewer import SideBySideViewer

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("medeid.ui")


def demo_paths() -> list[Path]:
    """The bundled demo cohort (``resources/demo``) plus a few of pydicom's sample files."""
    out: list[Path] = []
    try:
        from medeid_gui._resources import resource

        demo = resource("demo")
        if demo.is_dir() and any(p.is_file() and p.name != "README.md" for p in demo.rglob("*")):
            out.append(demo)
    except FileNotFoundError:
        pass
    try:
        from pydicom.data import get_testdata_file

        for name in ("CT_small.dcm", "MR_small.dcm", "emri_small.dcm", "SC_rgb_small_odd.dcm"):
            try:
                p = get_testdata_file(name, download=False)  # never reach the network
            except Exception:  # noqa: BLE001 - a missing optional sample is not an error
                p = None
            if p:
                out.append(Path(str(p)))
    except ImportError:  # pragma: no cover
        pass
    return out


class MainWindow(QMainWindow):
    """Signals are mainly for tests and the screenshot script (what has been shown, and when)."""

    painted = Signal()  #: the first frame is on screen (the shell; the viewer follows)
    shown = Signal()  #: the window is complete (viewer built); torch starts loading now
    scanFinished = Signal(object)  # ScanResult
    frameShown = Signal(object)  # LoadedFrame
    resultShown = Signal(object)  # PrivacyResult

    def __init__(
        self, settings: Settings | None = None, *, device: str | None = None, model: Any = None, auto_ocr: bool = True
    ) -> None:
        """``model``: a ``MedeidModel`` to run instead of the shipped weights (a site's own, tests).

        ``auto_ocr``: look for burned-in text on every image shown (the panel's check box).
        """
        super().__init__()
        self.settings = settings or Settings()
        self.setWindowTitle("medeid — medical image de-identification")
        self.setObjectName("medeidMainWindow")
        self.setAcceptDrops(True)
        self._shown_once = False
        self._scan: ScanJob | None = None
        self._thumb_worker: Any = None
        self._last_scan: ScanResult | None = None
        self._frames: list[FrameRef] = []
        self._current: LoadedFrame | None = None
        self._windows: list[WindowLevel] = []
        self._series: Any = None
        #: original SeriesInstanceUID -> the privacy level last set while that series was shown
        self.series_privacy: dict[str, float] = {}

        # -- services -----------------------------------------------------------------------
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
        self._device = device or self.settings.device
        self._metrics_for: tuple[np.ndarray, PrivacyResult] | None = None
        self._metrics_timer = QTimer(self)
        self._metrics_timer.setSingleShot(True)
        self._metrics_timer.setInterval(200)
        self._metrics_timer.timeout.connect(self._request_metrics)
        self._engine_model = model
        self._auto_ocr = auto_ocr

        # -- widgets ------------------------------------------------------------------------
        # Built in two steps: what needs only Qt now; the viewer, the privacy slider and the
        # burned-in text editor (pyqtgraph, superqt: ~1 s of imports on a slow machine) right
        # after the first paint, in _build_body(). The window is on screen and usable (menus,
        # opening, scanning, the browser) while they load.
        self.viewer: SideBySideViewer | None = None
        self.privacy: PrivacyPanel | None = None
        self.textboxes: TextBoxEditor | None = None
        self._pending_series: Any = None
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

        # -- status bar ---------------------------------------------------------------------
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

        self._build_actions()
        geo = self.settings.geometry()
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1600, 920)

    # ---------------------------------------------------------------------------------------
    # actions, menus, shortcuts
    def _act(self, text: str, slot, shortcut: str | QKeySequence | None = None, *, checkable: bool = False, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setCheckable(checkable)
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        if slot is not None:
            (a.toggled if checkable else a.triggered).connect(slot)
        self.addAction(a)  # shortcuts work whichever panel has focus
        return a

    def _build_actions(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self.act_open_dir = self._act("Open &Folder…", self.open_folder_dialog, QKeySequence.StandardKey.Open)
        self.act_open_dicomdir = self._act("Open &DICOMDIR…", self.open_dicomdir_dialog)
        self.act_open_files = self._act("Open F&iles…", self.open_files_dialog, "Ctrl+Shift+O")
        self.act_demo = self._act("Open De&mo Studies", self.open_demo)
        self.recent_menu = QMenu("Open &Recent", self)
        self._refresh_recent()
        self.act_export = self._act("&Export…", self.export_dialog, "Ctrl+E", tip="De-identify the opened studies to a folder")
        self.act_export.setEnabled(False)
        self.act_quit = self._act("&Quit", self.close, QKeySequence.StandardKey.Quit)
        for a in (self.act_open_dir, self.act_open_dicomdir, self.act_open_files, self.act_demo):
            f.addAction(a)
        f.addMenu(self.recent_menu)
        f.addSeparator()
        f.addAction(self.act_export)
        f.addSeparator()
        f.addAction(self.act_quit)

        v = mb.addMenu("&View")
        self.act_idmap = self._act("&Identity Map Overlay", None, "I", checkable=True,
                                   tip="Heat map of identity relevance over the original")
        self.act_mask = self._act("&Blocked Mask", None, "M", checkable=True,
                                  tip="Tint the patches the privacy level blocks")
        self.act_diff = self._act("&Difference View", None, "D", checkable=True,
                                  tip="Show de-identified − original on the right")
        self.act_reset = self._act("&Reset Zoom", lambda: self.viewer.original.vb.autoRange(padding=0.0), "R")
        self.act_next = self._act("&Next Slice", lambda: self.step_slice(1), "PgDown")
        self.act_prev = self._act("&Previous Slice", lambda: self.step_slice(-1), "PgUp")
        self.act_next2 = self._act("Next Slice (alt)", lambda: self.step_slice(1), ".")
        self.act_prev2 = self._act("Previous Slice (alt)", lambda: self.step_slice(-1), ",")
        for a in (self.act_idmap, self.act_mask, self.act_diff):
            v.addAction(a)
        v.addSeparator()
        v.addAction(self.act_reset)
        v.addAction(self.act_next)
        v.addAction(self.act_prev)
        v.addSeparator()
        self.window_menu = v.addMenu("&Window Presets")
        self._window_actions: list[QAction] = []
        for k in range(10):  # 0 = the file's default window, 1..9 = its presets
            a = self._act(f"Preset {k}", lambda _=False, k=k: self.apply_window_preset(k), str(k))
            a.setEnabled(False)
            self._window_actions.append(a)
            self.window_menu.addAction(a)

        p = mb.addMenu("&Privacy")
        self.act_priv_up = self._act("Increase 5 %", lambda: self.privacy.step(5), "]")
        self.act_priv_down = self._act("Decrease 5 %", lambda: self.privacy.step(-5), "[")
        self.act_priv_max = self._act("100 %", lambda: self.privacy.set_percent(100), "Ctrl+]")
        self.act_priv_min = self._act("0 % (original pixels)", lambda: self.privacy.set_percent(0), "Ctrl+[")
        for a in (self.act_priv_up, self.act_priv_down, self.act_priv_max, self.act_priv_min):
            p.addAction(a)
        #: actions that need the viewer / privacy panel: enabled once _build_body() has run
        self._body_actions = [self.act_idmap, self.act_mask, self.act_diff, self.act_reset, self.act_priv_up,
                              self.act_priv_down, self.act_priv_max, self.act_priv_min]
        for a in self._body_actions:
            a.setEnabled(False)
        p.addSeparator()
        dev = p.addMenu("Inference &Device")
        group = QActionGroup(self)
        for name in ("auto", "cpu", "cuda", "mps"):
            a = QAction(name, self, checkable=True)
            a.setChecked(name == (self._device or "auto"))
            a.triggered.connect(lambda _=False, n=name: self.set_device(n))
            group.addAction(a)
            dev.addAction(a)

        h = mb.addMenu("&Help")
        h.addAction(self._act("Open &Log Folder", self.open_log_folder))
        h.addAction(self._act("&About", self.about))

        tb = QToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        for a in (self.act_open_dir, self.act_open_files, self.act_export):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.act_idmap, self.act_mask, self.act_diff, self.act_reset):
            tb.addAction(a)
        self.addToolBar(tb)

    # ---------------------------------------------------------------------------------------
    # lifecycle
    def _build_body(self) -> None:
        """Second construction step (after the first paint): viewer, privacy panel, text boxes."""
        if self.viewer is not None:
            return
        from .privacy_panel import PrivacyPanel
        from .textboxes import TextBoxEditor
        from .viewer import SideBySideViewer

        self.viewer = SideBySideViewer()
        self.viewer.hovered.connect(self._on_hover)
        self.viewer.windowChanged.connect(self._on_window_changed)
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
        cl.addWidget(self.viewer, 1)
        cl.addLayout(nav)
        self.splitter.replaceWidget(1, center)
        self._placeholder.deleteLater()
        total = max(sum(self.splitter.sizes()), 900)
        left, right = max(340, int(total * 0.22)), max(380, int(total * 0.27))
        self.splitter.setSizes([left, total - left - right, right])

        self.textboxes = TextBoxEditor(self.viewer.original.vb)
        self.textboxes.auto.setChecked(self._auto_ocr)
        self.tabs.addTab(self.textboxes.panel, "Burned-in text")
        self.privacy = PrivacyPanel()
        self.privacy.set_percent(self.settings.privacy)
        self.privacy.privacyChanged.connect(self._on_privacy_changed)
        self.privacy.set_device("engine: loading…", ok=True)
        self._body_layout.insertWidget(0, self.privacy)
        for a in self._body_actions:
            a.setEnabled(True)
        for a, fn in ((self.act_idmap, self.viewer.set_show_idmap), (self.act_mask, self.viewer.set_show_mask),
                      (self.act_diff, self.viewer.set_difference)):
            a.toggled.connect(fn)
            fn(a.isChecked())
        if self._pending_series is not None:
            series, self._pending_series = self._pending_series, None
            self.show_series(series)

    def showEvent(self, ev) -> None:  # noqa: N802
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
        self.engine.load(self._device, model=self._engine_model)

    def closeEvent(self, ev: QCloseEvent) -> None:  # noqa: N802
        self.settings.save_window(self.saveGeometry(), self.saveState())
        if self.privacy is not None:
            self.settings.privacy = self.privacy.percent
        self.settings.sync()
        self._metrics_timer.stop()
        self.cancel_scan()
        if self._thumb_worker is not None:
            try:
                self._thumb_worker.quit()
            except RuntimeError:
                pass
        self.frame_runner.shutdown()
        self.header_panel.shutdown()
        if self.textboxes is not None:
            self.textboxes.shutdown()
        self.engine.shutdown()
        super().closeEvent(ev)

    def set_device(self, name: str) -> None:
        self._device = name
        self.settings.device = name
        self.privacy.set_device("engine: loading…")
        self.engine.load(name, model=self._engine_model)

    # ---------------------------------------------------------------------------------------
    # opening
    def open_folder_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Open folder", self.settings.last_open_dir)
        if d:
            self.open_paths([Path(d)])

    def open_dicomdir_dialog(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Open DICOMDIR", self.settings.last_open_dir, "DICOMDIR (DICOMDIR*);;All files (*)")
        if f:
            self.open_paths([Path(f)])

    def open_files_dialog(self) -> None:
        fs, _ = QFileDialog.getOpenFileNames(self, "Open DICOM files", self.settings.last_open_dir, "DICOM (*.dcm *.DCM *.dicom);;All files (*)")
        if fs:
            self.open_paths([Path(f) for f in fs])

    def open_demo(self) -> None:
        paths = demo_paths()
        if not paths:
            show_error(self, "No demo data", "Neither resources/demo nor pydicom's sample files were found.")
            return
        self.open_paths(paths, remember=False)

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        items = self.settings.recent()
        for p in items:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_paths([Path(x) for x in p.split(" | ")]))
        if items:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear", lambda: (self.settings.clear_recent(), self._refresh_recent()))
        self.recent_menu.setEnabled(bool(items))

    def open_paths(self, paths: list[Path], *, remember: bool = True) -> ScanJob | None:
        """Scan ``paths`` in the background and show what was found."""
        paths = [Path(p) for p in paths]
        missing = [p for p in paths if not p.exists()]
        if missing:
            show_error(self, "Cannot open", "These paths do not exist:\n" + "\n".join(map(str, missing)))
            paths = [p for p in paths if p.exists()]
            if not paths:
                return None
        self.cancel_scan()
        if remember:
            first = paths[0]
            self.settings.last_open_dir = str(first if first.is_dir() else first.parent)
            self.settings.add_recent(" | ".join(str(p) for p in paths))
            self._refresh_recent()
        job = ScanJob(paths, self)
        job.progress.connect(self._on_scan_progress)
        job.finished.connect(self._on_scan_finished)
        job.failed.connect(self._on_scan_failed)
        job.cancelled.connect(self._on_scan_cancelled)
        self._scan = job
        self.scan_bar.setRange(0, 0)
        self.scan_bar.setVisible(True)
        self.scan_cancel.setVisible(True)
        self.statusBar().showMessage(f"Scanning {', '.join(p.name or str(p) for p in paths)[:120]} …")
        log.info("scanning %s", paths)
        job.start()
        return job

    def cancel_scan(self) -> None:
        if self._scan is not None:
            self._scan.cancel()

    def _end_scan_ui(self) -> None:
        self._scan = None
        self.scan_bar.setVisible(False)
        self.scan_cancel.setVisible(False)

    def _on_scan_progress(self, done: int, total: int, text: str) -> None:
        if total:
            self.scan_bar.setRange(0, total)
            self.scan_bar.setValue(done)
        self.statusBar().showMessage(f"Scanning… {done} files examined")

    def _on_scan_cancelled(self) -> None:
        self._end_scan_ui()
        self.statusBar().showMessage("Scan cancelled", 5000)

    def _on_scan_failed(self, message: str, details: str) -> None:
        self._end_scan_ui()
        show_error(self, "Scan failed", message, details)

    def _on_scan_finished(self, result: ScanResult) -> None:
        self._end_scan_ui()
        self._last_scan = result
        jobs = self.browser.populate(result.patients)
        if self._thumb_worker is not None:
            try:
                self._thumb_worker.quit()
            except Exception:  # noqa: BLE001
                pass
        self._thumb_worker = start_thumbnails(jobs, self.browser.on_thumbnail) if jobs else None
        n_series = len(jobs)
        msg = f"{result.n_instances} images in {n_series} series ({result.seconds:.1f} s)"
        if result.rejected:
            msg += f"; {len(result.rejected)} files skipped"
        self.statusBar().showMessage(msg, 15000)
        self.act_export.setEnabled(result.n_instances > 0)
        if result.n_instances == 0:
            details = "\n".join(f"{r.path}: {r.reason}" for r in result.rejected[:200])
            show_error(self, "No DICOM images found", "Nothing that could be opened was found in:\n" + "\n".join(map(str, result.paths)), details or None)
        elif result.rejected and all(p.is_file() for p in result.paths):
            # the user picked these files explicitly: say which ones were not usable
            show_error(
                self,
                "Some files could not be opened",
                f"{len(result.rejected)} of the chosen files are not readable DICOM.",
                "\n".join(f"{r.path}: {r.reason}" for r in result.rejected),
            )
        self.browser.select_first_series()
        self.scanFinished.emit(result)

    # ---------------------------------------------------------------------------------------
    # series, frames
    def show_series(self, series: Any) -> None:
        if self.viewer is None:  # the viewer is still being built: show it right after
            self._pending_series = series
            return
        self._series = series
        self._frames = series_frames(series)
        n = len(self._frames)
        self.slice_slider.blockSignals(True)
        self.slice_slider.setRange(0, max(0, n - 1))
        self.slice_slider.setValue(n // 2 if n else 0)
        self.slice_slider.blockSignals(False)
        self.slice_slider.setEnabled(n > 1)
        if n == 0:
            self.viewer.set_original(None)
            self.slice_label.setText("no pixel data in this series")
            self.header_panel.set_dataset(None)
            return
        self.show_frame(self.slice_slider.value())

    def step_slice(self, delta: int) -> None:
        if self._frames:
            self.slice_slider.setValue(max(0, min(len(self._frames) - 1, self.slice_slider.value() + delta)))

    def show_frame(self, i: int) -> None:
        if not (0 <= i < len(self._frames)):
            return
        ref = self._frames[i]
        self.slice_label.setText(f"{i + 1} / {len(self._frames)}  (loading…)")
        self.frame_runner.submit(lambda ref=ref: self.loader.load(ref), tag=(i, ref))

    def _on_frame_failed(self, tag: Any, message: str, details: str) -> None:
        _i, ref = tag
        self.viewer.set_original(None)
        self.slice_label.setText("cannot decode")
        show_error(self, "Cannot show image", f"{ref.path.name}: {message}", details)

    def _on_frame_loaded(self, tag: Any, lf: LoadedFrame, seconds: float) -> None:
        i, ref = tag
        self._current = lf
        window = WindowLevel.of(lf.window) if lf.window is not None else WindowLevel.from_data(lf.frame)
        keep = self.viewer.original_frame is not None and self._windows and self.viewer.window != self._windows[0]
        same_series = self._current_series_window_kept(lf)
        self._windows = [window] + [WindowLevel.of(w) for w in lf.presets if w is not None][:9]
        for k, a in enumerate(self._window_actions):
            a.setEnabled(k < len(self._windows))
            if k < len(self._windows):
                w = self._windows[k]
                a.setText(f"{'File default' if k == 0 else f'Preset {k}'}: C {w.center:g} / W {w.width:g}")
        use = self.viewer.window if (keep and same_series) else window
        self.viewer.set_original(lf.frame, use, invert=lf.invert)
        self._on_window_changed(use)
        self.slice_label.setText(
            f"{i + 1} / {len(self._frames)}  {ref.path.name}"
            + (f" [frame {ref.index + 1}/{lf.n_frames}]" if lf.n_frames > 1 else "")
        )
        self.header_panel.set_dataset(lf.header)
        self.textboxes.set_image(ref.key, lf.frame, lf.header)
        self.frameShown.emit(lf)
        self.request_privacy()

    def _current_series_window_kept(self, lf: LoadedFrame) -> bool:
        """Keep a user-adjusted window while scrolling within one series."""
        prev = getattr(self, "_window_series", None)
        cur = getattr(lf.ref.instance, "series_uid", None)
        self._window_series = cur
        return prev is not None and prev == cur

    def apply_window_preset(self, k: int) -> None:
        if 0 <= k < len(self._windows):
            self.viewer.set_window(self._windows[k])

    def _on_window_changed(self, w: WindowLevel) -> None:
        self.window_label.setText(f"C {w.center:.0f}  W {w.width:.0f}")

    def _on_hover(self, x: int, y: int, a: float, b: float) -> None:
        self.hover_label.setText(f"x {x}  y {y}   original {a:.1f}   right {b:.1f}")

    # ---------------------------------------------------------------------------------------
    # privacy engine
    def _on_privacy_changed(self, _percent: int) -> None:
        lf = self._current
        uid = getattr(getattr(getattr(lf, "ref", None), "instance", None), "series_uid", None)
        if uid and self.privacy is not None:  # remembered for "per series" in the export dialog
            self.series_privacy[str(uid)] = self.privacy.p
        self.request_privacy()

    def request_privacy(self) -> int | None:
        """Ask the engine for the current frame at the current level (latest wins)."""
        lf = self._current
        if lf is None or self.privacy is None or not self.engine.available:
            return None
        return self.engine.submit(lf.frame, self.privacy.p, key=lf.ref.key)

    def _on_engine_ready(self, device: str) -> None:
        self.viewer.pending_message = "waiting for the de-identification engine…"
        self.act_idmap.setEnabled(True)
        self.act_mask.setEnabled(True)
        self.privacy.set_device(f"device: {device}", ok=True)
        r = self.engine.metrics_reason()
        if r:
            self.privacy.set_risk(None, r)
            self.privacy.set_fidelity(None, r)
        self.request_privacy()

    def _on_engine_unavailable(self, reason: str, details: str) -> None:
        self.privacy.set_device("engine: unavailable", ok=False, reason=reason)
        self.privacy.set_risk(None, reason)
        self.privacy.set_fidelity(None, reason)
        self.viewer.pending_message = "pixel de-identification unavailable (see the device label)"
        if self.viewer.original_frame is not None and self.viewer.result_frame is None:
            rows, cols = self.viewer.original_frame.shape[:2]
            self.viewer.deid.clear(self.viewer.pending_message, at=(cols / 2.0, rows / 2.0))
        self.act_idmap.setEnabled(False)
        self.act_mask.setEnabled(False)
        for a in (self.act_idmap, self.act_mask):
            a.setToolTip(reason)
        log.warning("inference engine unavailable: %s\n%s", reason, details)

    def _on_result(self, res: PrivacyResult) -> None:
        lf = self._current
        if lf is None or res.key != lf.ref.key:
            self.engine.dropped_on_arrival += 1  # the image changed since the request was made
            return
        self.viewer.set_result(res.frame, res.identity_map, res.mask)
        self.privacy.set_latency(res.seconds)
        self.viewer.deid.caption.setText(f"p = {res.p:.2f}")
        self.resultShown.emit(res)
        # readouts only once the slider rests: no competing computation during a drag
        self._metrics_for = (lf.frame, res)
        self._metrics_timer.start()

    def _request_metrics(self) -> None:
        lf = self._current
        if self._metrics_for is None or lf is None:
            return
        frame, res = self._metrics_for
        self._metrics_for = None
        if res.key == lf.ref.key:
            self.engine.request_metrics(frame, res)

    def _on_metrics(self, key: Any, risk: float | None, fidelity: float | None) -> None:
        if self._current is None or key != self._current.ref.key:
            return
        reason = self.engine.metrics_reason()
        self.privacy.set_risk(risk, reason)
        self.privacy.set_fidelity(fidelity, reason)

    # ---------------------------------------------------------------------------------------
    # export
    def input_paths(self) -> list[Path]:
        return list(self._last_scan.paths) if self._last_scan else []

    def export_dialog(self) -> Any:
        from .export_dialog import ExportDialog

        dlg = ExportDialog(
            self,
            inputs=self.input_paths(),
            settings=self.settings,
            options_from=self.header_panel.editor,
            privacy=self.privacy.p if self.privacy is not None else self.settings.privacy / 100.0,
            series_privacy=dict(self.series_privacy),
            rectangles=self.textboxes.export_rectangles() if self.textboxes is not None else [],
        )
        dlg.show()
        self._export_dialog = dlg
        return dlg

    # ---------------------------------------------------------------------------------------
    # drag and drop
    def dragEnterEvent(self, ev: QDragEnterEvent) -> None:  # noqa: N802
        if ev.mimeData().hasUrls() and any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()
        else:
            ev.ignore()

    def dropEvent(self, ev: QDropEvent) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in ev.mimeData().urls() if u.isLocalFile()]
        if paths:
            ev.acceptProposedAction()
            self.open_paths(paths)

    # ---------------------------------------------------------------------------------------
    # help
    def open_log_folder(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        from medeid_gui.app import log_dir

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))

    def about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        import medeid_gui

        QMessageBox.about(
            self,
            "About medeid",
            f"<b>medeid {medeid_gui.__version__}</b><br>De-identification of medical image studies: "
            "DICOM PS3.15 header profile, burned-in text and an adjustable pixel privacy level "
            "(after Tian et al. 2025, arXiv 2507.21703).",
        )
