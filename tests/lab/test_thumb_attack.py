"""thumb_attack: thumbnails, pair labels, weighted/bootstrapped AUC and the verification cues."""

from __future__ import annotations

import numpy as np
import pytest

from medeid_gui.lab.metrics import roc_auc
from medeid_gui.lab.thumb_attack import (
    bootstrap_auc,
    box_resize,
    geometry_scores,
    pair_labels,
    paired_auc_difference,
    rank_combine,
    thumbnail_scores,
    verification,
    weighted_auc,
)


def test_box_resize_is_a_block_mean() -> None:
    a = np.arange(64 * 48, dtype=np.float64).reshape(64, 48)
    want = a.reshape(16, 4, 16, 3).mean(axis=(1, 3))
    assert np.allclose(box_resize(a, 16), want)
    odd = np.random.default_rng(0).random((37, 53))
    t = box_resize(odd, 16)
    assert t.shape == (16, 16) and np.isclose(t[0, 0], odd[:2, :3].mean())
    assert np.allclose(box_resize(np.full((20, 30, 3), 7.0), 16), 7.0)
    with pytest.raises(ValueError):
        box_resize(np.zeros((8, 40)), 16)


def test_thumbnail_scores_are_pearson() -> None:
    rng = np.random.default_rng(1)
    a = rng.random((64, 64))
    s = thumbnail_scores([a, a], [a * 3 + 1, 1 - a], size=16)
    assert np.allclose(s, [[1, -1], [1, -1]])
    t = box_resize(a, 16).ravel()
    b = rng.random((64, 64))
    assert np.isclose(thumbnail_scores([a], [b])[0, 0], np.corrcoef(t, box_resize(b, 16).ravel())[0, 1])


def test_pair_labels_drop_same_or_unknown_day() -> None:
    i, j, y = pair_labels(["a", "a", "a", "b"], [0, 5, None, 0])
    pairs = {(int(p), int(q)): int(v) for p, q, v in zip(i, j, y)}
    assert pairs == {(0, 1): 1, (0, 3): 0, (1, 3): 0, (2, 3): 0}
    _, _, y2 = pair_labels(["a", "a"], [3, 3])
    assert len(y2) == 0


def test_weighted_auc_matches_duplicated_data() -> None:
    rng = np.random.default_rng(2)
    s = np.round(rng.normal(size=300), 1)
    y = rng.random(300) < 0.3
    s[y] += 0.7
    assert np.isclose(weighted_auc(s, y, np.ones(300)), roc_auc(y, s))
    w = rng.integers(0, 4, 300)
    rep = np.repeat(np.arange(300), w)
    assert np.isclose(weighted_auc(s, y, w), roc_auc(y[rep], s[rep]))


def test_bootstrap_ci_brackets_the_auc() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    pa, pb = rng.integers(0, 60, n), rng.integers(0, 60, n)
    y = rng.random(n) < 0.1
    s = rng.normal(size=n) + y
    ci = bootstrap_auc(s, y, (pa, pb), n_boot=200, seed=0)
    assert ci.lo < ci.auc < ci.hi and 0.6 < ci.auc < 0.9
    assert ci.positives == int(y.sum())


def test_paired_difference_is_narrower_than_either_ci_and_zero_for_the_same_scores() -> None:
    rng = np.random.default_rng(5)
    n = 2000
    pa, pb = rng.integers(0, 60, n), rng.integers(0, 60, n)
    y = rng.random(n) < 0.1
    base = rng.normal(size=n) + y  # what both releases share (the patients' own variation)
    a, b = base + 0.3 * rng.normal(size=n), base + 0.3 * rng.normal(size=n) + 0.15 * y
    d, lo, hi = paired_auc_difference(a, b, y, (pa, pb), n_boot=300, seed=0)
    ca, cb = bootstrap_auc(a, y, (pa, pb), n_boot=300), bootstrap_auc(b, y, (pa, pb), n_boot=300)
    assert d == pytest.approx(ca.auc - cb.auc)
    assert lo <= d <= hi < 0  # b links better, and the paired CI says so
    assert ca.hi > cb.lo  # though the two separate CIs overlap
    assert hi - lo < min(ca.hi - ca.lo, cb.hi - cb.lo)
    assert paired_auc_difference(a, a, y, (pa, pb), n_boot=50) == (0.0, 0.0, 0.0)


def _patients(rng: np.random.Generator, n_pat: int = 12, per: int = 3):
    """Each patient: a fixed smooth 'anatomy' plus per-image noise, and a patient-specific size."""
    images, pats, days, sizes = [], [], [], []
    for p in range(n_pat):
        base = box_resize(rng.random((64, 64)), 8)
        h, w = 60 + 4 * p, 50 + 3 * p
        for d in range(per):
            img = np.resize(np.kron(base, np.ones((10, 10))), (h, w))
            images.append(img + 0.3 * rng.random((h, w)))
            pats.append(f"P{p}")
            days.append(d)
            sizes.append((h, w))
    return images, pats, days, sizes


def test_verification_finds_shared_anatomy_and_size_and_deid_hides_it() -> None:
    rng = np.random.default_rng(4)
    images, pats, days, _sizes = _patients(rng)
    res = verification(images, None, pats, days, n_boot=50)
    assert res["thumb16"].auc > 0.95 and res["size"].auc == 1.0
    assert res["thumb16"].positives == 12 * 3
    # a "de-identification" that replaces the pixels with noise leaves only the geometry cue
    noise = [rng.random(im.shape) for im in images]
    deid = verification(noise, None, pats, days, n_boot=50)
    assert abs(deid["thumb16"].auc - 0.5) < 0.2 and deid["size"].auc == 1.0
    # originals vs de-identified: two lists of arrays
    mixed = verification(images, noise, pats, days, sizes=[(100, 100)] * len(images), n_boot=50)
    assert abs(mixed["thumb32"].auc - 0.5) < 0.2 and mixed["size"].auc == 0.5
    with pytest.raises(ValueError):
        verification(images[:3], None, pats, days)


def test_rank_combine_and_geometry() -> None:
    g = geometry_scores([(100, 50)], [(100, 50), (200, 50)])
    assert np.allclose(g, [[0.0, -np.log(2)]])
    c = rank_combine(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0]))
    assert np.allclose(c, 2 / 3)
