"""PS3.15 confidentiality profile options and named presets.

Why an enum with metadata: the same option appears in four places — the CLI (``--option
retain-uids``), the profile table column (``rtnUIDsOpt``), the output marking (CID 7050 code
113110) and the GUI — and they must never drift apart.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Option(enum.Enum):
    """One PS3.15 Annex E option. ``value`` is the CLI name."""

    RETAIN_SAFE_PRIVATE = "retain-safe-private"
    RETAIN_UIDS = "retain-uids"
    RETAIN_DEVICE_IDENTITY = "retain-device-identity"
    RETAIN_INSTITUTION_IDENTITY = "retain-institution-identity"
    RETAIN_PATIENT_CHARACTERISTICS = "retain-patient-characteristics"
    RETAIN_LONGITUDINAL_FULL_DATES = "retain-longitudinal-full-dates"
    RETAIN_LONGITUDINAL_MODIFIED_DATES = "retain-longitudinal-modified-dates"
    CLEAN_DESCRIPTORS = "clean-descriptors"
    CLEAN_STRUCTURED_CONTENT = "clean-structured-content"
    CLEAN_GRAPHICS = "clean-graphics"

    @property
    def cli_name(self) -> str:
        return self.value

    @property
    def code(self) -> str:
        """CID 7050 code value (scheme DCM)."""
        return _META[self][0]

    @property
    def meaning(self) -> str:
        """CID 7050 code meaning, also used in DeidentificationMethod."""
        return _META[self][1]

    @property
    def column(self) -> str:
        """Column of PS3.15 Table E.1-1 (as in the profile resource)."""
        return _META[self][2]

    @property
    def standard_name(self) -> str:
        """The option's name in PS3.15 Annex E (section E.3.x title), what a user looks up."""
        return _NAMES[self][0]

    @property
    def summary(self) -> str:
        """One line: what the option keeps or removes compared with the Basic Profile."""
        return _NAMES[self][1]


_META: dict[Option, tuple[str, str, str]] = {
    Option.RETAIN_SAFE_PRIVATE: ("113111", "Retain Safe Private Option", "rtnSafePrivOpt"),
    Option.RETAIN_UIDS: ("113110", "Retain UIDs Option", "rtnUIDsOpt"),
    Option.RETAIN_DEVICE_IDENTITY: ("113109", "Retain Device Identity Option", "rtnDevIdOpt"),
    Option.RETAIN_INSTITUTION_IDENTITY: (
        "113112",
        "Retain Institution Identity Option",
        "rtnInstIdOpt",
    ),
    Option.RETAIN_PATIENT_CHARACTERISTICS: (
        "113108",
        "Retain Patient Characteristics Option",
        "rtnPatCharsOpt",
    ),
    Option.RETAIN_LONGITUDINAL_FULL_DATES: (
        "113106",
        "Retain Longitudinal Temporal Information Full Dates Option",
        "rtnLongFullDatesOpt",
    ),
    Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: (
        "113107",
        "Retain Longitudinal Temporal Information Modified Dates Option",
        "rtnLongModifDatesOpt",
    ),
    Option.CLEAN_DESCRIPTORS: ("113105", "Clean Descriptors Option", "cleanDescOpt"),
    Option.CLEAN_STRUCTURED_CONTENT: (
        "113104",
        "Clean Structured Content Option",
        "cleanStructContOpt",
    ),
    Option.CLEAN_GRAPHICS: ("113103", "Clean Graphics Option", "cleanGraphOpt"),
}

#: PS3.15 E.3 option name and a one-line summary (the GUI shows both; the CLI's --help too)
_NAMES: dict[Option, tuple[str, str]] = {
    Option.RETAIN_SAFE_PRIVATE: (
        "Retain Safe Private Option",
        "keeps the private attributes on the safe allowlist (PS3.15 E.3.10); removes every other",
    ),
    Option.RETAIN_UIDS: (
        "Retain UIDs Option",
        "keeps every UID as it was instead of replacing it with its keyed pseudonym",
    ),
    Option.RETAIN_DEVICE_IDENTITY: (
        "Retain Device Identity Option",
        "keeps station name, serial numbers and device UIDs; AE titles become keyed pseudonyms",
    ),
    Option.RETAIN_INSTITUTION_IDENTITY: (
        "Retain Institution Identity Option",
        "keeps the institution's name, address and department, and the trial site",
    ),
    Option.RETAIN_PATIENT_CHARACTERISTICS: (
        "Retain Patient Characteristics Option",
        "keeps sex, age, size, weight, smoking and pregnancy status; allergies etc. cleaned",
    ),
    Option.RETAIN_LONGITUDINAL_FULL_DATES: (
        "Retain Longitudinal Temporal Information With Full Dates Option",
        "keeps every date and time unchanged",
    ),
    Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: (
        "Retain Longitudinal Temporal Information With Modified Dates Option",
        "shifts every date of a patient by one keyed offset, so intervals are kept",
    ),
    Option.CLEAN_DESCRIPTORS: (
        "Clean Descriptors Option",
        "keeps descriptions and comments with identifying text removed from them",
    ),
    Option.CLEAN_STRUCTURED_CONTENT: (
        "Clean Structured Content Option",
        "keeps structured report content with identifying text removed from it",
    ),
    Option.CLEAN_GRAPHICS: (
        "Clean Graphics Option",
        "keeps graphic annotations with identifying text removed; overlays and curves still go",
    ),
}

#: CID 7050 codes that do not correspond to a header option
BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")
CLEAN_PIXEL_DATA_CODE = ("113101", "Clean Pixel Data Option")
CLEAN_VISUAL_FEATURES_CODE = ("113102", "Clean Recognizable Visual Features Option")

_RESEARCH = frozenset(
    {
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
        Option.RETAIN_PATIENT_CHARACTERISTICS,
        Option.RETAIN_DEVICE_IDENTITY,
    }
)

#: Named presets. "basic" is the Basic Profile alone (the strictest: nothing retained).
#: "research" keeps what imaging research usually needs — intervals between studies (shifted
#: dates), age/sex/size/weight, and scanner identity — and nothing that names a person or a site.
#: "research-clean" additionally keeps descriptions, structured content and graphics, each cleaned
#: of the dataset's own identifiers and of PHI-looking patterns (see clean_text.py for the limits).
PRESETS: dict[str, frozenset[Option]] = {
    "basic": frozenset(),
    "research": _RESEARCH,
    "research-clean": _RESEARCH
    | {Option.CLEAN_DESCRIPTORS, Option.CLEAN_STRUCTURED_CONTENT, Option.CLEAN_GRAPHICS},
}

_BY_NAME = {o.value: o for o in Option} | {o.name.lower(): o for o in Option}


def option_from_name(name: str) -> Option:
    key = name.strip().lower().replace("_", "-")
    opt = _BY_NAME.get(key) or _BY_NAME.get(key.replace("-", "_"))
    if opt is None:
        known = ", ".join(o.value for o in Option)
        raise ValueError(f"unknown de-identification option {name!r}; known: {known}")
    return opt


def check_consistent(options: Iterable[Option]) -> frozenset[Option]:
    opts = frozenset(options)
    if {
        Option.RETAIN_LONGITUDINAL_FULL_DATES,
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
    } <= opts:
        raise ValueError(
            "choose either retain-longitudinal-full-dates or retain-longitudinal-modified-dates, "
            "not both"
        )
    return opts


def parse(profile: str | None = "basic", options: Iterable[str | Option] = ()) -> frozenset[Option]:
    """Resolve a preset name plus extra option names into one checked set.

    Raises ``ValueError`` with the known names when something is misspelt, and when the two
    mutually exclusive date options are both asked for.
    """
    name = (profile or "basic").strip().lower()
    if name not in PRESETS:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PRESETS)}")
    out = set(PRESETS[name])
    for o in options:
        out.add(o if isinstance(o, Option) else option_from_name(o))
    return check_consistent(out)
