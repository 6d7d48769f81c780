"""One small mixed archive for the training tests (CLI and app): real radiographs imported as DICOM
(as a site would, ``medeid import-images``) -- three frontal patients imaged on two days and one
lateral image -- plus pydicom's CT_small.dcm and a broken file.  None when the real set is absent.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from pydicom.data import get_testdata_file

from medeid_gui.lab.real_cxr import default_root, read_metadata

REAL = default_root()
#: tiny step counts: the plumbing is tested, not the model's quality
STEPS = "reid=2,idmap=2,ssl=2,mdl=2,comp=2"


def archive_rows(n_multi: int = 3) -> list[dict[str, str]]:
    """Rows of ``n_multi`` frontal patients imaged on two days, and one lateral image."""
    assert REAL is not None
    with open(REAL / "metadata.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    days: dict[str, set[str]] = {}
    for it in read_metadata(REAL / "metadata.csv"):
        days.setdefault(it.patient_id, set()).add(str(it.offset))
    multi = sorted(p for p, d in days.items() if len(d) >= 2)[:n_multi]
    chosen = [r for r in rows if r["patientid"] in multi and r["view"] in ("PA", "AP", "AP Supine")]
    lateral = [r for r in rows if r["view"] == "L"][:1]
    return chosen + lateral


def build_archive(root: Path, n_multi: int = 3, *, masks: bool = False) -> Path:
    """Write the archive under ``root``: ``dicom/`` (the folder to train on) and ``labels.csv``
    (``n_multi`` frontal patients imaged on two days; ``masks``: their lung masks beside it)."""
    from medeid_gui.dicom.import_images import ImportOptions, import_images

    assert REAL is not None
    rows = archive_rows(n_multi)
    root.mkdir(parents=True, exist_ok=True)
    if masks:
        (root / "lung_masks").mkdir(exist_ok=True)
        for r in rows:
            if r["lung_mask"]:
                shutil.copy(REAL / "lung_masks" / r["lung_mask"], root / "lung_masks" / r["lung_mask"])
    csv_path = root / "labels.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    res = import_images(REAL / "images", csv_path, root / "dicom", ImportOptions(body_part="CHEST"))
    assert res.written == len(rows)
    shutil.copy(get_testdata_file("CT_small.dcm"), root / "dicom" / "ct1.dcm")
    (root / "dicom" / "broken.dcm").write_bytes(b"DICM" + b"\0" * 50)
    return root
