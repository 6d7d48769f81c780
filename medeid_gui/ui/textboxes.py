"""Burned-in text: detected boxes on the original, user-editable rectangles for the export.

Why every box is an editable ROI: OCR misses text (rotated, faint, tiny) and sometimes marks
anatomy; the clinician looking at the image is the final judge. Whatever rectangles are on an
image when the export starts — detected ones the user kept or moved, and ones the user drew —
are handed to the export as that image's rectangles to blank.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .bridge import LatestRunner

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from medeid_gui.pixels.clean import RedactedBox

log = logging.getLogger("medeid.ui")

DETECTED_PEN = pg.mkPen((255, 170, 0), width=2)
USER_PEN = pg.mkPen((0, 220, 120), width=2)


@dataclass
class Rect:
    """A rectangle in pixel coordinates of one frame (x0, y0 inclusive; x1, y1 exclusive)."""

    x0: int
    y0: int
    x1: int
    y1: int
    source: str = "user"  # "user" or "ocr"
    text: str = ""

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x1, self.y1)


ImageKey = tuple[str, int]  # (path, frame index)


class TextBoxEditor(QObject):
    """Owns the rectangle ROIs on the original view and the side panel listing them."""

    rectanglesChanged = Signal()
    detected = Signal(object, int)  # image key, number of boxes

    def __init__(self, viewbox: pg.ViewBox, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.vb = viewbox
        self._rects: dict[ImageKey, list[Rect]] = {}
        self._detected_keys: set[ImageKey] = set()
        self._sop: dict[ImageKey, str] = {}
        self._key: ImageKey | None = None
        self._frame: np.ndarray | None = None
        self._rois: list[tuple[pg.RectROI, Rect]] = []
        self.ocr_runner = LatestRunner("ocr", self)
        self.ocr_runner.finished.connect(self._on_ocr)
        self.ocr_runner.failed.connect(self._on_ocr_failed)
        self._ocr_error: str = ""

        self.panel = QWidget()
        self.panel.setObjectName("textBoxPanel")
        self.auto = QCheckBox("Detect text automatically")
        self.auto.setChecked(True)
        self.detect_btn = QPushButton("Detect now")
        self.add_btn = QPushButton("Add rectangle")
        self.del_btn = QPushButton("Delete selected")
        self.clear_btn = QPushButton("Clear image")
        self.list = QListWidget()
        self.list.setObjectName("textBoxList")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #8a9099;")
        help_ = QLabel(
            "Orange: text found by OCR (the export finds it again on every image when burned-in "
            "text is 'auto'). Green: your rectangles — drawn, or detected ones you moved or "
            "resized; the export blanks them in every frame of every image."
        )
        help_.setWordWrap(True)
        row = QHBoxLayout()
        for b in (self.detect_btn, self.add_btn, self.del_btn, self.clear_btn):
            row.addWidget(b)
        lay = QVBoxLayout(self.panel)
        lay.addWidget(self.auto)
        lay.addLayout(row)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.status)
        lay.addWidget(help_)
        self.detect_btn.clicked.connect(self.detect)
        self.add_btn.clicked.connect(self.add_default_rectangle)
        self.del_btn.clicked.connect(self.delete_selected)
        self.clear_btn.clicked.connect(self.clear_current)
        self.list.currentRowChanged.connect(self._highlight)
        self._set_enabled(False)

    # -- image switching ------------------------------------------------------------------
    def _set_enabled(self, on: bool) -> None:
        for w in (self.detect_btn, self.add_btn, self.del_btn, self.clear_btn):
            w.setEnabled(on)

    def set_image(self, key: ImageKey, frame: np.ndarray, header: Dataset | None = None) -> None:
        self._key = key
        self._frame = frame
        sop = str(header.get("SOPInstanceUID", "") or "") if header is not None else ""
        if sop:
            self._sop[key] = sop
        self._set_enabled(True)
        self._rebuild()
        if self.auto.isChecked() and key not in self._detected_keys:
            self.detect()

    def detect(self) -> None:
        """Find, in the background, the regions the export's ``--burned-in auto`` will fill.

        Why the export's own ``find_boxes`` on the file rather than OCR on the shown frame: the
        panel must show exactly what the export redacts (PHI and key lines, the modality's rule
        bands, every frame's boxes, which the export fills in all frames).
        """
        if self._frame is None or self._key is None:
            return
        key = self._key

        def job() -> list[RedactedBox]:
            import pydicom

            from medeid_gui.pixels.clean import PixelRequest, find_boxes

            ds = pydicom.dcmread(key[0], force=True)
            return list(find_boxes(ds, PixelRequest(burned_in="auto")).text_boxes)

        self.status.setText("detecting text…")
        self.ocr_runner.submit(job, tag=key)

    def _on_ocr(self, key: ImageKey, boxes: list[RedactedBox], seconds: float) -> None:
        self._detected_keys.add(key)
        rects = self._rects.setdefault(key, [])
        rects[:] = [r for r in rects if r.source != "ocr"]
        for b in boxes:
            if b.source != "user":  # the export adds the user's rectangles itself
                rects.append(Rect(int(b.x0), int(b.y0), int(b.x1), int(b.y1), "ocr", ", ".join(b.reasons)))
        found = sum(1 for r in rects if r.source == "ocr")
        self.status.setText(f"{found} region(s) the export will fill, found in {seconds:.1f} s")
        if key == self._key:
            self._rebuild()
        self.rectanglesChanged.emit()
        self.detected.emit(key, found)

    def _on_ocr_failed(self, key: ImageKey, message: str, details: str) -> None:
        self._ocr_error = message
        self.status.setText(f"text detection unavailable: {message}")
        self.detect_btn.setToolTip(details[-800:])

    # -- editing --------------------------------------------------------------------------
    def rectangles(self, key: ImageKey | None = None) -> list[Rect]:
        k = key if key is not None else self._key
        return list(self._rects.get(k, [])) if k is not None else []

    def add_rectangle(self, x0: int, y0: int, x1: int, y1: int) -> Rect | None:
        if self._key is None:
            return None
        r = Rect(int(x0), int(y0), int(x1), int(y1), "user")
        self._rects.setdefault(self._key, []).append(r)
        self._rebuild()
        self.list.setCurrentRow(self.list.count() - 1)
        self.rectanglesChanged.emit()
        return r

    def add_default_rectangle(self) -> None:
        if self._frame is None:
            return
        rows, cols = self._frame.shape[:2]
        self.add_rectangle(cols // 10, rows // 10, cols // 10 + max(8, cols // 4), rows // 10 + max(8, rows // 12))

    def delete_selected(self) -> None:
        row = self.list.currentRow()
        if self._key is None or row < 0:
            return
        rects = self._rects.get(self._key, [])
        if 0 <= row < len(rects):
            del rects[row]
            self._rebuild()
            self.rectanglesChanged.emit()

    def clear_current(self) -> None:
        if self._key is not None:
            self._rects[self._key] = []
            self._rebuild()
            self.rectanglesChanged.emit()

    def move_rectangle(self, index: int, x0: int, y0: int) -> None:
        """Programmatic move (the same path a mouse drag takes: through the ROI)."""
        roi, r = self._rois[index]
        roi.setPos((x0, y0))  # emits sigRegionChangeFinished → _roi_changed
        roi.sigRegionChangeFinished.emit(roi)

    def _rebuild(self) -> None:
        for roi, _ in self._rois:
            self.vb.removeItem(roi)
        self._rois.clear()
        self.list.blockSignals(True)
        self.list.clear()
        for r in self.rectangles():
            roi = pg.RectROI((r.x0, r.y0), (max(1, r.x1 - r.x0), max(1, r.y1 - r.y0)),
                             pen=DETECTED_PEN if r.source == "ocr" else USER_PEN, removable=True)
            roi.setZValue(20)
            roi.sigRegionChangeFinished.connect(self._roi_changed)
            roi.sigRemoveRequested.connect(self._roi_remove)
            self.vb.addItem(roi)
            self._rois.append((roi, r))
            it = QListWidgetItem(self._label(r))
            self.list.addItem(it)
        self.list.blockSignals(False)

    @staticmethod
    def _label(r: Rect) -> str:
        what = f"detected ({r.text})" if r.text else ("detected" if r.source == "ocr" else "drawn")
        return f"{what}  [{r.x0},{r.y0} – {r.x1},{r.y1}]"

    def _roi_changed(self, roi: pg.RectROI) -> None:
        for i, (ro, r) in enumerate(self._rois):
            if ro is roi:
                pos, size = roi.pos(), roi.size()
                r.x0, r.y0 = int(round(pos.x())), int(round(pos.y()))
                r.x1, r.y1 = r.x0 + int(round(size.x())), r.y0 + int(round(size.y()))
                if r.source == "ocr":  # adjusted by the user: now the user's rectangle
                    r.source = "user"
                    roi.setPen(USER_PEN)
                item = self.list.item(i)
                if item is not None:
                    item.setText(self._label(r))
                self.rectanglesChanged.emit()
                return

    def _roi_remove(self, roi: pg.RectROI) -> None:
        for i, (ro, _r) in enumerate(self._rois):
            if ro is roi:
                self.list.setCurrentRow(i)
                self.delete_selected()
                return

    def _highlight(self, row: int) -> None:
        for i, (roi, r) in enumerate(self._rois):
            pen = DETECTED_PEN if r.source == "ocr" else USER_PEN
            roi.setPen(pg.mkPen(pen.color(), width=4 if i == row else 2))

    # -- export ---------------------------------------------------------------------------
    def export_rectangles(self) -> list[tuple[int, int, int, int]]:
        """User rectangles as ``(x, y, width, height)``, the export's (pixels') rectangle format.

        The pipeline blanks each rectangle in every frame of every exported image, so only
        rectangles the user drew or adjusted go here; text the OCR finds is found again by the
        export's own ``burned_in="auto"`` step on each image.
        """
        out: list[tuple[int, int, int, int]] = []
        for rects in self._rects.values():
            for r in rects:
                if r.source != "user":
                    continue
                x0, y0 = max(0, min(r.x0, r.x1)), max(0, min(r.y0, r.y1))
                w, h = abs(r.x1 - r.x0), abs(r.y1 - r.y0)
                t = (x0, y0, w, h)
                if w > 0 and h > 0 and t not in out:
                    out.append(t)
        return out

    def shutdown(self) -> None:
        self.ocr_runner.shutdown()
