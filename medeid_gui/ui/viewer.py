"""Side-by-side original / de-identified image views (pyqtgraph).

Why pyqtgraph: it draws float32 frames with explicit levels straight from numpy (no per-update
QImage conversion in Python), and linked ViewBoxes give synchronised pan and zoom for free.
Frames are handed over row-major, C-contiguous float32 with explicit levels and
``autoLevels=False`` so the grey scale is the DICOM window, never a per-frame stretch that would
make the two sides incomparable.

Mouse: left-drag pans, the wheel zooms, right-drag changes window (horizontal) and level
(vertical), double-click resets the zoom.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from medeid_gui.viewmodel.window_level import WindowLevel

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="#101214")

_INFERNO = (pg.colormap.get("inferno").getLookupTable(nPts=256, alpha=False)).astype(np.uint8)
_DIVERGING = pg.colormap.get("CET-D1")
_INVERTED_LUT = np.arange(255, -1, -1, dtype=np.uint8)


def as_display_array(frame: np.ndarray) -> np.ndarray:
    """Row-major, C-contiguous float32 — what ImageItem draws without copying again."""
    return np.ascontiguousarray(frame, dtype=np.float32)


OVERLAY_MAX = 256  #: overlays are patch-grid maps; this many pixels per side show them exactly


def _thin(a: np.ndarray) -> np.ndarray:
    """Subsample a (patch-constant) map so building its overlay costs the same for any frame size."""
    step = max(1, int(np.ceil(max(a.shape[:2]) / OVERLAY_MAX)))
    return a[::step, ::step] if step > 1 else a


def heat_rgba(identity_map: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """Identity relevance in [0, 1] (any resolution) → an RGBA heat overlay (inferno)."""
    m = _thin(np.asarray(identity_map, dtype=np.float32))
    if m.ndim == 3:
        m = m.mean(axis=2)
    lo, hi = float(np.nanmin(m)), float(np.nanmax(m))
    n = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
    idx = np.clip((n * 255).astype(np.int32), 0, 255)
    rgba = np.empty(m.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = _INFERNO[idx]
    rgba[..., 3] = (np.clip(n, 0, 1) * alpha * 255).astype(np.uint8)
    return np.ascontiguousarray(rgba)


def mask_rgba(mask: np.ndarray, color: tuple[int, int, int] = (0, 200, 255), alpha: int = 110) -> np.ndarray:
    """Blocked patches → a translucent tint; unblocked pixels stay fully transparent."""
    m = _thin(np.asarray(mask))
    if m.ndim == 3:
        m = m.any(axis=2)
    m = m.astype(bool)
    rgba = np.zeros(m.shape + (4,), dtype=np.uint8)
    rgba[m] = (*color, alpha)
    return rgba


class WLViewBox(pg.ViewBox):
    """ViewBox whose right-button drag is window/level instead of zoom."""

    windowDragged = Signal(float, float)  # dx, dy in screen pixels

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.setMouseMode(pg.ViewBox.PanMode)

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            d = ev.screenPos() - ev.lastScreenPos()
            self.windowDragged.emit(float(d.x()), float(d.y()))
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev) -> None:
        if ev.double():
            ev.accept()
            self.autoRange(padding=0.0)
            return
        super().mouseClickEvent(ev)


class ImagePane(QWidget):
    """One titled image view: the frame, an identity heat overlay, a blocked-mask tint."""

    hovered = Signal(int, int, float)  # x, y, value

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"pane-{title.lower().replace(' ', '-')}")
        self.title = QLabel(title)
        self.title.setStyleSheet("font-weight: 600; padding: 2px 4px;")
        self.caption = QLabel("")
        self.caption.setStyleSheet("color: #8a9099; padding: 2px 4px;")
        self.caption.setFixedWidth(300)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.caption)

        self.view = pg.GraphicsView()
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.vb = WLViewBox()
        self.view.setCentralItem(self.vb)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setAutoDownsample(True)
        self.overlay = pg.ImageItem(axisOrder="row-major")
        self.mask = pg.ImageItem(axisOrder="row-major")
        for z, item in enumerate((self.image, self.mask, self.overlay)):
            item.setZValue(z)
            self.vb.addItem(item)
        self.overlay.setVisible(False)
        self.mask.setVisible(False)
        self.placeholder = pg.TextItem("", color="#8a9099", anchor=(0.5, 0.5))
        self.vb.addItem(self.placeholder, ignoreBounds=True)
        self._data: np.ndarray | None = None
        self.view.scene().sigMouseMoved.connect(self._on_mouse)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(head)
        lay.addWidget(self.view, 1)

    # -- content --------------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray | None:
        return self._data

    def set_frame(
        self,
        frame: np.ndarray | None,
        levels: tuple[float, float],
        *,
        invert: bool = False,
        lut: np.ndarray | None = None,
    ) -> None:
        if frame is None:
            self.clear()
            return
        arr = as_display_array(frame)
        first = self._data is None or self._data.shape[:2] != arr.shape[:2]
        self._data = arr
        self.placeholder.setText("")
        self.image.setLookupTable(_INVERTED_LUT if invert else lut)
        self.image.setImage(arr, autoLevels=False, levels=levels)
        if first:
            self.vb.autoRange(padding=0.0)

    def set_levels(self, levels: tuple[float, float]) -> None:
        if self._data is not None:
            self.image.setLevels(levels)

    def set_overlay(self, rgba: np.ndarray | None) -> None:
        self._set_rgba(self.overlay, rgba)

    def set_mask(self, rgba: np.ndarray | None) -> None:
        self._set_rgba(self.mask, rgba)

    def _set_rgba(self, item: pg.ImageItem, rgba: np.ndarray | None) -> None:
        if rgba is None or self._data is None:
            item.clear()
            return
        item.setImage(np.ascontiguousarray(rgba), autoLevels=False, levels=(0, 255))
        rows, cols = self._data.shape[:2]
        item.setRect(QRectF(0, 0, cols, rows))  # stretch a patch-grid map onto the frame

    def clear(self, message: str = "", at: tuple[float, float] = (0.0, 0.0)) -> None:
        self._data = None
        self.image.clear()
        self.overlay.clear()
        self.mask.clear()
        self.placeholder.setText(message)
        self.placeholder.setPos(QPointF(*at))

    def _on_mouse(self, pos: QPointF) -> None:
        if self._data is None or not self.vb.sceneBoundingRect().contains(pos):
            return
        p = self.vb.mapSceneToView(pos)
        x, y = int(p.x()), int(p.y())
        rows, cols = self._data.shape[:2]
        if 0 <= x < cols and 0 <= y < rows:
            v = self._data[y, x]
            self.hovered.emit(x, y, float(np.mean(v)))


class SideBySideViewer(QWidget):
    """Original (left) and de-identified or difference (right), linked pan/zoom and window."""

    windowChanged = Signal(object)  # WindowLevel
    hovered = Signal(int, int, float, float)  # x, y, original value, right-hand value

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.original = ImagePane("Original")
        self.deid = ImagePane("De-identified")
        self.deid.vb.setXLink(self.original.vb)
        self.deid.vb.setYLink(self.original.vb)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.original, 1)
        lay.addWidget(self.deid, 1)

        self.window: WindowLevel = WindowLevel(0.0, 1.0)
        self.invert = False
        self.show_idmap = False
        self.show_mask = False
        self.difference = False
        self.pending_message = "waiting for the de-identification engine…"
        self._orig: np.ndarray | None = None
        self._deid: np.ndarray | None = None
        self._idmap: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        for pane in (self.original, self.deid):
            pane.vb.windowDragged.connect(self._drag_window)
            pane.hovered.connect(self._on_hover)

    # -- inputs ---------------------------------------------------------------------------
    def set_original(
        self, frame: np.ndarray | None, window: WindowLevel | None = None, *, invert: bool = False
    ) -> None:
        self._orig = None if frame is None else as_display_array(frame)
        self.invert = invert
        if window is not None:
            self.window = window
        self._deid = self._idmap = self._mask = None
        if self._orig is None:
            self.original.clear("No image")
            self.deid.clear("")
            return
        self.original.set_frame(self._orig, self.window.levels, invert=invert)
        # never show the original on the de-identified side: it stays empty until a result comes
        rows, cols = self._orig.shape[:2]
        self.deid.clear(self.pending_message, at=(cols / 2.0, rows / 2.0))
        self.deid.caption.setText("")
        self._refresh_overlays()

    def set_result(self, frame: np.ndarray, identity_map: np.ndarray | None, mask: np.ndarray | None) -> None:
        """A de-identified frame for the original now shown (shape must match)."""
        if self._orig is None:
            return
        self._deid = as_display_array(frame)
        self._idmap = identity_map
        self._mask = mask
        self._refresh_right()
        self._refresh_overlays()

    def set_window(self, window: WindowLevel) -> None:
        self.window = window
        self.original.set_levels(window.levels)
        if not self.difference:
            self.deid.set_levels(window.levels)
        self.windowChanged.emit(window)

    def set_show_idmap(self, on: bool) -> None:
        self.show_idmap = on
        self._refresh_overlays()

    def set_show_mask(self, on: bool) -> None:
        self.show_mask = on
        self._refresh_overlays()

    def set_difference(self, on: bool) -> None:
        self.difference = on
        self._refresh_right()

    # -- outputs --------------------------------------------------------------------------
    @property
    def original_frame(self) -> np.ndarray | None:
        return self._orig

    @property
    def result_frame(self) -> np.ndarray | None:
        return self._deid

    def difference_frame(self) -> np.ndarray | None:
        if self._orig is None or self._deid is None or self._orig.shape != self._deid.shape:
            return None
        d = self._deid - self._orig
        return d.mean(axis=2) if d.ndim == 3 else d

    # -- internals ------------------------------------------------------------------------
    def _refresh_right(self) -> None:
        if self._orig is None:
            return
        if self.difference:
            d = self.difference_frame()
            self.deid.title.setText("Difference (de-identified − original)")
            if d is None:
                rows, cols = self._orig.shape[:2]
                self.deid.clear("no de-identified result yet", at=(cols / 2.0, rows / 2.0))
                return
            span = float(np.max(np.abs(d))) or 1.0
            lut = _DIVERGING.getLookupTable(nPts=256, alpha=False)
            self.deid.set_frame(d, (-span, span), lut=lut)
            self.deid.caption.setText(f"max |Δ| = {span:.4g}")
        else:
            self.deid.title.setText("De-identified")
            if self._deid is not None:
                self.deid.set_frame(self._deid, self.window.levels, invert=self.invert)

    def _refresh_overlays(self) -> None:
        if self._idmap is not None and self.show_idmap:
            self.original.set_overlay(heat_rgba(self._idmap))
            self.original.overlay.setVisible(True)
        else:
            self.original.overlay.setVisible(False)
        if self._mask is not None and self.show_mask:
            tint = mask_rgba(self._mask)
            self.original.set_mask(tint)
            self.original.mask.setVisible(True)
            if not self.difference:
                self.deid.set_mask(tint)
                self.deid.mask.setVisible(True)
        else:
            self.original.mask.setVisible(False)
            self.deid.mask.setVisible(False)

    def _drag_window(self, dx: float, dy: float) -> None:
        w = self.window
        step = max(abs(w.width), 1.0) / 300.0
        self.set_window(WindowLevel(w.center - dy * step, max(w.width + dx * step, 1e-3)))

    def _on_hover(self, x: int, y: int, _v: float) -> None:
        if self._orig is None:
            return
        rows, cols = self._orig.shape[:2]
        if not (0 <= x < cols and 0 <= y < rows):
            return
        a = float(np.mean(self._orig[y, x]))
        right = self.deid.data
        b = (
            float(np.mean(right[y, x]))
            if right is not None and right.shape[:2] == self._orig.shape[:2]
            else float("nan")
        )
        self.hovered.emit(x, y, a, b)
