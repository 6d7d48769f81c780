"""``tensor_batch`` with the work around the networks on the torch device (``ml.batch_device``)
against the numpy path on real frames with the shipped model: pydicom-data's RG1_UNCR chest CR
(every 2nd pixel), a demo DX, pydicom's CT_small and MR_small (signed) and the CT as float32 --
one batch of four frame sizes.  Forced on the CPU here; on a GPU the same code runs there.

Stated tolerance: same window, same working image, same mask and identity map; unblocked pixels
bit-identical; blocked pixels within 1e-3 of the window (+ one grey level of rounding); the device
path gives the same bytes twice."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    import pydicom
    from pydicom.data import get_testdata_file

    from medeid_gui._resources import resource

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dx = pydicom.dcmread(resource("demo", "dicom") / "MRN23000000" / "0.dcm").pixel_array
        rg1 = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm")).pixel_array[::2, ::2]
        ct = pydicom.dcmread(get_testdata_file("CT_small.dcm")).pixel_array  # int16, 128 x 128
        mr = pydicom.dcmread(get_testdata_file("MR_small.dcm")).pixel_array  # int16, 64 x 64
    return [dx, np.ascontiguousarray(rg1), ct, mr, ct.astype(np.float32) * 0.5]


@pytest.fixture(scope="module")
def model():
    from medeid_gui.ml.model import default_model

    torch.set_num_threads(1)
    return default_model("cpu")


def test_window_is_numpys_to_the_bit(frames):
    from medeid_gui.ml.batch_device import percentile_windows

    rng = np.random.default_rng(0)
    for a in [*frames, rng.random((37, 53)).astype(np.float32) * 900 - 100, np.full((9, 9), 7.0)]:
        grey = a.astype(np.float32)
        lo, hi = (float(v) for v in np.percentile(grey, (0.5, 99.5)))
        ref = (lo, hi) if hi - lo >= 1e-6 else (float(grey.min()), float(grey.min()) + 1.0)
        assert percentile_windows(torch.from_numpy(np.stack([grey, grey])).flatten(1)) == [ref, ref]


def test_device_path_matches_numpy_path(frames, model):
    from medeid_gui.ml.batch import tensor_batch

    ref = tensor_batch(frames, 0.5, seed=1, model=model, on_device=False)
    dev = tensor_batch(frames, 0.5, seed=1, model=model, on_device=True)
    again = tensor_batch(frames, 0.5, seed=1, model=model, on_device=True)
    for a, r, d, d2 in zip(frames, ref, dev, again):
        assert np.array_equal(r.mask, d.mask) and r.mask.any() and not r.mask.all()
        assert np.array_equal(r.identity_map, d.identity_map)
        assert d.frame.dtype == a.dtype and np.array_equal(d.frame[~d.mask], a[~d.mask])
        lo, hi = np.percentile(a.astype(np.float32), (0.5, 99.5))
        diff = np.abs(d.frame.astype(np.float64) - r.frame.astype(np.float64))
        assert diff.max() <= 1e-3 * (hi - lo) + (1.0 if a.dtype.kind in "iu" else 0.0)
        assert d.frame.tobytes() == d2.frame.tobytes()
        assert np.abs(d.frame.astype(np.float64) - a.astype(np.float64))[d.mask].max() > 0  # it filled


def test_path_choice(model, monkeypatch):
    from medeid_gui.ml.batch_device import use_device_path

    monkeypatch.delenv("MEDEID_DEVICE_REPAIR", raising=False)
    assert use_device_path(model) is False  # the CPU keeps the evaluated numpy path
    assert use_device_path(model, True) is True
    monkeypatch.setenv("MEDEID_DEVICE_REPAIR", "torch")
    assert use_device_path(model) is True
    assert use_device_path(model, False) is False


def test_non_finite_float_frame_takes_the_numpy_window(model):
    from medeid_gui.ml.batch import tensor_batch

    a = np.random.default_rng(2).random((96, 80)).astype(np.float32) * 500
    a[10:20, 5:9] = np.nan
    r = tensor_batch([a], 0.5, seed=0, model=model, on_device=False)[0]
    d = tensor_batch([a], 0.5, seed=0, model=model, on_device=True)[0]
    assert np.array_equal(r.mask, d.mask)
    both = r.mask & np.isfinite(r.frame)
    assert np.abs(d.frame[both] - r.frame[both]).max() <= 1e-3 * 500
