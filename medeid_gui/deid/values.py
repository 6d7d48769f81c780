"""Dummy values for D (and for Z where a value must stay) that are valid for their VR.

Why fixed, recognisable dummies: D must give a non-empty value consistent with the VR, and the
value must not mislead — ``ANONYMIZED`` and ``19000101`` are obviously not real data, are valid
for every validator, and carry nothing of the original. Identifier-like attributes get a keyed
pseudonym instead (see engine.py) so that distinct originals stay distinct.
"""

from __future__ import annotations

from medeid_gui.deid.dates import DUMMY_DA, DUMMY_DT, DUMMY_TM

TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC", "PN"})
FREE_TEXT_VRS = frozenset({"ST", "LT", "UT"})
NUMERIC_BINARY_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV", "AT"})
BYTES_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})

#: VR -> dummy value accepted by pydicom and by dciodvfy
_DUMMY: dict[str, object] = {
    "AE": "ANONYMIZED",
    "AS": "000D",
    "CS": "ANONYMIZED",
    "DA": DUMMY_DA,
    "DT": DUMMY_DT,
    "TM": DUMMY_TM,
    "DS": "0",
    "IS": "0",
    "LO": "ANONYMIZED",
    "LT": "ANONYMIZED",
    "PN": "ANONYMIZED",
    "SH": "ANONYMIZED",
    "ST": "ANONYMIZED",
    "UC": "ANONYMIZED",
    "UT": "ANONYMIZED",
    "UR": "urn:medeid:removed",
    "US": 0,
    "SS": 0,
    "UL": 0,
    "SL": 0,
    "UV": 0,
    "SV": 0,
    "FL": 0.0,
    "FD": 0.0,
    "OB": b"\x00\x00",
    "OW": b"\x00\x00",
    "OF": b"\x00\x00\x00\x00",
    "OD": b"\x00" * 8,
    "OL": b"\x00\x00\x00\x00",
    "OV": b"\x00" * 8,
    "UN": b"\x00\x00",
}


def dummy_for(vr: str) -> object:
    """A non-empty dummy for ``vr`` (``ANONYMIZED`` when the VR is unknown)."""
    return _DUMMY.get(vr, "ANONYMIZED")
