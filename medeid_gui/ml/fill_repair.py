"""Repairs of the compensator's fill before it is written into the blocked patches of a frame.

Why (issue #14, measured by ``lab.fill_quality`` on the real CR chest RG1): the raw fill had a
periodic texture, hard seams at the block borders and a brightness unrelated to the image around
it.  What :func:`repair_fill` does about each, and why only the first is repaired:

* **Checkerboard**: the compensator's last stage ``pixel_shuffle`` interleaves 4 channels into
  2 x 2 pixels; when they disagree that is a 2-pixel period at the working resolution, which the
  bilinear up-sampling to 2k turns into a ~30-px grid.  :func:`nyquist_notch` (binomial filter,
  zero response at exactly that period) removes it at its source frequency and
  :func:`upsample_smooth` (cubic spline) replaces the bilinear resize, which is kinked at every
  working pixel.
* **Seams and brightness jumps are not corrected, on purpose.**  Session 8 added corrections
  that read the surroundings or the original's mean: :func:`match_surround` (a harmonic,
  Poisson-editing offset field equal to "original minus fill" on the unblocked pixels),
  :func:`feather_border`, and :func:`anchor_mean` (the frame's mean set to the original's).  On
  RG1 they met every fill-quality bound, but the privacy-utility evaluation on the generated
  cohort (same weights, same attacker) showed what they cost: at p = 0.5 the attacker's AUC rose
  from 0.82 to 0.88 and the lesion-burden R^2 fell from 0.73 to -0.25; at p = 1 the mean anchor
  alone raised the attacker from 0.55 to 0.63 (the original's mean grey identifies) and halved
  the lesion-burden R^2.  A single brightness offset from a ring of shown pixels still cut that
  R^2 to 0.23 (0.06 with a 2-px feather).  They paint the neighbours' brightness -- the patient's
  own anatomy and lesions -- back into the blocked patches.  So the fill is the model's alone;
  where its brightness is wrong the model is outside its training distribution, which the
  familiarity gate reports (and the export then keeps the pixels) rather than disguises.  The
  functions stay here for ``lab.fill_fix``'s measurements.

Privacy rule: :func:`repair_fill` reads nothing of the original but its shape.  Only blocked
pixels are ever written (the caller composes), so unblocked pixels stay bit-identical.

Plain numpy / scipy, no torch: ``ml.deidentify`` and ``ml.engine`` call :func:`repair_fill` with
the working-resolution fill as a numpy array; ``lab.fill_fix`` re-exports these for measurement.
"""

from __future__ import annotations

import numpy as np

from .spline_resize import resize_cubic

__all__ = ["nyquist_notch", "upsample_smooth", "harmonic_extend", "match_surround",
           "feather_border", "anchor_mean", "repair_fill", "COARSE", "REPAIR_VERSION"]

#: bumped whenever a repair step changes its output, so that cached evaluation results and
#: resumed exports are never mixed across two versions of the fill
REPAIR_VERSION = "2"

#: the harmonic offset field is solved on a grid of at most this many cells per side
COARSE = 192


def nyquist_notch(fill_work: np.ndarray) -> np.ndarray:
    """Separable binomial [1, 2, 1] / 4 filter of the working-resolution fill (edge-reflected).

    Why this filter: its response is cos^2(pi f), exactly 0 at the 2-pixel period the
    pixel-shuffle output stage produces and ~1 at the anatomy's scale.
    """
    f = np.asarray(fill_work, dtype=np.float64)
    p = np.pad(f, 1, mode="reflect")
    rows = (p[:-2, :] + 2.0 * p[1:-1, :] + p[2:, :]) / 4.0
    return (rows[:, :-2] + 2.0 * rows[:, 1:-1] + rows[:, 2:]) / 4.0


def upsample_smooth(fill_work: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Cubic-spline resize of a working-resolution image to ``shape`` (pixel-area aligned, as
    ``F.interpolate(align_corners=False)``); continuous slopes, so no grid at the working pitch.

    Bit for bit scipy's ``ndimage.zoom(order=3, mode="grid-mirror", grid_mode=True)``, which it
    was until repair version 2 was evaluated, computed by :mod:`ml.spline_resize` in numpy so
    that the app does not ship scipy."""
    return resize_cubic(fill_work, shape)


def _block_mean(a: np.ndarray, w: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted s x s block means of ``a`` (weights ``w``) and the blocks' weight fractions."""
    h, wd = a.shape
    H, W = -(-h // s), -(-wd // s)
    pa = np.zeros((H * s, W * s))
    pw = np.zeros((H * s, W * s))
    pa[:h, :wd] = a * w
    pw[:h, :wd] = w
    num = pa.reshape(H, s, W, s).sum((1, 3))
    den = pw.reshape(H, s, W, s).sum((1, 3))
    mean = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return mean, den / float(s * s)


def harmonic_extend(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The smoothest field (discrete Laplace equation) equal to ``values`` where ``known``.

    Why harmonic: it is the offset field of Poisson image editing (Perez et al. 2003): added to a
    fill it meets the surroundings at the border and keeps the fill's own gradients inside.
    Unknown cells with no known cell in their connected region get 0.
    """
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    v = np.asarray(values, dtype=np.float64)
    k = np.asarray(known, dtype=bool)
    out = np.where(k, v, 0.0)
    unk = ~k
    n = int(unk.sum())
    if n == 0 or not k.any():
        return out
    h, w = v.shape
    idx = -np.ones((h, w), dtype=np.int64)
    idx[unk] = np.arange(n)
    rows, cols, data = [], [], []
    rhs = np.zeros(n)
    deg = np.zeros(n)
    ys, xs = np.nonzero(unk)
    me = idx[ys, xs]
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        deg[me[inside]] += 1
        ny, nx, m_in = ny[inside], nx[inside], me[inside]
        nb_unknown = unk[ny, nx]
        rows.append(m_in[nb_unknown])
        cols.append(idx[ny[nb_unknown], nx[nb_unknown]])
        data.append(-np.ones(int(nb_unknown.sum())))
        np.add.at(rhs, m_in[~nb_unknown], v[ny[~nb_unknown], nx[~nb_unknown]])
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    data.append(deg)
    A = sparse.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    # regions without any known neighbour make A singular: a tiny diagonal term sends them to 0
    A = A + sparse.identity(n) * 1e-9
    out[unk] = spsolve(A.tocsc(), rhs)
    return out


def match_surround(original: np.ndarray, fill: np.ndarray, mask: np.ndarray, *,
                   coarse: int = COARSE) -> np.ndarray:
    """The fill plus a smooth offset field that continues the unblocked pixels' brightness.

    ``d = original - fill`` is known on the unblocked pixels (the compensator returns a whole
    frame); it is averaged on a coarse grid (at most ``coarse`` cells a side), wholly unblocked
    cells are kept, the others solved by :func:`harmonic_extend`, and the field is resized to full
    resolution and added.  Nothing or everything blocked: the fill unchanged.
    """
    o = np.asarray(original, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    f = np.asarray(fill, dtype=np.float64)
    if m.all() or not m.any():
        return f
    s = max(1, int(np.ceil(max(o.shape) / coarse)))
    d_c, frac = _block_mean(o - f, (~m).astype(np.float64), s)
    known = frac >= 0.999
    if not known.any():
        return f
    field_c = harmonic_extend(d_c, known)
    field = upsample_smooth(field_c, (d_c.shape[0] * s, d_c.shape[1] * s))[: o.shape[0], : o.shape[1]]
    return f + field


def feather_border(original: np.ndarray, fill: np.ndarray, mask: np.ndarray, *,
                   width: float = 12.0, smooth: float = 1.0) -> np.ndarray:
    """Close the fine step left at the block border: the residual ``original - fill`` of the
    nearest unblocked pixel (lightly smoothed over unblocked pixels) is added inside the block
    with a weight falling linearly from 1 at the border to 0 at ``width`` pixels."""
    from scipy import ndimage

    o = np.asarray(original, dtype=np.float64)
    f = np.asarray(fill, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    if m.all() or not m.any():
        return f
    free = (~m).astype(np.float64)
    r = np.where(m, 0.0, o - f)
    num = ndimage.gaussian_filter(r, smooth)
    den = ndimage.gaussian_filter(free, smooth)
    r_s = np.divide(num, den, out=np.zeros_like(num), where=den > 1e-6)
    dist, (iy, ix) = ndimage.distance_transform_edt(m, return_indices=True)
    weight = np.clip(1.0 - (dist - 1.0) / width, 0.0, 1.0)
    return f + np.where(m, r_s[iy, ix] * weight, 0.0)


def anchor_mean(fill: np.ndarray, mask: np.ndarray, target_mean: float, *, ramp: float = 64.0,
                rounds: int = 3) -> np.ndarray:
    """Shift the blocked pixels so that their mean *after clipping to [0, 1]* is ``target_mean``;
    the shift's weight is 0 at the block border and rises to 1 over ``ramp`` pixels, so the border
    stays continuous.  A few rounds because clipping eats part of each shift.
    """
    from scipy import ndimage

    f = np.asarray(fill, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return f
    if m.all():
        w = np.ones(m.shape)
    else:
        # chessboard distance: 10x cheaper than the Euclidean one on a 2k frame, and a ramp of the
        # mean shift does not need more (the border step on RG1 is unchanged)
        dist = ndimage.distance_transform_cdt(m, metric="chessboard").astype(np.float64)
        w = np.clip((dist - 1.0) / max(ramp, 1.0), 0.0, 1.0)
    wm = float(w[m].mean())
    if wm <= 1e-9:
        return f
    for _ in range(rounds):
        err = float(target_mean) - float(np.clip(f[m], 0.0, 1.0).mean())
        if abs(err) < 1e-4:
            break
        f = f + (err / wm) * w
    return f


def repair_fill(original: np.ndarray, fill_work: np.ndarray, mask: np.ndarray, *,
                patch: float | None = None) -> np.ndarray:
    """Full-resolution fill in [0, 1] from the compensator's working-resolution fill: the
    checkerboard removed at its source frequency (:func:`nyquist_notch`) and a cubic-spline
    up-sampling (:func:`upsample_smooth`); nothing borrowed from the original.

    ``original`` (the frame's working image at full resolution) gives only the output shape;
    ``fill_work``: (R, R) fill; ``mask``: full-resolution blocked pixels; ``patch`` is accepted
    for the callers' sake and unused.  The caller writes only ``mask`` pixels.  Why no
    brightness or seam correction: see the module docstring (measured on the cohort, every
    correction that reads the surroundings or the original's mean re-identifies and destroys
    the lesion burden).
    """
    del patch, mask
    shape = (int(np.shape(original)[0]), int(np.shape(original)[1]))
    return np.clip(upsample_smooth(nyquist_notch(fill_work), shape), 0.0, 1.0)
