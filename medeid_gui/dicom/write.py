"""Write a dataset as a valid DICOM file, atomically.

Why atomic: an export interrupted by a crash, a full disk or a cancel must never leave a
half-written ``.dcm`` that later reads as a valid (but truncated) image. The dataset is written to
a hidden temporary file in the destination folder, flushed and fsynced, then renamed over the
target with ``os.replace`` (atomic on POSIX and Windows within one file system).

Why the file-meta handling: pydicom 3 writes the DICOM File Format only with
``enforce_file_format=True``, which needs a Transfer Syntax UID; datasets read from files without
file meta (ACR-NEMA style, preamble-less) have none, so it is derived from how they were encoded.
Media Storage SOP Class/Instance UIDs are kept equal to the dataset's (they change under
de-identification) and the Implementation Class UID names the writer (PS3.10 7.1).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from medeid_gui import __version__

__all__ = ["write_atomic", "meta_for_writing", "DicomWriteError", "IMPLEMENTATION_CLASS_UID",
           "IMPLEMENTATION_VERSION_NAME"]

#: medeid's own implementation identity (2.25 form of UUID5(NAMESPACE_URL, "medeid")),
#: written into the File Meta of every file it writes
#: (PS3.10: the implementation that wrote the file, not the one that made the original)
IMPLEMENTATION_CLASS_UID = "2.25.260245424810264290741147241336054973118"
IMPLEMENTATION_VERSION_NAME = ("MEDEID_" + __version__)[:16]  # (0002,0013) SH, at most 16


class DicomWriteError(Exception):
    """Writing failed; the target was left as it was and no temporary file remains."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def meta_for_writing(ds: Dataset) -> FileMetaDataset:
    """A copy of the file meta, made consistent for writing ``ds``.

    The transfer syntax is derived from the dataset's encoding where the meta has none; the
    Media Storage SOP Class/Instance UIDs follow the dataset's (they change under
    de-identification); the implementation identity is medeid's. Shared with the export's
    serializer so both writers make the same File Meta.
    """
    meta = FileMetaDataset(getattr(ds, "file_meta", None) or FileMetaDataset())
    # by tag, not keyword: this runs once per exported file and keyword lookup dominated it
    ts = meta.get_item(0x00020010)
    if ts is None or not str(meta[0x00020010].value or "").strip():
        implicit, little = (getattr(ds, "original_encoding", None) or (None, None))[:2]
        if implicit is None or little is None:
            implicit, little = True, True
        meta[0x00020010] = DataElement(
            0x00020010,
            "UI",
            (ImplicitVRLittleEndian if implicit else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)),
        )
    for src, dst in ((0x00080016, 0x00020002), (0x00080018, 0x00020003)):
        if src in ds._dict:
            value = ds[src].value
            if value:
                meta[dst] = DataElement(dst, "UI", value)
    meta[0x00020012] = DataElement(0x00020012, "UI", IMPLEMENTATION_CLASS_UID)
    meta[0x00020013] = DataElement(0x00020013, "SH", IMPLEMENTATION_VERSION_NAME)
    return meta


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); folders cannot be opened for fsync on Windows."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(ds: Dataset, path: str | os.PathLike[str], *, keep_preamble: bool = False) -> int:
    """Write ``ds`` to ``path`` in the DICOM File Format; return the size in bytes written.

    The transfer syntax of ``ds.file_meta`` is kept (the pixel data must already match it). The
    128-byte preamble is written as zeros unless ``keep_preamble`` (a preamble can carry a TIFF
    header or other application data nobody reviews). ``ds`` is left unchanged.
    Raises :class:`DicomWriteError` with a reason; on any error the target is untouched and the
    temporary file removed.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise DicomWriteError(target, f"folder does not exist: {folder}")
    had_meta = hasattr(ds, "file_meta")
    old_meta = getattr(ds, "file_meta", None)
    old_preamble = getattr(ds, "preamble", None)
    try:
        meta = meta_for_writing(ds)
    except Exception as exc:
        raise DicomWriteError(target, f"invalid file meta information: {exc}") from exc
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise DicomWriteError(target, f"cannot create a file in {folder} ({exc.strerror or exc})") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            ds.file_meta = meta
            if not keep_preamble and old_preamble is not None:
                ds.preamble = None
            pydicom.dcmwrite(fh, ds, enforce_file_format=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(exc, OSError) and exc.errno is not None:  # a real I/O error (disk full, …)
            raise DicomWriteError(target, f"write failed ({exc.strerror or exc})") from exc
        # pydicom reports unencodable values as OSError without errno, with a traceback appended
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise DicomWriteError(target, f"cannot encode dataset ({type(exc).__name__}: {first_line})") from exc
    finally:
        if had_meta:
            ds.file_meta = old_meta  # type: ignore[assignment]
        else:
            try:
                del ds.file_meta
            except AttributeError:
                pass
        if old_preamble is not None:
            ds.preamble = old_preamble
    _fsync_dir(folder)
    return target.stat().st_size
