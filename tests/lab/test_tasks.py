from __future__ import annotations

import math

import numpy as np

from medeid_gui.lab.cohort import load_split
from medeid_gui.lab.tasks import TASK_KEYS, TaskConfig, score_tasks, train_tasks


def test_three_tasks_train_and_score_end_to_end(tiny_cohort):
    tr = load_split(tiny_cohort, "train", size=64)
    te = load_split(tiny_cohort, "all", size=64)
    cfg = TaskConfig(epochs=20, batch=4, width=8, unet_width=4, lr=3e-3)
    models = train_tasks(tr.images, tr.findings, tr.masks, tr.severity, seed=0, config=cfg,
                         dev="cpu")
    s = score_tasks(models, te.images, te.findings, te.masks, te.severity, dev="cpu")
    assert set(s) == set(TASK_KEYS)
    assert all(math.isfinite(v) for v in s.values())
    assert s["classification_auc"] > 0.6 and 0 <= s["segmentation_dice"] <= 1
    # the segmenter has learnt something: better than predicting nothing or everything
    all_on = 2 * te.masks.sum() / (te.masks.size + te.masks.sum())
    assert s["segmentation_dice"] > all_on
    # grey images carry no findings: utility collapses
    grey = score_tasks(models, np.full_like(te.images, 0.5), te.findings, te.masks, te.severity,
                       dev="cpu")
    assert grey["classification_auc"] == 0.5 and grey["segmentation_dice"] < s["segmentation_dice"]
