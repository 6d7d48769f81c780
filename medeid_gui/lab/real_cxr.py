"""The real chest-radiograph set (``shared/real/cxr``): loading, frontal views, patient splits.

Why: the privacy method must be trained and measured on real images, where the only identity
signal available is images of one patient taken on different days. Every later experiment must
split the same way: by patient (a patient's images never straddle splits, so re-identification
is never measured on a patient seen in training), deterministically from a seed, with the
multi-image patients (the only source of positive pairs) spread over every split.

The set loads either from its PNG folder or from the DICOM folder ``medeid import-images`` made
of it; both read pixels through the same decoder path and give the same uint8 arrays, which
``tests/lab/test_real_cxr.py`` checks. Lateral views (``L``) are another domain and are left out
by default.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "FRONTAL_VIEWS",
    "SPLITS",
    "CxrItem",
    "RealCxrSet",
    "default_root",
    "load_imported_dicom",
    "load_png_folder",
    "read_metadata",
    "split_counts",
    "split_patients",
]

FRONTAL_VIEWS = ("PA", "AP", "AP Supine")
SPLITS = ("train", "val", "test")
ENV_VAR = "MEDEID_REAL_CXR"


def default_root() -> Path | None:
    """Where the set is: ``$MEDEID_REAL_CXR``, else ``../shared/real/cxr`` beside the repo root."""
    env = os.environ.get(ENV_VAR)
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / ".." / "shared" / "real" / "cxr")
    for c in candidates:
        if (c / "metadata.csv").is_file():
            return c.resolve()
    return None


def _float(text: str) -> float | None:
    try:
        return float(text) if text.strip() else None
    except ValueError:
        return None


def _int(text: str) -> int | None:
    f = _float(text)
    return int(f) if f is not None and f == int(f) else None


@dataclass(frozen=True)
class CxrItem:
    """One metadata row (one image)."""

    image: str
    patient_id: str
    offset: int | None  # days since the patient's first image; None when not known
    view: str
    sex: str
    age: float | None
    finding: str
    licence: str
    lung_mask: str  # mask file name, '' when the image has none
    severity_geographic: float | None
    severity_opacity: float | None
    orig_width: int | None
    orig_height: int | None

    @property
    def frontal(self) -> bool:
        return self.view in FRONTAL_VIEWS

    @classmethod
    def from_row(cls, r: dict[str, str]) -> CxrItem:
        def g(k: str) -> str:
            return (r.get(k) or "").strip()

        return cls(
            image=g("image"), patient_id=g("patientid"), offset=_int(g("offset")), view=g("view"),
            sex=g("sex"), age=_float(g("age")), finding=g("finding"), licence=g("license"),
            lung_mask=g("lung_mask"), severity_geographic=_float(g("severity_geographic")),
            severity_opacity=_float(g("severity_opacity")), orig_width=_int(g("orig_width")),
            orig_height=_int(g("orig_height")),
        )


@dataclass
class RealCxrSet:
    """Items and their images (uint8, each at its own size), in metadata order."""

    items: list[CxrItem]
    images: list[np.ndarray]
    missing: list[tuple[str, str]] = field(default_factory=list)  # (image, reason) not loaded

    def __len__(self) -> int:
        return len(self.items)

    @property
    def patients(self) -> list[str]:
        return [it.patient_id for it in self.items]

    def subset(self, indices) -> RealCxrSet:
        idx = list(indices)
        return RealCxrSet([self.items[i] for i in idx], [self.images[i] for i in idx], list(self.missing))


def read_metadata(csv_path: str | os.PathLike[str], *, frontal_only: bool = True) -> list[CxrItem]:
    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        items = [CxrItem.from_row(r) for r in csv.DictReader(fh)]
    return [it for it in items if it.frontal] if frontal_only else items


def load_png_folder(root: str | os.PathLike[str], *, frontal_only: bool = True) -> RealCxrSet:
    """The set from ``root/metadata.csv`` and ``root/images/*.png``."""
    from medeid_gui.dicom.image_files import ImageFileError, read_image_file

    root = Path(root)
    items, images, missing = [], [], []
    for it in read_metadata(root / "metadata.csv", frontal_only=frontal_only):
        try:
            img = read_image_file(root / "images" / it.image)
        except ImageFileError as exc:
            missing.append((it.image, exc.reason))
            continue
        items.append(it)
        images.append(img.pixels)
    return RealCxrSet(items, images, missing)


def load_imported_dicom(folder: str | os.PathLike[str], metadata_csv: str | os.PathLike[str], *,
                        frontal_only: bool = True) -> RealCxrSet:
    """The set from a folder written by ``medeid import-images`` (joined to the CSV by image name).

    Each instance names its source image in Image Comments; rows without an instance are listed
    in ``missing``. The pixel arrays are the instances' stored values (the PNGs' own values).
    """
    import pydicom

    from medeid_gui.dicom.import_images import image_name_of

    by_name: dict[str, Path] = {}
    for path in sorted(Path(folder).rglob("*.dcm")):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        name = image_name_of(ds)
        if name:
            by_name[name] = path
    items, images, missing = [], [], []
    for it in read_metadata(metadata_csv, frontal_only=frontal_only):
        path = by_name.get(it.image)
        if path is None:
            missing.append((it.image, "no imported instance"))
            continue
        ds = pydicom.dcmread(path)
        if str(ds.PatientID) != it.patient_id:
            missing.append((it.image, f"instance has PatientID {ds.PatientID!r}, CSV {it.patient_id!r}"))
            continue
        items.append(it)
        images.append(np.ascontiguousarray(ds.pixel_array))
    return RealCxrSet(items, images, missing)


def split_patients(items: list[CxrItem], seed: int,
                   fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)) -> dict[str, list[int]]:
    """Patient-disjoint train/val/test item indices, deterministic from ``seed``.

    Patients with several images and those with one are shuffled and cut separately, so every
    split gets its share of multi-image patients (the positive pairs of the identity attack).
    A patient's images always land in one split together.
    """
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError("fractions must be three non-negative numbers summing to 1")
    by_patient: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        by_patient[it.patient_id].append(i)
    rng = np.random.default_rng(seed)
    assign: dict[str, str] = {}
    for group in (sorted(p for p, v in by_patient.items() if len(v) > 1),
                  sorted(p for p, v in by_patient.items() if len(v) == 1)):
        order = [group[k] for k in rng.permutation(len(group))]
        n_train = round(fractions[0] * len(order))
        n_val = round((fractions[0] + fractions[1]) * len(order)) - n_train
        for k, p in enumerate(order):
            assign[p] = "train" if k < n_train else ("val" if k < n_train + n_val else "test")
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for i, it in enumerate(items):
        out[assign[it.patient_id]].append(i)
    return out


def split_counts(items: list[CxrItem], splits: dict[str, list[int]]) -> dict[str, dict[str, int]]:
    """Per split: patients, multi-image patients, multi-day patients, images, masks, severities."""
    counts: dict[str, dict[str, int]] = {}
    for name, idx in splits.items():
        per: dict[str, list[CxrItem]] = defaultdict(list)
        for i in idx:
            per[items[i].patient_id].append(items[i])
        counts[name] = {
            "patients": len(per),
            "multi_image_patients": sum(len(v) > 1 for v in per.values()),
            "multi_day_patients": sum(len({x.offset for x in v if x.offset is not None}) > 1 for v in per.values()),
            "images": len(idx),
            "lung_masks": sum(bool(items[i].lung_mask) for i in idx),
            "severity_scores": sum(items[i].severity_geographic is not None for i in idx),
        }
    return counts
