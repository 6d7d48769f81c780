"""Private attributes: gone under the Basic Profile, allowlisted ones kept under Retain Safe
Private, and nothing leaks from implicit-VR private blocks that arrive as raw bytes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pydicom
import pytest
from deid_helpers import TEST_KEY
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian

from medeid_gui.deid.engine import DeidConfig, Deidentifier
from medeid_gui.deid.keys import ProjectKey
from medeid_gui.deid.options import Option
from medeid_gui.deid.private import load_safe_private

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


# CT_small.dcm is a GE CT file: of its nine GEMS_* private blocks, these elements are rows of
# Table E.3.10-1 (plus the added GEMS_PARM_01 b value); everything else private must go.
_GE_SAFE = [
    0x00190010, 0x00191023, 0x00191024, 0x00191027,  # GEMS_ACQU_01: table speed, mid scan time, rotation
    0x00250010, 0x00251007,  # GEMS_SERS_01: images in series
    0x00430010, 0x00431027, 0x00431039,  # GEMS_PARM_01: scan pitch ratio, b value
]


def test_safe_private_keeps_only_the_allowlisted_elements_and_their_creators() -> None:
    ds = _with_b_value()
    res = Deidentifier(DeidConfig(options=SAFE), ProjectKey(TEST_KEY)).deidentify(ds)
    assert sorted(_privates(ds)) == _GE_SAFE
    assert list(ds[0x00431039].value) == [1000, 8, 0, 0]
    kept = [a for a in res.actions if a.tag == "(0043,1039)"]
    assert kept and kept[0].action == "K" and "E.3.10" in kept[0].reason
    assert {i.CodeValue for i in ds.DeidentificationMethodCodeSequence} == {"113100", "113111"}


def test_allowlist_is_matched_by_creator_not_by_tag() -> None:
    ds = _with_b_value()
    ds[0x00430010].value = "SOMEONE ELSE"
    Deidentifier(DeidConfig(options=SAFE), ProjectKey(TEST_KEY)).deidentify(ds)
    assert [t for t in _privates(ds) if t >> 16 == 0x0043] == []
    assert sorted(_privates(ds)) == [t for t in _GE_SAFE if t >> 16 != 0x0043]


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


TABLE_SOURCE = "DICOM PS3.15 2026d Table E.3.10-1 Safe Private Attributes"
TABLE_ROWS = 479  # rows of Table E.3.10-1 in edition 2026d; no creator + group + element repeats
TABLE_CREATORS = {
    "Philips PET Private Group", "ELSCINT1", "GEMS_ACQU_01", "GEMS_PARM_01", "GEMS_HELIOS_01",
    "GEIIS PACS", "Philips Imaging DD 001", "Philips Imaging DD 002", "Philips Imaging DD 097",
    "Philips Imaging DD 129", "Philips ST80i", "SIEMENS MR HEADER", "GEMS_SERS_01",
    "HOLOGIC, Inc.", "NQHeader", "NQLeft", "NQRight", "Philips MR Imaging DD 001",
    "SIEMENS Ultrasound SC2000", "SIEMENS SYNGO ULTRA-SOUND TOYON DATA STREAMING",
}


def test_shipped_allowlist_is_table_e_3_10_1_of_2026d() -> None:
    allow = load_safe_private()
    assert len(allow) == TABLE_ROWS
    assert all(e.source == TABLE_SOURCE and e.creator for e in allow.entries)
    assert {e.creator for e in allow.entries} == TABLE_CREATORS
    raw = json.loads(allow.path.read_text(encoding="utf-8"))
    assert len(raw["entries"]) == TABLE_ROWS  # nothing merged away: the table has no duplicate keys
    assert "2026d" in raw["description"] and "private creator" in raw["description"]
    # a few rows, as the table gives them
    row = allow.lookup(0x0019, "GEMS_ACQU_01", 0x1023)
    assert row and row.vrs == {"DS"} and row.vr == "DS" and row.name == "Table Speed [mm/rotation]"
    row = allow.lookup(0x7053, "Philips PET Private Group", 0x1000)
    assert row and row.vr == "DS" and row.name.startswith("SUV Factor")
    row = allow.lookup(0x2001, "Philips Imaging DD 001", 0x107D)
    assert row and row.vrs == {"OB", "OW"} and row.vr == "" and row.vr_text == "OB/OW"
    row = allow.lookup(0x0119, "SIEMENS Ultrasound SC2000", 0x1011)
    assert row and row.vrs == frozenset() and row.name == "Stage Timer Time"
    # the old hand-written list's attributes are all genuine rows, under their own creators
    for group, creator, el, vr in [(0x0019, "SIEMENS MR HEADER", 0x0C, "IS"),
                                   (0x0019, "SIEMENS MR HEADER", 0x0D, "CS"),
                                   (0x0019, "SIEMENS MR HEADER", 0x0E, "FD"),
                                   (0x0019, "SIEMENS MR HEADER", 0x27, "FD"),
                                   (0x0043, "GEMS_PARM_01", 0x39, "IS"),
                                   (0x2001, "Philips Imaging DD 001", 0x03, "FL")]:
        row = allow.lookup(group, creator, el)
        assert row and row.vr == vr, (creator, el)
    assert allow.lookup(0x0019, "SIEMENS MR HEADER", 0x23) is None
    assert allow.lookup(0x0019, "GEMS_ACQU_01", 0x0C) is None


def _ct_with_block(group: int, creator: str, element: int, vr: str, value: object) -> tuple[Dataset, int]:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    block = ds.private_block(group, creator, create=True)
    block.add_new(element, vr, value)
    return ds, block.get_tag(element)


@pytest.mark.parametrize("group, creator, element, vr, value", [
    (0x0019, "GEMS_ACQU_01", 0x23, "DS", "15.0"),
    (0x7053, "Philips PET Private Group", 0x00, "DS", "0.000276"),
    (0x0045, "GEMS_HELIOS_01", 0x01, "SS", 32),
    (0x0903, "GEIIS PACS", 0x10, "US", 0),
], ids=["GEMS_ACQU_01-table-speed", "Philips-PET-SUV-factor", "GEMS_HELIOS_01-rows", "GEIIS-reject-flag"])
def test_table_row_kept_only_under_retain_safe_private(
        group: int, creator: str, element: int, vr: str, value: object) -> None:
    ds, tag = _ct_with_block(group, creator, element, vr, value)
    res = Deidentifier(DeidConfig(options=SAFE), ProjectKey(TEST_KEY)).deidentify(ds)
    assert tag in _privates(ds) and (tag & 0xFFFF0000 | tag >> 8 & 0xFF) in _privates(ds)
    assert ds[tag].value == value
    assert any(a.action == "K" and TABLE_SOURCE in a.reason for a in res.actions
               if a.tag == f"({tag >> 16:04X},{tag & 0xFFFF:04X})")
    ds, tag = _ct_with_block(group, creator, element, vr, value)
    Deidentifier(DeidConfig(), ProjectKey(TEST_KEY)).deidentify(ds)
    assert _privates(ds) == []


def _element(vr: str, value: object, implicit: bool = False):
    """A real private element (creator "ACME 1.0", block 0029), optionally read back from an
    implicit-VR file so that it is raw bytes with VR UN."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    block = ds.private_block(0x0029, "ACME 1.0", create=True)
    block.add_new(0x01, vr, value)
    tag = block.get_tag(0x01)
    if implicit:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=False)
        ds = pydicom.dcmread(io.BytesIO(buf.getvalue()))
    elem = ds[tag]
    assert (elem.VR == "UN") is implicit
    return elem


def test_alternative_vrs_accept_either_declared_vr() -> None:
    row = load_safe_private().lookup(0x2001, "Philips Imaging DD 001", 0x107D)  # Frame Pixel Data, OW/OB
    for vr in ("OB", "OW"):
        elem = _element(vr, b"\x01\x02\x03\x04")
        assert row.accepts(elem.VR, elem.value), vr
    elem = _element("LO", "PIXELS")
    assert not row.accepts(elem.VR, elem.value)
    # as raw bytes (implicit VR) OB/OW cannot be checked: not kept
    elem = _element("OB", b"\x01\x02\x03\x04", implicit=True)
    assert not row.accepts(elem.VR, elem.value)
    assert not row.accepts("OB or OW", elem.value)  # pydicom's undecided VR is no declaration


def test_alternative_vrs_raw_bytes_kept_when_they_fit_any(tmp_path: Path) -> None:
    path = tmp_path / "allow.json"
    path.write_text(json.dumps({"entries": [
        {"creator": "ACME 1.0", "group": "0029", "element": "01", "vr": "IS/DS", "source": "test"}]}))
    row = load_safe_private(str(path)).lookup(0x0029, "ACME 1.0", 0x1001)
    assert row.vrs == {"IS", "DS"} and row.vr == ""
    for vr, value, fits in [("DS", "1.5", True), ("IS", "42", True), ("LO", "Doe^Jane", False)]:
        elem = _element(vr, value, implicit=True)
        assert row.accepts(elem.VR, elem.value) is fits, (vr, value)
    assert row.accepts("DS", "1.5") and row.accepts("IS", "42") and not row.accepts("LO", "1.5")


def test_entry_without_vr_needs_a_declared_vr() -> None:
    row = load_safe_private().lookup(0x0119, "SIEMENS Ultrasound SC2000", 0x1011)  # Stage Timer Time
    elem = _element("DS", "12.5")
    assert row.accepts(elem.VR, elem.value)
    elem = _element("DS", "12.5", implicit=True)  # UN: the file declares nothing
    assert not row.accepts(elem.VR, elem.value)
    elem = _element("PN", "Doe^Jane")
    assert not row.accepts(elem.VR, elem.value)
    assert not row.accepts("SQ", Sequence()) and not row.accepts(None, b"12.5")


def test_listed_sequences_and_uids_are_not_kept() -> None:
    """Stack Sequence (2001,xx5F) and Analyzed Series UID (0099,xx02) are table rows, but a kept
    private sequence is not walked and a kept UID would escape UID replacement."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    study_uid = ds.StudyInstanceUID
    inner = Dataset()
    inner.PatientName = "Smithers^Waylon"
    inner.ReferencedSOPInstanceUID = study_uid
    philips = ds.private_block(0x2001, "Philips Imaging DD 001", create=True)
    philips.add_new(0x5F, "SQ", Sequence([inner]))
    philips.add_new(0x03, "FL", 1000.0)  # MR Image Diffusion B-Factor: kept
    nq = ds.private_block(0x0099, "NQHeader", create=True)
    nq.add_new(0x02, "UI", study_uid)
    allow = load_safe_private()
    assert not allow.lookup(0x2001, "Philips Imaging DD 001", 0x5F).accepts("SQ", Sequence([inner]))
    assert not allow.lookup(0x0099, "NQHeader", 0x02).accepts("UI", study_uid)
    Deidentifier(DeidConfig(options=SAFE), ProjectKey(TEST_KEY)).deidentify(ds)
    b_factor = philips.get_tag(0x03)
    kept = sorted(t for t in _privates(ds) if t >> 16 in (0x2001, 0x0099))
    assert kept == [0x20010000 | (b_factor >> 8 & 0xFF), b_factor]  # its creator, and the FL
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=False)
    assert b"Smithers" not in buf.getvalue()


def test_engine_keeps_nothing_that_accepts_refuses() -> None:
    """Whatever the engine's comparison, every kept private element passes ``accepts``."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    philips = ds.private_block(0x2001, "Philips Imaging DD 001", create=True)
    philips.add_new(0x7D, "OB", b"\x00\x01")  # OW/OB
    philips.add_new(0x5F, "SQ", Sequence([Dataset()]))  # SQ: never
    philips.add_new(0x03, "FL", 1000.0)
    sc = ds.private_block(0x0119, "SIEMENS Ultrasound SC2000", create=True)
    sc.add_new(0x11, "DS", "3.5")  # no VR in the table
    sc.add_new(0x12, "PN", "Doe^Jane")  # no VR in the table, but a name: never
    allow = load_safe_private()
    Deidentifier(DeidConfig(options=SAFE), ProjectKey(TEST_KEY)).deidentify(ds)
    creators = {t: ds[t].value for t in _privates(ds) if 0x10 <= t & 0xFFFF <= 0xFF}
    for t in _privates(ds):
        if t & 0xFFFF < 0x1000:
            continue
        creator = creators[t & 0xFFFF0000 | (t & 0xFFFF) >> 8]
        entry = allow.lookup(t >> 16, creator, t & 0xFF)
        assert entry is not None and entry.accepts(ds[t].VR, ds[t].value), hex(t)
    assert "Doe^Jane" not in str(ds)


def test_duplicate_keys_are_merged(tmp_path: Path) -> None:
    path = tmp_path / "allow.json"
    path.write_text(json.dumps({"entries": [
        {"creator": "ACME 1.0", "group": "0029", "element": "01", "vr": "US", "name": "a", "source": "s1"},
        {"creator": " acme 1.0 ", "group": "0029", "element": "01", "vr": "SS", "name": "b", "source": "s2"},
        {"creator": "ACME 1.0", "group": "0029", "element": "02", "vr": "", "source": "s1"},
        {"creator": "ACME 1.0", "group": "0029", "element": "02", "vr": "DS", "source": "s1"}]}))
    allow = load_safe_private(str(path))
    assert len(allow) == 2
    one = allow.lookup(0x0029, "ACME 1.0", 0x01)
    assert one.vrs == {"US", "SS"} and one.accepts("US", 3) and one.accepts("SS", -3)
    assert one.name == "a / b" and one.source == "s1; s2"
    two = allow.lookup(0x0029, "ACME 1.0", 0x02)
    assert two.vrs == {"DS"} and two.vr == "DS" and not two.accepts("LO", "x")


def test_bad_vr_alternative_is_a_clear_error(tmp_path: Path) -> None:
    for vr, bad in [("US/X1", "X1"), ("U", "U"), ("OB/", "")]:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"entries": [
            {"creator": "X", "group": "0029", "element": "01", "vr": vr}]}))
        with pytest.raises(ValueError, match=f"bad VR {bad!r}"):
            load_safe_private(str(path))


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


def _implicit_roundtrip(value: bytes) -> Dataset:
    """CT_small with Philips Imaging DD 001 (2001,xx03) 'Diffusion B-Factor' (FL) written in an
    implicit-VR file, read back (pydicom then guesses the VR from its own vendor dictionary)."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.add_new(0x20010010, "LO", "Philips Imaging DD 001")
    ds.add_new(0x20011003, "OB", value)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    buf = io.BytesIO()
    ds.save_as(buf, implicit_vr=True, little_endian=True)
    return pydicom.dcmread(io.BytesIO(buf.getvalue()))


def test_implicit_vr_text_under_a_numeric_table_row_is_not_kept() -> None:
    """Names hidden in an implicit-VR private element are removed even if the (creator, element)
    is a table row: pydicom's guessed VR is not trusted, the bytes must fit the row's VR."""
    ds = _implicit_roundtrip(b"Doe ")
    out = Deidentifier(DeidConfig(options=SAFE), ProjectKey(TEST_KEY)).deidentify(ds).dataset
    assert 0x20011003 not in out
    raw = io.BytesIO()
    out.save_as(raw)
    assert b"Doe" not in raw.getvalue()


def test_implicit_vr_number_under_a_table_row_is_kept() -> None:
    import struct

    # 1.5 as FL: its four bytes are not ASCII, so they cannot be words
    ds = _implicit_roundtrip(struct.pack("<f", 1.5))
    out = Deidentifier(DeidConfig(options=SAFE), ProjectKey(TEST_KEY)).deidentify(ds).dataset
    assert 0x20011003 in out and 0x20010010 in out
    assert struct.unpack("<f", bytes(out.get_item(0x20011003).value))[0] == 1.5
