"""The torch twin of the fill repair (ml.fill_repair_torch) against the numpy repair it mirrors, on
the real CR chest RG1: the direct steps agree within 1e-12 of the [0, 1] window, those that use
the harmonic solve (iterative there, direct in numpy) within 1e-5; the nearest-pixel transform
picks the very pixels scipy picks (ties included); a batch gives each frame what it gives alone."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from medeid_gui.ml import fill_repair as FR
from medeid_gui.ml import fill_repair_torch as FT
from medeid_gui.ml.patches import upsample_grid

torch = pytest.importorskip("torch")

TOL = 1e-5  # of the [0, 1] window where the iterative harmonic solve enters; measured ~1e-6 on RG1


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
    m = _mask(rg1.shape, 3)
    fw = _fill(1)
    up = FR.upsample_smooth(FR.nyquist_notch(fw), rg1.shape)
    up_t = FT.upsample_smooth(FT.nyquist_notch(_t(fw)), rg1.shape)[0].numpy()
    assert np.abs(up_t - up).max() < 1e-12
    o = np.where(m, 0.0, rg1)
    assert np.abs(FT._gaussian(_t(rg1), 1.0)[0].numpy() - ndimage.gaussian_filter(rg1, 1.0)).max() < 1e-12
    ms = FT.match_surround(_t(o), _t(up), _t(m))[0].numpy()
    assert np.abs(ms - FR.match_surround(o, up, m)).max() < TOL
    assert np.abs(ms - up).max() > 0.01  # the offset field is not nothing: the check can fail
    fb = FT.feather_border(_t(o), _t(up), _t(m), width=7.0)[0].numpy()
    assert np.abs(fb - FR.feather_border(o, up, m, width=7.0)).max() < 1e-12
    an = FT.anchor_mean(_t(up), _t(m), torch.tensor([0.35], dtype=torch.float64), ramp=16.0)[0].numpy()
    assert np.abs(an - FR.anchor_mean(up, m, 0.35, ramp=16.0)).max() < 1e-12


@pytest.mark.parametrize("seed,p", [(3, 0.4), (5, 0.7), (8, 0.2)])
def test_nearest_pixel_and_chessboard_distance_are_scipys(rg1, seed, p):
    m = _mask(rg1.shape, seed, p)
    d, (iy, ix) = ndimage.distance_transform_edt(m, return_indices=True)
    for width in (2.0, 7.6, 12.0):
        reach = int(np.ceil(width)) + 1
        flat, d2 = FT.nearest_free(_t(m), reach)
        near = d <= reach
        assert np.array_equal(flat[0].numpy()[near], (iy * m.shape[1] + ix)[near])
        assert np.array_equal(np.sqrt(d2[0].numpy())[near], d[near])
        assert np.isinf(d2[0].numpy()[~near]).all()
    cd = ndimage.distance_transform_cdt(m, metric="chessboard")
    assert np.array_equal(FT.chessboard_distance(_t(m), 17)[0].numpy(), np.minimum(cd, 18))


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


def test_reads_blocked_pixels_only_through_their_mean(rg1):
    m = _mask(rg1.shape, 3)
    fw = _fill(2)
    shuffled = rg1.copy()
    shuffled[m] = np.random.default_rng(0).permutation(rg1[m])  # same blocked mean, other pixels
    a = FT.repair_fill(_t(rg1), _t(fw), _t(m)).numpy()
    assert np.array_equal(a, FT.repair_fill(_t(shuffled), _t(fw), _t(m)).numpy())
    brighter = rg1.copy()
    brighter[m] = np.clip(brighter[m] + 0.2, 0, 1)
    assert FT.repair_fill(_t(brighter), _t(fw), _t(m)).numpy()[0][m].mean() > a[0][m].mean()
