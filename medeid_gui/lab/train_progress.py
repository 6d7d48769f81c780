"""Machine-readable progress of ``medeid ml train ARCHIVE --progress json``: one JSON object a line.

Why: the app trains in a separate process (its own CLI, so a crash or a cancel never takes the
window down) and must show the plan, a progress bar and the result without scraping the human
text.  Each such line is a JSON object with ``"medeid": "train"`` and an ``"event"``; every other
line on stdout is the human log, which a reader shows as it is.  The events:

- ``plan``: ``domains`` (key, name, images, patients, multi_day, trainable, reason, estimate_s),
  ``bad`` ([path, why]), ``estimate_s``, ``device``;
- ``domain``: training of ``key`` starts (``index`` of ``count`` trainable domains);
- ``step``: ``key``, ``stage``, ``step`` of ``steps``, ``fraction`` over the whole run (0..1);
- ``evaluating``: ``key``'s held-out evaluation (``lab.archive_eval``), ``step`` of ``steps``
  (``what``: the release being measured), ``fraction`` over the whole run;
- ``model``: ``key``'s model folder is written (``folder``);
- ``failed``: ``key`` could not be trained (``message``);
- ``done``: ``trained`` (folders), ``skipped`` ({key, reason}), ``bad``, ``rc``.

The reader is ``viewmodel.train_run`` (no Qt there either); the format is versioned by ``v``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from medeid_gui.lab.archive_plan import ArchivePlan, estimate_seconds
from medeid_gui.lab.train_config import STAGES, TrainConfig

__all__ = ["EVAL_SHARE", "FORMAT_VERSION", "emit", "emit_plan", "eval_reporter", "step_reporter"]

#: the part of a domain's stretch of the progress bar its held-out evaluation fills
EVAL_SHARE = 0.1

FORMAT_VERSION = 1


def emit(event: str, **fields: object) -> None:
    """One progress line on stdout, flushed at once (the reader is another process)."""
    line = json.dumps({"medeid": "train", "v": FORMAT_VERSION, "event": event, **fields})
    print(line, file=sys.stdout, flush=True)


def emit_plan(plan: ArchivePlan, cfg: TrainConfig, threads: int, cuda: bool,
              eval_s: dict[str, float] | None = None, stages: tuple[str, ...] = STAGES) -> None:
    """The plan as data: what ``print_plan`` shows, for the app's table; ``eval_s``: a domain's
    estimated held-out evaluation seconds, added to its estimate; ``stages``: those the run trains."""
    steps = {s: cfg.stage_steps(s) for s in stages}
    est = estimate_seconds(steps, cfg.size, threads, cuda)
    per = {d.key: est + (eval_s or {}).get(d.key, 0.0) for d in plan.trainable}
    domains = [{"key": d.key, "name": d.domain.name, "images": len(d.images), "patients": d.patients,
                "multi_day": d.multi_day_patients, "trainable": d.trainable, "reason": d.reason,
                "estimate_s": round(per.get(d.key, 0.0), 1)} for d in plan.domains]
    emit("plan", root=str(plan.root), domains=domains, bad=[[str(p), w] for p, w in plan.bad],
         estimate_s=round(sum(per.values()), 1), size=cfg.size,
         device="GPU" if cuda else f"CPU, {threads} thread(s)")


def step_reporter(cfg: TrainConfig, key: str, index: int, count: int,
                  share: float = 1.0, stages: tuple[str, ...] = STAGES) -> Callable[[str], None]:
    """A function of a training log line that emits a ``step`` event for "[stage] k/n ..." lines;
    ``index`` of ``count``: this domain's place among the run's trainable domains; ``share``: the
    part of the domain's stretch of the bar its training fills (the evaluation fills the rest);
    ``stages``: those the run trains (``train_config.running_stages``)."""
    steps = [cfg.stage_steps(s) for s in stages]
    total = max(sum(steps), 1)

    def report(line: str) -> None:
        name = line[1:].split("]")[0] if line.startswith("[") else ""
        parts = line.split(" ")
        if name not in stages or len(parts) < 2 or "/" not in parts[1]:
            return
        try:
            k = int(parts[1].split("/")[0])
        except ValueError:
            return
        within = share * min(1.0, (sum(steps[:stages.index(name)]) + k) / total)
        emit("step", key=key, stage=name, step=k, steps=cfg.stage_steps(name),
             fraction=round((index + within) / max(count, 1), 4))

    return report


def eval_reporter(key: str, index: int, count: int) -> Callable[[int, int, str], None]:
    """``lab.archive_eval``'s progress (done, total, what) as ``evaluating`` events, filling the
    last ``EVAL_SHARE`` of the domain's stretch of the bar."""

    def report(done: int, total: int, what: str) -> None:
        within = 1.0 - EVAL_SHARE + EVAL_SHARE * min(1.0, done / max(total, 1))
        emit("evaluating", key=key, step=done, steps=total, what=what,
             fraction=round((index + within) / max(count, 1), 4))

    return report
