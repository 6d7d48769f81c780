"""What ``medeid audit`` searches for: the identifying values of the originals, and how.

Why a module of its own: collecting values (which attributes, which UIDs, which private texts,
what is too short to search or shared with a kept attribute) is a policy of its own, separate
from walking the output and reporting; ``audit.py`` uses :class:`Collector` and :class:`Needles`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from medeid_gui.deid import uid_rule

if TYPE_CHECKING:
    from pydicom.dataelem import DataElement
    from pydicom.dataset import Dataset

    from medeid_gui.deid.profile import Rule

MIN_LEN = 5
MIN_NAME_PART = 4
MIN_PIXEL_LEN = 8
_TEXT_VRS = {"LO", "SH", "LT", "ST", "UT", "UC", "AE", "CS", "UR", "PN"}
#: generic words that dummies and originals share; equal values are not a disclosure
_STOP = {
    "anonymous", "anonymized", "anonymised", "anonymize", "unknown", "removed", "deidentified",
    "de-identified", "none", "dummy", "patient", "redacted", "test", "phantom",
    # conventional dummy dates (a dummy in an original equals a dummy written by de-identification)
    "19000101", "00010101", "19700101",
}
@dataclass(frozen=True)
class Origin:
    category: str  # name, id, date, uid, text, private
    attribute: str  # keyword or tag of the original attribute
    input_path: str


def mask(value: str) -> str:
    """Enough of a value to find it again, not enough to read it from a report."""
    v = str(value)
    if len(v) <= 4:
        return v[0] + "*" * (len(v) - 1)
    return f"{v[:2]}{'*' * (len(v) - 3)}{v[-1]}"


def is_wellknown_uid(uid: str) -> bool:
    return uid_rule.is_registered(uid)


def str_values(elem: DataElement) -> list[str]:
    v = elem.value
    if v is None:
        return []
    if isinstance(v, (bytes, bytearray)):
        return []
    if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue":
        return [str(x) for x in v if x is not None and str(x).strip()]
    s = str(v)
    return [s] if s.strip() else []


_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{6,}")


def private_values(elem: DataElement) -> list[str]:
    if elem.VR in _TEXT_VRS:
        return [s for s in str_values(elem) if len(s.strip()) >= 6]
    v = elem.value
    if isinstance(v, (bytes, bytearray)) and len(v) < 4096:
        return [m.group().decode("ascii").strip() for m in _PRINTABLE_RUN.finditer(bytes(v))]
    return []


class Collector:
    """Gathers identifying values from originals, minus values that kept attributes also hold."""

    def __init__(self, rules: dict[int, Rule], retain_private: bool, retain_uids: bool) -> None:
        self.rules = rules
        self.retain_private = retain_private
        self.retain_uids = retain_uids
        self.values: dict[str, Origin] = {}
        #: values too short for a byte search (3+ characters): matched against whole path tokens
        self.short: dict[str, Origin] = {}
        # what our own writer puts in every file is not a value from an original
        from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

        self.kept: set[str] = {str(PYDICOM_IMPLEMENTATION_UID)}

    def _add(self, value: str, origin: Origin, min_len: int = MIN_LEN) -> None:
        v = value.strip(" \0")
        if len(v) < 3 or v.lower() in _STOP or len(set(v)) <= 2:
            return  # too short, a dummy word, or a filler like 11111111 that occurs in binary data
        if len(v) < min_len or (v.isdigit() and len(v) < 8):
            # too short to search in bytes; pure digits also occur inside every 2.25 UID
            self.short.setdefault(v, origin)
        else:
            self.values.setdefault(v, origin)

    def add_dataset(self, ds: Dataset, src: str) -> None:
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            for elem in meta:
                self._add_meta(elem, src)
        for elem in ds.iterall():
            if elem.VR != "SQ":
                self._add_element(elem, src)

    def _add_meta(self, elem: DataElement, src: str) -> None:
        tag = int(elem.tag)
        name = elem.keyword or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
        if elem.VR == "UI":
            self._add_uids(elem, name, src, self.rules.get(tag))
        elif tag in (0x00020016, 0x00020017, 0x00020018, 0x00020102):
            for s in str_values(elem) + private_values(elem):
                self._add(s, Origin("text", name, src))
        else:
            self.kept.update(s.strip() for s in str_values(elem))

    def _add_uids(self, elem: DataElement, name: str, src: str, rule: Rule | None) -> None:
        """Every UID by the engine's one UID rule (deid/uid_rule.py): searched unless Retain UIDs,
        a table row that keeps it, registered, or (outside the table) a definition's attribute."""
        tag = int(elem.tag)
        if rule is not None:
            kept = rule.action in ("K", "C")
        else:
            kept = not elem.tag.is_private and uid_rule.keeps_attribute(tag)
        for s in str_values(elem):
            uid = s.strip(" \0")
            if self.retain_uids or kept or uid_rule.is_registered(uid):
                self.kept.add(uid)
            else:
                self._add(uid, Origin("uid", name, src), 10)

    def _add_element(self, elem: DataElement, src: str) -> None:
        tag = int(elem.tag)
        name = elem.keyword or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
        vr = elem.VR
        rule = self.rules.get(tag)
        if vr == "UI":
            self._add_uids(elem, name, src, rule)
            return
        if elem.tag.is_private:
            if not self.retain_private:
                for s in private_values(elem):
                    self._add(s, Origin("private", name, src), 6)
            return
        if rule is None and vr != "PN":
            self.kept.update(s.strip() for s in str_values(elem))
            return
        action = rule.action if rule is not None else "X"
        if vr in ("DA", "DT"):
            if action != "K":
                for s in str_values(elem):
                    d = s.strip()[:8]
                    if len(d) == 8 and d.isdigit():
                        self._add(d, Origin("date", name, src), 8)
        elif action in ("K", "C"):
            self.kept.update(s.strip() for s in str_values(elem))
        elif vr == "PN":
            for s in str_values(elem):
                self._add(s, Origin("name", name, src))
                for part in re.split(r"[\^=]", s):
                    self._add(part, Origin("name", name, src), MIN_NAME_PART)
        elif vr in _TEXT_VRS:
            cat = "id" if "ID" in name or "Number" in name else "text"
            for s in str_values(elem):
                self._add(s, Origin(cat, name, src))

    def identifying(self) -> dict[str, Origin]:
        """Collected values that no kept attribute of any original also holds (even as a part)."""
        kept = "\0".join(sorted(self.kept))
        return {v: o for v, o in self.values.items() if v not in kept}

    def short_identifying(self) -> dict[str, Origin]:
        return {v: o for v, o in self.short.items() if v not in self.kept}


def compile_values(values: Iterable[str]) -> re.Pattern[bytes] | None:
    alts: set[bytes] = set()
    for v in values:
        for enc in ("utf-8", "latin-1"):
            try:
                alts.add(v.encode(enc))
            except UnicodeEncodeError:
                pass
    if not alts:
        return None
    return re.compile(b"|".join(re.escape(a) for a in sorted(alts, key=len, reverse=True)))


@dataclass
class Needles:
    """What is searched for in OUT: values long enough for bytes, short ones for path tokens."""

    values: dict[str, Origin]
    short: dict[str, Origin]
    pattern: re.Pattern[bytes] | None
    long_pattern: re.Pattern[bytes] | None  #: values of MIN_PIXEL_LEN+ for encapsulated pixels
    by_bytes: dict[bytes, str]  #: encoded form -> value

    @classmethod
    def of(cls, col: Collector) -> Needles:
        values = col.identifying()
        by_bytes: dict[bytes, str] = {}
        for v in values:
            for enc in ("utf-8", "latin-1"):
                try:
                    by_bytes.setdefault(v.encode(enc), v)
                except UnicodeEncodeError:
                    pass
        return cls(
            values,
            col.short_identifying(),
            compile_values(values),
            compile_values(v for v in values if len(v) >= MIN_PIXEL_LEN),
            by_bytes,
        )
