"""The real-set evaluation's attackers: thumbnails, image geometry, and a network.

Why three: a privacy figure is only as good as the attack behind it, and on 254 patients a
network attacker is weak, so two training-free attackers (``lab/thumb_attack.py``) stand beside
it. The network (the Siamese verifier of ``lab/attacker.py``) is made as strong as the data allow:
pre-trained on the generated cohort (many patients, several studies each), then fine-tuned on the
real train + validation patients. It is trained once on originals and then attacks every
released set (the "fixed" attacker: it sees no de-identified image in training).

Threat model (as ``lab/attacker.py``): linkage. The attacker holds the originals (view A) and
sees the released images (view B); a pair is (original i, released j) of different days, the
same patient or not; pairs are scored symmetrised and AUCs carry a patient-bootstrap CI.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medeid_gui.lab.thumb_attack import (
    AucCI,
    bootstrap_auc,
    geometry_scores,
    pair_labels,
    rank_combine,
    thumbnail_scores,
)

__all__ = ["ATTACKERS", "NetAttackConfig", "attack_scores", "train_network_attacker"]

#: attackers scored at every level (keys of :func:`attack_scores`)
ATTACKERS = ("thumb16", "geometry", "thumb16+geometry", "network")


@dataclass
class NetAttackConfig:
    size: int = 128  #: the networks' working resolution
    pretrain_steps: int = 300  #: on the generated cohort (0: none)
    finetune_steps: int = 300  #: on the real train + validation patients
    batch_patients: int = 32
    seed: int = 0


def _codes(patients: Sequence[str]) -> np.ndarray:
    return np.unique(np.asarray([str(p) for p in patients]), return_inverse=True)[1]


def _cohort_work(cohort: Path, size: int) -> tuple[np.ndarray, np.ndarray]:
    from medeid_gui.lab.cohort import area_resize, load_split

    tr = load_split(cohort, "train")
    return area_resize(tr.images, size).astype(np.float32), _codes(tr.patients)


def train_network_attacker(train_work: np.ndarray, train_patients: Sequence[str], cfg: NetAttackConfig,
                           *, cohort: Path | None = None, log: Callable[[str], None] | None = None):
    """(pre-trained model or None, final model): cohort pre-training, then real fine-tuning."""
    from medeid_gui.lab.attacker import AttackerConfig, train_attacker

    pre = None
    if cohort is not None and cfg.pretrain_steps > 0:
        x, pid = _cohort_work(cohort, cfg.size)
        ac = AttackerConfig(steps=cfg.pretrain_steps, batch_patients=cfg.batch_patients)
        pre = train_attacker(x, x, pid, seed=cfg.seed, config=ac, log=log)
    ac = AttackerConfig(steps=cfg.finetune_steps, batch_patients=cfg.batch_patients,
                        lr=1e-3 if pre is not None else 2e-3)
    start = copy.deepcopy(pre) if pre is not None else None
    final = train_attacker(train_work, train_work, _codes(train_patients), seed=cfg.seed + 1,
                           config=ac, log=log, model=start)
    return pre, final


def network_matrix(model, work_a: np.ndarray, work_b: np.ndarray) -> np.ndarray:
    """(Na, Nb) same-patient logits of the verifier between two work-image lists."""
    import torch

    from medeid_gui.lab.torch_util import predict

    ea = torch.from_numpy(predict(model, work_a, "cpu"))
    eb = torch.from_numpy(predict(model, work_b, "cpu"))
    with torch.no_grad():
        return model.cpu().pair_logits(ea, eb).float().numpy()


def attack_scores(orig: Sequence[np.ndarray], released: Sequence[np.ndarray], patients: Sequence[str],
                  days: Sequence[int | None], *, nets: dict[str, object], orig_work: np.ndarray,
                  released_work: np.ndarray, n_boot: int = 1000,
                  keep: dict | None = None) -> dict[str, AucCI]:
    """AUC (with CI) of every attacker linking originals to released images.

    ``nets``: name -> verifier (e.g. ``{"network": model}``); each adds a key. Geometry uses
    the arrays' own (height, width): a pixel method that keeps the size cannot hide it.
    ``keep``: gets the pair scores per attacker and the pairs' labels and patients (for paired
    comparisons of two releases, ``thumb_attack.paired_auc_difference``).
    """
    i, j, y = pair_labels(patients, days)
    pats = np.asarray([str(p) for p in patients])
    pp = (pats[i], pats[j])

    def sym(m: np.ndarray) -> np.ndarray:
        return 0.5 * (m[i, j] + m[j, i])

    cues = {
        "thumb16": sym(thumbnail_scores(orig, released, 16)),
        "geometry": sym(geometry_scores([np.shape(x)[:2] for x in orig],
                                        [np.shape(x)[:2] for x in released])),
    }
    cues["thumb16+geometry"] = rank_combine(cues["thumb16"], cues["geometry"])
    for name, net in nets.items():
        cues[name] = sym(network_matrix(net, orig_work, released_work))
    if keep is not None:
        keep.update(scores=cues, labels=y, pair_patients=pp)
    return {k: bootstrap_auc(v, y, pp, n_boot=n_boot) for k, v in cues.items()}
