"""``medeid ml familiarity COHORT``: fit a model's unfamiliarity score on its training images.

Why a command of its own: the statistics belong to the weights they were computed with (the
semantic encoder's features), so they are refitted whenever the weights change, from the same
cohort splits: mean and covariance from the training split, the threshold from the validation
split (patients never seen in training), written beside the weights and listed in the manifest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HELP = "fit the unfamiliar-image score of the installed weights on a cohort's train/val splits"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cohort", help="a generated cohort folder (medeid ml cohort)")
    parser.add_argument("--models", default=None, help="model folder (default: the shipped models/)")
    parser.add_argument("--threads", type=int, default=1)


def pooled_split(root: Path, split: str, model: object) -> np.ndarray:
    """Pooled semantic features of every image of one cohort split, as the app computes them."""
    from medeid_gui.lab.cohort import load_split
    from medeid_gui.ml.deidentify import analyse
    from medeid_gui.ml.familiarity import pooled_features

    images = load_split(root, split).images
    return np.stack([pooled_features(analyse(img, model).features.float().cpu().numpy()) for img in images])


def fit(cohort: Path, models: Path) -> dict[str, object]:
    from medeid_gui.ml.familiarity import FAMILIARITY_FILE, fit_familiarity
    from medeid_gui.ml.model import load_model
    from medeid_gui.ml.weights import record

    model = load_model(models, device="cpu")
    train, val = pooled_split(cohort, "train", model), pooled_split(cohort, "val", model)
    fam = fit_familiarity(train, val)
    data = fam.to_json()
    data["calibration"] = {
        **fam.calibration,
        "cohort": str(cohort.name),
        "splits": "train (statistics) / val (threshold)",
    }
    (models / FAMILIARITY_FILE).write_text(json.dumps(data) + "\n", encoding="utf-8")
    record(models, FAMILIARITY_FILE, model="medeid-familiarity")
    return data["calibration"]  # type: ignore[return-value]


def run(args: argparse.Namespace) -> int:
    import torch

    from medeid_gui._resources import models_dir

    torch.set_num_threads(max(1, args.threads))
    models = Path(args.models) if args.models else Path(models_dir())
    calib = fit(Path(args.cohort), models)
    print(json.dumps(calib, indent=1))
    return 0
