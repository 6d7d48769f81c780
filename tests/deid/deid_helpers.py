"""Shared helpers for the deid tests — deliberately independent of the engine's own logic.

The leak checks read the shipped profile JSON directly and walk datasets with their own code, so
a bug in the engine's table compilation or walk cannot hide itself.
"""

from __future__ import annotations

import functools
import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "resources" / "profiles" / "ps3.15-2024b-e1-1.json"
TEST_KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


@functools.cache
def table() -> dict[int, dict]:
    data = json.loads(PROFILE.read_text())
    return {int(a["id"], 16): a for a in data["attributes"]}


def walk(ds: Dataset, prefix: str = "") -> Iterator[tuple[str, int, object, str]]:
    """(path, tag, value, VR) for every element at every depth, own recursion."""
    for elem in ds:
        path = f"{prefix}{int(elem.tag):08X}"
        if elem.VR == "SQ":
            yield path, int(elem.tag), elem.value, "SQ"
            for i, item in enumerate(elem.value or ()):
                yield from walk(item, f"{path}[{i}].")
        else:
            yield path, int(elem.tag), elem.value, elem.VR


def norm(value: object) -> object:
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return tuple(str(v).strip() for v in value)  # type: ignore[union-attr]
    if isinstance(value, bytes):
        return value.rstrip(b"\0 ")
    return str(value).strip() if value is not None else ""


def plain_copy_ok(path: Path) -> bool:
    """Decodable for these tests: pydicom reads it and writes it back unchanged."""
    try:
        ds = pydicom.dcmread(path)
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=False)
        pydicom.dcmread(io.BytesIO(buf.getvalue()), force=True)
        return True
    except Exception:
        return False


def is_dicomdir(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    return bool(meta) and meta.get("MediaStorageSOPClassUID") == "1.2.840.10008.1.3.10"


DCIODVFY = shutil.which("dciodvfy")
_STRUCTURAL = ("read failed", "Tags out of order", "Information Object Not found")


@functools.lru_cache(maxsize=2048)
def validator_errors(path: str) -> frozenset[str]:
    """dciodvfy error lines, with values (numbers, UIDs, quoted and bracketed text) masked."""
    assert DCIODVFY
    r = subprocess.run([DCIODVFY, path], capture_output=True, text=True, errors="replace",
                       timeout=60)
    out = set()
    for line in (r.stdout + r.stderr).splitlines():
        if not line.startswith("Error"):
            continue
        line = re.sub(r'"[^"]*"', '""', line)
        line = re.sub(r"\[[^\]]*\]\s*=\s*<[^>]*>", "[]=<>", line)
        line = re.sub(r"\d+(?:\.\d+)*", "N", line)
        out.add(line)
    return frozenset(out)


def structurally_broken(errors: frozenset[str]) -> bool:
    """dciodvfy could not parse the input as an IOD instance: nothing to compare against."""
    return any(k in e for e in errors for k in _STRUCTURAL)
