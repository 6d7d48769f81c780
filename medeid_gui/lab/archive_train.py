"""``medeid ml train ARCHIVE``: one privacy model per trainable domain of a site's DICOM archive.

Why: the shipped weights know generated chests only; a site's own archive, where PatientID is the
identity label, is what makes the method fit its images.  The run is: plan (``lab.archive_plan``:
domains, skipped ones with the reason, an estimate), then per trainable domain the method's
stages (``lab.train_method.train``, resumable from its checkpoints: a rerun continues), then the
model folder — weights, cards, a manifest with the domain, working size, sha256s, training data
and the licences of the images — installed into the user models folder (or ``--out``).
A file that cannot be read or decoded is listed and left out; it never stops the run.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from medeid_gui.lab.archive_eval import ArchiveEvalConfig, Holdout, split_heldout
from medeid_gui.lab.archive_plan import ArchiveImage, ArchivePlan, DomainPlan, estimate_seconds, scan_archive
from medeid_gui.lab.method_data import MethodData, _relabel, _to_work
from medeid_gui.lab.train_config import STAGES, TrainConfig, parse_redo, running_stages
from medeid_gui.lab.train_progress import emit, emit_plan

#: ``lab.train_method.train``'s shape: (config, fresh=, data=, log=) -> summary
TrainFn = Callable[..., dict[str, object]]

__all__ = ["add_archive_arguments", "run_archive", "load_domain", "licence_summary", "print_plan"]


def add_archive_arguments(p: argparse.ArgumentParser) -> None:
    """The options only an archive run has (the cohort run ignores them)."""
    g = p.add_argument_group("DICOM archive")
    g.add_argument("--dry-run", action="store_true", help="show the plan and the estimate only")
    g.add_argument("--patients", default=None, metavar="FILE",
                   help="train on these PatientIDs only (one a line; e.g. a training split)")
    g.add_argument("--labels", default=None, metavar="CSV",
                   help="per-image labels (columns patientid, license, finding, lung_mask, "
                        "severity_*): licences listed in the model's manifest and card; findings, "
                        "lung masks and severity scores train the task teachers of the comp stage "
                        "(--task-weight) and the held-out evaluation's task models")
    g.add_argument("--min-patients", type=int, default=10,
                   help="patients with studies on >= 2 days a domain needs to be trained")
    g.add_argument("--slices-per-series", type=int, default=8,
                   help="CT/MR: slices taken, spread along each series")
    g.add_argument("--progress", choices=("text", "json"), default="text",
                   help="json: also one JSON object a line on stdout (plan, steps, models, end) "
                        "for a program that runs the training (the app; lab.train_progress)")
    e = p.add_argument_group("evaluation on held-out patients (lab.archive_eval)")
    e.add_argument("--no-eval", action="store_true",
                   help="hold no patients out and skip the end-of-training evaluation")
    e.add_argument("--holdout", type=float, default=0.2, metavar="FRAC",
                   help="share of the patients with >= 2 studies held out of training (seeded "
                        "by --seed) and evaluated on")
    e.add_argument("--eval-min-patients", type=int, default=2,
                   help="held-out patients an evaluation needs (fewer: none is held out)")
    e.add_argument("--eval-attack-steps", type=int, default=300,
                   help="training steps of the network attacker (0: training-free attackers only)")
    e.add_argument("--eval-task-epochs", type=int, default=20,
                   help="epochs of the task models (with --labels that have findings/masks/scores)")


def _read_patients(path: str | None) -> set[str] | None:
    if not path:
        return None
    return {ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()}


def _label_licences(path: str | None, patients: set[str] | None) -> dict[str, int]:
    """Licence -> image count from a labels CSV (the training patients' rows only)."""
    if not path:
        return {}
    out: dict[str, int] = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            pid = (row.get("patientid") or row.get("PatientID") or "").strip()
            if patients is not None and pid not in patients:
                continue
            lic = (row.get("license") or row.get("licence") or "").strip() or "not stated"
            out[lic] = out.get(lic, 0) + 1
    return dict(sorted(out.items()))


def licence_summary(licences: dict[str, int]) -> str:
    """One line for the manifest: the images' licences and what they allow for the weights."""
    listed = ", ".join(f"{k} ({v} images)" for k, v in licences.items()) or "not stated"
    restrictive = any("NC" in k.upper() or "ND" in k.upper() or k == "not stated" for k in licences)
    use = ("non-commercial research use only (some images are NC/ND-licensed or have no stated "
           "licence)" if restrictive or not licences else "attribution to the image sources required")
    return f"weights trained on site images; image licences: {listed}; use: {use}"


def eval_estimates(plan: ArchivePlan, cfg: TrainConfig, args: argparse.Namespace, threads: int,
                   cuda: bool) -> dict[str, tuple[str, float]]:
    """Per trainable domain: what the held-out evaluation will hold out (or why not) and its
    estimated seconds, the task teachers' training (with ``--labels``) included; the teachers
    alone with ``--no-eval``."""
    from medeid_gui.lab.archive_eval import estimate_eval_seconds
    from medeid_gui.lab.archive_plan import teacher_seconds

    out = {}
    for d in plan.trainable:
        teach = (teacher_seconds(len(d.images), cfg.task_epochs, threads, cuda)
                 if args.labels and cfg.task_weight > 0 else 0.0)
        parts = [f"task teachers about {teach / 60:.0f} min"] if teach else []
        sec = 0.0
        if not getattr(args, "no_eval", False):
            hold = split_heldout(d, _eval_config(args))
            sec = estimate_eval_seconds(hold, _eval_config(args), cfg.size, labels=bool(args.labels),
                                        threads=threads, cuda=cuda)
            parts.insert(0, f"{hold.patients} patients ({len(hold.test)} images) held out for the "
                            f"evaluation, about {sec / 60:.0f} min" if hold.test else hold.why_not)
        out[d.key] = ("; ".join(parts), sec + teach)
    return out


def print_plan(plan: ArchivePlan, cfg: TrainConfig, threads: int, cuda: bool,
               evals: dict[str, tuple[str, float]] | None = None,
               stages: tuple[str, ...] = STAGES) -> float:
    """The plan as the user sees it before anything runs; returns the estimated seconds.
    ``evals``: ``eval_estimates``' verdicts, shown and added to the estimate; ``stages``: those
    the run trains (``train_config.running_stages``: comp alone with ``--init-from``)."""
    steps = {s: cfg.stage_steps(s) for s in stages}
    print(f"archive {plan.root}: {sum(len(d.images) for d in plan.domains)} images in "
          f"{len(plan.domains)} domain(s); {len(plan.bad)} unreadable file(s)"
          + (f"; {plan.excluded_patients} image(s) of patients not in the list left out"
             if plan.excluded_patients else ""))
    total = 0.0
    for d in plan.domains:
        head = f"  {'TRAIN' if d.trainable else 'skip '} {d.key}: {d.domain.name}, {len(d.images)} images, " \
               f"{d.patients} patients, {d.multi_day_patients} with >= 2 studies"
        if d.trainable:
            what, ev = (evals or {}).get(d.key, ("", 0.0))
            est = estimate_seconds(steps, cfg.size, threads, cuda) + ev
            total += est
            print(f"{head}; about {est / 60:.0f} min at {cfg.size} px" + (f" ({what})" if what else ""))
        else:
            print(f"{head}; skipped: {d.reason}")
    for path, why in plan.bad:
        print(f"  unreadable: {path}: {why}")
    print(f"estimated time: {total / 60:.0f} min ({'GPU' if cuda else f'CPU, {threads} thread(s)'}); "
          f"steps {steps}")
    return total


def load_domain(d: DomainPlan, size: int, bad: list[tuple[Path, str]],
                used: list[ArchiveImage] | None = None,
                every: list[tuple[ArchiveImage, np.ndarray]] | None = None) -> MethodData:
    """The domain's images at the working size; undecodable ones go to ``bad``; ``used``: gets
    the images kept, in the data's order (the evaluation joins them to their labels); ``every``:
    gets every decoded image with its working image, patients imaged once included (the task
    teachers learn from them)."""
    from medeid_gui.dicom.frames import FrameSource

    images, pids, decoded = [], [], []
    for im in d.images:
        try:
            images.append(_to_work(FrameSource(im.path).frame(im.frame), size))
            pids.append(im.patient_id)
            decoded.append(im)
        except Exception as exc:  # noqa: BLE001 - one undecodable file must not stop the run
            bad.append((im.path, f"pixels not decodable: {type(exc).__name__}: {exc}"[:200]))
    labels = np.array(pids)
    uniq, counts = np.unique(labels, return_counts=True) if len(labels) else (labels, labels)
    keep = np.isin(labels, uniq[counts >= 2]) & (labels != "")
    if len(np.unique(labels[keep])) < 2:
        raise ValueError(f"{d.key}: fewer than two patients with two decodable images")
    if used is not None:
        used.extend(im for im, k in zip(decoded, keep) if k)
    if every is not None:
        every.extend(zip(decoded, images))
    return MethodData(np.stack(images)[keep].astype(np.float32), _relabel(labels[keep]), None, None,
                      None, f"{d.domain.name}: {int(keep.sum())} images of "
                            f"{len(np.unique(labels[keep]))} patients")


def _teacher_data(used: list[ArchiveImage], every: list[tuple[ArchiveImage, np.ndarray]],
                  csv_path: str):
    """The labels CSV joined to the method's images and to every decoded training image."""
    from medeid_gui.lab.archive_eval_tasks import labels_for
    from medeid_gui.lab.task_teachers import TeacherData

    all_labels = labels_for([im for im, _ in every], csv_path)
    row = {id(im): k for k, (im, _) in enumerate(every)}
    images = np.stack([w for _, w in every]).astype(np.float32)
    return TeacherData(all_labels.subset([row[id(im)] for im in used]), images, all_labels)


def _label_counts(lab) -> str:
    """How many training images the labels CSV labels, per kind (what the task teachers get)."""
    c = lab.counts()
    return (f"{c['finding']} with a finding, {c['masks']} with a lung mask, "
            f"{c['severity']} with severity scores")


def _progress_log(cfg: TrainConfig, report: Callable[[str], None] | None = None,
                  stages: tuple[str, ...] = STAGES):
    """A log function that puts a progress bar over the run's stages in front of each step line;
    ``report``: also given every line (the JSON progress, ``lab.train_progress``)."""
    steps = [cfg.stage_steps(s) for s in stages]
    total = sum(steps)

    def log(line: str) -> None:
        if report is not None:
            report(line)
        name = line[1:].split("]")[0] if line.startswith("[") else ""
        parts = line.split(" ")
        if name in stages and len(parts) > 1 and "/" in parts[1]:
            k = int(parts[1].split("/")[0])
            frac = min(1.0, (sum(steps[:stages.index(name)]) + k) / max(total, 1))
            line = f"|{'#' * int(frac * 30):<30}| {frac * 100:5.1f} % {line}"
        print(line, flush=True)

    return log


def _used_licences(d: DomainPlan, label_lic: dict[str, int]) -> dict[str, int]:
    """Licence -> count over the images training used (patients with two or more images), as
    their headers record it (``import-images`` writes it); the labels CSV's counts only when no
    image records one."""
    from collections import Counter

    per = Counter(im.patient_id for im in d.images)
    used = Counter(im.licence or "not stated" for im in d.images if per[im.patient_id] >= 2)
    if set(used) == {"not stated"} and label_lic:
        return label_lic
    return dict(sorted(used.items()))


def _write_model(folder: Path, d: DomainPlan, cfg: TrainConfig, data: MethodData,
                 licences: dict[str, int], seconds: float, held_out: int) -> None:
    """Manifest fields of a trained domain model (the weights are already recorded)."""
    from medeid_gui.ml.domain import ModelDomain
    from medeid_gui.ml.weights import read_manifest, write_manifest

    dom = d.domain
    domain = ModelDomain(name=dom.name, modalities=dom.modalities, body_parts=dom.body_parts,
                         views=dom.views, trained_on=data.source)
    manifest = read_manifest(folder)
    manifest.update(
        name=f"medeid-{d.key}", domain=domain.to_json(), work_size=cfg.size,
        licence=licence_summary(licences),
        training={"archive": str(cfg.data).split("#")[0], "images": len(data),
                  "patients": data.n_ids, "multi_day_patients": d.multi_day_patients,
                  "licences": licences, "steps": {s: cfg.stage_steps(s) for s in STAGES},
                  "held_out_patients": held_out, "seconds": round(seconds, 1)},
        evaluation="not evaluated yet (the evaluation on held-out patients runs next)")
    write_manifest(folder, manifest)


def _eval_config(args: argparse.Namespace) -> ArchiveEvalConfig:
    return ArchiveEvalConfig(fraction=args.holdout, min_patients=args.eval_min_patients,
                             seed=getattr(args, "seed", 0), attack_steps=args.eval_attack_steps,
                             task_epochs=args.eval_task_epochs)


def _evaluate_domain(folder: Path, hold: Holdout, data: MethodData, used: list[ArchiveImage],
                     args: argparse.Namespace, place: tuple[int, int]) -> None:
    """The held-out evaluation into the model folder (or the reason there is none); a failure
    is written there too and never undoes the trained model."""
    from medeid_gui.lab.archive_eval import evaluate_heldout
    from medeid_gui.lab.archive_eval_report import write_heldout_report, write_no_evaluation
    from medeid_gui.lab.train_progress import eval_reporter

    key = hold.train.key
    if getattr(args, "no_eval", False):
        write_no_evaluation(folder, "not evaluated (trained with --no-eval: no patient held out)")
        return
    if hold.why_not:
        print(f"[{key}] {hold.why_not}", flush=True)
        write_no_evaluation(folder, hold.why_not)
        return
    progress = eval_reporter(key, *place) if getattr(args, "progress", "text") == "json" else None
    t0 = time.perf_counter()
    try:
        rep = evaluate_heldout(str(folder), hold.test, data, used, labels=args.labels,
                               cfg=_eval_config(args), progress=progress,
                               log=lambda m: print(f"[{key}] {m}", flush=True))
    except ValueError as exc:  # too few usable held-out images
        print(f"[{key}] {exc}", flush=True)
        write_no_evaluation(folder, str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - the model is trained; say why it has no figures
        print(f"[{key}] evaluation failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        write_no_evaluation(folder, f"evaluation failed: {type(exc).__name__}: {exc}"[:300])
        return
    paths = write_heldout_report(rep, folder)
    print(f"[{key}] evaluated on {rep['data']['test_patients']} held-out patients in "
          f"{time.perf_counter() - t0:.0f} s: {paths[1]}", flush=True)


def _train_domain(d: DomainPlan, args: argparse.Namespace, base: TrainConfig, out_root: Path,
                  work_root: Path, bad: list[tuple[Path, str]], label_lic: dict[str, int],
                  train: TrainFn, place: tuple[int, int] = (0, 1)) -> Path:
    """Hold patients out, train (or resume) one domain on the rest, write its model folder and
    evaluate it on the held-out patients; returns the folder.
    ``place``: (index, count) of this domain among the run's, for the JSON progress."""
    from dataclasses import replace

    from medeid_gui.lab.train_progress import EVAL_SHARE, step_reporter

    no_eval = getattr(args, "no_eval", False)
    hold = Holdout(d) if no_eval else split_heldout(d, _eval_config(args))
    tag = f"#heldout={hold.patients}@{getattr(args, 'seed', 0)}" if hold.test else ""
    folder = out_root / f"medeid-{d.key}"
    cfg = replace(base, data=f"{args.data}#{d.key}{tag}", out=str(folder), work=str(work_root / d.key))
    t0 = time.perf_counter()
    used: list[ArchiveImage] = []
    every: list[tuple[ArchiveImage, np.ndarray]] = []
    data = load_domain(hold.train, cfg.size, bad, used, every)
    print(f"[{d.key}] {data.source} (loaded in {time.perf_counter() - t0:.0f} s)"
          + (f"; held out for the evaluation: {len(hold.test)} images of {hold.patients} patients"
             if hold.test else ""), flush=True)
    if args.labels:
        data.task_data = _teacher_data(used, every, args.labels)
        print(f"[{d.key}] labels of the {len(every)} training images: "
              f"{_label_counts(data.task_data.image_labels)}", flush=True)
    as_json = getattr(args, "progress", "text") == "json"
    if as_json:
        emit("domain", key=d.key, index=place[0], count=place[1], source=data.source)
    share = 1.0 if no_eval or hold.why_not else 1.0 - EVAL_SHARE
    redo, init_from = parse_redo(getattr(args, "redo", None)), getattr(args, "init_from", None)
    stages = running_stages(init_from, redo)
    report = step_reporter(cfg, d.key, *place, share=share, stages=stages) if as_json else None
    train(cfg, fresh=args.fresh, data=data, log=_progress_log(cfg, report, stages),
          redo=redo, init_from=init_from)
    lic = _used_licences(hold.train, label_lic)
    _write_model(folder, hold.train, cfg, data, lic, time.perf_counter() - t0, hold.patients)
    _evaluate_domain(folder, hold, data, used, args, place)
    if as_json:
        emit("model", key=d.key, folder=str(folder))
    return folder


def run_archive(args: argparse.Namespace, base: TrainConfig, explicit_out: bool, train: TrainFn) -> int:
    """Plan, then train every trainable domain; installed into the user models folder unless
    ``--out`` names another. Exit 0 when a trainable domain was trained, 1 when none was.
    ``train``: ``lab.train_method.train`` (passed in: that module imports this one)."""
    from medeid_gui.ml.device import pick_device
    from medeid_gui.ml.model_registry import user_models_dir

    patients = _read_patients(args.patients)
    plan = scan_archive(args.data, patients=patients, min_patients=args.min_patients,
                        slices_per_series=args.slices_per_series)
    cuda = str(pick_device(base.device)).startswith("cuda")
    evals = eval_estimates(plan, base, args, base.threads or 1, cuda)
    stages = running_stages(getattr(args, "init_from", None), parse_redo(getattr(args, "redo", None)))
    print_plan(plan, base, base.threads or 1, cuda, evals, stages)
    as_json = getattr(args, "progress", "text") == "json"
    if as_json:
        emit_plan(plan, base, base.threads or 1, cuda, {k: v[1] for k, v in evals.items()}, stages)
    if args.dry_run:
        return _end(as_json, [], plan, plan.bad, 0)
    if not plan.trainable:
        print("nothing to train: no domain has enough patients imaged on two or more days",
              file=sys.stderr)
        return _end(as_json, [], plan, plan.bad, 1)
    out_root = Path(args.out) if explicit_out else user_models_dir()
    work_root = Path(args.work) if args.work else out_root / ".train-work"
    label_lic = _label_licences(args.labels, patients)
    trained, bad = [], list(plan.bad)
    for i, d in enumerate(plan.trainable):
        try:
            trained.append(_train_domain(d, args, base, out_root, work_root, bad, label_lic, train,
                                         (i, len(plan.trainable))))
        except ValueError as exc:
            print(f"[{d.key}] not trained: {exc}", file=sys.stderr)
            if as_json:
                emit("failed", key=d.key, message=str(exc))
    print("trained:" if trained else "trained: none")
    for folder in trained:
        print(f"  {folder}")
    for d in plan.domains:
        if not d.trainable:
            print(f"skipped {d.key}: {d.reason}")
    for path, why in bad:
        print(f"left out {path}: {why}")
    return _end(as_json, trained, plan, bad, 0 if trained else 1)


def _end(as_json: bool, trained: list[Path], plan: ArchivePlan, bad: list[tuple[Path, str]], rc: int) -> int:
    """The run's exit status, announced as the JSON ``done`` event first when asked."""
    if as_json:
        emit("done", trained=[str(f) for f in trained], rc=rc,
             skipped=[{"key": d.key, "reason": d.reason} for d in plan.domains if not d.trainable],
             bad=[[str(p), w] for p, w in bad])
    return rc

