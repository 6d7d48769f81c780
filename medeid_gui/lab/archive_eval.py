"""End of ``medeid ml train ARCHIVE``: the new model measured on patients of the archive it never saw.

Why: a site that trains its own model must learn, before it releases a single image, whether the
model hides its patients from an attacker and what it costs the images — on its own images, not
the generated cohort's.  Before a domain is trained, a seeded share of its patients imaged on two
or more days is held out (:func:`split_heldout`: patient-disjoint, none of their images reaches
training).  After training the held-out images are released at p = 0, .25, .5, .75, 1 by the
method and by random blocking (``lab.baselines``), and measured as ``medeid ml evaluate-real``
measures the real set:

- the independent attacker (``lab.real_eval_attack``): the training-free thumbnail correlation
  and image geometry, and, when the training split has patients enough, the network verifier
  trained on the training split's originals; linkage of originals to released images of another
  day, AUC with a patient-bootstrap CI;
- the fill quality of the method's released images (``lab.fill_quality``: texture, border step,
  mean shift against the original's same pixels);
- task utility where the ``--labels`` CSV has labels (``lab.archive_eval_tasks``).

``lab.archive_eval_report`` writes the figures into the card, a report and a plot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from medeid_gui.lab.archive_eval_tasks import TaskLabels, TaskSet
from medeid_gui.lab.archive_plan import ArchiveImage, DomainPlan
from medeid_gui.lab.method_data import MethodData

if TYPE_CHECKING:
    from medeid_gui.ml.deidentify import FrameAnalysis

__all__ = ["ArchiveEvalConfig", "Holdout", "LEVELS", "METHODS", "estimate_eval_seconds", "evaluate_heldout",
           "split_heldout"]

LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
METHODS = ("medeid", "random-block")
#: (done, total, what) after each measured step; drives the ``evaluating`` progress event
Progress = Callable[[int, int, str], None]


@dataclass
class ArchiveEvalConfig:
    fraction: float = 0.2  #: share of the patients with >= 2 studies held out
    min_patients: int = 2  #: held-out patients an evaluation needs
    seed: int = 0
    levels: tuple[float, ...] = LEVELS
    attack_steps: int = 300  #: network attacker's training steps (0: training-free ones only)
    min_net_patients: int = 4  #: training patients the network attacker needs
    task_epochs: int = 20
    n_boot: int = 500
    size: int = 128  #: the attacker's and the tasks' working size (at most the model's)


@dataclass
class Holdout:
    """A domain's training part and its held-out images; ``why_not`` says why nothing was held out."""

    train: DomainPlan
    test: list[ArchiveImage] = field(default_factory=list)
    why_not: str = ""

    @property
    def patients(self) -> int:
        return len({im.patient_id for im in self.test})


def split_heldout(d: DomainPlan, cfg: ArchiveEvalConfig) -> Holdout:
    """Hold out ``cfg.fraction`` of the patients with studies on >= 2 days (seeded), or none with
    the reason when that leaves fewer than ``cfg.min_patients`` to evaluate or two to train."""
    days: dict[str, set[str]] = {}
    for im in d.images:
        days.setdefault(im.patient_id, set()).add(im.day)
    multi = sorted(p for p, v in days.items() if len(v) >= 2 and p)
    n = int(round(cfg.fraction * len(multi)))
    if n < cfg.min_patients:
        return Holdout(d, why_not=f"not enough held-out patients for an evaluation (has {n}, needs "
                                  f"{cfg.min_patients}): {100 * cfg.fraction:.0f} % of the {len(multi)} "
                                  "patients with >= 2 studies; all of them were trained on")
    if len(multi) - n < 2:
        return Holdout(d, why_not=f"not enough patients to hold {n} out and train on two or more "
                                  f"({len(multi)} with >= 2 studies); all of them were trained on")
    order = [multi[k] for k in np.random.default_rng(cfg.seed).permutation(len(multi))]
    held = set(order[:n])
    train = DomainPlan(d.key, d.domain, [im for im in d.images if im.patient_id not in held],
                       d.trainable, d.reason)
    return Holdout(train, [im for im in d.images if im.patient_id in held])


#: seconds at 128 px on one CPU thread, measured on the real set imported as DICOM (41 held-out
#: images, 160 training images, defaults: 137 s in all): per attacker step, per training image and
#: task epoch (the three tasks), per held-out image (analysis and the method's five releases)
SECONDS_PER_ATTACK_STEP = 0.17
SECONDS_PER_TASK_IMAGE_EPOCH = 0.012
SECONDS_PER_HELDOUT_IMAGE = 1.0


def estimate_eval_seconds(hold: Holdout, cfg: ArchiveEvalConfig, size: int, *, labels: bool,
                          threads: int = 1, cuda: bool = False) -> float:
    """Rough wall time of a domain's held-out evaluation (0 when it holds nobody out); the
    method's share scales with the model's pixels like the training's estimate."""
    if not hold.test:
        return 0.0
    train = len(hold.train.images)
    cpu = (SECONDS_PER_ATTACK_STEP * cfg.attack_steps
           + (SECONDS_PER_TASK_IMAGE_EPOCH * train * cfg.task_epochs if labels else 0.0)
           + SECONDS_PER_HELDOUT_IMAGE * len(hold.test) * (size / 128) ** 2)
    return cpu / 10.0 if cuda else cpu / max(1.0, threads ** 0.8)


def _work_fn(model_size: int, size: int) -> Callable[[list[np.ndarray]], np.ndarray]:
    """Images -> the networks' (N, size, size) input, made as the training images were made."""
    from medeid_gui.lab.method_data import _to_work
    from medeid_gui.lab.thumb_attack import box_resize

    def work(images: list[np.ndarray]) -> np.ndarray:
        return np.stack([box_resize(_to_work(x, model_size), size) for x in images]).astype(np.float32)

    return work


@dataclass
class _Test:
    """The held-out images as decoded: raw frames, normalised to [0, 1], whose and which day."""

    frames: list[np.ndarray]
    norm: list[np.ndarray]
    images: list[ArchiveImage]
    undecodable: int

    @property
    def patients(self) -> list[str]:
        return [im.patient_id for im in self.images]

    @property
    def days(self) -> list[int | None]:
        codes = {d: k for k, d in enumerate(sorted({im.day for im in self.images if im.day}))}
        return [codes.get(im.day) for im in self.images]


@dataclass
class _Bench:
    """What every release is measured with: the analyses, the attackers and the task models."""

    cfg: ArchiveEvalConfig
    test: _Test
    work: Callable[[list[np.ndarray]], np.ndarray]
    orig_work: np.ndarray
    analyses: list[FrameAnalysis]
    nets: dict[str, object] = field(default_factory=dict)
    why_no_network: str = ""
    tasks: TaskSet | None = None
    test_labels: TaskLabels | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def _load_test(test: list[ArchiveImage]) -> _Test:
    """Held-out frames normalised to the method's [0, 1] window; undecodable ones counted."""
    from medeid_gui.dicom.frames import FrameSource
    from medeid_gui.ml.deidentify import normalise, window

    out = _Test([], [], [], 0)
    for im in test:
        try:
            f = np.asarray(FrameSource(im.path).frame(im.frame))
            if f.ndim != 2:
                raise ValueError("not a grey frame")
            g = f.astype(np.float32)
            out.norm.append(normalise(g, *window(g)))
        except Exception:  # noqa: BLE001 - an undecodable held-out image is counted, not fatal
            out.undecodable += 1
            continue
        out.frames.append(f)
        out.images.append(im)
    return out


def _check_enough(test: _Test, cfg: ArchiveEvalConfig) -> None:
    """``ValueError`` (the card's line) unless ``cfg.min_patients`` decodable held-out patients
    have images of two or more days: without them there is no positive pair to attack."""
    days: dict[str, set[int]] = {}
    for p, d in zip(test.patients, test.days):
        if d is not None:
            days.setdefault(p, set()).add(d)
    n = sum(len(v) >= 2 for v in days.values())
    if n < cfg.min_patients:
        raise ValueError(f"not enough held-out patients for an evaluation (has {n}, needs "
                         f"{cfg.min_patients}): held-out patients with decodable images of two or "
                         "more days")


def _release(method: str, p: float, b: _Bench) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """The held-out images released by ``method`` at ``p``, in [0, 1], and the blocked masks."""
    from medeid_gui.ml.deidentify import apply_level, normalise

    if method == "medeid":
        outs = [apply_level(a, p, seed=k) for k, a in enumerate(b.analyses)]
        return ([normalise(o.frame.astype(np.float32), a.lo, a.hi) for o, a in zip(outs, b.analyses)],
                [o.mask for o in outs])
    import medeid_gui.lab.baselines  # noqa: F401  (registers the baselines)
    from medeid_gui.lab.registry import get_method

    fn = get_method(method).apply
    rel = [fn(x[None], p, np.random.default_rng([0, k]))[0].astype(np.float32)
           for k, x in enumerate(b.test.norm)]
    return rel, [None] * len(rel)


def _measure(b: _Bench, released: list[np.ndarray]) -> tuple[dict, dict]:
    """(attackers' AUCs, task scores) of one released version of the held-out images."""
    from medeid_gui.lab.archive_eval_tasks import score_tasks
    from medeid_gui.lab.real_eval_attack import attack_scores

    rw = b.work(released)
    aucs = attack_scores(b.test.norm, released, b.test.patients, b.test.days, nets=b.nets,
                         orig_work=b.orig_work, released_work=rw, n_boot=b.cfg.n_boot)
    tasks = score_tasks(b.tasks, rw, b.test_labels) if b.tasks and b.test_labels else {}
    return {k: asdict(v) for k, v in aucs.items()}, tasks


def _prepare(folder: str, test: _Test, train: MethodData, train_images: list[ArchiveImage],
             labels: str | None, cfg: ArchiveEvalConfig, log: Callable[[str], None]) -> _Bench:
    """The model's analyses of the held-out images, the network attacker and the task models."""
    from medeid_gui.lab.archive_eval_tasks import labels_for, train_tasks
    from medeid_gui.lab.real_eval_attack import NetAttackConfig, train_network_attacker
    from medeid_gui.lab.thumb_attack import box_resize
    from medeid_gui.ml.deidentify import analyse
    from medeid_gui.ml.model import load_model

    model = load_model(folder, device="cpu")
    size = min(cfg.size, model.work_size)
    work = _work_fn(model.work_size, size)
    train_work = np.stack([box_resize(x, size) for x in train.images]).astype(np.float32)
    b = _Bench(cfg, test, work, work(test.norm), [analyse(f, model) for f in test.frames])
    t0 = time.perf_counter()
    if cfg.attack_steps > 0 and train.n_ids >= cfg.min_net_patients:
        ac = NetAttackConfig(size=size, pretrain_steps=0, finetune_steps=cfg.attack_steps, seed=cfg.seed)
        _, b.nets["network"] = train_network_attacker(train_work, [str(p) for p in train.patients], ac)
        b.seconds["attacker_training"] = round(time.perf_counter() - t0, 1)
    else:
        b.why_no_network = (f"not trained: {train.n_ids} training patients, needs {cfg.min_net_patients}"
                            if cfg.attack_steps > 0 else "not trained (--eval-attack-steps 0)")
    if labels:
        t0 = time.perf_counter()
        b.tasks = train_tasks(train_work, labels_for(train_images, labels), epochs=cfg.task_epochs,
                              seed=cfg.seed)
        b.test_labels = labels_for(test.images, labels)
        b.seconds["task_training"] = round(time.perf_counter() - t0, 1)
    log(f"evaluation: {len(test.frames)} held-out images; network attacker "
        f"{'trained' if b.nets else b.why_no_network}; tasks {sorted(b.tasks.models) if b.tasks else 'none'}")
    return b


def _task_info(b: _Bench, labels: str | None) -> dict:
    from medeid_gui.lab.archive_eval_tasks import TASK_NAMES, unscorable

    if b.tasks is None or b.test_labels is None:
        return {"positive": "", "not_scored": {t: "no labels (no --labels file)" for t in TASK_NAMES},
                "labels": None}
    why = {**b.tasks.why_not, **unscorable(b.tasks, b.test_labels)}
    return {"positive": b.tasks.positive, "not_scored": why, "labels": labels}


def _report(b: _Bench, train: MethodData, folder: str, originals: dict, results: dict,
            labels: str | None, seconds: float) -> dict:
    """The evaluation's dict (its layout is what ``lab.archive_eval_report`` reads)."""
    from medeid_gui.lab.real_eval import model_digest

    o = originals["attack"]["thumb16"]
    return {
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(b.cfg).items()},
        "methods": list(METHODS),
        "data": {"train_images": len(train), "train_patients": train.n_ids,
                 "test_images": len(b.test.frames), "test_patients": len(set(b.test.patients)),
                 "test_undecodable": b.test.undecodable,
                 "pairs": {"positives": o["positives"], "negatives": o["negatives"]}},
        "model_sha256": model_digest(folder),
        "network": "trained on the training split's originals" if b.nets else b.why_no_network,
        "tasks": _task_info(b, labels),
        "originals": originals, "results": results,
        "seconds": {**b.seconds, "total": round(seconds, 1)},
    }


def evaluate_heldout(folder: str, test_images: list[ArchiveImage], train: MethodData,
                     train_images: list[ArchiveImage], *, labels: str | None = None,
                     cfg: ArchiveEvalConfig | None = None, progress: Progress | None = None,
                     log: Callable[[str], None] = print) -> dict:
    """Every figure of the held-out evaluation as one JSON-able dict (``lab.archive_eval_report``
    renders it). ``train``/``train_images``: the training split as trained on (its images, and
    the files they came from, for their labels). ``ValueError`` when too few held-out patients
    have decodable images of two days."""
    from medeid_gui.lab.real_eval import fill_summary

    cfg = cfg or ArchiveEvalConfig()
    t_start = time.perf_counter()
    test = _load_test(test_images)
    _check_enough(test, cfg)
    steps, done = 2 + len(METHODS) * len(cfg.levels), 0
    report = progress or (lambda k, n, what: None)
    report(0, steps, "preparing")
    b = _prepare(folder, test, train, train_images, labels, cfg, log)
    report(1, steps, "originals")
    attack, tasks = _measure(b, test.norm)
    originals = {"attack": attack, "tasks": tasks}
    results: dict[str, list[dict]] = {m: [] for m in METHODS}
    for m in METHODS:
        for p in cfg.levels:
            rel, masks = _release(m, float(p), b)
            attack, tasks = _measure(b, rel)
            row = {"p": float(p), "attack": attack, "tasks": tasks}
            if m == "medeid" and p > 0:
                row["fill"] = fill_summary(test.norm, rel, masks)
            results[m].append(row)
            done += 1
            report(1 + done, steps, f"{m} p={p:g}")
    out = _report(b, train, folder, originals, results, labels, time.perf_counter() - t_start)
    report(steps, steps, "done")
    return out
