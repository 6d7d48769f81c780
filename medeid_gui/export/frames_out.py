"""``--format png`` / ``--format npy``: frames for machine-learning data sets.

Why two kinds: PNG is what most training pipelines and viewers read (8-bit, windowed with the
file's own default VOI window, MONOCHROME1 inverted for display; colour kept as RGB); NPY keeps
the float32 modality values (HU for CT) for work that needs them. Each instance becomes a folder
``<patient>/<study>/<series>/<SOPInstanceUID>/frame_NNNN.<ext>``; the metadata CSV (written at the
end) carries one row per frame with de-identified header values only.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medeid_gui.export.atomic import write_bytes_atomic
from medeid_gui.export.layout import dicom_relpath

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

    from medeid_gui.dicom.frames import Window

#: one metadata.csv row (a frame): column -> de-identified value
MetaRow = dict[str, "str | int"]

#: metadata.csv columns (all taken from the de-identified dataset)
META_COLUMNS = (
    "file",
    "frame",
    "patient_id",
    "study_uid",
    "series_uid",
    "sop_instance_uid",
    "modality",
    "rows",
    "columns",
    "photometric",
    "window_center",
    "window_width",
    "pixel_spacing",
    "slice_thickness",
    "instance_number",
    "patient_sex",
    "patient_age",
    "body_part",
    "study_date",
)


class NoFrames(Exception):
    """The instance holds no image (an SR, a presentation state …): skipped, not failed."""


def _s(ds: Dataset, kw: str) -> str:
    try:
        v = ds.get(kw, "")
    except Exception:  # noqa: BLE001 - an unreadable value is written as empty in the frames table
        return ""
    if v is None:
        return ""
    if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue":
        return "\\".join(str(x) for x in v)
    return str(v)


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def _png_bytes(frame: np.ndarray, window: Window | None, invert: bool) -> bytes:
    from medeid_gui.dicom.frames import apply_window
    from medeid_gui.export.png import encode_png

    disp = apply_window(frame, window, invert=invert)
    img = np.rint(disp * 255.0).astype(np.uint8)
    return encode_png(img)


def write_frames(ds: Dataset, out_root: Path, fmt: str) -> tuple[str, str, list[MetaRow]]:
    """Write every frame of ``ds``; return (relative folder, combined sha256, metadata rows)."""
    from medeid_gui.dicom.frames import FrameSource

    if fmt not in ("png", "npy"):
        raise ValueError(f"unknown frame format {fmt!r}")
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise NoFrames("no pixel data (not an image): nothing to write as frames")
    src = FrameSource(ds)
    rel_dir = dicom_relpath(ds, "0" * 16)[: -len(".dcm")]
    window = src.default_window() if fmt == "png" else None
    combined = hashlib.sha256()
    rows: list[MetaRow] = []
    for i in range(src.n_frames):
        frame = src.frame(i)
        data = _npy_bytes(frame) if fmt == "npy" else _png_bytes(frame, window, bool(src.invert_display))
        name = f"frame_{i:04d}.{fmt}"
        write_bytes_atomic(out_root / rel_dir / name, data, durable=False)  # synced in batches
        sha = hashlib.sha256(data).hexdigest()
        combined.update(f"{name} {sha}\n".encode())
        rows.append(
            {
                "file": f"{rel_dir}/{name}",
                "frame": i,
                "patient_id": _s(ds, "PatientID"),
                "study_uid": _s(ds, "StudyInstanceUID"),
                "series_uid": _s(ds, "SeriesInstanceUID"),
                "sop_instance_uid": _s(ds, "SOPInstanceUID"),
                "modality": _s(ds, "Modality"),
                "rows": int(frame.shape[0]),
                "columns": int(frame.shape[1]),
                "photometric": _s(ds, "PhotometricInterpretation"),
                "window_center": f"{window.center:g}" if window is not None else "",
                "window_width": f"{window.width:g}" if window is not None else "",
                "pixel_spacing": _s(ds, "PixelSpacing"),
                "slice_thickness": _s(ds, "SliceThickness"),
                "instance_number": _s(ds, "InstanceNumber"),
                "patient_sex": _s(ds, "PatientSex"),
                "patient_age": _s(ds, "PatientAge"),
                "body_part": _s(ds, "BodyPartExamined"),
                "study_date": _s(ds, "StudyDate"),
            }
        )
    return rel_dir, combined.hexdigest(), rows
