"""The per-frame work around the networks in ``tensor_batch``, on the model's torch device.

Why (issue #17 item 3): on a GPU the networks take a fraction of a frame's time; the rest -- the
percentile window, the casts, the patch-grid up-sampling and above all the fill repair -- ran in
numpy on one CPU core and left the accelerator waiting.  Here the same steps run as torch ops on
the frames' device: the window from batched ``kthvalue`` (numpy's linear-interpolation rule, reproduced
bit for bit on the CPU), the normalised image and working image never leave the device, the
masks are up-sampled there, the repair is :mod:`ml.fill_repair_torch` batched over the frames of
one size, and the grey values are rounded and clipped there; only the blocked values come back.

Used by ``ml.batch.tensor_batch`` when the model's device is not the CPU (or when forced:
``on_device=True`` or ``MEDEID_DEVICE_REPAIR=torch``); the numpy path stays the CPU default and
its output is untouched.  ``import torch`` happens inside the functions.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from medeid_gui.ml.deidentify import DeidOutput

if TYPE_CHECKING:
    import torch

    from medeid_gui.ml.model import MedeidModel

__all__ = ["use_device_path", "normalise_on_device", "compose_on_device", "percentile_windows"]

#: numpy's percentiles of the window, as ``ml.batch._prepare`` asks for them
_Q = np.array([0.5, 99.5]) / 100.0


def use_device_path(model: MedeidModel, on_device: bool | None = None) -> bool:
    """``on_device`` if given, else ``$MEDEID_DEVICE_REPAIR`` (``torch`` / ``numpy``), else whether
    the model runs off the CPU: the numpy path is the CPU default (it is what was evaluated)."""
    if on_device is not None:
        return bool(on_device)
    env = os.environ.get("MEDEID_DEVICE_REPAIR", "").strip().lower()
    if env in ("torch", "1", "on"):
        return True
    if env in ("numpy", "0", "off"):
        return False
    return str(model.device).split(":")[0] != "cpu"


def percentile_windows(grey: torch.Tensor) -> list[tuple[float, float]]:
    """``np.percentile(row, (0.5, 99.5))`` of every row of a (B, N) float32 tensor, equal to
    numpy's to the last bit: the order statistics come from batched ``kthvalue`` on the device
    (one transfer for the batch), numpy's ``_lerp`` (float32 difference, float64 weight, the
    upper form from a weight of 0.5) is applied on the host; a flat row gets (min, min + 1)."""
    import torch

    n = int(grey.shape[1])
    virtual = (n - 1) * _Q
    prev = np.floor(virtual).astype(np.int64)
    nxt = np.minimum(prev + 1, n - 1)
    ks = [int(k) for k in np.concatenate([prev, nxt, [0]])]
    vals = torch.stack([torch.kthvalue(grey, k + 1, dim=1).values for k in ks], 1).cpu().numpy()
    vals = vals.astype(np.float32)
    gamma = virtual - prev
    out: list[tuple[float, float]] = []
    for row in vals:
        a, b = row[:2], row[2:4]
        diff = b - a
        res = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
        lo, hi = float(res[0]), float(res[1])
        if hi - lo < 1e-6:
            lo = float(row[4])
            hi = lo + 1.0
        out.append((lo, hi))
    return out


def normalise_on_device(frames: list[np.ndarray], model: MedeidModel,
                        ) -> list[tuple[float, float, torch.Tensor, torch.Tensor] | None]:
    """``ml.batch._prepare``'s window, normalisation and resize of checked 2-D frames on the
    model's device, batched over frames of one size: per frame (lo, hi, [0, 1] image, (1, 1, R, R)
    working image), all left there.  None for a float frame with non-finite values (the caller
    takes the numpy preparation, its median rule)."""
    import torch

    from . import deidentify as method

    res: list[tuple[float, float, torch.Tensor, torch.Tensor] | None] = [None] * len(frames)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, a in enumerate(frames):
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            continue
        groups.setdefault(tuple(a.shape), []).append(i)
    r = model.work_size  # the model's working resolution
    with torch.inference_mode():
        for idx in groups.values():
            grey = torch.stack([_upload(frames[i], model.device) for i in idx])
            windows = percentile_windows(grey.flatten(1))
            # the numpy path's float32 arithmetic: float32(lo) and float32(hi - lo), per frame
            lo_t = torch.tensor([lo for lo, _ in windows], dtype=torch.float32, device=grey.device)
            span_t = torch.tensor([hi - lo for lo, hi in windows], dtype=torch.float32, device=grey.device)
            norm = ((grey - lo_t[:, None, None]) / span_t[:, None, None]).clamp_(0.0, 1.0)
            work = method._resize(norm[:, None], (r, r)).clamp(0.0, 1.0)
            for n, i in enumerate(idx):
                res[i] = (windows[n][0], windows[n][1], norm[n], work[n:n + 1])
    return res


def _upload(a: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """A frame as float32 on ``device``, cast there (bool as bytes; float64 narrowed on the host,
    as the numpy path narrows it; Apple MPS has no float64)."""
    import torch

    src = a.view(np.uint8) if a.dtype == bool else a.astype(np.float32) if a.dtype == np.float64 else a
    return torch.from_numpy(np.ascontiguousarray(src)).to(device).to(torch.float32)


def _grid_mask(mgrid: np.ndarray, shape: tuple[int, int], device: torch.device) -> torch.Tensor:
    """``patches.upsample_grid`` of a boolean patch grid, on the device."""
    import torch

    from .patches import edges

    g0, g1 = mgrid.shape
    rows = torch.from_numpy(np.diff(edges(shape[0], g0))).to(device)
    cols = torch.from_numpy(np.diff(edges(shape[1], g1))).to(device)
    t = torch.from_numpy(np.ascontiguousarray(mgrid)).to(device)
    return t.repeat_interleave(rows, dim=0).repeat_interleave(cols, dim=1)


def _cast_on_device(values: torch.Tensor, dtype: np.dtype) -> np.ndarray:
    """``ml.deidentify._cast`` with the rounding and clipping on the device (integers of up to 32
    bits: half-to-even like ``np.rint``); other types are cast on the host as numpy does."""
    import torch

    from . import deidentify as method

    dt = np.dtype(dtype)
    if dt.kind in "iu" and dt.itemsize <= 4:
        info = np.iinfo(dt)
        v = values.double().round().clamp(float(info.min), float(info.max)).to(torch.int64)
        return v.cpu().numpy().astype(dt)
    return method._cast(values.cpu().numpy().astype(np.float64), dt)


def compose_on_device(frames: list[np.ndarray], windows: list[tuple[float, float]], norms: list[torch.Tensor],
                      plans: list[tuple[np.ndarray, np.ndarray]], fills: dict[int, torch.Tensor],
                      ) -> list[DeidOutput]:
    """``ml.batch._compose`` for every frame of the batch (its window, its [0, 1] image on the
    device, its plan, its fill by batch position), the repair batched over frames of one size
    and patch grid on the fills' device.  Returns the outputs in batch order."""
    import torch

    from . import fill_repair_torch as FT
    from .patches import upsample_grid

    outs: list[DeidOutput | None] = [None] * len(frames)
    groups: dict[tuple[int, int, int], list[int]] = {}
    for j, frame in enumerate(frames):
        mgrid, rel_np = plans[j]
        h, w = frame.shape
        if j not in fills or not mgrid.any():
            idmap = upsample_grid(rel_np, (h, w)).astype(np.float32)
            outs[j] = DeidOutput(frame.copy(), idmap, np.zeros((h, w), dtype=bool))
        else:
            groups.setdefault((h, w, mgrid.shape[0]), []).append(j)
    for (h, w, g), members in groups.items():
        dev = fills[members[0]].device
        with torch.inference_mode():
            masks = torch.stack([_grid_mask(plans[j][0], (h, w), dev) for j in members])
            repaired = FT.repair_fill(torch.stack([norms[j] for j in members]),
                                      torch.stack([fills[j] for j in members]), masks, patch=max(h, w) / g)
            for n, j in enumerate(members):
                lo, hi = windows[j]
                blocked = repaired[n][masks[n]]
                if blocked.dtype != torch.float64:  # Apple MPS has no float64
                    blocked = blocked.cpu().double()
                values = lo + blocked * (hi - lo)
                mask = upsample_grid(plans[j][0], (h, w))
                out = frames[j].copy()
                out[mask] = _cast_on_device(values, frames[j].dtype)
                idmap = upsample_grid(plans[j][1], (h, w)).astype(np.float32)
                outs[j] = DeidOutput(out, idmap, mask)
    return outs  # type: ignore[return-value]
