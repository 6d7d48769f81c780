"""The engine over every decodable file of pydicom's test data, pydicom-data and deid-data.

For each file: de-identify (Basic Profile), write, re-read, then check with an independent walk
that no attribute the table says to remove or replace still holds its original value at any
depth, that no private attribute or identifying file-meta element survives, and that the
patient's identifying strings occur nowhere in the written header.
"""

from __future__ import annotations

import io
from pathlib import Path

import corpora
import pydicom
import pytest
from deid_helpers import TEST_KEY, is_dicomdir, norm, plain_copy_ok, table, walk
from pydicom.uid import UID_dictionary

from medeid_gui.deid.engine import DeidConfig, Deidentifier
from medeid_gui.deid.keys import ProjectKey
from medeid_gui.deid.options import Option

FILES = corpora.all_corpus_files()
_IDENTIFYING = ("PatientName", "PatientID", "OtherPatientIDs", "AccessionNumber",
                "InstitutionName", "ReferringPhysicianName", "PatientBirthDate",
                "OperatorsName", "StationName", "InstitutionAddress")


@pytest.fixture(scope="module")
def basic() -> Deidentifier:
    return Deidentifier(DeidConfig(), ProjectKey(TEST_KEY))


def _roundtrip(deid: Deidentifier, path: Path) -> tuple[pydicom.Dataset, pydicom.Dataset, bytes]:
    original = pydicom.dcmread(path)
    work = pydicom.dcmread(path)
    deid.deidentify(work)
    buf = io.BytesIO()
    work.save_as(buf, enforce_file_format=False)
    data = buf.getvalue()
    return original, pydicom.dcmread(io.BytesIO(data)), data


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_listed_value_survives(basic: Deidentifier, path: Path) -> None:
    if not plain_copy_ok(path):
        pytest.skip("pydicom cannot read+write this file unchanged (not decodable)")
    original, out, _ = _roundtrip(basic, path)
    if is_dicomdir(original):
        pytest.skip("DICOMDIR is a directory, not an instance")
    rows = table()
    out_values = {p: v for p, _, v, _ in walk(out)}
    leaks = []
    for p, tag, value, vr in walk(original):
        if tag >> 16 & 1:
            continue  # checked below: no private attribute at all
        row = rows.get(tag)
        if row is None or vr == "SQ":
            continue
        before = norm(value)
        if before in ("", (), b"") or p not in out_values:
            continue
        if vr == "UI" and all(v in UID_dictionary for v in (before if isinstance(before, tuple) else (before,))):
            continue  # well-known UIDs are never changed
        if norm(out_values[p]) == before:
            leaks.append(f"{p} {row['name']} ({row['basic']}) kept {before!r}")
    assert not leaks, "\n".join(leaks)
    private = [p for p, tag, _, _ in walk(out) if tag >> 16 & 1]
    assert not private, private
    meta = out.file_meta
    for kw in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
               "ReceivingApplicationEntityTitle", "PrivateInformation"):
        assert kw not in meta
    if "SOPInstanceUID" in out and "MediaStorageSOPInstanceUID" in meta:
        assert meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.PatientIdentityRemoved == "YES"
    _identifying_strings_absent_from_header(original, out)


def _identifying_strings_absent_from_header(original: pydicom.Dataset, out: pydicom.Dataset) -> None:
    for big in ("PixelData", "FloatPixelData", "DoubleFloatPixelData", "WaveformSequence"):
        if big in out:
            del out[big]
    buf = io.BytesIO()
    out.save_as(buf, enforce_file_format=False)
    header = buf.getvalue().upper()
    needles = set()
    for kw in _IDENTIFYING:
        v = original.get(kw)
        for s in (v if isinstance(v, (list, pydicom.multival.MultiValue)) else [v]):
            s = str(s or "").strip().upper()
            if len(s) >= 5 and s not in ("ANONYMIZED", "ANONYMOUS") and not s.startswith("ANON"):
                needles.add(s)
    # a value inside one the standard keeps (InstitutionName "TOSHIBA", Manufacturer
    # "TOSHIBA_MEC") is no leak
    rows = table()
    kept = {str(norm(v)).upper() for _, tag, v, vr in walk(original)
            if tag not in rows and not tag >> 16 & 1 and vr != "SQ"}
    needles = {n for n in needles if not any(n in k for k in kept)}
    found = [n for n in needles if n.encode("latin-1", "replace") in header]
    assert not found, found


_CONFIGS = {
    "research": DeidConfig(profile="research"),
    "research-clean": DeidConfig(profile="research-clean"),
    "every-option": DeidConfig(options=frozenset(set(Option) - {Option.RETAIN_LONGITUDINAL_FULL_DATES})),
}


@pytest.mark.parametrize("name", sorted(_CONFIGS))
def test_every_preset_processes_every_file(name: str) -> None:
    """No crash and a readable output for every decodable file under every preset (the Clean
    options decode text in every character set the corpora use, e.g. ISO 2022 IR 13)."""
    deid = Deidentifier(_CONFIGS[name], ProjectKey(TEST_KEY))
    failures = []
    for path in FILES:
        if not plain_copy_ok(path):
            continue
        try:
            _, out, _ = _roundtrip(deid, path)
            assert out.PatientIdentityRemoved == "YES"
        except Exception as exc:
            failures.append(f"{path.name}: {type(exc).__name__}: {exc}"[:300])
    assert not failures, "\n".join(failures)
