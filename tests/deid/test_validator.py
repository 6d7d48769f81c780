"""dciodvfy finds no error in a de-identified file that the input did not already have.

"Already had" means: dciodvfy reports it for the input file, or for a plain pydicom read+write
copy of it (errors that pydicom's writer introduces are not the engine's). Error lines are
compared with their values masked. Inputs that dciodvfy cannot even parse as an IOD instance
(truncated files, tags out of order) and DICOMDIRs are skipped: there is nothing to compare.

Basic Profile over every decodable corpus file; the other presets and "every option" over one
file per SOP class, so every modality present is covered without tripling the run time.
"""

from __future__ import annotations

from pathlib import Path

import corpora
import pydicom
import pytest
from deid_helpers import (
    DCIODVFY,
    TEST_KEY,
    is_dicomdir,
    plain_copy_ok,
    structurally_broken,
    validator_errors,
)

from medeid_gui.deid.engine import DeidConfig, Deidentifier
from medeid_gui.deid.keys import ProjectKey
from medeid_gui.deid.options import Option

pytestmark = [
    pytest.mark.validator,
    pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (dicom3tools) not installed"),
]

FILES = corpora.all_corpus_files()


def _one_per_sop_class() -> list[Path]:
    seen: dict[str, Path] = {}
    for p in FILES:
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["SOPClassUID"])
        except Exception:
            continue
        sop = str(ds.get("SOPClassUID", "") or "")
        if sop and sop not in seen:
            seen[sop] = p
    return sorted(seen.values())


CONFIGS = {
    "basic": DeidConfig(),
    "research": DeidConfig(profile="research"),
    "research-clean": DeidConfig(profile="research-clean"),
    "all-retain": DeidConfig(options=frozenset(set(Option) - {Option.RETAIN_LONGITUDINAL_FULL_DATES})),
}


def _check(config: DeidConfig, path: Path, tmp: Path) -> None:
    if not plain_copy_ok(path):
        pytest.skip("not decodable by pydicom")
    ds = pydicom.dcmread(path)
    if is_dicomdir(ds):
        pytest.skip("DICOMDIR")
    before = validator_errors(str(path))
    if structurally_broken(before):
        pytest.skip("dciodvfy cannot parse the input as an IOD instance")
    copy_path = tmp / "copy.dcm"
    pydicom.dcmread(path).save_as(copy_path, enforce_file_format=False)
    before |= validator_errors(str(copy_path))
    Deidentifier(config, ProjectKey(TEST_KEY)).deidentify(ds)
    out = tmp / "out.dcm"
    ds.save_as(out, enforce_file_format=False)
    pydicom.dcmread(out)
    new = validator_errors(str(out)) - before
    assert not new, sorted(new)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_basic_profile_adds_no_validator_error(path: Path, tmp_path: Path) -> None:
    _check(CONFIGS["basic"], path, tmp_path)


@pytest.mark.parametrize("config", ["research", "research-clean", "all-retain"])
@pytest.mark.parametrize("path", _one_per_sop_class(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_presets_add_no_validator_error(config: str, path: Path, tmp_path: Path) -> None:
    _check(CONFIGS[config], path, tmp_path)
