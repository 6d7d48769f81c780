"""Shifting DA / DT values by a whole number of days (Retain Longitudinal ... Modified Dates).

Why here and not via ``datetime`` parsing of everything: DICOM dates come in partial forms
(``YYYY``, ``YYYYMM`` in DT), with timezone suffixes and fractional seconds, and as ranges in
query contexts. We shift the calendar date part and leave every other character untouched, so
the time of day, precision and timezone of the original survive exactly. A value we cannot parse
is replaced by the dummy date (never kept: an unparsable date may still be a real date).
"""

from __future__ import annotations

import datetime as _dt

DUMMY_DA = "19000101"
DUMMY_TM = "000000"
DUMMY_DT = "19000101000000"


def shift_da(value: str, days: int) -> str | None:
    """Shift ``YYYYMMDD`` (or legacy ``YYYY.MM.DD``); None when it is not a date."""
    v = value.strip()
    if not v:
        return v
    if "-" in v:  # a range (query contexts): shift each end
        parts = v.split("-")
        if len(parts) != 2:
            return None
        out = [shift_da(p, days) if p else "" for p in parts]
        if any(o is None for o in out):
            return None
        return "-".join(out)  # type: ignore[arg-type]
    legacy = len(v) == 10 and v[4] == "." and v[7] == "."
    digits = v.replace(".", "") if legacy else v
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        d = _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        d2 = d + _dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    if d2.year < 1:
        return None
    return f"{d2.year:04d}{d2.month:02d}{d2.day:02d}"


def shift_dt(value: str, days: int) -> str | None:
    """Shift the date part of a DT; keeps time, fraction and UTC offset. None when unparsable."""
    v = value.strip()
    if not v:
        return v
    if "-" in v[1:] and not _has_tz(v):
        parts = v.split("-")
        if len(parts) == 2:  # range
            out = [shift_dt(p, days) if p else "" for p in parts]
            if any(o is None for o in out):
                return None
            return "-".join(out)  # type: ignore[arg-type]
    if len(v) < 4 or not v[:4].isdigit():
        return None
    year = int(v[:4])
    month = int(v[4:6]) if len(v) >= 6 and v[4:6].isdigit() else None
    day = int(v[6:8]) if len(v) >= 8 and v[6:8].isdigit() else None
    try:
        d = _dt.date(year, month or 1, day or 1) + _dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    if d.year < 1:
        return None
    if day is not None:
        return f"{d.year:04d}{d.month:02d}{d.day:02d}" + v[8:]
    if month is not None:
        return f"{d.year:04d}{d.month:02d}" + v[6:]
    return f"{d.year:04d}" + v[4:]


def _has_tz(v: str) -> bool:
    # DT with an offset: YYYYMMDDHHMMSS.FFFFFF&ZZXX, the sign after at least 4 digits
    for sign in "+-":
        i = v.rfind(sign)
        if i >= 4 and len(v) - i == 5 and v[i + 1 :].isdigit():
            return True
    return False
