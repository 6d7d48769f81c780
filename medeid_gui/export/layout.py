"""Where a de-identified file goes in the output folder.

Why a module: the folder names are the *pseudonymous* PatientID / Study / Series UIDs and the
file name is the new SOPInstanceUID, so the layout itself carries no identifier — but values in
the wild can hold path separators, ``..`` or odd characters; they are made safe here, once.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_component(value: object, fallback: str) -> str:
    """A file-system-safe path component (ASCII, no separators, never ``.``/``..``/hidden)."""
    text = _UNSAFE.sub("_", str(value or "").strip())[:64].strip(".")
    return text or fallback


def dicom_relpath(ds: object, sha_fallback: str) -> str:
    """``<PatientID>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` (pseudonymous)."""
    g = getattr(ds, "get", None)

    def val(kw: str) -> str:
        v = g(kw, "") if g else ""
        return str(v if v is not None else "")

    sop = safe_component(val("SOPInstanceUID"), f"sha-{sha_fallback[:16]}")
    return "/".join(
        (
            safe_component(val("PatientID"), "no-patient-id"),
            safe_component(val("StudyInstanceUID"), "no-study-uid"),
            safe_component(val("SeriesInstanceUID"), "no-series-uid"),
            sop + ".dcm",
        )
    )
