"""``medeid ml attacker``: train the re-identification attacker and report verification AUC."""

from __future__ import annotations

import argparse
import sys

HELP = "train the patient-verification attacker on a cohort or any DICOM folder; report AUC"


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--cohort", help="a folder written by 'medeid ml cohort' (train/test splits)")
    src.add_argument("--dicom", help="any DICOM folder; PatientID is the identity label, "
                                     "patients split 70/30 at random")
    p.add_argument("--method", default="identity",
                   help="registered transform applied to the released view (cohort only)")
    p.add_argument("--p", type=float, default=0.0, help="privacy level for --method")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default=None)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from medeid_gui.lab.attacker import AttackerConfig, attack
    from medeid_gui.lab.metrics import mean_std
    from medeid_gui.ml.device import pick_device

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = AttackerConfig() if args.steps is None else AttackerConfig(steps=args.steps)
    dev = pick_device(args.device)
    try:
        if args.cohort:
            from medeid_gui.lab.cohort import area_resize, load_split
            from medeid_gui.lab.registry import get_method

            m = get_method(args.method)
            tr, te = load_split(args.cohort, "train"), load_split(args.cohort, "test")
            rs = lambda a: area_resize(a, args.size).astype(np.float32)  # noqa: E731 - one-line resize shorthand
            tra, tea = rs(tr.images), rs(te.images)
            trb = rs(m.apply(tr.images, args.p, np.random.default_rng([1, 0])))
            teb = rs(m.apply(te.images, args.p, np.random.default_rng([1, 1])))
            trp, tep = tr.patients, te.patients
        else:
            from medeid_gui.lab.imageset import load_dicom_folder, patient_split

            s = load_dicom_folder(args.dicom, args.size)
            for path, why in s.skipped:
                print(f"skipped {path}: {why}", file=sys.stderr)
            trm, tem = patient_split(s.patients, 0.3, 0)
            tra = trb = s.images[trm]
            tea = teb = s.images[tem]
            trp, tep = s.patients[trm], s.patients[tem]
        aucs = []
        for seed in range(args.seeds):
            r = attack(tra, trb, trp, tea, teb, tep, seed=seed, config=cfg, dev=dev)
            print(f"seed {seed}: verification AUC {r.auc:.4f} on {r.n_pairs} pairs ({r.seconds:.0f} s)")
            aucs.append(r.auc)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"medeid ml attacker: {exc}", file=sys.stderr)
        return 2
    ms = mean_std(aucs)
    print(f"verification AUC {ms['mean']:.4f} ± {ms['std']:.4f} over {ms['seeds']} seeds")
    return 0
