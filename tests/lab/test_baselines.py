from __future__ import annotations

import numpy as np
import pytest

from medeid_gui.lab import baselines
from medeid_gui.lab.registry import get_method

BASELINES = ("identity", "blur", "pixelate", "dp-pix", "random-block")
LEVELS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)


@pytest.fixture(scope="module")
def frames():
    from medeid_gui.lab.cohort import render, sample_anatomy, sample_study

    out = []
    for p in range(2):
        a = sample_anatomy(np.random.default_rng([5, p]))
        st = sample_study(np.random.default_rng([6, p]), (0.5, 0.5, 0.5))
        out.append(render(a, st, 256, noise_rng=np.random.default_rng(p))[0])
    return np.stack(out)


@pytest.mark.parametrize("name", BASELINES)
def test_level_zero_is_bit_exact_and_shape_kept(name, frames):
    m = get_method(name)
    assert np.array_equal(m.apply(frames, 0.0, np.random.default_rng(0)), frames)
    for p in LEVELS:
        y = m.apply(frames, p, np.random.default_rng(0))
        assert y.shape == frames.shape and y.dtype == np.float32
        assert 0 <= y.min() and y.max() <= 1


@pytest.mark.parametrize("name", BASELINES[1:])
def test_every_nonzero_level_changes_the_image_and_strength_grows(name, frames):
    m = get_method(name)
    change = [float(np.abs(m.apply(frames, p, np.random.default_rng(1)) - frames).mean())
              for p in LEVELS]
    assert all(c > 0 for c in change[1:]), change
    assert change[-1] > change[1]
    # monotone up to a little randomness
    assert all(b >= a * 0.9 for a, b in zip(change[1:], change[2:])), change


def test_dp_pix_laplace_scale_matches_fan_2018():
    """Block means get Laplace noise of scale m / (b^2 eps): mean |noise| = scale,
    variance = 2 scale^2 (statistical check on 64k blocks)."""
    rng = np.random.default_rng(0)
    x = np.full((16, 256, 256), 0.3, dtype=np.float32)
    for b, eps in ((4, 1.0), (8, 0.5), (16, 0.1)):
        noisy, clean = baselines.dp_pix_blocks(x, b, eps, rng, m=16)
        assert np.allclose(clean, 0.3, atol=1e-6)
        noise = (noisy - clean).ravel()
        scale = 16 / (b * b * eps)
        assert abs(np.abs(noise).mean() / scale - 1) < 0.05
        assert abs(noise.var() / (2 * scale**2) - 1) < 0.1
        assert abs(np.median(noise)) < 0.05 * scale
    with pytest.raises(ValueError):
        baselines.dp_pix_blocks(x, 0, 1.0, rng)


def test_dp_pix_levels_follow_the_documented_schedule():
    assert baselines.dp_pix_params(0.0, 256) == (4, 10.0)
    b, eps = baselines.dp_pix_params(1.0, 256)
    assert b == 16 and abs(eps - 10**-0.5) < 1e-12


def test_random_block_fills_the_requested_fraction_grey():
    x = np.zeros((3, 64, 64), dtype=np.float32)
    y = baselines.random_block(x, 0.25, np.random.default_rng(0))
    assert np.allclose((y == baselines.GREY).mean(axis=(1, 2)), 0.25)
    # different images get different cells
    assert not np.array_equal(y[0], y[1])


def test_pixelate_is_block_constant():
    x = np.random.default_rng(0).random((1, 64, 64)).astype(np.float32)
    y = baselines.pixelate(x, 1.0, np.random.default_rng(0))  # b = 8 at 64 px
    assert np.allclose(y[0, :8, :8], x[0, :8, :8].mean(), atol=1e-6)
