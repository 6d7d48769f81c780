"""Privacy level on real files: p=0 leaves Pixel Data byte-identical, p=1 changes every frame and
the written file still validates (dciodvfy adds no errors) for CT, MR, CR, US colour, multi-frame,
palette and compressed sources; non-image objects pass through."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.dicom.pixelwrite import decode_stored
from medeid_gui.pixels.clean import PixelCleanError, PixelRequest, clean_pixels

needs_dciodvfy = pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy not installed")


@pytest.fixture(autouse=True)
def _any_image_model(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plumbing runs on files outside the shipped model's domain (chest radiographs): a copy
    of the shipped model declared for every image is installed as the shipped model."""
    from model_domains import any_image_models, fresh_engines

    monkeypatch.setenv("MEDEID_MODELS", str(any_image_models(tmp_path_factory.getbasetemp() / "any-image-models")))
    fresh_engines(monkeypatch)

PRIVACY_CASES = [
    "CT_small.dcm",  # CT, signed, rescale
    "693_J2KI.dcm",  # CT 512x512, JPEG 2000 lossy
    "MR_small_bigendian.dcm",  # MR, big endian
    "RG3_J2KI.dcm",  # CR, JPEG 2000 lossy
    "emri_small_jpeg_2k_lossless.dcm",  # MR multi-frame, JPEG 2000 lossless
    "examples_ybr_color.dcm",  # US colour multi-frame, YBR
    "US1_J2KR.dcm",  # US colour, JPEG 2000 lossless
    "SC_rgb_jpeg_dcmtk.dcm",  # JPEG baseline colour
    "examples_palette.dcm",  # US palette colour -> RGB
]


def _errors(path: Path) -> set[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return {ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")}


def _file(name: str) -> str:
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} not in the installed pydicom test data")
    return path


@needs_dciodvfy
@pytest.mark.parametrize("name", PRIVACY_CASES)
def test_privacy_one_changes_every_frame_and_validates(name: str, engine, tmp_path: Path) -> None:
    path = _file(name)
    src = tmp_path / "in.dcm"
    pydicom.dcmread(path).save_as(src)
    original = decode_stored(pydicom.dcmread(path))
    was_lossy = pydicom.dcmread(path).file_meta.TransferSyntaxUID in (
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.91") and name != "US1_J2KR.dcm"

    ds = pydicom.dcmread(path)
    report = clean_pixels(ds, PixelRequest(privacy=1.0, burned_in="off"), engine=engine)
    assert report.changed and report.visual_features_cleaned and not report.pixels_cleaned
    out = tmp_path / "out.dcm"
    ds.save_as(out)

    written = pydicom.dcmread(out)
    after = decode_stored(written)
    assert after.shape[:3] == original.shape[:3]
    if original.ndim != after.ndim:  # palette colour is written as RGB: compare in RGB
        from pydicom.pixels import apply_color_lut

        original = (apply_color_lut(original, pydicom.dcmread(path)) // 257).astype(np.uint8)
    for i in range(after.shape[0]):
        assert not np.array_equal(after[i], original[i]), f"frame {i} unchanged"
    new_errors = _errors(out) - _errors(src)
    assert not new_errors, sorted(new_errors)
    if was_lossy:
        assert written.LossyImageCompression == "01"


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "US1_J2KR.dcm", "JPEG2000.dcm", "emri_small.dcm"])
def test_privacy_zero_leaves_pixel_data_identical(name: str, engine) -> None:
    ds = pydicom.dcmread(_file(name))
    before = ds.PixelData
    ts = ds.file_meta.TransferSyntaxUID
    report = clean_pixels(ds, PixelRequest(privacy=0.0, burned_in="off"), engine=engine)
    assert not report.changed and ds.PixelData == before and ds.file_meta.TransferSyntaxUID == ts


def test_privacy_zero_with_text_check_on_ct_is_identical(ocr, engine) -> None:
    """The default burned-in check (auto) OCRs a CT without BurnedInAnnotation; nothing matches,
    so nothing is written."""
    ds = pydicom.dcmread(_file("CT_small.dcm"))
    assert "BurnedInAnnotation" not in ds
    before = ds.PixelData
    report = clean_pixels(ds, PixelRequest(privacy=0.0), engine=engine, ocr=ocr)
    assert report.pixels_cleaned and not report.changed and ds.PixelData == before


def test_partial_privacy_keeps_unblocked_pixels_exact(engine) -> None:
    ds = pydicom.dcmread(_file("CT_small.dcm"))
    original = decode_stored(ds)[0]
    clean_pixels(ds, PixelRequest(privacy=0.5, burned_in="off"), engine=engine)
    after = decode_stored(ds)[0]
    same = after == original
    assert 0.3 < same.mean() < 0.8  # about half the patches were replaced
    # unblocked pixels keep their exact stored values even outside the CT working window
    outside = (original * float(ds.RescaleSlope) + float(ds.RescaleIntercept)) > 3071
    assert np.array_equal(after[~outside & same], original[~outside & same])


@pytest.mark.parametrize("name", ["rtdose.dcm", "test-SR.dcm", "waveform_ecg.dcm", "rtstruct.dcm"])
def test_non_image_objects_pass_through(name: str, engine) -> None:
    ds = pydicom.dcmread(_file(name), force=True)
    before = ds.get("PixelData")
    report = clean_pixels(ds, PixelRequest(privacy=1.0, burned_in="all"), engine=engine)
    assert not report.changed and not report.pixels_cleaned and not report.visual_features_cleaned
    assert report.notes and "passed through" in report.notes[0]
    assert ds.get("PixelData") == before


def test_undecodable_pixels_raise_and_keep_dataset(engine) -> None:
    ds = pydicom.dcmread(_file("JPEG-lossy.dcm"))  # 12-bit extended JPEG no installed plugin decodes
    before = ds.PixelData
    with pytest.raises(PixelCleanError, match="cannot decode"):
        clean_pixels(ds, PixelRequest(privacy=0.5, burned_in="off"), engine=engine)
    assert ds.PixelData == before


def test_request_validation() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        PixelRequest(privacy=1.5)
    with pytest.raises(ValueError, match="burned_in"):
        PixelRequest(burned_in="maybe")
    with pytest.raises(ValueError, match="rectangle"):
        PixelRequest(rectangles=["10,10,-5,5"])
    assert PixelRequest(privacy="0.25", rectangles=[(1, 2, 3, 4)]).rectangles[0].x1 == 4


def test_engine_failure_is_a_clear_error_and_keeps_dataset() -> None:
    from medeid_gui.ml.engine import InferenceEngine

    def broken(frame, p, *, seed=0, model=None):
        raise RuntimeError("CUDA out of memory")

    ds = pydicom.dcmread(_file("CT_small.dcm"))
    before = ds.PixelData
    with pytest.raises(PixelCleanError, match="identity blocking at p=0.5 failed: RuntimeError: CUDA out of memory"):
        clean_pixels(ds, PixelRequest(privacy=0.5, burned_in="off"), engine=InferenceEngine(deidentify_fn=broken))
    assert ds.PixelData == before


def test_one_decision_whether_the_pixel_step_runs() -> None:
    """``PixelRequest.runs``: the method at this or any per-series level, text, or rectangles."""
    off = PixelRequest(privacy=0.0, burned_in="off")
    assert not off.runs() and not off.needs_pixels and not off.runs_method
    assert off.runs({"1.2.3": 0.4}) and not off.runs({"1.2.3": 0.0})
    assert PixelRequest(privacy=0.1, burned_in="off").runs()
    assert PixelRequest(burned_in="auto").runs() and PixelRequest(burned_in="on").burned_in == "all"
    assert PixelRequest(burned_in="off", rectangles=["1,2,3,4"]).runs()


def test_for_series_takes_the_level_chosen_for_that_series() -> None:
    req = PixelRequest(privacy=0.2, burned_in="off", rectangles=[(1, 2, 3, 4)])
    assert req.for_series("9.9", {"1.2.3": 0.7}) is req
    assert req.for_series("1.2.3", {"1.2.3": 0.2}) is req
    mine = req.for_series("1.2.3", {"1.2.3": 0.7})
    assert mine.privacy == 0.7 and mine.rectangles == req.rectangles and mine.burned_in == "off"
    with pytest.raises(ValueError, match="between 0 and 1"):
        req.for_series("1.2.3", {"1.2.3": 7})
