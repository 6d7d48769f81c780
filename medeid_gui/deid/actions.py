"""One recorded de-identification decision (what ``describe`` lists and the ledger stores)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

_MAX = 96


@dataclass(frozen=True)
class Action:
    """A decision about one attribute.

    ``path`` locates it (``ReferencedSeriesSequence[0].SeriesInstanceUID``; ``file_meta.`` for group
    0002), ``tag`` is ``(gggg,eeee)``, ``action`` is the single letter applied (D, Z, X, K, C, U,
    U* for a reference sequence kept with its UIDs replaced, or ``set`` for marking attributes),
    ``reason`` cites the table row / option / rule, ``old`` and ``new`` are short printable forms.
    """

    path: str
    tag: str
    keyword: str
    name: str
    action: str
    reason: str
    old: str = ""
    new: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def short(value: object) -> str:
    """Printable, bounded form of a value for reports (bytes and sequences summarised)."""
    if type(value) is str and len(value) <= _MAX and "\n" not in value and "\r" not in value:
        return value  # the common case, kept cheap: every removed attribute passes here
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if type(value).__name__ == "Sequence":
        return f"<sequence, {len(value)} item(s)>"  # type: ignore[arg-type]
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)  # type: ignore[union-attr]
    else:
        text = str(value)
    text = text.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


def tag_str(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
