"""Prototype fixes for the fill of blocked patches on real radiographs, without retraining.

The repairs the product adopted (notch, cubic resize, offset field, feather, mean anchor) moved to
``ml.fill_repair`` and run inside ``ml.deidentify``; this module keeps the measurement variants
(bilinear resize, contrast gain, 256-px working resolution) and re-exports the rest.

Why here (lab, not ml): issue #14 measured the shipped fill on real images (periodic texture,
seams, brightness jumps; see ``lab.fill_quality``) and these are the candidate repairs, measured
by ``benchmarks/fill_quality_real.py`` before one is wired into ``ml.deidentify``. They are
plain numpy / scipy functions on float images so that the wiring is a few calls in
``apply_level`` between "the compensator returned a working-resolution fill" and "write the
blocked pixels".

Privacy rule followed by every function: the correction of a blocked pixel is computed from the
fill and from *unblocked* pixels only (which the output shows anyway); no blocked original pixel
is read. :func:`compose` writes only blocked pixels, so unblocked pixels stay bit-identical.

Root cause they address (measured, see the benchmark's report):

* **Checkerboard**: the compensator's last layer runs at half the working resolution and
  ``pixel_shuffle`` interleaves its 4 output channels into 2 x 2 pixels. On out-of-domain input
  the 4 channels disagree, which is a 2-pixel period (the Nyquist frequency) at 128 px; the
  bilinear up-sampling to 2k turns it into a ~30-px grid plus replicas at ~10 px.
  :func:`nyquist_notch` removes exactly that frequency; :func:`upsample_smooth` replaces the
  bilinear (kinked every 15 px) resize by a cubic spline.
* **Seams and brightness jumps**: the fill is the training set's median chest (the prior)
  corrected by the network, placed wherever the patch is; nothing ties it to the brightness of
  the real image around it, and it is pasted with a hard edge. :func:`match_surround` fits the
  fill's gain to the unblocked pixels and adds a smooth (harmonic) offset field that equals
  "original minus fill" on the unblocked pixels, so the fill continues the surrounding
  brightness into the block; :func:`feather_border` removes the remaining fine step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# the repairs the product runs live in ml (ml must not import lab); re-exported for measurement
from medeid_gui.ml.fill_repair import (  # noqa: F401 - re-exported
    COARSE,
    anchor_mean,
    feather_border,
    harmonic_extend,
    nyquist_notch,
    upsample_smooth,
)
from medeid_gui.ml.fill_repair import match_surround as _ml_match_surround


def upsample_bilinear(fill_work: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The shipped resize (``ml.deidentify._resize``: bilinear, align_corners=False), in scipy.

    Why a copy here: to measure the effect of the resize alone, the same working fill is
    up-sampled both ways in one process without touching ``ml``.
    """
    from scipy import ndimage

    f = np.asarray(fill_work, dtype=np.float64)
    zoom = (shape[0] / f.shape[0], shape[1] / f.shape[1])
    return ndimage.zoom(f, zoom, order=1, mode="nearest", grid_mode=True)[: shape[0], : shape[1]]




def fit_gain(original: np.ndarray, fill: np.ndarray, mask: np.ndarray, *, ring: int = 32,
             limits: tuple[float, float] = (0.25, 4.0)) -> float:
    """Contrast gain of the fill: ratio of the local (high-passed) standard deviations of the
    original and of the fill on the unblocked pixels within ``ring`` pixels of a block.

    Why a gain: the shipped fill's contrast is that of a 128-px synthetic median chest, not of
    the real image around it; after the offset field fixes the brightness, a wrong contrast
    still shows as a flat or over-strong patch. Only unblocked pixels are read. 1.0 when there
    is no unblocked ring (p = 1) or no fill contrast.
    """
    from scipy import ndimage

    m = np.asarray(mask, dtype=bool)
    near = ndimage.binary_dilation(m, iterations=ring) & ~m if m.any() else np.zeros_like(m)
    if near.sum() < 16:
        return 1.0
    free = (~m).astype(np.float64)
    o = np.where(m, 0.0, np.asarray(original, dtype=np.float64))
    f = np.asarray(fill, dtype=np.float64)
    sigma = max(2.0, ring / 2.0)
    # low-pass of the original over unblocked pixels only (normalised convolution)
    den = ndimage.gaussian_filter(free, sigma)
    low = np.divide(ndimage.gaussian_filter(o, sigma), den, out=np.zeros_like(o), where=den > 1e-6)
    ho = o - low
    hf = f - ndimage.gaussian_filter(f, sigma)
    so, sf = float(ho[near].std()), float(hf[near].std())
    if sf <= 1e-12:
        return 1.0
    return float(np.clip(so / sf, *limits))


def match_surround(original: np.ndarray, fill: np.ndarray, mask: np.ndarray, *,
                   gain: bool = False, coarse: int = COARSE) -> np.ndarray:
    """``ml.fill_repair.match_surround`` with an optional contrast fit first (:func:`fit_gain`,
    measured and rejected for the product: it amplified the fill's texture on RG1)."""
    o = np.asarray(original, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    f = np.asarray(fill, dtype=np.float64)
    if gain:
        g = fit_gain(o, f, m)
        mu = f[~m].mean() if (~m).any() else f.mean()
        f = mu + g * (f - mu)
    return _ml_match_surround(o, f, m, coarse=coarse)


def compose(original: np.ndarray, fill: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``original`` with its blocked pixels replaced by ``fill`` (clipped to [0, 1]); a float copy
    whose unblocked pixels are the original's values exactly."""
    out = np.array(original, dtype=np.float64, copy=True)
    m = np.asarray(mask, dtype=bool)
    out[m] = np.clip(np.asarray(fill, dtype=np.float64)[m], 0.0, 1.0)
    return out


def working_fill(analysis: Any, p: float, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The compensator's raw working-resolution fill and the full-resolution mask, computed as
    ``ml.deidentify.apply_level`` computes them (same mask, noise and code) but returned before
    the resize, so the fixes above can be applied to it. Imports torch (lazily, via ml).
    """
    import torch

    from medeid_gui.ml.deidentify import blocking_order
    from medeid_gui.ml.nets import WORK_SIZE
    from medeid_gui.ml.patches import grid_mask, upsample_grid

    g = analysis.grid
    h, w = analysis.shape
    mgrid = grid_mask(blocking_order(analysis, seed=seed), p, g)
    model = analysis.model
    mw = torch.from_numpy(upsample_grid(mgrid, (WORK_SIZE, WORK_SIZE)).astype(np.float32))[None, None]
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 3])
    noise = torch.from_numpy(rng.standard_normal((WORK_SIZE, WORK_SIZE)).astype(np.float32))[None, None]
    with torch.inference_mode():
        fill = model.compensate(analysis.work, mw.to(model.device), analysis.code, noise.to(model.device))
    return fill[0, 0].float().cpu().numpy(), upsample_grid(mgrid, (h, w))



def working_fill_at(frame: np.ndarray, model: Any, p: float, size: int, *,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """The shipped networks run at another working resolution ``size`` (e.g. 256): the frame is
    resized to ``size`` and the compensator's prior image (stored at 128 px) is resized with it.

    Why: to measure what a higher working resolution gives *without* retraining (issue #14 asks
    for >= 256 px). All networks are convolutional, so they run; but they were trained on
    anatomy at the 128-px scale, so this shows how far out of their domain 256 px is.
    Returns (fill at ``size`` in [0, 1] of the frame's (lo, hi) window, full-resolution mask,
    (lo, hi)). Imports torch.
    """
    import copy

    import torch
    import torch.nn.functional as F

    from medeid_gui.ml.deidentify import window
    from medeid_gui.ml.nets import GRID
    from medeid_gui.ml.patches import grid_mask, rank_patches, upsample_grid

    grey = np.asarray(frame, dtype=np.float32)
    lo, hi = window(grey)
    norm = np.clip((grey - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
    comp = copy.deepcopy(model.compensator)
    with torch.inference_mode():
        t = torch.from_numpy(np.ascontiguousarray(norm))[None, None].to(model.device)
        work = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False,
                             antialias=size < max(grey.shape)).clamp_(0.0, 1.0)
        if comp.prior is not None:
            comp.prior = F.interpolate(comp.prior, size=(size, size), mode="bicubic",
                                       align_corners=False).clamp_(0.0, 1.0)
        logits = model.identity_logits(work)[0]
        rel = torch.softmax(logits.flatten(), 0).view_as(logits)
        rel = (rel / rel.max()).float().cpu().numpy()
        code = model.semantic_code(model.features(work))
        mgrid = grid_mask(rank_patches(rel, seed), p, GRID)
        mw = torch.from_numpy(upsample_grid(mgrid, (size, size)).astype(np.float32))[None, None]
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 3])
        noise = torch.from_numpy(rng.standard_normal((size, size)).astype(np.float32))[None, None]
        fill = comp(work, mw.to(model.device), code, noise.to(model.device))
    return fill[0, 0].float().cpu().numpy(), upsample_grid(mgrid, grey.shape), (lo, hi)


def repaired_fill(original: np.ndarray, fill_work: np.ndarray, mask: np.ndarray, *,
                  notch: bool = True, smooth: bool = True, match: bool = True,
                  feather: bool = True, gain: bool = False, anchor: bool = False) -> np.ndarray:
    """Full-resolution fill from a working-resolution one with the chosen fixes, in the order
    they must run (notch at working resolution, resize, offset field, border feather, mean
    anchor). ``original`` is read only where ``mask`` is False (its blocked pixels are zeroed
    first, so no step can see them) -- except with ``anchor``, which reads the frame's mean.
    ``gain`` (contrast fit) is off by default: measured on RG1 it amplified the fill's texture
    (texture ratio 0.75 -> 3.5 at p = 0.5) and worsened the step.
    """
    frame_mean = float(np.mean(original))
    original = np.where(mask, 0.0, np.asarray(original, dtype=np.float64))
    f = nyquist_notch(fill_work) if notch else np.asarray(fill_work, dtype=np.float64)
    shape = (int(original.shape[0]), int(original.shape[1]))
    f = upsample_smooth(f, shape) if smooth else upsample_bilinear(f, shape)
    if match:
        f = match_surround(original, f, mask, gain=gain)
    if feather:
        f = feather_border(original, f, mask)
    if anchor:
        m = np.asarray(mask, dtype=bool)
        n_b = int(m.sum())
        if n_b:
            # blocked mean that makes the frame mean equal the original's
            target = (frame_mean * m.size - float(original[~m].sum())) / n_b
            f = anchor_mean(f, m, target)
    return f
