"""Seeding, batching and losses shared by the lab's training loops (torch imported lazily).

The device is chosen by :func:`medeid_gui.ml.device.pick_device`, the one rule for the app, the
CLI, the method's training and the evaluation.
"""

from __future__ import annotations

import numpy as np


def seed_all(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def to_tensor(x: np.ndarray, dev):
    """(N, H, W) float array -> (N, 1, H, W) float32 tensor on ``dev``."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if t.ndim == 3:
        t = t[:, None]
    return t.to(dev)


def predict(model, x: np.ndarray, dev, batch: int = 128) -> np.ndarray:
    """Run ``model`` in eval mode over ``x`` (N, H, W) in batches; returns numpy."""
    import torch

    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            outs.append(model(to_tensor(x[i:i + batch], dev)).float().cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0,))


def dice_bce_loss(logits, target, pos_weight: float = 3.0):
    """Lesion segmentation loss: BCE with lesion pixels weighted ``pos_weight`` (they are few)
    plus soft Dice pooled over the batch. ``logits`` and ``target`` have the same shape."""
    import torch
    import torch.nn.functional as F

    prob = torch.sigmoid(logits)
    inter = (prob * target).sum()
    soft_dice = 1 - (2 * inter + 1) / (prob.sum() + target.sum() + 1)
    return F.binary_cross_entropy_with_logits(
        logits, target, pos_weight=torch.tensor(pos_weight, device=logits.device)) + soft_dice


def augment(xb, rng: np.random.Generator, shift: int = 4, gain: float = 0.1):
    """Small random translation and contrast/brightness jitter (no flips: left/right matters)."""
    import torch

    n = xb.shape[0]
    dy, dx = rng.integers(-shift, shift + 1, 2)
    xb = torch.roll(xb, shifts=(int(dy), int(dx)), dims=(2, 3))
    g = torch.from_numpy(rng.uniform(1 - gain, 1 + gain, (n, 1, 1, 1)).astype(np.float32))
    o = torch.from_numpy(rng.uniform(-gain / 2, gain / 2, (n, 1, 1, 1)).astype(np.float32))
    return (xb * g.to(xb.device) + o.to(xb.device)).clamp(0, 1)
