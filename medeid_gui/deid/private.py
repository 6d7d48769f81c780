"""Private attributes: removed, except an allowlist under the Retain Safe Private Option.

Why creator + group + element byte + VR: a private element number means nothing without the
private creator that reserved its block (the same (0019,xx0C) is a b value under "SIEMENS MR
HEADER" and anything at all under another creator), and the VR is the check that the bytes are
what the allowlist says they are. In implicit-VR files private values arrive as raw bytes (VR UN);
such a value is kept only if the bytes decode as the listed VR — text that merely *looks* like a
number is not enough to trust an unknown block.
"""

from __future__ import annotations

import functools
import json
import struct
from dataclasses import dataclass
from pathlib import Path

from medeid_gui._resources import resource

SAFE_PRIVATE_FILE = "safe_private.json"


@dataclass(frozen=True)
class SafePrivate:
    creator: str
    group: int
    element: int  #: 0x00-0xFF, the element within the creator's block
    vr: str
    name: str
    source: str


class SafePrivateList:
    """Lookup ``(group, creator, element byte) -> SafePrivate``."""

    def __init__(self, entries: list[SafePrivate], path: Path | None = None) -> None:
        self.entries = entries
        self.path = path
        self._by_key = {(e.group, e.creator.strip().upper(), e.element): e for e in entries}

    def lookup(self, group: int, creator: str, element: int) -> SafePrivate | None:
        return self._by_key.get((group, creator.strip().upper(), element & 0xFF))

    def __len__(self) -> int:
        return len(self.entries)


def _parse_entry(raw: dict, where: str) -> SafePrivate:
    try:
        group = int(str(raw["group"]), 16)
        element = int(str(raw["element"]), 16)
        creator = str(raw["creator"])
        vr = str(raw["vr"]).upper()
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{where}: needs creator, group (hex), element (hex), vr: {exc}") from None
    if not group & 1:
        raise ValueError(f"{where}: group {group:04X} is not a private (odd) group")
    if not 0 <= element <= 0xFF:
        raise ValueError(f"{where}: element is the last two hex digits (00-FF), got {raw['element']}")
    if len(vr) != 2 or not vr.isalpha():
        raise ValueError(f"{where}: bad VR {vr!r}")
    return SafePrivate(creator, group, element, vr, str(raw.get("name", "")), str(raw.get("source", "")))


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
