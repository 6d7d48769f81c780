"""The real-set evaluation's three tasks: finding, lung segmentation, severity.

Why these: they are the labels the real set carries (README of ``shared/real/cxr``), of three
kinds (image-level class, pixel mask, graded score), so a transform that keeps the gist but
wrecks pixels, or the other way round, shows. Each model is trained once on the *originals* of
the train + validation patients (never a test patient) and scored on the test images as released
by each method at each level: how a model trained on clinical data meets released images.

- ``finding_auc``: COVID-19 vs any other finding, ROC AUC;
- ``lung_dice``: lung segmentation, Dice pooled over the test images that have a mask;
- ``severity_r``: the two radiologists' severity scores (geographic / 8, opacity / 6) regressed
  jointly, Pearson r of predicted vs scored over the test images that have them (both scores
  pooled; r rather than R², which a dozen test images make unstable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from medeid_gui.lab.metrics import dice, roc_auc

__all__ = ["TASKS", "RealTaskModels", "mask_work", "score_real_tasks", "train_real_tasks"]

TASKS = ("finding_auc", "lung_dice", "severity_r")


@dataclass
class RealTaskModels:
    classifier: object
    segmenter: object
    regressor: object


def mask_work(masks: list[np.ndarray | None], size: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices with a mask, (M, size, size) bool masks box-averaged to ``size``)."""
    from medeid_gui.lab.thumb_attack import box_resize

    idx = np.array([k for k, m in enumerate(masks) if m is not None], dtype=int)
    out = [box_resize(masks[k].astype(np.float64), size) >= 0.5 for k in idx]
    return idx, (np.stack(out) if out else np.zeros((0, size, size), dtype=bool))


def masked_mse(pred, target):
    """Mean squared error over the targets that are not NaN (a severity score may be missing)."""
    ok = ~target.isnan()
    return ((pred - target.nan_to_num()) ** 2 * ok).sum() / ok.sum().clamp(min=1)


def train_real_tasks(work: np.ndarray, covid: np.ndarray, masks: list[np.ndarray | None],
                     severity: np.ndarray, *, epochs: int = 20, seed: int = 0,
                     log: Callable[[str], None] | None = None) -> RealTaskModels:
    """Train the three models on original work images (N, S, S) in [0, 1]."""
    import torch.nn.functional as F

    from medeid_gui.lab.nets import UNet
    from medeid_gui.lab.tasks import TaskConfig, _fit, _make_clf
    from medeid_gui.lab.torch_util import dice_bce_loss

    cfg = TaskConfig(epochs=epochs, batch=16)
    dev = "cpu"
    clf = _fit(_make_clf(1, cfg, dev), work, covid[:, None], F.binary_cross_entropy_with_logits,
               seed=seed, cfg=cfg, dev=dev, shift=True, log=log, name="finding")
    midx, mw = mask_work(masks, work.shape[-1])
    seg = _fit(UNet(cfg.unet_width).to(dev), work[midx], mw.astype(np.float32),
               lambda lg, t: dice_bce_loss(lg, t, pos_weight=1.0), seed=seed + 1, cfg=cfg, dev=dev,
               shift=False, log=log, name="lungs")
    sidx = np.flatnonzero(~np.isnan(severity).all(axis=1))
    reg = _fit(_make_clf(2, cfg, dev), work[sidx], severity[sidx], masked_mse, seed=seed + 2,
               cfg=cfg, dev=dev, shift=True, log=log, name="severity")
    return RealTaskModels(clf, seg, reg)


def score_real_tasks(models: RealTaskModels, work: np.ndarray, covid: np.ndarray,
                     mask_idx: np.ndarray, masks_w: np.ndarray, severity: np.ndarray) -> dict[str, float]:
    """The three scores on one (possibly released) set of test work images."""
    from medeid_gui.lab.torch_util import predict

    out = {"finding_auc": float("nan"), "lung_dice": float("nan"), "severity_r": float("nan")}
    if 0 < covid.sum() < len(covid):
        out["finding_auc"] = round(roc_auc(covid, predict(models.classifier, work, "cpu")[:, 0]), 4)
    if len(mask_idx):
        seg = predict(models.segmenter, work[mask_idx], "cpu", batch=16)
        out["lung_dice"] = round(dice(seg > 0, masks_w), 4)
    sidx = np.flatnonzero(~np.isnan(severity).all(axis=1))
    if len(sidx) >= 3:
        pred = predict(models.regressor, work[sidx], "cpu")
        t, pr = severity[sidx].ravel(), pred.ravel()
        ok = ~np.isnan(t)
        if np.std(pr[ok]) > 0 and np.std(t[ok]) > 0:
            out["severity_r"] = round(float(np.corrcoef(t[ok], pr[ok])[0, 1]), 4)
    return out
