"""``medeid ml train``: train the method's networks (identity, semantics, MDL, compensation).

Stages, each resumable (checkpoint every ``--ckpt-every`` steps in ``--work``):

1. ``reid``   pipeline ReID encoder, supervised contrastive loss on P x K batches
2. ``idmap``  identity-map targets = SmoothGrad |grad x (x - blur x)| of the ReID similarity to the
              patient's other images, pooled per patch; a fast head distilled onto them
3. ``ssl``    semantic encoder pre-trained by masked-patch reconstruction (skipped, except for
              the projection, when ``--backbone timm:...`` brings a foundation model)
4. ``mdl``    decoupler: s pays a KL rate, carries the findings (finding head), hides identity
              (adversary behind gradient reversal); i + identity head; (s, i) -> features
5. ``comp``   compensators (from s, and the no-MDL ablation's from raw features): L1 in the
              blocked patches (lesions weighted) towards the training set's median image with
              the study's own lesions blended in (``comp_target="template"``, the median is also
              shown in the blocked patches) or towards the frame itself (``"source"``), findings
              kept (finding head on s of the output; optionally a frozen proxy lesion segmenter
              trained first on the training originals, ``lab.proxy_seg``), identity pushed away
              (ReID cosine to the source above a margin is penalised; optionally an
              online-retrained critic)

Reproducible: every random draw of step ``k`` of stage ``j`` comes from a generator seeded by
``(seed, j, k)``, so a resumed run takes the same batches as an uninterrupted one. CUDA is used
when present (``--device`` to force). Writes the three weight files + manifest entries into
``--out`` (default: the project's ``models/``) and ``medeid-training.json`` with the config,
timings and validation metrics.

Layout: this module is the command and the run's order of events; the configuration is in
``lab.train_config``, checkpoints in ``lab.train_checkpoint``, the shared loop and losses in
``lab.train_loop``, the stages in ``lab.train_stages`` and ``lab.train_comp``, the validation in
``lab.train_validate``, the model cards in ``lab.method_cards``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeid_gui.lab.archive_train import add_archive_arguments, run_archive
from medeid_gui.lab.method_cards import write_cards
from medeid_gui.lab.train_checkpoint import STAGE_MODULES, Checkpoint, cfg_key, load_model_states, model_states
from medeid_gui.lab.train_comp import stage_comp
from medeid_gui.lab.train_config import STAGES, TUNABLE, TrainConfig, cohort_info, finite, parse_redo, parse_steps
from medeid_gui.lab.train_stages import stage_idmap, stage_mdl, stage_reid, stage_ssl
from medeid_gui.lab.train_validate import evaluate_trained

if TYPE_CHECKING:
    from medeid_gui.lab.method_data import MethodData
    from medeid_gui.ml.model import MedeidModel

__all__ = ["HELP", "STAGES", "TrainConfig", "add_arguments", "parse_steps", "run", "train"]

Log = Callable[[str], None]

HELP = "train the de-identification method (ReID, identity map, semantic encoder, MDL, compensator)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="a generated cohort folder (its train split is used) or a DICOM "
                                "archive: one model per domain, PatientID = identity label")
    p.add_argument("--out", default=None, help="where the weights go (default: models/)")
    p.add_argument("--work", default=None, help="checkpoint folder (default: OUT/.train-work)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N, mps (default: best available)")
    p.add_argument("--backbone", default="medeid",
                   help="semantic encoder: 'medeid' (pre-trained here) or 'timm:ARCH:CHECKPOINT'")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply every stage's steps (1.0 = default size, ~1 h on 2 CPU cores)")
    p.add_argument("--steps", default="",
                   help="per-stage step counts before --scale, e.g. 'reid=600,comp=800' "
                        f"(stages: {', '.join(STAGES)})")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--size", type=int, default=128,
                   help="working resolution in px, recorded in the weights (128 = the shipped "
                        "model's; 256 or more for real radiographs; DICOM folders only)")
    d = TrainConfig("", "", "")
    for name, typ, text in TUNABLE:
        p.add_argument("--" + name.replace("_", "-"), type=typ, default=getattr(d, name),
                       help=f"{text} (default {getattr(d, name)})")
    p.add_argument("--init-from", default=None, metavar="MODELS",
                   help="fine-tune: take every stage but comp as done from the weights in this "
                        "folder and train the compensators from them (e.g. with --fill-notch 1)")
    p.add_argument("--fresh", action="store_true", help="ignore checkpoints in --work")
    p.add_argument("--redo", default="",
                   help="re-run from this stage on (e.g. 'mdl'), from the snapshot after the "
                        "stage before it")
    add_archive_arguments(p)


def run(args: argparse.Namespace) -> int:
    from medeid_gui._resources import models_dir
    from medeid_gui.lab.eager_torch import ensure_dynamo
    from medeid_gui.lab.method_data import is_cohort

    ensure_dynamo()  # the installer bundle has no torch compiler; its optimizers still import it

    out = Path(args.out) if args.out else models_dir()
    cfg = TrainConfig(data=str(args.data), out=str(out),
                      work=str(args.work or (out / ".train-work")), seed=args.seed,
                      device=args.device, backbone=args.backbone, scale=args.scale,
                      threads=args.threads, size=args.size,
                      **{name: getattr(args, name) for name, _, _ in TUNABLE if hasattr(args, name)})
    try:
        cfg.steps.update(parse_steps(args.steps))
        redo = parse_redo(args.redo)
        if not is_cohort(args.data):
            return run_archive(args, cfg, explicit_out=bool(args.out), train=train)
        summary = train(cfg, fresh=args.fresh, redo=redo, log=lambda m: print(m, flush=True),
                        init_from=args.init_from)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"medeid ml train: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(finite(summary["metrics"]), indent=1))
    return 0


def train(cfg: TrainConfig, *, fresh: bool = False, redo: tuple[str, ...] = (),
          log: Log = print, data: MethodData | None = None,
          init_from: str | Path | None = None) -> dict[str, Any]:
    """Run (or resume) every stage, export weights + manifest + cards into ``cfg.out``.

    ``redo`` restarts from the earliest named stage, from the snapshot taken after the stage
    before it, so a stage can be re-run exactly as in an uninterrupted run. ``data``: images
    already loaded (one domain of an archive, ``lab.archive_train``) instead of ``cfg.data``.
    ``init_from``: a models folder whose networks start a new run with every stage but ``comp``
    done and the compensators initialised from it -- a fine-tune of the compensators (e.g. with
    ``fill_notch``) that keeps the identity and semantic networks, and so the familiarity
    statistics and the risk table's attacker, unchanged."""
    import torch

    from medeid_gui.lab.method_data import is_cohort, load_cohort, load_training_data
    from medeid_gui.ml.device import pick_device
    from medeid_gui.ml.model import check_work_size, new_model

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    t_load = time.perf_counter()
    check_work_size(cfg.size)
    if data is None:
        data = load_training_data(cfg.data, "train", size=cfg.size)
    val = load_cohort(cfg.data, "val") if is_cohort(cfg.data) else None
    log(f"data: {data.source}: {len(data)} images, {data.n_ids} patients "
        f"(loaded in {time.perf_counter() - t_load:.1f} s); device {device}")
    torch.manual_seed(cfg.seed)  # then the networks, in new_model's fixed order: their init
    model = new_model(data.n_ids, cfg.backbone, with_raw=True, code_ch=cfg.code_ch,
                      comp_prior=cfg.comp_target == "template",
                      s_context=bool(cfg.s_context),
                      comp_residual=bool(cfg.comp_residual) and cfg.comp_target == "template",
                      work_size=cfg.size).to(device)
    first = min(STAGES.index(r) for r in redo) if redo else None
    ck = Checkpoint(Path(cfg.work), cfg, fresh, redo_from=first)
    if first is not None:
        _start_redo(ck, model, cfg, first, log)
    elif init_from is not None and not ck.state["model"]:
        _start_from_models(ck, Path(init_from), log)
    if ck.state["model"]:
        load_model_states(model, ck.state["model"])
        log(f"resuming: done {ck.state['done']}, at {ck.state['stage']} step {ck.state['step']}")
    _run_stages(model, data, cfg, ck, device, log)
    model.config["feature_scale"] = ck.state["extra"].get("feature_scale", 1.0)
    model.eval()
    metrics = evaluate_trained(model, data, val, cfg, device)
    ck.state["metrics"] = metrics
    ck.save(model, "done", 0, None)
    return _export(model, data, cfg, ck, device, metrics)


def _start_redo(ck: Checkpoint, model: MedeidModel, cfg: TrainConfig, first: int, log: Log) -> None:
    """Reset the checkpoint to "stages before ``STAGES[first]`` done", their networks from the
    snapshot taken after the stage before it."""
    import torch

    prev = Path(cfg.work) / f"after_{STAGES[first - 1]}.pt" if first else None
    if prev is not None and not prev.is_file():
        raise RuntimeError(f"cannot redo {STAGES[first]}: no snapshot {prev}")
    ck.state["done"] = [d for d in ck.state["done"] if STAGES.index(d) < first]
    # only the networks of the kept stages come from the snapshot; the others keep this
    # run's initialisation (the same as an uninterrupted run's: same seed, same order)
    kept = {m for st in STAGES[:first] for m in STAGE_MODULES[st]}
    snap = torch.load(prev, map_location="cpu", weights_only=False) if prev is not None else {}
    ck.state.update(stage=None, step=0, opt=None,
                    model={**model_states(model), **{k: v for k, v in snap.items() if k in kept}})
    ck.state["redo"] = STAGES[first]
    ck.state["seconds"] = {k: v for k, v in ck.state.get("seconds", {}).items()
                           if k in STAGES[:first]}
    if prev is None:  # redo from the very start: fresh networks
        ck.state["extra"] = {}
    log(f"redoing from stage {STAGES[first]} (states after {STAGES[first - 1] if first else 'init'})")


def _start_from_models(ck: Checkpoint, models: Path, log: Log) -> None:
    """Mark every stage before ``comp`` done, with the networks (compensators included) of the
    weights in ``models``; the ``comp`` stage then fine-tunes the compensators."""
    from medeid_gui.ml.model import load_model

    src = load_model(models, "cpu")
    ck.state.update(done=[s for s in STAGES if s != "comp"], stage=None, step=0, opt=None,
                    model=model_states(src))
    ck.state["extra"]["feature_scale"] = float(src.config.get("feature_scale", 1.0))
    ck.state["init_from"] = str(models)
    log(f"starting from the networks in {models}: stages {ck.state['done']} taken as done")


def _run_stages(model: MedeidModel, data: MethodData, cfg: TrainConfig, ck: Checkpoint,
                device: str, log: Log) -> None:
    """Every stage not yet done, in order; a checkpoint and a snapshot after each."""
    import torch

    X = torch.from_numpy(data.images)[:, None]
    stages = {"reid": stage_reid, "idmap": stage_idmap, "ssl": stage_ssl, "mdl": stage_mdl,
              "comp": stage_comp}
    for j, name in enumerate(STAGES):
        if name in ck.state["done"]:
            continue
        t0 = time.perf_counter()
        start = ck.state["step"] if ck.state["stage"] == name else 0
        stages[name](model, data, X, cfg, j, start, ck, device, log)
        ck.state["done"].append(name)
        ck.state["seconds"][name] = ck.state["seconds"].get(name, 0.0) + time.perf_counter() - t0
        ck.save(model, name, cfg.stage_steps(name), None)
        torch.save(model_states(model), Path(cfg.work) / f"after_{name}.pt")
        log(f"stage {name} done in {time.perf_counter() - t0:.0f} s")


def _export(model: MedeidModel, data: MethodData, cfg: TrainConfig, ck: Checkpoint, device: str,
            metrics: dict[str, Any]) -> dict[str, Any]:
    """Weights + manifest entries, ``medeid-training.json`` and the model cards into ``cfg.out``."""
    import torch

    from medeid_gui.ml.model import export_states
    from medeid_gui.ml.weights import save_state

    extra = {"train_config": cfg_key(cfg), "data": data.source, "n_train_images": len(data),
             "n_train_patients": data.n_ids}
    if ck.state.get("init_from"):
        extra["init_from"] = ck.state["init_from"]
    out = Path(cfg.out)
    model.to("cpu")
    cards = {"medeid-identity.pt": "medeid-identity.md", "medeid-semantic.pt": "medeid-semantic.md",
             "medeid-compensator.pt": "medeid-compensator.md"}
    for fname, state in export_states(model, extra).items():
        save_state(out, fname, state, model=fname[:-3], card=cards[fname])
    summary = {"config": asdict(cfg), "data": data.source, "device": device,
               "cohort": cohort_info(cfg.data), "threads": torch.get_num_threads(),
               "seconds": ck.state["seconds"], "metrics": metrics, "redo": ck.state.get("redo"),
               "init_from": ck.state.get("init_from"), "n_train_images": len(data),
               "torch": torch.__version__,
               "task_teachers": ck.state["extra"].get("task_teachers_summary")}
    (out / "medeid-training.json").write_text(json.dumps(finite(summary), indent=1) + "\n",
                                              encoding="utf-8")
    write_cards(out)
    return summary
