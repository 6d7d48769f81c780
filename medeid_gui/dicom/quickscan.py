"""Read the few header attributes discovery needs straight from the bytes of a plain file.

Why: planning an export examines every file before anything is written, and pydicom's general
reader (file meta, every element through a generator, datasets, encodings) costs about as much
as reading the whole file again — measured 0.6 ms of a 3 ms per-file export budget. Ordinary
files (Part 10 preamble, any byte order, definite or delimited lengths, header in the first
64 KiB) are walked here with ``struct`` in one read; only the attributes discovery asks for are
kept, as pydicom ``RawDataElement`` values in a real pydicom ``Dataset``, so decoding them (names,
character sets) is exactly pydicom's.

Anything unusual — no preamble, deflate, an encoding that differs from the transfer
syntax, a value running past the end, a header beyond the first read — returns ``None`` and the
caller uses the full reader, which also produces the precise rejection reasons. This function
never rejects a file itself; ``tests/dicom/test_quickscan.py`` checks that it agrees with the full
reader on every corpus file it accepts.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from pathlib import Path

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.tag import BaseTag
from pydicom.uid import UID

__all__ = ["quick_header", "READ_BYTES"]

#: bytes read at once; files whose header (up to Pixel Data) is longer use the full reader
READ_BYTES = 1 << 16

_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_SHORT_VRS = frozenset({b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT",
                        b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"})
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_HH = struct.Struct("<HH")
_H = struct.Struct("<H")
_L = struct.Struct("<L")
_BIG = (struct.Struct(">HH"), struct.Struct(">H"), struct.Struct(">L"))
_UNDEFINED = 0xFFFFFFFF


class _Unusual(Exception):
    """Leave this file to the full reader."""


def quick_header(path: Path, wanted: Iterable[int]) -> tuple[FileDataset, bool] | None:
    """``(dataset with the wanted top-level attributes, has pixel data)`` or None (use pydicom).

    The dataset holds raw elements only for ``wanted`` tags found before Pixel Data, its
    ``file_meta`` every File Meta element, and the encoding pydicom would have recorded.
    """
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            buf = fh.read(READ_BYTES)
        return _parse(path, buf, size, frozenset(wanted))
    except (_Unusual, struct.error, UnicodeDecodeError, ValueError, OSError):
        return None  # including unreadable files: the full reader words the reason


def _parse(path: Path, buf: bytes, size: int, wanted: frozenset[int]) -> tuple[FileDataset, bool]:
    """The file meta, then the ``wanted`` elements up to the pixel data, as pydicom would read
    them; :class:`_Unusual` for anything the full reader must decide."""
    if len(buf) < 140 or buf[128:132] != b"DICM":
        raise _Unusual("no preamble")
    meta, pos = _parse_meta(buf)
    implicit, little = _encoding(meta, buf, pos)
    elements, has_pixels, pos = _parse_elements(buf, pos, size, wanted, implicit, little)
    if 0 < size - pos < 8 and not has_pixels:
        raise _Unusual("stray bytes")
    return _file_dataset(path, buf, meta, elements, implicit, little), has_pixels


def _parse_meta(buf: bytes) -> tuple[dict[BaseTag, RawDataElement], int]:
    """Group 0002 (always explicit VR little endian) and the position after it."""
    limit = len(buf)
    meta: dict[BaseTag, RawDataElement] = {}
    pos = 132
    while pos + 8 <= limit:
        group, element = _HH.unpack_from(buf, pos)
        if group != 2:
            break
        tag = group << 16 | element
        vr = buf[pos + 4:pos + 6]
        if vr in _LONG_VRS:
            length, start = _L.unpack_from(buf, pos + 8)[0], pos + 12
        elif vr in _SHORT_VRS:
            length, start = _H.unpack_from(buf, pos + 6)[0], pos + 8
        else:
            raise _Unusual("file meta element without a known VR")
        if length == _UNDEFINED or start + length > limit:
            raise _Unusual("file meta length")
        meta[BaseTag(tag)] = RawDataElement(BaseTag(tag), vr.decode("ascii"), length,
                                            buf[start:start + length], start, False, True)
        pos = start + length
    return meta, pos


def _encoding(meta: dict[BaseTag, RawDataElement], buf: bytes, pos: int) -> tuple[bool, bool]:
    """(implicit VR, little endian) of the dataset: the transfer syntax's, if the bytes agree."""
    ts_elem = meta.get(BaseTag(0x00020010))
    if ts_elem is None:
        raise _Unusual("no transfer syntax")
    ts = UID(ts_elem.value.decode("ascii").strip(" \0"))
    if not ts.is_transfer_syntax or ts.is_private or ts.is_deflated:
        raise _Unusual("transfer syntax")
    implicit, little = bool(ts.is_implicit_VR), bool(ts.is_little_endian)
    if implicit and not little:
        raise _Unusual("implicit VR big endian")
    if pos + 6 <= len(buf):  # pydicom switches encoding when the first element says otherwise
        found_implicit = not (0x40 < buf[pos + 4] < 0x5B and 0x40 < buf[pos + 5] < 0x5B)
        if found_implicit != implicit:
            raise _Unusual("encoding differs from the transfer syntax")
    return implicit, little


def _parse_elements(
    buf: bytes, pos: int, size: int, wanted: frozenset[int], implicit: bool, little: bool
) -> tuple[dict[BaseTag, RawDataElement], bool, int]:
    """The wanted top-level elements, whether pixel data follows, and where the walk stopped."""
    complete = len(buf) == size  # the whole file is in buf
    limit = len(buf)
    hh, h, ul = (_HH, _H, _L) if little else _BIG
    elements: dict[BaseTag, RawDataElement] = {}
    while pos != size:
        if pos + 8 > limit:
            raise _Unusual("header continues past the first read" if not complete else "truncated")
        group, element = hh.unpack_from(buf, pos)
        tag = group << 16 | element
        vr, length, start = _header(buf, pos, limit, implicit, h, ul)
        vr_text = vr.decode("ascii") if vr else None
        if tag in _PIXEL_TAGS:
            if length != _UNDEFINED and start + length > size:
                raise _Unusual("pixel data past the end")  # the full reader says "truncated"
            return elements, True, pos
        if group < 4:
            raise _Unusual("file meta or command elements in the dataset")
        if length == _UNDEFINED:
            if not implicit and vr_text != "SQ":
                raise _Unusual("undefined length outside a sequence")
            end = _skip_items(buf, start, limit, implicit, little)
            if tag in wanted:
                raise _Unusual("wanted sequence")  # only DirectoryRecordSequence: a DICOMDIR
        else:
            end = start + length
            if end > limit:
                raise _Unusual("value past the first read" if not complete else "truncated")
            if tag in wanted:
                elements[BaseTag(tag)] = RawDataElement(BaseTag(tag), vr_text, length,
                                                        buf[start:end], start, implicit, little)
        pos = end
    return elements, False, pos


def _file_dataset(path: Path, buf: bytes, meta: dict[BaseTag, RawDataElement],
                  elements: dict[BaseTag, RawDataElement], implicit: bool, little: bool) -> FileDataset:
    file_meta = FileMetaDataset(meta)
    file_meta.set_original_encoding(False, True)
    ds = Dataset(elements)
    charset = None
    if BaseTag(0x00080005) in elements:
        from pydicom.charset import convert_encodings
        from pydicom.dataelem import convert_raw_data_element

        charset = convert_encodings(convert_raw_data_element(elements[BaseTag(0x00080005)]).value)
    ds.set_original_encoding(implicit, little, charset or "iso8859")
    return FileDataset(str(path), ds, preamble=buf[:128], file_meta=file_meta,
                       is_implicit_VR=implicit, is_little_endian=little)


def _header(buf: bytes, pos: int, limit: int, implicit: bool, h: struct.Struct, ul: struct.Struct,
            ) -> tuple[bytes, int, int]:
    """(VR bytes or b"" when implicit, value length, value start) of the element at ``pos``."""
    if implicit:
        return b"", ul.unpack_from(buf, pos + 4)[0], pos + 8
    vr = buf[pos + 4:pos + 6]
    if vr in _LONG_VRS:
        if pos + 12 > limit:
            raise _Unusual("header")
        return vr, ul.unpack_from(buf, pos + 8)[0], pos + 12
    if vr in _SHORT_VRS:
        return vr, h.unpack_from(buf, pos + 6)[0], pos + 8
    raise _Unusual("unknown VR")


def _skip_items(buf: bytes, pos: int, limit: int, implicit: bool, little: bool) -> int:
    """Position after the Sequence Delimitation Item of an undefined-length sequence at ``pos``."""
    hh, ul = (_HH, _L) if little else (_BIG[0], _BIG[2])
    while True:
        if pos + 8 > limit:
            raise _Unusual("sequence past the first read")
        group, element = hh.unpack_from(buf, pos)
        tag = group << 16 | element
        length = ul.unpack_from(buf, pos + 4)[0]
        if tag == _SEQ_END:
            return pos + 8
        if tag != _ITEM:
            raise _Unusual("not an item")
        if length != _UNDEFINED:
            pos += 8 + length
            continue
        pos = _skip_elements(buf, pos + 8, limit, implicit, little)


def _skip_elements(buf: bytes, pos: int, limit: int, implicit: bool, little: bool) -> int:
    """Position after the Item Delimitation Item of an undefined-length item starting at ``pos``."""
    hh, h, ul = (_HH, _H, _L) if little else _BIG
    first = True
    while True:
        if pos + 8 > limit:
            raise _Unusual("item past the first read")
        group, element = hh.unpack_from(buf, pos)
        tag = group << 16 | element
        if tag == _ITEM_END:
            return pos + 8
        if first and not implicit and not (0x40 < buf[pos + 4] < 0x5B and 0x40 < buf[pos + 5] < 0x5B):
            raise _Unusual("implicit item in an explicit file")
        first = False
        vr, length, start = _header(buf, pos, limit, implicit, h, ul)
        is_sq = length == _UNDEFINED if implicit else vr == b"SQ"
        if length == _UNDEFINED:
            if not is_sq:
                raise _Unusual("undefined length outside a sequence")
            pos = _skip_items(buf, start, limit, implicit, little)
        else:
            pos = start + length
