"""Each option changes exactly the attributes its column of Table E.1-1 names, as the table says.

For every option a dataset is built from a real file plus one element for every (non-sequence)
row of that option's column, with a known original value. It is de-identified twice, with and
without the option; then (read from the shipped table JSON, not from the engine):
- rows where the option says K hold the original value;
- rows where it says C hold a cleaned value: dates shifted by the patient's single offset, times
  kept, text reduced to its non-identifying words, AE titles replaced by a pseudonym;
- every attribute outside the option's column is identical in both outputs (only the marking
  attributes, which name the options, may differ).
"""

from __future__ import annotations

import datetime as dt

import pydicom
import pytest
from deid_helpers import TEST_KEY, norm, table, walk
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset

from medeid_gui.deid.engine import DeidConfig, Deidentifier
from medeid_gui.deid.keys import ProjectKey
from medeid_gui.deid.options import PRESETS, Option, parse

_VALUES: dict[str, object] = {
    "DA": "20200102", "DT": "20200102030405", "TM": "030405", "PN": "Doe^Jane",
    "LO": "KEEPWORD Doe 12345678", "LT": "KEEPWORD Doe 12345678", "ST": "KEEPWORD Doe 12345678",
    "UT": "KEEPWORD Doe 12345678", "UC": "KEEPWORD Doe 12345678", "SH": "KEEPWORD DOE",
    "AE": "KEEPWORD", "AS": "045Y", "CS": "ABC", "DS": "1.5", "IS": "7", "US": 7, "SS": 7,
    "UL": 7, "SL": 7, "FL": 1.5, "FD": 1.5, "OB": b"\x01\x02", "OW": b"\x01\x02", "UN": b"\x01\x02",
    "UR": "http://example.org/a", "UI": "set per row",
}
_MARKING = {0x00120062, 0x00120063, 0x00120064, 0x00280303}
#: Retain Safe Private: test_private.py; Clean Structured Content / Graphics act on sequences
#: and overlay groups only: tested below with content built for them
_OPTIONS = [o for o in Option if o not in (Option.RETAIN_SAFE_PRIVATE, Option.CLEAN_STRUCTURED_CONTENT,
                                           Option.CLEAN_GRAPHICS)]


def _rows(option: Option) -> dict[int, tuple[str, str]]:
    """tag -> (VR, action) for the option's column, sequences and command/meta groups excluded."""
    out = {}
    for tag, row in table().items():
        act = row["options"].get(option.column)
        if act is None or tag >> 16 in (0x0000, 0x0002):
            continue
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            continue
        if vr in _VALUES:
            out[tag] = (vr, act)
    return out


def _dataset(rows: dict[int, tuple[str, str]]) -> Dataset:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "PID-42"
    ds.StudyDate = "20200102"
    for i, (tag, (vr, _)) in enumerate(sorted(rows.items())):
        value = _VALUES[vr]
        if vr == "UI":
            value = f"1.2.3.4.5.6.{i}"
        ds.add_new(tag, vr, value)
    return ds


def _flat(ds: Dataset) -> dict[str, object]:
    marking = {f"{t:08X}" for t in _MARKING}
    return {p: norm(v) for p, tag, v, vr in walk(ds) if p[:8] not in marking and vr != "SQ"}


@pytest.mark.parametrize("option", _OPTIONS, ids=lambda o: o.cli_name)
def test_option_changes_exactly_its_rows(option: Option) -> None:
    rows = _rows(option)
    assert rows, f"no rows for {option}"
    original = _dataset(rows)
    base = _dataset(rows)
    with_opt = _dataset(rows)
    Deidentifier(DeidConfig(), ProjectKey(TEST_KEY)).deidentify(base)
    Deidentifier(DeidConfig(options=frozenset({option})), ProjectKey(TEST_KEY)).deidentify(with_opt)

    # 1. outside the option's column nothing differs
    fb, fo = _flat(base), _flat(with_opt)
    col = {f"{t:08X}" for t in rows} | {f"{t:08X}" for t, r in table().items() if option.column in r["options"]}
    for path in set(fb) | set(fo):
        if path.split("[")[0] in col or path.startswith(tuple(col)):
            continue
        assert fb.get(path) == fo.get(path), f"{path} changed by {option.cli_name}"

    # 2. the option's rows follow the table
    offset = None
    for tag, (vr, act) in rows.items():
        key = f"{tag:08X}"
        orig = norm(original[tag].value)
        got = norm(with_opt[tag].value) if tag in with_opt else None
        if act == "K":
            assert got == orig, f"{key} {table()[tag]['name']}: K but {got!r} != {orig!r}"
        elif act == "C":
            if vr in ("OB", "OW", "UN"):  # binary cannot be cleaned: removed (or a dummy)
                assert got != orig, key
                continue
            assert got is not None, f"{key}: C must keep a cleaned value"
            if option is Option.RETAIN_LONGITUDINAL_MODIFIED_DATES and vr in ("TM", "SH"):
                assert got == orig, f"{key}: time of day / UTC offset kept under a day shift"
            elif vr in ("DA", "DT"):
                d0 = dt.datetime.strptime(str(orig)[:8], "%Y%m%d")
                d1 = dt.datetime.strptime(str(got)[:8], "%Y%m%d")
                offset = offset if offset is not None else (d1 - d0).days
                assert (d1 - d0).days == offset != 0, key
                assert str(got)[8:] == str(orig)[8:], key
            elif vr == "TM":
                assert got == orig
            elif vr == "AE":
                assert got and got != orig
            elif vr in ("LO", "LT", "ST", "UT", "UC", "SH"):
                assert got == "KEEPWORD", f"{key}: cleaned to {got!r}"
    if option in (Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,):
        assert with_opt.LongitudinalTemporalInformationModified == "MODIFIED"


def test_presets_and_parse() -> None:
    assert PRESETS["basic"] == frozenset()
    assert PRESETS["research"] == {
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
        Option.RETAIN_PATIENT_CHARACTERISTICS,
        Option.RETAIN_DEVICE_IDENTITY,
    }
    assert parse("research", ["retain-uids"]) == PRESETS["research"] | {Option.RETAIN_UIDS}
    assert {o.code for o in Option} == {f"1131{n:02d}" for n in range(3, 13)}
    with pytest.raises(ValueError, match="unknown de-identification option"):
        parse("basic", ["retain-everything"])
    with pytest.raises(ValueError, match="unknown profile"):
        parse("nope")
    with pytest.raises(ValueError, match="not both"):
        parse("research", ["retain-longitudinal-full-dates"])


def _text_item(**kw: object) -> Dataset:
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def test_clean_structured_content_keeps_context_with_text_cleaned() -> None:
    def build() -> Dataset:
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        ds.PatientName = "Doe^Jane"
        concept = _text_item(CodeValue="121106", CodingSchemeDesignator="DCM", CodeMeaning="Comment")
        item = _text_item(ValueType="TEXT", TextValue="KEEPWORD Doe 12345678")
        item.ConceptNameCodeSequence = [concept]
        ds.AcquisitionContextSequence = [item]
        return ds

    base, opt = build(), build()
    Deidentifier(DeidConfig(), ProjectKey(TEST_KEY)).deidentify(base)
    Deidentifier(DeidConfig(options=frozenset({Option.CLEAN_STRUCTURED_CONTENT})),
                 ProjectKey(TEST_KEY)).deidentify(opt)
    assert len(base.AcquisitionContextSequence) == 0  # X/Z, Type 2 (Acquisition Context module): Z
    item = opt.AcquisitionContextSequence[0]
    assert item.TextValue == "KEEPWORD"
    assert item.ConceptNameCodeSequence[0].CodeMeaning == "Comment"


def test_clean_graphics_cleans_annotation_text_and_never_keeps_overlays() -> None:
    def build() -> Dataset:
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        ds.PatientName = "Doe^Jane"
        text = _text_item(UnformattedTextValue="KEEPWORD Doe 12345678", AnchorPointAnnotationUnits="PIXEL")
        ann = _text_item(GraphicLayer="L1")
        ann.TextObjectSequence = [text]
        ds.GraphicAnnotationSequence = [ann]
        ds.add_new(0x60000010, "US", 8)
        ds.add_new(0x60000011, "US", 8)
        ds.add_new(0x60003000, "OW", b"\xff" * 8)
        ds.add_new(0x60004000, "LT", "Doe")
        return ds

    base, opt = build(), build()
    Deidentifier(DeidConfig(), ProjectKey(TEST_KEY)).deidentify(base)
    Deidentifier(DeidConfig(options=frozenset({Option.CLEAN_GRAPHICS})),
                 ProjectKey(TEST_KEY)).deidentify(opt)
    assert base.GraphicAnnotationSequence[0].TextObjectSequence[0].UnformattedTextValue == "ANONYMIZED"
    assert opt.GraphicAnnotationSequence[0].TextObjectSequence[0].UnformattedTextValue == "KEEPWORD"
    for ds in (base, opt):
        assert not [t for t in ds.keys() if 0x6000 <= t.group <= 0x60FF]


def test_every_option_has_its_standard_name_and_a_summary() -> None:
    """The GUI shows these: the name a user finds in PS3.15 E.3 and one line of what it does."""
    names = {o.standard_name for o in Option}
    assert len(names) == len(Option)
    for o in Option:
        assert o.standard_name.endswith("Option") and o.standard_name.startswith(("Retain", "Clean"))
        assert o.summary and "\n" not in o.summary and len(o.summary) <= 100
        assert o.summary.split()[0] in ("keeps", "shifts")
    assert Option.RETAIN_SAFE_PRIVATE.standard_name == "Retain Safe Private Option"
    assert Option.CLEAN_DESCRIPTORS.standard_name == "Clean Descriptors Option"
    # the CID 7050 meanings name the same options (the date options in their shorter form)
    for o in Option:
        assert set(o.meaning.split()) <= set(o.standard_name.split())
