"""``deidentify(frame, privacy)``: adjustable pixel de-identification of one frame (or a stack).

Why this shape: the privacy level ``privacy`` is the fraction of patches blocked, ranked by identity
relevance (METHOD.md). The networks run at the model's working resolution (``model.work_size``); only the
*blocked* patches of the full-resolution frame receive the (up-sampled) compensation, so every
unblocked pixel is copied bit-exactly and ``privacy = 0`` returns the input unchanged.

Split API for the GUI (the slider moves the level many times per frame)::

    a = analyse(frame, model)                  # identity map + semantic code, once per frame
    out, idmap, mask = apply_level(a, privacy) # re-block and re-compensate only

Every entry point returns :class:`DeidOutput` (``frame``, ``identity_map``, ``mask``), a
NamedTuple, so it unpacks like the 3-tuple it replaced.

Input layouts: (H, W) grey; (H, W, 3|4) colour; (F, H, W) multi-frame grey; (F, H, W, 3|4)
multi-frame colour. A 3-D array whose last axis is 3 or 4 is taken as colour. Colour frames are
analysed on their luminance and blocked patches are filled grey in every channel (alpha, if any,
is kept). The output has the input's shape and dtype (integers rounded and clipped to the dtype's
range); the identity map is float32 in [0, 1] and the mask bool, both (H, W) or (F, H, W).

Variants (the evaluation's ablations): ``"medeid"`` (identity-ranked, MDL-compensated),
``"random"`` (random patches, same compensator), ``"no-comp"`` (identity-ranked, blocked patches
filled with the frame's mean grey), ``"no-mdl"`` (compensator fed undecoupled features).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from medeid_gui.ml.fill_repair import repair_fill
from medeid_gui.ml.nets import GRID
from medeid_gui.ml.patches import grid_mask, random_order, rank_patches, upsample_grid

if TYPE_CHECKING:
    import torch

    from medeid_gui.ml.model import MedeidModel

VARIANTS = ("medeid", "random", "no-comp", "no-mdl")


class DeidOutput(NamedTuple):
    """The one result type of ``ml``: the de-identified frame, its identity map, the blocked mask.

    ``frame`` has the input's shape and dtype; ``identity_map`` is float32 in [0, 1] and ``mask``
    bool, both (H, W) or (F, H, W) for a stack.
    """

    frame: np.ndarray
    identity_map: np.ndarray
    mask: np.ndarray


@dataclass
class FrameAnalysis:
    """What ``apply_level`` needs to re-block a frame at any level without re-running encoders."""

    frame: np.ndarray  #: the original frame (not copied; never modified)
    colour: bool
    lo: float  #: intensity normalisation: work = (grey - lo) / (hi - lo)
    hi: float
    work: torch.Tensor  #: (1, 1, R, R) in [0, 1] on the model's device
    identity: np.ndarray  #: (g, g) float32 identity relevance in [0, 1] (g = effective grid)
    code: torch.Tensor  #: (1, CODE_CH, FEAT, FEAT) decoupled semantic code
    features: torch.Tensor  #: (1, FEAT_CH, FEAT, FEAT) undecoupled features (no-MDL ablation)
    model: MedeidModel

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.frame.shape[0]), int(self.frame.shape[1])

    @property
    def grid(self) -> int:
        return int(self.identity.shape[0])


def _resolve_model(model: MedeidModel | None) -> MedeidModel:
    if model is None:
        from medeid_gui.ml.model import default_model

        return default_model()
    return model


def _check_frame(frame: np.ndarray) -> tuple[np.ndarray, bool]:
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        colour = True
    elif a.ndim == 2:
        colour = False
    else:
        raise ValueError(f"expected one frame (H, W) or (H, W, 3|4), got shape {a.shape}")
    if a.shape[0] < 2 or a.shape[1] < 2:
        raise ValueError(f"frame of {a.shape[0]}x{a.shape[1]} pixels is too small to de-identify")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool) or np.iscomplexobj(a):
        raise ValueError(f"frame dtype {a.dtype} is not a real numeric type")
    return a, colour


def _grey(a: np.ndarray, colour: bool) -> np.ndarray:
    if not colour:
        return a.astype(np.float32, copy=False)
    rgb = a[..., :3].astype(np.float32)
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _resize(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    import torch.nn.functional as F

    if tuple(t.shape[-2:]) == tuple(size):
        return t
    shrink = t.shape[-2] > size[0] or t.shape[-1] > size[1]
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def window(grey: np.ndarray) -> tuple[float, float]:
    """Intensity window (lo, hi) that maps a grey frame to the networks' [0, 1] input.

    The 0.5 / 99.5 percentiles; for frames over 256 x 256 pixels a regular subsample is used
    (the percentiles barely move and a 2k x 2k frame saves ~100 ms). Public so that batched
    callers (``ml.engine``) normalise exactly as ``analyse`` does.
    """
    step = int(np.ceil(np.sqrt(grey.size / 65536.0))) if grey.size > 65536 else 1
    lo, hi = (float(v) for v in np.percentile(grey[::step, ::step], (0.5, 99.5)))
    if hi - lo < 1e-6:
        lo, hi = float(grey.min()), float(grey.min()) + 1.0
    return lo, hi


def analyse(frame: np.ndarray, model: MedeidModel | None = None) -> FrameAnalysis:
    """Identity map and semantic code of one frame (2-D grey or (H, W, 3|4) colour)."""
    import torch

    model = _resolve_model(model)
    a, colour = _check_frame(frame)
    grey = _grey(a, colour)
    finite = np.isfinite(grey)
    if not finite.all():
        if not finite.any():
            raise ValueError("frame has no finite pixel values")
        grey = np.where(finite, grey, np.float32(np.nanmedian(grey[finite])))
    lo, hi = window(grey)
    norm = normalise(grey, lo, hi)
    with torch.inference_mode():
        t = torch.from_numpy(np.ascontiguousarray(norm))[None, None].to(model.device)
        work = _resize(t, (model.work_size, model.work_size)).clamp_(0.0, 1.0)
        logits = model.identity_logits(work)[0]
        rel = torch.softmax(logits.flatten(), 0).view_as(logits)
        g = min(GRID, a.shape[0], a.shape[1])
        if g != GRID:
            rel = torch.nn.functional.adaptive_avg_pool2d(rel[None, None], g)[0, 0]
        rel = (rel / rel.max().clamp_min(1e-12)).float().cpu().numpy()
        feats = model.features(work)
        code = model.semantic_code(feats)
    return FrameAnalysis(a, colour, lo, hi, work, rel.astype(np.float32), code, feats, model)


def normalise(grey: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """A grey frame in the networks' [0, 1] (non-finite values to the median, as ``analyse``)."""
    finite = np.isfinite(grey)
    if not finite.all():
        if not finite.any():
            raise ValueError("frame has no finite pixel values")
        grey = np.where(finite, grey, np.float32(np.nanmedian(grey[finite])))
    return np.clip((grey - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def working_image(analysis: FrameAnalysis) -> np.ndarray:
    """The analysed frame at full resolution in [0, 1]: what the fill repair matches the fill to."""
    return normalise(_grey(analysis.frame, analysis.colour), analysis.lo, analysis.hi)


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return values >= 0.5
    return values.astype(dtype)


def blocking_order(analysis: FrameAnalysis, *, seed: int = 0, variant: str = "medeid") -> np.ndarray:
    """Patch indices in blocking order: identity-ranked, or seeded random for ``"random"``."""
    if variant == "random":
        return random_order(analysis.grid ** 2, seed)
    return rank_patches(analysis.identity, seed)


def apply_level(analysis: FrameAnalysis, privacy: float, *, seed: int = 0,
                variant: str = "medeid") -> DeidOutput:
    """Block the top-``privacy`` fraction of patches of an analysed frame and compensate them."""
    import torch

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; use one of {VARIANTS}")
    a = analysis.frame
    h, w = analysis.shape
    g = analysis.grid
    mgrid = grid_mask(blocking_order(analysis, seed=seed, variant=variant), privacy, g)
    idmap = upsample_grid(analysis.identity, (h, w)).astype(np.float32)
    if not mgrid.any():
        return DeidOutput(a.copy(), idmap, np.zeros((h, w), dtype=bool))
    mask = upsample_grid(mgrid, (h, w))
    model = analysis.model
    if variant == "no-comp":
        fill_norm = np.full((h, w), float(analysis.work.mean()), dtype=np.float32)
    else:
        r = model.work_size  # the model's working resolution (128 for the shipped weights)
        mw = torch.from_numpy(upsample_grid(mgrid, (r, r)).astype(np.float32))
        mw = mw[None, None].to(model.device)
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 3])
        noise = torch.from_numpy(rng.standard_normal((r, r)).astype(np.float32))
        noise = noise[None, None].to(model.device)
        with torch.inference_mode():
            if variant == "no-mdl":
                fill = model.compensate(analysis.work, mw, analysis.features, noise, raw=True)
            else:
                fill = model.compensate(analysis.work, mw, analysis.code, noise)
            fill_work = fill[0, 0].float().cpu().numpy()
        fill_norm = repair_fill(working_image(analysis), fill_work, mask, patch=max(h, w) / g)
    values = analysis.lo + fill_norm[mask].astype(np.float64) * (analysis.hi - analysis.lo)
    out = a.copy()
    if analysis.colour:
        for c in range(3):
            out[..., c][mask] = _cast(values, a.dtype)
    else:
        out[mask] = _cast(values, a.dtype)
    return DeidOutput(out, idmap, mask)


def _is_stack(a: np.ndarray) -> bool:
    return a.ndim == 4 or (a.ndim == 3 and a.shape[-1] not in (3, 4))


def deidentify(frame: np.ndarray, privacy: float, *, seed: int = 0,
               model: MedeidModel | None = None, variant: str = "medeid") -> DeidOutput:
    """De-identify ``frame`` at level ``privacy``: ``DeidOutput(frame, identity_map, mask)``.

    ``privacy = 0`` returns a bit-exact copy (the networks still run to produce the identity map);
    ``mask.mean()`` is ``privacy`` up to patch rounding; results are deterministic for a ``seed``.
    Multi-frame input is processed frame by frame (frame ``k`` uses seed ``(seed, k)``).
    """
    a = np.asarray(frame)
    if _is_stack(a):
        if a.shape[0] == 0:
            raise ValueError("empty frame stack")
        outs, maps, masks = [], [], []
        m = _resolve_model(model)
        for k in range(a.shape[0]):
            o, i, mk = apply_level(analyse(a[k], m), privacy, seed=_frame_seed(seed, k), variant=variant)
            outs.append(o)
            maps.append(i)
            masks.append(mk)
        return DeidOutput(np.stack(outs), np.stack(maps), np.stack(masks))
    return apply_level(analyse(a, model), privacy, seed=seed, variant=variant)


def _frame_seed(seed: int, k: int) -> int:
    return int(np.random.default_rng([int(seed) & 0xFFFFFFFF, k, 5]).integers(0, 2**31 - 1))
