"""Fill-quality measures (lab.fill_quality) and the fill repairs (lab.fill_fix) on a real
radiograph: each check is built so that a bad fill (checkerboard, seam, offset, reading blocked
pixels) fails it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medeid_gui.lab import fill_fix as FF
from medeid_gui.lab import fill_quality as fq


@pytest.fixture(scope="module")
def rg1() -> np.ndarray:
    """pydicom-data's RG1_UNCR chest CR, every 2nd pixel (978 x 921), in [0, 1] over its
    0.5/99.5 percentiles (the app's working window)."""
    import pydicom
    from pydicom.data import get_testdata_file

    a = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm")).pixel_array[::2, ::2].astype(np.float64)
    lo, hi = np.percentile(a, (0.5, 99.5))
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0)


@pytest.fixture(scope="module")
def block_mask(rg1) -> np.ndarray:
    """A patch-grid mask like the method's (16 x 16 grid, about a quarter of the patches)."""
    rng = np.random.default_rng(3)
    g = rng.random((16, 16)) < 0.3
    g[5:9, 5:9] = True  # one large block so 96-px tiles fit inside
    from medeid_gui.ml.patches import upsample_grid

    return upsample_grid(g, rg1.shape)


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    from scipy import ndimage

    return ndimage.gaussian_filter(a, sigma)


def test_copy_of_the_original_scores_one(rg1, block_mask):
    r = fq.quality_report(rg1, rg1.copy(), block_mask, (0.0, 1.0))
    assert r.texture_ratio == pytest.approx(1.0)
    assert r.step_ratio == pytest.approx(1.0)
    assert r.mean_shift == 0.0
    assert r.fine_detail == pytest.approx(1.0)
    assert r.ok
    assert 0.2 < r.blocked_fraction < 0.5


def test_checkerboard_fill_fails_texture(rg1, block_mask):
    yy, xx = np.mgrid[0 : rg1.shape[0], 0 : rg1.shape[1]]
    # a ~15-px grid like the shipped fill's (2 working pixels of a 128-px model on this frame)
    checker = 0.03 * np.cos(2 * np.pi * yy / 15.3) * np.cos(2 * np.pi * xx / 14.4)
    out = np.where(block_mask, rg1 + checker, rg1)
    r = fq.quality_report(rg1, out, block_mask, (0.0, 1.0))
    assert r.texture_ratio > 3 * fq.MAX_TEXTURE_RATIO
    assert not r.ok_texture and not r.ok
    fy, fx, score = fq.peak_frequency(out, block_mask, reference=rg1)
    assert score == pytest.approx(r.texture_fill)
    assert abs(abs(fy) - 1 / 15.3) <= 1.5 / fq.TILE and abs(abs(fx) - 1 / 14.4) <= 1.5 / fq.TILE


def test_smooth_fill_is_not_called_periodic(rg1, block_mask):
    """A blurred fill has no power at fine scales; its quantisation must not read as texture."""
    out = np.where(block_mask, np.round(_blur(rg1, 4.0) * 4095) / 4095, rg1)
    r = fq.quality_report(rg1, out, block_mask, (0.0, 1.0))
    assert r.ok_texture, r
    assert r.fine_detail < 0.5  # but the blur is seen


def test_constant_offset_gives_its_mean_shift_and_a_seam(rg1, block_mask):
    out = np.where(block_mask, rg1 + 0.1, rg1)
    assert fq.mean_shift(out, rg1, block_mask, (0.0, 1.0)) == pytest.approx(0.1)
    assert fq.mean_shift(out * 2000 - 100, rg1 * 2000 - 100, block_mask, (-100.0, 1900.0)) == pytest.approx(0.1)
    r = fq.quality_report(rg1, out, block_mask, (0.0, 1.0))
    assert r.step_ratio > fq.MAX_STEP_RATIO and not r.ok_mean
    # the texture is untouched by a constant offset
    assert r.texture_ratio == pytest.approx(1.0)


def test_nothing_to_measure_is_nan_not_a_pass_of_zero(rg1):
    full = np.ones(rg1.shape, dtype=bool)
    assert math.isnan(fq.border_step(rg1, full))
    assert math.isnan(fq.mean_shift(rg1, rg1, np.zeros(rg1.shape, dtype=bool), (0, 1)))
    assert math.isnan(fq.periodic_texture_score(rg1[:50, :50]))
    with pytest.raises(ValueError):
        fq.mean_shift(rg1, rg1, full, (1.0, 1.0))


def test_border_step_counts_only_crossing_pairs():
    img = np.zeros((20, 20))
    mask = np.zeros((20, 20), dtype=bool)
    mask[:, 10:] = True
    img[:, 10:] = 1.0
    assert fq.border_step(img, mask) == pytest.approx(1.0)
    assert fq.border_step(img, ~mask) == pytest.approx(1.0)
    assert fq.border_step(np.ones((20, 20)), mask) == 0.0


# ---- fill_fix


def test_notch_removes_the_two_pixel_period_only():
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64)
    ramp = 0.01 * yy + 0.02 * xx
    checker = (-1.0) ** (yy + xx)
    stripes = (-1.0) ** yy
    out = FF.nyquist_notch(ramp + 0.1 * checker + 0.1 * stripes)
    assert np.abs(out - ramp)[1:-1, 1:-1].max() < 1e-12  # reflect-padding touches the rim only
    slow = np.cos(2 * np.pi * xx / 16)
    assert np.abs(FF.nyquist_notch(slow) - slow)[1:-1, 1:-1].max() < 0.05  # cos^2(pi/16) = 0.96


def test_harmonic_extend_reproduces_a_plane():
    yy, xx = np.mgrid[0:30, 0:40].astype(np.float64)
    plane = 0.3 + 0.01 * yy - 0.02 * xx
    known = np.ones(plane.shape, dtype=bool)
    known[5:25, 8:30] = False
    out = FF.harmonic_extend(np.where(known, plane, 99.0), known)
    assert np.abs(out - plane).max() < 1e-6


def test_upsample_smooth_keeps_constants_and_shape():
    out = FF.upsample_smooth(np.full((16, 16), 0.4), (97, 131))
    assert out.shape == (97, 131)
    assert np.abs(out - 0.4).max() < 1e-9


def test_repair_never_reads_blocked_pixels_and_keeps_unblocked_ones(rg1, block_mask):
    work = _blur(rg1, 6.0)[::8, ::8]  # a stand-in working fill: the frame at low resolution
    other = np.where(block_mask, 1.0 - rg1, rg1)  # differs from rg1 only in blocked pixels
    f1 = FF.repaired_fill(rg1, work, block_mask)
    f2 = FF.repaired_fill(other, work, block_mask)
    assert np.array_equal(f1, f2)
    out = FF.compose(rg1, f1, block_mask)
    assert np.array_equal(out[~block_mask], rg1[~block_mask])
    assert out[block_mask].min() >= 0.0 and out[block_mask].max() <= 1.0


def test_repair_closes_a_seam_and_an_offset(rg1, block_mask):
    """A smooth fill 0.15 too bright with a 2-pixel checkerboard at working resolution (what the
    shipped compensator returns) fails every bound; the repair passes them."""
    shape = rg1.shape
    work = _blur(rg1, 6.0)[::8, ::8] + 0.15
    yy, xx = np.mgrid[0 : work.shape[0], 0 : work.shape[1]]
    work = work + 0.04 * (-1.0) ** (yy + xx)
    before = FF.compose(rg1, FF.repaired_fill(rg1, work, block_mask, notch=False, smooth=False,
                                              match=False, feather=False), block_mask)
    rb = fq.quality_report(rg1, before, block_mask, (0.0, 1.0))
    assert not (rb.ok_texture or rb.ok_step or rb.ok_mean), rb
    after = FF.compose(rg1, FF.repaired_fill(rg1, work, block_mask), block_mask)
    ra = fq.quality_report(rg1, after, block_mask, (0.0, 1.0))
    assert ra.ok, ra
    assert after.shape == shape


def test_anchor_mean_hits_its_target_and_keeps_the_border():
    m = np.zeros((200, 200), dtype=bool)
    m[50:150, 50:150] = True
    f = np.zeros((200, 200))
    out = FF.anchor_mean(f, m, 0.2)
    assert out[m].mean() == pytest.approx(0.2)
    assert out[50, 50:150].max() == 0.0  # the border pixels do not move
    assert np.array_equal(out[~m], f[~m])


def test_band_blend_closes_the_seam_from_unblocked_pixels_only(rg1, block_mask):
    """A fill 0.15 too bright: the band blend takes the border step under the bound without
    reading a blocked pixel, keeps the patch interiors, and leaves unblocked pixels alone."""
    fill = _blur(rg1, 6.0) + 0.15
    before = fq.quality_report(rg1, FF.compose(rg1, fill, block_mask), block_mask, (0.0, 1.0))
    assert not before.ok_step, before
    out = FF.band_blend(rg1, fill, block_mask, band=16.0)
    after = fq.quality_report(rg1, FF.compose(rg1, out, block_mask), block_mask, (0.0, 1.0))
    assert after.ok_step and after.step_ratio < before.step_ratio / 4, (before, after)
    other = np.where(block_mask, 1.0 - rg1, rg1)  # differs only in blocked pixels
    assert np.array_equal(out, FF.band_blend(other, fill, block_mask, band=16.0))
    assert np.array_equal(out[~block_mask], fill[~block_mask])
    from scipy import ndimage

    deep = ndimage.distance_transform_edt(block_mask) > 16.5  # beyond the band: the fill's own
    assert deep.any() and np.array_equal(out[deep], fill[deep])
