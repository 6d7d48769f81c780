"""Readouts beside the slider: re-identification risk and semantic fidelity of one result.

Why here and how: the ml package exposes the method's networks (``MedeidModel``: ``reid`` — the
ReID encoder — and ``features``/``semantic_code``) but no ready-made comparison. Both readouts are
cosine similarities between the original and the de-identified frame, computed on the same
working image the method uses (luminance, normalised with the *original's* 0.5–99.5 percentiles so
both sides share one intensity scale, resized to ``WORK_SIZE``):

* re-id risk = cos(ReID(original), ReID(de-identified)) — 1.0: same identity signature;
* semantic fidelity = cos(s(original), s(de-identified)) with s the decoupled semantic code.

The GUI shows the fidelity only: the re-id risk beside the slider is the attacker's measured
curve (``ml.risk``), not this per-image cosine, which is not a probability. They use the
pipeline's own ReID encoder, not an independent attacker (the evaluation's
attacker AUC is the number to trust); the tooltip says so. Runs in a worker thread; torch is
imported inside the function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from medeid_gui.ml.familiarity import Familiarity, FamiliarityModel
    from medeid_gui.ml.model import MedeidModel


def _grey(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 3:
        return a[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return a


def identity_and_semantic_similarity(
    model: MedeidModel, original: np.ndarray, deidentified: np.ndarray
) -> tuple[float, float]:
    import torch
    import torch.nn.functional as F

    from medeid_gui.ml.nets import WORK_SIZE

    g0, g1 = _grey(original), _grey(deidentified)
    finite = g0[np.isfinite(g0)]
    lo, hi = (float(v) for v in np.percentile(finite, (0.5, 99.5))) if finite.size else (0.0, 1.0)
    if hi - lo < 1e-6:
        hi = lo + 1.0
    x = np.stack([np.clip((np.nan_to_num(g, nan=lo) - lo) / (hi - lo), 0.0, 1.0) for g in (g0, g1)]).astype(np.float32)
    with torch.inference_mode():
        t = torch.from_numpy(x)[:, None].to(model.device)
        t = F.interpolate(
            t,
            size=(WORK_SIZE, WORK_SIZE),
            mode="bilinear",
            align_corners=False,
            antialias=t.shape[-1] > WORK_SIZE or t.shape[-2] > WORK_SIZE,
        ).clamp_(0.0, 1.0)
        emb = F.normalize(model.reid(t).float().flatten(1), dim=1)
        risk = float((emb[0] * emb[1]).sum())
        code = model.semantic_code(model.features(t)).float().flatten(1)
        fid = float(F.cosine_similarity(code[0:1], code[1:2]).item())
    return risk, fid


def image_familiarity(model: MedeidModel, stats: FamiliarityModel, frame: np.ndarray) -> Familiarity:
    """How far ``frame`` (in MONOCHROME2 sense) is from the model's training images.

    The same features the statistics were fitted on: ``ml.deidentify.analyse`` (the method's own
    working image), pooled per channel (``ml.familiarity.pooled_features``).
    """
    from medeid_gui.ml.deidentify import analyse
    from medeid_gui.ml.familiarity import pooled_features

    feats = analyse(frame, model).features.float().cpu().numpy()
    return stats.score(pooled_features(feats))
