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

from .spline_resize import cubic_matrix

if TYPE_CHECKING:
    import torch

__all__ = ["real_dtype", "nyquist_notch", "upsample_smooth", "repair_fill"]


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


def repair_fill(original: torch.Tensor, fill_work: torch.Tensor, mask: torch.Tensor, *,
                patch: float | None = None) -> torch.Tensor:
    """:func:`ml.fill_repair.repair_fill` of a (B, H, W) batch of one frame size.

    ``original``: working images (only their shape is read, as on the numpy path);
    ``fill_work``: (B, R, R); ``mask`` and ``patch`` are accepted for the callers' sake.
    Returns the repaired fill in [0, 1] in :func:`real_dtype`.
    """
    del patch, mask
    dt = real_dtype(original.device)
    h, w = int(original.shape[-2]), int(original.shape[-1])
    return upsample_smooth(nyquist_notch(fill_work.to(dt)), (h, w)).clamp(0.0, 1.0)
