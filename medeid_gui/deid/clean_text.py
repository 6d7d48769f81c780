"""The "C" (clean) action for free text: keep the meaning, drop what identifies.

What can honestly be promised without a language model: a descriptor such as a Study Description
"CT THORAX SMITH JOHN 12.03.2019" keeps "CT THORAX" and loses the rest because
1. every token equal to one of *this dataset's own* identifying values (patient name parts,
   PatientID, other IDs, accession number, physicians', operators' and institution names,
   station name, serial number) is removed, case-insensitively, and
2. anything shaped like a date, a time, a phone number, an e-mail address, a UID or a run of five
   or more digits is removed.
What it cannot catch: a person's name that appears nowhere else in the header. That limit is
stated in the documentation and in ``describe`` reasons; users who cannot accept it keep the
Basic Profile behaviour (X) by not selecting the Clean options.
"""

from __future__ import annotations

import re

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

#: top-level attributes whose values identify and are looked for inside free text
IDENTIFYING_KEYWORDS = (
    "PatientName",
    "PatientID",
    "OtherPatientIDs",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientBirthDate",
    "AccessionNumber",
    "StudyID",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "OperatorsName",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "DeviceSerialNumber",
    "MedicalRecordLocator",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "IssuerOfPatientID",
)

_TAGS = tuple(BaseTag(tag_for_keyword(k)) for k in IDENTIFYING_KEYWORDS if tag_for_keyword(k))

_PATTERNS = re.compile(
    r"""
    [\w.+-]+@[\w-]+(?:\.[\w-]+)+                      # e-mail
  | \b\d+(?:\.\d+){3,}\b                              # UID-like dotted numbers
  | \b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b               # 12.03.2019, 2019-03-12, 3/12/19
  | \b(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\b   # 20190312
  | \b\d{1,2}:\d{2}(?::\d{2})?\b                      # 10:32, 10:32:05
  | (?:\+|\b00)\d[\d ()/-]{6,}\d                      # international phone numbers
  | \b\d{5,}\b                                        # long digit runs (IDs, MRNs, phone)
    """,
    re.VERBOSE,
)
_SPLIT = re.compile(r"[\s\^,;:/\\()\[\]{}=|]+")
_STOP = frozenset({"DR", "MR", "MRS", "MS", "PROF", "MD", "PHD", "THE", "AND", "OF", "DE"})


def identifying_tokens(ds: Dataset) -> frozenset[str]:
    """Upper-case tokens (length >= 2) of the dataset's own identifying values."""
    tokens: set[str] = set()
    keys = ds.keys()
    for tag in _TAGS:
        if tag not in keys:
            continue
        val = ds[tag].value
        if val is None or val == "":
            continue
        vals = list(val) if isinstance(val, (list, tuple, MultiValue)) else [val]
        for v in vals:
            text = str(v)
            whole = text.strip().upper()
            if len(whole) >= 2:
                tokens.add(whole)
            for part in _SPLIT.split(text):
                p = part.strip(" .-_'\"").upper()
                if len(p) >= 2 and p not in _STOP:
                    tokens.add(p)
    return frozenset(tokens)


class TextCleaner:
    """Removes a dataset's own identifiers and PHI-shaped substrings from free text."""

    def __init__(self, tokens: frozenset[str]) -> None:
        self.tokens = tokens
        # longest first so that "SMITH JOHN" goes before "SMITH"
        words = sorted((t for t in tokens if t), key=len, reverse=True)
        self._words = (
            re.compile(
                r"(?<![\w])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w])",
                re.IGNORECASE,
            )
            if words
            else None
        )

    def clean(self, text: str) -> str:
        out = _PATTERNS.sub(" ", text)
        if self._words is not None:
            out = self._words.sub(" ", out)
        out = re.sub(r"[ \t]{2,}", " ", out)
        out = re.sub(r"(?:^[\s\^,;:./-]+|[\s\^,;:/-]+$)", "", out)
        return out

    def clean_value(self, value: object) -> object:
        """Clean a str or a multi-value of str; other values are returned unchanged."""
        if isinstance(value, str):
            return self.clean(value)
        if isinstance(value, (list, tuple, MultiValue)):
            return [self.clean(str(v)) for v in value]  # type: ignore[union-attr]
        return value
