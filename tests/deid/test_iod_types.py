"""Compound actions resolved by the attribute's Type in the file's IOD."""

from __future__ import annotations

import pydicom
from deid_helpers import TEST_KEY
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from medeid_gui.deid.iod_types import attribute_type, iod_context, resolve_compound
from medeid_gui.deid.pseudonyms import Pseudonymizer


def test_resolve_compound_follows_ps315_e11() -> None:
    assert [resolve_compound("X/Z", t) for t in (1, 2, 3)] == ["Z", "Z", "X"]
    assert [resolve_compound("X/D", t) for t in (1, 2, 3)] == ["D", "D", "X"]
    assert [resolve_compound("X/Z/D", t) for t in (1, 2, 3)] == ["D", "Z", "X"]
    assert [resolve_compound("Z/D", t) for t in (1, 2, 3)] == ["D", "Z", "Z"]
    assert resolve_compound("D", 3) == "D"


def test_context_from_the_dataset() -> None:
    enhanced = iod_context(pydicom.dcmread(get_testdata_file("emri_small.dcm")))
    ct = iod_context(pydicom.dcmread(get_testdata_file("CT_small.dcm")))
    sr = iod_context(pydicom.dcmread(get_testdata_file("test-SR.dcm")))
    ecg = iod_context(pydicom.dcmread(get_testdata_file("waveform_ecg.dcm")))
    rt = iod_context(pydicom.dcmread(get_testdata_file("rtplan.dcm")))
    content_date, serial, operators = 0x00080023, 0x00181000, 0x00081070
    assert attribute_type(content_date, enhanced, 0) == 1
    assert attribute_type(content_date, sr, 0) == 1
    assert attribute_type(content_date, ecg, 0) == 1
    assert attribute_type(content_date, ct, 0) == 2
    assert attribute_type(serial, enhanced, 0) == 1 and attribute_type(serial, ct, 0) == 3
    assert attribute_type(operators, rt, 0) == 2 and attribute_type(operators, ct, 0) == 3


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=80))
def test_any_input_gives_a_valid_uid(value: str) -> None:
    uid = Pseudonymizer(TEST_KEY).uid(value)
    assert len(uid) <= 64 and uid.startswith("2.25.")
    tail = uid[5:]
    assert tail.isdigit() and (tail == "0" or not tail.startswith("0"))
