"""New values for D, Z and C: keyed pseudonyms, VR-valid dummies, cleaned text, shifted dates.

Why separate from the walk: these are the decisions about *what* an attribute becomes, the walk
decides *which* attributes are touched. Each function takes the per-file state (``Run``) only
for the pseudonymizer, the patient key, the date offset and the text cleaner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

from medeid_gui.deid import uid_rule
from medeid_gui.deid.dates import DUMMY_DA, DUMMY_DT, shift_da, shift_dt
from medeid_gui.deid.options import Option
from medeid_gui.deid.profile import Rule
from medeid_gui.deid.values import BYTES_VRS, TEXT_VRS, dummy_for

if TYPE_CHECKING:
    from medeid_gui.deid.walk import Run

PATIENT_ID = BaseTag(0x00100020)
PATIENT_NAME = BaseTag(0x00100010)
ACCESSION = BaseTag(0x00080050)
STUDY_ID = BaseTag(0x00200010)
#: attributes whose D/Z becomes a keyed pseudonym (patients and studies stay distinct)
PSEUDONYM_TAGS = frozenset({0x00100020, 0x00100010, 0x00080050, 0x00200010})
_ID_SUFFIXES = ("ID", "Identifier", "Number", "IDs")
REMOVE = object()  #: returned by a clean step that can only remove the value


def pseudonym(run: Run, tag: int, old: object, depth: int, act: str) -> tuple[str, str] | None:
    """Keyed replacements that keep patients / studies distinct (instead of Z or D)."""
    if act not in ("Z", "D"):
        return None
    ps = run.ps
    text = str(old or "").strip()
    if tag == PATIENT_ID:
        if depth == 0:
            return ps.patient_id(run.patient_key), "keyed pseudonym (HMAC of the original)"
        return (ps.patient_id(text) if text else ""), "keyed pseudonym"
    if tag == PATIENT_NAME:
        if depth == 0:
            return ps.patient_name(run.patient_key), "keyed pseudonymous name"
        return (ps.patient_name("pn:" + text) if text else ""), "keyed pseudonymous name"
    if tag == ACCESSION:
        return (ps.accession(text) if text else ""), "keyed pseudonym"
    if tag == STUDY_ID:
        return (
            (ps.study_id(f"{run.orig_study_uid}/{text}") if text else ""),
            "keyed pseudonym of the study",
        )
    return None


def map_uids(run: Run, old: object) -> object:
    """The table's U (and D of a UID): the one UID rule's keyed mapping (uid_rule.py)."""
    return uid_rule.map_uids(old, run.ps.uid)


def dummy(run: Run, elem: DataElement, rule: Rule) -> object:
    """D: a UID keeps its reference role (mapped), an identifier a keyed token, the rest a dummy."""
    vr = elem.VR
    old = elem.value
    if vr == "UI":
        return map_uids(run, old)
    kw = rule.keyword
    if vr in ("LO", "SH", "UC", "LT", "ST", "UT") and kw.endswith(_ID_SUFFIXES):
        if old in (None, ""):
            return run.ps.token(kw, "", 16)
        if isinstance(old, MultiValue):
            return [run.ps.token(kw, v, 16) for v in old]
        return run.ps.token(kw, old, 16)
    return dummy_for(vr)


def clean(run: Run, elem: DataElement, rule: Rule) -> tuple[object, str, str]:
    """C: returns (new value, action letter actually applied, explanation)."""
    vr = elem.VR
    old = elem.value
    src = rule.source
    if src == Option.RETAIN_LONGITUDINAL_MODIFIED_DATES.meaning:
        return _clean_date(run, vr, old)
    if src == Option.RETAIN_DEVICE_IDENTITY.meaning:
        if old in (None, ""):
            return old, "C", "empty"
        return (run.ps.token(rule.keyword or "dev", old, 16), "C",
                "keyed pseudonym (device stays distinct)")
    if vr in BYTES_VRS:
        return REMOVE, "X", "binary value cannot be cleaned: removed"
    if vr in TEXT_VRS and vr != "PN" and run.cleaner is not None:
        new = run.cleaner.clean_value(old)
        if "D" in rule.basic and old not in (None, "") and not any(
            str(v).strip() for v in (new if isinstance(new, list) else [new])
        ):
            # the Basic Profile keeps a dummy here (the attribute may be Type 1): never
            # leave it empty just because cleaning removed every word
            return dummy_for(vr), "C", "nothing left after cleaning: dummy (may be Type 1)"
        return new, "C", "identifiers and PHI patterns removed"
    if vr == "PN":
        return ("ANONYMIZED" if old not in (None, "") else old), "D", "a name cannot be cleaned: dummy"
    return old, "K", f"{vr} value holds no free text: kept"


def _clean_date(run: Run, vr: str, old: object) -> tuple[object, str, str]:
    """Retain Longitudinal Modified Dates: dates shifted by the patient's keyed offset."""
    if vr == "DA":
        return shift(old, shift_da, DUMMY_DA, run.offset), "C", f"shifted {run.offset} days"
    if vr == "DT":
        return shift(old, shift_dt, DUMMY_DT, run.offset), "C", f"shifted {run.offset} days"
    if vr in ("TM", "SH"):
        return old, "K", "time of day / UTC offset unaffected by a whole-day shift"
    return dummy_for(vr), "D", "binary timestamp cannot be shifted: dummy"


def shift(old: object, fn: Callable[[str, int], str | None], dummy_value: str, offset: int) -> object:
    """Every date of a (multi-)value shifted by ``offset`` days; unparseable ones become a dummy."""
    def one(v: object) -> str:
        out = fn(str(v), offset)
        return dummy_value if out is None else out

    if old in (None, ""):
        return old
    if isinstance(old, (list, MultiValue)):
        return [one(v) for v in old]
    return one(old)
