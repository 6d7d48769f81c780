"""Any folder of DICOM images as (images, patient labels), for training the attacker on a
site's own archive or on de-identified output (PatientID is the identity label).

Why: the attacker must be trainable on whatever images a site holds, not only the generated
cohort; a de-identified export keeps a consistent pseudonymous PatientID per patient, which is
exactly the label the "retrained attacker" needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class ImageSet:
    images: np.ndarray  # (N, size, size) float32 in [0, 1]
    patients: np.ndarray  # (N,) int64
    patient_ids: list[str]  # index -> PatientID
    paths: list[str]
    skipped: list[tuple[str, str]]


def _normalise(frame: np.ndarray, invert: bool) -> np.ndarray:
    lo, hi = np.percentile(frame, (0.5, 99.5))
    x = np.clip((frame - lo) / max(hi - lo, 1e-6), 0, 1)
    return 1 - x if invert else x


def load_dicom_folder(folder: str | Path, size: int = 128) -> ImageSet:
    """Every single-frame greyscale DICOM image under ``folder``, resized to size x size.

    Files that are not DICOM, have no pixels, are colour or multi-frame are skipped and listed
    in ``skipped`` with the reason (never an exception for one bad file).
    """
    import pydicom
    from scipy import ndimage

    imgs, pids, paths, skipped = [], [], [], []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(str(path))
            if "PixelData" not in ds:
                skipped.append((str(path), "no pixel data"))
                continue
            if int(ds.get("SamplesPerPixel", 1)) != 1 or int(ds.get("NumberOfFrames", 1) or 1) > 1:
                skipped.append((str(path), "colour or multi-frame"))
                continue
            arr = ds.pixel_array.astype(np.float32)
            arr = arr * float(ds.get("RescaleSlope", 1) or 1) + float(ds.get("RescaleIntercept", 0) or 0)
        except Exception as exc:  # noqa: BLE001 - one unreadable file must not stop the set
            skipped.append((str(path), f"{type(exc).__name__}: {exc}"))
            continue
        x = _normalise(arr, ds.get("PhotometricInterpretation") == "MONOCHROME1")
        x = ndimage.zoom(x, (size / x.shape[0], size / x.shape[1]), order=1)[:size, :size]
        imgs.append(x.astype(np.float32))
        pids.append(str(ds.get("PatientID", "")))
        paths.append(str(path))
    if not imgs:
        raise ValueError(f"no usable greyscale DICOM images under {folder}")
    uniq = sorted(set(pids))
    index = {p: i for i, p in enumerate(uniq)}
    return ImageSet(np.stack(imgs), np.array([index[p] for p in pids], dtype=np.int64), uniq,
                    paths, skipped)


def patient_split(patients: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (train, test) masks over images, patient-disjoint."""
    uniq = np.unique(patients)
    rng = np.random.default_rng(seed)
    test_p = set(rng.choice(uniq, max(1, int(round(test_fraction * len(uniq)))), replace=False))
    test = np.array([p in test_p for p in patients])
    return ~test, test
