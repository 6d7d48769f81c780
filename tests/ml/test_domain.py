"""Model domains: which real images the shipped chest model may touch, read from their headers."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest

from medeid_gui._resources import models_dir
from medeid_gui.ml.domain import ImageFacts, ModelDomain, facts_of, read_domain

pydicom_data = pytest.importorskip("pydicom.data")


def _shipped() -> ModelDomain:
    return read_domain(json.loads((Path(models_dir()) / "manifest.json").read_text()))


def _testfile(name: str) -> pydicom.Dataset:
    try:
        path = pydicom_data.get_testdata_file(name)
    except Exception as exc:  # pydicom-data not installed or offline
        pytest.skip(f"{name}: {exc}")
    if path is None:
        pytest.skip(f"{name} not installed")
    return pydicom.dcmread(path, stop_before_pixels=True)


@pytest.mark.parametrize(("name", "inside"), [
    ("RG1_UNCR.dcm", True),  # CR CHEST PA, MONOCHROME1
    ("RG3_UNCR.dcm", False),  # CR EXTREMITY
    ("693_UNCR.dcm", False),  # CT
    ("MR_small.dcm", False),
    ("emri_small.dcm", False),  # MR HEAD, enhanced
    ("CT_small.dcm", False),
])
def test_shipped_domain_on_real_files(name: str, inside: bool) -> None:
    verdict = _shipped().check(facts_of(_testfile(name)))
    assert verdict.inside is inside
    assert bool(verdict.reason) is not inside


def test_deid_data_ct_head_and_ultrasound_are_outside() -> None:
    deid_data = pytest.importorskip("deid_data")
    root = Path(deid_data.__file__).parent / "data"
    for rel in ("humans/ctbrain1.dcm", "ultrasounds/GREYSCALE_IMAGE.dcm", "ultrasounds/RGB_IMAGE.dcm",
                "animals/cat.dcm"):
        ds = pydicom.dcmread(root / rel, stop_before_pixels=True)
        verdict = _shipped().check(facts_of(ds))
        assert not verdict.inside, rel
    ct = _shipped().check(facts_of(pydicom.dcmread(root / "humans/ctbrain1.dcm", stop_before_pixels=True)))
    assert "CT HEAD" in ct.reason
    cat = _shipped().check(facts_of(pydicom.dcmread(root / "animals/cat.dcm", stop_before_pixels=True)))
    assert "lateral" in cat.reason  # DX CHEST described as "Thorax LAT"


def test_demo_cohort_is_inside() -> None:
    from medeid_gui._resources import resource

    files = sorted(Path(resource("demo", "dicom")).rglob("*.dcm"))
    assert files
    for f in files:
        assert _shipped().check(facts_of(pydicom.dcmread(f, stop_before_pixels=True))).inside, f


def test_body_part_from_description_and_missing() -> None:
    dom = _shipped()
    base = dict(modality="DX", view="PA", photometric="MONOCHROME2", rows=512, columns=512)
    assert dom.check(ImageFacts(body_part="CHEST", **base)).inside
    missing = dom.check(ImageFacts(body_part="", **base))
    assert not missing.inside and "body part not stated" in missing.reason
    ds = pydicom.Dataset()
    ds.Modality, ds.SeriesDescription, ds.PhotometricInterpretation, ds.Rows, ds.Columns = (
        "CR",
        "Thorax p.a.",
        "MONOCHROME2",
        800,
        900,
    )
    assert facts_of(ds).body_part == "CHEST"
    assert dom.check(facts_of(ds)).inside


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"view": "LL"}, "view"),
        ({"photometric": "RGB"}, "photometric"),
        ({"frames": 40}, "frame"),
        ({"rows": 64, "columns": 64}, "size"),
        ({"modality": "MG"}, "MG"),
    ],
)
def test_each_rule_rules_out(change: dict, word: str) -> None:
    facts = dict(modality="DX", body_part="CHEST", view="PA", photometric="MONOCHROME2", rows=512, columns=512)
    facts.update(change)
    verdict = _shipped().check(ImageFacts(**facts))
    assert not verdict.inside and word in verdict.reason


def test_round_trip_and_refusals() -> None:
    dom = _shipped()
    assert ModelDomain.from_json(json.loads(json.dumps(dom.to_json()))) == dom
    with pytest.raises(ValueError, match="declares no domain"):
        read_domain({"files": {}})
    with pytest.raises(ValueError, match="lacks"):
        ModelDomain.from_json({"name": "x"})
    with pytest.raises(ValueError, match="unknown fields"):
        ModelDomain.from_json({"name": "x", "modalities": [], "body_parts": [], "colour": 1})


def test_a_domain_declared_for_any_image_admits_ct_without_body_part():
    from medeid_gui.ml.domain import ImageFacts, ModelDomain

    wide = ModelDomain.from_json({"name": "any", "modalities": ["*"], "body_parts": ["*"],
                                  "photometric": ["*"], "min_side": 2, "max_frames": 1000})
    ct = ImageFacts(modality="CT", photometric="MONOCHROME2", rows=512, columns=512)
    assert wide.check(ct).inside
    narrow = ModelDomain.from_json({"name": "chest", "modalities": ["CR"], "body_parts": ["CHEST"]})
    assert not narrow.check(ct).inside and "no pixel privacy model for CT" in narrow.check(ct).reason
