"""The real DICOM corpora the tests run over: pydicom's test files, pydicom-data, deid-data.

Why a module: many packages' tests iterate the same files; one place decides what counts as a
corpus file (by content, not extension) so every test sees the same set.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pydicom.data


def _is_dicom(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    if len(head) == 132 and head[128:132] == b"DICM":
        return True
    # preamble-less files: a plausible first tag in group 0002 or 0008 (little endian)
    return len(head) >= 8 and head[0:2] in (b"\x02\x00", b"\x08\x00") and head[1:2] == b"\x00"


@functools.cache
def pydicom_testdata() -> tuple[Path, ...]:
    root = Path(pydicom.data.__file__).parent / "test_files"
    return tuple(sorted(p for p in root.rglob("*") if p.is_file() and _is_dicom(p)))


@functools.cache
def pydicom_data() -> tuple[Path, ...]:
    try:
        import data_store  # the pydicom-data distribution
    except ImportError:
        return ()
    root = Path(data_store.__file__).parent / "data"
    return tuple(sorted(p for p in root.rglob("*") if p.is_file() and _is_dicom(p)))


@functools.cache
def deid_data() -> tuple[Path, ...]:
    try:
        import deid_data as dd
    except ImportError:
        return ()
    root = Path(dd.__file__).parent / "data"
    return tuple(sorted(p for p in root.rglob("*") if p.is_file() and _is_dicom(p)))


def deid_data_file(*parts: str) -> Path:
    import deid_data as dd

    return Path(dd.__file__).parent.joinpath("data", *parts)


def all_corpus_files() -> tuple[Path, ...]:
    return pydicom_testdata() + pydicom_data() + deid_data()


if __name__ == "__main__":  # pragma: no cover - a quick census
    for name, fn in [("pydicom", pydicom_testdata), ("pydicom-data", pydicom_data), ("deid-data", deid_data)]:
        files = fn()
        print(name, len(files), sum(os.path.getsize(p) for p in files) // 1024, "KiB")
