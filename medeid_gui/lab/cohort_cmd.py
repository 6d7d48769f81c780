"""``medeid ml cohort OUT``: write the generated chest-radiograph cohort (see ``lab.cohort``)."""

from __future__ import annotations

import argparse
import sys

HELP = "generate a synthetic chest-radiograph cohort as DICOM + labels + masks"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="output folder (empty or an earlier cohort)")
    p.add_argument("--patients", type=int, default=200)
    p.add_argument("--studies-per-patient", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=256, help="image rows = columns (pixels)")


def run(args: argparse.Namespace) -> int:
    from medeid_gui.lab.cohort import CohortConfig, generate_cohort

    cfg = CohortConfig(patients=args.patients, studies_per_patient=args.studies_per_patient,
                       seed=args.seed, size=args.size)
    try:
        info = generate_cohort(args.out, cfg)
    except (ValueError, FileExistsError) as exc:
        print(f"medeid ml cohort: {exc}", file=sys.stderr)
        return 2
    n = {k: len(v) for k, v in info.splits.items()}
    print(f"wrote {info.n_images} images of {cfg.patients} patients to {info.root} "
          f"(splits {n}) in {info.seconds:.1f} s")
    return 0
