"""The fill repair of :mod:`ml.fill_repair` in torch, batched over frames of one size, on any device.

Why a twin and not a port: on a GPU the numpy/scipy repair (~160 ms per 512 x 512 frame on this
machine's CPU) costs more than the model, so an accelerator waits on it (issue #17 item 3).  Each
step here computes what its numpy namesake computes -- same filters, same cubic spline, same
harmonic offset, same nearest-pixel feathering with scipy's tie rule, same mean anchoring -- on
``(B, H, W)`` tensors on the model's device, so the export keeps the fill that was evaluated.
The numpy path stays the default on the CPU and is never changed by this module;
``tests/ml/test_fill_repair_torch.py`` holds the two to a stated tolerance on real frames.

Where the steps differ in arithmetic (not in method): the harmonic field is solved by batched
conjugate gradients (no sparse direct solver on a GPU) to a relative residual of 1e-7; the
cubic up-sampling is scipy's own ``ndimage.zoom`` applied as two dense matrices (it is linear and
separable), built once per size on the CPU; the Euclidean feature transform is computed only as
far as the feather reaches.  Float64 except on Apple MPS (float32 only there).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np

from medeid_gui.ml.fill_repair import COARSE

if TYPE_CHECKING:
    import torch

__all__ = ["real_dtype", "nyquist_notch", "upsample_smooth", "harmonic_extend", "match_surround",
           "feather_border", "anchor_mean", "repair_fill"]

#: conjugate gradients stop at this residual relative to the right-hand side (per frame); the
#: field then differs from scipy's direct solve by < 1e-6 of the window (measured ~5 x rtol)
CG_RTOL = 1e-7


def real_dtype(device: torch.device | str) -> torch.dtype:
    """float64 where the device has it (CPU, CUDA), float32 on Apple MPS."""
    import torch

    return torch.float32 if torch.device(device).type == "mps" else torch.float64


def nyquist_notch(fill_work: torch.Tensor) -> torch.Tensor:
    """:func:`ml.fill_repair.nyquist_notch` of a (B, R, R) batch (edge-reflected [1, 2, 1] / 4)."""
    import torch.nn.functional as F

    p = F.pad(fill_work[:, None], (1, 1, 1, 1), mode="reflect")[:, 0]
    rows = (p[:, :-2, :] + 2.0 * p[:, 1:-1, :] + p[:, 2:, :]) / 4.0
    return (rows[:, :, :-2] + 2.0 * rows[:, :, 1:-1] + rows[:, :, 2:]) / 4.0


@functools.lru_cache(maxsize=32)
def _zoom_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of scipy's cubic ``zoom`` along one axis, as ``upsample_smooth`` calls
    it (grid-mirror, pixel-area aligned; a short result padded with its edge row, then cut)."""
    from scipy import ndimage

    z = ndimage.zoom(np.eye(n_in), (n_out / n_in, 1.0), order=3, mode="grid-mirror", grid_mode=True)
    if z.shape[0] < n_out:
        z = np.pad(z, ((0, n_out - z.shape[0]), (0, 0)), mode="edge")
    return z[:n_out]


_DEVICE_MATRICES: dict[tuple[int, int, str, str], torch.Tensor] = {}


def _matrix(n_in: int, n_out: int, like: torch.Tensor) -> torch.Tensor:
    """:func:`_zoom_matrix` on ``like``'s device and dtype (kept, one upload per size)."""
    import torch

    key = (n_in, n_out, str(like.device), str(like.dtype))
    if key not in _DEVICE_MATRICES:
        if len(_DEVICE_MATRICES) >= 64:  # an archive of many frame sizes: bounded, not a leak
            _DEVICE_MATRICES.clear()
        _DEVICE_MATRICES[key] = torch.from_numpy(_zoom_matrix(n_in, n_out)).to(like.dtype).to(like.device)
    return _DEVICE_MATRICES[key]


def upsample_smooth(fill: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """:func:`ml.fill_repair.upsample_smooth` of a (B, h, w) batch: ``A @ fill @ B^T``."""
    h, w = int(fill.shape[-2]), int(fill.shape[-1])
    if (h, w) == tuple(shape):
        return fill.clone()
    return _matrix(h, int(shape[0]), fill) @ fill @ _matrix(w, int(shape[1]), fill).T


def _block_mean(a: torch.Tensor, w: torch.Tensor, s: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted s x s block means of a (B, h, w) batch and the blocks' weight fractions."""
    import torch.nn.functional as F

    b, h, wd = a.shape
    H, W = -(-h // s), -(-wd // s)
    pa = F.pad(a * w, (0, W * s - wd, 0, H * s - h))
    pw = F.pad(w, (0, W * s - wd, 0, H * s - h))
    num = pa.reshape(b, H, s, W, s).sum((2, 4))
    den = pw.reshape(b, H, s, W, s).sum((2, 4))
    mean = num / den.clamp_min(1e-300)
    return mean.masked_fill(den <= 0, 0.0), den / float(s * s)


def _neighbour_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum of the 4 neighbours of every cell of a (B, h, w) batch (nothing outside the grid)."""
    import torch.nn.functional as F

    q = F.pad(x, (1, 1, 1, 1))
    return q[:, :-2, 1:-1] + q[:, 2:, 1:-1] + q[:, 1:-1, :-2] + q[:, 1:-1, 2:]


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-frame dot product of two (B, h, w) batches."""
    import torch

    return torch.linalg.vecdot(a.flatten(1), b.flatten(1))


def harmonic_extend(values: torch.Tensor, known: torch.Tensor, *, rtol: float = CG_RTOL,
                    max_iter: int = 20000) -> torch.Tensor:
    """:func:`ml.fill_repair.harmonic_extend` of a (B, h, w) batch, by conjugate gradients.

    The system is the numpy one (graph Laplacian on the unknown cells, known neighbours on the
    right, the same 1e-9 diagonal term); a frame stops updating once its residual is below
    ``rtol`` of its right-hand side, so a frame's result does not depend on its batch mates.
    """
    import torch

    unk = (~known).to(values.dtype)
    diag = unk * (_neighbour_sum(torch.ones_like(values)) + 1e-9)
    x = torch.zeros_like(values)
    r = unk * _neighbour_sum(torch.where(known, values, 0.0))
    p = r.clone()  # stays 0 on known cells, like r
    rs = _dot(r, r)
    tol = (rtol * rtol) * rs
    active = rs > tol
    # few kernels per step (fused multiply-adds, one reduction per dot): on a GPU these small
    # batched steps are bound by launches, not arithmetic
    for it in range(max_iter):
        ap = (diag * p).addcmul_(unk, _neighbour_sum(p), value=-1.0)
        alpha = torch.where(active, rs / _dot(p, ap), 0.0)[:, None, None]
        x.addcmul_(alpha, p)
        r.addcmul_(alpha, ap, value=-1.0)
        rs_new = _dot(r, r)
        p = torch.addcmul(r, torch.where(active, rs_new / rs, 0.0)[:, None, None], p)
        rs = torch.where(active, rs_new, rs)
        active &= rs_new > tol
        if it % 8 == 7 and not bool(active.any()):
            break
    return torch.where(known, values, x * unk)


def match_surround(original: torch.Tensor, fill: torch.Tensor, mask: torch.Tensor, *,
                   coarse: int = COARSE) -> torch.Tensor:
    """:func:`ml.fill_repair.match_surround` of a (B, H, W) batch (blocked originals zeroed)."""
    import torch

    h, w = int(original.shape[-2]), int(original.shape[-1])
    s = max(1, int(np.ceil(max(h, w) / coarse)))
    d_c, frac = _block_mean(original - fill, (~mask).to(fill.dtype), s)
    known = frac >= 0.999
    skip = mask.all((1, 2)) | ~mask.any((1, 2)) | ~known.any((1, 2))
    field_c = harmonic_extend(d_c, known | skip[:, None, None])
    field = upsample_smooth(field_c, (d_c.shape[1] * s, d_c.shape[2] * s))[:, :h, :w]
    return torch.where(skip[:, None, None], fill, fill + field)


def _mirror_index(n: int, r: int, device: torch.device) -> torch.Tensor:
    """Indices of an axis of ``n`` padded by ``r`` in scipy's 'reflect' (d c b a | a b c d) sense."""
    import torch

    j = torch.arange(-r, n + r, device=device) % (2 * n)
    return torch.where(j >= n, 2 * n - 1 - j, j)


def _gaussian(x: torch.Tensor, sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """``scipy.ndimage.gaussian_filter`` of a (B, H, W) batch (mode 'reflect', same kernel)."""
    radius = int(truncate * float(sigma) + 0.5)
    k = np.exp(-0.5 / (sigma * sigma) * np.arange(-radius, radius + 1) ** 2)
    k = (k / k.sum()).tolist()
    out = x
    for dim in (1, 2):
        n = int(out.shape[dim])
        p = out.index_select(dim, _mirror_index(n, radius, out.device))
        acc = k[0] * p.narrow(dim, 0, n)
        for t in range(1, 2 * radius + 1):
            acc = acc + k[t] * p.narrow(dim, t, n)
        out = acc
    return out


def nearest_free(mask: torch.Tensor, reach: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat index of the nearest unblocked pixel and the squared distance to it, for every pixel of
    a (B, H, W) mask whose nearest one is at most ``reach`` away (others: index 0, distance inf).

    Why this construction: it is scipy's separable feature transform (``distance_transform_edt``
    with ``return_indices``) -- nearest along the column first, then across columns -- with its
    tie rule (the lower coordinate wins) in both passes, so equidistant border pixels take the
    same neighbour as on the numpy path; only columns within ``reach`` are searched.
    """
    import torch
    import torch.nn.functional as F

    b, h, w = mask.shape
    dev = mask.device
    ys = torch.arange(h, device=dev)[None, :, None].expand(b, h, w)
    big = h + reach + 1
    above = torch.where(~mask, ys, -big).cummax(1).values
    below = torch.where(~mask, ys, 2 * big).flip(1).cummin(1).values.flip(1)
    fy = torch.where(ys - above <= below - ys, above, below)  # a tie goes to the row above
    # across columns: one int64 key per candidate, squared distance first, then the column, so a
    # running minimum keeps scipy's rule (nearest, then the lower column); 2 kernels per offset
    k = 2 * reach + 1
    dy2k = F.pad((fy - ys).square().clamp_max(big * big) * k, (reach, reach), value=4 * big * big * k)
    best = dy2k[:, :, :w] + (reach * reach * k)  # offset -reach
    for j in range(1, k):
        off = j - reach
        best = torch.minimum(best, dy2k[:, :, j:j + w] + (off * off * k + j))
    d2 = best // k
    fx = (torch.arange(w, device=dev) + (best % k) - reach).clamp(0, w - 1)
    far = d2 > reach * reach
    flat = torch.where(far, 0, fy.gather(2, fx) * w + fx)
    return flat, torch.where(far, float("inf"), d2.to(real_dtype(dev)))


def feather_border(original: torch.Tensor, fill: torch.Tensor, mask: torch.Tensor, *,
                   width: float = 12.0, smooth: float = 1.0) -> torch.Tensor:
    """:func:`ml.fill_repair.feather_border` of a (B, H, W) batch."""
    import torch

    free = (~mask).to(fill.dtype)
    r = torch.where(mask, 0.0, original - fill)
    num = _gaussian(r, smooth)
    den = _gaussian(free, smooth)
    r_s = torch.where(den > 1e-6, num / den.clamp_min(1e-300), 0.0)
    flat, d2 = nearest_free(mask, int(math.ceil(width)) + 1)
    dist = d2.sqrt().to(fill.dtype)
    weight = ((1.0 - (dist - 1.0) / width).clamp(0.0, 1.0)).nan_to_num(0.0)
    near = r_s.flatten(1).gather(1, flat.flatten(1)).view_as(fill)
    skip = mask.all((1, 2)) | ~mask.any((1, 2))
    add = torch.where(mask & ~skip[:, None, None], near * weight, 0.0)
    return fill + add


def chessboard_distance(mask: torch.Tensor, cap: int) -> torch.Tensor:
    """``scipy.ndimage.distance_transform_cdt(mask, 'chessboard')`` of a (B, H, W) mask, exact up
    to ``cap`` (farther pixels get ``cap + 1``): grown one 3 x 3 step at a time from the free pixels."""
    import torch
    import torch.nn.functional as F

    reached = (~mask).to(torch.float32)[:, None]
    dist = torch.full(mask.shape, float(cap + 1), dtype=real_dtype(mask.device), device=mask.device)
    dist[~mask] = 0.0
    for k in range(1, cap + 1):
        grown = F.max_pool2d(reached, 3, stride=1, padding=1)
        dist = torch.where((grown > reached)[:, 0], float(k), dist)
        reached = grown
    return dist


def anchor_mean(fill: torch.Tensor, mask: torch.Tensor, target_mean: torch.Tensor, *,
                ramp: float = 64.0, rounds: int = 3) -> torch.Tensor:
    """:func:`ml.fill_repair.anchor_mean` of a (B, H, W) batch with one target per frame."""
    import torch

    n_b = mask.sum((1, 2)).to(fill.dtype)
    all_b = mask.all((1, 2))
    dist = chessboard_distance(mask, int(math.floor(ramp + 1.0)) + 1).to(fill.dtype)
    w = ((dist - 1.0) / max(ramp, 1.0)).clamp(0.0, 1.0)
    w = torch.where(all_b[:, None, None], 1.0, w)
    wm = (w * mask).sum((1, 2)) / n_b.clamp_min(1.0)
    active = (n_b > 0) & (wm > 1e-9)
    f = fill
    for _ in range(rounds):
        err = target_mean - (f.clamp(0.0, 1.0) * mask).sum((1, 2)) / n_b.clamp_min(1.0)
        active = active & (err.abs() >= 1e-4)
        step = torch.where(active, err / wm.clamp_min(1e-300), 0.0)
        f = f + step[:, None, None] * w
    return f


def repair_fill(original: torch.Tensor, fill_work: torch.Tensor, mask: torch.Tensor, *,
                patch: float | None = None) -> torch.Tensor:
    """:func:`ml.fill_repair.repair_fill` of a (B, H, W) batch of one frame size and patch side.

    ``original``: working images in [0, 1] (only unblocked pixels and each frame's mean are read:
    blocked pixels are zeroed first, as on the numpy path); ``fill_work``: (B, R, R); ``mask``:
    (B, H, W) bool.  Returns the repaired fill in [0, 1] in :func:`real_dtype`.
    """
    import torch

    dt = real_dtype(original.device)
    m = mask.to(torch.bool)
    h, w = int(m.shape[-2]), int(m.shape[-1])
    o_full = original.to(dt)
    frame_mean = o_full.mean((1, 2))
    o = torch.where(m, 0.0, o_full)  # from here on no step can read a blocked original pixel
    patch = float(patch) if patch else max(h, w) / 16.0
    f = upsample_smooth(nyquist_notch(fill_work.to(dt)), (h, w))
    f = match_surround(o, f, m)
    f = feather_border(o, f, m, width=max(2.0, min(12.0, patch / 8.0)))
    n_b = m.sum((1, 2)).to(dt)
    target = (frame_mean * (h * w) - o.sum((1, 2))) / n_b.clamp_min(1.0)
    f = anchor_mean(f, m, target, ramp=max(4.0, patch / 2.0))
    return f.clamp(0.0, 1.0)
