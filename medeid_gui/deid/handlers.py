"""One handler per action of PS3.15 Table E.1-1 (X, K, Z, D, U/U*, C), each with its fast path.

Why one handler per action: each action needs different things from the old value — X and K
nothing, Z only the VR, U only the UIDs (readable from raw bytes), D and C the decoded value —
so each handler decodes only as much as its action needs. ``apply`` first resolves a compound
action (X/Z, X/D, X/Z/D, Z/D, X/Z/U*) by the attribute's Type in this file's IOD (iod_types.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydicom.config import IGNORE as NO_CHECK
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from medeid_gui.deid import rawvalues
from medeid_gui.deid.actions import tag_str
from medeid_gui.deid.iod_types import GUARDED_X, attribute_type, resolve_compound
from medeid_gui.deid.profile import Rule
from medeid_gui.deid.value_rules import PSEUDONYM_TAGS, REMOVE, clean, dummy, map_uids, pseudonym
from medeid_gui.deid.values import dummy_for

if TYPE_CHECKING:
    from medeid_gui.deid.walk import Run

#: VRs whose value can be written from nothing (no " or " alternatives, not a sequence)
_SIMPLE_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST",
                         "TM", "UC", "UI", "UR", "UT", "US", "SS", "UL", "SL", "FL", "FD", "OB",
                         "OW", "OF", "OD", "OL", "UN", "AT", "SV", "UV"})
_EMPTY_STR_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST",
                            "TM", "UC", "UI", "UR", "UT"})


@dataclass(slots=True)
class Step:
    """One table row applied to one element: where it is and why the action is what it is."""

    ds: Dataset
    tag: int
    rule: Rule
    path: str
    reason: str
    depth: int
    mode: str  #: "" normally, "D"/"C" inside a sequence kept as dummy / cleaned

    def record(self, run: Run, act: str, reason: str, old: object, new: object) -> None:
        run.record(self.path, self.tag, act, reason, old, new, self.rule.keyword, self.rule.name)


def resolve(run: Run, tag: int, rule: Rule, depth: int) -> tuple[str, str]:
    """(single action, reason): compound actions and guarded X resolved by Type in this IOD."""
    act = rule.action
    reason = f"{rule.source}: {act}"
    if "/" in act:
        if act == "X/Z/U*":
            act = "U*"
            reason += " -> U* (reference sequence kept, contained UIDs replaced)"
        else:
            t = attribute_type(tag, run.ctx, depth)
            chosen = resolve_compound(act, t)
            reason += f" -> {chosen} (Type {t if t < 3 else '3 or not required'} here)"
            act = chosen
    if act == "X" and tag in GUARDED_X:
        t = attribute_type(tag, run.ctx, depth)
        if t < 3:
            act = "Z" if t == 2 else "D"
            reason += f" -> {act}: Type {t} in this IOD, removal would break it"
    return act, reason


def apply(run: Run, ds: Dataset, tag: int, rule: Rule, prefix: str, depth: int, mode: str) -> None:
    """Apply the table row ``rule`` to ``ds[tag]``."""
    act, reason = resolve(run, tag, rule, depth)
    step = Step(ds, tag, rule, prefix + (rule.keyword or tag_str(tag)), reason, depth, mode)
    handler = HANDLERS.get(act)
    if handler is None:  # pragma: no cover - the profile builder rejects unknown codes
        raise ValueError(f"unknown action {act!r} for {tag_str(tag)}")
    handler(run, step, act)


def _simple_vr(step: Step) -> str | None:
    """The VR when the value can be kept or emptied without decoding it, else None."""
    if step.tag in PSEUDONYM_TAGS:
        return None  # their Z/D is a keyed pseudonym of the old value
    vr = rawvalues.vr_of(step.ds, step.tag)
    if vr == "UN":
        vr = rawvalues.DICT_VR.get(step.tag, "UN")
    return vr if vr != "SQ" and vr in _SIMPLE_VRS else None


def _records_keep(run: Run, step: Step) -> bool:
    """A K of the Basic Profile itself is only listed when every element is (``inspect``)."""
    return step.rule.source != "Basic Profile" or run.list_kept


def handle_x(run: Run, step: Step, act: str) -> None:
    old = run.take(step.ds, step.tag)
    step.record(run, "X", step.reason, old, "")


def handle_k(run: Run, step: Step, act: str) -> None:
    if _simple_vr(step) is not None:  # nothing to compute from the old value: not decoded
        if _records_keep(run, step):
            old = run.peek(step.ds, step.tag)
            step.record(run, "K", step.reason, old, old)
        return
    elem = step.ds[step.tag]
    if _records_keep(run, step):
        step.record(run, "K", step.reason, elem.value, elem.value)
    if elem.VR == "SQ":
        run.walk_items(elem, step.path, step.depth, step.mode)


def handle_z(run: Run, step: Step, act: str) -> None:
    vr = _simple_vr(step)
    if vr is not None:  # fast path: the old value is not needed, so it is not decoded
        old = run.peek(step.ds, step.tag)
        new_z: object = "" if vr in _EMPTY_STR_VRS else None
        step.ds[step.tag] = DataElement(step.tag, vr, new_z, validation_mode=NO_CHECK)
        step.record(run, "Z", step.reason, old, new_z)
        return
    elem = step.ds[step.tag]
    old = elem.value
    if elem.VR == "SQ":
        elem.value = Sequence()
        step.record(run, "Z", step.reason, old, elem.value)
        return
    if _pseudonym(run, step, elem, "Z"):
        return
    elem.value = "" if elem.VR in _EMPTY_STR_VRS else None
    step.record(run, "Z", step.reason, old, elem.value)


def handle_d(run: Run, step: Step, act: str) -> None:
    if _raw_uid(run, step, act):
        return
    elem = step.ds[step.tag]
    old = elem.value
    if elem.VR == "SQ":
        _sequence_items(run, step, elem, act, "D")
        return
    if _pseudonym(run, step, elem, "D"):
        return
    elem.value = dummy(run, elem, step.rule)
    step.record(run, "D", step.reason, old, elem.value)


def handle_u(run: Run, step: Step, act: str) -> None:
    """U, and U* (a reference sequence kept with its UIDs replaced)."""
    if _raw_uid(run, step, act):
        return
    elem = step.ds[step.tag]
    old = elem.value
    if elem.VR == "SQ":
        _sequence_items(run, step, elem, act, step.mode)
        return
    elem.value = map_uids(run, old) if elem.VR == "UI" else dummy_for(elem.VR)
    step.record(run, act, step.reason, old, elem.value)


def handle_c(run: Run, step: Step, act: str) -> None:
    elem = step.ds[step.tag]
    old = elem.value
    if elem.VR == "SQ":
        _sequence_items(run, step, elem, act, "C")
        return
    new, applied, why = clean(run, elem, step.rule)
    reason = f"{step.reason}; {why}" if why else step.reason
    if new is REMOVE:
        del step.ds[step.tag]
        step.record(run, "X", reason, old, "")
        return
    if new is not old:
        elem.value = new
    step.record(run, applied, reason, old, elem.value)


def _sequence_items(run: Run, step: Step, elem: DataElement, act: str, sub_mode: str) -> None:
    """D, C, U, U* on a sequence: keep the structure, treat every item by the table."""
    step.record(run, act, step.reason + " (items processed recursively)", elem.value, elem.value)
    run.walk_items(elem, step.path, step.depth, sub_mode)


def _pseudonym(run: Run, step: Step, elem: DataElement, act: str) -> bool:
    """Z/D of PatientID, PatientName, AccessionNumber, StudyID: a keyed pseudonym instead."""
    special = pseudonym(run, step.tag, elem.value, step.depth, act)
    if special is None:
        return False
    old = elem.value
    new, why = special
    elem.value = new
    step.record(run, "D" if new else "Z", f"{step.reason}; {why}", old, new)
    return True


def _raw_uid(run: Run, step: Step, act: str) -> bool:
    """U/D of a UID straight from its raw bytes (no pydicom decode and validation); False when
    the element is not a plain raw UI value (the general path then handles it)."""
    if not rawvalues.RAW_FAST:
        return False
    old = rawvalues.raw_uids(step.ds, step.tag)
    if old is None:
        return False
    new = map_uids(run, old)
    step.ds[step.tag] = DataElement(step.tag, "UI", new, validation_mode=NO_CHECK)
    step.record(run, act, step.reason, old, new)
    return True


HANDLERS: dict[str, Callable[[Run, Step, str], None]] = {
    "X": handle_x,
    "K": handle_k,
    "Z": handle_z,
    "D": handle_d,
    "U": handle_u,
    "U*": handle_u,
    "C": handle_c,
}
