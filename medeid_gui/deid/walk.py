"""One pass over a dataset: each element goes to its table row's handler or to the rules for
what the table does not list (private, overlay/curve groups, group lengths, unknown tags, UIDs).

Why one pass with a dict lookup per element: the table is compiled into ``{tag: Rule}`` once per
configuration (profile.py), so the walk never searches, and elements that need no action are
never decoded (pydicom writes their raw bytes back as they were).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from pydicom.config import IGNORE as NO_CHECK
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from medeid_gui.deid import groups, rawvalues, uid_rule
from medeid_gui.deid.actions import Action, short, tag_str
from medeid_gui.deid.clean_text import IDENTIFYING_KEYWORDS, TextCleaner, identifying_tokens
from medeid_gui.deid.handlers import apply
from medeid_gui.deid.iod_types import IodContext, iod_context
from medeid_gui.deid.value_rules import map_uids
from medeid_gui.deid.values import BYTES_VRS, FREE_TEXT_VRS, NUMERIC_BINARY_VRS

if TYPE_CHECKING:
    from medeid_gui.deid.engine import Deidentifier

PATIENT_ID = BaseTag(0x00100020)
PATIENT_NAME = BaseTag(0x00100010)
PATIENT_BIRTH_DATE = BaseTag(0x00100030)
STUDY_UID = BaseTag(0x0020000D)
TEXT_VALUE = BaseTag(0x0040A160)
UNFORMATTED_TEXT_VALUE = BaseTag(0x00700006)
NOT_LISTED = "kept: not in Table E.1-1"

_IDENTIFYING_TAGS = tuple(
    BaseTag(t) for t in sorted(
        {0x00080005} | {int(tag_for_keyword(k)) for k in IDENTIFYING_KEYWORDS if tag_for_keyword(k)}
    )
)


class Run:
    """State of one ``deidentify`` call (one dataset): keys derived from the original values,
    the decisions recorded so far, and the walk itself."""

    def __init__(self, eng: Deidentifier, ds: Dataset, detailed: bool = False,
                 keep_actions: bool = True, list_kept: bool = False) -> None:
        self.eng = eng
        self.detailed = detailed
        self.keep_actions = keep_actions
        #: also record every element kept as it is (``inspect``: nothing leaves unseen)
        self.list_kept = list_kept and keep_actions
        self.ds = ds
        self.ctx: IodContext = iod_context(ds)
        self.actions: list[Action] = []
        self.ps = eng.pseudonymizer
        self.orig_study_uid = rawvalues.text(ds, STUDY_UID)
        self.patient_key = _patient_key(ds, self.orig_study_uid)
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
            if vr in BYTES_VRS or vr in NUMERIC_BINARY_VRS:
                return f"<{len(v)} bytes>"
            try:
                text = v.decode("ascii").strip(" \0")
            except UnicodeDecodeError:
                return f"<{len(v)} bytes>"
            return text if text.isprintable() else f"<{len(v)} bytes>"
        return v

    def record(
        self, path: str, tag: int, action: str, reason: str, old: object = "", new: object = "",
        keyword: str | None = None, name: str | None = None,
    ) -> None:
        if not self.keep_actions:
            return
        if keyword is None or name is None:
            kw, nm = rawvalues.name_of(tag)
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
                apply(self, ds, tag, rule, prefix, depth, mode)
            elif 0x6000 <= group <= 0x60FF:
                overlay_groups.add(group)
            elif 0x5000 <= group <= 0x50FF:
                groups.remove_curve(self, ds, tag, prefix)
            elif tag & 0xFFFF == 0 and group != 0x0002:
                old = self.take(ds, tag)
                self.record(prefix + f"GroupLength{group:04X}", tag, "X",
                            "group length element: retired, and wrong once attributes change",
                            old, "")
            else:
                self.unlisted(ds, tag, prefix, depth, mode)
        if overlay_groups:
            groups.remove_overlays(self, ds, sorted(overlay_groups), prefix)
        if privates:
            groups.handle_privates(self, ds, privates, prefix)

    def unlisted(self, ds: Dataset, tag: int, prefix: str, depth: int, mode: str) -> None:
        """A public attribute Table E.1-1 does not list: kept (PS3.15 E.1.1), its sequences walked,
        its UIDs mapped by the UID rule, free text inside D/C sequences replaced or cleaned."""
        vr = rawvalues.vr_of(ds, tag)
        if vr == "SQ":
            self.unlisted_sequence(ds, tag, prefix, depth, mode)
            return
        if not rawvalues.in_dictionary(tag):
            old = self.take(ds, tag)
            self.record(prefix + tag_str(tag), tag, "X",
                        "not in the DICOM data dictionary: its meaning (and risk) is unknown",
                        old, "", keyword="", name="Unknown attribute")
            return
        if vr == "UN":  # implicit VR: what the dictionary says it is
            vr = rawvalues.DICT_VR.get(tag, "UN")
        if vr == "UI":
            self.unlisted_uid(ds, tag, prefix)
        elif mode and (vr in FREE_TEXT_VRS or tag in (TEXT_VALUE, UNFORMATTED_TEXT_VALUE)):
            self.free_text(ds, tag, prefix, mode)
        else:
            self.record_kept(ds, tag, prefix)

    def unlisted_sequence(self, ds: Dataset, tag: int, prefix: str, depth: int, mode: str) -> None:
        elem = ds[tag]
        kw = elem.keyword or tag_str(tag)
        if elem.VR != "SQ":  # encoded as UN and not decodable as a sequence
            old = elem.value
            del ds[tag]
            self.record(prefix + kw, tag, "X",
                        "sequence stored as UN could not be decoded: its content cannot "
                        "be checked", old, "")
            return
        if self.list_kept:
            self.record(prefix + kw, tag, "K", NOT_LISTED + " (items processed recursively)",
                        elem.value, elem.value)
        for i, item in enumerate(elem.value or ()):
            self.walk(item, f"{prefix}{kw}[{i}].", depth + 1, mode)

    def unlisted_uid(self, ds: Dataset, tag: int, prefix: str) -> None:
        """The UID rule (uid_rule.py) for a UI attribute the table does not list."""
        if self.eng.retain_uids:
            self.record_kept(ds, tag, prefix, "Retain UIDs Option: UID kept")
            return
        why = uid_rule.DEFINITION_TAGS.get(tag)
        if why is not None:
            self.record_kept(ds, tag, prefix, f"UID rule: kept, the attribute {why}")
            return
        old = rawvalues.raw_uids(ds, tag) if rawvalues.RAW_FAST else None
        if old is None:
            old = ds[tag].value
        new = map_uids(self, old)
        if list(uid_rule.uid_values(new)) == list(uid_rule.uid_values(old)):
            self.record_kept(ds, tag, prefix, "UID rule: registered UID, kept")
            return
        ds[tag] = DataElement(tag, "UI", new, validation_mode=NO_CHECK)
        self.record(prefix + (rawvalues.name_of(tag)[0] or tag_str(tag)), tag, "U",
                    f"not in Table E.1-1; UID rule: {uid_rule.RULE_SHORT}", old, new)

    def record_kept(self, ds: Dataset, tag: int, prefix: str, why: str = "") -> None:
        """Record an unlisted element kept as it is, when every element is listed (``inspect``)."""
        if self.list_kept:
            old = self.peek(ds, tag)
            self.record(prefix + (rawvalues.name_of(tag)[0] or tag_str(tag)), tag, "K",
                        f"{NOT_LISTED}; {why}" if why else NOT_LISTED, old, old)

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

    def walk_items(self, elem: DataElement, path: str, depth: int, mode: str) -> None:
        for i, item in enumerate(elem.value or ()):
            self.walk(item, f"{path}[{i}].", depth + 1, mode)


def _patient_key(ds: Dataset, orig_study_uid: str) -> str:
    """What identifies the patient for the keyed pseudonyms and the date offset: the Patient ID,
    else name and birth date, else the study."""
    pid = rawvalues.text(ds, PATIENT_ID)
    if pid:
        return pid
    name = rawvalues.text(ds, PATIENT_NAME)
    if name:
        return f"name:{name}|{rawvalues.text(ds, PATIENT_BIRTH_DATE)}"
    return f"study:{orig_study_uid}"
