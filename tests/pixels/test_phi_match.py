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
