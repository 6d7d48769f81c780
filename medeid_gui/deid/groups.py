"""Whole groups the table names by pattern, or not at all: private blocks, overlays and curves.

Why together: these are decided per group, not per attribute. Private attributes (odd groups)
are removed unless the Retain Safe Private allowlist keeps them under their private creator; an
Overlay Plane loses all its attributes with its data (it is not conformant without them);
retired curve groups (50xx) are removed whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from medeid_gui.deid.actions import tag_str
from medeid_gui.deid.private import SafePrivate, SafePrivateList

if TYPE_CHECKING:
    from medeid_gui.deid.walk import Run


def remove_curve(run: Run, ds: Dataset, tag: int, prefix: str) -> None:
    """(50xx,xxxx): retired curve data, removed whatever option is chosen."""
    rule = run.eng.patterns.get("50xxxxxx")
    old = run.take(ds, tag)
    reason = "Basic Profile: X (curve data group, (50xx,xxxx))"
    if rule is not None and rule.action == "C":
        reason = "Clean Graphics: retired curve data cannot be cleaned here; removed"
    run.record(prefix + tag_str(tag), tag, "X", reason, old, "")


def remove_overlays(run: Run, ds: Dataset, groups: list[int], prefix: str) -> None:
    """Every attribute of the overlay groups ``groups`` (the header engine cannot clean a bitmap)."""
    data_rule = run.eng.patterns.get("60xx3000")
    clean = data_rule is not None and data_rule.action == "C"
    for g in groups:
        tags = [t for t in ds.keys() if t >> 16 == g]
        has_data = (g << 16 | 0x3000) in tags
        for t in tags:
            el = t & 0xFFFF
            if el == 0x3000:
                reason = ("Clean Graphics: an overlay bitmap cannot be cleaned by the header "
                          "engine; removed" if clean else "Basic Profile: X (Overlay Data)")
            elif el == 0x4000:
                reason = "Basic Profile: X (Overlay Comments)" if not clean else (
                    "Clean Graphics: removed with its overlay")
            elif has_data:
                reason = "rest of the Overlay Plane removed with its Overlay Data (not conformant without it)"
            else:
                reason = "overlay plane (data in pixel bits) removed: its content cannot be checked"
            old = run.take(ds, t)
            run.record(prefix + tag_str(t), t, "X", reason, old, "")


def handle_privates(run: Run, ds: Dataset, tags: list[int], prefix: str) -> None:
    """Keep the allowlisted private attributes (and their creators), remove every other one."""
    allow: SafePrivateList | None = run.eng.safe_private
    keep = _kept_privates(run, ds, tags, prefix, allow) if allow is not None else set()
    for t in tags:
        if t in keep:
            continue
        old = run.take(ds, t)
        reason = ("private attribute (odd group): X" if allow is None else
                  "private attribute not on the safe allowlist: X")
        run.record(prefix + tag_str(t), t, "X", reason, old, "",
                   keyword="", name="Private Creator" if (t & 0xFFFF) <= 0xFF else "Private attribute")


def _creators(ds: Dataset, tags: list[int]) -> dict[int, str]:
    """Private creator tag -> creator name, for the (gggg,0010-00FF) elements among ``tags``."""
    creators: dict[int, str] = {}
    for t in tags:
        if 0x10 <= (t & 0xFFFF) <= 0xFF:
            v = ds[t].value
            if isinstance(v, bytes):
                v = v.decode("latin-1")
            creators[t] = str(v or "").strip(" \0")
    return creators


def _kept_privates(run: Run, ds: Dataset, tags: list[int], prefix: str,
                   allow: SafePrivateList) -> set[int]:
    """Tags the allowlist keeps (each with its creator), each recorded as K."""
    implicit_source = bool((getattr(ds, "original_encoding", None) or (None,))[0])
    creators = _creators(ds, tags)
    keep: set[int] = set()
    for t in tags:
        el = t & 0xFFFF
        if el < 0x1000:
            continue
        ctag = (t & 0xFFFF0000) | (el >> 8)
        creator = creators.get(ctag)
        if creator is None:
            continue
        entry = allow.lookup(t >> 16, creator, el)
        if entry is None:
            continue
        checked = _checkable_value(ds, t, implicit_source)
        if checked is None:
            continue  # decoded already, its bytes no longer checkable: removed
        vr, value = checked
        if entry.accepts(vr, value):
            keep.add(t)
            keep.add(ctag)
            _record_kept(run, prefix, t, creator, entry, value)
    return keep


def _checkable_value(ds: Dataset, tag: int, implicit_source: bool) -> tuple[str, object] | None:
    """(VR, value) to test against the allowlist; None when the value cannot be checked."""
    raw = ds.get_item(tag)
    if isinstance(raw, RawDataElement) and (raw.VR in (None, "UN") or raw.is_implicit_VR):
        # implicit VR or UN: the file declares no VR (pydicom would guess one from its
        # own vendor dictionary); only the bytes themselves can show they fit the entry
        return "UN", raw.value
    if implicit_source:
        return None
    elem = ds[tag]
    return elem.VR, elem.value


def _record_kept(run: Run, prefix: str, tag: int, creator: str, entry: SafePrivate,
                 value: object) -> None:
    run.record(prefix + tag_str(tag), tag, "K",
               f"Retain Safe Private: {creator} {entry.name} ({entry.source})",
               value, value, keyword="", name=entry.name)
