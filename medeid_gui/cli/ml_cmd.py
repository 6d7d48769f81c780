"""``medeid ml <sub>``: the research side (cohort, attacker, downstream tasks, evaluation).

Why a dict of module paths: each sub-command lives in its own module under ``medeid_gui.lab``
exposing ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; importing them lazily keeps
``medeid --help`` fast and torch-free, and lets the lab package be left out of an install (the
command then says so instead of crashing).
"""

from __future__ import annotations

import argparse
import importlib

HELP = "research tools: generate a cohort, train the attacker and tasks, evaluate methods"

#: sub-command -> module exposing HELP, add_arguments(parser), run(args)
SUBCOMMANDS: dict[str, str] = {
    "cohort": "medeid_gui.lab.cohort_cmd",
    "attacker": "medeid_gui.lab.attacker_cmd",
    "tasks": "medeid_gui.lab.tasks_cmd",
    "evaluate": "medeid_gui.lab.evaluate_cmd",
    "evaluate-real": "medeid_gui.lab.real_eval_cmd",
    "train": "medeid_gui.lab.train_method",
    "familiarity": "medeid_gui.lab.familiarity_cmd",
    "interpolate": "medeid_gui.lab.interpolate_cmd",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="ml_command", metavar="SUB")
    for name, modname in SUBCOMMANDS.items():
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:  # lab left out of this install, or not written yet
            if exc.name and modname.startswith(exc.name):
                continue
            raise
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_ml_run=mod.run)
    parser.set_defaults(_ml_parser=parser)


def run(args: argparse.Namespace) -> int:
    fn = getattr(args, "_ml_run", None)
    if fn is None:
        args._ml_parser.print_help()
        return 2
    return int(fn(args) or 0)
