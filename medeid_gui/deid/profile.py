"""PS3.15 Table E.1-1 as shipped in ``resources/profiles`` and compiled for one option set.

Why compile: the engine visits every element of every file; resolving "which option overrides
the Basic Profile action for this tag" once per configuration turns the per-element work into a
single dict lookup.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from medeid_gui._resources import resource
from medeid_gui.deid.options import Option

PROFILE_FILE = "ps3.15-2024b-e1-1.json"


@dataclass(frozen=True)
class Rule:
    """One row of the table, resolved for a set of options."""

    tag: int
    keyword: str
    name: str
    basic: str  #: Basic Profile action (possibly compound)
    action: str  #: action in force (possibly compound, resolved by Type at run time)
    source: str  #: "Basic Profile" or the option meaning that set ``action``


@dataclass(frozen=True)
class ProfileTable:
    revision: str
    standard: str
    attributes: tuple[dict, ...]
    patterns: dict[str, dict]  #: "50xxxxxx", "60xx3000", "60xx4000", "odd-group"

    def compile(self, options: frozenset[Option]) -> tuple[dict[int, Rule], dict[str, Rule]]:
        rules = {}
        for rec in self.attributes:
            tag = int(rec["id"], 16)
            rules[tag] = _resolve(tag, rec, options)
        pats = {key: _resolve(-1, rec, options) for key, rec in self.patterns.items()}
        return rules, pats


_PRECEDENCE = {"K": 0, "C": 1}


def _resolve(tag: int, rec: dict, options: frozenset[Option]) -> Rule:
    """Options only ever retain more: K beats C beats the Basic Profile action."""
    action, source = rec["basic"], "Basic Profile"
    best = None
    for opt in sorted(options, key=lambda o: o.value):
        act = rec["options"].get(opt.column)
        if act is None:
            continue
        rank = _PRECEDENCE.get(act, 2)
        if best is None or rank < best[0]:
            best = (rank, act, opt.meaning)
    if best is not None:
        action, source = best[1], best[2]
    return Rule(tag, rec.get("keyword", ""), rec["name"], rec["basic"], action, source)


@functools.lru_cache(maxsize=4)
def load_profile(path: str | None = None) -> ProfileTable:
    p = Path(path) if path else resource("profiles", PROFILE_FILE)
    data = json.loads(p.read_text(encoding="utf-8"))
    return ProfileTable(
        revision=data["revision"],
        standard=data["standard"],
        attributes=tuple(data["attributes"]),
        patterns={rec["pattern"]: rec for rec in data["patterns"]},
    )
