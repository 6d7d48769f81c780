"""A training-free re-identification attacker: thumbnails and image geometry.

Why: before crediting a learned privacy method, the floor must be known: how well does a trivial
attacker link two images of one patient taken on different days? Two cues need no training:

* appearance: the Pearson correlation of tiny (16x16, 32x32) box-averaged thumbnails; the same
  patient's radiographs share body habitus, positioning and often the same export framing;
* geometry: images of one patient often come from the same source at the same size and aspect
  ratio (``orig_width`` x ``orig_height``, or the array's own size).

Scores are verification scores over image pairs: positives are the same patient on different
(known) days, negatives are different patients; same-patient pairs of one day or an unknown day
are left out. AUCs come with a patient-level (cluster) bootstrap CI: pairs sharing a patient are
not independent, so patients, not pairs, are resampled.

The attacker takes two lists of arrays (``images_a[i]`` and ``images_b[i]`` are two versions of
image i), so it scores de-identified images as well as originals: pass the de-identified list
twice, or originals and de-identified to ask whether a protected image links to the patient's
unprotected image of another day. Pure numpy; no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medeid_gui.lab.metrics import rankdata, roc_auc

__all__ = [
    "AucCI",
    "aspect_scores",
    "bootstrap_auc",
    "paired_auc_difference",
    "box_resize",
    "geometry_scores",
    "pair_labels",
    "rank_combine",
    "thumbnail_scores",
    "thumbnails",
    "verification",
    "weighted_auc",
]


@dataclass(frozen=True)
class AucCI:
    auc: float
    lo: float
    hi: float
    positives: int
    negatives: int

    def __str__(self) -> str:
        return f"{self.auc:.3f} [{self.lo:.3f}, {self.hi:.3f}] ({self.positives} pos / {self.negatives} neg pairs)"


def box_resize(img: np.ndarray, size: int) -> np.ndarray:
    """Mean over ``size`` x ``size`` nearly equal blocks (colour averaged to grey); float64.

    Box averaging, not interpolation: every source pixel counts once, so the thumbnail is the
    same whatever the source resolution (the real images were downscaled by their exporters).
    """
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 3:
        a = a.mean(axis=2)
    h, w = a.shape
    if h < size or w < size:
        raise ValueError(f"image of {w} x {h} is smaller than a {size} x {size} thumbnail")
    rows = np.linspace(0, h, size + 1).astype(int)[:-1]
    cols = np.linspace(0, w, size + 1).astype(int)[:-1]
    sums = np.add.reduceat(np.add.reduceat(a, rows, axis=0), cols, axis=1)
    counts = np.outer(np.diff(np.append(rows, h)), np.diff(np.append(cols, w)))
    return sums / counts


def thumbnails(images: Sequence[np.ndarray], size: int) -> np.ndarray:
    """(N, size*size) thumbnails, each centred and scaled to unit norm (dot product = Pearson r)."""
    t = np.stack([box_resize(im, size).ravel() for im in images])
    t -= t.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(t, axis=1, keepdims=True)
    return t / np.where(norm > 0, norm, 1.0)


def thumbnail_scores(images_a: Sequence[np.ndarray], images_b: Sequence[np.ndarray], size: int = 16) -> np.ndarray:
    """(Na, Nb) Pearson correlations of the two lists' normalised thumbnails."""
    return thumbnails(images_a, size) @ thumbnails(images_b, size).T


def _log_shapes(shapes: Sequence[tuple[int, int]]) -> np.ndarray:
    s = np.asarray(shapes, dtype=np.float64).reshape(-1, 2)
    if np.any(s <= 0):
        raise ValueError("image sizes must be positive")
    return np.log(s)


def geometry_scores(shapes_a: Sequence[tuple[int, int]], shapes_b: Sequence[tuple[int, int]]) -> np.ndarray:
    """Similarity of (height, width) sizes: minus the L1 distance of their logs (1.0 = equal)."""
    la, lb = _log_shapes(shapes_a), _log_shapes(shapes_b)
    return -np.abs(la[:, None, :] - lb[None, :, :]).sum(axis=2)


def aspect_scores(shapes_a: Sequence[tuple[int, int]], shapes_b: Sequence[tuple[int, int]]) -> np.ndarray:
    """Similarity of aspect ratios alone: minus |log(h/w) difference|."""
    la, lb = _log_shapes(shapes_a), _log_shapes(shapes_b)
    ra, rb = la[:, 0] - la[:, 1], lb[:, 0] - lb[:, 1]
    return -np.abs(ra[:, None] - rb[None, :])


def pair_labels(patients: Sequence[str], days: Sequence[int | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs i < j kept for verification: (i, j, label) with label 1 = same patient, other day.

    Same-patient pairs of the same or an unknown day are dropped: they are not "another day".
    """
    p = np.asarray([str(x) for x in patients])
    d = np.asarray([np.nan if x is None else float(x) for x in days])
    i, j = np.triu_indices(len(p), k=1)
    same = p[i] == p[j]
    other_day = ~np.isnan(d[i]) & ~np.isnan(d[j]) & (d[i] != d[j])
    keep = ~same | other_day
    return i[keep], j[keep], same[keep].astype(np.int8)


class _SortedPairs:
    """Scores sorted once, so a re-weighted AUC costs one cumulative sum (the bootstrap's loop)."""

    def __init__(self, scores: np.ndarray, labels: np.ndarray) -> None:
        s = np.asarray(scores, dtype=np.float64)
        self.y = np.asarray(labels).astype(bool)
        self.neg_order = np.flatnonzero(~self.y)[np.argsort(s[~self.y], kind="stable")]
        neg_s = s[self.neg_order]
        pos_s = s[self.y]
        self.below = np.searchsorted(neg_s, pos_s, side="left")
        self.upto = np.searchsorted(neg_s, pos_s, side="right")

    def auc(self, weights: np.ndarray) -> float:
        w = np.asarray(weights, dtype=np.float64)
        pos_w, neg_w = w[self.y], w[self.neg_order]
        tot_pos, tot_neg = pos_w.sum(), neg_w.sum()
        if tot_pos <= 0 or tot_neg <= 0:
            return float("nan")
        cum = np.concatenate([[0.0], np.cumsum(neg_w)])
        below, upto = cum[self.below], cum[self.upto]
        return float((pos_w * (below + 0.5 * (upto - below))).sum() / (tot_pos * tot_neg))


def weighted_auc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """ROC AUC with per-pair weights (ties count one half); NaN when a class has no weight."""
    return _SortedPairs(scores, labels).auc(weights)


def bootstrap_auc(scores: np.ndarray, labels: np.ndarray, pair_patients: tuple[np.ndarray, np.ndarray],
                  *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> AucCI:
    """AUC and a percentile CI from resampling patients with replacement.

    A patient drawn k times weighs its own pairs by k and its pairs with another patient drawn m
    times by k*m (the pairs the resampled set would hold, copies of one patient aside).
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    a, b = pair_patients
    _, inv = np.unique(np.concatenate([np.asarray(a), np.asarray(b)]), return_inverse=True)
    ia, ib = inv[: len(a)], inv[len(a):]
    n_pat = int(inv.max()) + 1 if len(inv) else 0
    auc = roc_auc(y, s)
    sorted_pairs = _SortedPairs(s, y)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        w_pat = np.bincount(rng.integers(0, n_pat, n_pat), minlength=n_pat).astype(np.float64)
        v = sorted_pairs.auc(np.where(y, w_pat[ia], w_pat[ia] * w_pat[ib]))
        if not np.isnan(v):
            boots.append(v)
    alpha = (1 - level) / 2
    lo, hi = (np.quantile(boots, [alpha, 1 - alpha]) if boots else (np.nan, np.nan))
    return AucCI(float(auc), float(lo), float(hi), int(y.sum()), int((~y).sum()))


def paired_auc_difference(scores_a: np.ndarray, scores_b: np.ndarray, labels: np.ndarray,
                          pair_patients: tuple[np.ndarray, np.ndarray], *, n_boot: int = 1000,
                          seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """AUC(a) - AUC(b) over the same pairs, with a percentile CI from the same patient resamples.

    Why paired: two releases of the same test images share the patients that make either AUC's CI
    wide; resampling both together cancels that shared part, so a method can be told from another
    where the two separate CIs overlap (and cannot be, honestly, where this CI holds 0)."""
    y = np.asarray(labels).astype(bool)
    a, b = pair_patients
    _, inv = np.unique(np.concatenate([np.asarray(a), np.asarray(b)]), return_inverse=True)
    ia, ib = inv[: len(a)], inv[len(a):]
    n_pat = int(inv.max()) + 1 if len(inv) else 0
    sa, sb = _SortedPairs(scores_a, y), _SortedPairs(scores_b, y)
    diff = roc_auc(y, np.asarray(scores_a, np.float64)) - roc_auc(y, np.asarray(scores_b, np.float64))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        w_pat = np.bincount(rng.integers(0, n_pat, n_pat), minlength=n_pat).astype(np.float64)
        w = np.where(y, w_pat[ia], w_pat[ia] * w_pat[ib])
        d = sa.auc(w) - sb.auc(w)
        if not np.isnan(d):
            boots.append(d)
    alpha = (1 - level) / 2
    lo, hi = (np.quantile(boots, [alpha, 1 - alpha]) if boots else (np.nan, np.nan))
    return float(diff), float(lo), float(hi)


def rank_combine(*scores: np.ndarray) -> np.ndarray:
    """Training-free fusion: the mean of each score's normalised rank over the scored pairs.

    Uses no labels, so it is as training-free as its parts.
    """
    return np.mean([rankdata(s) / len(s) for s in scores], axis=0)


def _pairs_of(matrix: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """A pair's score, symmetrised (a_i vs b_j and a_j vs b_i) for two different lists."""
    return 0.5 * (matrix[i, j] + matrix[j, i])


def verification(images_a: Sequence[np.ndarray], images_b: Sequence[np.ndarray] | None,
                 patients: Sequence[str], days: Sequence[int | None], *,
                 sizes: Sequence[tuple[int, int]] | None = None, thumb_sizes: Sequence[int] = (16, 32),
                 n_boot: int = 1000, seed: int = 0) -> dict[str, AucCI]:
    """Verification AUCs of every cue and of thumbnails + geometry combined.

    ``images_b`` None means the same list as ``images_a``. ``sizes`` are (height, width) per
    image for the geometry cue (e.g. the originals' size from the metadata); without them the
    arrays' own shapes are used. Keys: ``thumb{N}``, ``aspect``, ``size``, ``thumb{N}+size``.
    """
    b = images_a if images_b is None else images_b
    if not (len(images_a) == len(b) == len(patients) == len(days)):
        raise ValueError("images_a, images_b, patients and days must have one entry per image")
    i, j, y = pair_labels(patients, days)
    pats = np.asarray([str(p) for p in patients])
    pp = (pats[i], pats[j])
    shapes_a = list(sizes) if sizes is not None else [np.shape(x)[:2] for x in images_a]
    shapes_b = list(sizes) if sizes is not None else [np.shape(x)[:2] for x in b]
    cues: dict[str, np.ndarray] = {}
    for n in thumb_sizes:
        cues[f"thumb{n}"] = _pairs_of(thumbnail_scores(images_a, b, n), i, j)
    cues["aspect"] = _pairs_of(aspect_scores(shapes_a, shapes_b), i, j)
    cues["size"] = _pairs_of(geometry_scores(shapes_a, shapes_b), i, j)
    for n in thumb_sizes:
        cues[f"thumb{n}+size"] = rank_combine(cues[f"thumb{n}"], cues["size"])
    return {k: bootstrap_auc(v, y, pp, n_boot=n_boot, seed=seed) for k, v in cues.items()}
