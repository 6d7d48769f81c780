"""studies.group against the hierarchy a DICOMDIR itself records (an independent reference)."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pydicom
import pydicom.data

from medeid_gui.dicom.discover import discover
from medeid_gui.dicom.studies import group

DICOMDIR_TESTS = Path(pydicom.data.__file__).parent / "test_files" / "dicomdirtests"


def _hierarchy_from_dicomdir(path: Path) -> dict[str, dict[str, dict[str, int]]]:
    """patient id -> study uid -> series uid -> number of image records, walking the record tree."""
    from pydicom.fileset import FileSet

    fileset = FileSet(pydicom.dcmread(path))
    out: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for inst in fileset:  # each FileInstance sees the PATIENT/STUDY/SERIES records above it
        out[inst.PatientID][inst.StudyInstanceUID][inst.SeriesInstanceUID] += 1
    assert out
    return out


def test_grouping_matches_dicomdir(tmp_path: Path) -> None:
    root = tmp_path / "media"
    shutil.copytree(DICOMDIR_TESTS, root, ignore=shutil.ignore_patterns("TINY_ALPHA", "DICOMDIR-*"))
    expected = _hierarchy_from_dicomdir(root / "DICOMDIR")
    tree = group(discover(root).instances)
    got = {
        p.patient_id: {s.study_uid: {se.series_uid: se.n_instances for se in s.series} for s in p.studies}
        for p in tree
    }
    assert got == {k: {s: dict(v) for s, v in d.items()} for k, d in expected.items()}
    for p in tree:
        assert p.n_instances == sum(s.n_instances for s in p.studies)
        dates = [s.date for s in p.studies]
        assert dates == sorted(dates)
        for s in p.studies:
            nums = [se.series_number for se in s.series]
            assert nums == sorted(nums)
            assert s.modalities
            for se in s.series:
                inst = [i.instance_number for i in se.instances]
                assert inst == sorted(inst)
                assert all(i.series_uid == se.series_uid for i in se.instances)


def test_missing_uids_do_not_merge_files(tmp_path: Path) -> None:
    from pydicom.data import get_testdata_file

    for k in range(2):
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        del ds.StudyInstanceUID
        del ds.SeriesInstanceUID
        ds.SOPInstanceUID = f"1.2.3.{k}"
        ds.save_as(tmp_path / f"{k}.dcm")
    (patient,) = group(discover(tmp_path).instances)
    assert patient.n_studies == 2 and patient.n_instances == 2


def test_same_id_different_names_stay_apart(tmp_path: Path) -> None:
    from pydicom.data import get_testdata_file

    for k, name in enumerate(["Alpha^A", "Beta^B"]):
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        ds.PatientID = ""
        ds.PatientName = name
        ds.SOPInstanceUID = f"1.2.3.{k}"
        ds.save_as(tmp_path / f"{k}.dcm")
    tree = group(discover(tmp_path).instances)
    assert [p.patient_name for p in tree] == ["Alpha^A", "Beta^B"]
