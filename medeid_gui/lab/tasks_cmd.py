"""``medeid ml tasks``: train the three downstream task models on a cohort; report test scores."""

from __future__ import annotations

import argparse
import sys

HELP = "train finding classification, lesion segmentation and severity regression; score them"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("cohort", help="a folder written by 'medeid ml cohort'")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--method", default="identity", help="registered transform for the test set")
    p.add_argument("--p", type=float, default=0.0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default=None)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from medeid_gui.lab.cohort import area_resize, load_split
    from medeid_gui.lab.registry import get_method
    from medeid_gui.lab.tasks import TaskConfig, score_tasks, train_tasks
    from medeid_gui.ml.device import pick_device

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = TaskConfig() if args.epochs is None else TaskConfig(epochs=args.epochs)
    try:
        m = get_method(args.method)
        tr, te = load_split(args.cohort, "train"), load_split(args.cohort, "test")
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"medeid ml tasks: {exc}", file=sys.stderr)
        return 2
    rs = lambda a: area_resize(a, args.size).astype(np.float32)  # noqa: E731 - one-line resize shorthand
    dev = pick_device(args.device)
    models = train_tasks(rs(tr.images), tr.findings, rs(tr.masks.astype(np.float32)) >= 0.5,
                         tr.severity, seed=args.seed, config=cfg, dev=dev)
    test = rs(m.apply(te.images, args.p, np.random.default_rng([1, 1])))
    scores = score_tasks(models, test, te.findings, rs(te.masks.astype(np.float32)) >= 0.5,
                         te.severity, dev=dev)
    secs = ", ".join(f"{k} {v:.0f} s" for k, v in models.seconds.items())
    print(f"test scores ({args.method} p={args.p}): {scores}  [training: {secs}]")
    return 0
