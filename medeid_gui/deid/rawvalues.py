"""Reading element values cheaply: from pydicom's still-raw bytes where that is exact.

Why: the engine touches every element of every file, and pydicom's conversion of a raw element
into a ``DataElement`` (decode, split, validate) costs more than the rest of the engine's work
for it. Elements that need no action are never converted, and UIDs and plain ASCII values are
read from their raw bytes when those give exactly what pydicom would. Only public pydicom API
is used: ``Dataset.get_item(tag, keep_deferred=True)`` returns the element as stored, without
converting it (and without reading a deferred value).
"""

from __future__ import annotations

from pydicom.datadict import DicomDictionary, get_entry
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

#: read UIDs and plain ASCII values from raw bytes where that gives exactly pydicom's value
#: (switched off by the test that proves the outputs identical)
RAW_FAST = True

DICT_VR: dict[int, str] = {t: e[0] for t, e in DicomDictionary.items()}
SQ_TAGS = frozenset(t for t, vr in DICT_VR.items() if vr == "SQ")
_KNOWN_CACHE: dict[int, bool] = {}


def raw_element(ds: Dataset, tag: int) -> RawDataElement | None:
    """The element as read from the file when pydicom has not converted it yet, else None."""
    item = ds.get_item(tag, keep_deferred=True)
    if isinstance(item, RawDataElement) and item.value is not None:
        return item
    return None


def vr_of(ds: Dataset, tag: int) -> str:
    """The VR the file declares; for implicit VR (UN) "SQ" when the dictionary says so."""
    vr = ds.get_item(tag).VR
    if vr and vr != "UN":
        return str(vr)
    return "SQ" if tag in SQ_TAGS else "UN"


def raw_ascii(ds: Dataset, tag: int) -> str | None:
    """Printable single-valued ASCII of a still-raw element, None when pydicom must decode it."""
    if not RAW_FAST:
        return None
    raw = raw_element(ds, tag)
    if raw is None:
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


def text(ds: Dataset, tag: int) -> str:
    """Stripped string value of a top-level attribute, '' when absent (by tag: no keyword lookup)."""
    if tag not in ds:
        return ""
    fast = raw_ascii(ds, tag)
    if fast is not None:
        return fast
    v = ds[tag].value
    return "" if v is None else str(v).strip(" \0")


def raw_uids(ds: Dataset, tag: int) -> str | list[str] | None:
    """The UID value(s) of a still-raw UI element read from its bytes, None when the element is
    not a plain raw UI value (pydicom must then decode it)."""
    raw = raw_element(ds, tag)
    if raw is None:
        return None
    if raw.VR != "UI" and not (raw.VR is None and DICT_VR.get(tag) == "UI"):
        return None
    data = raw.value
    if data and max(data) > 0x7E:
        return None
    decoded = data.decode("ascii").rstrip("\0 ")
    if not decoded.isprintable() and any(
        ch < " " and ch not in "\t\n\r\x0b\x0c" for ch in decoded
    ):
        return None
    if "\\" in decoded:
        return [v.strip() for v in decoded.split("\\")]
    return decoded.strip()


def in_dictionary(tag: int) -> bool:
    """Whether the data dictionary knows ``tag`` (cached: asked once per element of every file)."""
    hit = _KNOWN_CACHE.get(tag)
    if hit is None:
        try:
            get_entry(tag)
            hit = True
        except KeyError:
            hit = False
        _KNOWN_CACHE[tag] = hit
    return hit


def name_of(tag: int) -> tuple[str, str]:
    """(keyword, name) of a tag, ("", "Unknown attribute") when the dictionary lacks it."""
    try:
        entry = get_entry(tag)
        return entry[4], entry[2]
    except KeyError:
        return "", "Unknown attribute"
