"""The runtime fill repair (ml.fill_repair) and its wiring into the method on a real radiograph:
the fill has no checkerboard, meets the seam bound, reads the original only where it is
unblocked, and never touches an unblocked pixel."""

from __future__ import annotations

import numpy as np
import pytest

from medeid_gui.lab import fill_quality as fq
from medeid_gui.ml import fill_repair as FR
from medeid_gui.ml.patches import upsample_grid


@pytest.fixture(scope="module")
def rg1() -> np.ndarray:
    """pydicom-data's RG1_UNCR chest CR, every 4th pixel, MONOCHROME2 sense, in [0, 1]."""
    import pydicom
    from pydicom.data import get_testdata_file

    a = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm")).pixel_array[::4, ::4].astype(np.float64)
    lo, hi = np.percentile(a, (0.5, 99.5))
    return 1.0 - np.clip((a - lo) / (hi - lo), 0.0, 1.0)


@pytest.fixture(scope="module")
def mask(rg1) -> np.ndarray:
    rng = np.random.default_rng(3)
    g = rng.random((16, 16)) < 0.4
    g[5:10, 5:10] = True
    return upsample_grid(g, rg1.shape)


def test_checkerboard_fill_is_repaired(rg1, mask):
    yy, xx = np.mgrid[0:128, 0:128]
    smooth = 0.3 + 0.2 * np.sin(yy / 9.0) * np.cos(xx / 13.0)
    fill = smooth + 0.2 * (-1.0) ** (yy + xx)  # a pixel-shuffle checkerboard at the working size
    out = np.where(mask, FR.repair_fill(rg1, fill, mask), rg1)
    raw = np.where(mask, upsample_grid(fill, rg1.shape), rg1)
    assert fq.quality_report(rg1, raw, mask, (0.0, 1.0)).texture_ratio > 3.0  # the test can fail
    assert fq.quality_report(rg1, out, mask, (0.0, 1.0)).texture_ratio <= 3.0
    # the anatomy-scale content of the fill survives the notch (the first two steps of the repair)
    rep = FR.upsample_smooth(FR.nyquist_notch(fill), rg1.shape)
    assert np.corrcoef(rep[mask], upsample_grid(smooth, rg1.shape)[mask])[0, 1] > 0.9


@pytest.mark.parametrize("blocked", ["some", "all"])
def test_reads_the_original_only_where_unblocked(rg1, mask, blocked):
    """Privacy: no blocked pixel of the original reaches the fill (the seam blend reads unblocked
    pixels only); with everything blocked nothing of it does."""
    m = mask if blocked == "some" else np.ones(rg1.shape, dtype=bool)
    fill = np.random.default_rng(1).random((128, 128))
    other = np.where(m, np.random.default_rng(2).random(rg1.shape), rg1)
    ref = FR.repair_fill(rg1, fill, m)
    assert np.array_equal(ref, FR.repair_fill(other, fill, m))
    assert np.array_equal(ref, FR.repair_fill(np.where(m, 1.0 - rg1, rg1), fill, m))
    changed = FR.repair_fill(np.where(m, rg1, 1.0 - rg1), fill, m)
    if blocked == "some":  # the unblocked pixels are read: the test can fail
        assert not np.array_equal(ref, changed)
    else:
        assert np.array_equal(ref, changed)


def _working(a: np.ndarray, size: int = 128) -> np.ndarray:
    """Area means of ``a`` on a size x size grid: what a compensator at that resolution could
    draw of it at best."""
    ys = np.linspace(0, a.shape[0], size + 1).astype(int)
    xs = np.linspace(0, a.shape[1], size + 1).astype(int)
    return np.add.reduceat(np.add.reduceat(a, ys[:-1], 0), xs[:-1], 1) / np.outer(np.diff(ys), np.diff(xs))


def test_seams_are_closed_on_rg1(rg1, mask):
    """A fill with the anatomy's shape but 0.15 too bright and half the contrast -- what the
    shipped weights draw on a real radiograph -- gets seams within issue #14's bound (step <=
    1.5x the original's), while the patches' interiors deeper than the band stay exactly the
    model's (its level is not corrected: see ml.fill_repair)."""
    w = _working(rg1)
    fill = w.mean() + 0.5 * (w - w.mean()) + 0.15
    raw = np.where(mask, np.clip(FR.upsample_smooth(FR.nyquist_notch(fill), rg1.shape), 0, 1), rg1)
    r_raw = fq.quality_report(rg1, raw, mask, (0.0, 1.0))
    assert r_raw.step_ratio > 1.5  # the test can fail
    rep = FR.repair_fill(rg1, fill, mask)
    r = fq.quality_report(rg1, np.where(mask, rep, rg1), mask, (0.0, 1.0))
    assert r.step_ratio <= 1.5 and r.texture_ratio <= 3.0
    assert r.mean_shift > 0.05  # the level stays the model's (only the band moves toward the surround)
    band = FR.seam_band(rg1.shape, None)
    deep = mask.copy()
    for _ in range(int(np.ceil(band)) + 1):
        deep = deep & np.roll(deep, 1, 0) & np.roll(deep, -1, 0) & np.roll(deep, 1, 1) & np.roll(deep, -1, 1)
    assert deep.sum() > 1000
    assert np.array_equal(rep[deep], raw[deep])
    near = mask & ~deep
    assert np.abs(rep[near] - raw[near]).max() > 0.05  # the band does change the fill


def test_seam_blend_does_nothing_without_a_border(rg1):
    f = np.full(rg1.shape, 0.3)
    assert FR.seam_blend(rg1, f, np.ones(rg1.shape, bool), band=8.0).tolist() == f.tolist()
    assert FR.seam_blend(rg1, f, np.zeros(rg1.shape, bool), band=8.0).tolist() == f.tolist()


@pytest.fixture(scope="module")
def rg1_full() -> np.ndarray:
    """RG1_UNCR at its own 1955 x 1841 size, MONOCHROME2 sense, 12-bit."""
    import pydicom
    from pydicom.data import get_testdata_file

    a = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm")).pixel_array.astype(np.float64)
    lo, hi = np.percentile(a, (0.5, 99.5))
    return ((1.0 - np.clip((a - lo) / (hi - lo), 0.0, 1.0)) * 4095).astype(np.uint16)


@pytest.mark.parametrize("p", [0.5, 1.0])
def test_shipped_method_on_rg1_keeps_unblocked_pixels_and_has_no_grid(rg1_full, p):
    """At the radiograph's own size (where the grid was seen: ~15 px period) the fill's periodic
    texture is within 3x the original's; where some pixels stay unblocked, the border step is
    within 1.5x the original's (issue #14's bounds, with the shipped weights)."""
    from medeid_gui.ml.deidentify import deidentify
    from medeid_gui.ml.model import default_model

    frame = rg1_full
    out, _, m = deidentify(frame, p, seed=0, model=default_model("cpu"))
    assert m.any()
    assert np.array_equal(out[~m], frame[~m])
    r = fq.quality_report(frame.astype(float), out.astype(float), m, (0.0, 4095.0))
    assert r.texture_ratio <= 3.0
    if p < 1.0:
        assert r.step_ratio <= 1.5, r

