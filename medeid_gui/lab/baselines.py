"""Baseline pixel de-identification transforms, registered under fixed names.

Why: the method is judged against what a site could do without it, on the same data and the
same attacker. Each maps the privacy level ``p`` in [0, 1] to a strength; ``p = 0`` returns the
input unchanged. Strengths scale with the image size so 128 px and 512 px frames are treated alike.

- ``identity``: no change (the reference point).
- ``blur``: Gaussian blur, sigma = p * H / 32 (8 px at 256).
- ``pixelate``: block means on a b x b grid, b = 1 + round(p * (H / 8 - 1)) (4 -> 32 px at 256).
- ``dp-pix``: Fan 2018 differentially private pixelisation: block means on a b x b grid plus
  Laplace noise of scale m / (b^2 * eps) (intensity range 1), with m = 16 (scaled with the
  image area, so 16 at 256 px) and, by level,
  b = round(H/64 * 4 ** p) (4 -> 16 px at 256) and eps = 10 ** (1 - 1.5 p) (10 -> 0.32).
- ``random-block``: a fraction p of the cells of a 16 x 16 grid, chosen at random, filled grey.
"""

from __future__ import annotations

import math

import numpy as np

from medeid_gui.lab.registry import register_method

DP_PIX_M = 16
GRID = 16
GREY = 0.5


def identity(frames: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """No change."""
    return frames


def blur(frames: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur, sigma = p * H / 32.  scipy only here, when called: a site's held-out
    evaluation releases random blocking alone, and it runs in the bundle, which has no scipy."""
    sigma = p * frames.shape[-2] / 32
    if sigma <= 0:
        return frames
    from scipy import ndimage

    return ndimage.gaussian_filter(frames, (0, sigma, sigma), mode="nearest")


def block_means(frames: np.ndarray, b: int) -> np.ndarray:
    """Replace every b x b block (partial blocks at the edges too) by its mean."""
    n, h, w = frames.shape
    hb, wb = -(-h // b), -(-w // b)
    pad = np.pad(frames, ((0, 0), (0, hb * b - h), (0, wb * b - w)), mode="edge")
    means = pad.reshape(n, hb, b, wb, b).mean(axis=(2, 4))
    return means


def _expand(means: np.ndarray, b: int, h: int, w: int) -> np.ndarray:
    return np.repeat(np.repeat(means, b, axis=1), b, axis=2)[:, :h, :w]


def pixelate(frames: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Block means, block side 1 + round(p * (H / 8 - 1))."""
    if p <= 0:
        return frames
    # linear in p: a geometric schedule gives 2 px blocks at low p, which the evaluation's
    # 2x area downsampling erases completely
    b = 1 + int(round(p * (frames.shape[-2] / 8 - 1)))
    if b <= 1:
        return frames
    return _expand(block_means(frames, b), b, *frames.shape[1:])


def dp_pix_blocks(frames: np.ndarray, b: int, eps: float, rng: np.random.Generator,
                  m: int = DP_PIX_M) -> tuple[np.ndarray, np.ndarray]:
    """Fan 2018 DP-Pix on block means: returns (noisy block means, clean block means)."""
    if b < 1 or eps <= 0:
        raise ValueError("DP-Pix needs b >= 1 and eps > 0")
    clean = block_means(frames, b)
    scale = m / (b * b * eps)  # sensitivity m * 255 / b^2 with intensities in [0, 1]
    return clean + rng.laplace(0.0, scale, clean.shape), clean


def dp_pix_params(p: float, h: int) -> tuple[int, float]:
    b = max(1, int(round(h / 64 * 4**p)))
    eps = 10 ** (1 - 1.5 * p)
    return b, eps


def dp_pix(frames: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """DP-Pix (Fan 2018): block means + Laplace noise m / (b^2 eps)."""
    if p <= 0:
        return frames
    h = frames.shape[-2]
    b, eps = dp_pix_params(p, h)
    # m counts pixels; scaled with the area so the noise matches the 256 px schedule
    m = max(1, int(round(DP_PIX_M * (h / 256) ** 2)))
    noisy, _ = dp_pix_blocks(frames, b, eps, rng, m=m)
    return _expand(noisy, b, *frames.shape[1:])


def random_block(frames: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """A random fraction p of the 16 x 16 grid cells filled grey (0.5)."""
    n, h, w = frames.shape
    k = int(round(p * GRID * GRID))
    if k <= 0:
        return frames
    out = frames.copy()
    ch, cw = math.ceil(h / GRID), math.ceil(w / GRID)
    for i in range(n):
        cells = rng.choice(GRID * GRID, size=k, replace=False)
        mask = np.zeros(GRID * GRID, dtype=bool)
        mask[cells] = True
        full = np.repeat(np.repeat(mask.reshape(GRID, GRID), ch, 0), cw, 1)[:h, :w]
        out[i][full] = GREY
    return out


register_method("identity", identity)
register_method("blur", blur)
register_method("pixelate", pixelate)
register_method("dp-pix", dp_pix)
register_method("random-block", random_block)
