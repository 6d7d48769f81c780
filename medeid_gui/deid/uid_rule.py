"""The one UID rule: every UID is replaced by its keyed pseudonym, except UIDs that name a definition.

Why a rule beyond Table E.1-1: the table lists the UID attributes known when it was written, but
devices and sites mint UIDs in attributes it does not name (Creator-Version UID (0008,9123) in
every enhanced multi-frame image, Target Frame of Reference UID, Assertion UID, ...). Any UID
minted by a device or site can link an output back to its source, so every value of VR UI, at
any depth, is replaced by the same keyed mapping the table's U action uses (references stay
consistent), unless it names something that is the same everywhere:

* a registered UID: pydicom's UID dictionary (SOP classes, transfer syntaxes, coding schemes,
  well-known frames of reference, ...) or any value under the DICOM root ``1.2.840.10008.``,
  which the standard reserves for its own definitions; such values are kept in every attribute,
  including rows of the table;
* an attribute that names a class, a transfer syntax, a coding scheme or another definition
  (:data:`DEFINITION_KEYWORDS`): e.g. a private SOP Class UID in SOP Class UID names the vendor's
  class, not an instance, and replacing it would make the object unreadable. Rows of Table
  E.1-1 keep their own action (the table's U on Manufacturer's Device Class UID stands).

Under the Retain UIDs Option every UID is kept as it is. Private UIDs never leave at all (the
Retain Safe Private allowlist never keeps VR UI, see private.py). This module is the one place
that states the rule; the engine applies it, ``medeid inspect --explain-uids`` prints it and
``medeid audit`` searches the output for every original UID it does not exempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pydicom.datadict import DicomDictionary
from pydicom.multival import MultiValue
from pydicom.uid import UID_dictionary

#: the rule in one line, for the reason of every UID it replaces
RULE_SHORT = "every UID except those naming a definition is replaced by its keyed pseudonym"
#: the DICOM root: PS3.5 9.1 reserves it for UIDs the standard defines
DICOM_ROOT = "1.2.840.10008."

#: (keyword test, why the attribute names a definition) — checked in this order
_DEFINITION_PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("suffix", "ClassUID", "names a class (SOP, implementation or device class)"),
    ("suffix", "ClassUIDInFile", "names the SOP class of a referenced file"),
    ("contains", "SOPClasses", "lists SOP classes"),
    ("suffix", "TransferSyntaxUID", "names a transfer syntax"),
    ("suffix", "TransferSyntaxUIDInFile", "names the transfer syntax of a referenced file"),
    ("exact", "CodingSchemeUID", "names a coding scheme"),
    ("exact", "ContextUID", "names a context group"),
    ("exact", "MappingResourceUID", "names a mapping resource"),
    ("exact", "SegmentationTemplateUID", "names a segmentation template"),
)


def _definition_reason(keyword: str) -> str | None:
    for kind, text, why in _DEFINITION_PATTERNS:
        if (
            (kind == "suffix" and keyword.endswith(text))
            or (kind == "contains" and text in keyword)
            or (kind == "exact" and keyword == text)
        ):
            return why
    return None


#: tag -> why the UI attribute names a definition (its values are kept), from the data dictionary
DEFINITION_TAGS: dict[int, str] = {
    tag: why
    for tag, entry in DicomDictionary.items()
    if entry[0] == "UI" and (why := _definition_reason(entry[4])) is not None
}


def is_registered(uid: str) -> bool:
    """A UID the standard or pydicom's dictionary defines: the same in every file, kept."""
    return uid in UID_dictionary or uid.startswith(DICOM_ROOT)


def keeps_attribute(tag: int) -> bool:
    """Whether a UI attribute that Table E.1-1 does not list is kept because it names a definition."""
    return tag in DEFINITION_TAGS


def map_uid(value: object, pseudonym: Callable[[str], str]) -> str:
    """One UID: its keyed pseudonym, or itself when empty or registered."""
    s = str(value).strip(" \0")
    if not s or is_registered(s):
        return s
    return pseudonym(s)


def map_uids(old: object, pseudonym: Callable[[str], str]) -> object:
    """A UI value (one UID or several): every UID mapped by :func:`map_uid`; empty stays empty."""
    if old in (None, ""):
        return old
    if isinstance(old, (list, MultiValue)):
        return [map_uid(v, pseudonym) for v in old]
    return map_uid(old, pseudonym)


def uid_values(value: object) -> Iterator[str]:
    """The non-empty UIDs of a UI value (one string, a list or a MultiValue), stripped."""
    values = value if isinstance(value, (list, tuple, MultiValue)) else [value]
    for v in values:
        s = str(v if v is not None else "").strip(" \0")
        if s:
            yield s


def explain() -> list[str]:
    """The rule and its exceptions in words (what ``medeid inspect --explain-uids`` prints)."""
    lines = [
        "Every value of VR UI, at any depth, is replaced by its keyed pseudonym (HMAC of the",
        "project key and the original: the same original gives the same UID in every file, so",
        "references stay consistent), except:",
        f"  - registered UIDs: pydicom's UID dictionary and every value under {DICOM_ROOT}*",
        "    (SOP classes, transfer syntaxes, coding schemes, well-known frames of reference);",
        "  - attributes not listed in PS3.15 Table E.1-1 that name a definition:",
    ]
    for kind, text, why in _DEFINITION_PATTERNS:
        form = {"suffix": f"keyword ending in {text}", "contains": f"keyword containing {text}",
                "exact": f"{text}"}[kind]
        lines.append(f"      {form}: {why}")
    lines += [
        "Rows of Table E.1-1 keep their own action. Under the Retain UIDs Option every UID is",
        "kept. Private UIDs are removed with their private block (never on the safe allowlist).",
    ]
    return lines
