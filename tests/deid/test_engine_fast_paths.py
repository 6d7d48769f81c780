"""The engine's raw-byte shortcuts change nothing: same output bytes, same linkage, same decisions."""

from __future__ import annotations

import warnings

import corpora
import pytest

from medeid_gui.deid import rawvalues
from medeid_gui.deid.engine import DeidConfig, Deidentifier
from medeid_gui.deid.keys import ProjectKey
from medeid_gui.deid.options import Option
from medeid_gui.dicom.read import read_dataset
from medeid_gui.export.serialize import to_bytes

KEY = ProjectKey.generate()
CONFIGS = [
    DeidConfig(),
    DeidConfig(profile="research"),
    # every other option at once (full and modified dates exclude each other; retain-uids
    # would keep the UIDs this shortcut maps)
    DeidConfig(options=frozenset(Option) - {Option.RETAIN_LONGITUDINAL_FULL_DATES, Option.RETAIN_UIDS}),
]


def _run(path, deid: Deidentifier, fast: bool):
    rawvalues.RAW_FAST = fast
    try:
        ds = read_dataset(path)
        res = deid.deidentify(ds)
        return to_bytes(res.dataset), res.linkage, [(a.path, a.action) for a in res.actions]
    finally:
        rawvalues.RAW_FAST = True


@pytest.mark.parametrize("cfg", CONFIGS, ids=["basic", "research", "all-options"])
def test_raw_shortcuts_give_identical_results_on_every_corpus_file(cfg: DeidConfig) -> None:
    deid = Deidentifier(cfg, KEY)
    compared = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in corpora.all_corpus_files():
            try:
                slow = _run(path, deid, fast=False)
            except Exception:
                continue
            assert _run(path, deid, fast=True) == slow, path
            compared += 1
    assert compared > 200
