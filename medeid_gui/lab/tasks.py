"""Three downstream tasks that measure what a de-identified image is still good for.

Why three of different kinds: a transform can keep the image-level gist yet wreck the pixels
(or the other way round), so utility is measured as
- ``classification_auc``: multi-label finding classification (nodule, effusion, opacity), macro AUC;
- ``segmentation_dice``: pixel-level lesion segmentation (any finding), pooled Dice;
- ``severity_r2``: regression of the lesion burden (lesion area / lung area), R².
All three models are trained once on *original* training images and then scored on any
transformed test set, which is how a model trained on clinical data meets released images.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from medeid_gui.lab.metrics import dice, macro_auc, r2

TASK_KEYS = ("classification_auc", "segmentation_dice", "severity_r2")
SEVERITY_SCALE = 10.0  # severity is a fraction ~0..0.3; scaled for a well-conditioned loss


@dataclass
class TaskConfig:
    epochs: int = 20
    batch: int = 32
    lr: float = 2e-3
    width: int = 16
    unet_width: int = 12


@dataclass
class TaskModels:
    classifier: object
    segmenter: object
    regressor: object
    seconds: dict = field(default_factory=dict)


def _fit(model, x: np.ndarray, target: np.ndarray, loss_fn, *, seed: int, cfg: TaskConfig, dev,
         shift: bool, log=None, name: str = ""):
    import torch

    from medeid_gui.lab.torch_util import augment, seed_all, to_tensor

    seed_all(seed)
    rng = np.random.default_rng(seed)
    X = to_tensor(x, "cpu")
    T = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))
    steps_per_epoch = max(1, int(np.ceil(len(x) / cfg.batch)))
    total = cfg.epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=total, pct_start=0.2)
    model.train()
    for ep in range(cfg.epochs):
        order = rng.permutation(len(x))
        tot = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * cfg.batch:(s + 1) * cfg.batch]
            xb = augment(X[idx].to(dev), rng, shift=4 if shift else 0)
            loss = loss_fn(model(xb), T[idx].to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.item())
        if log:
            log(f"{name} epoch {ep} loss {tot / steps_per_epoch:.4f}")
    model.eval()
    return model


def train_tasks(images: np.ndarray, findings: np.ndarray, masks: np.ndarray,
                severity: np.ndarray, *, seed: int = 0, config: TaskConfig = TaskConfig(),
                dev=None, log=None) -> TaskModels:
    """Train the three task models on (original) images (N, H, W) in [0, 1]."""
    import torch
    import torch.nn.functional as F

    from medeid_gui.lab.nets import UNet
    from medeid_gui.lab.torch_util import dice_bce_loss
    from medeid_gui.ml.device import pick_device

    if not (len(images) == len(findings) == len(masks) == len(severity)):
        raise ValueError("images and labels differ in length")
    if images.shape[-1] % 8:
        raise ValueError("task images must have a side divisible by 8")
    dev = dev or pick_device()
    torch.manual_seed(seed)
    secs = {}

    t0 = time.perf_counter()
    clf = _fit(_make_clf(3, config, dev),
               images, findings, F.binary_cross_entropy_with_logits, seed=seed, cfg=config,
               dev=dev, shift=True, log=log, name="classifier")
    secs["classifier"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    seg = _fit(UNet(config.unet_width).to(dev), images, masks.astype(np.float32), dice_bce_loss,
               seed=seed + 1, cfg=config, dev=dev, shift=False, log=log, name="segmenter")
    secs["segmenter"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reg = _fit(_make_clf(1, config, dev), images, (severity * SEVERITY_SCALE)[:, None],
               F.smooth_l1_loss, seed=seed + 2, cfg=config, dev=dev, shift=True, log=log,
               name="regressor")
    secs["regressor"] = time.perf_counter() - t0
    return TaskModels(clf, seg, reg, secs)


def _make_clf(n_out: int, cfg: TaskConfig, dev):
    from torch import nn

    from medeid_gui.lab.nets import Classifier

    m = Classifier(n_out, cfg.width)
    # small findings (nodules of a few pixels) need a finer stem than the attacker's
    m.features[0] = nn.Conv2d(1, cfg.width, 3, 2, 1, bias=False)
    return m.to(dev)


def score_tasks(models: TaskModels, images: np.ndarray, findings: np.ndarray, masks: np.ndarray,
                severity: np.ndarray, dev=None) -> dict[str, float]:
    """The three utility numbers on one (possibly transformed) image set."""
    from medeid_gui.lab.torch_util import predict
    from medeid_gui.ml.device import pick_device

    dev = dev or pick_device()
    cls = predict(models.classifier, images, dev)
    seg = predict(models.segmenter, images, dev, batch=32)
    sev = predict(models.regressor, images, dev)[:, 0] / SEVERITY_SCALE
    return {
        "classification_auc": round(macro_auc(findings, cls), 4),
        "segmentation_dice": round(dice(seg > 0, masks), 4),
        "severity_r2": round(r2(severity, sev), 4),
    }
