"""PHI matching of OCR lines: header values in other formats, OCR errors, generic patterns."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.dataset import Dataset

from medeid_gui.pixels.phi_match import PhiMatcher


@pytest.fixture()
def matcher() -> PhiMatcher:
    ds = Dataset()
    ds.PatientName = "Van der Berg^Annelies^M"
    ds.PatientID = "MRN0042137"
    ds.OtherPatientIDs = ["E77120"]
    ds.AccessionNumber = "ACC998877"
    ds.PatientBirthDate = "19510829"
    ds.StudyDate = "20170302"
    ds.StudyTime = "172449"
    ds.InstitutionName = "St Olaf Hospital Trondheim"
    ds.ReferringPhysicianName = "Okonkwo^Chidi"
    return PhiMatcher.from_dataset(ds)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("BERG, ANNELIES", "header:PatientName"),
        ("ANNELIE5 VAN DER BERG", "header:PatientName"),  # OCR 5 for S
        ("Pt: ANNELI...", "header:PatientName"),  # truncated on screen
        ("MRN0O42137", "header:PatientID"),  # O for 0
        ("ID MRN 0042137", "header:PatientID"),  # split by a space
        ("E77120", "header:OtherPatientIDs"),
        ("ACC 998877", "header:AccessionNumber"),
        ("DOB 29-Aug-1951", "header:PatientBirthDate"),
        ("08/29/1951", "header:PatientBirthDate"),
        ("29.08.1951", "header:PatientBirthDate"),
        ("1951-08-29", "header:PatientBirthDate"),
        ("Aug 29, 1951", "header:PatientBirthDate"),
        ("02/03/17", "header:StudyDate"),
        ("5:24 PM", "header:StudyTime"),
        ("TRONDHEIM", "header:InstitutionName"),
        ("Dr OKONKWO", "header:ReferringPhysicianName"),
    ],
)
def test_header_values_found(matcher: PhiMatcher, text: str, reason: str) -> None:
    assert reason in matcher.match(text)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("12/31/1999", "date"),
        ("2020-04-14", "date"),
        ("3 MAR 2016", "date"),
        ("10:15:32", "time"),
        ("00047431395", "id-number"),
        ("Name: X", "label"),
        ("DOE^JOHN", "name-format"),
        ("SMITH, JANE", "name-format"),
    ],
)
def test_generic_patterns(text: str, reason: str) -> None:
    assert reason in PhiMatcher().match(text)


@pytest.mark.parametrize(
    "text",
    ["TIS0.0 MI 0.6", "L12-5", "36Hz", "Dyn R 58", "4.0cm", "General", "Sag Liver L-M", "2D--100%",
     "Frame 12/30", "75 bpm", "H4.00 MHz", "0:45", "HOSPITAL", "C5-1"],
)
def test_clinical_overlay_text_is_not_phi(matcher: PhiMatcher, text: str) -> None:
    assert matcher.match(text) == []


def test_accents_and_case_do_not_hide_a_name() -> None:
    ds = Dataset()
    ds.PatientName = "Müller-Lüdenscheidt^José"
    m = PhiMatcher.from_dataset(ds, generic=False)
    for text in ("MULLER-LUDENSCHEIDT", "mueller jose", "Jose MULLER"):
        assert "header:PatientName" in m.match(text), text


def test_reasons_never_contain_the_text(matcher: PhiMatcher) -> None:
    reasons = matcher.match("BERG, ANNELIES 08/29/1951 MRN0042137")
    assert reasons and not any("BERG" in r or "1951" in r or "0042137" in r for r in reasons)


def test_matcher_from_real_header() -> None:
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    m = PhiMatcher.from_dataset(ds)
    assert "header:PatientName" in m.match(str(ds.PatientName).replace("^", ", ").upper())


@pytest.fixture()
def issue16() -> PhiMatcher:
    """The header of issue #16's examples: dates 20130713 / 19760616, name Last^First."""
    ds = Dataset()
    ds.PatientName = "Haddad^Fatima"
    ds.PatientID = "0047204565"
    ds.AccessionNumber = "A80333105"
    ds.PatientBirthDate = "19760616"
    ds.StudyDate = "20130713"
    ds.InstitutionName = "Lakeshore Valley General Hospital Imaging Department"
    return PhiMatcher.from_dataset(ds)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("2013 Jul 13", "header:StudyDate"),  # year first with a month name
        ("2013-JUL-13", "header:StudyDate"),
        ("Jul 13, 2013", "header:StudyDate"),
        ("06/16/1976", "header:PatientBirthDate"),
        ("16.06.1976", "header:PatientBirthDate"),
        ("16 JUN 1976", "header:PatientBirthDate"),
        ("Jun 16, 1976", "header:PatientBirthDate"),
        ("19760616", "header:PatientBirthDate"),
        ("HADDAD FATIMA", "header:PatientName"),  # LAST FIRST in capitals
        ("FATIMA HADDAD", "header:PatientName"),
        ("HADDAD^FATIMA", "header:PatientName"),
        ("HADDADFATIMA", "header:PatientName"),  # separator lost by the OCR
        ("47204565", "header:PatientID"),  # printed without the leading zeros
        ("004-720-4565", "header:PatientID"),  # with separators
        ("ACC# A80333105", "header:AccessionNumber"),
        ("Lakeshore Valley", "header:InstitutionName"),
    ],
)
def test_issue16_written_forms(issue16: PhiMatcher, text: str, reason: str) -> None:
    assert reason in issue16.match(text)


def test_wrapped_value_lines(issue16: PhiMatcher) -> None:
    assert issue16.continues("General Hospital", ["header:InstitutionName"]) == ["header:InstitutionName"]
    assert issue16.continues("Imaging Departmert", ["header:InstitutionName"]) == ["header:InstitutionName"]
    assert issue16.continues("General Hospital", ["header:PatientName"]) == []
    assert issue16.continues("Cardiology Ward", ["header:InstitutionName"]) == []
    assert issue16.match("General Hospital") == []  # generic words alone identify nobody


@pytest.mark.parametrize("text", ["063Y", "63Y", "63 yrs", "Age 7 y/o"])
def test_ages(text: str) -> None:
    assert "age" in PhiMatcher().match(text)


def test_wrapped_value_cut_at_the_frame_edge(issue16: PhiMatcher) -> None:
    assert issue16.continues("Imaging Depar", ["header:InstitutionName"]) == ["header:InstitutionName"]


@pytest.mark.parametrize(
    "text, reason",
    [("RRE", "header:PatientName"), ("ATIMA", "header:PatientName"), ("4565", "header:PatientID"),
     ("1976", "header:PatientBirthDate"), ("0616", "header:PatientBirthDate")],
)
def test_fragments_of_values(issue16: PhiMatcher, text: str, reason: str) -> None:
    """The visible end of a value whose rest sits in a saturated border."""
    if text == "RRE":
        issue16 = PhiMatcher.from_dataset(_ds(PatientName="Haddad^Pierre"))
    assert reason in issue16.fragment(text)


@pytest.mark.parametrize("text", ["PA ERECT", "kVp 80 mAs 4", "W 400 L 40", "2D", "L", "AXIAL"])
def test_clinical_text_is_no_fragment(issue16: PhiMatcher, text: str) -> None:
    assert issue16.fragment(text) == []


def _ds(**kw: str) -> Dataset:
    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def test_month_read_with_a_zero() -> None:
    m = PhiMatcher.from_dataset(_ds(StudyDate="20111024"))
    assert "header:StudyDate" in m.match("0ct 24, 2011")  # O of OCT read as zero
    assert "header:StudyDate" in m.match("24-0CT-2011")
