"""``--dicomdir``: turn the exported files into a PS3.10 File-set with a DICOMDIR (pydicom FileSet).

Why a separate last step: a DICOMDIR may only reference File IDs of up to eight components of
eight characters (A-Z, 0-9, _), which UID-named files cannot be. So a ``--dicomdir`` export is
written into a work folder first (resumable like any export), and only when every file is done
are the files laid out the PS3.10 way (``PT000000/ST000000/SE000000/IM000000``) with the
DICOMDIR beside them. Instances are added in sorted order and the File-set UID is derived from
their UIDs, so the result is byte-identical on every run. Record types pydicom would have to
invent a random UID for (PRIVATE records of unknown SOP classes) are left out of the DICOMDIR,
with a note; their files are still copied into the output.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

WORK_DIR = ".medeid-work"


@dataclass
class FileSetResult:
    #: work-relative path -> final output-relative path
    moved: dict[str, str] = field(default_factory=dict)
    #: work-relative path -> reason it is not referenced by the DICOMDIR
    unlisted: dict[str, str] = field(default_factory=dict)


def _deterministic_uid(keys: list[str]) -> str:
    h = hashlib.sha256("\n".join(keys).encode()).digest()
    return "2.25." + str(int.from_bytes(h[:16], "big"))


def build_fileset(work_root: Path, out_root: Path, rel_paths: list[str]) -> FileSetResult:
    """Lay the files of ``work_root`` out as a File-set in ``out_root`` with a DICOMDIR."""
    import pydicom
    from pydicom import fileset as pfs

    known = set(getattr(pfs, "_FOUR_LEVEL_SOP_CLASSES", {})) | set(getattr(pfs, "_SINGLE_LEVEL_SOP_CLASSES", {}))
    res = FileSetResult()
    fs = pfs.FileSet()
    fs.ID = "MEDEID"
    listed: list[tuple[str, str]] = []  # (rel, sop uid)
    extra: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rel in sorted(rel_paths):
            src = work_root / rel
            try:
                ds = pydicom.dcmread(src)
                cls = str(ds.get("SOPClassUID", ""))
                if not cls or (known and cls not in known):
                    raise ValueError(f"SOP class {cls or '(none)'} has no standard directory record")
                fs.add(ds)
                listed.append((rel, str(ds.SOPInstanceUID)))
            except Exception as exc:  # noqa: BLE001
                res.unlisted[rel] = f"not listed in DICOMDIR: {str(exc).splitlines()[0][:200]}"
                extra.append(rel)
        fs.UID = _deterministic_uid([u for _, u in listed])
        out_root.mkdir(parents=True, exist_ok=True)
        if listed:
            fs.write(out_root)
            by_uid = {str(inst.SOPInstanceUID): inst.FileID.replace("\\", "/") for inst in fs}
            for rel, uid in listed:
                res.moved[rel] = by_uid[uid]
    # files without a DICOMDIR record keep their place (under UNLISTED/) so nothing is lost
    for rel in extra:
        dst = out_root / "UNLISTED" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work_root / rel, dst)
        res.moved[rel] = f"UNLISTED/{rel}"
    return res
