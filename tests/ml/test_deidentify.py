"""deidentify(): shapes/dtypes at odd sizes, colour and multi-frame, p = 0 exactness, mask
fraction, unblocked pixels untouched, determinism. Uses the real architecture with random
weights so it does not depend on a training run (tests/ml/test_shipped_model.py covers those)."""

from __future__ import annotations

import numpy as np
import pytest

from medeid_gui.ml.deidentify import analyse, apply_level, deidentify

CASES = [
    ((37, 53), np.uint16),
    ((255, 301), np.float32),
    ((128, 128), np.int16),
    ((61, 67, 3), np.uint8),
    ((40, 44, 4), np.uint8),
    ((3, 40, 44), np.int16),  # multi-frame grey
    ((2, 33, 35, 3), np.uint8),  # multi-frame colour
    ((5, 7), np.float64),  # smaller than the patch grid
]


def _frame(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        hi = min(np.iinfo(dtype).max, 4095)
        return rng.integers(0, hi, size=shape).astype(dtype)
    return (rng.random(shape) * 1000 - 200).astype(dtype)


@pytest.mark.parametrize("shape,dtype", CASES)
def test_shapes_dtypes_and_exactness(random_model, shape, dtype) -> None:
    x = _frame(shape, dtype)
    before = x.copy()
    out, idmap, mask = deidentify(x, 0.5, seed=1, model=random_model)
    assert np.array_equal(x, before), "input must not be modified"
    assert out.shape == x.shape and out.dtype == x.dtype
    spatial = shape[:-1] if len(shape) in (3, 4) and shape[-1] in (3, 4) else shape
    assert idmap.shape == spatial and idmap.dtype == np.float32
    assert mask.shape == spatial and mask.dtype == bool
    assert 0.0 <= idmap.min() and idmap.max() <= 1.0
    assert mask.any()
    # unblocked pixels are copied bit-exactly
    keep = ~mask
    if out.ndim > mask.ndim:
        keep = np.broadcast_to(keep[..., None], out.shape)
    assert np.array_equal(out[keep], x[keep])
    # p = 0 returns the input bit-exactly
    out0, idmap0, mask0 = deidentify(x, 0.0, seed=1, model=random_model)
    assert out0.tobytes() == x.tobytes() and out0.dtype == x.dtype and not mask0.any()
    assert np.array_equal(idmap0, idmap)


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.75, 1.0])
def test_mask_fraction(random_model, p) -> None:
    x = _frame((512, 512), np.uint16)
    a = analyse(x, random_model)
    _, _, mask = apply_level(a, p, seed=0)
    assert abs(mask.mean() - p) <= 1 / 512  # whole 32x32 patches of a 16x16 grid
    _, _, m2 = apply_level(analyse(_frame((301, 255), np.float32), random_model), p)
    assert abs(m2.mean() - p) < 0.02  # uneven patch sizes at odd sizes


def test_identity_ranking_blocks_top_patches(random_model) -> None:
    a = analyse(_frame((256, 256), np.uint16), random_model)
    _, _, m = apply_level(a, 0.25)
    grid_mask = m[::16, ::16]
    thr = np.sort(a.identity.ravel())[::-1][63]
    assert grid_mask.sum() == 64 and (a.identity[grid_mask] >= thr).all()


def test_deterministic_with_seed(random_model) -> None:
    x = _frame((97, 131), np.float32, seed=3)
    r1 = deidentify(x, 0.6, seed=7, model=random_model)
    r2 = deidentify(x, 0.6, seed=7, model=random_model)
    for a, b in zip(r1, r2):
        assert np.array_equal(a, b)
    ra = deidentify(x, 0.6, seed=7, model=random_model, variant="random")
    rb = deidentify(x, 0.6, seed=8, model=random_model, variant="random")
    assert not np.array_equal(ra[2], rb[2])


@pytest.mark.parametrize("variant", ["medeid", "random", "no-comp", "no-mdl"])
def test_variants_fill_blocked_patches(random_model, variant) -> None:
    x = _frame((64, 80), np.float32)
    out, _, mask = deidentify(x, 1.0, seed=0, model=random_model, variant=variant)
    assert mask.all() and np.isfinite(out).all()
    assert not np.array_equal(out, x)


def test_bad_input_refused(random_model) -> None:
    with pytest.raises(ValueError):
        deidentify(np.zeros((10,)), 0.5, model=random_model)
    with pytest.raises(ValueError):
        deidentify(np.zeros((1, 50)), 0.5, model=random_model)
    with pytest.raises(ValueError):
        deidentify(np.zeros((20, 20)), 1.2, model=random_model)
    with pytest.raises(ValueError):
        deidentify(np.zeros((20, 20)), 0.5, model=random_model, variant="nope")
    with pytest.raises(ValueError):
        deidentify(np.full((20, 20), np.nan), 0.5, model=random_model)
