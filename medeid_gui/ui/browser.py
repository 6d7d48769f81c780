"""Study browser: patient → study → series, with date, modality, description, count, thumbnail.

Why derive every column from the series' first ``InstanceRef``: those are the values read from
the files themselves (``dicom.discover``); the grouping nodes (``dicom.studies``) give the tree.
"""

from __future__ import annotations

# numpy is imported where it is used: it is not needed to put the window on screen
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from .scan import THUMB

if TYPE_CHECKING:  # pydicom loads with the first scan, not with the window
    import numpy as np

    from medeid_gui.dicom.discover import InstanceRef
    from medeid_gui.dicom.studies import PatientNode, SeriesNode, StudyNode

ROLE_NODE = Qt.ItemDataRole.UserRole + 1
ROLE_KIND = Qt.ItemDataRole.UserRole + 2

COLUMNS = ("Name", "Date", "Modality", "Description", "Images")


def _fmt_date(d: str | None) -> str:
    d = (d or "").strip()
    if len(d) == 8 and d.isdigit():
        return f"{d[:4]}-{d[4:6]}-{d[6:]}"
    return d


def _name(pn: str | None) -> str:
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


def first_of_series(series: SeriesNode) -> InstanceRef | None:
    return series.instances[0] if series.instances else None


def first_of_study(study: StudyNode) -> InstanceRef | None:
    return next((r for se in study.series if (r := first_of_series(se)) is not None), None)


def first_of_patient(patient: PatientNode) -> InstanceRef | None:
    return next((r for st in patient.studies if (r := first_of_study(st)) is not None), None)


def _series_row(se: SeriesNode) -> list[str]:
    inst = se.instances
    r = inst[0]
    frames = sum(max(1, int(i.number_of_frames or 1)) for i in inst)
    count = str(len(inst)) if frames == len(inst) else f"{len(inst)} ({frames} frames)"
    label = f"Series {r.series_number}" if r.series_number is not None else "Series"
    return [label, _fmt_date(r.study_date), str(r.modality or ""), str(r.series_description or ""), count]


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

    def populate(self, patients: list[PatientNode]) -> list[tuple[str, Path]]:
        """Fill the tree; returns (series_uid, middle instance path) jobs for thumbnails."""
        self.clear()
        self._series_items.clear()
        jobs: list[tuple[str, Path]] = []
        for patient in patients:
            ref = first_of_patient(patient)
            studies = patient.studies
            n_pat = sum(len(se.instances) for st in studies for se in st.series)
            who = f"{_name(ref.patient_name if ref else '')}  [{(ref.patient_id if ref else '') or '—'}]"
            p_item = QTreeWidgetItem(
                [who, "", "", f"{len(studies)} stud{'y' if len(studies) == 1 else 'ies'}", str(n_pat)]
            )
            p_item.setData(0, ROLE_KIND, "patient")
            p_item.setData(0, ROLE_NODE, patient)
            self.addTopLevelItem(p_item)
            for study in studies:
                p_item.addChild(self._study_item(study, jobs))
            p_item.setExpanded(True)
            for i in range(p_item.childCount()):
                p_item.child(i).setExpanded(True)
        return jobs

    def _study_item(self, study: StudyNode, jobs: list[tuple[str, Path]]) -> QTreeWidgetItem:
        """A study row and its series rows; appends the series' thumbnail jobs to ``jobs``."""
        sref = first_of_study(study)
        n_st = sum(len(se.instances) for se in study.series)
        mods = sorted({ref.modality or "" for se in study.series if (ref := first_of_series(se))} - {""})
        s_item = QTreeWidgetItem(
            ["Study", _fmt_date(sref.study_date if sref else ""), "/".join(mods),
             str((sref.study_description if sref else "") or ""), str(n_st)]
        )
        s_item.setData(0, ROLE_KIND, "study")
        s_item.setData(0, ROLE_NODE, study)
        s_item.setToolTip(0, sref.study_uid if sref else "")
        for se in study.series:
            r = se.instances[0]
            item = QTreeWidgetItem(_series_row(se))
            item.setData(0, ROLE_KIND, "series")
            item.setData(0, ROLE_NODE, se)
            item.setToolTip(0, f"{r.series_uid}\n{r.path.parent}")
            item.setSizeHint(0, QSize(THUMB + 8, THUMB + 4))
            s_item.addChild(item)
            self._series_items[r.series_uid] = item
            with_pixels = [i for i in se.instances if i.has_pixels]
            if with_pixels:
                jobs.append((r.series_uid, with_pixels[len(with_pixels) // 2].path))
        return s_item

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
