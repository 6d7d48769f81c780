from __future__ import annotations

import numpy as np
import pytest

from medeid_gui.ml.patches import edges, grid_mask, n_blocked, random_order, rank_patches, upsample_grid


@pytest.mark.parametrize("p,k", [(0.0, 0), (1.0, 256), (0.5, 128), (0.25, 64), (0.1, 26)])
def test_n_blocked(p: float, k: int) -> None:
    assert n_blocked(p, 256) == k


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bad_level_refused(p: float) -> None:
    with pytest.raises(ValueError):
        n_blocked(p, 256)


def test_rank_orders_by_score_and_is_seeded() -> None:
    score = np.arange(16, dtype=np.float32).reshape(4, 4)
    assert list(rank_patches(score, 0)[:3]) == [15, 14, 13]
    flat = np.zeros((4, 4))
    assert not np.array_equal(rank_patches(flat, 1), rank_patches(flat, 2))
    assert np.array_equal(rank_patches(flat, 3), rank_patches(flat, 3))


def test_grid_mask_and_upsampling_keep_fraction() -> None:
    m = grid_mask(random_order(256, 4), 0.3, 16)
    assert m.sum() == 77
    for shape in [(512, 512), (37, 53), (255, 301)]:
        up = upsample_grid(m, shape)
        assert up.shape == shape
        e0, e1 = edges(shape[0], 16), edges(shape[1], 16)
        area = np.outer(np.diff(e0), np.diff(e1))
        assert up.sum() == area[m].sum()


def test_upsampled_pixel_takes_the_value_of_the_patch_it_lies_in() -> None:
    values = np.random.default_rng(2).random((16, 16)).astype(np.float32)
    for shape in [(512, 512), (37, 53), (255, 301), (16, 16)]:
        up = upsample_grid(values, shape)
        e0, e1 = edges(shape[0], 16), edges(shape[1], 16)
        rows = np.searchsorted(e0, np.arange(shape[0]), side="right") - 1
        cols = np.searchsorted(e1, np.arange(shape[1]), side="right") - 1
        assert up.dtype == values.dtype and np.array_equal(up, values[rows][:, cols])


def test_edges_cover_axis() -> None:
    e = edges(37, 16)
    assert e[0] == 0 and e[-1] == 37 and np.all(np.diff(e) >= 2)
