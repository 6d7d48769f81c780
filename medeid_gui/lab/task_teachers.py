"""Task teachers: a site's labels, turned into losses that make the compensator keep what they name.

Why: on an archive the only label the method gets for free is PatientID. The semantic stages then
learn what is common to the images, and the compensator, trained towards the archive's median
image, draws the median where the patient was (on the real chest set at p = 1: lung Dice 82 %,
severity r 34 % of the originals'). A labels CSV (``--labels``, the columns ``lab.archive_eval_tasks``
reads: finding, lung mask, severity scores) says what a released image must still show. Three small
frozen networks are trained on the *training* images' originals (never on held-out ones), and the
compensated frame is scored by them in the comp stage:

- lung field: the teacher segmenter's output on the released frame against the image's own mask
  where it has one, else against the teacher's reading of the original (pseudo-label);
- severity: the teacher regressor's two scores against the image's scores where given, else
  against the teacher's reading of the original;
- finding: the teacher classifier against the image's finding label (labels only: a per-image
  reading of an at-chance classifier would copy image-specific detail, not a finding).

The teachers run at ``TEACHER_SIZE`` whatever the model's working size (cheap, and what the
evaluation's task models see). They use other seeds than the evaluation's task models and train on
the training split only. The evaluation's models are trained separately, but with the same
architectures: that limits, and does not rule out, a fill that fools these teachers being rewarded
there too (the real-set figures are read with that in mind; the fills were also looked at).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from medeid_gui.lab.archive_eval_tasks import MIN_TRAIN, TaskLabels
from medeid_gui.lab.real_eval_tasks import masked_mse

__all__ = ["TEACHER_SIZE", "TeacherData", "TeacherTargets", "Teachers", "teacher_loss", "train_teachers"]

TEACHER_SIZE = 128
#: a teacher's fit on its own labelled images (lung Dice, severity r) below which its readings of
#: unlabelled images are not used as targets (an under-trained segmenter that finds no lungs would
#: teach the compensator to erase them); its labelled images still are
MIN_FIT = 0.6
#: seed offset from the run's seed, so that the teachers never equal the evaluation's task models
SEED_OFFSET = 7919


@dataclass
class TeacherData:
    """A site's labels for the comp stage.

    ``labels``: those of the method's training images (``MethodData.images``, in order), which the
    targets are made for; ``images`` / ``image_labels``: every decoded training image with its
    labels, the teachers' training set (it also holds the patients imaged once, whom the identity
    stages cannot use)."""

    labels: TaskLabels
    images: np.ndarray  #: (M, R, R) float32 in [0, 1]
    image_labels: TaskLabels


@dataclass
class TeacherTargets:
    """Per training image: what each teacher must read from its released frame."""

    lungs: np.ndarray | None = None  #: (N, S, S) float32 0/1; NaN: no mask, teacher not trusted
    severity: np.ndarray | None = None  #: (N, 2) float32 in [0, 1]; NaN likewise
    finding: np.ndarray | None = None  #: (N,) float32 0/1, NaN where the image has no finding label


@dataclass
class Teachers:
    """Frozen task networks (None: too few labels to train) and their targets."""

    seg: object | None = None
    sev: object | None = None
    clf: object | None = None
    positive: str = ""
    targets: TeacherTargets = field(default_factory=TeacherTargets)
    why_not: dict[str, str] = field(default_factory=dict)
    fit: dict[str, float] = field(default_factory=dict)  #: fit on their own labelled images

    @property
    def any(self) -> bool:
        return any(m is not None for m in (self.seg, self.sev, self.clf))

    def describe(self) -> str:
        have = [n for n, m in (("lungs", self.seg), ("severity", self.sev), ("finding", self.clf))
                if m is not None]
        miss = [f"{k}: {v}" for k, v in self.why_not.items()]
        fit = [f"{k} {v:.2f}" + ("" if v >= MIN_FIT else " (labelled images only)")
               for k, v in self.fit.items()]
        return ("task teachers: " + (", ".join(have) or "none")
                + (f"; fit on their labelled images: {', '.join(fit)}" if fit else "")
                + (f" (not trained: {'; '.join(miss)})" if miss else ""))


def to_teacher(x):
    """(B, 1, R, R) working frames -> (B, 1, S, S), differentiably (area-like for R > S)."""
    import torch.nn.functional as F

    if x.shape[-1] == TEACHER_SIZE:
        return x
    return F.interpolate(x, size=(TEACHER_SIZE, TEACHER_SIZE), mode="bilinear", align_corners=False,
                         antialias=x.shape[-1] > TEACHER_SIZE)


def _small(images: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return to_teacher(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))[:, None])[:, 0].numpy()


def train_teachers(images: np.ndarray, td: TeacherData, *, seed: int, epochs: int = 20,
                   log: Callable[[str], None] | None = None, state: dict | None = None) -> Teachers:
    """Teachers trained on ``td``'s labelled images, with targets for the method's training
    ``images`` (N, R, R) in [0, 1] (labelled by ``td.labels``).

    ``state``: a previous run's ``teacher_state`` (same seed, epochs and labels), loaded instead of
    retraining, so a resumed comp stage uses the same teachers."""
    from medeid_gui.lab.archive_eval_tasks import train_tasks

    if len(td.labels.finding) != len(images):
        raise ValueError(f"labels for {len(td.labels.finding)} images, {len(images)} to train on")
    if state is not None:
        ts = _load(state)
    else:
        ts = train_tasks(_small(td.images), td.image_labels, epochs=epochs, seed=seed + SEED_OFFSET,
                         log=log)
    t = Teachers(ts.models.get("lung_dice"), ts.models.get("severity_r"), ts.models.get("finding_auc"),
                 ts.positive, why_not=dict(ts.why_not))
    t.targets = _targets(t, _small(images), td.labels)
    return t


def teacher_state(t: Teachers) -> dict:
    """The teachers' weights for the checkpoint (``train_teachers(state=...)`` loads them)."""
    out: dict = {"positive": t.positive, "why_not": dict(t.why_not)}
    for name, m in (("seg", t.seg), ("sev", t.sev), ("clf", t.clf)):
        if m is not None:
            out[name] = {k: v.detach().cpu() for k, v in m.state_dict().items()}
    return out


def _load(state: dict):
    from medeid_gui.lab.archive_eval_tasks import TaskSet
    from medeid_gui.lab.nets import UNet
    from medeid_gui.lab.tasks import TaskConfig, _make_clf

    cfg = TaskConfig()
    ts = TaskSet(positive=state.get("positive", ""), why_not=dict(state.get("why_not", {})))
    for name, key, make in (("seg", "lung_dice", lambda: UNet(cfg.unet_width)),
                            ("sev", "severity_r", lambda: _make_clf(2, cfg, "cpu")),
                            ("clf", "finding_auc", lambda: _make_clf(1, cfg, "cpu"))):
        if name in state:
            m = make()
            m.load_state_dict(state[name])
            ts.models[key] = m.eval()
    return ts


def _targets(t: Teachers, small: np.ndarray, lab: TaskLabels) -> TeacherTargets:
    from medeid_gui.lab.metrics import dice
    from medeid_gui.lab.real_eval_tasks import mask_work
    from medeid_gui.lab.torch_util import predict

    out = TeacherTargets()
    if t.seg is not None:
        lungs = (predict(t.seg, small, "cpu", batch=16) > 0).astype(np.float32)  # UNet: (N, S, S)
        midx, mw = mask_work(lab.masks, TEACHER_SIZE)
        if len(midx):
            t.fit["lungs_dice"] = round(float(dice(lungs[midx] > 0, mw)), 4)
        if t.fit.get("lungs_dice", 0.0) < MIN_FIT:  # a teacher that misses the lungs: masks only
            lungs[:] = np.nan
        lungs[midx] = mw
        out.lungs = lungs
    if t.sev is not None:
        sev = predict(t.sev, small, "cpu").astype(np.float32)
        given = ~np.isnan(lab.severity)
        if given.sum() >= 3 and np.std(sev[given]) > 0:
            t.fit["severity_r"] = round(float(np.corrcoef(sev[given], lab.severity[given])[0, 1]), 4)
        if t.fit.get("severity_r", 0.0) < MIN_FIT:
            sev[:] = np.nan
        sev[given] = lab.severity[given]
        out.severity = np.clip(sev, 0.0, 1.0)
    if t.clf is not None:
        out.finding = np.array([np.nan if not f else float(f == t.positive) for f in lab.finding],
                               dtype=np.float32)
    return out


def freeze(t: Teachers, device) -> Teachers:
    """The teachers on ``device``, in eval mode, with no gradient into their weights."""
    for m in (t.seg, t.sev, t.clf):
        if m is not None:
            m.to(device).eval()
            for p in m.parameters():
                p.requires_grad_(False)
                p.grad = None  # the last training step's, not needed any more
    return t


def teacher_loss(t: Teachers, y, idx: np.ndarray) -> tuple[object, dict[str, float]]:
    """The teachers' loss on released working frames ``y`` (B, 1, R, R) of training images ``idx``."""
    import torch
    import torch.nn.functional as F

    from medeid_gui.lab.torch_util import dice_bce_loss

    small = to_teacher(y)
    total = y.new_zeros(())
    parts: dict[str, float] = {}
    tg = t.targets
    if t.seg is not None and tg.lungs is not None:
        target = torch.from_numpy(tg.lungs[idx]).to(y.device)
        ok = ~torch.isnan(target[:, 0, 0])
        if bool(ok.any()):
            l_seg = dice_bce_loss(t.seg(small)[ok], target[ok], pos_weight=1.0)
            total = total + l_seg
            parts["lungs"] = float(l_seg.item())
    if t.sev is not None and tg.severity is not None:
        target = torch.from_numpy(tg.severity[idx]).to(y.device)
        if bool((~torch.isnan(target)).any()):
            l_sev = masked_mse(t.sev(small), target) * 10.0  # NaN: no score, teacher not trusted
            total = total + l_sev
            parts["sev"] = float(l_sev.item())
    if t.clf is not None and tg.finding is not None:
        f = torch.from_numpy(tg.finding[idx]).to(y.device)
        ok = ~torch.isnan(f)
        if bool(ok.any()):
            l_f = F.binary_cross_entropy_with_logits(t.clf(small)[:, 0][ok], f[ok])
            total = total + l_f
            parts["find"] = float(l_f.item())
    return total, parts


def enough_labels(lab: TaskLabels) -> bool:
    """Whether any teacher could be trained from ``lab`` (at least ``MIN_TRAIN`` labelled images)."""
    return max(lab.counts().values()) >= MIN_TRAIN
