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
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: hyper-parameters exposed on the command line (name, type, help); the model cards name the
#: ones a run changed, so the card's command reproduces the weights
_TUNABLE = (
    ("beta_rate", float, "weight of the KL rate of s, ramped up over the first 30 %% of mdl steps"),
    ("lam_adv", float, "strength of the identity adversary on s (gradient reversal)"),
    ("find_weight", float, "weight of the finding losses on s in the mdl stage"),
    ("code_ch", int, "channels of the semantic code s"),
    ("s_context", int, "1: the s encoder sees 33 x 33 cells of the 32 x 32 feature grid "
                       "(dilated convolutions), 0: a local 5 x 5-cell field"),
    ("lam_id_comp", float, "compensator identity push-away weight"),
    ("id_margin", float, "own-ReID cosine to the source above this is penalised"),
    ("p_full", float, "share of compensator training masks that block every patch"),
    ("lesion_weight", float, "extra L1 weight of lesion pixels in the compensator loss"),
    ("lam_critic", float, "weight of the compensator's loss against an identity critic that is "
                          "retrained online on (original, compensated other study) pairs, like "
                          "the evaluation's attacker (0 = no critic)"),
    ("comp_target", str, "target of the blocked patches: 'source' (the frame itself) or "
                         "'template' (the training set's pixelwise median chest, also shown to "
                         "the compensators in the blocked patches, with the frame's own lesions "
                         "blended in: anatomy of nobody, findings of the study)"),
    ("comp_residual", int, "1: with comp_target 'template', the compensators draw a correction "
                           "onto the median chest (logit space) instead of the whole fill"),
    ("rec_weight", float, "weight of the feature reconstruction from (s, i) in the mdl stage"),
    ("effusion_context", int, "with comp_target 'template': pixels (at the working size) around "
                              "an effusion that are drawn from the study too (the blunted "
                              "costophrenic angle and diaphragm belong to the finding)"),
    ("seg_weight", float, "weight of a frozen lesion segmenter's loss on the compensated frame "
                          "(trained first on the training originals; 0 = off)"),
    ("seg_steps", int, "training steps of that segmenter"),
    ("lesion_pos_weight", float, "BCE weight of lesion cells in the per-location finding loss "
                                 "(lesions cover few cells; > 1 keeps s from dropping them)"),
)

HELP = "train the de-identification method (ReID, identity map, semantic encoder, MDL, compensator)"

STAGES = ("reid", "idmap", "ssl", "mdl", "comp")


@dataclass
class TrainConfig:
    data: str
    out: str
    work: str
    seed: int = 0
    device: str | None = None
    backbone: str = "medeid"
    scale: float = 1.0  #: multiplies every stage's step count
    batch: int = 24
    ssl_batch: int = 16
    comp_batch: int = 8
    steps: dict[str, int] = field(default_factory=lambda: {
        "reid": 1200, "idmap": 500, "ssl": 900, "mdl": 1000, "comp": 1500})
    lr: float = 2e-3
    beta_rate: float = 0.01  #: weight of the KL rate of s (nats), ramped up over 30 % of steps
    lam_adv: float = 0.5  #: identity adversary on s (gradient reversal strength)
    lam_id_comp: float = 1.0  #: compensator identity push-away weight
    id_margin: float = 0.3  #: cosine to the source above this is penalised
    lesion_weight: float = 12.0  #: extra L1 weight of lesion pixels (4: nothing drawn; 24, 48: worse)
    code_ch: int = 8  #: channels of the semantic code s (fewer = a narrower bottleneck)
    s_context: int = 1  #: 1 = s encoder with a 33-cell receptive field (dilated), 0 = 5 cells
    find_weight: float = 3.0  #: weight of the finding losses on s in the mdl stage
    p_full: float = 0.5  #: share of compensator training masks that block every patch (p = 1)
    rec_weight: float = 1.0  #: weight of the feature reconstruction from (s, i) in the mdl stage
    lesion_pos_weight: float = 10.0  #: BCE weight of lesion cells in the per-location finding loss
    lam_critic: float = 0.0  #: compensator vs an identity critic retrained online (0 = off)
    comp_target: str = "template"  #: what blocked patches are trained towards: "source" or "template"
    comp_residual: int = 1  #: with "template": fill = prior corrected in logit space (1) or whole (0)
    effusion_context: int = 10  #: px around effusions drawn from the study (template target)
    seg_weight: float = 3.0  #: frozen proxy lesion segmenter's loss (1.0: p = 1 burden R^2 .53)
    seg_steps: int = 600  #: training steps of that proxy segmenter
    ckpt_every: int = 100
    threads: int | None = None

    def stage_steps(self, name: str) -> int:
        return max(1, int(round(self.steps[name] * self.scale)))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="a generated cohort folder (its train split is used) or a folder "
                                "of DICOM files (PatientID = identity label)")
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
    d = TrainConfig("", "", "")
    for name, typ, text in _TUNABLE:
        p.add_argument("--" + name.replace("_", "-"), type=typ, default=getattr(d, name),
                       help=f"{text} (default {getattr(d, name)})")
    p.add_argument("--fresh", action="store_true", help="ignore checkpoints in --work")
    p.add_argument("--redo", default="",
                   help="re-run from this stage on (e.g. 'mdl'), from the snapshot after the "
                        "stage before it")


def run(args: argparse.Namespace) -> int:
    from medeid_gui._resources import models_dir

    out = Path(args.out) if args.out else models_dir()
    cfg = TrainConfig(data=str(args.data), out=str(out),
                      work=str(args.work or (out / ".train-work")), seed=args.seed,
                      device=args.device, backbone=args.backbone, scale=args.scale,
                      threads=args.threads,
                      **{name: getattr(args, name) for name, _, _ in _TUNABLE if hasattr(args, name)})
    try:
        cfg.steps.update(parse_steps(args.steps))
        redo = tuple(r.strip() for r in args.redo.split(",") if r.strip())
        if any(r not in STAGES for r in redo):
            raise ValueError(f"--redo takes stage names from {STAGES}")
        summary = train(cfg, fresh=args.fresh, redo=redo, log=lambda m: print(m, flush=True))
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"medeid ml train: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(_finite(summary["metrics"]), indent=1))
    return 0


def _finite(obj: Any) -> Any:
    """JSON-safe copy: NaN (e.g. an AUC without negative pairs) becomes null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def cohort_info(path: str | Path) -> dict[str, Any] | None:
    """Generator config and version of a cohort folder (None for a DICOM folder), so the card
    can say how to regenerate exactly the training data."""
    meta = Path(path) / "cohort.json"
    if not meta.is_file():
        return None
    m = json.loads(meta.read_text(encoding="utf-8"))
    return {"config": m.get("config"), "generator_version": m.get("generator_version"),
            "n_images": m.get("n_images")}


def parse_steps(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, _, num = item.partition("=")
        if name not in STAGES or not num.strip().isdigit():
            raise ValueError(f"bad --steps item {item!r}; use STAGE=N with STAGE in {STAGES}")
        out[name] = int(num)
    return out


# --------------------------------------------------------------------------- helpers


def _gen(seed: int, stage: int, step: int):
    import torch

    g = torch.Generator()
    g.manual_seed(int(np.random.default_rng([seed, stage, step]).integers(0, 2**62)))
    return g, np.random.default_rng([seed, stage, step, 1])


def _pk_batch(rng: np.random.Generator, patients: np.ndarray, p: int, k: int) -> np.ndarray:
    ids = np.unique(patients)
    chosen = rng.choice(ids, size=min(p, len(ids)), replace=False)
    out = []
    for c in chosen:
        idx = np.flatnonzero(patients == c)
        out.extend(rng.choice(idx, size=k, replace=len(idx) < k))
    return np.array(out)


def _augment(x, g):
    """Acquisition-like jitter: small shift/scale/rotation, gamma, noise (not identity)."""
    import torch
    import torch.nn.functional as F

    b = x.shape[0]
    r = torch.rand(b, 5, generator=g).to(x.device)
    ang = (r[:, 0] - 0.5) * 0.1
    sc = 1.0 + (r[:, 1] - 0.5) * 0.1
    tx, ty = (r[:, 2] - 0.5) * 0.1, (r[:, 3] - 0.5) * 0.1
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    y = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    gamma = (0.8 + 0.4 * r[:, 4]).view(b, 1, 1, 1)
    y = y.clamp(1e-4, 1).pow(gamma)
    return (y + 0.01 * torch.randn(y.shape, generator=g).to(x.device)).clamp(0, 1)


def _blur(x, k: int = 9):
    import torch.nn.functional as F

    return F.avg_pool2d(F.pad(x, (k // 2,) * 4, mode="replicate"), k, 1)


def _masks_for(idmap_logits, rng: np.random.Generator, device, *, random_frac: float = 0.5,
               p_full: float = 0.3):
    """Training masks: p mixture (``p_full`` of them full blocking, the rest p ~ U(0.05, 1)),
    identity-ranked or random order."""
    import torch

    from medeid_gui.ml.nets import GRID, WORK_SIZE
    from medeid_gui.ml.patches import grid_mask, random_order, rank_patches, upsample_grid

    b = idmap_logits.shape[0]
    scores = idmap_logits.detach().float().cpu().numpy()
    out = np.zeros((b, WORK_SIZE, WORK_SIZE), np.float32)
    ps = np.where(rng.random(b) < p_full, 1.0, rng.uniform(0.05, 1.0, b))
    for j in range(b):
        seed = int(rng.integers(0, 2**31))
        order = random_order(GRID * GRID, seed) if rng.random() < random_frac else \
            rank_patches(scores[j], seed)
        out[j] = upsample_grid(grid_mask(order, float(ps[j]), GRID), (WORK_SIZE, WORK_SIZE))
    return torch.from_numpy(out)[:, None].to(device), torch.from_numpy(ps.astype(np.float32)).to(device)


def verification_auc(emb: np.ndarray, labels: np.ndarray) -> float:
    """AUC of cosine similarity for same-patient vs different-patient pairs (all pairs)."""
    from medeid_gui.lab.metrics import roc_auc  # scipy: not at import (the CLI parser loads this module)

    sim = emb @ emb.T
    iu = np.triu_indices(len(emb), 1)
    return roc_auc((labels[:, None] == labels[None, :])[iu], sim[iu])


def binary_auc(score: np.ndarray, y: np.ndarray) -> float:
    from medeid_gui.lab.metrics import roc_auc

    return roc_auc(y, score)


# --------------------------------------------------------------------------- checkpointing


class Checkpoint:
    """One file per run: finished stages, current stage/step, module + optimiser states."""

    def __init__(self, work: Path, cfg: TrainConfig, fresh: bool, redo_from: int | None = None) -> None:
        import torch

        self.path = work / "checkpoint.pt"
        self.state: dict[str, Any] = {"done": [], "stage": None, "step": 0, "model": {},
                                      "opt": None, "extra": {}, "metrics": {}, "seconds": {}}
        work.mkdir(parents=True, exist_ok=True)
        if self.path.is_file() and not fresh:
            st = torch.load(self.path, map_location="cpu", weights_only=False)
            if st.get("config") != _cfg_key(cfg) and not (
                    redo_from is not None
                    and _stages_key(st.get("config") or {}, redo_from) == _stages_key(_cfg_key(cfg), redo_from)):
                raise RuntimeError(f"checkpoint {self.path} belongs to another configuration; "
                                   "use --fresh or another --work folder")
            self.state = st
        self.state["config"] = _cfg_key(cfg)

    def save(self, model, stage: str, step: int, opt, aux: dict | None = None) -> None:
        import torch

        self.state.update(stage=stage, step=step, opt=opt.state_dict() if opt else None,
                          model=_model_states(model),
                          aux={k: m.state_dict() for k, m in (aux or {}).items()})
        tmp = self.path.with_suffix(".tmp")
        torch.save(self.state, tmp)
        tmp.replace(self.path)


def _cfg_key(cfg: TrainConfig) -> dict:
    d = asdict(cfg)
    for k in ("out", "work", "device", "threads", "ckpt_every"):
        d.pop(k, None)
    return d


#: the networks each stage trains (a redo keeps those of the stages before it)
STAGE_MODULES = {"reid": ("reid",), "idmap": ("idmap",), "ssl": ("encoder",),
                 "mdl": ("decoupler",), "comp": ("compensator", "compensator_raw")}


def _stages_key(cfg: dict, first: int) -> dict:
    """The part of a config that decides the stages before ``STAGES[first]``: a redo from that
    stage may change anything else (e.g. the rate weight) and still reuse their snapshot."""
    keep = ("data", "seed", "backbone", "scale", "batch", "ssl_batch", "lr")
    if first > STAGES.index("mdl"):  # what the mdl stage uses
        keep += ("beta_rate", "lam_adv", "code_ch", "find_weight", "rec_weight", "lesion_pos_weight",
                 "s_context")
    steps = cfg.get("steps") or {}
    return {**{k: cfg.get(k) for k in keep},
            "steps": {s: steps.get(s) for s in STAGES[:first]}}


def _model_states(model) -> dict:
    names = ("reid", "idmap", "encoder", "decoupler", "compensator", "compensator_raw")
    return {n: getattr(model, n).state_dict() for n in names if getattr(model, n) is not None}


def _load_model_states(model, states: dict) -> None:
    for n, sd in states.items():
        getattr(model, n).load_state_dict(sd)


# --------------------------------------------------------------------------- training


def train(cfg: TrainConfig, *, fresh: bool = False, redo: tuple[str, ...] = (),
          log=print) -> dict[str, Any]:
    """Run (or resume) every stage, export weights + manifest + cards into ``cfg.out``.

    ``redo`` restarts from the earliest named stage, from the snapshot taken after the stage
    before it, so a stage can be re-run exactly as in an uninterrupted run."""
    import torch

    from medeid_gui.lab.method_data import is_cohort, load_cohort, load_training_data
    from medeid_gui.ml.device import pick_device
    from medeid_gui.ml.model import export_states, new_model
    from medeid_gui.ml.weights import save_state

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    t_load = time.perf_counter()
    data = load_training_data(cfg.data, "train")
    val = load_cohort(cfg.data, "val") if is_cohort(cfg.data) else None
    log(f"data: {data.source}: {len(data)} images, {data.n_ids} patients "
        f"(loaded in {time.perf_counter() - t_load:.1f} s); device {device}")
    torch.manual_seed(cfg.seed)
    model = new_model(data.n_ids, cfg.backbone, with_raw=True, code_ch=cfg.code_ch,
                      comp_prior=cfg.comp_target == "template",
                      s_context=bool(cfg.s_context),
                      comp_residual=bool(cfg.comp_residual) and cfg.comp_target == "template").to(device)
    first = min(STAGES.index(r) for r in redo) if redo else None
    ck = Checkpoint(Path(cfg.work), cfg, fresh, redo_from=first)
    if first is not None:
        prev = Path(cfg.work) / f"after_{STAGES[first - 1]}.pt" if first else None
        if prev is not None and not prev.is_file():
            raise RuntimeError(f"cannot redo {STAGES[first]}: no snapshot {prev}")
        ck.state["done"] = [d for d in ck.state["done"] if STAGES.index(d) < first]
        # only the networks of the kept stages come from the snapshot; the others keep this
        # run's initialisation (the same as an uninterrupted run's: same seed, same order)
        kept = {m for st in STAGES[:first] for m in STAGE_MODULES[st]}
        snap = torch.load(prev, map_location="cpu", weights_only=False) if prev is not None else {}
        ck.state.update(stage=None, step=0, opt=None,
                        model={**_model_states(model), **{k: v for k, v in snap.items() if k in kept}})
        ck.state["redo"] = STAGES[first]
        ck.state["seconds"] = {k: v for k, v in ck.state.get("seconds", {}).items()
                               if k in STAGES[:first]}
        if prev is None:  # redo from the very start: fresh networks
            ck.state["extra"] = {}
        log(f"redoing from stage {STAGES[first]} (states after {STAGES[first - 1] if first else 'init'})")
    if ck.state["model"]:
        _load_model_states(model, ck.state["model"])
        log(f"resuming: done {ck.state['done']}, at {ck.state['stage']} step {ck.state['step']}")
    X = torch.from_numpy(data.images)[:, None]
    stages = {"reid": _stage_reid, "idmap": _stage_idmap, "ssl": _stage_ssl, "mdl": _stage_mdl,
              "comp": _stage_comp}
    for j, name in enumerate(STAGES):
        if name in ck.state["done"]:
            continue
        t0 = time.perf_counter()
        start = ck.state["step"] if ck.state["stage"] == name else 0
        stages[name](model, data, X, cfg, j, start, ck, device, log)
        ck.state["done"].append(name)
        ck.state["seconds"][name] = ck.state["seconds"].get(name, 0.0) + time.perf_counter() - t0
        ck.save(model, name, cfg.stage_steps(name), None)
        torch.save(_model_states(model), Path(cfg.work) / f"after_{name}.pt")
        log(f"stage {name} done in {time.perf_counter() - t0:.0f} s")
    model.config["feature_scale"] = ck.state["extra"].get("feature_scale", 1.0)
    model.eval()
    metrics = evaluate_trained(model, data, val, cfg, device)
    ck.state["metrics"] = metrics
    ck.save(model, "done", 0, None)
    extra = {"train_config": _cfg_key(cfg), "data": data.source, "n_train_images": len(data),
             "n_train_patients": data.n_ids}
    out = Path(cfg.out)
    model.to("cpu")
    cards = {"medeid-identity.pt": "medeid-identity.md", "medeid-semantic.pt": "medeid-semantic.md",
             "medeid-compensator.pt": "medeid-compensator.md"}
    for fname, state in export_states(model, extra).items():
        save_state(out, fname, state, model=fname[:-3], card=cards[fname])
    summary = {"config": asdict(cfg), "data": data.source, "device": device,
               "cohort": cohort_info(cfg.data), "threads": torch.get_num_threads(),
               "seconds": ck.state["seconds"], "metrics": metrics, "redo": ck.state.get("redo"),
               "n_train_images": len(data),
               "torch": torch.__version__}
    (out / "medeid-training.json").write_text(json.dumps(_finite(summary), indent=1) + "\n",
                                              encoding="utf-8")
    from medeid_gui.lab.method_cards import write_cards

    write_cards(out)
    return summary


def _loop(name, model, cfg, j, start, ck, modules, params, step_fn, log, aux=None):
    import torch

    n = cfg.stage_steps(name)
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-4)

    def lr_at(k: int) -> float:
        return min(1.0, (k + 1) / 50) * 0.5 * (1 + math.cos(math.pi * min(k, n) / n))

    if start and ck.state.get("opt"):
        opt.load_state_dict(ck.state["opt"])
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at, last_epoch=start - 1)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    for m in modules:
        m.train()
    t0 = time.perf_counter()
    for step in range(start, n):
        g, rng = _gen(cfg.seed, j, step)
        loss, parts = step_fn(g, rng, step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        sched.step()
        if (step + 1) % cfg.ckpt_every == 0 or step + 1 == n:
            ck.save(model, name, step + 1, opt, aux)
            rate = (step + 1 - start) / max(time.perf_counter() - t0, 1e-9)
            log(f"[{name}] {step + 1}/{n} loss {loss.item():.4f} "
                + " ".join(f"{k} {v:.3f}" for k, v in parts.items()) + f" ({rate:.1f} it/s)")
    for m in modules:
        m.eval()


def _stage_reid(model, data, X, cfg, j, start, ck, device, log):
    """Supervised contrastive loss on P x K batches (8 patients x 4 images).

    Why not a softmax over patients: with four images per patient a per-patient proxy is seen
    too rarely to converge in a short run; pairwise contrast inside the batch learns at once
    (val verification AUC 0.98 after 200 steps on the default cohort).
    """
    import torch

    reid = model.reid

    def step(g, rng, k):
        idx = _pk_batch(rng, data.patients, 8, 4)
        x = _augment(X[idx].to(device), g)
        y = torch.from_numpy(data.patients[idx]).to(device)
        return supcon(reid(x), y), {}

    _loop("reid", model, cfg, j, start, ck, [reid], list(reid.parameters()), step, log)


def identity_targets(model, data, X, cfg, device, n_noise: int = 2):
    """(N, GRID, GRID) attribution of ReID similarity to the patient's other images."""
    import torch
    import torch.nn.functional as F

    from medeid_gui.ml.nets import GRID

    reid = model.reid.eval()
    with torch.no_grad():
        emb = torch.cat([reid(X[i:i + 64].to(device)) for i in range(0, len(X), 64)])
    targets = torch.zeros(len(X), GRID, GRID)
    g = torch.Generator().manual_seed(cfg.seed + 17)
    for i0 in range(0, len(X), 32):
        idx = np.arange(i0, min(i0 + 32, len(X)))
        anchors = []
        for i in idx:
            same = np.flatnonzero((data.patients == data.patients[i]) & (np.arange(len(X)) != i))
            a = emb[same].mean(0) if len(same) else emb[i]
            anchors.append(F.normalize(a, dim=0))
        anchors = torch.stack(anchors)
        x0 = X[idx].to(device)
        base = _blur(x0)
        acc = torch.zeros(len(idx), 1, x0.shape[2], x0.shape[3], device=device)
        for _ in range(n_noise):
            x = (x0 + 0.02 * torch.randn(x0.shape, generator=g).to(device)).requires_grad_(True)
            sim = (reid(x) * anchors).sum()
            (grad,) = torch.autograd.grad(sim, x)
            acc += (grad * (x0 - base)).abs()
        targets[idx] = F.adaptive_avg_pool2d(acc, GRID)[:, 0].cpu()
    targets = targets.flatten(1)
    return (targets / targets.sum(1, keepdim=True).clamp_min(1e-12)).view(-1, GRID, GRID)


def _stage_idmap(model, data, X, cfg, j, start, ck, device, log):
    import torch

    if "idmap_targets" not in ck.state["extra"]:
        t0 = time.perf_counter()
        ck.state["extra"]["idmap_targets"] = identity_targets(model, data, X, cfg, device)
        log(f"[idmap] attribution targets for {len(X)} images in {time.perf_counter() - t0:.0f} s")
    T = ck.state["extra"]["idmap_targets"]
    head = model.idmap

    def step(g, rng, k):
        idx = rng.choice(len(X), size=min(cfg.batch, len(X)), replace=False)
        x = X[idx].to(device)
        t = T[idx].to(device).flatten(1)
        logp = torch.log_softmax(head(x).flatten(1), 1)
        loss = -(t * logp).sum(1).mean() + (t * t.clamp_min(1e-12).log()).sum(1).mean()  # KL
        return loss, {}

    _loop("idmap", model, cfg, j, start, ck, [head], list(head.parameters()), step, log)


def _patch_mask(b: int, ratio: float, g, device):
    import torch
    import torch.nn.functional as F

    from medeid_gui.ml.nets import GRID, WORK_SIZE

    m = (torch.rand(b, 1, GRID, GRID, generator=g) < ratio).float()
    return F.interpolate(m, size=(WORK_SIZE, WORK_SIZE), mode="nearest").to(device)


def _stage_ssl(model, data, X, cfg, j, start, ck, device, log):
    import torch

    from medeid_gui.ml.nets import nets

    enc = model.encoder
    if hasattr(enc, "trainable_state"):
        log("[ssl] foundation-model backbone: no self-supervised pre-training (projection is "
            "trained with the decoupler)")
        return
    torch.manual_seed(cfg.seed * 1000 + j)  # the pre-training decoder's initial weights
    dec = nets().MaskedDecoder().to(device)
    if start and "ssl_decoder" in ck.state.get("aux", {}):
        dec.load_state_dict(ck.state["aux"]["ssl_decoder"])

    def step(g, rng, k):
        idx = rng.choice(len(X), size=min(cfg.ssl_batch, len(X)), replace=False)
        x = _augment(X[idx].to(device), g)
        m = _patch_mask(len(idx), 0.6, g, device)
        rec = dec(enc(x * (1 - m)))
        err = (rec - x).pow(2)
        loss = (err * m).sum() / m.sum().clamp_min(1) + 0.1 * (err * (1 - m)).mean()
        return loss, {}

    _loop("ssl", model, cfg, j, start, ck, [enc, dec], list(enc.parameters()) + list(dec.parameters()),
          step, log, aux={"ssl_decoder": dec})


def _finding_losses(dec, s, findings, lesions, pos_weight: float = 1.0):
    import torch.nn.functional as F

    loc, img = dec.findings(s)
    w = 1.0 + (pos_weight - 1.0) * (lesions > 0).float() if pos_weight != 1.0 else None
    return F.binary_cross_entropy_with_logits(img, findings) + \
        F.binary_cross_entropy_with_logits(loc, lesions, weight=w) * 4.0


def supcon(e, y, temperature: float = 0.1):
    """Supervised contrastive loss of L2-normalised embeddings ``e`` with labels ``y``."""
    import torch

    eye = torch.eye(len(y), dtype=torch.bool, device=e.device)
    pos = (y[:, None] == y[None, :]) & ~eye
    sim = (e @ e.t() / temperature).masked_fill(eye, -1e9)
    logp = sim - torch.logsumexp(sim, 1, keepdim=True)
    return -(logp * pos).sum(1).div(pos.sum(1).clamp_min(1)).mean()


def _stage_mdl(model, data, X, cfg, j, start, ck, device, log):
    """MDL decoupling. Loss = feature reconstruction from (s, i) + beta * rate(s) + findings from
    s + identity contrast on i + identity contrast of an adversary on s (reversed into s).

    beta ramps up over the first 30 % of steps so that s first learns to carry the findings
    instead of collapsing to the prior (posterior collapse)."""
    import torch
    import torch.nn.functional as F

    enc, dec = model.encoder, model.decoupler
    n = cfg.stage_steps("mdl")
    with torch.no_grad():
        enc.eval()
        fstd = torch.cat([enc(X[i:i + 64].to(device)) for i in range(0, min(len(X), 256), 64)]).std()
    params = list(dec.parameters()) + ([p for p in enc.parameters() if p.requires_grad]
                                       if hasattr(enc, "trainable_state") else [])

    def step(g, rng, k):
        idx = _pk_batch(rng, data.patients, max(2, cfg.batch // 4), 4)
        x = _augment(X[idx].to(device), g)
        y = torch.from_numpy(data.patients[idx]).to(device)
        f = enc(x)
        if not hasattr(enc, "trainable_state"):
            f = f.detach()
        f = f / fstd
        s, rate = dec.encode_s(f, sample=True, generator=g)
        i = dec.encode_i(f)
        l_rec = F.mse_loss(dec.decode_f(s, i), f)
        l_id = supcon(F.normalize(i, dim=1), y)
        warm = min(1.0, k / max(1.0, 0.3 * n))
        l_adv = supcon(dec.adversary(s, cfg.lam_adv * warm), y)
        loss = cfg.rec_weight * l_rec + l_id + l_adv + cfg.beta_rate * warm * rate.mean()
        parts = {"rec": l_rec.item(), "id": l_id.item(), "adv": l_adv.item(), "rate": rate.mean().item()}
        if data.findings is not None:
            l_find = _finding_losses(dec, s, torch.from_numpy(data.findings[idx]).to(device),
                                     torch.from_numpy(data.lesions[idx]).to(device),
                                     cfg.lesion_pos_weight)
            loss = loss + cfg.find_weight * l_find
            parts["find"] = l_find.item()
        return loss, parts

    _loop("mdl", model, cfg, j, start, ck, [dec], params, step, log)
    model.config["feature_scale"] = float(fstd)
    ck.state["extra"]["feature_scale"] = float(fstd)


def _drawn_region(data, effusion_context: int):
    """(N, 1, R, R) float mask of the pixels a template-target fill takes from the study: its
    lesions, and with ``effusion_context`` > 0 every pixel within that many (4-connected) steps
    of an effusion. Why the context: an effusion is not only its fluid; the blunted
    costophrenic angle and the hidden diaphragm around it are how a reader (and the burden
    regression) sizes it. Pasting only the fluid onto the median chest left the median's
    diaphragm beside it; with 10 px of context the ideal target (the study's pixels there, the
    median elsewhere) kept 96 % of the burden R^2 instead of 87 %, at attacker AUC 0.51."""
    import torch

    if data.lesion_px is None:
        return None
    region = data.lesion_px > 0
    if effusion_context > 0:
        if data.lesion_maps is None:
            raise ValueError("effusion_context needs per-finding lesion maps (a generated cohort)")
        from scipy import ndimage

        from medeid_gui.lab.cohort import FINDINGS

        eff = data.lesion_maps[:, FINDINGS.index("effusion")]
        region = region | np.stack([ndimage.binary_dilation(e, iterations=effusion_context)
                                    if e.any() else e for e in eff])
    return torch.from_numpy(region.astype(np.float32))[:, None]


def _proxy_segmenter(data, cfg, ck, device, log):
    """The frozen lesion segmenter of the ``seg_weight`` loss (``lab.proxy_seg``), trained once
    per run from the seed on the training originals and kept in the checkpoint, so a resumed
    comp stage uses the same one."""
    from medeid_gui.lab.proxy_seg import load_proxy, photometric, train_proxy

    key = [int(cfg.seed), int(cfg.seg_steps)]
    saved = ck.state["extra"].get("proxy_seg")
    if saved is not None and saved.get("key") == key:
        return load_proxy(saved["state"], device)
    net = train_proxy(data.images, data.lesion_px, seed=cfg.seed, steps=cfg.seg_steps,
                      device=device, augment=photometric, log=log)
    ck.state["extra"]["proxy_seg"] = {"key": key, "state": {k: v.detach().cpu() for k, v in
                                                            net.state_dict().items()}}
    return net


def _stage_comp(model, data, X, cfg, j, start, ck, device, log):
    import torch
    import torch.nn.functional as F

    enc, dec, reid, idmap = model.encoder, model.decoupler, model.reid, model.idmap
    fscale = ck.state["extra"].get("feature_scale", 1.0)
    model.config["feature_scale"] = fscale
    for m in (enc, dec, reid, idmap):
        m.eval()
        for q in m.parameters():
            q.requires_grad_(False)
    comps = [model.compensator, model.compensator_raw]
    Lp = torch.from_numpy(data.lesion_px)[:, None] if data.lesion_px is not None else None
    region = _drawn_region(data, cfg.effusion_context if cfg.comp_target == "template" else 0)
    proxy = _proxy_segmenter(data, cfg, ck, device, log) if cfg.seg_weight > 0 and Lp is not None \
        else None
    if cfg.comp_target not in ("source", "template"):
        raise ValueError(f"comp_target must be 'source' or 'template', not {cfg.comp_target!r}")
    if cfg.comp_target == "template":
        # the anatomy the fill is trained towards belongs to no single patient: the pixelwise
        # median of all training images; the study's own lesions (soft, slightly dilated
        # masks) are blended in, so the findings stay where they are
        template = torch.from_numpy(np.median(data.images, 0).astype(np.float32))[None, None]
        template = template.to(device)
        for c in comps:  # shown in the blocked patches (nets.Compensator prior), saved with it
            c.prior.copy_(template)
        alpha = _blur(region, 5).mul(3.0).clamp(0, 1) if region is not None else None
    critic = critic_opt = None
    if cfg.lam_critic > 0:
        # an identity critic retrained as it goes, the way the evaluation retrains its attacker
        # on released images: it matches a compensated study to the original of the same
        # patient's other study; the compensators are trained to leave it at chance. Unlike the
        # frozen own ReID (which a compensator learns to fool without removing identity), it
        # adapts to whatever identity the fill still carries.
        from medeid_gui.ml.nets import nets

        torch.manual_seed(cfg.seed * 1000 + j)
        critic = nets().ReIDNet(0).to(device)
        critic_opt = torch.optim.AdamW(critic.parameters(), lr=cfg.lr, weight_decay=1e-4)
        if start and "critic" in ck.state.get("aux", {}):
            critic.load_state_dict(ck.state["aux"]["critic"])
            critic_opt.load_state_dict(ck.state["aux"]["critic_opt"])
        critic.train()
    n_pat = max(2, cfg.comp_batch // 2)

    def critic_logits(e_src, e_out):
        """Row b: which original (of the batch's other images) matches compensated image b."""
        eye = torch.eye(len(e_src), dtype=torch.bool, device=e_src.device)
        return (e_out @ e_src.t() / 0.1).masked_fill(eye, -1e9)

    def step(g, rng, k):
        if critic is not None:  # pairs of studies: n_pat patients x 2 images
            idx = _pk_batch(rng, data.patients, n_pat, 2)
        else:
            idx = rng.choice(len(X), size=min(cfg.comp_batch, len(X)), replace=False)
        x = X[idx].to(device)
        with torch.no_grad():
            f = enc(x) / fscale
            s = dec.encode_s(f, sample=False)[0]
            e_src = reid(x)
            mask, ps = _masks_for(idmap(x), rng, device, p_full=cfg.p_full)
        noise = torch.randn(x.shape, generator=g).to(device)
        w = 1.0 + (cfg.lesion_weight * region[idx].to(device) if region is not None else 0.0)
        total, parts = 0.0, {}
        target = x
        if cfg.comp_target == "template":
            target = template.expand_as(x)
            if alpha is not None:
                a = alpha[idx].to(device)
                target = target * (1 - a) + x * a
        if critic is not None:
            partner = torch.from_numpy(np.arange(len(idx)) ^ 1).to(device)  # the other study
            e_src_c = critic(_augment(x, g))
            # the compensators' loss sees a frozen copy, so that the critic's own update below
            # does not change weights their graph still needs
            frozen = {k: v.detach().clone() for k, v in critic.named_parameters()}
        outs = []
        for tag, comp, code in (("s", comps[0], s), ("raw", comps[1], f)):
            fill = comp(x, mask, code, noise)
            y = x * (1 - mask) + fill * mask
            outs.append(y)
            l_rec = ((fill - target).abs() * mask * w).sum() / (mask * w).sum().clamp_min(1)
            cos = (reid(y) * e_src).sum(1)
            l_id = F.relu(cos - cfg.id_margin).mean()
            loss = l_rec + cfg.lam_id_comp * l_id
            if data.findings is not None:
                s_y = dec.encode_s(enc(y) / fscale, sample=False)[0]
                loss = loss + 0.2 * _finding_losses(
                    dec, s_y, torch.from_numpy(data.findings[idx]).to(device),
                    torch.from_numpy(data.lesions[idx]).to(device), cfg.lesion_pos_weight)
            if proxy is not None:
                from medeid_gui.lab.torch_util import dice_bce_loss

                l_seg = dice_bce_loss(proxy(y), Lp[idx].to(device))
                loss = loss + cfg.seg_weight * l_seg
                parts[f"seg_{tag}"] = l_seg.item()
            if critic is not None:
                # push the critic's belief about which original matches to uniform (chance)
                e_y = torch.func.functional_call(critic, frozen, (y,))
                logp = torch.log_softmax(critic_logits(e_src_c.detach(), e_y), 1)
                valid = torch.isfinite(logp) & (logp > -1e8)
                l_crit = -(logp * valid).sum(1).div(valid.sum(1)).mean() \
                    - math.log(len(idx) - 1)
                loss = loss + cfg.lam_critic * l_crit
                parts[f"crit_{tag}"] = l_crit.item()
            total = total + loss
            parts[f"rec_{tag}"] = l_rec.item()
            parts[f"cos_{tag}"] = cos.mean().item()
        if critic is not None:  # the critic's own step, on detached outputs of both compensators
            l_c = sum(F.cross_entropy(critic_logits(e_src_c, critic(y.detach())), partner)
                      for y in outs) / len(outs)
            critic_opt.zero_grad(set_to_none=True)
            l_c.backward()
            critic_opt.step()
            parts["critic"] = l_c.item()
        return total, parts

    params = list(comps[0].parameters()) + list(comps[1].parameters())
    _loop("comp", model, cfg, j, start, ck, comps, params, step, log,
          aux={"critic": critic, "critic_opt": critic_opt} if critic is not None else None)
    for m in (enc, dec, reid, idmap):
        for q in m.parameters():
            q.requires_grad_(True)


# --------------------------------------------------------------------------- validation


def evaluate_trained(model, data, val, cfg, device) -> dict[str, Any]:
    """Validation figures for the model cards (patient-disjoint val split when a cohort)."""
    import torch

    from medeid_gui.ml.nets import GRID, WORK_SIZE
    from medeid_gui.ml.patches import grid_mask, random_order, rank_patches, upsample_grid

    ev = val if val is not None else data
    X = torch.from_numpy(ev.images)[:, None].to(device)
    out: dict[str, Any] = {"split": "val" if val is not None else "train (no val split)",
                           "n_images": len(ev)}
    fscale = model.config.get("feature_scale", 1.0)
    with torch.no_grad():
        emb = torch.cat([model.reid(X[i:i + 64]) for i in range(0, len(X), 64)]).cpu().numpy()
        out["reid_verification_auc"] = verification_auc(emb, ev.patients)
        f = torch.cat([model.encoder(X[i:i + 64]) for i in range(0, len(X), 64)]) / fscale
        s = model.decoupler.encode_s(f)[0]
        rate = model.decoupler.encode_s(f)[1]
        out["rate_nats_per_image"] = float(rate.mean())
        if ev.findings is not None:
            _, img = model.decoupler.findings(s)
            out["finding_auc_from_s"] = {n: binary_auc(img[:, c].cpu().numpy(), ev.findings[:, c])
                                         for c, n in enumerate(("nodule", "effusion", "opacity"))}
        # identity left in s vs in raw features: verification AUC of pooled codes (probe-free)
        def pooled(t):
            v = torch.cat([t.mean((2, 3)), t.flatten(1)], 1)
            v = v - v.mean(0, keepdim=True)
            return torch.nn.functional.normalize(v, dim=1).cpu().numpy()
        out["verification_auc_raw_features"] = verification_auc(pooled(f), ev.patients)
        out["verification_auc_semantic_code"] = verification_auc(pooled(s), ev.patients)
        # identity map: own-ReID similarity to the unaltered image after grey-filling 25 %
        logits = model.idmap(X)
        for name in ("identity", "random"):
            sims = []
            for j in range(len(X)):
                order = rank_patches(logits[j].cpu().numpy(), j) if name == "identity" else \
                    random_order(GRID * GRID, j)
                m = torch.from_numpy(upsample_grid(grid_mask(order, 0.25, GRID),
                                                   (WORK_SIZE, WORK_SIZE)).astype(np.float32)).to(device)
                xb = X[j:j + 1] * (1 - m) + X[j:j + 1].mean() * m
                sims.append(float((model.reid(xb) * model.reid(X[j:j + 1])).sum()))
            out[f"own_reid_cos_after_grey_25pct_{name}"] = float(np.mean(sims))
        # compensation at p = 0.5 and 1: L1 in blocked patches, own-ReID cosine to the source
        for p in (0.5, 1.0):
            rec, cos = [], []
            for j in range(len(X)):
                order = rank_patches(logits[j].cpu().numpy(), j)
                m = torch.from_numpy(upsample_grid(grid_mask(order, p, GRID),
                                                   (WORK_SIZE, WORK_SIZE)).astype(np.float32)).to(device)[None, None]
                noise = torch.from_numpy(np.random.default_rng([j, 3]).standard_normal(
                    (WORK_SIZE, WORK_SIZE)).astype(np.float32))[None, None].to(device)
                fill = model.compensator(X[j:j + 1], m, s[j:j + 1], noise)
                y = X[j:j + 1] * (1 - m) + fill * m
                rec.append(float(((fill - X[j:j + 1]).abs() * m).sum() / m.sum()))
                cos.append(float((model.reid(y) * model.reid(X[j:j + 1])).sum()))
            out[f"comp_p{p:g}_l1_blocked"] = float(np.mean(rec))
            out[f"comp_p{p:g}_own_reid_cos"] = float(np.mean(cos))
    return out
