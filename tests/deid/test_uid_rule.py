"""Issue #19: every UID leaves as its keyed pseudonym unless it names a definition.

Over the corpora (pydicom's test files, pydicom-data, deid-data and a generated demo cohort):
no original UID outside the exceptions occurs anywhere in an output's UI values, every original
UID maps to one pseudonym across all files (so references resolve), and Retain UIDs keeps every
UID as it was. The exceptions are re-derived here from the keywords, not taken from the engine.
"""

from __future__ import annotations

import io
import warnings
from collections import defaultdict
from pathlib import Path

import corpora
import pydicom
import pytest
from deid_helpers import TEST_KEY, is_dicomdir, plain_copy_ok, table
from pydicom.data import get_testdata_file
from pydicom.dataelem import DataElement
from pydicom.uid import UID_dictionary

from medeid_gui.deid import uid_rule
from medeid_gui.deid.engine import DeidConfig, Deidentifier
from medeid_gui.deid.keys import ProjectKey
from medeid_gui.deid.options import Option

_DEF_SUFFIXES = ("ClassUID", "ClassUIDInFile", "TransferSyntaxUID", "TransferSyntaxUIDInFile")
_DEF_EXACT = {"CodingSchemeUID", "ContextUID", "MappingResourceUID", "SegmentationTemplateUID"}


def _exempt_attribute(tag: int, keyword: str) -> bool:
    if tag in table():
        return False  # rows of Table E.1-1 keep their own action
    return keyword.endswith(_DEF_SUFFIXES) or "SOPClasses" in keyword or keyword in _DEF_EXACT


def _registered(uid: str) -> bool:
    return uid in UID_dictionary or uid.startswith("1.2.840.10008.")


def _uids(ds: pydicom.Dataset, prefix: str = ""):
    """(path, tag, keyword, uid) for every UI value at every depth, file meta included."""
    elems = list(ds.file_meta) if prefix == "" and hasattr(ds, "file_meta") else []
    for elem in elems + list(ds):
        kw = elem.keyword or f"{int(elem.tag):08X}"
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value or ()):
                yield from _uids(item, f"{prefix}{kw}[{i}].")
        elif elem.VR == "UI" and elem.value:
            vals = elem.value if isinstance(elem.value, (list, pydicom.multival.MultiValue)) else [elem.value]
            for v in vals:
                if str(v).strip(" \0"):
                    yield f"{prefix}{kw}", int(elem.tag), elem.keyword, str(v).strip(" \0")


def _roundtrip(deid: Deidentifier, path: Path) -> tuple[pydicom.Dataset, pydicom.Dataset]:
    original = pydicom.dcmread(path)
    work = pydicom.dcmread(path)
    deid.deidentify(work)
    buf = io.BytesIO()
    work.save_as(buf, enforce_file_format=False)
    return original, pydicom.dcmread(io.BytesIO(buf.getvalue()))


@pytest.fixture(scope="module")
def cohort_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ...]:
    from medeid_gui.lab.cohort import CohortConfig, generate_cohort

    root = tmp_path_factory.mktemp("cohort")
    generate_cohort(root, CohortConfig(patients=3, studies_per_patient=2, size=64, seed=3))
    return tuple(sorted(root.rglob("*.dcm")))


def _files(cohort: tuple[Path, ...]) -> list[Path]:
    files = [p for p in corpora.all_corpus_files() + cohort if plain_copy_ok(p)]
    assert len(files) > 200
    return files


def test_no_original_uid_outside_the_exceptions_survives(cohort_files: tuple[Path, ...]) -> None:
    deid = Deidentifier(DeidConfig(), ProjectKey(TEST_KEY))
    mapping: dict[str, set[str]] = defaultdict(set)
    leaks = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in _files(cohort_files):
            original, out = _roundtrip(deid, path)
            if is_dicomdir(original):
                continue
            exempt = {u for _, tag, kw, u in _uids(original)
                      if _registered(u) or _exempt_attribute(tag, kw)}
            must_go = {u for _, tag, kw, u in _uids(original) if not tag >> 16 & 1} - exempt
            out_uids = {p: u for p, _, _, u in _uids(out)}
            leaks += [f"{path.name}: {p} kept {u}" for p, u in out_uids.items() if u in must_go]
            for p, _tag, _kw, u in _uids(original):
                if u in must_go and p in out_uids:
                    mapping[u].add(out_uids[p])
    assert not leaks, "\n".join(leaks[:20])
    several = {u: n for u, n in mapping.items() if len(n) > 1}
    assert not several, several  # one pseudonym per original: references still resolve
    assert len(mapping) > 200


def test_references_inside_sequences_resolve() -> None:
    """A reference inside a sequence to the file's own instance still names it after mapping."""
    deid = Deidentifier(DeidConfig(), ProjectKey(TEST_KEY))
    ds = pydicom.dcmread(get_testdata_file("emri_small.dcm"))
    item = pydicom.Dataset()
    item.ReferencedSOPClassUID = ds.SOPClassUID
    item.ReferencedSOPInstanceUID = ds.SOPInstanceUID
    item.add(DataElement(0x00089123, "UI", "1.2.826.0.1.3680043.2.1125.99"))  # nested, unlisted
    ds.ReferencedImageSequence = [item]
    ds.CreatorVersionUID = "1.2.826.0.1.3680043.2.1125.99"
    original_sop = ds.SOPInstanceUID
    deid.deidentify(ds)
    ref = ds.ReferencedImageSequence[0]
    assert ref.ReferencedSOPInstanceUID == ds.SOPInstanceUID != original_sop
    assert ref.ReferencedSOPClassUID == ds.SOPClassUID  # a class: kept
    assert ds.CreatorVersionUID == ref[0x00089123].value
    assert ds.CreatorVersionUID.startswith("2.25.")


def test_retain_uids_keeps_every_uid(cohort_files: tuple[Path, ...]) -> None:
    deid = Deidentifier(DeidConfig(options=frozenset({Option.RETAIN_UIDS})), ProjectKey(TEST_KEY))
    changed = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in _files(cohort_files)[::3]:
            original, out = _roundtrip(deid, path)
            before = {p: u for p, tag, _, u in _uids(original) if not tag >> 16 & 1}
            after = {p: u for p, _, _, u in _uids(out)}
            changed += [f"{path.name}: {p}" for p, u in before.items()
                        if p in after and after[p] != u and p != "ImplementationClassUID"]
    assert not changed, changed[:20]


def _enhanced_mr_with_creator_version(tmp_path: Path) -> Path:
    """A real enhanced MR file; (0008,9123) added if this copy of the test data lacks it."""
    ds = pydicom.dcmread(get_testdata_file("emri_small.dcm"))
    if "CreatorVersionUID" not in ds:
        ds.CreatorVersionUID = "1.3.46.670589.11.0.0.51.4.56.1"
    p = tmp_path / "emri.dcm"
    ds.save_as(p, enforce_file_format=False)
    return p


def test_creator_version_uid_replaced_and_explained(tmp_path: Path) -> None:
    path = _enhanced_mr_with_creator_version(tmp_path)
    original = pydicom.dcmread(path).CreatorVersionUID
    deid = Deidentifier(DeidConfig(), ProjectKey(TEST_KEY))
    actions = deid.describe(pydicom.dcmread(path), list_kept=True)
    row = next(a for a in actions if a.tag == "(0008,9123)")
    assert row.action == "U" and row.old == original and row.new.startswith("2.25.")
    assert "not in Table E.1-1" in row.reason and "UID rule" in row.reason
    sop_class = next(a for a in actions if a.path == "SOPClassUID")
    assert sop_class.action == "K" and "names a class" in sop_class.reason
    kept = Deidentifier(DeidConfig(options=frozenset({Option.RETAIN_UIDS})), ProjectKey(TEST_KEY))
    ds = pydicom.dcmread(path)
    kept.deidentify(ds)
    assert ds.CreatorVersionUID == original


def test_list_kept_lists_every_element(tmp_path: Path) -> None:
    """With ``list_kept`` every element of the input, at every depth, has a decision."""
    path = _enhanced_mr_with_creator_version(tmp_path)
    ds = pydicom.dcmread(path)
    deid = Deidentifier(DeidConfig(), ProjectKey(TEST_KEY))
    tags_in = {f"({int(e.tag) >> 16:04X},{int(e.tag) & 0xFFFF:04X})" for e in ds.iterall()}
    tags_in |= {f"({int(e.tag) >> 16:04X},{int(e.tag) & 0xFFFF:04X})" for e in ds.file_meta}
    listed = {a.tag for a in deid.describe(ds, list_kept=True)}
    assert tags_in <= listed, sorted(tags_in - listed)
    assert len(deid.describe(ds)) < len(deid.describe(ds, list_kept=True))


def test_rule_is_stated_in_one_place() -> None:
    text = "\n".join(uid_rule.explain())
    for word in ("ClassUID", "TransferSyntaxUID", "CodingSchemeUID", "1.2.840.10008.", "Retain UIDs"):
        assert word in text
    assert uid_rule.keeps_attribute(0x00080016) and not uid_rule.keeps_attribute(0x00089123)
    ps = ProjectKey(TEST_KEY)
    from medeid_gui.deid.pseudonyms import Pseudonymizer

    uid = Pseudonymizer(ps).uid
    assert uid_rule.map_uid("1.2.840.10008.5.1.4.1.1.4.1", uid) == "1.2.840.10008.5.1.4.1.1.4.1"
    assert uid_rule.map_uid("1.2.3.4.5", uid) == uid("1.2.3.4.5") != "1.2.3.4.5"
    assert uid_rule.map_uids(["1.2.3", ""], uid) == [uid("1.2.3"), ""]
