"""``medeid ml evaluate``: privacy–utility evaluation of registered methods (see lab.evaluate)."""

from __future__ import annotations

import argparse
import shlex
import sys

HELP = "evaluate registered de-identification methods: retrained attacker AUC vs task utility"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", action="append", default=None, metavar="NAME",
                   help="method to evaluate (repeatable; default: every registered method)")
    p.add_argument("--levels", type=float, nargs="+", default=None,
                   help="privacy levels p in [0, 1] (default 0 .1 .25 .5 .75 1)")
    p.add_argument("--work", default="out/evaluation",
                   help="work dir: cohort, trained task models, result cache (resumable)")
    p.add_argument("--out", default=None, help="report folder (default: the models/ folder)")
    p.add_argument("--patients", type=int, default=200)
    p.add_argument("--studies-per-patient", type=int, default=4)
    p.add_argument("--cohort-seed", type=int, default=0)
    p.add_argument("--attacker-seeds", type=int, default=3, help="number of attacker seeds")
    p.add_argument("--attacker-steps", type=int, default=None)
    p.add_argument("--task-epochs", type=int, default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--device", default=None, help="torch device (default: cuda if present)")
    p.add_argument("--list", action="store_true", help="list registered methods and exit")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite EVALUATION.md and the plot from evaluation.json")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="extra module that registers methods (also MEDEID_EVAL_PLUGINS)")


def run(args: argparse.Namespace) -> int:
    import json
    from dataclasses import replace
    from pathlib import Path

    from medeid_gui._resources import models_dir
    from medeid_gui.lab.registry import get_method, load_plugins, method_names

    load_plugins(args.plugin)
    if args.list:
        for n in method_names():
            print(f"{n}\t{get_method(n).description}")
        return 0
    out = Path(args.out) if args.out else models_dir()
    if args.report_only:
        from medeid_gui.lab.evaluate import write_report

        path = out / "evaluation.json"
        if not path.exists():
            print(f"medeid ml evaluate: no {path} to render", file=sys.stderr)
            return 2
        write_report(json.loads(path.read_text()), out)
        print(f"rewrote {out / 'EVALUATION.md'} and {out / 'evaluation.png'}")
        return 0

    import torch

    from medeid_gui.lab.evaluate import DEFAULT_LEVELS, EvalConfig, run_evaluation, write_report

    if args.threads:
        torch.set_num_threads(args.threads)
    levels = tuple(args.levels) if args.levels else DEFAULT_LEVELS
    if any(not 0 <= p <= 1 for p in levels):
        print("medeid ml evaluate: levels must lie in [0, 1]", file=sys.stderr)
        return 2
    names = args.method or None
    for n in names or []:
        try:
            get_method(n)
        except KeyError as exc:
            print(f"medeid ml evaluate: {exc.args[0]}", file=sys.stderr)
            return 2
    cfg = EvalConfig(patients=args.patients, studies_per_patient=args.studies_per_patient,
                     cohort_seed=args.cohort_seed,
                     attacker_seeds=tuple(range(args.attacker_seeds)))
    if args.attacker_steps:
        cfg = replace(cfg, attacker=replace(cfg.attacker, steps=args.attacker_steps))
    if args.task_epochs:
        cfg = replace(cfg, tasks=replace(cfg.tasks, epochs=args.task_epochs))
    report = run_evaluation(args.work, out, names, levels, cfg, dev=args.device,
                            log=lambda s: print(s, flush=True))
    report["command"] = "medeid " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
        if sys.argv and sys.argv[0].endswith(("medeid", "__main__.py")) else None
    if report["command"]:
        write_report(report, out)
    print(f"wrote {out / 'EVALUATION.md'}, {out / 'evaluation.json'}, {out / 'evaluation.png'}")
    return 0
