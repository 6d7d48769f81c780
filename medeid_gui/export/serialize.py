"""Encode a de-identified dataset as DICOM Part 10 bytes, deterministically.

Why bytes and not ``dicom.write.write_atomic(ds, path)``: the pipeline hashes every output for
the manifest and writes it with its own temporary-name scheme, which a rerun after a SIGKILL can
recognise and remove. The File Meta rules are the same as ``dicom.write`` (transfer syntax derived
from the encoding for files that had none, Media Storage UIDs equal to the dataset's, this
writer's implementation identity) and the 128-byte preamble is always zeroed (it can carry a TIFF
header or other application data nobody reviews).
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from medeid_gui.dicom.encode import encode_part10
from medeid_gui.dicom.write import meta_for_writing

ZERO_PREAMBLE = b"\0" * 128


def to_bytes(ds: Dataset) -> bytes:
    """Part 10 bytes of ``ds`` with a zero preamble and consistent File Meta Information.

    Encoded by :func:`medeid_gui.dicom.encode.encode_part10`: the same bytes as pydicom's
    ``save_as`` at a fraction of the cost for the raw elements a header export leaves untouched.
    """
    ds.file_meta = meta = meta_for_writing(ds)
    ds.preamble = ZERO_PREAMBLE
    # No SOP Class/Instance UID anywhere (seen in old test files): a conformant File Meta cannot
    # be made up; write preamble + what meta there is rather than refuse the file.
    enforce = bool(meta.get("MediaStorageSOPClassUID") and meta.get("MediaStorageSOPInstanceUID"))
    return encode_part10(ds, meta, ZERO_PREAMBLE, enforce=enforce)
