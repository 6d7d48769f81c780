"""The fill repair of :mod:`ml.fill_repair` in torch, batched over frames of one size, on any device.

Why a twin and not a port: on a GPU the numpy repair costs more per frame than the model
at 512 x 512, so an accelerator would wait on it (issue #17 item 3).  Each step here computes
what its numpy namesake computes -- the same [1, 2, 1] notch, the same cubic spline -- on
``(B, H, W)`` tensors on the model's device, so the export keeps the fill that was evaluated.
The numpy path stays the default on the CPU and is never changed by this module;
``tests/ml/test_fill_repair_torch.py`` holds the two to a stated tolerance on real frames.

The cubic up-sampling is the numpy resize's own operator (:func:`ml.spline_resize.cubic_matrix`,
scipy's ``ndimage.zoom`` arithmetic) applied as two dense matrices (it is linear and separable),
built once per size on the CPU.  Float64 except on Apple MPS (float32
only there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .fill_repair import seam_band
from .spline_resize import cubic_matrix

if TYPE_CHECKING:
    import torch

__all__ = ["real_dtype", "nyquist_notch", "upsample_smooth", "seam_blend", "repair_fill"]


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


def _zoom_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of the cubic resize along one axis, as ``upsample_smooth`` does it
    (grid-mirror, pixel-area aligned; a short result padded with its edge row, then cut); built
    by :func:`ml.spline_resize.cubic_matrix` (cached there, read-only: a writable copy for torch)."""
    return cubic_matrix(n_in, n_out).copy()


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


def _box_along(a: torch.Tensor, radius: int, dim: int) -> torch.Tensor:
    """:func:`ml.fill_repair._box_along` of a batch along ``dim`` (cumulative sums, zero edges)."""
    import torch

    a = a.movedim(dim, -1)
    pad = torch.zeros(a.shape[:-1] + (radius + 1,), dtype=a.dtype, device=a.device)
    c = torch.cumsum(torch.cat([pad, a, pad[..., :radius]], dim=-1), dim=-1)
    return (c[..., 2 * radius + 1:] - c[..., : -2 * radius - 1]).movedim(-1, dim)


def _smooth_along(values: torch.Tensor, where: torch.Tensor, radius: int, dim: int) -> torch.Tensor:
    """:func:`ml.fill_repair._smooth_along`: three normalised box passes over ``where`` pixels."""
    import torch

    num = torch.where(where, values, torch.zeros_like(values))
    den = where.to(values.dtype)
    for _ in range(3):
        num, den = _box_along(num, radius, dim), _box_along(den, radius, dim)
    ok = den > 1e-9
    return torch.where(ok, num / den.clamp_min(1e-12), torch.zeros_like(num))


def _next_blocked(mask: torch.Tensor, dim: int, step: int) -> torch.Tensor:
    """:func:`ml.fill_repair._next_blocked` (no wrap-around)."""
    import torch

    nxt = torch.roll(mask, -step, dims=dim)
    if step == 1:
        nxt.narrow(dim, mask.shape[dim] - 1, 1).fill_(False)
    else:
        nxt.narrow(dim, 0, 1).fill_(False)
    return nxt


def _from_side(mask: torch.Tensor, dim: int, reverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`ml.fill_repair._from_side`: index of the last unblocked pixel on the scan, distance."""
    import torch

    n = mask.shape[dim]
    shape = [1] * mask.ndim
    shape[dim] = n
    pos = torch.arange(n, device=mask.device).view(shape).expand(mask.shape)
    big = torch.full_like(pos, 1 << 30)
    if reverse:
        idx = torch.where(mask, torch.full_like(pos, n), pos)
        last = torch.flip(torch.cummin(torch.flip(idx, (dim,)), dim).values, (dim,))
        found = last < n
        return torch.where(found, last, torch.full_like(pos, -1)), torch.where(found, last - pos, big)
    idx = torch.where(mask, torch.full_like(pos, -1), pos)
    last = torch.cummax(idx, dim).values
    found = last >= 0
    return last, torch.where(found, pos - last, big)


def seam_blend(original: torch.Tensor, fill: torch.Tensor, mask: torch.Tensor, *, band: float) -> torch.Tensor:
    """:func:`ml.fill_repair.seam_blend` of a (B, H, W) batch (frames with nothing or everything
    blocked come back unchanged, as on the numpy path: no border, no correction)."""
    import torch

    if band <= 0:
        return fill.clone()
    residual = original - fill
    radius = max(1, int(round(band / 4.0)))
    total = torch.zeros_like(fill)
    weight_sum = torch.zeros_like(fill)
    weight_max = torch.zeros_like(fill)
    for dim in (1, 2):
        for reverse in (False, True):
            source = ~mask & _next_blocked(mask, dim, -1 if reverse else 1)
            # only the lines holding a source in some frame are smoothed (as on the numpy path)
            keep = torch.nonzero(source.any(dim=3 - dim).any(dim=0)).flatten()
            sm = _smooth_along(residual.index_select(dim, keep), source.index_select(dim, keep),
                               radius, 3 - dim)
            slot = torch.zeros(mask.shape[dim], dtype=torch.long, device=mask.device)
            slot[keep] = torch.arange(keep.numel(), device=mask.device)
            last, dist = _from_side(mask, dim, reverse)
            value = torch.gather(sm, dim, slot[last.clamp_min(0)])
            w = (1.0 - (dist.to(fill.dtype) - 0.5) / band).clamp(0.0, 1.0)
            w = torch.where(mask, w * w * (3.0 - 2.0 * w), torch.zeros_like(w))
            total = total + w * value
            weight_sum = weight_sum + w
            weight_max = torch.maximum(weight_max, w)
    ok = weight_sum > 0
    corr = torch.where(ok, total / weight_sum.clamp_min(1e-300), torch.zeros_like(total))
    return fill + weight_max * corr


def repair_fill(original: torch.Tensor, fill_work: torch.Tensor, mask: torch.Tensor, *,
                patch: float | None = None) -> torch.Tensor:
    """:func:`ml.fill_repair.repair_fill` of a (B, H, W) batch of one frame size.

    ``original``: working images, read only where ``mask`` is False (zeroed elsewhere first,
    as on the numpy path); ``fill_work``: (B, R, R); ``mask``: (B, H, W) blocked pixels;
    ``patch``: a patch's side in pixels, as on the numpy path.  Returns the repaired fill in [0, 1] in
    :func:`real_dtype`.
    """
    import torch

    dt = real_dtype(original.device)
    h, w = int(original.shape[-2]), int(original.shape[-1])
    f = upsample_smooth(nyquist_notch(fill_work.to(dt)), (h, w))
    m = mask.to(torch.bool)
    n_blocked = m.sum(dim=(1, 2))
    partial = (n_blocked > 0) & (n_blocked < h * w)
    if bool(partial.any()):
        o = torch.where(m, torch.zeros((), dtype=dt, device=f.device), original.to(dt))
        blended = seam_blend(o, f, m, band=seam_band((h, w), patch))
        f = torch.where(partial[:, None, None], blended, f)
    return f.clamp(0.0, 1.0)
