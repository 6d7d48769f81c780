"""Training data for the method: the generated cohort, or a site's own DICOM folder.

Why two sources behind one shape: the shipped weights come from the generated cohort (identity
and findings known exactly), but a site must be able to train on its own archive, where the only
label is who the patient is (PatientID). Both become ``MethodData``: working-resolution grey
images in [0, 1], an identity label per image, and finding labels/maps when known.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medeid_gui.ml.nets import FEAT, N_FINDINGS, WORK_SIZE


@dataclass
class MethodData:
    images: np.ndarray  #: (N, R, R) float32 in [0, 1]
    patients: np.ndarray  #: (N,) int64 identity label, 0..n_ids-1
    findings: np.ndarray | None  #: (N, 3) float32 0/1, None when unknown
    lesions: np.ndarray | None  #: (N, 3, FEAT, FEAT) float32 fraction of each finding per cell
    lesion_px: np.ndarray | None  #: (N, R, R) float32 any-lesion mask at working resolution
    source: str
    lesion_maps: np.ndarray | None = None  #: (N, 3, R, R) bool per finding (FINDINGS order)
    #: a site's labels (``lab.task_teachers.TeacherData``: these images' labels and the labelled
    #: training images the teachers learn from) for the comp stage; None without a labels CSV
    task_data: object | None = None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def n_ids(self) -> int:
        return int(self.patients.max()) + 1 if len(self.patients) else 0


def _relabel(labels: np.ndarray) -> np.ndarray:
    _, inv = np.unique(labels, return_inverse=True)
    return inv.astype(np.int64)


def is_cohort(path: str | Path) -> bool:
    return (Path(path) / "cohort.json").is_file() and (Path(path) / "labels.csv").is_file()


def load_cohort(root: str | Path, split: str = "train") -> MethodData:
    """One split of a generated cohort (``medeid ml cohort``) at the working resolution."""
    from medeid_gui.lab.cohort import FINDING_BITS, FINDINGS, load_split

    s = load_split(root, split, size=WORK_SIZE)
    lm = s.label_maps  # (N, R, R) bit-coded
    maps = np.stack([((lm & FINDING_BITS[f]) > 0) for f in FINDINGS], 1).astype(np.float32)
    n = len(s)
    f = WORK_SIZE // FEAT
    lesions = maps.reshape(n, N_FINDINGS, FEAT, f, FEAT, f).mean((3, 5)).astype(np.float32)
    return MethodData(s.images.astype(np.float32), _relabel(s.patients), s.findings.astype(np.float32),
                      lesions, (lm > 0).astype(np.float32), f"cohort {root} split {split}",
                      maps > 0)


def _to_work(frame: np.ndarray, size: int = WORK_SIZE) -> np.ndarray:
    """Grey working image in [0, 1]: luminance, percentile window, area resize."""
    import torch
    import torch.nn.functional as F

    a = np.asarray(frame, dtype=np.float32)
    if a.ndim == 3:
        a = a[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    lo, hi = np.percentile(a, (0.5, 99.5))
    if hi - lo < 1e-6:
        hi = lo + 1.0
    n = np.clip((a - lo) / (hi - lo), 0, 1).astype(np.float32)
    t = torch.from_numpy(n)[None, None]
    t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False,
                      antialias=True)
    return t[0, 0].clamp(0, 1).numpy()


def load_dicom_folder(folder: str | Path, *, max_images: int | None = None,
                      progress=None, size: int = WORK_SIZE) -> MethodData:
    """Every image of a DICOM folder; identity label = PatientID. Multi-frame: middle frame.

    Files without pixels or that cannot be decoded are skipped (counted in ``source``); at least
    two patients with two images each are needed for identity training.
    """
    from medeid_gui.dicom.discover import discover
    from medeid_gui.dicom.frames import FrameSource

    found = discover([Path(folder)])
    refs = [r for r in found.instances if r.has_pixels]
    refs.sort(key=lambda r: (r.patient_id, r.study_uid, r.series_uid, r.instance_number or 0,
                             str(r.path)))
    images, pids, skipped = [], [], 0
    for k, ref in enumerate(refs[: max_images or None]):
        try:
            src = FrameSource(ref.path)
            images.append(_to_work(src.frame(src.n_frames // 2), size))
            pids.append(ref.patient_id or "")
        except Exception:  # noqa: BLE001 - one undecodable file must not stop a site's training
            skipped += 1
        if progress:
            progress(k + 1, len(refs))
    if not images:
        raise ValueError(f"no decodable images with pixels under {folder}")
    labels = np.array(pids)
    uniq, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, uniq[counts >= 2]) & (labels != "")
    if len(np.unique(labels[keep])) < 2:
        raise ValueError(
            f"{folder}: need at least two patients (PatientID) with two or more images each to "
            f"learn identity; found {len(uniq)} patient(s) in {len(images)} image(s)")
    imgs = np.stack(images)[keep]
    return MethodData(imgs.astype(np.float32), _relabel(labels[keep]), None, None, None,
                      f"DICOM folder {folder}: {int(keep.sum())} images of "
                      f"{len(np.unique(labels[keep]))} patients ({skipped} undecodable, "
                      f"{int((~keep).sum())} without a second image of the same patient)")


def load_training_data(path: str | Path, split: str = "train", size: int = WORK_SIZE) -> MethodData:
    """The cohort's split (at 128 px only: its lesion maps are made for that grid) or a DICOM
    folder at the working size ``size``."""
    if is_cohort(path):
        if size != WORK_SIZE:
            raise ValueError(f"a generated cohort trains at {WORK_SIZE} px; --size is for DICOM archives")
        return load_cohort(path, split)
    return load_dicom_folder(path, size=size)
