"""Decide whether a line of OCR text is protected health information.

Why two sources of evidence: the frame's own header knows exactly what to look for (the patient's
name parts, IDs, accession number, dates, institution, physicians), and burned-in banners usually
print those same values, though formatted differently (``SMITH,JOHN`` for ``Smith^John``,
``08/29/1951`` for ``19510829``) and with OCR errors (``0``/``O``, a truncated ``PATIENTFI...``).
Banners also carry values the header no longer has (a second MRN, an old date), so generic
patterns catch any date, clock time, long ID-like number, ``LAST,FIRST`` name and ``Name:``-style
label regardless of the header.  The matcher returns *reasons* only, never the matched text, so
reports and manifests can say why a box was redacted without repeating the PHI.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName

__all__ = ["PhiMatcher", "HeaderValues", "header_values"]

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_MONTH_RE = r"(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC)[A-Z]*\.?"

_NAME_KEYWORDS = (
    "PatientName",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "OperatorsName",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "ResponsiblePerson",
)
_ID_KEYWORDS = (
    "PatientID",
    "OtherPatientIDs",
    "AccessionNumber",
    "MedicalRecordLocator",
    "StudyID",
    "RequestedProcedureID",
    "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest",
    "DeviceSerialNumber",
)
_PLACE_KEYWORDS = (
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "PatientAddress",
    "StationName",
    "PatientTelephoneNumbers",
)
_TIME_KEYWORDS = ("StudyTime", "SeriesTime", "AcquisitionTime", "ContentTime", "PatientBirthTime")

#: Words too common in institution names or overlays to identify anything on their own.
_GENERIC_WORDS = frozenset(
    """CLINIC CLINICS HOSPITAL HOSPITALS MEDICAL MEDICINE CENTER CENTRE CENTERS HEALTH HEALTHCARE
    UNIVERSITY UNIV DEPARTMENT DEPT RADIOLOGY IMAGING SERVICES SERVICE GENERAL REGIONAL COUNTY
    SAINT CARE INSTITUTE INC LLC LTD THE AND FOR OF DIAGNOSTIC DIAGNOSTICS CARDIOLOGY ULTRASOUND
    ECHO ROOM ROAD STREET AVENUE SUITE NORTH SOUTH EAST WEST CITY CHILDREN CHILDRENS WOMEN WOMENS
    TEST ANONYMOUS ANONYMIZED UNKNOWN NONE""".split()
)
_TITLES = frozenset("DR MR MRS MS MD PHD JR SR II III IV RN DO".split())
#: OCR confusions between letters and digits, applied when comparing ID-like values.
_TO_DIGIT = str.maketrans(
    {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "|": "1", "S": "5", "B": "8", "Z": "2", "G": "6"}
)

_LABEL_RE = re.compile(
    r"(?<![A-Z])(NAME|PATIENT|PAT|PT|DOB|D\.O\.B|BIRTH|BORN|MRN|PID|ID|ACC|ACCESSION|ACCN|PHYSICIAN|"
    r"REF|REFERRING|DR|OPERATOR|SONOGRAPHER|TECH|TECHNOLOGIST|HOSPITAL|INSTITUTION|ADDRESS|PHONE|TEL|"
    r"SSN|AGE|SEX|EXAM\s*DATE|STUDY\s*DATE)\s*[:#]"
)
_NAME_SHAPE_RE = re.compile(r"^\W*[A-Z][A-Z'\-]{1,}\s*[,^]\s*[A-Z][A-Z'\-]{1,}")
_TIME_RE = re.compile(r"(?<!\d)([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d|\s?(AM|PM))")
_NUMERIC_DATE_RE = re.compile(r"(?<!\d)(\d{1,4})\s?[/.\-]\s?(\d{1,2})\s?[/.\-]\s?(\d{2,4})(?!\d)")
_TEXT_DATE_RES = (
    re.compile(r"(?<!\d)(\d{1,2})[\s\-/.]*" + _MONTH_RE + r"[\s\-/.,]*(\d{4}|\d{2})(?!\d)"),
    re.compile(_MONTH_RE + r"[\s\-/.]*(\d{1,2})(ST|ND|RD|TH)?[\s,\-/.]+(\d{4})(?!\d)"),
    # year first, as some consoles print it: 2013 JUL 13, 2013-Jul-13
    re.compile(r"(?<!\d)((?:19|20)\d{2})[\s\-/.,]*" + _MONTH_RE + r"[\s\-/.,]*(\d{1,2})(?!\d)"),
)
#: an age as overlays print it: 45Y, 045Y, 45 YRS, 45 y/o, 3 yo
_AGE_RE = re.compile(r"(?<![A-Z0-9.])\d{1,3}\s?(Y|YR|YRS|YEARS|YO|Y/O|YEAR)(?![A-Z])")
_COMPACT_DATE_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")
_LONG_NUMBER_RE = re.compile(r"(?<![\d.])[A-Z]{0,3}\d{6,}(?![\d.])")


@dataclass
class HeaderValues:
    """The identifying values of one dataset, in the forms the matcher compares."""

    name_tokens: dict[str, str] = field(default_factory=dict)  # token -> keyword
    ids: dict[str, str] = field(default_factory=dict)  # compact upper value -> keyword
    dates: dict[_dt.date, str] = field(default_factory=dict)
    times: dict[tuple[int, int], str] = field(default_factory=dict)  # (hour, minute) -> keyword
    place_tokens: dict[str, str] = field(default_factory=dict)
    # every word (generic ones included) of each multi-word name or place value, by keyword:
    # a value wrapped over several lines leaves lines of generic words ("MEDICAL CENTER FOR")
    # that identify only as the continuation of a matched line
    value_words: dict[str, set[str]] = field(default_factory=dict)


def _values(ds: Dataset, keyword: str) -> list[str]:
    elem = ds.get(keyword)
    if elem is None or elem == "":
        return []
    if isinstance(elem, (list, tuple)) or type(elem).__name__ == "MultiValue":
        return [str(v) for v in elem if str(v).strip()]
    return [str(elem)] if str(elem).strip() else []


def _fold(text: str) -> str:
    """Upper case without accents (MÜLLER -> MULLER): OCR models often drop diacritics."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^0-9A-Z]+", _fold(text)) if t]


def _parse_da(value: str) -> _dt.date | None:
    digits = re.sub(r"\D", "", value)[:8]
    try:
        return _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])) if len(digits) == 8 else None
    except ValueError:
        return None


def header_values(ds: Dataset) -> HeaderValues:
    """Collect the header's identifying values (top level and Other Patient IDs Sequence)."""
    hv = HeaderValues()
    for kw in _NAME_KEYWORDS:
        for raw in _values(ds, kw):
            pn = PersonName(raw) if not isinstance(raw, PersonName) else raw
            for part in str(pn).replace("^", " ").replace("=", " ").split():
                for tok in _tokens(part):
                    if len(tok) >= 2 and tok not in _TITLES and not tok.isdigit():
                        hv.name_tokens.setdefault(tok, kw)
    for kw in _ID_KEYWORDS:
        for raw in _values(ds, kw):
            compact = re.sub(r"[^0-9A-Z]", "", _fold(raw))
            if len(compact) >= 3:
                hv.ids.setdefault(compact, kw)
    for item in ds.get("OtherPatientIDsSequence") or []:
        for raw in _values(item, "PatientID"):
            compact = re.sub(r"[^0-9A-Z]", "", raw.upper())
            if len(compact) >= 3:
                hv.ids.setdefault(compact, "OtherPatientIDsSequence")
    for elem in ds:
        if elem.VR in ("DA", "DT") and elem.value not in (None, ""):
            vals = elem.value if elem.VM > 1 else [elem.value]
            for v in vals:
                d = _parse_da(str(v))
                if d is not None:
                    hv.dates.setdefault(d, elem.keyword or str(elem.tag))
    for kw in _TIME_KEYWORDS:
        for raw in _values(ds, kw):
            digits = re.sub(r"\D", "", raw.split(".")[0])
            if len(digits) >= 4:
                hv.times.setdefault((int(digits[:2]), int(digits[2:4])), kw)
    for kw in _PLACE_KEYWORDS + _NAME_KEYWORDS:
        for raw in _values(ds, kw):
            words = {t for t in _tokens(str(raw).replace("^", " ")) if len(t) >= 2}
            if len(words) >= 2:
                hv.value_words.setdefault(kw, set()).update(words)
    for kw in _PLACE_KEYWORDS:
        for raw in _values(ds, kw):
            for tok in _tokens(raw):
                if len(tok) >= 4 and tok not in _GENERIC_WORDS and not tok.isdigit():
                    hv.place_tokens.setdefault(tok, kw)
    return hv


def _similar(a: str, b: str, threshold: float) -> bool:
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


def _token_matches(needle: str, tok: str) -> bool:
    """Fuzzy equality of a header token and an OCR token (OCR errors, truncation, concatenation)."""
    if needle == tok:
        return True
    if len(needle) <= 2:
        return False
    if len(needle) >= 4 and needle in tok:  # SMITHJOHN, MRSMITH
        return True
    if len(tok) >= 5 and needle.startswith(tok):  # PATIENTFI... truncated on screen
        return True
    if len(needle) >= 4 and abs(len(needle) - len(tok)) <= 2:
        return _similar(needle, tok, 0.8)
    return False


def _within_one_edit(needle: str, hay: str) -> bool:
    """Is ``needle`` in ``hay`` with at most one substituted, dropped or extra character?"""
    n = len(needle)
    for size in (n - 1, n, n + 1):
        for i in range(0, max(0, len(hay) - size) + 1):
            window = hay[i : i + size]
            if len(window) != size:
                continue
            if size == n and sum(a != b for a, b in zip(window, needle)) <= 1:
                return True
            if size != n and SequenceMatcher(None, window, needle, autojunk=False).ratio() >= 1 - 1.5 / n:
                return True
    return False


def _date_from_numeric(a: str, b: str, c: str) -> list[_dt.date]:
    """All plausible dates for a numeric triple (Y-M-D, M/D/Y and D/M/Y readings)."""
    out: list[_dt.date] = []
    ia, ib, ic = int(a), int(b), int(c)
    candidates: list[tuple[int, int, int]] = []
    if len(a) == 4:
        candidates.append((ia, ib, ic))
    else:
        year = ic if len(c) == 4 else (2000 + ic if ic < 50 else 1900 + ic)
        candidates += [(year, ia, ib), (year, ib, ia)]
    for y, m, d in candidates:
        try:
            out.append(_dt.date(y, m, d))
        except ValueError:
            continue
    return out


def _date_from_text(groups: Iterable[str | None]) -> list[_dt.date]:
    g = [x for x in groups if x]
    day = next((int(x) for x in g if x.isdigit() and len(x) <= 2), None)
    year_s = next((x for x in reversed(g) if x.isdigit() and len(x) in (2, 4) and x != str(day)), None)
    mon = next((x for x in g if x[:3] in _MONTHS), None)
    if day is None or year_s is None or mon is None:
        return []
    year = int(year_s) if len(year_s) == 4 else (2000 + int(year_s) if int(year_s) < 50 else 1900 + int(year_s))
    try:
        return [_dt.date(year, _MONTHS.index(mon[:3]) + 1, day)]
    except ValueError:
        return []


def _date_digit_forms(d: _dt.date) -> set[str]:
    y, m, dd, yy = d.year, d.month, d.day, d.year % 100
    return {
        f"{y}{m:02}{dd:02}",
        f"{m:02}{dd:02}{y}",
        f"{dd:02}{m:02}{y}",
        f"{m}{dd}{y}",
        f"{dd}{m}{y}",
        f"{m:02}{dd:02}{yy:02}",
        f"{dd:02}{m:02}{yy:02}",
        f"{yy:02}{m:02}{dd:02}",
    }


class PhiMatcher:
    """Matches OCR text lines against one dataset's header values and generic PHI patterns."""

    def __init__(self, values: HeaderValues | None = None, *, generic: bool = True) -> None:
        self.values = values or HeaderValues()
        self.generic = generic
        self._date_forms: dict[str, str] = {}
        for d, kw in self.values.dates.items():
            for form in _date_digit_forms(d):
                self._date_forms.setdefault(form, kw)

    @classmethod
    def from_dataset(cls, ds: Dataset, *, generic: bool = True) -> PhiMatcher:
        return cls(header_values(ds), generic=generic)

    def dates_in(self, text: str) -> list[_dt.date]:
        """Every date the text can be read as (numeric, month-name and compact YYYYMMDD forms)."""
        up = _fold(text)
        found: list[_dt.date] = []
        for m in _NUMERIC_DATE_RE.finditer(up):
            found += _date_from_numeric(*m.groups())
        # the recogniser reads the O of OCT/NOV as a zero: 0CT 24, 2011
        worded = re.sub(r"(?<![0-9A-Z])0(?=[A-Z]{2})", "O", up)
        for rx in _TEXT_DATE_RES:
            for m in rx.finditer(worded):
                found += _date_from_text(m.groups())
        for m in _COMPACT_DATE_RE.finditer(up):
            try:
                found.append(_dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
            except ValueError:
                pass
        return found

    def continues(self, text: str, reasons: Iterable[str]) -> list[str]:
        """Reasons for a line that continues a wrapped value whose previous line matched with
        ``reasons``: every word of ``text`` is a word of that header value."""
        toks = [t for t in _tokens(text) if len(t) >= 2]
        if not toks:
            return []
        out = []
        for r in reasons:
            kw = r.split(":", 1)[1] if r.startswith("header:") else ""
            words = self.values.value_words.get(kw)
            if not words:
                continue
            # small text is misread letter by letter (CENTER -> CERTER): most of the line's
            # letters must belong to words of the value, one long word among them
            good = [
                t
                for t in toks
                if t in words
                or any(_similar(t, w, 0.7) or (len(t) >= 4 and w.startswith(t)) for w in words if len(w) >= 4)
            ]
            long_ok = any(len(t) >= 4 for t in good)
            if long_ok and sum(map(len, good)) >= 0.6 * sum(map(len, toks)):
                out.append(f"header:{kw}")
        return sorted(set(out))

    def fragment(self, text: str) -> list[str]:
        """Reasons for a short reading that is a piece of a header value: the visible end of a
        name, ID or date whose rest is lost in a saturated border (``RRE`` of PIERRE, ``244`` of
        an ID, the year of the birth date).  Only for readings of 3 to 8 letters and digits, so a
        clinical line never counts as a fragment."""
        compact = re.sub(r"[^0-9A-Z]", "", _fold(text))
        if not 3 <= len(compact) <= 8:
            return []
        out = []
        hv = self.values
        for tok, kw in hv.name_tokens.items():
            if len(tok) >= 3 and not compact.isdigit() and any(len(t) >= 3 and t in tok for t in _tokens(compact)):
                out.append(f"header:{kw}")
        digits = re.sub(r"\D", "", compact)
        if len(digits) >= 3 and digits == compact:
            for ident, kw in hv.ids.items():
                if len(ident) >= 6 and digits in ident:
                    out.append(f"header:{kw}")
            for d, kw in hv.dates.items():
                if digits == str(d.year) or any(digits in f for f in _date_digit_forms(d) if len(digits) >= 4):
                    out.append(f"header:{kw}")
        return sorted(set(out))

    def match(self, text: str) -> list[str]:
        """Why this text is PHI (empty list: it is not).  Reasons name the header keyword or the
        generic pattern, never the text itself."""
        up = _fold(text)
        reasons: list[str] = []
        toks = _tokens(up)
        hv = self.values

        for needle, kw in hv.name_tokens.items():
            if any(_token_matches(needle, t) for t in toks):
                reasons.append(f"header:{kw}")
        compact = re.sub(r"[^0-9A-Z]", "", up)
        as_digits = compact.translate(_TO_DIGIT)
        for ident, kw in hv.ids.items():
            if ident in compact or (ident.isdigit() and ident in as_digits):
                reasons.append(f"header:{kw}")
            elif len(ident) >= 6 and _within_one_edit(ident.translate(_TO_DIGIT), as_digits):
                reasons.append(f"header:{kw}")
            elif len(ident.lstrip("0")) >= 4 and ident.isdigit() and ident.lstrip("0") in as_digits:
                reasons.append(f"header:{kw}")  # printed without (or with more) leading zeros
        dates = self.dates_in(up)
        for d in dates:
            if d in hv.dates:
                reasons.append(f"header:{hv.dates[d]}")
        for chunk in re.findall(r"\d[\d/.\-\s]{4,}\d", up):
            digits = re.sub(r"\D", "", chunk)
            for form, kw in self._date_forms.items():
                if len(form) >= 6 and form in digits:
                    reasons.append(f"header:{kw}")
        for m in _TIME_RE.finditer(up):
            hour, minute = int(m.group(1)), int(m.group(0).split(":")[1][:2])
            if "PM" in m.group(0) and hour < 12:
                hour += 12
            if (hour, minute) in hv.times:
                reasons.append(f"header:{hv.times[(hour, minute)]}")
        for needle, kw in hv.place_tokens.items():
            if any(_token_matches(needle, t) for t in toks if len(t) >= 3):
                reasons.append(f"header:{kw}")

        if self.generic:
            if dates:
                reasons.append("date")
            if _TIME_RE.search(up):
                reasons.append("time")
            if _LONG_NUMBER_RE.search(up):
                reasons.append("id-number")
            if _LABEL_RE.search(up):
                reasons.append("label")
            if _NAME_SHAPE_RE.search(up):
                reasons.append("name-format")
            if _AGE_RE.search(up):
                reasons.append("age")
        return sorted(set(reasons))
