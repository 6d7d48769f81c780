"""``--dicomdir``: turn the exported files into a PS3.10 File-set with a DICOMDIR (pydicom FileSet).

Why a separate last step: a DICOMDIR may only reference File IDs of up to eight components of
eight characters (A-Z, 0-9, _), which UID-named files cannot be. So a ``--dicomdir`` export is
written into a work folder first (resumable like any export), and only when every file is done
are the files laid out the PS3.10 way (``PT000000/ST000000/SE000000/IM000000``) with the
DICOMDIR beside them. Instances are added in sorted order and the File-set UID is derived from
their UIDs, so the result is byte-identical on every run. Instances pydicom cannot make a
directory record for (a required attribute missing) are copied to ``UNLISTED/`` with a note in
the manifest, so nothing is lost.
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


#: Type 1 values of directory records that a de-identified instance may lack (the Basic Profile
#: empties Study Date/Time and Study ID). They go into the DICOMDIR record only, never into a file.
_PLACEHOLDERS = {
    "PatientID": "NONE",
    "StudyDate": "19000101",
    "StudyTime": "000000",
    "StudyID": "0",
    "Modality": "OT",
    "SeriesNumber": 0,
    "InstanceNumber": 0,
}


def _lenient(recorder, keywords):  # type: ignore[no-untyped-def]
    """Wrap a pydicom record creator so empty Type 1 values get placeholders in the record."""

    def make(ds):  # type: ignore[no-untyped-def]
        from pydicom.dataset import Dataset

        missing = [k for k in keywords if ds.get(k, None) in (None, "")]
        if not missing:
            return recorder(ds)
        view = Dataset()
        for elem in ds:
            if elem.tag.group not in (0x7FE0,) and elem.VR != "SQ":
                view.add(elem)
        for k in missing:
            setattr(view, k, _PLACEHOLDERS[k])
        return recorder(view)

    return make


def build_fileset(work_root: Path, out_root: Path, rel_paths: list[str]) -> FileSetResult:
    """Lay the files of ``work_root`` out as a File-set in ``out_root`` with a DICOMDIR."""
    import pydicom
    from pydicom import fileset as pfs

    res = FileSetResult()
    saved = dict(pfs.DIRECTORY_RECORDERS)
    pfs.DIRECTORY_RECORDERS["PATIENT"] = _lenient(saved["PATIENT"], ["PatientID"])
    pfs.DIRECTORY_RECORDERS["STUDY"] = _lenient(saved["STUDY"], ["StudyDate", "StudyTime", "StudyID"])
    pfs.DIRECTORY_RECORDERS["SERIES"] = _lenient(saved["SERIES"], ["Modality", "SeriesNumber"])
    pfs.DIRECTORY_RECORDERS["IMAGE"] = _lenient(saved["IMAGE"], ["InstanceNumber"])
    try:
        return _build(pfs, pydicom, work_root, out_root, rel_paths, res)
    finally:
        pfs.DIRECTORY_RECORDERS.clear()
        pfs.DIRECTORY_RECORDERS.update(saved)


def _build(pfs, pydicom, work_root: Path, out_root: Path, rel_paths: list[str], res: FileSetResult) -> FileSetResult:  # type: ignore[no-untyped-def]
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
                if not ds.get("SOPClassUID", None):
                    raise ValueError("no SOP Class UID")
                fs.add(ds)
                listed.append((rel, str(ds.SOPInstanceUID)))
            except Exception as exc:  # noqa: BLE001 - a file the DICOMDIR cannot list is reported, not fatal
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
