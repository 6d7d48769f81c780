"""Encode a de-identified dataset as DICOM Part 10 bytes, deterministically.

Why bytes and not ``dicom.write.write_atomic(ds, path)``: the pipeline hashes every output for
the manifest and writes it with its own temporary-name scheme, which a rerun after a SIGKILL can
recognise and remove. The File Meta rules are the same as ``dicom.write`` (transfer syntax derived
from the encoding for files that had none, Media Storage UIDs equal to the dataset's, this
writer's implementation identity) and the 128-byte preamble is always zeroed (it can carry a TIFF
header or other application data nobody reviews).
"""

from __future__ import annotations

import io

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

try:  # keep the writer's name identical to dicom.write's
    from medeid_gui.dicom.write import IMPLEMENTATION_VERSION_NAME
except ImportError:  # pragma: no cover
    IMPLEMENTATION_VERSION_NAME = "MEDEID"

ZERO_PREAMBLE = b"\0" * 128


def _meta(ds: Dataset) -> FileMetaDataset:
    meta = FileMetaDataset(getattr(ds, "file_meta", None) or FileMetaDataset())
    if "TransferSyntaxUID" not in meta or not str(meta.TransferSyntaxUID).strip():
        implicit, little = (getattr(ds, "original_encoding", None) or (None, None))[:2]
        if implicit is None or little is None:
            implicit, little = True, True
        meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian if implicit else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
        )
    if ds.get("SOPClassUID", None):
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if ds.get("SOPInstanceUID", None):
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    # the header engine names itself here; files that did not pass through it get pydicom's UID
    if not meta.get("ImplementationClassUID", None):
        meta.ImplementationClassUID = pydicom.uid.PYDICOM_IMPLEMENTATION_UID
    if not meta.get("ImplementationVersionName", None):
        meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return meta


def to_bytes(ds: Dataset) -> bytes:
    """Part 10 bytes of ``ds`` with a zero preamble and consistent File Meta Information."""
    ds.file_meta = meta = _meta(ds)
    ds.preamble = ZERO_PREAMBLE
    buf = io.BytesIO()
    if meta.get("MediaStorageSOPClassUID") and meta.get("MediaStorageSOPInstanceUID"):
        ds.save_as(buf, enforce_file_format=True)
    else:
        # No SOP Class/Instance UID anywhere (seen in old test files): a conformant File Meta
        # cannot be made up; write preamble + what meta there is rather than refuse the file.
        ds.save_as(buf, enforce_file_format=False)
    return buf.getvalue()
