"""The export with the work around the networks on the torch device (``MEDEID_DEVICE_REPAIR=torch``,
the path a GPU takes), forced on the CPU, against the numpy path: same files and headers, pixels
within 1e-3 of their range plus one stored unit of rounding."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from helpers import copy_inputs

from medeid_gui.export.pipeline import ExportConfig, run_export

NAMES = ("CT_small.dcm", "MR_small.dcm", "US1_UNCR.dcm", "emri_small.dcm")


@pytest.fixture(autouse=True)
def _any_image_model(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped model declared for every image, so the method runs on these CT/MR/US files."""
    from model_domains import any_image_models, fresh_engines

    monkeypatch.setenv("MEDEID_MODELS", str(any_image_models(tmp_path_factory.getbasetemp() / "any-image-models")))
    fresh_engines(monkeypatch)


def _export(inp: Path, out: Path, env: dict[str, Path], path: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MEDEID_EXPORT_GROUP", "4")  # shared batches, as on an accelerator
    monkeypatch.setenv("MEDEID_DEVICE_REPAIR", path)
    cfg = ExportConfig(input=inp, output=out, key_file=env["key"], ledger=env["ledger"],
                       state_dir=env["state"] / path, workers=1, burned_in="off", privacy=0.5)
    return run_export(cfg)


def _pixels(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path).pixel_array.astype(np.float64)


def test_device_path_export_matches_numpy_path(tmp_path: Path, env: dict[str, Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp, NAMES)
    from medeid_gui.ml import batch_device

    real = batch_device.compose_on_device
    batches: list[int] = []

    def counted(frames, *args):  # the real composition, counted: the device path did run
        batches.append(len(frames))
        return real(frames, *args)

    monkeypatch.setattr(batch_device, "compose_on_device", counted)
    ref = _export(inp, tmp_path / "numpy", env, "numpy", monkeypatch)
    assert batches == []
    dev = _export(inp, tmp_path / "torch", env, "torch", monkeypatch)
    assert sum(batches) >= 3  # the grey frames (the colour US goes through deidentify)
    assert ref.failed == dev.failed == 0 and ref.exported == dev.exported == len(NAMES)
    a = sorted(p.relative_to(tmp_path / "numpy") for p in (tmp_path / "numpy").rglob("*.dcm"))
    b = sorted(p.relative_to(tmp_path / "torch") for p in (tmp_path / "torch").rglob("*.dcm"))
    assert a == b
    for rel in a:
        x, y = _pixels(tmp_path / "numpy" / rel), _pixels(tmp_path / "torch" / rel)
        assert x.shape == y.shape
        assert np.abs(x - y).max() <= 1e-3 * np.ptp(x) + 1.0, rel
        hx = pydicom.dcmread(tmp_path / "numpy" / rel, stop_before_pixels=True)
        hy = pydicom.dcmread(tmp_path / "torch" / rel, stop_before_pixels=True)
        assert hx == hy
        assert "113102" in str(hx.get("DeidentificationMethodCodeSequence", "")), rel  # the method ran
