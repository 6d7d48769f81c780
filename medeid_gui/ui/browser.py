"""Study browser: patient → study → series, with date, modality, description, count, thumbnail.

Why derive every column from the series' first ``InstanceRef``: those fields are the dicom
package's stable contract, so the browser does not depend on how the grouping nodes name their
own attributes.
"""

from __future__ import annotations

# numpy is imported where it is used: it is not needed to put the window on screen

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from .scan import THUMB

if TYPE_CHECKING:
    import numpy as np

ROLE_NODE = Qt.ItemDataRole.UserRole + 1
ROLE_KIND = Qt.ItemDataRole.UserRole + 2

COLUMNS = ("Name", "Date", "Modality", "Description", "Images")


def _fmt_date(d: str | None) -> str:
    d = (d or "").strip()
    if len(d) == 8 and d.isdigit():
        return f"{d[:4]}-{d[4:6]}-{d[6:]}"
    return d


def _name(pn: Any) -> str:
    s = str(pn or "").strip()
    return s.replace("^", " ").strip() or "(no name)"


def array_to_pixmap(arr: np.ndarray) -> QPixmap:
    """8-bit grey or RGB numpy → QPixmap (QImage copies, so ``arr`` may be freed)."""
    import numpy as np

    a = np.ascontiguousarray(arr)
    h, w = a.shape[:2]
    if a.ndim == 2:
        img = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8)
    else:
        a = np.ascontiguousarray(a[..., :3])
        img = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(img.copy())


def series_instances(series: Any) -> list[Any]:
    return list(getattr(series, "instances", []))


def study_series(study: Any) -> list[Any]:
    return list(getattr(study, "series", []))


def patient_studies(patient: Any) -> list[Any]:
    return list(getattr(patient, "studies", []))


def first_instance(node: Any) -> Any | None:
    """First InstanceRef under any node."""
    if hasattr(node, "instances"):
        inst = series_instances(node)
        return inst[0] if inst else None
    for child in study_series(node) or patient_studies(node):
        ref = first_instance(child)
        if ref is not None:
            return ref
    return None


class StudyBrowser(QTreeWidget):
    """Tree of the scanned material. ``seriesActivated(series)`` when a series is chosen."""

    seriesActivated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("studyBrowser")
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(list(COLUMNS))
        self.setIconSize(QSize(THUMB, THUMB))
        self.setUniformRowHeights(False)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.header().resizeSection(0, 190)
        self.setColumnWidth(1, 86)
        self.setColumnWidth(2, 50)
        self._series_items: dict[str, QTreeWidgetItem] = {}
        self.currentItemChanged.connect(self._on_current)

    def populate(self, patients: list[Any]) -> list[tuple[str, Any]]:
        """Fill the tree; returns (series_uid, middle instance path) jobs for thumbnails."""
        self.clear()
        self._series_items.clear()
        jobs: list[tuple[str, Any]] = []
        for patient in patients:
            ref = first_instance(patient)
            studies = patient_studies(patient)
            n_pat = sum(len(series_instances(se)) for st in studies for se in study_series(st))
            p_item = QTreeWidgetItem(
                [f"{_name(getattr(ref, 'patient_name', ''))}  [{getattr(ref, 'patient_id', '') or '—'}]", "", "", f"{len(studies)} stud{'y' if len(studies) == 1 else 'ies'}", str(n_pat)]
            )
            p_item.setData(0, ROLE_KIND, "patient")
            p_item.setData(0, ROLE_NODE, patient)
            self.addTopLevelItem(p_item)
            for study in studies:
                sref = first_instance(study)
                series = study_series(study)
                n_st = sum(len(series_instances(se)) for se in series)
                mods = sorted({getattr(first_instance(se), "modality", "") or "" for se in series} - {""})
                s_item = QTreeWidgetItem(
                    [
                        "Study",
                        _fmt_date(getattr(sref, "study_date", "")),
                        "/".join(mods),
                        str(getattr(sref, "study_description", "") or ""),
                        str(n_st),
                    ]
                )
                s_item.setData(0, ROLE_KIND, "study")
                s_item.setData(0, ROLE_NODE, study)
                s_item.setToolTip(0, str(getattr(sref, "study_uid", "")))
                p_item.addChild(s_item)
                for se in series:
                    inst = series_instances(se)
                    r = inst[0]
                    frames = sum(max(1, int(getattr(i, "number_of_frames", 1) or 1)) for i in inst)
                    count = str(len(inst)) if frames == len(inst) else f"{len(inst)} ({frames} frames)"
                    num = getattr(r, "series_number", None)
                    label = f"Series {num}" if num not in (None, "") else "Series"
                    item = QTreeWidgetItem(
                        [label, _fmt_date(getattr(r, "study_date", "")), str(r.modality or ""), str(r.series_description or ""), count]
                    )
                    item.setData(0, ROLE_KIND, "series")
                    item.setData(0, ROLE_NODE, se)
                    item.setToolTip(0, f"{r.series_uid}\n{r.path.parent if hasattr(r.path, 'parent') else r.path}")
                    item.setSizeHint(0, QSize(THUMB + 8, THUMB + 4))
                    s_item.addChild(item)
                    self._series_items[r.series_uid] = item
                    with_pixels = [i for i in inst if getattr(i, "has_pixels", True)]
                    if with_pixels:
                        jobs.append((r.series_uid, with_pixels[len(with_pixels) // 2].path))
            p_item.setExpanded(True)
            for i in range(p_item.childCount()):
                p_item.child(i).setExpanded(True)
        return jobs

    @Slot(str, object)
    def on_thumbnail(self, _kind: str, key_and_array: tuple[str, np.ndarray]) -> None:
        self.set_thumbnail(*key_and_array)

    def set_thumbnail(self, series_uid: str, arr: np.ndarray) -> None:
        item = self._series_items.get(series_uid)
        if item is not None:
            item.setIcon(0, QIcon(array_to_pixmap(arr)))

    def series_items(self) -> list[QTreeWidgetItem]:
        return list(self._series_items.values())

    def select_first_series(self) -> bool:
        items = self.series_items()
        if not items:
            return False
        self.setCurrentItem(items[0])
        return True

    def _on_current(self, cur: QTreeWidgetItem | None, _prev: QTreeWidgetItem | None) -> None:
        if cur is not None and cur.data(0, ROLE_KIND) == "series":
            self.seriesActivated.emit(cur.data(0, ROLE_NODE))
