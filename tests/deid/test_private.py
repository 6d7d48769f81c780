"""Private attributes: gone under the Basic Profile, allowlisted ones kept under Retain Safe
Private, and nothing leaks from implicit-VR private blocks that arrive as raw bytes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian

from medeid_gui.deid.engine import DeidConfig, Deidentifier
from medeid_gui.deid.keys import ProjectKey
from medeid_gui.deid.options import Option
from medeid_gui.deid.private import load_safe_private

from deid_helpers import TEST_KEY

SAFE = frozenset({Option.RETAIN_SAFE_PRIVATE})


def _with_b_value() -> Dataset:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))  # has a GEMS_PARM_01 block in 0043
    assert ds[0x00430010].value == "GEMS_PARM_01"
    ds.add_new(0x00431039, "IS", ["1000", "8", "0", "0"])
    return ds


def _privates(ds: Dataset) -> list[int]:
    return [int(t) for t in ds.keys() if t.group & 1]


def test_basic_profile_removes_every_private_attribute() -> None:
    ds = _with_b_value()
    Deidentifier(DeidConfig(), ProjectKey(TEST_KEY)).deidentify(ds)
    assert _privates(ds) == []


def test_safe_private_keeps_only_the_allowlisted_element_and_its_creator() -> None:
    ds = _with_b_value()
    res = Deidentifier(DeidConfig(options=SAFE), ProjectKey(TEST_KEY)).deidentify(ds)
    assert sorted(_privates(ds)) == [0x00430010, 0x00431039]
    assert list(ds[0x00431039].value) == [1000, 8, 0, 0]
    kept = [a for a in res.actions if a.tag == "(0043,1039)"]
    assert kept and kept[0].action == "K" and "E.3.10" in kept[0].reason
    assert {i.CodeValue for i in ds.DeidentificationMethodCodeSequence} == {"113100", "113111"}


def test_allowlist_is_matched_by_creator_not_by_tag() -> None:
    ds = _with_b_value()
    ds[0x00430010].value = "SOMEONE ELSE"
    Deidentifier(DeidConfig(options=SAFE), ProjectKey(TEST_KEY)).deidentify(ds)
    assert _privates(ds) == []


def test_user_allowlist_file(tmp_path: Path) -> None:
    path = tmp_path / "allow.json"
    path.write_text(json.dumps({"entries": [
        {"creator": "ACME 1.0", "group": "0029", "element": "01", "vr": "US", "source": "test"}]}))
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    block = ds.private_block(0x0029, "ACME 1.0", create=True)
    block.add_new(0x01, "US", 3)
    block.add_new(0x02, "LO", "Doe^Jane")
    Deidentifier(DeidConfig(options=SAFE, safe_private_path=path), ProjectKey(TEST_KEY)).deidentify(ds)
    acme = [t for t in _privates(ds) if t >> 16 == 0x0029]
    assert len(acme) == 2 and any(t & 0xFF == 0x01 and t & 0xFF00 for t in acme)
    assert "Doe^Jane" not in str(ds)


def test_bad_allowlist_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"entries": [{"creator": "X", "group": "0010", "element": "01", "vr": "US"}]}))
    with pytest.raises(ValueError, match="not a private"):
        load_safe_private(str(path))
    with pytest.raises(ValueError, match="not found"):
        load_safe_private(str(tmp_path / "missing.json"))


def test_shipped_allowlist_cites_a_source_for_every_entry() -> None:
    allow = load_safe_private()
    assert len(allow) > 0
    assert all(e.source and e.vr and e.creator for e in allow.entries)


@pytest.mark.parametrize("options", [frozenset(), SAFE], ids=["basic", "safe-private"])
def test_implicit_vr_private_block_does_not_leak(options: frozenset[Option]) -> None:
    """A private block with a name, an ID, a sequence and the StudyInstanceUID, written as
    implicit VR (values come back as raw bytes, VR UN) must leave nothing behind."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    study_uid = ds.StudyInstanceUID
    block = ds.private_block(0x0071, "HOSPITAL PACS 2", create=True)
    block.add_new(0x01, "PN", "Smithers^Waylon")
    block.add_new(0x02, "LO", "MRN-99887766")
    block.add_new(0x03, "UI", study_uid)
    inner = Dataset()
    inner.PatientID = "MRN-99887766"
    block.add_new(0x04, "SQ", Sequence([inner]))
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=False)
    raw = pydicom.dcmread(io.BytesIO(buf.getvalue()))
    assert raw.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
    assert raw.get_item(block.get_tag(0x01)).VR is None  # still raw bytes, VR unknown
    Deidentifier(DeidConfig(options=options), ProjectKey(TEST_KEY)).deidentify(raw)
    out = io.BytesIO()
    raw.save_as(out, enforce_file_format=False)
    data = out.getvalue()
    for secret in (b"Smithers", b"MRN-99887766", study_uid.encode(), b"HOSPITAL PACS"):
        assert secret not in data, secret


def test_allowlisted_raw_bytes_kept_only_when_they_fit_the_vr(tmp_path: Path) -> None:
    path = tmp_path / "allow.json"
    path.write_text(json.dumps({"entries": [
        {"creator": "ACME 1.0", "group": "0029", "element": "01", "vr": "US", "source": "test"},
        {"creator": "ACME 1.0", "group": "0029", "element": "02", "vr": "US", "source": "test"}]}))
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    block = ds.private_block(0x0029, "ACME 1.0", create=True)
    block.add_new(0x01, "US", 3)
    block.add_new(0x02, "LO", "Doe")  # three bytes + pad: not a US value, whatever the list says
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=False)
    raw = pydicom.dcmread(io.BytesIO(buf.getvalue()))
    Deidentifier(DeidConfig(options=SAFE, safe_private_path=path), ProjectKey(TEST_KEY)).deidentify(raw)
    kept = {t & 0xFF for t in _privates(raw) if t >> 16 == 0x0029 and t & 0xFF00}
    assert kept == {0x01}
