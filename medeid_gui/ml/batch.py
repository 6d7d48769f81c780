"""``tensor_batch``: the method over a list of frames with its networks run once per batch.

Why a module of its own: it is the engine's default :class:`~medeid_gui.ml.engine.BatchMethod`
(the export's GPU path), and it mirrors ``ml.deidentify``'s per-frame steps in three parts
(normalise, run the networks over the batch, compose each frame) that are read side by side with
``analyse`` / ``apply_level``.  ``import torch`` happens inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from medeid_gui.ml.deidentify import DeidOutput

if TYPE_CHECKING:
    import torch

    from medeid_gui.ml.model import MedeidModel

__all__ = ["tensor_batch"]


def tensor_batch(frames: Sequence[np.ndarray], privacy: float, *, seed: int = 0,
                 model: MedeidModel | None = None, on_device: bool | None = None) -> list[DeidOutput]:
    """``deidentify`` for a list of frames with the networks run once per batch.

    Why here: on a GPU, one frame per forward pass is dominated by kernel-launch overhead; stacking
    the working images of many frames (of any size, from any file) into one (B, 1, R, R) tensor
    runs each network once per batch.  The per-frame steps (normalisation, patch ranking, mask,
    fill repair, writing blocked pixels back at full resolution) follow ``ml.deidentify.analyse``
    / ``apply_level`` exactly; ``tests/ml/test_engine.py`` checks the results match frame by frame.
    2-D grey frames are batched; anything else (colour, stacks) goes through ``deidentify``.
    The engine's default :class:`BatchMethod`.

    ``on_device``: run the work around the networks (window, casts, up-sampling, fill repair) as
    torch ops on the model's device (``ml.batch_device``); default: when the model is not on the
    CPU, or as ``$MEDEID_DEVICE_REPAIR`` says.  The numpy path (the CPU default) is unchanged.
    """
    from . import deidentify as method

    if model is None:
        from .model import default_model

        model = default_model()
    from . import batch_device

    on_dev = batch_device.use_device_path(model, on_device)
    results: list[DeidOutput | None] = [None] * len(frames)
    grey: list[tuple[int, np.ndarray]] = []
    for k, frame in enumerate(frames):
        a = np.asarray(frame)
        if a.ndim != 2:
            results[k] = method.deidentify(a, privacy, seed=seed, model=model)
        else:
            grey.append((k, a))
    prepared = _prepare_on_device(grey, model) if on_dev else [_prepare(k, a, model) for k, a in grey]
    if prepared:
        plans, fills = _block_and_compensate(prepared, privacy, seed, model, keep_on_device=on_dev)
        if on_dev:
            outs = batch_device.compose_on_device([p.frame for p in prepared], [(p.lo, p.hi) for p in prepared],
                                                  [p.norm for p in prepared], plans, fills)
            for prep, out in zip(prepared, outs):
                results[prep.k] = out
        else:
            for j, prep in enumerate(prepared):
                results[prep.k] = _compose(prep, *plans[j], fills.get(j))
    return results  # type: ignore[return-value]


@dataclass
class _Prepared:
    """One 2-D frame of a batch, normalised: its index, the frame, window, [0, 1] image (a tensor
    on the model's device on the device path), work."""

    k: int
    frame: np.ndarray
    lo: float
    hi: float
    norm: np.ndarray | torch.Tensor
    work: torch.Tensor


def _prepare(k: int, frame: np.ndarray, model: MedeidModel) -> _Prepared:
    """Normalise one grey frame as ``analyse`` does and resize it to the working resolution."""
    import torch

    from . import deidentify as method

    a, _ = method._check_frame(frame)
    grey = a.astype(np.float32, copy=False)
    finite = np.isfinite(grey)
    if not finite.all():
        if not finite.any():
            raise ValueError("frame has no finite pixel values")
        grey = np.where(finite, grey, np.float32(np.nanmedian(grey[finite])))
    lo, hi = (float(v) for v in np.percentile(grey, (0.5, 99.5)))
    if hi - lo < 1e-6:
        lo, hi = float(grey.min()), float(grey.min()) + 1.0
    norm = np.clip((grey - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
    with torch.inference_mode():
        t = torch.from_numpy(np.ascontiguousarray(norm))[None, None].to(model.device)
        r = model.work_size  # the model's working resolution
        work = method._resize(t, (r, r)).clamp_(0.0, 1.0)
    return _Prepared(k, a, lo, hi, norm, work)


def _prepare_on_device(grey: list[tuple[int, np.ndarray]], model: MedeidModel) -> list[_Prepared]:
    """``_prepare`` of every (index, 2-D frame) with the window, normalisation and resize on the
    model's device, batched by size (``ml.batch_device``); a float frame with non-finite values is
    prepared in numpy, then moved."""
    import torch

    from . import batch_device
    from . import deidentify as method

    checked = [(k, method._check_frame(a)[0]) for k, a in grey]
    done = batch_device.normalise_on_device([a for _, a in checked], model)
    out: list[_Prepared] = []
    for (k, a), d in zip(checked, done):
        if d is None:
            p = _prepare(k, a, model)
            p.norm = torch.from_numpy(np.ascontiguousarray(p.norm)).to(model.device)
            out.append(p)
        else:
            out.append(_Prepared(k, a, *d))
    return out


def _block_and_compensate(prepared: list[_Prepared], privacy: float, seed: int, model: MedeidModel,
                          keep_on_device: bool = False,
                          ) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[int, np.ndarray | torch.Tensor]]:
    """The networks once over the batch: per frame (patch mask, identity map) on its grid, and
    the working-resolution fill of every frame with something blocked (by batch position), as
    numpy arrays or, with ``keep_on_device``, as tensors left on the model's device."""
    import torch

    from .nets import GRID
    from .patches import grid_mask, rank_patches, upsample_grid

    size = model.work_size  # the model's working resolution
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 3])
    noise1 = torch.from_numpy(rng.standard_normal((size, size)).astype(np.float32))
    plans: list[tuple[np.ndarray, np.ndarray]] = []
    masks_work = []
    with torch.inference_mode():
        work = torch.cat([p.work for p in prepared], 0)
        logits = model.identity_logits(work)
        code = model.semantic_code(model.features(work))
        for j, prep in enumerate(prepared):
            rel = torch.softmax(logits[j].flatten(), 0).view_as(logits[j])
            g = min(GRID, prep.frame.shape[0], prep.frame.shape[1])
            if g != GRID:
                rel = torch.nn.functional.adaptive_avg_pool2d(rel[None, None], g)[0, 0]
            rel_np = (rel / rel.max().clamp_min(1e-12)).float().cpu().numpy().astype(np.float32)
            mgrid = grid_mask(rank_patches(rel_np, seed), privacy, g)
            plans.append((mgrid, rel_np))
            masks_work.append(torch.from_numpy(upsample_grid(mgrid, (size, size)).astype(np.float32)))
        need = [j for j, (mgrid, _) in enumerate(plans) if mgrid.any()]
        if not need:
            return plans, {}
        idx = torch.tensor(need, device=work.device)
        mw = torch.stack(masks_work)[:, None].to(model.device)[idx]
        noise = noise1[None, None].to(model.device).expand(len(need), 1, size, size)
        fills = model.compensate(work[idx], mw, code[idx], noise).float()
        if keep_on_device:
            return plans, {j: fills[n, 0] for n, j in enumerate(need)}
        return plans, {j: fills[n, 0].cpu().numpy() for n, j in enumerate(need)}


def _compose(prep: _Prepared, mgrid: np.ndarray, rel_np: np.ndarray, fill_work: np.ndarray | None) -> DeidOutput:
    """The frame with its blocked pixels replaced by the repaired, up-sampled fill."""
    from . import deidentify as method
    from .fill_repair import repair_fill
    from .patches import upsample_grid

    a = prep.frame
    h, w = a.shape
    idmap = upsample_grid(rel_np, (h, w)).astype(np.float32)
    if fill_work is None or not mgrid.any():
        return DeidOutput(a.copy(), idmap, np.zeros((h, w), dtype=bool))
    mask = upsample_grid(mgrid, (h, w))
    fill_norm = repair_fill(prep.norm, fill_work, mask, patch=max(h, w) / mgrid.shape[0])
    values = prep.lo + fill_norm[mask].astype(np.float64) * (prep.hi - prep.lo)
    out = a.copy()
    out[mask] = method._cast(values, a.dtype)
    return DeidOutput(out, idmap, mask)
