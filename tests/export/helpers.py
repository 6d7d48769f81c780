"""Shared helpers for the export tests: real input folders, tree comparison, an isolated env.

Why a module and not fixtures only: the kill-and-resume test builds its input the same way in a
subprocess-free setup step, and tests/cli reuses these too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

#: small real files of different kinds (CT, MR, colour US, RGB, multi-frame, implicit VR)
SMALL = (
    "CT_small.dcm",
    "MR_small.dcm",
    "rtdose.dcm",
    "US1_UNCR.dcm",
    "SC_rgb.dcm",
    "ExplVR_LitEndNoMeta.dcm",
    "JPEG2000.dcm",
    "emri_small.dcm",
)


def data_file(name: str) -> Path:
    return Path(get_testdata_file(name))


def copy_inputs(dst: Path, names: tuple[str, ...] = SMALL) -> list[Path]:
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for i, n in enumerate(names):
        p = dst / f"s{i:02d}" / n
        p.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_file(n), p)
        out.append(p)
    return out


def replicate(dst: Path, n: int, names: tuple[str, ...] = ("CT_small.dcm", "MR_small.dcm")) -> list[Path]:
    """``n`` real files with their own UIDs (study per 20 files) so none is a duplicate."""
    from pydicom.uid import generate_uid

    dst.mkdir(parents=True, exist_ok=True)
    src = [pydicom.dcmread(data_file(nm)) for nm in names]
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            ds = src[i % len(src)].copy()
            ds.PatientID = f"PAT{i // 40:03d}"
            ds.PatientName = f"Doe^Jane{i // 40:03d}"
            ds.StudyInstanceUID = f"1.2.826.0.1.3680043.8.498.{1000 + i // 20}"
            ds.SeriesInstanceUID = f"1.2.826.0.1.3680043.8.498.{5000 + i // 10}"
            ds.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.{9000 + i}"
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            p = dst / f"p{i // 40:03d}" / f"img{i:05d}.dcm"
            p.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(p)
            out.append(p)
    del generate_uid
    return out


def tree(root: Path) -> dict[str, str]:
    """relative path -> sha256 for every file under root."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def hashes(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
