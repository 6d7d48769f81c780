"""Patch grid arithmetic for identity blocking (numpy only).

Why separate: the privacy level (``privacy``) is defined on patches ("the fraction of image
patches blocked, ranked by identity relevance"), and the same grid has to be laid over the working
image (``GRID x GRID`` patches of ``WORK_SIZE / GRID`` pixels) and over the full-resolution frame
of any size (patch edges at ``round(k * H / GRID)``), so that the mask fraction is the level in
both and the full-resolution mask is exactly the up-sampled working mask.

``n_blocked`` is the one place in ``ml`` where the level's range is checked: every path that
blocks patches (``deidentify``, ``apply_level``, the engine's batches, training masks) reaches it.
"""

from __future__ import annotations

import numpy as np

from medeid_gui.ml.privacy import check_privacy


def n_blocked(privacy: float, n_patches: int) -> int:
    """Number of patches blocked at level ``privacy`` (in [0, 1]; 0 -> none, 1 -> all)."""
    return int(round(check_privacy(privacy) * n_patches))


def rank_patches(score: np.ndarray, seed: int = 0) -> np.ndarray:
    """Patch indices (flattened) in blocking order: highest score first.

    Ties (and near-ties below float32 resolution) are broken by a seeded jitter so the order is
    deterministic for a seed and does not favour the top-left corner.
    """
    s = np.asarray(score, dtype=np.float64).ravel()
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 7])
    jitter = rng.random(s.size) * 1e-9 * (np.abs(s).max() + 1e-12)
    return np.argsort(-(s + jitter), kind="stable")


def random_order(n_patches: int, seed: int = 0) -> np.ndarray:
    """A seeded random blocking order (the ``medeid-random`` ablation)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, 11]).permutation(n_patches)


def grid_mask(order: np.ndarray, privacy: float, grid: int) -> np.ndarray:
    """(grid, grid) bool mask with the first ``n_blocked(privacy)`` patches of ``order`` set."""
    k = n_blocked(privacy, grid * grid)
    m = np.zeros(grid * grid, dtype=bool)
    m[np.asarray(order[:k], dtype=np.int64)] = True
    return m.reshape(grid, grid)


def edges(length: int, grid: int) -> np.ndarray:
    """Patch boundaries along one axis of ``length`` pixels: grid + 1 integers from 0 to length."""
    return np.round(np.arange(grid + 1) * (length / grid)).astype(np.int64)


def upsample_grid(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest (piecewise-constant) up-sampling of a (grid, grid) array onto ``shape`` pixels.

    Two axis-wise ``np.repeat`` calls rather than one fancy-indexed gather: the same array, about
    ten times faster at 512 x 512 (it runs three times per slider move).
    """
    g0, g1 = values.shape
    rows = np.repeat(values, np.diff(edges(shape[0], g0)), axis=0)
    return np.repeat(rows, np.diff(edges(shape[1], g1)), axis=1)
