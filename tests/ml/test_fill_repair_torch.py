"""The torch twin of the fill repair (ml.fill_repair_torch) against the numpy repair it mirrors, on
the real CR chest RG1: the steps agree within 1e-12 of the [0, 1] window; a batch gives each frame
what it gives alone; neither reads a blocked pixel of the original."""

from __future__ import annotations

import numpy as np
import pytest

from medeid_gui.ml import fill_repair as FR
from medeid_gui.ml import fill_repair_torch as FT
from medeid_gui.ml.patches import upsample_grid

torch = pytest.importorskip("torch")

TOL = 1e-12  # of the [0, 1] window: the same filter and the same spline matrices


@pytest.fixture(scope="module")
def rg1() -> np.ndarray:
    """pydicom-data's RG1_UNCR chest CR, every 4th pixel (489 x 461), in [0, 1]."""
    import pydicom
    from pydicom.data import get_testdata_file

    a = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm")).pixel_array[::4, ::4].astype(np.float64)
    lo, hi = np.percentile(a, (0.5, 99.5))
    return 1.0 - np.clip((a - lo) / (hi - lo), 0.0, 1.0)


def _mask(shape: tuple[int, int], seed: int, p: float = 0.4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.random((16, 16)) < p
    g[5:10, 5:10] = True
    return upsample_grid(g, shape)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))[None]


def _fill(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((128, 128)) * 0.3 + 0.4


def test_steps_match_numpy(rg1):
    fw = _fill(1)
    up = FR.upsample_smooth(FR.nyquist_notch(fw), rg1.shape)
    up_t = FT.upsample_smooth(FT.nyquist_notch(_t(fw)), rg1.shape)[0].numpy()
    assert np.abs(up_t - up).max() < TOL
    assert np.abs(up - FR.upsample_smooth(fw, rg1.shape)).max() > 0.01  # the notch is not nothing


def test_repair_matches_numpy_and_a_batch_matches_single_frames(rg1):
    masks = [_mask(rg1.shape, 3), _mask(rg1.shape, 5, 0.7), np.zeros(rg1.shape, bool), np.ones(rg1.shape, bool)]
    fills = [_fill(k) for k in range(4)]
    patch = max(rg1.shape) / 16
    batch = FT.repair_fill(torch.from_numpy(np.stack([rg1] * 4)), torch.from_numpy(np.stack(fills)),
                           torch.from_numpy(np.stack(masks)), patch=patch).numpy()
    for k, (m, fw) in enumerate(zip(masks, fills)):
        ref = FR.repair_fill(rg1, fw, m, patch=patch)
        single = FT.repair_fill(_t(rg1), _t(fw), _t(m), patch=patch)[0].numpy()
        assert np.abs(single - ref).max() < TOL, k
        assert np.array_equal(single, batch[k]), k  # a frame's result does not depend on its batch


def test_reads_the_original_only_where_unblocked(rg1):
    m = _mask(rg1.shape, 3)
    fw = _fill(2)
    a = FT.repair_fill(_t(rg1), _t(fw), _t(m)).numpy()
    assert np.array_equal(a, FT.repair_fill(_t(np.where(m, 1.0 - rg1, rg1)), _t(fw), _t(m)).numpy())
    assert not np.array_equal(a, FT.repair_fill(_t(np.where(m, rg1, 1.0 - rg1)), _t(fw), _t(m)).numpy())


def test_seam_steps_match_numpy(rg1):
    m = _mask(rg1.shape, 4)
    f = FR.upsample_smooth(FR.nyquist_notch(_fill(3)), rg1.shape)
    o = np.where(m, 0.0, rg1)
    ref = FR.seam_blend(o, f, m, band=7.6)
    assert np.abs(ref - f).max() > 0.01  # the blend does something
    assert np.abs(FT.seam_blend(_t(o), _t(f), _t(m), band=7.6)[0].numpy() - ref).max() < TOL
