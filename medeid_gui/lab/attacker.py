"""Re-identification attacker: Siamese patient verification (Packhäuser et al. 2022 style).

Why: the privacy number of every method is how well an *independent* network, retrained on the
method's output (the "retrained attacker" of PriCheXy-Net 2023), tells whether two chest
radiographs show the same patient. The threat model is linkage: the attacker holds original
images (view A, e.g. an archive) and sees released, de-identified ones (view B); pairs are
(original image i, released image j) of *different* studies, same patient or not. For the
originals both views are the untouched images. 0.5 AUC is chance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from medeid_gui.lab.metrics import roc_auc


@dataclass
class AttackerConfig:
    steps: int = 200
    batch_patients: int = 32
    lr: float = 2e-3
    width: int = 16
    dim: int = 128
    weight_decay: float = 1e-4


@dataclass
class AttackerResult:
    auc: float
    seed: int
    seconds: float
    n_pairs: int
    model: object = None


def _pairs_by_patient(patients: np.ndarray) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    for pid in np.unique(patients):
        idx = np.nonzero(patients == pid)[0]
        if len(idx) >= 2:
            out[int(pid)] = idx
    return out


def train_attacker(view_a: np.ndarray, view_b: np.ndarray, patients: np.ndarray, *, seed: int,
                   config: AttackerConfig = AttackerConfig(), dev=None, log=None, model=None):
    """Train a verifier on (view_a[i], view_b[j]) pairs; returns the model (eval mode).

    ``model``: a verifier to go on training (fine-tuning a pre-trained one); a new one if None.

    ``view_a``/``view_b``: (N, H, W) float32 in [0, 1], the same N images in two versions
    (e.g. original and de-identified); ``patients``: (N,) identity labels. Needs at least two
    patients with at least two images each.
    """
    import torch

    from medeid_gui.lab.nets import SiameseVerifier
    from medeid_gui.lab.torch_util import augment, seed_all, to_tensor
    from medeid_gui.ml.device import pick_device

    if view_a.shape != view_b.shape or len(view_a) != len(patients):
        raise ValueError("view_a, view_b and patients must describe the same images")
    groups = _pairs_by_patient(np.asarray(patients))
    if len(groups) < 2:
        raise ValueError("the attacker needs at least two patients with two or more images")
    dev = dev or pick_device()
    seed_all(seed)
    rng = np.random.default_rng(seed)
    model = (model if model is not None else SiameseVerifier(config.width, config.dim)).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=config.steps,
                                                pct_start=0.15)
    A, B = to_tensor(view_a, "cpu"), to_tensor(view_b, "cpu")
    keys = np.array(list(groups))
    P = min(config.batch_patients, len(keys))
    model.train()
    for step in range(config.steps):
        chosen = rng.choice(keys, P, replace=False)
        ia, ib = [], []
        for k in chosen:
            i, j = rng.choice(groups[int(k)], 2, replace=False)
            ia.append(i)
            ib.append(j)
        xa = augment(A[ia].to(dev), rng)
        xb = augment(B[ib].to(dev), rng)
        emb = model(torch.cat([xa, xb]))
        logits = model.pair_logits(emb[:P], emb[P:])
        target = torch.eye(P, device=dev)
        w = torch.where(target > 0, torch.tensor(float(P - 1), device=dev),
                        torch.tensor(1.0, device=dev))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, weight=w)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log and (step % 100 == 0 or step == config.steps - 1):
            log(f"attacker seed {seed} step {step} loss {loss.item():.4f}")
    model.eval()
    return model


def verification_scores(model, view_a: np.ndarray, view_b: np.ndarray, patients: np.ndarray,
                        dev=None) -> tuple[np.ndarray, np.ndarray]:
    """Scores and same-patient labels for every pair (a_i, b_j), i != j."""
    import torch

    from medeid_gui.lab.torch_util import predict
    from medeid_gui.ml.device import pick_device

    dev = dev or pick_device()
    ea = torch.from_numpy(predict(model, view_a, dev)).to(dev)
    eb = torch.from_numpy(predict(model, view_b, dev)).to(dev)
    with torch.no_grad():
        s = model.pair_logits(ea, eb).float().cpu().numpy()
    p = np.asarray(patients)
    same = p[:, None] == p[None, :]
    off = ~np.eye(len(p), dtype=bool)
    return s[off], same[off]


def evaluate_attacker(model, view_a, view_b, patients, dev=None) -> float:
    scores, labels = verification_scores(model, view_a, view_b, patients, dev)
    return roc_auc(labels, scores)


def attack(train_a, train_b, train_patients, test_a, test_b, test_patients, *, seed: int,
           config: AttackerConfig = AttackerConfig(), dev=None, log=None) -> AttackerResult:
    """Train on the training views, report verification AUC on the test views."""
    if len(np.unique(test_patients)) < 2:
        raise ValueError("verification needs at least two test patients")
    t0 = time.perf_counter()
    model = train_attacker(train_a, train_b, train_patients, seed=seed, config=config, dev=dev,
                           log=log)
    scores, labels = verification_scores(model, test_a, test_b, test_patients, dev)
    return AttackerResult(roc_auc(labels, scores), seed, time.perf_counter() - t0,
                          int(labels.size), model)
