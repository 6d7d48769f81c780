"""The header de-identification engine: PS3.15 Table E.1-1, options, keyed pseudonyms.

How it works, and why:
- The table is compiled once per configuration into ``{tag: Rule}`` (profile.py), so a file is
  processed in **one pass** over its elements: a dict lookup per element, recursion into every
  sequence, no repeated searches and no regular expressions unless a Clean action asks for them.
  Elements that need no action are never even decoded (pydicom keeps them as raw bytes and writes
  them back as they were), which is what keeps an export close to a plain read+write copy.
- Compound actions (X/Z, X/D, X/Z/D, Z/D) are chosen by the attribute's Type in the IOD of this
  file (iod_types.py). X/Z/U* reference sequences are always kept with their UIDs replaced: the
  sequence then holds nothing but remapped references, and keeping it never breaks an IOD whose
  Type we did not model (the peers that empty or delete them add validator errors).
- UIDs, PatientID, AccessionNumber, StudyID, the pseudonymous PatientName and the date offset
  are HMAC-SHA256 functions of the project key and the *original* value (pseudonyms.py): every
  reference in every file of a batch maps to the same new UID without any shared state, two
  studies of one patient share the pseudonymous PatientID and keep their interval. Well-known
  UIDs (SOP classes, transfer syntaxes, coding schemes in pydicom's UID dictionary) are never
  changed, whatever row they appear in.
- Everything the table does not list is kept (PS3.15 E.1.1), except: private attributes (odd
  groups; kept only from the allowlist under Retain Safe Private), whole overlay / curve groups
  when their data are removed (an Overlay Plane without Overlay Data is not conformant), group
  length elements (wrong after any change), and even-group attributes unknown to the data
  dictionary (newer than our table or invalid: their meaning, hence their risk, is unknown).
- Free text inside sequences kept by D (e.g. Content Sequence) is replaced by a dummy; inside
  sequences kept by C (Clean Structured Content / Clean Graphics) it is cleaned (clean_text.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import config as pydicom_config
from pydicom.datadict import DicomDictionary, get_entry, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import UID_dictionary

from medeid_gui import __version__
from medeid_gui.deid.actions import Action, short, tag_str
from medeid_gui.deid.clean_text import IDENTIFYING_KEYWORDS, TextCleaner, identifying_tokens
from medeid_gui.deid.dates import DUMMY_DA, DUMMY_DT, shift_da, shift_dt
from medeid_gui.deid.iod_types import (
    GUARDED_X,
    IodContext,
    attribute_type,
    iod_context,
    resolve_compound,
)
from medeid_gui.deid.keys import ProjectKey
from medeid_gui.deid.options import (
    BASIC_PROFILE_CODE,
    CLEAN_PIXEL_DATA_CODE,
    CLEAN_VISUAL_FEATURES_CODE,
    Option,
    parse,
)
from medeid_gui.deid.private import SafePrivateList, load_safe_private
from medeid_gui.deid.profile import Rule, load_profile
from medeid_gui.deid.pseudonyms import Pseudonymizer
from medeid_gui.deid.values import BYTES_VRS, FREE_TEXT_VRS, TEXT_VRS, dummy_for
# medeid's own implementation identity (the writers set the same in every file they write)
from medeid_gui.dicom.write import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

__all__ = ["Action", "DeidConfig", "DeidResult", "Deidentifier", "IMPLEMENTATION_CLASS_UID"]


# BaseTag constants: pydicom's indexing and ``in`` take a fast path for BaseTag, a slow one for int
PATIENT_ID = BaseTag(0x00100020)
PATIENT_NAME = BaseTag(0x00100010)
PATIENT_BIRTH_DATE = BaseTag(0x00100030)
ACCESSION = BaseTag(0x00080050)
STUDY_ID = BaseTag(0x00200010)
STUDY_UID = BaseTag(0x0020000D)
SOP_INSTANCE_UID = BaseTag(0x00080018)
TEXT_VALUE = BaseTag(0x0040A160)
UNFORMATTED_TEXT_VALUE = BaseTag(0x00700006)
MEDIA_SOP_INSTANCE_UID = BaseTag(0x00020003)

#: file meta elements that name the sending system or carry private content: always removed
_META_REMOVE = {
    BaseTag(0x00020016): "SourceApplicationEntityTitle",
    BaseTag(0x00020017): "SendingApplicationEntityTitle",
    BaseTag(0x00020018): "ReceivingApplicationEntityTitle",
    BaseTag(0x00020026): "SourcePresentationAddress",
    BaseTag(0x00020027): "SendingPresentationAddress",
    BaseTag(0x00020028): "ReceivingPresentationAddress",
    BaseTag(0x00020100): "PrivateInformationCreatorUID",
    BaseTag(0x00020102): "PrivateInformation",
}

_ID_SUFFIXES = ("ID", "Identifier", "Number", "IDs")
_WELL_KNOWN_UIDS = frozenset(UID_dictionary)

_IDENTIFYING_TAGS = tuple(
    BaseTag(t) for t in sorted(
        {0x00080005} | {int(tag_for_keyword(k)) for k in IDENTIFYING_KEYWORDS if tag_for_keyword(k)}
    )
)
_MARK_TAGS = tuple(BaseTag(t) for t in (0x00120062, 0x00120063, 0x00120064, 0x00280303,
                                        0x00280301, 0x00280302, 0x00020012, 0x00020013))
_MARK_KEYWORDS = {t: get_entry(t)[4] for t in _MARK_TAGS}
_MARK_NAMES = {t: get_entry(t)[2] for t in _MARK_TAGS}
#: values medeid generates are valid by construction; pydicom's per-value check is skipped
_NO_CHECK = pydicom_config.IGNORE
_PSEUDONYM_TAGS = frozenset({0x00100020, 0x00100010, 0x00080050, 0x00200010})
#: VRs whose value can be written from nothing (no " or " alternatives, not a sequence)
_SIMPLE_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST",
                         "TM", "UC", "UI", "UR", "UT", "US", "SS", "UL", "SL", "FL", "FD", "OB",
                         "OW", "OF", "OD", "OL", "UN", "AT", "SV", "UV"})
_EMPTY_STR_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST",
                            "TM", "UC", "UI", "UR", "UT"})
_DICT_VR = {t: e[0] for t, e in DicomDictionary.items()}
_NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV", "AT"})
_REMOVE = object()  #: returned by a clean step that can only remove the value
_DATE_VRS = frozenset({"DA", "DT", "TM"})


@dataclass(frozen=True)
class DeidConfig:
    """What to apply: a preset (``profile``) plus extra options, and the allowlist location."""

    options: frozenset[Option] = frozenset()
    profile: str = "basic"
    safe_private_path: str | Path | None = None

    def effective_options(self) -> frozenset[Option]:
        return parse(self.profile, self.options)


@dataclass
class DeidResult:
    dataset: Dataset
    actions: list[Action]
    #: keyword -> (original, pseudonym) for PatientID, StudyInstanceUID, SeriesInstanceUID,
    #: SOPInstanceUID (what a linkage ledger needs; never written into the output)
    linkage: dict[str, tuple[str, str]] = field(default_factory=dict)


def _vr_of(ds: Dataset, tag: int) -> str:
    raw = ds.get_item(tag)
    vr = raw.VR
    if vr and vr != "UN":
        return str(vr)
    return "SQ" if tag in _SQ_TAGS else "UN"


#: read UIDs and plain ASCII values from raw bytes where that gives exactly pydicom's value
#: (switched off by the test that proves the outputs identical)
_RAW_FAST = True


def _raw_ascii(ds: Dataset, tag: int) -> str | None:
    """Printable single-valued ASCII of a still-raw element, None when pydicom must decode it."""
    if not _RAW_FAST:
        return None
    raw = ds._dict.get(tag)
    if not isinstance(raw, RawDataElement) or raw.value is None:
        return None
    value = raw.value
    if not value:
        return ""
    if max(value) > 0x7E or b"\\" in value:
        return None
    if min(value) < 0x20:  # only trailing NUL padding (UIDs) is allowed
        value = value.rstrip(b"\0")
        if value and min(value) < 0x20:
            return None
    return value.decode("ascii").strip(" ")


def _text(ds: Dataset, tag: int) -> str:
    """Stripped string value of a top-level attribute, '' when absent (by tag: no keyword lookup)."""
    if tag not in ds:
        return ""
    fast = _raw_ascii(ds, tag)
    if fast is not None:
        return fast
    v = ds[tag].value
    return "" if v is None else str(v).strip(" \0")


_KNOWN_CACHE: dict[int, bool] = {}
_SQ_TAGS = frozenset(t for t, entry in DicomDictionary.items() if entry[0] == "SQ")
_LINKAGE = (("PatientID", BaseTag(0x00100020)), ("StudyInstanceUID", BaseTag(0x0020000D)),
            ("SeriesInstanceUID", BaseTag(0x0020000E)), ("SOPInstanceUID", BaseTag(0x00080018)))


def _in_dictionary(tag: int) -> bool:
    hit = _KNOWN_CACHE.get(tag)
    if hit is None:
        try:
            get_entry(tag)
            hit = True
        except KeyError:
            hit = False
        _KNOWN_CACHE[tag] = hit
    return hit


def _name_of(tag: int) -> tuple[str, str]:
    try:
        entry = get_entry(tag)
        return entry[4], entry[2]
    except KeyError:
        return "", "Unknown attribute"


class _Run:
    """State of one ``deidentify`` call (one dataset)."""

    def __init__(self, eng: Deidentifier, ds: Dataset, detailed: bool = False,
                 keep_actions: bool = True) -> None:
        self.eng = eng
        self.detailed = detailed
        self.keep_actions = keep_actions
        self.ds = ds
        self.ctx: IodContext = iod_context(ds)
        self.actions: list[Action] = []
        self.ps = eng.pseudonymizer
        pid = _text(ds, PATIENT_ID)
        self.orig_study_uid = _text(ds, STUDY_UID)
        if pid:
            self.patient_key = pid
        else:
            name = _text(ds, PATIENT_NAME)
            if name:
                self.patient_key = f"name:{name}|{_text(ds, PATIENT_BIRTH_DATE)}"
            else:
                self.patient_key = f"study:{self.orig_study_uid}"
        self.offset = (
            self.ps.date_offset_days(self.patient_key) if eng.modified_dates else 0
        )
        # The cleaner needs the *original* identifying values, but building it costs more than
        # the rest of a file's work and most files never need it: keep the (immutable) raw
        # elements now, decode them only if a Clean action occurs.
        self._snapshot: dict | None = None
        self._cleaner: TextCleaner | None = None
        if eng.needs_cleaner:
            snap = {}
            for t in _IDENTIFYING_TAGS:
                item = ds.get_item(t)
                if item is not None:
                    snap[t] = item if isinstance(item, RawDataElement) else copy.deepcopy(item)
            self._snapshot = snap

    @property
    def cleaner(self) -> TextCleaner | None:
        if self._cleaner is None and self._snapshot is not None:
            # text only: the snapshot's own Specific Character Set (copied with it) decodes it
            snap = Dataset(self._snapshot)
            self._cleaner = self.eng.cleaner_for(identifying_tokens(snap))
        return self._cleaner

    def take(self, ds: Dataset, tag: int) -> object:
        """Remove ``tag`` and return a printable form of its old value.

        Removal is the commonest action (whole private blocks); decoding every removed value
        through pydicom would cost more than the rest of the engine, so by default the raw bytes
        are shown when they are plain ASCII. ``describe`` asks for fully decoded values.
        """
        old = self.peek(ds, tag)
        del ds[tag]
        return old

    def peek(self, ds: Dataset, tag: int) -> object:
        """Printable old value without decoding it through pydicom (unless ``detailed``)."""
        if not self.keep_actions:
            return ""  # only ever shown in an action record
        if self.detailed:
            return ds[tag].value
        item = ds.get_item(tag)
        v = getattr(item, "value", None)
        if isinstance(v, (bytes, bytearray)):
            vr = getattr(item, "VR", None)
            if vr in BYTES_VRS or vr in _NUMBER_VRS:
                return f"<{len(v)} bytes>"
            try:
                text = v.decode("ascii").strip(" \0")
            except UnicodeDecodeError:
                return f"<{len(v)} bytes>"
            return text if text.isprintable() else f"<{len(v)} bytes>"
        return v

    # -- recording -------------------------------------------------------------------------
    def record(
        self, path: str, tag: int, action: str, reason: str, old: object = "", new: object = "",
        keyword: str | None = None, name: str | None = None,
    ) -> None:
        if not self.keep_actions:
            return
        if keyword is None or name is None:
            kw, nm = _name_of(tag)
            keyword = kw if keyword is None else keyword
            name = nm if name is None else name
        self.actions.append(
            Action(path, tag_str(tag), keyword, name, action, reason, short(old), short(new))
        )

    # -- the walk --------------------------------------------------------------------------
    def walk(self, ds: Dataset, prefix: str, depth: int, mode: str) -> None:
        """``mode``: "" normally, "D" inside a sequence kept as dummy, "C" inside a cleaned one."""
        rules = self.eng.rules
        privates: list[int] = []
        overlay_groups: set[int] = set()
        for tag in list(ds.keys()):  # BaseTag: int subclass, the fast path in pydicom's indexing
            group = tag >> 16
            if group & 1:
                privates.append(tag)
                continue
            rule = rules.get(tag)
            if rule is not None:
                self.apply(ds, tag, rule, prefix, depth, mode)
                continue
            if 0x6000 <= group <= 0x60FF:
                overlay_groups.add(group)
                continue
            if 0x5000 <= group <= 0x50FF:
                self.remove_pattern(ds, tag, prefix, self.eng.patterns.get("50xxxxxx"), "curve")
                continue
            if tag & 0xFFFF == 0 and group != 0x0002:
                old = self.take(ds, tag)
                self.record(prefix + f"GroupLength{group:04X}", tag, "X",
                            "group length element: retired, and wrong once attributes change",
                            old, "")
                continue
            vr = _vr_of(ds, tag)
            if vr == "SQ":
                elem = ds[tag]
                kw = elem.keyword or tag_str(tag)
                if elem.VR != "SQ":  # encoded as UN and not decodable as a sequence
                    old = elem.value
                    del ds[tag]
                    self.record(prefix + kw, tag, "X",
                                "sequence stored as UN could not be decoded: its content cannot "
                                "be checked", old, "")
                    continue
                for i, item in enumerate(elem.value or ()):
                    self.walk(item, f"{prefix}{kw}[{i}].", depth + 1, mode)
                continue
            if not _in_dictionary(tag):
                old = self.take(ds, tag)
                self.record(prefix + tag_str(tag), tag, "X",
                            "not in the DICOM data dictionary: its meaning (and risk) is unknown",
                            old, "", keyword="", name="Unknown attribute")
                continue
            if vr == "UN":  # implicit VR: what the dictionary says it is
                vr = _DICT_VR.get(tag, "UN")
            if mode and (vr in FREE_TEXT_VRS or tag in (TEXT_VALUE, UNFORMATTED_TEXT_VALUE)):
                self.free_text(ds, tag, prefix, mode)
        if overlay_groups:
            self.remove_overlays(ds, sorted(overlay_groups), prefix)
        if privates:
            self.handle_privates(ds, privates, prefix)

    def free_text(self, ds: Dataset, tag: int, prefix: str, mode: str) -> None:
        elem = ds[tag]
        old = elem.value
        if old in (None, ""):
            return
        if mode == "C" and self.cleaner is not None:
            new = self.cleaner.clean_value(old)
            reason = "free text inside a cleaned sequence: identifiers and PHI patterns removed"
            act = "C"
        else:
            new = "ANONYMIZED"
            reason = "free text inside a sequence replaced by a dummy (D): its content is unknown"
            act = "D"
        elem.value = new
        self.record(prefix + (elem.keyword or tag_str(tag)), tag, act, reason, old, new)

    # -- one table row -----------------------------------------------------------------------
    def apply(self, ds: Dataset, tag: int, rule: Rule, prefix: str, depth: int, mode: str) -> None:
        act = rule.action
        reason = f"{rule.source}: {act}"
        if "/" in act:
            if act == "X/Z/U*":
                act = "U*"
                reason += " -> U* (reference sequence kept, contained UIDs replaced)"
            else:
                t = attribute_type(tag, self.ctx, depth)
                chosen = resolve_compound(act, t)
                reason += f" -> {chosen} (Type {t if t < 3 else '3 or not required'} here)"
                act = chosen
        if act == "X" and tag in GUARDED_X:
            t = attribute_type(tag, self.ctx, depth)
            if t < 3:
                act = "Z" if t == 2 else "D"
                reason += f" -> {act}: Type {t} in this IOD, removal would break it"
        path = prefix + (rule.keyword or tag_str(tag))
        if act == "X":
            old = self.take(ds, tag)
            self.record(path, tag, "X", reason, old, "", rule.keyword, rule.name)
            return
        if act in ("K", "Z") and tag not in _PSEUDONYM_TAGS:
            # fast path: nothing to compute from the old value, so do not decode it
            vr = _vr_of(ds, tag)
            if vr == "UN":
                vr = _DICT_VR.get(tag, "UN")
            if vr != "SQ" and vr in _SIMPLE_VRS:
                if act == "K":
                    if rule.source != "Basic Profile":
                        old = self.peek(ds, tag)
                        self.record(path, tag, "K", reason, old, old, rule.keyword, rule.name)
                    return
                old = self.peek(ds, tag)
                new_z: object = "" if vr in _EMPTY_STR_VRS else None
                ds[tag] = DataElement(tag, vr, new_z, validation_mode=_NO_CHECK)
                self.record(path, tag, "Z", reason, old, new_z, rule.keyword, rule.name)
                return
        if act in ("U", "U*", "D") and _RAW_FAST and self.raw_uid(ds, tag, path, act, reason, rule):
            return
        elem = ds[tag]
        vr = elem.VR
        old = elem.value
        if act == "K":
            if rule.source != "Basic Profile":
                self.record(path, tag, "K", reason, old, old, rule.keyword, rule.name)
            if vr == "SQ":
                self.walk_items(elem, path, depth, mode)
            return
        if vr == "SQ":
            if act == "Z":
                elem.value = Sequence()
                self.record(path, tag, "Z", reason, old, elem.value, rule.keyword, rule.name)
                return
            # D, C, U, U*: keep the structure, treat every item by the table
            sub = "C" if act == "C" else ("D" if act == "D" else mode)
            self.record(path, tag, act, reason + " (items processed recursively)", old, old,
                        rule.keyword, rule.name)
            self.walk_items(elem, path, depth, sub)
            return
        special = self.pseudonym(tag, old, depth, act)
        if special is not None:
            new, why = special
            elem.value = new
            self.record(path, tag, "D" if new else "Z", f"{reason}; {why}", old, new,
                        rule.keyword, rule.name)
            return
        if act == "Z":
            new: object = "" if vr in _EMPTY_STR_VRS else None
            elem.value = new
        elif act == "D":
            new = self.dummy(elem, rule)
            elem.value = new
        elif act in ("U", "U*"):
            new = self.map_uids(old) if vr == "UI" else dummy_for(vr)
            elem.value = new
        elif act == "C":
            new, act, why = self.clean(elem, rule)
            if why:
                reason += f"; {why}"
            if new is _REMOVE:
                del ds[tag]
                self.record(path, tag, "X", reason, old, "", rule.keyword, rule.name)
                return
            if new is not old:
                elem.value = new
        else:  # pragma: no cover - the profile builder rejects unknown codes
            raise ValueError(f"unknown action {act!r} for {tag_str(tag)}")
        self.record(path, tag, act, reason, old, elem.value, rule.keyword, rule.name)

    def raw_uid(self, ds: Dataset, tag: int, path: str, act: str, reason: str, rule: Rule) -> bool:
        """U/D of a UID straight from its raw bytes (no pydicom decode and validation); False
        when the element is not a plain raw UI value (the general path then handles it)."""
        raw = ds._dict.get(tag)
        if not isinstance(raw, RawDataElement) or raw.value is None:
            return False
        if raw.VR != "UI" and not (raw.VR is None and _DICT_VR.get(tag) == "UI"):
            return False
        data = raw.value
        if data and max(data) > 0x7E:
            return False
        text = data.decode("ascii").rstrip("\0 ")
        if not text.isprintable() and any(ch < " " and ch not in "\t\n\r\x0b\x0c" for ch in text):
            return False
        old: object = [v.strip() for v in text.split("\\")] if "\\" in text else text.strip()
        new = self.map_uids(old)
        ds[tag] = DataElement(tag, "UI", new, validation_mode=_NO_CHECK)
        self.record(path, tag, act, reason, old, new, rule.keyword, rule.name)
        return True

    def walk_items(self, elem: DataElement, path: str, depth: int, mode: str) -> None:
        for i, item in enumerate(elem.value or ()):
            self.walk(item, f"{path}[{i}].", depth + 1, mode)

    # -- values ------------------------------------------------------------------------------
    def pseudonym(self, tag: int, old: object, depth: int, act: str) -> tuple[str, str] | None:
        """Keyed replacements that keep patients / studies distinct (instead of Z or D)."""
        if act not in ("Z", "D"):
            return None
        text = str(old or "").strip()
        if tag == PATIENT_ID:
            if depth == 0:
                return self.ps.patient_id(self.patient_key), "keyed pseudonym (HMAC of the original)"
            return (self.ps.patient_id(text) if text else ""), "keyed pseudonym"
        if tag == PATIENT_NAME:
            if depth == 0:
                return self.ps.patient_name(self.patient_key), "keyed pseudonymous name"
            return (self.ps.patient_name("pn:" + text) if text else ""), "keyed pseudonymous name"
        if tag == ACCESSION:
            return (self.ps.accession(text) if text else ""), "keyed pseudonym"
        if tag == STUDY_ID:
            return (
                (self.ps.study_id(f"{self.orig_study_uid}/{text}") if text else ""),
                "keyed pseudonym of the study",
            )
        return None

    def dummy(self, elem: DataElement, rule: Rule) -> object:
        vr = elem.VR
        old = elem.value
        if vr == "UI":
            return self.map_uids(old)
        kw = rule.keyword
        if vr in ("LO", "SH", "UC", "LT", "ST", "UT") and kw.endswith(_ID_SUFFIXES):
            if old in (None, ""):
                return self.ps.token(kw, "", 16)
            if isinstance(old, MultiValue):
                return [self.ps.token(kw, v, 16) for v in old]
            return self.ps.token(kw, old, 16)
        return dummy_for(vr)

    def map_uids(self, old: object) -> object:
        if old in (None, ""):
            return old
        if isinstance(old, (list, MultiValue)):
            return [self._uid(v) for v in old]
        return self._uid(old)

    def _uid(self, v: object) -> str:
        s = str(v).strip(" \0")
        if not s or s in _WELL_KNOWN_UIDS:
            return s
        return self.ps.uid(s)

    def clean(self, elem: DataElement, rule: Rule) -> tuple[object, str, str]:
        """C: returns (new value, action letter actually applied, explanation)."""
        vr = elem.VR
        old = elem.value
        src = rule.source
        if src == Option.RETAIN_LONGITUDINAL_MODIFIED_DATES.meaning:
            if vr == "DA":
                return self._shift(old, shift_da, DUMMY_DA), "C", f"shifted {self.offset} days"
            if vr == "DT":
                return self._shift(old, shift_dt, DUMMY_DT), "C", f"shifted {self.offset} days"
            if vr in ("TM", "SH"):
                return old, "K", "time of day / UTC offset unaffected by a whole-day shift"
            return dummy_for(vr), "D", "binary timestamp cannot be shifted: dummy"
        if src == Option.RETAIN_DEVICE_IDENTITY.meaning:
            if old in (None, ""):
                return old, "C", "empty"
            return self.ps.token(rule.keyword or "dev", old, 16), "C", "keyed pseudonym (device stays distinct)"
        if vr in BYTES_VRS:
            return _REMOVE, "X", "binary value cannot be cleaned: removed"
        if vr in TEXT_VRS and vr != "PN" and self.cleaner is not None:
            new = self.cleaner.clean_value(old)
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

    def _shift(self, old: object, fn, dummy: str) -> object:  # type: ignore[no-untyped-def]
        def one(v: object) -> str:
            s = str(v)
            out = fn(s, self.offset)
            return dummy if out is None else out

        if old in (None, ""):
            return old
        if isinstance(old, (list, MultiValue)):
            return [one(v) for v in old]
        return one(old)

    # -- patterns ---------------------------------------------------------------------------
    def remove_pattern(self, ds: Dataset, tag: int, prefix: str, rule: Rule | None, what: str) -> None:
        old = self.take(ds, tag)
        reason = "Basic Profile: X (curve data group, (50xx,xxxx))"
        if rule is not None and rule.action == "C":
            reason = "Clean Graphics: retired curve data cannot be cleaned here; removed"
        self.record(prefix + tag_str(tag), tag, "X", reason, old, "")

    def remove_overlays(self, ds: Dataset, groups: list[int], prefix: str) -> None:
        pats = self.eng.patterns
        data_rule = pats.get("60xx3000")
        clean = data_rule is not None and data_rule.action == "C"
        for g in groups:
            tags = [t for t in ds.keys() if t >> 16 == g]
            has_data = (g << 16 | 0x3000) in tags
            for t in tags:
                el = t & 0xFFFF
                if el == 0x3000:
                    reason = ("Clean Graphics: an overlay bitmap cannot be cleaned by the header "
                              "engine; removed" if clean else "Basic Profile: X (Overlay Data)")
                elif el == 0x4000:
                    reason = "Basic Profile: X (Overlay Comments)" if not clean else (
                        "Clean Graphics: removed with its overlay")
                elif has_data:
                    reason = "rest of the Overlay Plane removed with its Overlay Data (not conformant without it)"
                else:
                    reason = "overlay plane (data in pixel bits) removed: its content cannot be checked"
                old = self.take(ds, t)
                self.record(prefix + tag_str(t), t, "X", reason, old, "")

    def handle_privates(self, ds: Dataset, tags: list[int], prefix: str) -> None:
        allow: SafePrivateList | None = self.eng.safe_private
        keep: set[int] = set()
        implicit_source = bool((getattr(ds, "original_encoding", None) or (None,))[0])
        if allow is not None:
            creators: dict[int, str] = {}
            for t in tags:
                if 0x10 <= (t & 0xFFFF) <= 0xFF:
                    v = ds[t].value
                    if isinstance(v, bytes):
                        v = v.decode("latin-1")
                    creators[t] = str(v or "").strip(" \0")
            for t in tags:
                el = t & 0xFFFF
                if el < 0x1000:
                    continue
                ctag = (t & 0xFFFF0000) | (el >> 8)
                creator = creators.get(ctag)
                if creator is None:
                    continue
                entry = allow.lookup(t >> 16, creator, el)
                if entry is None:
                    continue
                raw = ds.get_item(t)
                if isinstance(raw, RawDataElement) and (raw.VR in (None, "UN") or raw.is_implicit_VR):
                    # implicit VR or UN: the file declares no VR (pydicom would guess one from its
                    # own vendor dictionary); only the bytes themselves can show they fit the entry
                    vr, value = "UN", raw.value
                elif implicit_source:
                    continue  # decoded already, its bytes no longer checkable: removed
                else:
                    elem = ds[t]
                    vr, value = elem.VR, elem.value
                if entry.accepts(vr, value):
                    keep.add(t)
                    keep.add(ctag)
                    self.record(prefix + tag_str(t), t, "K",
                                f"Retain Safe Private: {creator} {entry.name} ({entry.source})",
                                value, value, keyword="", name=entry.name)
        for t in tags:
            if t in keep:
                continue
            old = self.take(ds, t)
            reason = ("private attribute (odd group): X" if allow is None else
                      "private attribute not on the safe allowlist: X")
            self.record(prefix + tag_str(t), t, "X", reason, old, "",
                        keyword="", name="Private Creator" if (t & 0xFFFF) <= 0xFF else "Private attribute")


class Deidentifier:
    """Applies one :class:`DeidConfig` with one project key; reusable across files and threads
    of one process (the per-call state lives in ``_Run``)."""

    def __init__(
        self,
        config: DeidConfig | None = None,
        key: ProjectKey | bytes | Pseudonymizer | None = None,
    ) -> None:
        self.config = config or DeidConfig()
        self.options = self.config.effective_options()
        if isinstance(key, Pseudonymizer):
            self.pseudonymizer = key
        else:
            self.pseudonymizer = Pseudonymizer(key if key is not None else ProjectKey.load_or_create())
        table = load_profile()
        self.table = table
        self.rules, self.patterns = table.compile(self.options)
        self.modified_dates = Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in self.options
        self.full_dates = Option.RETAIN_LONGITUDINAL_FULL_DATES in self.options
        self.safe_private: SafePrivateList | None = (
            load_safe_private(str(self.config.safe_private_path) if self.config.safe_private_path else None)
            if Option.RETAIN_SAFE_PRIVATE in self.options
            else None
        )
        self._method = self.method_description()
        self._cleaners: dict[frozenset[str], TextCleaner] = {}
        self.needs_cleaner = bool(
            self.options
            & {
                Option.CLEAN_DESCRIPTORS,
                Option.CLEAN_STRUCTURED_CONTENT,
                Option.CLEAN_GRAPHICS,
                Option.RETAIN_PATIENT_CHARACTERISTICS,
            }
        )

    def cleaner_for(self, tokens: frozenset[str]) -> TextCleaner:
        """One compiled cleaner per set of identifying tokens: the files of a study share it."""
        hit = self._cleaners.get(tokens)
        if hit is None:
            if len(self._cleaners) > 256:
                self._cleaners.clear()
            hit = self._cleaners[tokens] = TextCleaner(tokens)
        return hit

    # -- public API --------------------------------------------------------------------------
    def deidentify(
        self,
        ds: Dataset,
        *,
        pixels_cleaned: bool = False,
        visual_features_cleaned: bool = False,
        detailed: bool = False,
        keep_actions: bool = True,
    ) -> DeidResult:
        """De-identify ``ds`` **in place** and return it with every decision taken.

        ``detailed`` decodes removed values fully for the report (slower; ``describe`` uses it);
        otherwise removed values are shown from their raw bytes when those are plain ASCII.
        ``keep_actions=False`` leaves ``DeidResult.actions`` empty: the batch export never shows
        the decisions (``inspect``/``describe`` do), and recording them is a fifth of the cost.
        The dataset is changed exactly the same way either way.
        """
        orig = {kw: _text(ds, tag) for kw, tag in _LINKAGE}
        run = _Run(self, ds, detailed, keep_actions)
        run.walk(ds, "", 0, "")
        self._mark(run, ds, pixels_cleaned, visual_features_cleaned)
        self._file_meta(run, ds)
        linkage = {kw: (o, _text(ds, tag)) for (kw, tag), o in zip(_LINKAGE, orig.values()) if o}
        return DeidResult(ds, run.actions, linkage)

    def describe(self, ds: Dataset, **kwargs: bool) -> list[Action]:
        """Every decision ``deidentify`` would take, without changing ``ds``."""
        return self.deidentify(copy.deepcopy(ds), detailed=True, **kwargs).actions

    def method_description(self) -> list[str]:
        """Values of De-identification Method (LO, each at most 64 characters)."""
        vals = [
            f"medeid {__version__}",
            f"{self.table.standard} {self.table.revision} Table E.1-1 Basic Profile",
        ]
        vals += [o.meaning[:64] for o in sorted(self.options, key=lambda o: o.code)]
        vals.append("keyed HMAC-SHA256 pseudonyms")
        return vals

    def method_codes(self, pixels_cleaned: bool, visual_features_cleaned: bool) -> list[tuple[str, str]]:
        codes = [BASIC_PROFILE_CODE]
        if pixels_cleaned:
            codes.append(CLEAN_PIXEL_DATA_CODE)
        if visual_features_cleaned:
            codes.append(CLEAN_VISUAL_FEATURES_CODE)
        codes += [(o.code, o.meaning) for o in self.options]
        return sorted(codes)

    # -- marking -----------------------------------------------------------------------------
    def _set(self, run: _Run, ds: Dataset, tag: int, vr: str, value: object, reason: str) -> None:
        tag = BaseTag(tag)
        # DataElement by tag: much cheaper than setattr-by-keyword, which matters per file
        old = run.take(ds, tag) if tag in ds else ""
        ds[tag] = DataElement(tag, vr, value, validation_mode=_NO_CHECK)
        run.record(_MARK_KEYWORDS[tag], tag, "set", reason, old, value,
                   keyword=_MARK_KEYWORDS[tag], name=_MARK_NAMES[tag])

    def _mark(self, run: _Run, ds: Dataset, pixels_cleaned: bool, visual: bool) -> None:
        self._set(run, ds, 0x00120062, "CS", "YES", "PS3.15 E.1.1: output is de-identified")
        self._set(run, ds, 0x00120063, "LO", self._method,
                  "PS3.15 E.1.1: profile, options and tool")
        seq = Sequence()
        for code, meaning in self.method_codes(pixels_cleaned, visual):
            item = Dataset()
            item[0x00080100] = DataElement(0x00080100, "SH", code, validation_mode=_NO_CHECK)
            item[0x00080102] = DataElement(0x00080102, "SH", "DCM", validation_mode=_NO_CHECK)
            item[0x00080104] = DataElement(0x00080104, "LO", meaning, validation_mode=_NO_CHECK)
            seq.append(item)
        self._set(run, ds, 0x00120064, "SQ", seq,
                  "CID 7050 codes of the profile and options applied")
        ltim = "MODIFIED" if self.modified_dates else ("UNMODIFIED" if self.full_dates else "REMOVED")
        self._set(run, ds, 0x00280303, "CS", ltim, "PS3.15 E.3.6: how dates were treated")
        if pixels_cleaned:
            self._set(run, ds, 0x00280301, "CS", "NO", "pixel data cleaned by the caller")
        if visual:
            self._set(run, ds, 0x00280302, "CS", "NO",
                      "recognizable visual features cleaned by the caller")

    def _file_meta(self, run: _Run, ds: Dataset) -> None:
        meta = getattr(ds, "file_meta", None)
        if meta is None:
            return
        for tag, kw in _META_REMOVE.items():
            if tag in meta:
                old = run.take(meta, tag)
                run.record("file_meta." + kw, tag, "X",
                           "file meta: names the sending system or carries private data", old, "")
        sop = _text(ds, SOP_INSTANCE_UID)
        # Retain UIDs keeps (0002,0003) as it was (K in the table); otherwise it must follow the
        # new SOP Instance UID or the file contradicts itself
        if MEDIA_SOP_INSTANCE_UID in meta and Option.RETAIN_UIDS not in self.options:
            old = run.peek(meta, MEDIA_SOP_INSTANCE_UID)
            if sop:
                new, why = sop, "kept equal to the new SOP Instance UID"
            else:  # no SOP Instance UID in the dataset: the table's U, same keyed mapping
                new = run._uid(_text(meta, MEDIA_SOP_INSTANCE_UID))
                why = "Basic Profile: U (no SOP Instance UID in the dataset to follow)"
            meta[MEDIA_SOP_INSTANCE_UID] = DataElement(MEDIA_SOP_INSTANCE_UID, "UI", new,
                                                       validation_mode=_NO_CHECK)
            run.record("file_meta.MediaStorageSOPInstanceUID", 0x00020003, "U", why, old, new,
                       keyword="MediaStorageSOPInstanceUID", name="Media Storage SOP Instance UID")
        for tag, vr, val in ((_MARK_TAGS[6], "UI", IMPLEMENTATION_CLASS_UID),
                             (_MARK_TAGS[7], "SH", IMPLEMENTATION_VERSION_NAME)):
            old = run.peek(meta, tag) if tag in meta else ""
            meta[tag] = DataElement(tag, vr, val, validation_mode=_NO_CHECK)
            run.record("file_meta." + _MARK_KEYWORDS[tag], tag, "set",
                       "this file was written by medeid", old, val,
                       keyword=_MARK_KEYWORDS[tag], name=_MARK_NAMES[tag])
