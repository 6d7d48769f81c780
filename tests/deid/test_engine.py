"""Engine behaviour on real files: repeatability, keys, patients, references, class UIDs, marking."""

from __future__ import annotations

import copy
import datetime as dt
import io

import pydicom
import pytest
from deid_helpers import OTHER_KEY, TEST_KEY
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from medeid_gui.deid.engine import IMPLEMENTATION_CLASS_UID, DeidConfig, Deidentifier
from medeid_gui.deid.keys import ProjectKey
from medeid_gui.deid.options import Option

FILES = ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "waveform_ecg.dcm", "emri_small.dcm")


def _read(name: str) -> Dataset:
    return pydicom.dcmread(get_testdata_file(name))


def _bytes(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=False)
    return buf.getvalue()


def _deid(ds: Dataset, key: bytes = TEST_KEY, **cfg: object) -> Dataset:
    Deidentifier(DeidConfig(**cfg), ProjectKey(key)).deidentify(ds)  # type: ignore[arg-type]
    return ds


@pytest.mark.parametrize("name", FILES)
def test_same_key_same_bytes(name: str) -> None:
    a = _bytes(_deid(_read(name), profile="research"))
    b = _bytes(_deid(_read(name), profile="research"))
    assert a == b


def test_different_key_different_pseudonyms() -> None:
    a = _deid(_read("CT_small.dcm"))
    b = _deid(_read("CT_small.dcm"), key=OTHER_KEY)
    for kw in ("PatientID", "PatientName", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
               "FrameOfReferenceUID", "StudyID"):
        assert str(a.get(kw)) != str(b.get(kw)), kw
    assert a.SOPClassUID == b.SOPClassUID


def test_two_studies_of_one_patient() -> None:
    s1, s2, other = _read("CT_small.dcm"), _read("MR_small.dcm"), _read("CT_small.dcm")
    s1.PatientID = s2.PatientID = "PAT-0001"
    s1.PatientName, s2.PatientName = "Doe^Jane", "DOE^JANE^M"
    s1.StudyDate, s2.StudyDate = "20200110", "20200315"
    s2.AcquisitionDateTime = "20200315101500.25+0100"
    other.PatientID = "PAT-0002"
    other.StudyInstanceUID = "1.2.3.4.999"
    deid = Deidentifier(DeidConfig(profile="research"), ProjectKey(TEST_KEY))
    for d in (s1, s2, other):
        deid.deidentify(d)
    assert s1.PatientID == s2.PatientID != other.PatientID
    assert s1.PatientName == s2.PatientName
    assert s1.StudyInstanceUID != s2.StudyInstanceUID
    d1 = dt.datetime.strptime(s1.StudyDate, "%Y%m%d")
    d2 = dt.datetime.strptime(s2.StudyDate, "%Y%m%d")
    assert (d2 - d1).days == 65
    assert s2.StudyDate != "20200315"
    assert s2.AcquisitionDateTime == s2.StudyDate + "101500.25+0100"
    assert s1.LongitudinalTemporalInformationModified == "MODIFIED"


def test_basic_profile_removes_dates_and_keeps_patients_apart() -> None:
    a, b = _read("CT_small.dcm"), _read("CT_small.dcm")
    b.PatientID = "SOMEONE-ELSE"
    _deid(a), _deid(b)
    assert a.StudyDate == "" and "AcquisitionDate" not in a
    assert a.PatientID and b.PatientID and a.PatientID != b.PatientID
    assert a.LongitudinalTemporalInformationModified == "REMOVED"


def test_references_in_sequences_follow_the_remapped_uids() -> None:
    target, ref = _read("MR_small.dcm"), _read("CT_small.dcm")
    t_sop, t_series, t_study = target.SOPInstanceUID, target.SeriesInstanceUID, target.StudyInstanceUID
    t_for = target.FrameOfReferenceUID

    def item(**kw: str) -> Dataset:
        d = Dataset()
        for k, v in kw.items():
            setattr(d, k, v)
        return d

    ref.ReferencedImageSequence = Sequence([item(ReferencedSOPClassUID=target.SOPClassUID,
                                                 ReferencedSOPInstanceUID=t_sop)])
    deriv = item(DerivationDescription="resampled")
    deriv.SourceImageSequence = Sequence([item(ReferencedSOPClassUID=target.SOPClassUID,
                                               ReferencedSOPInstanceUID=t_sop)])
    ref.DerivationImageSequence = Sequence([deriv])
    ref.ReferencedStudySequence = Sequence([item(ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.1",
                                                 ReferencedSOPInstanceUID=t_study)])
    evidence = item(StudyInstanceUID=t_study)
    evidence.ReferencedSeriesSequence = Sequence([item(SeriesInstanceUID=t_series)])
    ref.CurrentRequestedProcedureEvidenceSequence = Sequence([evidence])
    series = item(SeriesInstanceUID=t_series)
    series.ReferencedInstanceSequence = Sequence([item(ReferencedSOPClassUID=target.SOPClassUID,
                                                       ReferencedSOPInstanceUID=t_sop)])
    ref.ReferencedSeriesSequence = Sequence([series])
    ref.ReferencedFrameOfReferenceUID = t_for
    ref.IrradiationEventUID = "1.2.3.4.5.6.7.8.9"
    ref.DimensionOrganizationSequence = Sequence([item(DimensionOrganizationUID="1.2.3.4.77")])
    ref.DimensionIndexSequence = Sequence([item(DimensionOrganizationUID="1.2.3.4.77")])
    deid = Deidentifier(DeidConfig(), ProjectKey(TEST_KEY))
    deid.deidentify(target)
    deid.deidentify(ref)
    assert target.SOPInstanceUID != t_sop
    assert ref.ReferencedImageSequence[0].ReferencedSOPInstanceUID == target.SOPInstanceUID
    assert ref.ReferencedImageSequence[0].ReferencedSOPClassUID == target.SOPClassUID
    src = ref.DerivationImageSequence[0].SourceImageSequence[0]
    assert src.ReferencedSOPInstanceUID == target.SOPInstanceUID
    assert "ReferencedStudySequence" not in ref  # X/Z, Type 3 in the CT IOD: removed
    ev = ref.CurrentRequestedProcedureEvidenceSequence[0]
    assert ev.StudyInstanceUID == target.StudyInstanceUID
    assert ev.ReferencedSeriesSequence[0].SeriesInstanceUID == target.SeriesInstanceUID
    s = ref.ReferencedSeriesSequence[0]
    assert s.SeriesInstanceUID == target.SeriesInstanceUID
    assert s.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == target.SOPInstanceUID
    assert ref.ReferencedFrameOfReferenceUID == target.FrameOfReferenceUID != t_for
    assert ref.IrradiationEventUID.startswith("2.25.")
    a = ref.DimensionOrganizationSequence[0].DimensionOrganizationUID
    assert a == ref.DimensionIndexSequence[0].DimensionOrganizationUID != "1.2.3.4.77"
    assert "DerivationDescription" not in ref.DerivationImageSequence[0]  # X in the table


def test_class_and_transfer_syntax_uids_untouched() -> None:
    ds = _read("CT_small.dcm")
    ts, sop_class, msc = ds.file_meta.TransferSyntaxUID, ds.SOPClassUID, ds.file_meta.MediaStorageSOPClassUID
    ds.InstanceCreatorUID = "1.2.840.10008.1.2.1"  # a U row holding a well-known UID stays
    _deid(ds)
    assert ds.file_meta.TransferSyntaxUID == ts
    assert ds.SOPClassUID == sop_class and ds.file_meta.MediaStorageSOPClassUID == msc
    assert ds.InstanceCreatorUID == "1.2.840.10008.1.2.1"
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.file_meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert "SourceApplicationEntityTitle" not in ds.file_meta


def _codes(ds: Dataset) -> set[str]:
    return {i.CodeValue for i in ds.DeidentificationMethodCodeSequence}


def test_marking_codes_and_burned_in_annotation() -> None:
    ds = _read("CT_small.dcm")
    ds.BurnedInAnnotation = "YES"
    _deid(ds, profile="research")
    assert ds.PatientIdentityRemoved == "YES"
    assert _codes(ds) == {"113100", "113107", "113108", "113109"}
    assert ds.BurnedInAnnotation == "YES"  # never claimed clean by the header engine
    assert all(len(v) <= 64 for v in ds.DeidentificationMethod)
    assert any("2024b" in v for v in ds.DeidentificationMethod)
    ds2 = _read("CT_small.dcm")
    ds2.BurnedInAnnotation = "YES"
    Deidentifier(DeidConfig(), ProjectKey(TEST_KEY)).deidentify(ds2, pixels_cleaned=True)
    assert _codes(ds2) == {"113100", "113101"} and ds2.BurnedInAnnotation == "NO"
    ds3 = _read("CT_small.dcm")
    Deidentifier(DeidConfig(), ProjectKey(TEST_KEY)).deidentify(ds3, visual_features_cleaned=True)
    assert _codes(ds3) == {"113100", "113102"} and "BurnedInAnnotation" not in ds3
    assert ds3.RecognizableVisualFeatures == "NO"
    ds4 = _deid(_read("CT_small.dcm"), options=frozenset({Option.RETAIN_LONGITUDINAL_FULL_DATES}))
    assert ds4.LongitudinalTemporalInformationModified == "UNMODIFIED"
    assert ds4.StudyDate == "20040119"


def test_describe_changes_nothing_and_matches_deidentify() -> None:
    ds = _read("CT_small.dcm")
    before = _bytes(ds)
    deid = Deidentifier(DeidConfig(profile="research"), ProjectKey(TEST_KEY))
    described = deid.describe(ds)
    assert _bytes(ds) == before
    assert described == deid.deidentify(copy.deepcopy(ds), detailed=True).actions
    fast = deid.deidentify(copy.deepcopy(ds)).actions  # removed values shown from raw bytes
    assert [(a.path, a.action, a.new) for a in fast] == [(a.path, a.action, a.new) for a in described]
    assert {a.path: a.old for a in fast}["InstitutionName"] == "JFK IMAGING CENTER"
    by_kw = {a.keyword: a for a in described}
    assert by_kw["PatientID"].old == "1CT1" and by_kw["PatientID"].new != "1CT1"
    assert by_kw["PatientID"].tag == "(0010,0020)"
    assert by_kw["InstitutionName"].action == "X" and "X/Z/D" in by_kw["InstitutionName"].reason
    assert any(a.path.startswith("file_meta.") for a in described)


def test_linkage_maps_originals_to_pseudonyms() -> None:
    ds = _read("CT_small.dcm")
    orig = {k: str(ds.get(k)) for k in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")}
    res = Deidentifier(DeidConfig(), ProjectKey(TEST_KEY)).deidentify(ds)
    assert res.dataset is ds
    for k, v in orig.items():
        assert res.linkage[k] == (v, str(ds.get(k)))


def test_free_text_in_content_sequence_is_not_kept() -> None:
    ds = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    texts = [e.value for e in ds.iterall() if e.keyword == "TextValue" and e.value]
    assert texts
    _deid(ds)
    out = [e.value for e in ds.iterall() if e.keyword == "TextValue" and e.value]
    assert out and all(v == "ANONYMIZED" for v in out)


def test_clean_never_empties_an_attribute_the_basic_profile_keeps_as_dummy() -> None:
    ds = _read("rtplan.dcm")
    ds.PatientID = "778899"
    ds.RTPlanLabel = "778899"  # Type 1 in RT General Plan; D in the Basic Profile
    _deid(ds, options=frozenset({Option.CLEAN_DESCRIPTORS}))
    assert ds.RTPlanLabel == "ANONYMIZED"
    assert ds.RTPlanName == "Plan1"  # nothing identifying in it: kept as is


def test_file_meta_instance_uid_mapped_even_without_sop_instance_uid() -> None:
    ds = _read("CT_small.dcm")
    orig = ds.SOPInstanceUID
    del ds.SOPInstanceUID
    _deid(ds)
    new = ds.file_meta.MediaStorageSOPInstanceUID
    assert new != orig and new.startswith("2.25.")
    other = _deid(_read("CT_small.dcm"))
    assert other.SOPInstanceUID == new  # the same keyed function of the original


def test_free_text_in_content_sequence_is_not_kept_in_implicit_vr_files() -> None:
    ds = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    ds.ContentSequence[0].add_new(0x00080402, "LT", "Smithers said so")  # an LT not in the table
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    raw = pydicom.dcmread(io.BytesIO(_bytes(ds)))
    _deid(raw)
    assert b"Smithers" not in _bytes(raw)


_DIGEST_SCRIPT = """
import hashlib, io, sys
import pydicom
from pydicom.data import get_testdata_file
from medeid_gui.deid.engine import DeidConfig, Deidentifier
from medeid_gui.deid.keys import ProjectKey
d = Deidentifier(DeidConfig(profile="research-clean", options=frozenset({"retain-safe-private"})),
                 ProjectKey(bytes(range(32))))
h = hashlib.sha256()
for name in sys.argv[1:]:
    ds = pydicom.dcmread(get_testdata_file(name))
    d.deidentify(ds)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=False)
    h.update(buf.getvalue())
print(h.hexdigest())
"""


def test_identical_bytes_across_processes_and_hash_seeds() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    digests = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(root))
        out = subprocess.run([sys.executable, "-c", _DIGEST_SCRIPT, *FILES], env=env, cwd=root,
                             capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1
