"""Task utility for the end-of-training evaluation of an archive model, where a labels file has labels.

Why: a model that hides identity by wrecking the image is no use; the privacy figures of
``lab.archive_eval`` need the utility beside them. A site's archive carries labels only when its
``--labels`` CSV has them (``import-images`` writes the CSV's image name into each instance, so the
two join); each task is trained on the *training* patients' originals and scored on the held-out
patients' images as released at every level, as ``lab.real_eval_tasks`` does for the real set:

- ``finding_auc``: the training images' most frequent finding vs every other, ROC AUC;
- ``lung_dice``: segmentation of the masks named in the ``lung_mask`` column, pooled Dice;
- ``severity_r``: the ``severity_geographic`` / 8 and ``severity_opacity`` / 6 scores regressed
  jointly, Pearson r.

A task without enough labels on either side is reported with the reason ("no labels"), never as a
number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medeid_gui.lab.archive_plan import ArchiveImage
from medeid_gui.lab.real_cxr import CxrItem, read_metadata
from medeid_gui.lab.real_eval_tasks import masked_mse

__all__ = ["TASK_NAMES", "TaskLabels", "TaskSet", "labels_for", "score_tasks", "train_tasks", "unscorable"]

TASK_NAMES = ("finding_auc", "lung_dice", "severity_r")
#: labelled training images a task needs to be trained at all
MIN_TRAIN = 4


@dataclass
class TaskLabels:
    """The labels of one list of images (``None`` / NaN where an image has none)."""

    finding: list[str]
    masks: list[np.ndarray | None]  #: bool, the image's own size
    severity: np.ndarray  #: (N, 2) in [0, 1], NaN where not scored

    def counts(self) -> dict[str, int]:
        """Images with a finding, with a lung mask, with any severity score."""
        return {"finding": sum(bool(f) for f in self.finding),
                "masks": sum(m is not None for m in self.masks),
                "severity": int((~np.isnan(self.severity).all(axis=1)).sum())}

    def subset(self, idx: Sequence[int]) -> TaskLabels:
        """The labels of the images ``idx`` (in that order)."""
        return TaskLabels([self.finding[k] for k in idx], [self.masks[k] for k in idx],
                          self.severity[list(idx)])

    def finding_target(self, positive: str) -> tuple[np.ndarray, np.ndarray]:
        """(indices with a finding, 1.0 where it is ``positive``)."""
        idx = np.array([k for k, f in enumerate(self.finding) if f], dtype=int)
        return idx, np.array([self.finding[k] == positive for k in idx], dtype=np.float32)


@dataclass
class TaskSet:
    """Trained task models (None: not trainable) and why each missing one is missing."""

    positive: str = ""
    models: dict[str, object] = field(default_factory=dict)
    why_not: dict[str, str] = field(default_factory=dict)


def _mask_path(csv_path: Path, name: str) -> Path | None:
    for p in (csv_path.parent / name, csv_path.parent / "lung_masks" / name):
        if name and p.is_file():
            return p
    return None


def _row_of(path: Path, rows: dict[str, CxrItem]) -> tuple[CxrItem | None, tuple[int, int]]:
    """The image's CSV row (None when it names none) and its (rows, columns)."""
    import pydicom

    from medeid_gui.dicom.import_images import image_name_of

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        return rows.get(image_name_of(ds)), (int(ds.get("Rows", 0)), int(ds.get("Columns", 0)))
    except Exception:  # noqa: BLE001 - an unreadable header only means no labels for the image
        return None, (0, 0)


def labels_for(images: Sequence[ArchiveImage], csv_path: str | None) -> TaskLabels:
    """The labels CSV's labels of ``images`` (joined by the image name ``import-images`` records);
    a mask of another size than its image is not used."""
    from PIL import Image

    n = len(images)
    out = TaskLabels([""] * n, [None] * n, np.full((n, 2), np.nan, dtype=np.float32))
    if not csv_path:
        return out
    rows = {it.image: it for it in read_metadata(csv_path, frontal_only=False)}
    for k, im in enumerate(images):
        it, shape = _row_of(im.path, rows)
        if it is None or it.patient_id != im.patient_id:
            continue
        out.finding[k] = it.finding
        mpath = _mask_path(Path(csv_path), it.lung_mask)
        if mpath is not None:
            m = np.asarray(Image.open(mpath).convert("L")) >= 128
            out.masks[k] = m if m.shape == tuple(shape) else None
        g, o = it.severity_geographic, it.severity_opacity
        out.severity[k] = [np.nan if g is None else g / 8, np.nan if o is None else o / 6]
    return out


def train_tasks(work: np.ndarray, lab: TaskLabels, *, epochs: int = 20, seed: int = 0,
                log: Callable[[str], None] | None = None) -> TaskSet:
    """Each task whose labels the training images have, trained on their original work images."""
    import torch.nn.functional as F

    from medeid_gui.lab.nets import UNet
    from medeid_gui.lab.real_eval_tasks import mask_work
    from medeid_gui.lab.tasks import TaskConfig, _fit, _make_clf
    from medeid_gui.lab.torch_util import dice_bce_loss

    cfg, dev, ts = TaskConfig(epochs=epochs, batch=16), "cpu", TaskSet()
    named = [f for f in lab.finding if f]
    if named:
        kinds, counts = np.unique(named, return_counts=True)
        ts.positive = str(kinds[np.argmax(counts)])
    fidx, fy = lab.finding_target(ts.positive)
    if len(fidx) >= MIN_TRAIN and 2 <= fy.sum() <= len(fy) - 2:
        ts.models["finding_auc"] = _fit(_make_clf(1, cfg, dev), work[fidx], fy[:, None],
                                        F.binary_cross_entropy_with_logits, seed=seed, cfg=cfg,
                                        dev=dev, shift=True, log=log, name="finding")
    else:
        ts.why_not["finding_auc"] = "no labels (findings of both kinds on the training patients)"
    midx, mw = mask_work(lab.masks, work.shape[-1])
    if len(midx) >= MIN_TRAIN:
        ts.models["lung_dice"] = _fit(UNet(cfg.unet_width).to(dev), work[midx], mw.astype(np.float32),
                                      lambda lg, t: dice_bce_loss(lg, t, pos_weight=1.0),
                                      seed=seed + 1, cfg=cfg, dev=dev, shift=False, log=log, name="lungs")
    else:
        ts.why_not["lung_dice"] = f"no labels (lung masks: {len(midx)} training images, needs {MIN_TRAIN})"
    sidx = np.flatnonzero(~np.isnan(lab.severity).all(axis=1))
    if len(sidx) >= MIN_TRAIN:
        ts.models["severity_r"] = _fit(_make_clf(2, cfg, dev), work[sidx], lab.severity[sidx], masked_mse,
                                       seed=seed + 2, cfg=cfg, dev=dev, shift=True, log=log, name="severity")
    else:
        ts.why_not["severity_r"] = f"no labels (severity: {len(sidx)} training images, needs {MIN_TRAIN})"
    return ts


def unscorable(ts: TaskSet, lab: TaskLabels) -> dict[str, str]:
    """Why each trained task cannot be scored on these (held-out) labels."""
    out: dict[str, str] = {}
    _, fy = lab.finding_target(ts.positive)
    if "finding_auc" in ts.models and not 0 < fy.sum() < len(fy):
        out["finding_auc"] = f"no labels (held-out images need '{ts.positive}' and other findings)"
    if "lung_dice" in ts.models and not any(m is not None for m in lab.masks):
        out["lung_dice"] = "no labels (no held-out image has a lung mask)"
    scored = lab.counts()["severity"]
    if "severity_r" in ts.models and scored < 3:
        out["severity_r"] = f"no labels (severity: {scored} held-out images, needs 3)"
    return out


def score_tasks(ts: TaskSet, work: np.ndarray, lab: TaskLabels) -> dict[str, float]:
    """The scorable tasks on one (original or released) list of held-out work images."""
    from medeid_gui.lab.metrics import dice, roc_auc
    from medeid_gui.lab.real_eval_tasks import mask_work
    from medeid_gui.lab.torch_util import predict

    skip = unscorable(ts, lab)
    out: dict[str, float] = {}
    if "finding_auc" in ts.models and "finding_auc" not in skip:
        fidx, fy = lab.finding_target(ts.positive)
        out["finding_auc"] = round(roc_auc(fy, predict(ts.models["finding_auc"], work[fidx], "cpu")[:, 0]), 4)
    if "lung_dice" in ts.models and "lung_dice" not in skip:
        midx, mw = mask_work(lab.masks, work.shape[-1])
        seg = predict(ts.models["lung_dice"], work[midx], "cpu", batch=16)
        out["lung_dice"] = round(dice(seg > 0, mw), 4)
    if "severity_r" in ts.models and "severity_r" not in skip:
        sidx = np.flatnonzero(~np.isnan(lab.severity).all(axis=1))
        pred = predict(ts.models["severity_r"], work[sidx], "cpu")
        t, pr = lab.severity[sidx].ravel(), pred.ravel()
        ok = ~np.isnan(t)
        r = np.corrcoef(t[ok], pr[ok])[0, 1] if np.std(pr[ok]) > 0 and np.std(t[ok]) > 0 else np.nan
        out["severity_r"] = round(float(r), 4)
    return out
