"""Reading one DICOM file, with errors a person can act on.

Why a module of its own: pydicom's exceptions say *where* parsing stopped (``InvalidDicomError``,
``EOFError``, ``struct.error`` …), not *what is wrong with the file*. Every caller above this layer
(discovery, the export pipeline, the GUI) needs one exception type with a sentence it can show or
write to a manifest, and it needs the same rule for when a file without the 128-byte preamble is
still DICOM. Both live here.
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import BaseTag

__all__ = [
    "DicomReadError",
    "sniff",
    "read_header",
    "read_dataset",
    "read_partial_header",
    "PIXEL_TAGS",
]

#: Pixel Data, Float Pixel Data, Double Float Pixel Data.
PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})

#: Explicit VR codes a DICOM element may carry (used to judge a preamble-less start).
_VRS = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US"
    b" UT UV".split()
)


class DicomReadError(Exception):
    """A file could not be read as DICOM; ``reason`` is a sentence for a person, ``path`` the file."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def sniff(head: bytes) -> str | None:
    """Classify the first bytes of a file: ``"preamble"``, ``"no-preamble"`` or ``None`` (not DICOM).

    Why this rule: ``pydicom.dcmread(force=True)`` "reads" any bytes (a text file becomes an empty or
    garbage dataset), so force is only allowed after the start looks like a real DICOM stream:
    the first element is in group 0002 (file meta) or 0008 (the first group of nearly every
    preamble-less, ACR-NEMA-style or raw dataset), little or big endian, with either an explicit VR
    code or an implicit 32-bit length that fits.
    """
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "preamble"
    if len(head) < 8:
        return None
    for fmt_h, fmt_l in (("<H", "<L"), (">H", ">L")):
        group = struct.unpack(fmt_h, head[0:2])[0]
        elem = struct.unpack(fmt_h, head[2:4])[0]
        if group not in (0x0002, 0x0008):
            continue
        if elem > 0x1FFF and group == 0x0008:  # group 0008 public elements stay below 0x2000
            continue
        if head[4:6] in _VRS:
            return "no-preamble"
        length = struct.unpack(fmt_l, head[4:8])[0]
        # implicit VR: group length (4 bytes) or a short value; 0xFFFFFFFF for undefined-length SQ
        if length == 0xFFFFFFFF or length < 0x10000:
            return "no-preamble"
    return None


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(132)
    except PermissionError as exc:
        raise DicomReadError(path, "permission denied: the file cannot be opened for reading") from exc
    except IsADirectoryError as exc:
        raise DicomReadError(path, "is a folder, not a file") from exc
    except FileNotFoundError as exc:
        raise DicomReadError(path, "file not found") from exc
    except OSError as exc:
        raise DicomReadError(path, f"cannot open file ({exc.strerror or exc})") from exc


def _check_start(path: Path, data: bytes | None = None) -> bool:
    """Return whether the file needs ``force`` (no preamble); raise if it does not look like DICOM."""
    head = _head(path) if data is None else data[:132]
    if not head:
        raise DicomReadError(path, "empty file")
    kind = sniff(head)
    if kind is None:
        what = _what_is_it(head)
        if what:
            raise DicomReadError(path, f"not DICOM: {what}")
        if len(head) < 132:
            raise DicomReadError(path, f"not DICOM: only {len(head)} bytes and no DICOM element at the start")
        raise DicomReadError(path, "not DICOM: no 'DICM' preamble and no DICOM element at the start")
    return kind == "no-preamble"


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "a gzip archive (unpack it first; archives are not opened)"),
    (b"PK\x03\x04", "a ZIP archive (unpack it first; archives are not opened)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (unpack it first; archives are not opened)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)


def _what_is_it(head: bytes) -> str:
    """A short name for common non-DICOM files, so a rejection reason says what was found."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    text = head.decode("utf-8", "replace")
    if text.count("\ufffd") <= 1 and all(ch.isprintable() or ch in "\r\n\t\ufffd" for ch in text):
        return "a text file"
    return ""


def _explain(path: Path, exc: BaseException) -> DicomReadError:
    """Turn a pydicom/struct/OS exception into a sentence."""
    if isinstance(exc, DicomReadError):
        return exc
    if isinstance(exc, PermissionError):
        return DicomReadError(path, "permission denied: the file cannot be opened for reading")
    if isinstance(exc, (EOFError, struct.error)):
        return DicomReadError(path, f"truncated: the file ends inside a DICOM element ({exc})")
    if isinstance(exc, InvalidDicomError):
        return DicomReadError(path, f"not valid DICOM: {exc}")
    if isinstance(exc, NotImplementedError):
        return DicomReadError(path, f"unsupported encoding: {exc}")
    if isinstance(exc, OSError):
        return DicomReadError(path, f"read error ({exc.strerror or exc})")
    msg = str(exc) or type(exc).__name__
    if "end of file" in msg.lower() or "truncat" in msg.lower():
        return DicomReadError(path, f"truncated: {msg}")
    return DicomReadError(path, f"malformed DICOM ({type(exc).__name__}: {msg})")


def _validate(path: Path, ds: Dataset, forced: bool) -> None:
    """Reject "datasets" that are only what ``force=True`` made of non-DICOM bytes."""
    tags = [int(t) for t in ds.keys()]
    meta = getattr(ds, "file_meta", None)
    if not tags and not (meta and len(meta)):
        if not forced:  # it had the 'DICM' prefix: a DICOM file cut short
            raise DicomReadError(path, "truncated: no complete data element after the 'DICM' prefix")
        raise DicomReadError(path, "not DICOM: no data elements could be read")
    if forced and tags and not any(t >= 0x00080000 for t in tags) and not (meta and len(meta)):
        raise DicomReadError(path, "not DICOM: no elements beyond the command group")


def _parse(
    p: Path,
    *,
    stop_at_pixels: bool,
    specific_tags: Iterable[int] | None = None,
    defer_size: int | str | None = None,
    data: bytes | None = None,
) -> tuple[FileDataset, bool]:
    """Parse ``p`` (or its already-read bytes ``data``; after the sniff).

    Returns the dataset and whether it stopped at pixel data.

    Why not plain ``dcmread``: pydicom ends a dataset silently when the file ends early (a short
    value, a partial element header, a skip past the end) and only *warns* on a missing sequence
    delimiter; ``dcmread(stop_before_pixels=True)`` cannot tell "stopped at Pixel Data" from "there
    is none". Reading through ``read_partial`` on our own file handle lets us check both.
    """
    forced = _check_start(p, data)
    hit: list[tuple[int, int, int]] = []  # (tag, value offset, length)
    tags: list[BaseTag | int] | None = list(specific_tags) if specific_tags is not None else None
    try:
        opened = open(p, "rb") if data is None else io.BytesIO(data)
        with opened as fh, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            size = os.fstat(fh.fileno()).st_size if data is None else len(data)

            def stop(tag: BaseTag, vr: str | None, length: int) -> bool:
                if stop_at_pixels and int(tag) in PIXEL_TAGS:
                    hit.append((int(tag), fh.tell(), length))
                    return True
                return False

            ds = pydicom.filereader.read_partial(
                fh, stop_when=stop, force=forced, specific_tags=tags, defer_size=defer_size
            )
            end_pos = fh.tell()
            ds.filename = str(p)
    except Exception as exc:
        raise _explain(p, exc) from exc
    _raise_on_eof(p, caught)
    _validate(p, ds, forced)
    deflated = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "")) in _DEFLATED
    if not deflated:
        _check_complete(p, ds, size=size, end_pos=end_pos, stopped=bool(hit), all_tags=tags is None)
    if hit:
        _tag, offset, length = hit[0]
        if not deflated and length != 0xFFFFFFFF and offset + length > size:
            raise DicomReadError(
                p, f"truncated: pixel data needs {length} bytes, the file holds {max(size - offset, 0)}"
            )
    return ds, bool(hit)


def _check_complete(p: Path, ds: Dataset, *, size: int, end_pos: int, stopped: bool, all_tags: bool) -> None:
    """Raise if the top-level dataset ends before its last element does."""
    if end_pos > size:  # a skipped value was "read" past the end
        raise DicomReadError(p, "truncated: the file ends inside a data element")
    last_end = 0
    for elem in ds._dict.values():
        if not isinstance(elem, RawDataElement) or elem.length == 0xFFFFFFFF:
            continue
        if elem.value is not None and len(elem.value) < elem.length:
            raise DicomReadError(
                p,
                f"truncated: element {elem.tag} needs {elem.length} bytes, the file holds {len(elem.value)}",
            )
        last_end = max(last_end, elem.value_tell + elem.length)
    if stopped or not all_tags or last_end == 0:
        return  # the last element is not known (pixels follow, or elements were skipped)
    leftover = size - last_end
    if 0 < leftover < 8:
        raise DicomReadError(p, f"truncated: {leftover} stray bytes after the last complete element")


def read_partial_header(
    path: str | os.PathLike[str],
    *,
    specific_tags: Iterable[int] | None = None,
) -> tuple[FileDataset, bool]:
    """Read the header up to pixel data; return it and whether a pixel data element follows.

    ``specific_tags`` limits which elements are kept (sequences not asked for are skipped, which
    matters for enhanced multi-frame headers with thousands of functional-group items).
    """
    return _parse(Path(path), stop_at_pixels=True, specific_tags=specific_tags)


_DEFLATED = frozenset({"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1"})


def _raise_on_eof(path: Path, caught: list[warnings.WarningMessage]) -> None:
    """pydicom only *warns* when a file ends inside a sequence; for us that is a truncated file."""
    for w in caught:
        text = str(w.message)
        low = text.lower()
        if (
            "end of file" in low
            or re.search(r"\beof\b", low)
            or ("expected" in low and "bytes" in low and "got" in low)
        ):
            raise DicomReadError(path, f"truncated: {text.split(' in file ')[0]}")


def read_header(path: str | os.PathLike[str]) -> FileDataset:
    """The dataset without its pixel data (fast; safe for huge multi-frame files)."""
    return read_partial_header(path)[0]


def read_dataset(
    path: str | os.PathLike[str],
    *,
    defer_size: int | str | None = None,
    data: bytes | None = None,
) -> FileDataset:
    """The complete dataset including pixel data.

    ``defer_size`` (e.g. ``"1 MB"``) leaves large values on disk until they are accessed; the
    file must then stay in place while the dataset is in use. ``data``: the file's bytes, already
    read by the caller (the export hashes them too), parsed exactly as the file would be.
    """
    p = Path(path)
    ds, _ = _parse(p, stop_at_pixels=False, defer_size=None if data is not None else defer_size, data=data)
    _check_native_length(p, ds)
    return ds


def _raw_us(ds: Dataset, tag: int) -> int | None:
    elem = ds._dict.get(tag)
    if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes) and len(elem.value) == 2:
        return int.from_bytes(elem.value, "little" if elem.is_little_endian else "big")
    return None


def _native_length_fast(ds: Dataset) -> tuple[int, int] | None:
    """(pixel bytes held, bytes needed) from raw elements, or None when pydicom must work it out.

    Why: this check runs on every exported file, and decoding six attributes through pydicom to
    multiply them cost more than the rest of the read's checks. Only the plain case is done here
    (whole-byte samples, no YBR_FULL_422 subsampling, frame count as plain digits).
    """
    pix = ds._dict.get(0x7FE00010)
    if not isinstance(pix, RawDataElement) or not isinstance(pix.value, bytes):
        return None
    dims = [_raw_us(ds, t) for t in (0x00280010, 0x00280011, 0x00280100, 0x00280002)]
    if any(d is None for d in dims):
        return None
    rows, cols, bits, samples = dims  # type: ignore[misc]
    if bits % 8 or not bits:
        return None
    photometric = ds._dict.get(0x00280004)
    if (
        not isinstance(photometric, RawDataElement)
        or not isinstance(photometric.value, bytes)
        or photometric.value.strip(b" \0").startswith(b"YBR_FULL_422")
    ):
        return None
    frames = 1
    nf = ds._dict.get(0x00280008)
    if nf is not None:
        if not isinstance(nf, RawDataElement) or not isinstance(nf.value, bytes):
            return None
        text = nf.value.strip(b" \0")
        if not text.isdigit():
            return None
        frames = int(text) or 1
    return len(pix.value), rows * cols * frames * samples * bits // 8


def _check_native_length(path: Path, ds: Dataset) -> None:
    """A native (uncompressed) Pixel Data value shorter than Rows x Columns x … is a truncated file."""
    tsyntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if tsyntax is not None and tsyntax.is_compressed:
        return
    fast = _native_length_fast(ds)
    if fast is not None:
        held, expected = fast
    else:
        elem = ds.get("PixelData", None) if "PixelData" in ds else None
        if elem is None or not isinstance(elem, bytes):
            return
        try:
            from pydicom.pixels.utils import get_expected_length

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                held, expected = len(elem), int(get_expected_length(ds))
        except Exception:  # noqa: BLE001 - incomplete pixel description: the decoder will say why
            return
    if held < expected:
        raise DicomReadError(path, f"truncated: pixel data needs {expected} bytes, the file holds {held}")


_D = TypeVar("_D")
_R = TypeVar("_R")


def safe_value(
    ds: Dataset, keyword: str, default: _D = "", convert: Callable[[object], _R] = str  # type: ignore[assignment]
) -> _D | _R:
    """``ds.<keyword>`` converted, or ``default`` when missing, empty or not convertible.

    Why: headers in the wild carry invalid values (an IS of "1.0", a multi-valued UID); one bad
    value must not make a whole file unreadable for listing purposes.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = ds.get(keyword, None)
            if value is None or value == "":
                return default
            if isinstance(value, pydicom.multival.MultiValue):
                if len(value) == 0:
                    return default
                if keyword in _JOIN and convert is str:
                    return "\\".join(str(v) for v in value)
                value = value[0]
            return convert(value)
    except Exception:  # noqa: BLE001 - a malformed value reads as the default
        return default


_JOIN = frozenset({"ImageType"})
