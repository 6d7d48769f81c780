"""The training run's configuration: stages, hyper-parameters, ``--steps`` parsing.

Why a module of its own: the model cards (``lab.method_cards``) name the hyper-parameters a run
changed, and the training (``lab.train_method``) reads them; both import them from here, so
neither imports the other.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: hyper-parameters exposed on the command line (name, type, help); the model cards name the
#: ones a run changed, so the card's command reproduces the weights
TUNABLE = (
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
    ("fill_notch", int, "1: the compensators' losses see their fill through the runtime's Nyquist "
                        "notch (ml.fill_repair), so nothing is carried in the 2-pixel pattern "
                        "the app removes"),
    ("border_weight", float, "weight of the seam loss: the step across a blocked patch's border in "
                             "excess of the original's (lab.border_loss; 0 = off)"),
    ("task_weight", float, "weight of the task teachers' loss on the compensated frame, trained "
                           "from a labels CSV's lung masks, severity scores and findings "
                           "(lab.task_teachers; archives with --labels only; 0 = off)"),
    ("task_epochs", int, "training epochs of those task teachers"),
    ("lesion_pos_weight", float, "BCE weight of lesion cells in the per-location finding loss "
                                 "(lesions cover few cells; > 1 keeps s from dropping them)"),
)

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
    size: int = 128  #: working resolution (px); 256 or more for real radiographs
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
    fill_notch: int = 0  #: losses on the notched fill (the runtime's view of it); see TUNABLE
    border_weight: float = 0.0  #: seam loss (step across block borders beyond the original's)
    task_weight: float = 0.3  #: task teachers' loss (archives with a labels CSV only; see README)
    task_epochs: int = 20  #: epochs of the task teachers
    ckpt_every: int = 100
    threads: int | None = None

    def stage_steps(self, name: str) -> int:
        return max(1, int(round(self.steps[name] * self.scale)))


def finite(obj: Any) -> Any:
    """JSON-safe copy: NaN (e.g. an AUC without negative pairs) becomes null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
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


def running_stages(init_from: object = None, redo: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The stages a run trains, which its estimate and progress bar count: from the first
    ``--redo`` stage on; with ``--init-from`` the compensators only; else every stage (a resumed
    run's bar starts where its done stages end)."""
    if redo:
        return STAGES[min(STAGES.index(r) for r in redo):]
    if init_from:
        return ("comp",)
    return STAGES


def parse_redo(text: str | None) -> tuple[str, ...]:
    """``--redo`` as stage names (cohort and archive training read it the same way)."""
    redo = tuple(r.strip() for r in (text or "").split(",") if r.strip())
    if any(r not in STAGES for r in redo):
        raise ValueError(f"--redo takes stage names from {STAGES}")
    return redo
