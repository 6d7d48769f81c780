"""Date shifting and free-text cleaning, unit level."""

from __future__ import annotations

import pydicom
from pydicom.data import get_testdata_file

from medeid_gui.deid.clean_text import TextCleaner, identifying_tokens
from medeid_gui.deid.dates import shift_da, shift_dt


def test_shift_da() -> None:
    assert shift_da("20200301", -1) == "20200229"
    assert shift_da("20200101", -364) == "20190102"
    assert shift_da("2020.03.01", -1) == "20200229"
    assert shift_da("20200101-20200131", -7) == "20191225-20200124"
    assert shift_da("", -7) == ""
    assert shift_da("garbage", -7) is None
    assert shift_da("20201341", -7) is None


def test_shift_dt_keeps_time_fraction_and_offset() -> None:
    assert shift_dt("20200301101112.123456+0100", -1) == "20200229101112.123456+0100"
    assert shift_dt("20200301", -1) == "20200229"
    assert shift_dt("202003", -35) == "202001"
    assert shift_dt("2020", -400) == "2018"
    assert shift_dt("20200301120000-0500", -7) == "20200223120000-0500"
    assert shift_dt("x", -7) is None


def test_cleaner_removes_own_identifiers_and_phi_patterns() -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName = "Smithers^Waylon"
    ds.PatientID = "ID778899"
    ds.InstitutionName = "Springfield General"
    c = TextCleaner(identifying_tokens(ds))
    text = "CT THORAX smithers waylon 12.03.2019 ID778899 Springfield General call +41 44 123 45 67"
    out = c.clean(text)
    assert out.startswith("CT THORAX")
    for gone in ("SMITHERS", "WAYLON", "2019", "778899", "SPRINGFIELD", "123"):
        assert gone not in out.upper(), out
    assert c.clean("T1 AX POST GAD") == "T1 AX POST GAD"
    assert c.clean("Study 1.2.840.10008.5.1 of 20190312 at 10:32") == "Study of at"
