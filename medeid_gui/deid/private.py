"""Private attributes: removed, except an allowlist under the Retain Safe Private Option.

Why creator + group + element byte + VR: a private element number means nothing without the
private creator that reserved its block (the same (0019,xx0C) is a b value under "SIEMENS MR
HEADER" and anything at all under another creator), and the VR is the check that the bytes are
what the allowlist says they are. In implicit-VR files private values arrive as raw bytes (VR UN);
such a value is kept only if the bytes decode as a listed VR — text that merely *looks* like a
number is not enough to trust an unknown block.

The shipped list is DICOM PS3.15 Table E.3.10-1 (edition 2026d). The table gives some VRs as
alternatives ("OW/OB": either is kept) and some not at all; :meth:`SafePrivate.accepts` is the one
place that decides, per element, what its VR and value allow:

* listed VRs: an element whose explicit VR is one of them is kept;
* no VR listed: kept only when the file itself declares a VR (explicit VR, not UN — and not PN);
* raw bytes (VR UN): kept only when they fit one of the listed VRs (:func:`raw_bytes_fit`), which
  is possible for numbers and code strings only. OB, OW and the other binary VRs — and text VRs —
  cannot be checked, so such UN values are never kept, and neither are UN values of an entry
  without a VR;
* SQ and UI are never kept, even when listed: the engine keeps a private element whole, so the
  items of a kept private sequence would not be de-identified, and a kept UID would carry the
  original UID past UID replacement.
"""

from __future__ import annotations

import functools
import json
import struct
from dataclasses import dataclass
from pathlib import Path

from medeid_gui._resources import resource

SAFE_PRIVATE_FILE = "safe_private.json"


#: VRs never kept, whatever the list says (see the module docstring).
NEVER_KEPT_VRS = frozenset({"SQ", "UI"})
#: For an entry without a VR: declared VRs that still do not count (nothing declared, or a name).
_NO_VR_REFUSED = frozenset({"UN", "PN"})


def _split_vrs(vr: object) -> frozenset[str]:
    """``"OW/OB"`` / ``["OW", "OB"]`` / ``"DS"`` / ``""`` -> upper-case VRs (empty: none given)."""
    if isinstance(vr, str):
        parts = vr.split("/")
    elif isinstance(vr, (list, tuple, set, frozenset)):
        parts = [str(v) for v in vr]
    else:
        parts = [str(vr)]
    return frozenset(p.strip().upper() for p in parts if p.strip())


@dataclass(frozen=True)
class SafePrivate:
    """One allowlisted private attribute; it applies only under its private creator.

    ``vrs`` holds the VRs the list gives (one, several alternatives such as OB/OW, or none).
    A string or list passed for ``vrs`` is split like the JSON field ("OW/OB").
    """

    creator: str
    group: int
    element: int  #: 0x00-0xFF, the element within the creator's block
    vrs: frozenset[str]
    name: str
    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.vrs, frozenset):
            object.__setattr__(self, "vrs", _split_vrs(self.vrs))

    @property
    def vr(self) -> str:
        """The one VR an element must have, for callers that compare a single VR.

        ``""`` — which no element VR equals — when the entry lists alternatives, no VR, or only a
        VR that is never kept (SQ, UI): such callers then keep nothing, the safe side. Use
        :meth:`accepts`, which handles every case.
        """
        if len(self.vrs) == 1:
            (only,) = self.vrs
            if only not in NEVER_KEPT_VRS:
                return only
        return ""

    @property
    def vr_text(self) -> str:
        """The VRs as the list writes them ("OB/OW"; "" when none is given)."""
        return "/".join(sorted(self.vrs))

    def accepts(self, vr: str | None, value: object) -> bool:
        """May an element of this entry with VR ``vr`` and value ``value`` be kept?

        * ``vr`` is one of the listed VRs: yes — except SQ and UI, never kept (a kept private
          sequence is not walked, so its items would not be de-identified; a UID would survive
          UID replacement).
        * The entry lists no VR: only when the file itself declares a VR, i.e. ``vr`` is not
          UN (nor PN, SQ or UI). Raw bytes under an entry without a VR are never kept.
        * ``vr`` is UN (or None, or an undecided "OB or OW": implicit VR, raw bytes): only when
          ``value`` is bytes that fit at least one listed VR (:func:`raw_bytes_fit`). That check
          exists for numbers and code strings only; for OB, OW and the other binary VRs, and for
          text VRs, no check is possible, so such UN values are NOT kept.
        """
        declared = (vr or "UN").upper()
        if " OR " in declared:  # pydicom's "OB or OW", "US or SS": a guess, not the file's VR
            declared = "UN"
        if declared in NEVER_KEPT_VRS:
            return False
        if declared == "UN":
            if not isinstance(value, (bytes, bytearray)):
                return False
            data = bytes(value)
            return any(raw_bytes_fit(v, data) for v in sorted(self.vrs - NEVER_KEPT_VRS))
        if not self.vrs:
            return declared not in _NO_VR_REFUSED
        return declared in self.vrs


def _merge(a: SafePrivate, b: SafePrivate) -> SafePrivate:
    """Two entries for one creator + group + element: one entry allowing the VRs of both.

    An entry without a VR allows any declared VR; merged with one that lists VRs, the listed
    ones win (the narrower reading).
    """
    names = [n for n in dict.fromkeys((a.name, b.name)) if n]
    sources = [s for s in dict.fromkeys((a.source, b.source)) if s]
    return SafePrivate(a.creator, a.group, a.element, a.vrs | b.vrs,
                       " / ".join(names), "; ".join(sources))


class SafePrivateList:
    """Lookup ``(group, creator, element byte) -> SafePrivate``.

    Entries with the same key (creator compared without case and surrounding spaces) are merged
    into one (:func:`_merge`); ``entries`` and ``len()`` count the merged entries.
    """

    def __init__(self, entries: list[SafePrivate], path: Path | None = None) -> None:
        self.path = path
        by_key: dict[tuple[int, str, int], SafePrivate] = {}
        for e in entries:
            key = (e.group, e.creator.strip().upper(), e.element)
            prev = by_key.get(key)
            by_key[key] = e if prev is None else _merge(prev, e)
        self._by_key = by_key
        self.entries = list(by_key.values())

    def lookup(self, group: int, creator: str, element: int) -> SafePrivate | None:
        return self._by_key.get((group, creator.strip().upper(), element & 0xFF))

    def __len__(self) -> int:
        return len(self.entries)


def _parse_entry(raw: dict, where: str) -> SafePrivate:
    try:
        group = int(str(raw["group"]), 16)
        element = int(str(raw["element"]), 16)
        creator = str(raw["creator"])
        vr_field = raw["vr"]
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{where}: needs creator, group (hex), element (hex), vr: {exc}") from None
    if not group & 1:
        raise ValueError(f"{where}: group {group:04X} is not a private (odd) group")
    if not 0 <= element <= 0xFF:
        raise ValueError(f"{where}: element is the last two hex digits (00-FF), got {raw['element']}")
    if isinstance(vr_field, (list, tuple)):
        parts = [str(v).upper() for v in vr_field]
    else:
        text = str(vr_field).upper()
        parts = text.split("/") if text.strip() else []
    for vr in parts:  # "" = no VR given; "OW/OB" = alternatives
        if len(vr) != 2 or not vr.isalpha():
            raise ValueError(f"{where}: bad VR {vr!r}")
    return SafePrivate(creator, group, element, frozenset(parts), str(raw.get("name", "")),
                       str(raw.get("source", "")))


def load_safe_private(path: str | None = None) -> SafePrivateList:
    """Read the allowlist (JSON ``{"entries": [...]}``); errors name the file and the entry.

    Cached per file *and modification time*: a user who edits the list sees the change at the
    next export without restarting the application.
    """
    p = Path(path) if path else resource("private", SAFE_PRIVATE_FILE)
    try:
        mtime = p.stat().st_mtime_ns
    except OSError:
        mtime = -1
    return _load(str(p), mtime)


@functools.lru_cache(maxsize=8)
def _load(path: str, _mtime: int) -> SafePrivateList:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"safe private allowlist not found: {p}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"safe private allowlist {p} is not valid JSON: {exc}") from None
    entries = [_parse_entry(e, f"{p} entry {i}") for i, e in enumerate(data.get("entries", []))]
    return SafePrivateList(entries, p)


_STRUCT = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d"}


def raw_bytes_fit(vr: str, data: bytes, little_endian: bool = True) -> bool:
    """Do raw (UN) bytes plausibly encode a value of ``vr``? Numbers and code strings only.

    Binary numbers cannot be verified, only refuted: wrong length, or bytes that spell words.
    Every other VR — OB, OW and the other binary VRs, text VRs, SQ, UI, AT — answers False: there
    is nothing to check the bytes against, so raw bytes of such an entry are not kept.
    """
    if vr in _STRUCT:
        size = struct.calcsize(_STRUCT[vr])
        if not data or len(data) % size:
            return False
        # any even byte count "fits" US; bytes that read as words are text, not numbers
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            return True
        return not (text.strip(" \0").isprintable() and any(c.isalpha() for c in text))
    if vr in ("IS", "DS"):
        try:
            text = data.decode("ascii").strip(" \0")
        except UnicodeDecodeError:
            return False
        ok = "0123456789+-.eE\\ " if vr == "DS" else "0123456789+-\\ "
        return bool(text) and all(c in ok for c in text)
    if vr == "CS":
        try:
            text = data.decode("ascii").strip(" \0")
        except UnicodeDecodeError:
            return False
        return all(c.isupper() or c.isdigit() or c in " _\\" for c in text)
    return False
